/**
 * Direct protocol calls through a platformatic client's connections. platformatic's consumer
 * only consumes as a push stream and manages group membership itself (rejoining at once on a
 * rebalance, committing without metadata); Tributary needs pull fetches, revoke-before-rejoin
 * and commit metadata, so those paths call the protocol APIs platformatic exports (one module
 * per API version, e.g. joinGroupV9), at the highest version both it and the broker support,
 * over its connection pool. Only public API: listApis() for the broker's ranges (what the
 * library's own kGetApi reads), connectToBrokers() for pooled connections.
 */
import * as platformatic from '@platformatic/kafka';
import type { API, Base, BaseOptions, Connection } from '@platformatic/kafka';
import type { KafkaClientOptions } from '../client.js';

type AnyClient = Base<BaseOptions>;
type ApiRanges = Array<{ name: string; minVersion: number; maxVersion: number }>;

/** The broker's API version ranges, asked once per client (as platformatic caches them). */
const ranges = new WeakMap<AnyClient, Promise<ApiRanges>>();

function apiRanges(client: AnyClient): Promise<ApiRanges> {
  let listed = ranges.get(client);
  if (!listed) {
    listed = client.listApis() as Promise<ApiRanges>;
    ranges.set(client, listed);
    // A failed ask (broker down) is asked again next time.
    listed.catch(() => ranges.delete(client));
  }
  return listed;
}

/** The exported implementation of API `name` at the highest version the broker supports. */
export async function getApi<Req extends unknown[], Res>(client: AnyClient, name: string): Promise<API<Req, Res>> {
  const range = (await apiRanges(client)).find((a) => a.name === name);
  if (!range) throw new Error(`the broker does not support the ${name} API`);
  const modules = platformatic as unknown as Record<string, { api?: API<Req, Res> } | undefined>;
  const prefix = name.slice(0, 1).toLowerCase() + name.slice(1);
  for (let v = range.maxVersion; v >= range.minVersion; v--) {
    const api = modules[`${prefix}V${v}`]?.api;
    if (api) return api;
  }
  throw new Error(`no implementation of ${name} v${range.minVersion}-v${range.maxVersion} in @platformatic/kafka`);
}

/**
 * A pooled connection to broker `nodeId`. platformatic looks the broker up in its cached broker
 * list, which it refreshes only when it fetches topic metadata: a client that last did so while
 * that broker was down (a restart) would not know it any more — seen when a group's coordinator
 * moved to a restarted broker, and the commit failed for good. So an unknown broker refreshes the
 * list once; still unknown, the error is retriable (the cluster's membership is changing).
 */
export async function connectionTo(client: AnyClient, nodeId: number): Promise<Connection> {
  let connection = (await client.connectToBrokers([nodeId])).get(nodeId);
  if (!connection) {
    await client.metadata({ topics: [], forceUpdate: true });
    connection = (await client.connectToBrokers([nodeId])).get(nodeId);
  }
  if (!connection) {
    throw new platformatic.GenericError('PLT_KFK_USER', `broker ${nodeId} is not in the cluster metadata`, { canRetry: true, hasStaleMetadata: true });
  }
  return connection;
}

/**
 * Calls a protocol API; on a response carrying error codes (platformatic rejects with a
 * ResponseError) the parsed response is still returned when `partial` is set, so per-partition
 * errors can be handled per partition instead of failing the whole request.
 */
export async function call<Req extends unknown[], Res>(
  client: AnyClient,
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

/**
 * Skips a TAG_BUFFER: UNSIGNED_VARINT count, then per field UNSIGNED_VARINT tag, UNSIGNED_VARINT
 * size and `size` bytes. platformatic 1.35's Reader.readTaggedFields reads the count as a signed
 * varint byte length instead, so a response that carries any tagged field (real Kafka's
 * current_leader on NOT_LEADER_OR_FOLLOWER in Produce and Fetch; the dev broker never sends one)
 * is misread from there on ("Out of bounds", or garbage values).
 */
export function skipTaggedFields(r: platformatic.Reader): void {
  const count = r.readUnsignedVarInt();
  for (let i = 0; i < count; i++) {
    r.readUnsignedVarInt();
    r.skip(r.readUnsignedVarInt());
  }
}

/** A COMPACT_ARRAY of flexible-version structs, each followed by its TAG_BUFFER (see skipTaggedFields). */
export function readFlexibleArray<T>(r: platformatic.Reader, item: (r: platformatic.Reader, i: number) => T): T[] {
  return r.readArray((r, i) => {
    const value = item(r, i);
    skipTaggedFields(r);
    return value;
  }, true, false);
}
