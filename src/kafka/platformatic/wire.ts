/**
 * Direct protocol calls through a platformatic client's connections. platformatic's consumer
 * only consumes as a push stream and manages group membership itself (rejoining at once on a
 * rebalance, committing without metadata); Tributary needs pull fetches, revoke-before-rejoin
 * and commit metadata, so those paths call the protocol APIs platformatic exports, at the
 * version it negotiated with the broker (kGetApi), over its connection pool.
 */
import { kGetApi, kGetConnection, type API, type BaseOptions, type ClusterMetadata, type Connection, type Consumer } from '@platformatic/kafka';
import type { KafkaClientOptions } from '../client.js';

/** The client whose connections carry the calls (a Consumer: it has every API's plumbing). */
type AnyBase = Consumer;

export function getApi<Req extends unknown[], Res>(client: AnyBase, name: string): Promise<API<Req, Res>> {
  return new Promise((resolve, reject) => {
    client[kGetApi]<Req, Res>(name, (err, api) => (err || !api ? reject(err ?? new Error(`no ${name} API`)) : resolve(api)));
  });
}

export async function connectionTo(client: AnyBase, nodeId: number, metadata?: ClusterMetadata): Promise<Connection> {
  const md = metadata ?? (await client.metadata({ topics: [] }));
  const broker = md.brokers.get(nodeId);
  if (!broker) throw new Error(`broker ${nodeId} is not in the cluster metadata`);
  return new Promise((resolve, reject) => {
    client[kGetConnection](broker, (err, conn) => (err || !conn ? reject(err ?? new Error('no connection')) : resolve(conn)));
  });
}

/**
 * Calls a protocol API; on a response carrying error codes (platformatic rejects with a
 * ResponseError) the parsed response is still returned when `partial` is set, so per-partition
 * errors can be handled per partition instead of failing the whole request.
 */
export async function call<Req extends unknown[], Res>(
  client: AnyBase,
  name: string,
  connection: Connection,
  args: Req,
  partial = false,
): Promise<Res> {
  const api = await getApi<Req, Res>(client, name);
  try {
    return await api.async(connection, ...args);
  } catch (err) {
    const response = (err as { response?: unknown }).response;
    if (partial && response !== undefined && response !== null && typeof response === 'object') return response as Res;
    throw err;
  }
}

/** Connection options every platformatic client of one KafkaClient shares; `role` tells them apart in broker logs. */
export function platformaticBaseOptions(options: KafkaClientOptions, role: string): BaseOptions {
  return {
    clientId: `${options.clientId}-${role}`,
    bootstrapBrokers: options.brokers,
    connectTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    retries: options.retries ?? 2,
    retryDelay: 100,
    autocreateTopics: false,
  };
}
