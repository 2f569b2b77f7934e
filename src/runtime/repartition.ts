/**
 * Repartitioning through Kafka (Kafka mode): a keyBy that changes the key writes its records to
 * `<app>.<step>.repartition`, partition murmur2(key) % N like the Java client, and the task that
 * owns that partition reads them back and feeds the keyBy's children.
 *
 * Two things make this exact rather than at-least-once:
 * - Dedupe. Upstream steps are stateless, so after a crash the upstream task re-emits exactly the
 *   same records. Each carries (upstream partition, source offset, sequence within that offset)
 *   in headers; the reading task keeps the highest pair applied per upstream partition (in its
 *   committed offset's metadata) and drops anything at or below it.
 * - Watermarks. Records of many upstream tasks interleave in one partition, so a reader cannot
 *   derive event time progress from them. Each upstream task writes a marker (header trib-wm) to
 *   every partition when its watermark moves; a reader's watermark is the min over upstream
 *   tasks (Flink's rule), and an upstream task with no input marks itself idle.
 *
 * Record value: JSON {v: row, k: key}; record timestamp: event time.
 */
import type { KafkaProducer, ProduceMessage } from '../kafka/client.js';
import type { StreamRecord, Value, Row } from '../core/record.js';
import type { RepartitionOutput } from './graph.js';
import type { RepartitionInputState } from './source-runtime.js';
import { keyToPartitionBytes } from '../state/codec/key.js';
import { errorMessage, TributaryError } from '../core/errors.js';

export const repartitionTopic = (app: string, stepId: string): string => `${app}.${stepId}.repartition`;

const H_UP = 'trib-up';
const H_OFF = 'trib-off';
const H_SEQ = 'trib-seq';
const H_WM = 'trib-wm';
/** On a data record: the upstream task's watermark as of the record (its readers apply it first). */
const H_RECORD_WM = 'trib-rwm';
/**
 * A request goes out once this many records wait, or when the run loop yields (the end of the
 * poll batch that produced them: setImmediate), whichever is first; while a request is in flight,
 * what arrives waits for it and goes out together (Nagle-like: batches grow with the load, an
 * idle writer adds no wait). A 5 ms linger timer here cost every record up to 5 ms.
 */
const SEND_AT = 500;
/** One request carries at most this much (the broker refuses requests over 1 MB). */
const REQUEST_MAX_RECORDS = 5_000;
const REQUEST_MAX_BYTES = 900_000;
/** Record overhead in a request besides key, value and header bytes (an estimate, for the cap). */
const RECORD_OVERHEAD = 24;
/** Unacknowledged records (waiting or in flight) at which the writer asks the run loop to wait. */
const HIGH_WATER = 20_000;
const MARK_EVERY_MS = 200;

export class RepartitionWriter implements RepartitionOutput {
  private buffer: ProduceMessage[] = [];
  /** The request in flight; at most one, so each partition's records stay in order. */
  private inFlight: Promise<void> | undefined;
  private lingering: ReturnType<typeof setImmediate> | undefined;
  private failure: unknown;
  /** Records added and not yet acknowledged (buffered or in flight). */
  private unacked = 0;
  private pressure: { promise: Promise<void>; release(): void } | undefined;
  /** Per upstream partition: the source offset of the last record and how many records it produced. */
  private readonly lastOrigin = new Map<number, { offset: number; seq: number }>();
  private readonly lastMark = new Map<number, { wm: number; at: number }>();

  constructor(
    readonly stepId: string,
    readonly topic: string,
    private readonly producer: KafkaProducer,
    private readonly partitions: number,
  ) {}

  add(record: StreamRecord, toPartition: number, fromPartition: number, watermark: number): void {
    const offset = record.origin.offset;
    let o = this.lastOrigin.get(fromPartition);
    if (!o) this.lastOrigin.set(fromPartition, (o = { offset, seq: 0 }));
    if (o.offset !== offset) {
      o.offset = offset;
      o.seq = 0;
    }
    const seq = o.seq++;
    this.enqueue({
      partition: toPartition,
      key: asBuffer(keyToPartitionBytes(record.key)),
      value: Buffer.from(JSON.stringify({ v: record.value, k: record.key })),
      timestamp: record.timestamp,
      headers: {
        [H_UP]: smallNumber(fromPartition),
        [H_OFF]: Buffer.from(String(offset)),
        [H_SEQ]: smallNumber(seq),
        ...(Number.isFinite(watermark) ? { [H_RECORD_WM]: Buffer.from(String(watermark)) } : {}),
      },
    });
  }

  /** Upstream task `fromPartition`'s watermark (or idleness), to every partition; throttled. */
  mark(fromPartition: number, watermark: number, idle: boolean, now: number): void {
    const value = idle ? 'idle' : String(watermark);
    const last = this.lastMark.get(fromPartition);
    if (last && now - last.at < MARK_EVERY_MS) return;
    // Idle is stored as NaN, and NaN !== NaN: compare it as such, or an idle task re-marks every
    // 200 ms forever and its readers never see their input go quiet (--exit-when-idle never fires).
    if (last && (idle ? Number.isNaN(last.wm) : last.wm === watermark)) return;
    if (!idle && !Number.isFinite(watermark)) return;
    this.lastMark.set(fromPartition, { wm: idle ? NaN : watermark, at: now });
    for (let p = 0; p < this.partitions; p++) {
      this.enqueue({ partition: p, key: null, value: null, headers: { [H_UP]: smallNumber(fromPartition), [H_WM]: Buffer.from(value) } });
    }
  }

  /**
   * Set while more than HIGH_WATER records wait for their acknowledgement: the run loop waits on
   * it before it reads on, as it does for a slow sink, instead of buffering without bound.
   * Resolves once half of them are acknowledged, or the producer failed (the checkpoint reports it).
   */
  get backpressure(): Promise<void> | undefined {
    return this.pressure?.promise;
  }

  /** Records waiting or in flight. */
  get pending(): number {
    return this.unacked;
  }

  private enqueue(message: ProduceMessage): void {
    this.buffer.push(message);
    this.unacked++;
    if (this.unacked >= HIGH_WATER && !this.pressure && this.failure === undefined) {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => (release = resolve));
      this.pressure = { promise, release };
    }
    if (this.inFlight) return; // what arrives meanwhile goes out together when it completes
    if (this.buffer.length >= SEND_AT) this.send();
    else this.lingering ??= setImmediate(() => this.send());
  }

  /**
   * Sends the head of the buffer, up to one request's worth. One request at a time: a later
   * request must not land while an earlier one failed, or readers would dedupe the earlier
   * records away when they are written again after the restart. What waits while a request is
   * in flight goes out in the next one, so requests grow with the load.
   */
  private send(): void {
    if (this.lingering !== undefined) {
      clearImmediate(this.lingering);
      this.lingering = undefined;
    }
    if (this.inFlight || this.buffer.length === 0) return;
    let n = 0;
    let bytes = 0;
    for (const m of this.buffer) {
      let size = RECORD_OVERHEAD + (m.key?.length ?? 0) + (m.value?.length ?? 0);
      for (const h in m.headers) size += h.length + (m.headers[h]?.length ?? 0);
      if (n > 0 && (n >= REQUEST_MAX_RECORDS || bytes + size > REQUEST_MAX_BYTES)) break;
      bytes += size;
      n++;
    }
    const batch = n === this.buffer.length ? this.buffer : this.buffer.slice(0, n);
    this.buffer = n === this.buffer.length ? [] : this.buffer.slice(n);
    // (finally runs as a later microtask, after inFlight is set: it never clears a newer request)
    const request: Promise<void> = this.request(batch).finally(() => {
      if (this.inFlight === request) this.inFlight = undefined;
      this.afterRequest();
    });
    this.inFlight = request;
  }

  private async request(batch: ProduceMessage[]): Promise<void> {
    try {
      if (this.failure === undefined) await this.producer.send(this.topic, batch, { acks: 'all' });
      this.unacked -= batch.length;
    } catch (err) {
      this.failure = err;
    }
  }

  private afterRequest(): void {
    // After a failure nothing more goes out (the checkpoint fails and the task restarts from its
    // last checkpoint); the run loop must not wait for acknowledgements that will not come.
    if (this.pressure && (this.failure !== undefined || this.unacked <= HIGH_WATER / 2)) {
      this.pressure.release();
      this.pressure = undefined;
    }
    if (this.failure !== undefined) {
      this.unacked -= this.buffer.length;
      this.buffer = [];
    } else if (this.buffer.length >= SEND_AT) this.send();
    else if (this.buffer.length > 0) this.lingering ??= setImmediate(() => this.send());
  }

  /** Everything added so far is acknowledged (called at every checkpoint). */
  async flush(): Promise<void> {
    while (this.inFlight || this.buffer.length > 0) {
      this.send();
      await this.inFlight;
    }
    if (this.failure !== undefined) {
      throw new TributaryError('TRIB_SINK', `repartition topic ${this.topic}: ${errorMessage(this.failure)}`, { cause: this.failure });
    }
  }

  /** A task moved away: its sequence numbers restart with whoever owns it next. */
  forget(partition: number): void {
    this.lastOrigin.delete(partition);
    this.lastMark.delete(partition);
  }
}

interface UpstreamState {
  /** Highest (offset, seq) applied. */
  off: number;
  seq: number;
}

interface TaskInput {
  applied: Map<number, UpstreamState>;
  /** Latest watermark per upstream task; NaN = idle. */
  marks: Map<number, number>;
}

export type RepartitionDecoded =
  | { kind: 'marker' }
  | { kind: 'duplicate' }
  | { kind: 'record'; row: Row; key: Value }
  | { kind: 'bad'; reason: string };

/** A reader's per-task dedupe and watermark state; checkpointed as a token in the commit metadata. */
export class RepartitionInput implements RepartitionInputState {
  private readonly tasks = new Map<number, TaskInput>();

  constructor(
    readonly stepId: string,
    readonly topic: string,
    private readonly upstreamPartitions: number,
  ) {}

  private task(partition: number): TaskInput {
    let t = this.tasks.get(partition);
    if (!t) this.tasks.set(partition, (t = { applied: new Map(), marks: new Map() }));
    return t;
  }

  forget(partition: number): void {
    this.tasks.delete(partition);
  }

  accept(partition: number, headers: Record<string, Uint8Array> | undefined, value: Uint8Array | Row | string): RepartitionDecoded {
    const h = headers ?? {};
    const up = num(h[H_UP]);
    if (up === undefined) return { kind: 'bad', reason: 'repartition record without trib-up header' };
    const t = this.task(partition);
    const wm = h[H_WM];
    if (wm !== undefined) {
      const text = asBuffer(wm).toString('utf8');
      const prev = t.marks.get(up);
      const next = text === 'idle' ? NaN : Number(text);
      if (Number.isNaN(next) || prev === undefined || Number.isNaN(prev) || next > prev) t.marks.set(up, next);
      return { kind: 'marker' };
    }
    const off = num(h[H_OFF]);
    const seq = num(h[H_SEQ]);
    if (off === undefined || seq === undefined) return { kind: 'bad', reason: 'repartition record without trib-off/trib-seq headers' };
    const a = t.applied.get(up);
    if (a && (off < a.off || (off === a.off && seq <= a.seq))) return { kind: 'duplicate' };
    // The upstream watermark as of this record: markers are throttled, this is not, so a reader
    // of a single upstream task judges lateness exactly as a local run does.
    const rwm = num(h[H_RECORD_WM]);
    if (rwm !== undefined) {
      const prev = t.marks.get(up);
      if (prev === undefined || Number.isNaN(prev) || rwm > prev) t.marks.set(up, rwm);
    }
    if (a) {
      a.off = off;
      a.seq = seq;
    } else t.applied.set(up, { off, seq });
    try {
      const text = typeof value === 'string' ? value : value instanceof Uint8Array ? asBuffer(value).toString('utf8') : JSON.stringify(value);
      const parsed = JSON.parse(text) as { v: Row; k: Value };
      return { kind: 'record', row: parsed.v, key: parsed.k };
    } catch (err) {
      return { kind: 'bad', reason: `repartition record is not JSON: ${errorMessage(err)}` };
    }
  }

  /** Min over upstream tasks' marks; undefined while some upstream task never reported; +Infinity if all are idle. */
  watermark(partition: number): number | undefined {
    const t = this.task(partition);
    let min = Infinity;
    for (let up = 0; up < this.upstreamPartitions; up++) {
      const m = t.marks.get(up);
      if (m === undefined) return undefined;
      if (Number.isNaN(m)) continue;
      if (m < min) min = m;
    }
    return min;
  }

  token(partition: number): string {
    const t = this.task(partition);
    const applied: Record<number, [number, number]> = {};
    for (const [up, a] of t.applied) applied[up] = [a.off, a.seq];
    const marks: Record<number, number | null> = {};
    for (const [up, m] of t.marks) marks[up] = Number.isNaN(m) ? null : m;
    return JSON.stringify({ a: applied, m: marks });
  }

  restore(partition: number, token: string | undefined): void {
    const t: TaskInput = { applied: new Map(), marks: new Map() };
    this.tasks.set(partition, t);
    if (!token) return;
    const parsed = JSON.parse(token) as { a?: Record<string, [number, number]>; m?: Record<string, number | null> };
    for (const [up, [off, seq]] of Object.entries(parsed.a ?? {})) t.applied.set(Number(up), { off, seq });
    for (const [up, m] of Object.entries(parsed.m ?? {})) t.marks.set(Number(up), m === null ? NaN : m);
  }
}

/** A header's decimal number; runs three times per repartitioned record, so plain digits skip the string. */
function num(b: Uint8Array | undefined): number | undefined {
  if (b === undefined) return undefined;
  const len = b.length;
  if (len > 0 && len <= 15) {
    let n = 0;
    let i = 0;
    for (; i < len; i++) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i === len) return n;
  }
  const n = Number(asBuffer(b).toString('utf8'));
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A partition number or sequence as header bytes: made once per value below 1024 (the record
 * batch encoder copies header values, so one Buffer serves every record). Two of the four
 * header buffers each repartitioned record built.
 */
const smallNumbers: Buffer[] = [];
function smallNumber(n: number): Buffer {
  if (n >= 1024 || n < 0 || !Number.isInteger(n)) return Buffer.from(String(n));
  return (smallNumbers[n] ??= Buffer.from(String(n)));
}

/** The same bytes as a Buffer, without copying them (Buffer.from(uint8Array) copies). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
