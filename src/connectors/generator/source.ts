import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../core/errors.js';
import type { RawRecord, Source, SourceBatch, SourceContext } from '../types.js';
import { RecordFactory, partitionCounts } from './records.js';
import type { GeneratorConfig } from './spec.js';

/** Longest a poll waits for rate tokens before handing back an empty batch. */
const MAX_WAIT_MS = 100;

/**
 * Token bucket for `rate`. The burst is kept small (50 ms worth) so a slow consumer that catches
 * up does not see a flood far above the configured rate.
 */
class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private readonly capacity: number;

  constructor(private readonly rate: number) {
    this.capacity = Math.max(1, rate * 0.05);
    this.tokens = 1;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  /** Up to `want` tokens; waits at most MAX_WAIT_MS for the first one; 0 when none came. */
  async take(want: number, signal: AbortSignal | undefined): Promise<number> {
    this.refill();
    if (this.tokens < 1) {
      const waitMs = Math.min(MAX_WAIT_MS, Math.ceil(((1 - this.tokens) * 1000) / this.rate));
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        return 0;
      }
      this.refill();
    }
    const n = Math.min(want, Math.floor(this.tokens));
    this.tokens -= n;
    return Math.max(0, n);
  }
}

/** Deterministic synthetic records (see records.ts); every partition is assigned to this worker. */
export class GeneratorSource implements Source {
  readonly name: string;
  readonly partitionCount: number;
  private readonly factory: RecordFactory;
  private readonly totals: number[] | undefined;
  private readonly positions: number[];
  private readonly bucket: TokenBucket | undefined;
  private readonly partitions: number[];
  private cursor = 0;
  private signal: AbortSignal | undefined;

  constructor(name: string, config: GeneratorConfig) {
    this.name = name;
    this.partitionCount = config.partitions ?? 4;
    this.factory = new RecordFactory(config);
    this.totals = config.count === undefined ? undefined : partitionCounts(config.count, this.partitionCount);
    this.positions = new Array<number>(this.partitionCount).fill(0);
    this.partitions = Array.from({ length: this.partitionCount }, (_, p) => p);
    this.bucket = config.rate > 0 ? new TokenBucket(config.rate) : undefined;
  }

  /** The event-time field of the preset's rows ('applied_at' or 'ts'). */
  get timeField(): string {
    return this.factory.timeField;
  }

  async open(ctx: SourceContext): Promise<void> {
    this.signal = ctx.signal;
  }

  assignedPartitions(): readonly number[] {
    return this.partitions;
  }

  seek(partition: number, position: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new TributaryError('TRIB_SOURCE', `generator '${this.name}': no partition ${partition} (it has ${this.partitionCount})`);
    }
    if (!Number.isInteger(position) || position < 0) {
      throw new TributaryError('TRIB_SOURCE', `generator '${this.name}': invalid position ${position} for partition ${partition}`);
    }
    this.positions[partition] = position;
  }

  private left(partition: number): number {
    return this.totals === undefined ? Infinity : Math.max(0, this.totals[partition] - this.positions[partition]);
  }

  async poll(max: number): Promise<SourceBatch | null> {
    let partition = -1;
    for (let k = 0; k < this.partitionCount; k++) {
      const p = (this.cursor + k) % this.partitionCount;
      if (this.left(p) > 0) {
        partition = p;
        break;
      }
    }
    if (partition < 0) return null;
    this.cursor = (partition + 1) % this.partitionCount;
    let n = Math.min(Math.max(0, Math.floor(max)), this.left(partition));
    if (this.bucket && n > 0) n = await this.bucket.take(n, this.signal);
    const start = this.positions[partition];
    const records: RawRecord[] = new Array<RawRecord>(n);
    for (let k = 0; k < n; k++) records[k] = this.factory.record(partition, start + k);
    this.positions[partition] = start + n;
    return { partition, records };
  }

  remaining(): number | undefined {
    if (this.totals === undefined) return undefined;
    let sum = 0;
    for (let p = 0; p < this.partitionCount; p++) sum += this.left(p);
    return sum;
  }

  async close(): Promise<void> {}
}
