/**
 * State layer throughput: window-store updates through the write-back cache (the per-event hot
 * path: getHead/putHead/getSlice/putSlice), cold reads through getSync, checkpoint volume,
 * timers of a window shorter than a timer page (registered into the page that fires), and the
 * pause a checkpoint's snapshot makes (processing stands still for its synchronous part).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateBackend } from '../src/state/backend.js';
import { ByteReader, ByteWriter } from '../src/state/codec/bytes.js';
import { encodeKey } from '../src/state/codec/key.js';
import type { ValueCodec } from '../src/state/types.js';
import type { BenchResult } from './types.js';

interface Head { count: number; sum: number }
const headCodec: ValueCodec<Head> = {
  encode: (h) => new ByteWriter(16).varint(h.count).f64(h.sum).finish(),
  decode: (b) => { const r = new ByteReader(b); return { count: r.varint(), sum: r.f64() }; },
};
const numberCodec: ValueCodec<number> = {
  encode: (n) => new ByteWriter(12).f64(n).finish(),
  decode: (b) => new ByteReader(b).f64(),
};

export async function bench(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'trib-state-bench-'));
  const results: BenchResult[] = [];
  try {
    const b = await StateBackend.open(dir, { steps: [{ id: 'agg', fingerprint: 'v1' }], sync: true, maxCachedEntries: 200_000 });
    const w = b.windowStore('agg', 0, headCodec, numberCodec);
    const keys = Array.from({ length: 50_000 }, (_, i) => encodeKey(`user-${i}`));
    const events = 500_000;
    let t0 = performance.now();
    for (let i = 0; i < events; i++) {
      const key = keys[(i * 7919) % keys.length]!;
      const start = Math.floor(i / 10_000) * 60_000;
      const head = w.getHead(key) ?? { count: 0, sum: 0 };
      head.count++;
      head.sum += i;
      w.putHead(key, head);
      w.putSlice(key, start, (w.getSlice(key, start) ?? 0) + 1);
    }
    let s = (performance.now() - t0) / 1000;
    results.push({ name: 'window updates through the cache', value: events / s, unit: 'events/s', note: '4 store ops per event, 50k keys' });

    const cp = await b.checkpoint({ version: 1, at: Date.now() });
    results.push({ name: 'checkpoint write (one batch, fsync)', value: cp.bytes / 1e6 / (cp.ms / 1000), unit: 'MB/s', note: `${cp.entries} entries, ${(cp.bytes / 1e6).toFixed(1)} MB in ${cp.ms.toFixed(0)} ms` });
    await b.close();

    const cold = await StateBackend.open(dir, { steps: [{ id: 'agg', fingerprint: 'v1' }], maxCachedEntries: 1000 });
    const cw = cold.windowStore('agg', 0, headCodec, numberCodec);
    t0 = performance.now();
    for (const key of keys) cw.getHead(key);
    s = (performance.now() - t0) / 1000;
    results.push({ name: 'cold reads (cache miss -> LevelDB getSync)', value: keys.length / s, unit: 'gets/s' });
    await cold.close();

    results.push(await subPageTimers(join(dir, 'timers')));
    results.push(...(await snapshotPause(join(dir, 'pause'))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

/**
 * A checkpoint of 100k keys each changed since the last one (a head and a slice each, and one
 * timer each somewhere in the next 3 days: 4,320 one-minute pages): how long its snapshot holds
 * processing up (prepareCheckpoint, synchronous), and the whole checkpoint (encoded and written).
 */
async function snapshotPause(dir: string): Promise<BenchResult[]> {
  const b = await StateBackend.open(dir, { steps: [{ id: 'agg', fingerprint: 'v1' }], sync: false });
  try {
    const w = b.windowStore('agg', 0, headCodec, numberCodec);
    const timers = await b.loadTimers('agg', 0);
    const n = 100_000;
    const day = 86_400_000;
    for (let i = 0; i < n; i++) {
      const key = encodeKey(`user-${i}`);
      w.putHead(key, { count: i, sum: i * 2 });
      w.putSlice(key, 60_000 * (i % 1440), i);
      timers.register(day + ((i * 7919) % (3 * day)), key);
    }
    const t0 = performance.now();
    const prepared = b.prepareCheckpoint({ version: 1, at: 1 });
    // As the checkpointer does: ready()'s first slice runs in the same turn, so it counts in the
    // pause (all of it when the cache is pressed).
    const encoded = prepared.ready();
    const pause = performance.now() - t0;
    await encoded;
    const cp = await prepared.write();
    const total = performance.now() - t0;
    return [
      { name: 'checkpoint snapshot pause (100k keys changed)', value: pause, unit: 'ms', note: `processing stands still; ${cp.entries.toLocaleString('en-US')} entries` },
      { name: 'checkpoint of 100k keys changed, whole', value: total, unit: 'ms', note: 'snapshot, encoded, written in one batch' },
    ];
  } finally {
    await b.close();
  }
}

/**
 * A 10 s tumbling window over 200k keys at 200k events per minute of event time: every register
 * goes into the 1-minute timer page that is firing, and the watermark fires what is due every
 * 100 events.
 */
async function subPageTimers(dir: string): Promise<BenchResult> {
  const b = await StateBackend.open(dir, { steps: [{ id: 'agg', fingerprint: 'v1' }], sync: false });
  try {
    const timers = await b.loadTimers('agg', 0);
    const keys = Array.from({ length: 200_000 }, (_, i) => encodeKey(`user-${(i * 2654435761) % 1e9}`));
    const events = 1_000_000;
    let fired = 0;
    const t0 = performance.now();
    for (let i = 0; i < events; i++) {
      const t = Math.floor((i * 60_000) / 200_000);
      timers.register(Math.floor(t / 10_000) * 10_000 + 10_000, keys[(i * 7919) % keys.length]!);
      if (i % 100 === 0) for (let d = timers.nextDue(t - 1000); d; d = timers.nextDue(t - 1000)) fired++;
    }
    const s = (performance.now() - t0) / 1000;
    return { name: 'timers of a 10 s window (register while the page fires)', value: events / s, unit: 'registers/s', note: `200k keys, ${fired.toLocaleString('en-US')} fired` };
  } finally {
    await b.close();
  }
}
