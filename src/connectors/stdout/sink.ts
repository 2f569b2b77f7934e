import { once } from 'node:events';
import { s, type Infer } from '../../core/spec.js';
import { recordJson } from '../file/sink.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';

export const stdoutSinkSpec = s.object({
  pretty: s.boolean().default(false).describe('Indented JSON (several lines per record) instead of JSONL'),
  envelope: s.boolean().default(false).describe('Write {key, timestamp, value} instead of the row alone'),
});
export type StdoutSinkConfig = Infer<typeof stdoutSinkSpec>;

export interface StdoutSinkOptions extends BatchingSinkOptions {
  /** Where to write; tests pass their own stream. Default process.stdout. */
  out?: NodeJS.WritableStream;
}

/** Rows to stdout, one JSON object per line (for demos and piping into jq). */
export class StdoutSink extends BatchingSink {
  private readonly pretty: boolean;
  private readonly envelope: boolean;
  private readonly out: NodeJS.WritableStream;

  constructor(name: string, config: StdoutSinkConfig, options: StdoutSinkOptions = {}) {
    super(name, { batchSize: 100, ...options });
    this.pretty = config.pretty ?? false;
    this.envelope = config.envelope ?? false;
    this.out = options.out ?? process.stdout;
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    let text = '';
    for (const record of batch) text += recordJson(record, this.envelope, this.pretty ? 2 : undefined) + '\n';
    // Honour the pipe's backpressure (`| head`, a slow terminal) instead of buffering without bound.
    if (!this.out.write(text)) await once(this.out, 'drain');
  }
}
