/**
 * JSONL file sink. flush() = fsync, so a checkpoint never records output that is not on disk.
 * At least once: after a crash the records since the last checkpoint are appended again.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TributaryError, errorMessage } from '../../core/errors.js';
import { JsonBytes } from '../../formats/json-bytes.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';
import type { FileSinkConfig } from './spec.js';

const TRANSIENT = new Set(['EAGAIN', 'EINTR', 'EBUSY', 'ENOSPC', 'EMFILE', 'ENFILE']);

/** The row alone, or {key, timestamp, value}, as JSON: one line unless `indent` is given. */
export function recordJson(record: SinkRecord, envelope: boolean, indent?: number): string {
  const value = envelope ? { key: record.key, timestamp: record.timestamp, value: record.value } : record.value;
  return JSON.stringify(value, null, indent);
}

export class FileSink extends BatchingSink {
  private readonly path: string;
  private readonly append: boolean;
  private readonly envelope: boolean;
  private fh: FileHandle | undefined;
  /** The batch's lines as UTF-8, reused: a write is over before the next batch is encoded. */
  private readonly lines = new JsonBytes();

  constructor(name: string, config: FileSinkConfig, options: BatchingSinkOptions = {}) {
    super(name, options);
    this.path = config.path;
    this.append = config.append ?? true;
    this.envelope = config.envelope ?? false;
  }

  private regular = true;

  protected override async connect(): Promise<void> {
    await this.disconnect();
    let fh: FileHandle | undefined;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      fh = await open(this.path, this.append ? 'a+' : 'w');
      // Pipes and devices (/dev/null, a FIFO to another process) cannot be fsynced or trimmed.
      this.regular = (await fh.stat()).isFile();
      if (this.append && this.regular) await trimPartialLine(fh);
      this.fh = fh;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      throw new TributaryError('TRIB_SINK', `file sink '${this.name}': cannot open ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    if (!this.fh) throw new TributaryError('TRIB_SINK', `file sink '${this.name}' is not open`);
    // The bytes recordJson's text would be, written without the strings in between.
    const lines = this.lines;
    lines.clear();
    for (const record of batch) {
      lines.json(this.envelope ? { key: record.key, timestamp: record.timestamp, value: record.value } : record.value);
      lines.byte(0x0a);
    }
    try {
      await this.fh.writeFile(lines.bytes());
    } catch (err) {
      throw wrap(this.name, err);
    }
  }

  protected override async sync(): Promise<void> {
    if (!this.regular) return;
    try {
      await this.fh?.sync();
    } catch (err) {
      throw wrap(this.name, err);
    }
  }

  protected override async disconnect(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

function wrap(name: string, err: unknown): TributaryError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new TributaryError('TRIB_SINK', `file sink '${name}': ${errorMessage(err)}`, {
    cause: err, retriable: code !== undefined && TRANSIENT.has(code),
  });
}

/**
 * A kill -9 mid-write can leave half a line at the end. Those records were never checkpointed and
 * will be written again, so the fragment is cut off rather than glued to the next line.
 */
async function trimPartialLine(fh: FileHandle): Promise<void> {
  const { size } = await fh.stat();
  if (size === 0) return;
  const buf = Buffer.allocUnsafe(Math.min(size, 64 * 1024));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) {
      const keep = start + nl + 1;
      if (keep < size) await fh.truncate(keep);
      return;
    }
    end = start;
  }
  await fh.truncate(0);
}
