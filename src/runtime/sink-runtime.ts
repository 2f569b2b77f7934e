import type { Sink, SinkRecord } from '../connectors/types.js';
import type { Row } from './record.js';

/** A sink as the engine sees it: counts and a small sample of the last rows for the summary. */
export class SinkRuntime {
  readonly id: string;
  readonly sink: Sink;
  emitted = 0;
  private readonly sample: Row[] = [];

  constructor(id: string, sink: Sink, private readonly sampleSize = 5) {
    this.id = id;
    this.sink = sink;
  }

  add(record: SinkRecord): void {
    this.emitted++;
    if (this.sampleSize > 0) {
      if (this.sample.length >= this.sampleSize) this.sample.shift();
      this.sample.push(record.value);
    }
    const pending = this.sink.add(record);
    // Sinks buffer synchronously; a sink that returns a promise reports failures at flush().
    if (pending) pending.catch(() => undefined);
  }

  lastRows(): readonly Row[] {
    return this.sample;
  }
}
