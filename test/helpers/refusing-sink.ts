import { BatchingSink } from '../../src/connectors/sink-base.js';
import type { SinkRecord } from '../../src/connectors/types.js';
import type { Row } from '../../src/core/record.js';

/** Writes the rows `refuse` returns undefined for and refuses the rest for good (as Redis refuses a value). */
export class RefusingSink extends BatchingSink {
  readonly rows: Row[] = [];

  constructor(name: string, private readonly refuse: (row: Row) => string | undefined) {
    super(name, { batchSize: 100 });
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    for (const record of batch) {
      const reason = this.refuse(record.value);
      if (reason === undefined) this.rows.push(record.value);
      else this.rejectRecord(record, reason);
    }
  }
}
