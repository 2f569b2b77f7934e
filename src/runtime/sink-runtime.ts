import type { Sink, SinkRecord } from '../connectors/types.js';
import type { Row } from '../core/record.js';

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
    // Sinks buffer synchronously; a sink that returns a promise reports failures at flush(), and
    // asks its producer to wait (BatchingSink: past maxBuffered records held).
    if (pending) {
      pending.catch(() => undefined);
      this.backpressure = pending;
    }
  }

  /** Set while the sink holds more than it wants: the run loop waits on relieved() before polling on. */
  backpressure: Promise<void> | undefined;

  /** Resolves once the sink took back every backpressure request it made. */
  async relieved(): Promise<void> {
    while (this.backpressure) {
      const p = this.backpressure;
      this.backpressure = undefined;
      await p.catch(() => undefined);
    }
  }

  lastRows(): readonly Row[] {
    return this.sample;
  }
}
