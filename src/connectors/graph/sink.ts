/**
 * Graph sink: each row becomes version-guarded vertex and edge writes (model.ts), written per
 * batch by the configured dialect's store (cypher.ts: Neo4j over Bolt; nebula.ts: nGQL).
 *
 * Failure handling, by what the store says (store.ts classifies):
 * - unreachable / connection lost: SinkBackpressureError; the base class waits and re-sends the
 *   whole batch (the guard makes the re-send idempotent), so processing pauses while it is down;
 * - transient (deadlock, leader switch, database error): retriable, with backoff;
 * - a row the store refuses (type, constraint): the batch is split in halves, each written on its
 *   own, down to the refused rows, which go to the dead letters with the store's message;
 *   everything else of the batch is written;
 * - anything else (authentication, privileges, a schema the writes do not fit): the batch fails.
 */
import { SinkBackpressureError, TributaryError, errorMessage } from '../../core/errors.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';
import { CypherStore } from './cypher.js';
import { compileGraphPlan, rowWrites, type GraphPlan, type RowWrites } from './model.js';
import { NebulaStore } from './nebula.js';
import type { GraphSinkConfig } from './spec.js';
import { GraphStoreError, type GraphStore } from './store.js';

export interface GraphSinkOptions extends BatchingSinkOptions {
  /** Wait before re-sending a batch while the store is unreachable. Default 250 ms. */
  unavailableRetryMs?: number;
}

function requireField<T>(value: T | undefined, field: string, dialect: string, where: string): T {
  if (value === undefined) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: dialect ${dialect} needs '${field}'`);
  return value;
}

export class GraphSink extends BatchingSink {
  private readonly config: GraphSinkConfig;
  private readonly where: string;
  private readonly plan: GraphPlan;
  private readonly unavailableRetryMs: number;
  private store: GraphStore | undefined;
  private prepared = false;
  private staleCount = 0;

  constructor(name: string, config: GraphSinkConfig, options: GraphSinkOptions = {}) {
    super(name, { batchSize: config.batchSize, lingerMs: config.linger, ...options });
    this.where = `graph sink '${name}'`;
    this.config = config;
    // Compiled here so configuration mistakes surface when the sink is created; clients come in connect().
    this.plan = compileGraphPlan(config, this.where);
    if (config.dialect === 'cypher') requireField(config.url, 'url', 'cypher', this.where);
    else {
      requireField(config.address, 'address', 'nebula', this.where);
      requireField(config.space, 'space', 'nebula', this.where);
    }
    this.unavailableRetryMs = options.unavailableRetryMs ?? 250;
  }

  /** Element writes skipped because the store (or a later write of the same batch) held a newer version. */
  get stale(): number {
    return this.staleCount;
  }

  protected override async connect(): Promise<void> {
    const c = this.config;
    this.store = c.dialect === 'cypher'
      ? new CypherStore({ url: c.url!, user: c.user, password: c.password, database: c.database })
      : new NebulaStore({ address: c.address!, space: c.space!, user: c.user, password: c.password });
    await this.store.connect();
    try {
      await this.prepare(this.store);
    } catch (err) {
      // A store that is down at start is an outage like any other: the first write waits for it.
      if (!(err instanceof SinkBackpressureError)) {
        await this.disconnect();
        throw err;
      }
      this.logger.warn('graph store unreachable at start; constraints are created before the first write', {
        sink: this.name, target: this.store.target, error: errorMessage(err),
      });
    }
  }

  protected override async disconnect(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    this.prepared = false;
    await store?.close();
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    const store = this.store;
    if (!store) throw new TributaryError('TRIB_SINK', `${this.where} is not open`);
    const rows: RowWrites[] = [];
    for (const record of batch) {
      try {
        rows.push(rowWrites(this.plan, record));
      } catch (err) {
        if (!(err instanceof TributaryError) || err.code !== 'TRIB_RECORD_INVALID') throw err;
        this.rejectRecord(record, `${this.where}: ${err.message}`);
      }
    }
    if (!this.prepared) await this.prepare(store);
    await this.writeSplitting(store, rows);
  }

  /** Writes rows; a refused row is found by halving, so one bad row costs log2(batch) extra writes. */
  private async writeSplitting(store: GraphStore, rows: readonly RowWrites[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      const { sent, applied } = await store.write(rows);
      this.staleCount += sent - applied;
    } catch (err) {
      if (!(err instanceof GraphStoreError) || err.failure !== 'record') throw this.batchError(store, err, rows.length);
      if (rows.length === 1) {
        this.rejectRecord(rows[0]!.record, `${this.where}: ${store.target} refused the row: ${err.message}`);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.writeSplitting(store, rows.slice(0, half));
      await this.writeSplitting(store, rows.slice(half));
    }
  }

  private async prepare(store: GraphStore): Promise<void> {
    try {
      await store.prepare(this.plan);
      this.prepared = true;
    } catch (err) {
      throw this.batchError(store, err, 0);
    }
  }

  /** The error the base class sees: backpressure while the store is down, retriable or final. */
  private batchError(store: GraphStore, err: unknown, records: number): Error {
    const what = records > 0 ? `writing ${records} row(s) to ${store.target}` : `preparing ${store.target}`;
    const message = `${this.where}: ${what} failed: ${errorMessage(err)}`;
    const failure = err instanceof GraphStoreError ? err.failure : 'fatal';
    if (failure === 'unavailable') return new SinkBackpressureError(`${message}; waiting for the store`, this.unavailableRetryMs, { cause: err });
    return new TributaryError('TRIB_SINK', message, { cause: err, retriable: failure === 'transient' });
  }
}
