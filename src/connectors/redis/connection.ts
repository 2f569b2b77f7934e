/**
 * Creates the ioredis client for a redis sink config (standalone, sentinel or cluster) and keeps
 * secrets out of everything we print: messages name the target as host:port (never the URL as
 * written, which may carry a password) and every wrapped error text is scrubbed of the password.
 *
 * The client never queues commands while disconnected (enableOfflineQueue: false, no resend):
 * a write to an unreachable server fails at once, the sink reports backpressure and the base
 * class re-sends the whole batch later. The Lua version guard makes that re-send idempotent,
 * so the client's own at-most-once/at-least-once resend rules do not matter.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { TributaryError, errorMessage } from '../../core/errors.js';
import type { RedisConnectionConfig } from './spec.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionTuning {
  /** Ceiling of the reconnect backoff. Default 2 s. */
  maxReconnectDelayMs?: number;
  /** A command without a reply after this long fails (retriably). Default 10 s. */
  commandTimeoutMs?: number;
  /** open() gives up after this long. Default 10 s. */
  connectTimeoutMs?: number;
}

/** A validated connection plan: building it checks the configuration without creating a client. */
export interface RedisConnectionPlan {
  /** Where we connect, safe to print: host:port[/db] list, no credentials. */
  readonly target: string;
  /** The text with every secret replaced by ***. */
  redact(text: string): string;
  /** Creates the (not yet connected) client. */
  createClient(): RedisClient;
}

export interface RedisConnection {
  readonly client: RedisClient;
  readonly target: string;
  redact(text: string): string;
}

interface Endpoint {
  host: string;
  port: number;
}

export function parseHostPort(text: string, where: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: '${text}' is not host:port`);
  return { host: m[1] ?? m[2]!, port };
}

interface ParsedUrl extends Endpoint {
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
}

/** Parses redis://[user[:password]@]host[:port][/db]; its error never repeats the URL (it may hold a password). */
export function parseRedisUrl(url: string, where: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: url is not a valid redis:// URL`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: url must start with redis:// or rediss://`);
  }
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) {
    throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: url path must be a database number`);
  }
  const parsed: ParsedUrl = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    tls: u.protocol === 'rediss:',
  };
  if (u.username) parsed.username = decodeURIComponent(u.username);
  if (u.password) parsed.password = decodeURIComponent(u.password);
  if (db !== undefined) parsed.db = db;
  return parsed;
}

function reconnectDelay(maxMs: number): (times: number) => number {
  // Exponential with jitter, never giving up: the sink reports backpressure meanwhile.
  return (times) => Math.round(Math.min(maxMs, 50 * 2 ** Math.min(times, 10)) * (0.5 + 0.5 * Math.random()));
}

const show = (e: Endpoint): string => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);

/** Checks the configuration (mistakes throw TRIB_TOPOLOGY_INVALID) and plans the client. */
export function planRedisConnection(config: RedisConnectionConfig, where: string, tuning: RedisConnectionTuning = {}): RedisConnectionPlan {
  const mode = config.mode ?? 'standalone';
  const url = config.url === undefined ? undefined : parseRedisUrl(config.url, where);
  const password = config.password ?? url?.password;
  const username = config.username ?? url?.username;
  const secrets = [config.password, url?.password].filter((x): x is string => typeof x === 'string' && x.length > 0);
  const redact = (text: string): string => secrets.reduce((t, secret) => t.split(secret).join('***'), text);
  const tls = config.tls === true || url?.tls === true;
  const retryStrategy = reconnectDelay(tuning.maxReconnectDelayMs ?? 2_000);

  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: tuning.commandTimeoutMs ?? 10_000,
    connectTimeout: tuning.connectTimeoutMs ?? 10_000,
    connectionName: 'tributary-sink',
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls: {} } : {}),
  };

  const misplaced = (field: string, allowedIn: string): TributaryError =>
    new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: '${field}' applies to mode ${allowedIn} only (mode is ${mode})`);

  if (mode === 'cluster') {
    if (!config.nodes?.length) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: mode cluster needs 'nodes' (seed host:port list)`);
    if (config.url !== undefined || config.host !== undefined || config.port !== undefined) throw misplaced('url/host/port', 'standalone');
    if (config.sentinels !== undefined || config.masterName !== undefined) throw misplaced('sentinels/masterName', 'sentinel');
    if (config.db !== undefined && config.db !== 0) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: Redis Cluster has only db 0`);
    const nodes = config.nodes.map((n) => parseHostPort(n, where));
    const { lazyConnect: _lazy, enableOfflineQueue: _offline, ...redisOptions } = common;
    const options: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
      redisOptions,
    };
    return { target: `cluster ${nodes.map(show).join(',')}`, redact, createClient: () => new Cluster(nodes, options) };
  }

  if (config.nodes !== undefined) throw misplaced('nodes', 'cluster');
  if (mode === 'sentinel') {
    if (!config.sentinels?.length || config.masterName === undefined) {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: mode sentinel needs 'sentinels' (host:port list) and 'masterName'`);
    }
    if (config.url !== undefined || config.host !== undefined || config.port !== undefined) throw misplaced('url/host/port', 'standalone');
    const sentinels = config.sentinels.map((n) => parseHostPort(n, where));
    const options: RedisOptions = {
      ...common,
      sentinels,
      name: config.masterName,
      db: config.db ?? 0,
      retryStrategy,
      sentinelRetryStrategy: retryStrategy,
      // Sentinels usually share the data nodes' password; a separate sentinelPassword is not offered yet.
      ...(password === undefined ? {} : { sentinelPassword: password }),
      ...(tls ? { enableTLSForSentinelMode: true } : {}),
    };
    return { target: `sentinel ${sentinels.map(show).join(',')} master ${config.masterName}`, redact, createClient: () => new Redis(options) };
  }

  if (config.sentinels !== undefined || config.masterName !== undefined) throw misplaced('sentinels/masterName', 'sentinel');
  if (url && (config.host !== undefined || config.port !== undefined)) {
    throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: give either url or host/port, not both`);
  }
  const endpoint: Endpoint = url ?? { host: config.host ?? '127.0.0.1', port: config.port ?? 6379 };
  const db = config.db ?? url?.db ?? 0;
  const options: RedisOptions = { ...common, host: endpoint.host, port: endpoint.port, db, retryStrategy };
  return { target: `${show(endpoint)}${db === 0 ? '' : `/${db}`}`, redact, createClient: () => new Redis(options) };
}

/** Connects, or throws a message naming the target (never the password) and disconnects. */
export async function connectRedis(connection: RedisConnection, where: string, timeoutMs = 10_000): Promise<void> {
  const { client } = connection;
  let timer: NodeJS.Timeout | undefined;
  // connect() rejects with a bare "Connection is closed."; the reason arrives as an 'error' event.
  let reason: unknown;
  const onError = (err: unknown): void => { reason = err; };
  client.on('error', onError);
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ready connection within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    const why = reason ?? err;
    // Wrong credentials do not get better by retrying; an unreachable server may.
    const retriable = !/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(errorMessage(why));
    throw new TributaryError('TRIB_SINK', connection.redact(`${where}: cannot connect to ${connection.target}: ${errorMessage(why)}`), { retriable });
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}
