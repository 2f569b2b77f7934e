import { s, type Infer } from '../../core/spec.js';

/**
 * The redis sink feeds online decisions: by default a change goes out when the worker's loop
 * yields (the end of the batch that produced it), and what arrives while a pipeline is in flight
 * goes out together in the next one, so pipelines grow with the load without a timer.
 * (5 ms until bench/cdc-chain.bench.ts measured that timer as a third of the idle path's wait.)
 */
export const REDIS_DEFAULT_LINGER_MS = 0;

const hostPort = s.string({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+):\\d{1,5}$', patternHint: 'write host:port' });

export const redisSinkSpec = s.object({
  url: s.string({ pattern: '^rediss?://', patternHint: 'write redis://host:port[/db] or rediss:// for TLS' }).optional()
    .describe('Standalone server URL. A password in the URL must come from the environment: write the whole URL as ${REDIS_URL}, or use `password`'),
  host: s.string({ minLength: 1 }).optional().describe('Standalone server host (instead of url). Default 127.0.0.1'),
  port: s.number({ integer: true, min: 1, max: 65535 }).optional().describe('Standalone server port (instead of url). Default 6379'),
  username: s.string({ minLength: 1 }).optional().describe('ACL user (Redis 6+)'),
  password: s.string().secret().optional().describe('Password; write it as ${VAR}. Never logged'),
  db: s.number({ integer: true, min: 0 }).optional().describe('Database index (standalone and sentinel only). Default 0'),
  mode: s.enum(['standalone', 'sentinel', 'cluster'] as const).default('standalone').describe('Deployment to connect to'),
  sentinels: s.array(hostPort, { minItems: 1 }).optional().describe('Sentinel addresses (mode: sentinel)'),
  masterName: s.string({ minLength: 1 }).optional().describe('Name of the master the sentinels watch (mode: sentinel)'),
  nodes: s.array(hostPort, { minItems: 1 }).optional().describe('Seed nodes (mode: cluster); the rest is discovered'),
  tls: s.boolean().default(false).describe('Connect with TLS (also implied by a rediss:// url)'),
  layout: s.enum(['hash', 'string'] as const).default('hash')
    .describe('hash: one Redis hash per key, a field per row field; string: one string per key'),
  key: s.string({ minLength: 1 }).default('{key}')
    .describe('Key template: {field} from the row, {key} the record key, e.g. "feat:user:{user_id}"; write {{ and }} for a literal brace (cluster hash tag: "feat:{{{user_id}}}")'),
  fields: s.array(s.string({ minLength: 1 }), { minItems: 1 }).optional()
    .describe('layout hash: row fields to write. Default: every field of the row. A null value deletes the hash field'),
  value: s.string({ minLength: 1 }).optional()
    .describe('layout string: the row field to store. Default: the whole row as JSON. A null value deletes the key (the version stays)'),
  version: s.string({ minLength: 1 }).optional()
    .describe('Row field holding the version (epoch ms or any number). Default: the record\'s event time'),
  ttl: s.duration({ min: 1 }).optional().describe('Expiry set on every write (data and version keys)'),
  batchSize: s.number({ integer: true, min: 1 }).default(500).describe('Records per pipeline'),
  linger: s.duration({ min: 0 }).default(REDIS_DEFAULT_LINGER_MS)
    .describe('Send a pipeline once its oldest record has waited this long, without waiting for batchSize records or the checkpoint (like Kafka\'s linger.ms). 0: send when the worker\'s loop yields (the end of the batch that produced it); records arriving while a pipeline is in flight go out together in the next'),
});
export type RedisSinkConfig = Infer<typeof redisSinkSpec>;
export type RedisConnectionConfig = Pick<
  RedisSinkConfig,
  'url' | 'host' | 'port' | 'username' | 'password' | 'db' | 'mode' | 'sentinels' | 'masterName' | 'nodes' | 'tls'
>;
