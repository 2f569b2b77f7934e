/**
 * Redis feature sink: each record is a version-guarded upsert (version-guard.ts) of a hash or a
 * string, sent as EVALSHA in one pipeline per batch (per cluster node in cluster mode); records
 * the server did not know the script for are re-sent with EVAL. flush() resolves only when every
 * reply is in.
 *
 * Failure handling, by what the server or client says:
 * - server unreachable / connection lost: SinkBackpressureError; the base class waits and re-sends
 *   the whole batch once ioredis has reconnected (the guard makes the re-send idempotent);
 * - transient server states (LOADING, TRYAGAIN, CLUSTERDOWN, OOM ...): retriable error, with backoff;
 * - the record's own problem (WRONGTYPE, no key field, bad version): that record goes to the dead
 *   letters with the reason, the rest of the batch is written;
 * - configuration problems (WRONGPASS, NOPERM, unknown command): the batch fails, flush() throws.
 */
import { SinkBackpressureError, TributaryError, errorMessage } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';
import { compileTemplate, type Template } from '../kafka/template.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';
import { versionOf } from '../upsert.js';
import { connectRedis, planRedisConnection, type RedisConnection, type RedisConnectionPlan, type RedisConnectionTuning } from './connection.js';
import { REDIS_DEFAULT_LINGER_MS, type RedisSinkConfig } from './spec.js';
import { VERSION_FIELD, hashGuard, keySlot, stringGuard, versionKey, type GuardScript } from './version-guard.js';

export interface RedisSinkOptions extends BatchingSinkOptions {
  connection?: RedisConnectionTuning;
  /** Wait before re-sending a batch while the server is unreachable. Default 250 ms. */
  unavailableRetryMs?: number;
}

interface Command {
  record: SinkRecord;
  keys: string[];
  args: string[];
  /** Node group in cluster mode (slot owner); 0 otherwise. */
  slot: number;
}

type Outcome = 'noscript' | 'unavailable' | 'transient' | 'record' | 'fatal';

/** Classifies a Redis/ioredis error message; the order matters (most specific first). */
export function classifyRedisError(err: unknown): Outcome {
  const msg = errorMessage(err);
  const name = err instanceof Error ? err.name : '';
  if (msg.startsWith('NOSCRIPT')) return 'noscript';
  if (name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|socket|Command timed out|Failed to refresh slots|None of startup nodes/i.test(msg)) {
    return 'unavailable';
  }
  if (/^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK|OOM|NOREPLICAS)\b/.test(msg)) return 'transient';
  if (/^(NOAUTH|WRONGPASS|NOPERM)\b|^ERR unknown command|^ERR .*(disabled|not allowed)/.test(msg)) return 'fatal';
  return 'record';
}

function text(v: Value): string {
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export class RedisSink extends BatchingSink {
  private readonly config: RedisSinkConfig;
  private readonly where: string;
  private readonly keyTemplate: Template;
  private readonly guard: GuardScript;
  private readonly ttlMs: number;
  private readonly tuning: RedisConnectionTuning;
  private readonly plan: RedisConnectionPlan;
  private readonly unavailableRetryMs: number;
  private connection: RedisConnection | undefined;
  private cluster = false;
  private down = false;
  private staleCount = 0;

  constructor(name: string, config: RedisSinkConfig, options: RedisSinkOptions = {}) {
    super(name, { batchSize: config.batchSize, lingerMs: config.linger ?? REDIS_DEFAULT_LINGER_MS, ...options });
    this.where = `redis sink '${name}'`;
    this.config = config;
    this.keyTemplate = compileTemplate(config.key ?? '{key}');
    const layout = config.layout ?? 'hash';
    this.guard = layout === 'hash' ? hashGuard : stringGuard;
    if (layout === 'hash' && config.value !== undefined) throw this.configError("'value' applies to layout string (use 'fields' for hash)");
    if (layout === 'string' && config.fields !== undefined) throw this.configError("'fields' applies to layout hash (use 'value' for string)");
    if (config.fields?.includes(VERSION_FIELD)) throw this.configError(`field '${VERSION_FIELD}' is reserved for the version`);
    this.ttlMs = config.ttl === undefined ? 0 : Math.max(1, Math.round(config.ttl));
    this.tuning = options.connection ?? {};
    this.unavailableRetryMs = options.unavailableRetryMs ?? 250;
    // Planned here so configuration mistakes surface when the sink is created; the client is made in connect().
    this.plan = planRedisConnection(config, this.where, this.tuning);
  }

  /** Writes skipped because Redis held a newer version (replays, out-of-order input). */
  get stale(): number {
    return this.staleCount;
  }

  protected override async connect(): Promise<void> {
    const client = this.plan.createClient();
    const connection: RedisConnection = { client, target: this.plan.target, redact: this.plan.redact };
    await connectRedis(connection, this.where, this.tuning.connectTimeoutMs);
    this.down = false;
    // Without a listener ioredis prints every reconnect failure; log once per outage instead.
    client.on('error', (err: unknown) => {
      if (this.down) return;
      this.down = true;
      this.logger.warn('redis connection lost; reconnecting', { sink: this.name, target: connection.target, error: connection.redact(errorMessage(err)) });
    });
    client.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.logger.info('redis connection restored', { sink: this.name, target: connection.target });
    });
    this.connection = connection;
    this.cluster = (this.config.mode ?? 'standalone') === 'cluster';
  }

  protected override async disconnect(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (!connection) return;
    try {
      await connection.client.quit();
    } catch {
      connection.client.disconnect();
    }
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    const connection = this.connection;
    if (!connection) throw new TributaryError('TRIB_SINK', `${this.where} is not open`);
    const commands: Command[] = [];
    for (const record of batch) {
      const command = this.toCommand(record);
      if (command) commands.push(command);
    }
    // Keys of one slot stay in one pipeline, in batch order; slots of different nodes go in parallel.
    const groups = this.cluster ? this.groupByNode(commands) : [commands];
    const results = await Promise.all(groups.map((group) => this.run(connection, group)));
    let stale = 0;
    for (const result of results) {
      if (result.error) throw result.error;
      stale += result.stale;
    }
    for (const result of results) for (const [record, reason] of result.rejected) this.rejectRecord(record, reason);
    this.staleCount += stale;
  }

  /** One pipeline of EVALSHA, then EVAL for the replies that said NOSCRIPT. */
  private async run(connection: RedisConnection, commands: Command[]): Promise<{ stale: number; rejected: Array<[SinkRecord, string]>; error?: Error }> {
    let stale = 0;
    const rejected: Array<[SinkRecord, string]> = [];
    let pending = commands;
    for (const useEval of [false, true]) {
      if (pending.length === 0) break;
      const pipeline = connection.client.pipeline();
      for (const c of pending) {
        if (useEval) pipeline.eval(this.guard.source, this.guard.keys, ...c.keys, ...c.args);
        else pipeline.evalsha(this.guard.sha, this.guard.keys, ...c.keys, ...c.args);
      }
      let replies: Array<[Error | null, unknown]>;
      try {
        replies = (await pipeline.exec()) ?? [];
      } catch (err) {
        return { stale, rejected, error: this.batchError(connection, err, pending.length) };
      }
      const again: Command[] = [];
      let worst: { outcome: Outcome; err: unknown } | undefined;
      pending.forEach((c, i) => {
        const [err, reply] = replies[i] ?? [new Error('Connection is closed (no reply)'), null];
        if (!err) {
          if (reply === 0) stale++;
          return;
        }
        const outcome = classifyRedisError(err);
        if (outcome === 'noscript' && !useEval) again.push(c);
        else if (outcome === 'record') rejected.push([c.record, `${this.where}: ${connection.redact(errorMessage(err))}`]);
        else if (!worst || rank(outcome) > rank(worst.outcome)) worst = { outcome, err };
      });
      if (worst) return { stale, rejected, error: this.batchError(connection, worst.err, pending.length) };
      pending = again;
    }
    return { stale, rejected };
  }

  /** The error the base class sees for a failed pipeline: backpressure, retriable or final. */
  private batchError(connection: RedisConnection, err: unknown, records: number): Error {
    const outcome = classifyRedisError(err);
    const message = connection.redact(`${this.where}: writing ${records} record(s) to ${connection.target} failed: ${errorMessage(err)}`);
    if (outcome === 'fatal') return new TributaryError('TRIB_SINK', message);
    if (outcome === 'unavailable' || connection.client.status !== 'ready') {
      return new SinkBackpressureError(`${message}; waiting for the server`, this.unavailableRetryMs);
    }
    if (/^OOM|^BUSY/.test(errorMessage(err))) return new SinkBackpressureError(message, this.unavailableRetryMs * 4);
    return new TributaryError('TRIB_SINK', message, { retriable: true });
  }

  /** The keys and script arguments of one record, or undefined after rejecting it. */
  private toCommand(record: SinkRecord): Command | undefined {
    try {
      const key = this.keyTemplate.render({ key: record.key, row: record.value });
      const version = String(versionOf(record, this.config.version));
      const ttl = String(this.ttlMs);
      if ((this.config.layout ?? 'hash') === 'hash') {
        // The slot groups a cluster's pipelines; standalone and sentinel have one (CRC16 per key: 4 % of the sink's CPU).
        return { record, keys: [key], args: this.hashArgs(record.value, version, ttl), slot: this.cluster ? keySlot(key) : 0 };
      }
      const vkey = versionKey(key);
      const slot = keySlot(key);
      if (this.cluster && keySlot(vkey) !== slot) {
        throw new TributaryError('TRIB_RECORD_INVALID', `key '${key}' has a '}' but no hash tag, so its version key cannot share its cluster slot; add a {tag}`);
      }
      const value = this.config.value === undefined ? JSON.stringify(record.value) : this.field(record.value, this.config.value);
      return { record, keys: [key, vkey], args: value === null ? [version, ttl, '0', ''] : [version, ttl, '1', value], slot };
    } catch (err) {
      this.rejectRecord(record, `${this.where}: ${errorMessage(err)}`);
      return undefined;
    }
  }

  /** version, ttl, the number of fields set, then name/value pairs to set and names to delete. */
  private hashArgs(row: Row, version: string, ttl: string): string[] {
    const names = this.config.fields ?? Object.keys(row);
    const set: string[] = [];
    const del: string[] = [];
    for (const name of names) {
      if (name === VERSION_FIELD) {
        throw new TributaryError('TRIB_RECORD_INVALID', `row field '${VERSION_FIELD}' collides with the version field; rename it or list 'fields'`);
      }
      const v = this.field(row, name);
      if (v === null) del.push(name);
      else set.push(name, v);
    }
    const args = [version, ttl, String(set.length / 2)];
    for (const a of set) args.push(a);
    for (const d of del) args.push(d);
    return args;
  }

  /** A row field as text; null when the value is null; a missing field is the record's error. */
  private field(row: Row, name: string): string | null {
    if (!Object.hasOwn(row, name)) throw new TributaryError('TRIB_RECORD_INVALID', `field '${name}' is missing from the record`);
    const v = row[name]!;
    return v === null ? null : text(v);
  }

  /** Commands grouped by the node owning their slot (by slot when the slot map is not known yet). */
  private groupByNode(commands: Command[]): Command[][] {
    const client = this.connection?.client;
    const slots = client && 'slots' in client ? client.slots : [];
    const groups = new Map<string, Command[]>();
    for (const c of commands) {
      const owner = slots[c.slot]?.[0] ?? `slot:${c.slot}`;
      const group = groups.get(owner);
      if (group) group.push(c);
      else groups.set(owner, [c]);
    }
    return [...groups.values()];
  }

  private configError(message: string): TributaryError {
    return new TributaryError('TRIB_TOPOLOGY_INVALID', `${this.where}: ${message}`);
  }
}

function rank(outcome: Outcome): number {
  return outcome === 'fatal' ? 3 : outcome === 'transient' ? 2 : outcome === 'unavailable' ? 1 : 0;
}
