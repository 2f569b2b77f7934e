/**
 * A JSONL file as a one-partition source. Position = byte offset of the next line, so a
 * checkpoint resumes mid-file exactly. Lines are handed over as text: decoding (and rejecting
 * invalid JSON as a bad record) is the format's job.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage } from '../../core/errors.js';
import type { RawRecord, Source, SourceBatch, SourceContext } from '../types.js';
import type { FileSourceConfig } from './spec.js';

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const PARTITIONS: readonly number[] = [0];

export interface FileSourceOptions {
  /** How long a follow poll waits at the end of the file before returning an empty batch. Default 100 ms. */
  idleWaitMs?: number;
}

export class FileSource implements Source {
  readonly name: string;
  readonly partitionCount = 1;
  private readonly path: string;
  private readonly follow: boolean;
  private readonly idleWaitMs: number;
  private fh: FileHandle | undefined;
  private signal: AbortSignal | undefined;
  /** Byte offset of the next line to emit. */
  private position = 0;
  /** Bytes read from `position` on that do not yet form a complete line. */
  private pending: Buffer = Buffer.alloc(0);
  private readonly chunk = Buffer.allocUnsafe(CHUNK);

  constructor(name: string, config: FileSourceConfig, options: FileSourceOptions = {}) {
    this.name = name;
    this.path = config.path;
    this.follow = config.follow ?? false;
    this.idleWaitMs = options.idleWaitMs ?? 100;
  }

  async open(ctx: SourceContext): Promise<void> {
    this.signal = ctx.signal;
    await this.close();
    try {
      this.fh = await open(this.path, 'r');
    } catch (err) {
      throw new TributaryError('TRIB_SOURCE', `file source '${this.name}': cannot open ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  assignedPartitions(): readonly number[] {
    return PARTITIONS;
  }

  seek(partition: number, position: number): void {
    if (partition !== 0) throw new TributaryError('TRIB_SOURCE', `file source '${this.name}' has only partition 0, not ${partition}`);
    if (!Number.isInteger(position) || position < 0) {
      throw new TributaryError('TRIB_SOURCE', `file source '${this.name}': invalid byte offset ${position}`);
    }
    this.position = position;
    this.pending = Buffer.alloc(0);
  }

  async poll(max: number): Promise<SourceBatch | null> {
    const records: RawRecord[] = [];
    const now = Date.now();
    while (records.length < max) {
      const nl = this.pending.indexOf(NEWLINE);
      if (nl >= 0) {
        this.emit(records, nl, nl + 1, now);
        continue;
      }
      if ((await this.readMore()) > 0) continue;
      // End of file. A last line without a newline is complete only if nobody can append to it.
      if (!this.follow && this.pending.length > 0) {
        this.emit(records, this.pending.length, this.pending.length, now);
        continue;
      }
      break;
    }
    if (records.length > 0) return { partition: 0, records };
    if (!this.follow) return null;
    try {
      await sleep(this.idleWaitMs, undefined, { signal: this.signal });
    } catch {
      // shutting down: the empty batch below lets the runtime notice
    }
    return { partition: 0, records: [] };
  }

  /** Emit pending[0, end) as a line (blank lines are skipped) and consume `consumed` bytes. */
  private emit(records: RawRecord[], end: number, consumed: number, timestamp: number): void {
    const offset = this.position;
    let text = this.pending.toString('utf8', 0, end);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.position += consumed;
    this.pending = this.pending.subarray(consumed);
    if (text.trim() === '') return;
    records.push({ offset, next: this.position, timestamp, key: null, value: text });
  }

  private async readMore(): Promise<number> {
    if (!this.fh) throw new TributaryError('TRIB_SOURCE', `file source '${this.name}': poll() before open()`);
    const at = this.position + this.pending.length;
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.fh.read(this.chunk, 0, CHUNK, at));
    } catch (err) {
      throw new TributaryError('TRIB_SOURCE', `file source '${this.name}': reading ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    if (bytesRead > 0) this.pending = Buffer.concat([this.pending, this.chunk.subarray(0, bytesRead)]);
    return bytesRead;
  }

  /** Unknown in records (the file is measured in bytes). */
  remaining(): number | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}
