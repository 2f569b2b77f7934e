/**
 * TableStore detail-row sink: each record becomes a version-guarded PutRow / UpdateRow (or a
 * tombstone / DeleteRow for a retraction), sent through BatchWriteRow in requests of at most
 * 200 rows and ~4 MB. The guard is a column condition (sdk.ts guardCondition); a row whose
 * condition fails was stale (a newer version is stored) and is counted, not dead-lettered.
 *
 * BatchWriteRow answers per row, and the sink acts per row:
 * - ok / OTSConditionCheckFail: done (written / stale);
 * - throttled (OTSServerBusy, quota) or transient (OTSTimeout, partition unavailable...): only
 *   those rows are kept for the next attempt; the attempt ends with SinkBackpressureError
 *   (throttling, endpoint unreachable) or a retriable error, and BatchingSink backs off and calls
 *   writeBatch again with the same batch, which then sends just the rows still pending;
 * - refused for good (OTSParameterInvalid, too long, wrong type): the record goes to the dead
 *   letters with the store's message. When the service refuses a whole request for a parameter
 *   error, the request is split in halves until the refused row is alone.
 * - authentication, missing table, unknown errors: the batch fails; flush() throws.
 */
import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SinkBackpressureError, TributaryError, errorMessage } from '../../core/errors.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';
import { RowMapper, collapse, type RowOp } from './rows.js';
import { approxRowBytes, classify, createSdkClient, otsError, toWriteRow, type OtsError, type Outcome, type SdkClient } from './sdk.js';
import { TABLESTORE_DEFAULT_LINGER_MS, TABLESTORE_MAX_BATCH_ROWS, type TablestoreSinkConfig } from './spec.js';

export interface TablestoreSinkOptions extends BatchingSinkOptions {
  /** Wait before re-sending while the endpoint is unreachable or throttling. Default 250 ms. */
  unavailableRetryMs?: number;
  /** How long open() keeps trying an endpoint that does not answer. Default 2 min. */
  connectWaitMs?: number;
}

/** TableStore refuses larger BatchWriteRow requests; stay well below. */
const MAX_REQUEST_BYTES = 3.5 * 1024 * 1024;

interface Progress {
  batch: SinkRecord[];
  pending: RowOp[];
  rejected: Array<[SinkRecord, string]>;
}

interface RequestResult {
  retry: RowOp[];
  /** The worst retriable outcome among the rows kept, with its error. */
  worst?: { outcome: Outcome; error: OtsError };
}

export class TablestoreSink extends BatchingSink {
  private readonly config: TablestoreSinkConfig;
  private readonly where: string;
  private readonly mapper: RowMapper;
  private readonly versionColumn: string;
  private readonly unavailableRetryMs: number;
  private readonly connectWaitMs: number;
  private client: SdkClient | undefined;
  private agent: Agent | undefined;
  private progress: Progress | undefined;
  private staleCount = 0;
  private down = false;
  /** Consecutive attempts the service throttled (OTSServerBusy, quota). */
  private throttled = 0;

  constructor(name: string, config: TablestoreSinkConfig, options: TablestoreSinkOptions = {}) {
    super(name, { batchSize: config.batchSize, lingerMs: config.linger ?? TABLESTORE_DEFAULT_LINGER_MS, ...options });
    this.where = `tablestore sink '${name}'`;
    this.config = config;
    this.mapper = new RowMapper(config, this.where);
    this.versionColumn = config.versionColumn ?? '_v';
    this.unavailableRetryMs = options.unavailableRetryMs ?? 250;
    this.connectWaitMs = options.connectWaitMs ?? 120_000;
  }

  /** Writes skipped because the table held a newer version (replays, out-of-order input, superseded in a batch). */
  get stale(): number {
    return this.staleCount;
  }

  protected override async connect(): Promise<void> {
    const { config } = this;
    if (config.accessKeyId === '' || config.accessKeySecret === '') {
      throw new TributaryError('TRIB_SINK', `${this.where}: accessKeyId and accessKeySecret are empty; set them in the environment (e.g. TABLESTORE_ACCESS_KEY_ID, TABLESTORE_ACCESS_KEY_SECRET)`);
    }
    const { client, agent } = createSdkClient({
      endpoint: config.endpoint,
      instancename: config.instance,
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.accessKeySecret,
      ...(config.securityToken === undefined ? {} : { stsToken: config.securityToken }),
    }, config.timeout ?? 10_000, config.concurrency ?? 4);
    this.client = client;
    this.agent = agent;
    // An endpoint that is down at start pauses the worker here (bounded) rather than failing it.
    const deadline = Date.now() + this.connectWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.checkTable(client);
        return;
      } catch (err) {
        if (!(err instanceof TributaryError) || !err.retriable || Date.now() >= deadline) throw err;
        const delay = Math.min(5_000, 250 * 2 ** attempt);
        this.logger.warn('tablestore endpoint not answering; retrying', { sink: this.name, retryInMs: delay, error: err.message });
        await sleep(delay);
      }
    }
  }

  protected override async disconnect(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
    this.client = undefined;
  }

  /**
   * A missing table, a primary key that does not match or wrong credentials fail at start with
   * the table named, not per row; an unreachable endpoint is retriable (the worker retries open).
   */
  private async checkTable(client: SdkClient): Promise<void> {
    let meta: Awaited<ReturnType<SdkClient['describeTable']>>;
    try {
      meta = await client.describeTable({ tableName: this.config.table });
    } catch (err) {
      const e = otsError(err);
      const outcome = classify(e.code, e.status);
      throw new TributaryError('TRIB_SINK', this.redact(`${this.where}: cannot use table '${this.config.table}' at ${this.config.endpoint}: ${e.code}: ${e.message}`), {
        cause: err, retriable: outcome === 'unavailable' || outcome === 'transient' || outcome === 'throttled',
      });
    }
    const want = this.config.primaryKey.map((p) => `${p.name}:${p.type ?? 'string'}`).join(', ');
    const types: Record<number, string> = { 1: 'integer', 2: 'string', 3: 'binary' };
    const have = meta.tableMeta.primaryKey.map((p) => `${p.name}:${types[p.type] ?? p.type}`).join(', ');
    if (want !== have) {
      throw new TributaryError('TRIB_SINK', `${this.where}: table '${this.config.table}' has primary key (${have}); primaryKey declares (${want})`);
    }
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    const client = this.client;
    if (!client) throw new TributaryError('TRIB_SINK', `${this.where} is not open`);
    // The base class retries a failed attempt with the same batch: carry on with what is left.
    const progress = this.progress?.batch === batch ? this.progress : this.plan(batch);
    this.progress = progress;
    for (const [record, reason] of progress.rejected) this.rejectRecord(record, reason);

    const chunks = chunk(progress.pending);
    const results: RequestResult[] = [];
    const concurrency = this.config.concurrency ?? 4;
    for (let i = 0; i < chunks.length; i += concurrency) {
      results.push(...await Promise.all(chunks.slice(i, i + concurrency).map((rows) => this.send(client, rows, progress))));
    }
    progress.pending = results.flatMap((r) => r.retry);
    if (progress.pending.length === 0) {
      this.progress = undefined;
      this.throttled = 0;
      if (this.down) {
        this.down = false;
        this.logger.info('tablestore endpoint reachable again', { sink: this.name, table: this.config.table });
      }
      return;
    }
    const worst = results.map((r) => r.worst).filter((w) => w !== undefined).sort((a, b) => rank(b.outcome) - rank(a.outcome))[0]!;
    const message = this.redact(`${this.where}: ${progress.pending.length} row(s) of table '${this.config.table}' not written yet: ${worst.error.code}: ${worst.error.message}`);
    if (worst.outcome === 'unavailable' && !this.down) {
      this.down = true;
      this.logger.warn('tablestore endpoint unreachable; pausing until it answers', { sink: this.name, endpoint: this.config.endpoint, error: message });
    }
    if (worst.outcome === 'throttled') {
      // The service asks for less: back off further while it keeps asking (up to 5 s).
      this.throttled++;
      throw new SinkBackpressureError(message, Math.min(5_000, this.unavailableRetryMs * 2 ** (this.throttled - 1)));
    }
    this.throttled = 0;
    if (worst.outcome === 'unavailable') throw new SinkBackpressureError(message, this.unavailableRetryMs);
    throw new TributaryError('TRIB_SINK', message, { retriable: true });
  }

  /** Records -> the operations to send; records that cannot become rows are rejected here. */
  private plan(batch: SinkRecord[]): Progress {
    const ops: RowOp[] = [];
    const rejected: Array<[SinkRecord, string]> = [];
    for (const record of batch) {
      try {
        ops.push(...this.mapper.toOps(record));
      } catch (err) {
        rejected.push([record, `${this.where}: ${errorMessage(err)}`]);
      }
    }
    const { winners, superseded } = collapse(ops);
    this.staleCount += superseded.length;
    return { batch, pending: winners, rejected };
  }

  /** One BatchWriteRow; splits the request when the service refuses it as a whole for a parameter error. */
  private async send(client: SdkClient, rows: RowOp[], progress: Progress): Promise<RequestResult> {
    const { write = 'put', deletes = 'tombstone' } = this.config;
    let answer: Awaited<ReturnType<SdkClient['batchWriteRow']>>;
    try {
      answer = await client.batchWriteRow({
        tables: [{ tableName: this.config.table, rows: rows.map((op) => toWriteRow(op, this.versionColumn, write, deletes)) }],
      });
    } catch (err) {
      const e = otsError(err);
      const outcome = classify(e.code, e.status);
      if (outcome === 'record') {
        if (rows.length === 1) {
          this.refuse(rows[0]!, e, progress);
          return { retry: [] };
        }
        const half = Math.ceil(rows.length / 2);
        const parts = await Promise.all([this.send(client, rows.slice(0, half), progress), this.send(client, rows.slice(half), progress)]);
        const retry = parts.flatMap((p) => p.retry);
        const worst = parts.map((p) => p.worst).find((w) => w !== undefined);
        return worst ? { retry, worst } : { retry };
      }
      if (outcome === 'fatal' || outcome === 'stale') {
        throw new TributaryError('TRIB_SINK', this.redact(`${this.where}: BatchWriteRow to table '${this.config.table}' failed: ${e.code}: ${e.message}`), { cause: err });
      }
      return { retry: rows, worst: { outcome, error: e } };
    }
    const retry: RowOp[] = [];
    let worst: RequestResult['worst'];
    rows.forEach((op, i) => {
      const row = answer.tables[i];
      if (!row) {
        retry.push(op);
        worst ??= { outcome: 'transient', error: { code: 'OTSInternalServerError', message: 'no result for the row' } };
        return;
      }
      if (row.isOk) return;
      const e = { code: row.errorCode ?? 'UnknownError', message: row.errorMessage ?? '' };
      const outcome = classify(e.code);
      if (outcome === 'stale') this.staleCount++;
      else if (outcome === 'record' || outcome === 'fatal') this.refuse(op, e, progress);
      else {
        retry.push(op);
        if (!worst || rank(outcome) > rank(worst.outcome)) worst = { outcome, error: e };
      }
    });
    return worst ? { retry, worst } : { retry };
  }

  private refuse(op: RowOp, e: OtsError, progress: Progress): void {
    const reason = this.redact(`${this.where}: table '${this.config.table}' refused the row: ${e.code}: ${e.message}`);
    progress.rejected.push([op.record, reason]);
    this.rejectRecord(op.record, reason);
  }

  private redact(text: string): string {
    const secrets = [this.config.accessKeySecret, this.config.securityToken, this.config.accessKeyId].filter((x): x is string => typeof x === 'string' && x.length > 0);
    return secrets.reduce((t, secret) => t.split(secret).join('***'), text);
  }
}

/** Requests of at most 200 rows and MAX_REQUEST_BYTES. */
function chunk(ops: RowOp[]): RowOp[][] {
  const out: RowOp[][] = [];
  let current: RowOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = approxRowBytes(op);
    if (current.length > 0 && (current.length >= TABLESTORE_MAX_BATCH_ROWS || bytes + size > MAX_REQUEST_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function rank(outcome: Outcome): number {
  return outcome === 'unavailable' ? 3 : outcome === 'throttled' ? 2 : outcome === 'transient' ? 1 : 0;
}
