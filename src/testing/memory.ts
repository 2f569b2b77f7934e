import type { Source, SourceBatch, Sink, SinkRecord } from '../connectors/types.js';

/** A source fed by the test driver: it never yields records by itself. */
export class ManualSource implements Source {
  readonly partitionCount: number;
  private readonly positions = new Map<number, number>();

  constructor(readonly name: string, partitions: number) {
    this.partitionCount = partitions;
  }

  async open(): Promise<void> {}

  assignedPartitions(): readonly number[] {
    return Array.from({ length: this.partitionCount }, (_, i) => i);
  }

  seek(partition: number, position: number): void {
    this.positions.set(partition, position);
  }

  /** Next offset to assign in a partition (continues after a restart). */
  nextOffset(partition: number): number {
    const next = this.positions.get(partition) ?? 0;
    this.positions.set(partition, next + 1);
    return next;
  }

  async poll(): Promise<SourceBatch | null> {
    return null;
  }

  async close(): Promise<void> {}
}

/** A sink that keeps what it receives, in order. */
export class MemorySink implements Sink {
  readonly records: SinkRecord[] = [];

  constructor(readonly name: string) {}

  get written(): number {
    return this.records.length;
  }

  async open(): Promise<void> {}

  add(record: SinkRecord): void {
    this.records.push(record);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
