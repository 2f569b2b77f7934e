/**
 * Drives a sink through store outages (the redis and sql outage tests): adds records one by one,
 * awaiting add() when it asks the producer to wait, takes the store down at chosen records and
 * brings it back after a while, then flushes. Only typed backpressure may reach the caller.
 */
import { expect } from 'vitest';
import type { BatchingSink } from '../../src/connectors/sink-base.js';
import type { SinkRecord } from '../../src/connectors/types.js';
import { SinkBackpressureError } from '../../src/core/errors.js';

export interface Outage {
  /** Index of the record before which the store goes away. */
  at: number;
  /** Flush before (nothing in flight), or not (a batch may be in flight when the store dies). */
  flushFirst: boolean;
  /** Takes the store away; resolves with what brings it back. */
  down(): Promise<() => Promise<void>>;
  forMs: number;
}

export interface OutageRun {
  /** add() calls that made the producer wait. */
  blocked: number;
  /** Per flushFirst outage: records written when the store went away, and just before it came back (equal: nothing was written meanwhile). */
  writtenAround: Array<[number, number]>;
}

export async function writeThroughOutages(sink: BatchingSink, total: number, record: (i: number) => SinkRecord, outages: Outage[]): Promise<OutageRun> {
  const run: OutageRun = { blocked: 0, writtenAround: [] };
  let back: Promise<void> | undefined;
  try {
    for (let i = 0; i < total; i++) {
      const outage = outages.find((o) => o.at === i);
      if (outage) {
        await back;
        if (outage.flushFirst) await sink.flush();
        const bringBack = await outage.down();
        const around: [number, number] = [sink.written, -1];
        if (outage.flushFirst) run.writtenAround.push(around);
        back = (async () => {
          await new Promise((r) => setTimeout(r, outage.forMs));
          around[1] = sink.written;
          await bringBack();
        })();
      }
      const pending = sink.add(record(i));
      if (pending) {
        run.blocked++;
        await pending;
      }
    }
    await sink.flush();
    await back;
  } catch (err) {
    expect(err).toBeInstanceOf(SinkBackpressureError);
    throw err;
  } finally {
    await back?.catch(() => undefined);
    await sink.close();
  }
  return run;
}
