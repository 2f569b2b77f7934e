/**
 * Window operator throughput, pure in memory (no LevelDB, no codecs): rolling 3d/1m
 * count+sum+count_distinct against tumbling 1m count+sum, 100k keys, timers fired as the
 * watermark (max event time) passes them.
 *
 * The two do not hold the same amount of state: a 1m tumbling window is closed before most keys
 * see their next event (~10 keys live, all in CPU cache), while the 3d rolling window keeps
 * ~70k keys live and every event and every expiry touches a key last seen simulated days ago.
 * So this ratio is far below the engine's (bench/engine.bench.ts), where state access, codecs
 * and checkpoints cost both the same; it is the figure to watch for the operator's own cost.
 *
 * Profile: node --cpu-prof --import tsx bench/windows.bench.ts [rolling|tumbling]
 */
import { pathToFileURL } from 'node:url';
import type { Row } from '../src/core/record.js';
import type { TimerService, WindowStore } from '../src/state/types.js';
import { WindowedAggregation, type WindowHead, type WindowSlice } from '../src/operators/windows/windowed-aggregation.js';
import type { AggregateSpec, WindowSpec } from '../src/operators/windows/types.js';
import type { BenchResult } from './types.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** Key bytes are interned per key, so object identity can stand in for byte equality here. */
class MapStore implements WindowStore<WindowHead, WindowSlice> {
  heads = new Map<Uint8Array, WindowHead>();
  slices = new Map<Uint8Array, Map<number, WindowSlice>>();
  getHead(k: Uint8Array) { return this.heads.get(k); }
  putHead(k: Uint8Array, h: WindowHead) { this.heads.set(k, h); }
  deleteHead(k: Uint8Array) { this.heads.delete(k); }
  getSlice(k: Uint8Array, s: number) { return this.slices.get(k)?.get(s); }
  putSlice(k: Uint8Array, s: number, v: WindowSlice) {
    let m = this.slices.get(k);
    if (!m) this.slices.set(k, (m = new Map()));
    m.set(s, v);
  }
  deleteSlice(k: Uint8Array, s: number) {
    const m = this.slices.get(k);
    m?.delete(s);
    if (m?.size === 0) this.slices.delete(k);
  }
}

/** One live timer per key is all the operator keeps; a binary heap with lazy deletion orders them. */
class HeapTimers implements TimerService {
  live = new Map<Uint8Array, number>();
  times: number[] = [];
  keys: Uint8Array[] = [];
  register(time: number, key: Uint8Array) {
    this.live.set(key, time);
    const { times, keys } = this;
    let i = times.length;
    times.push(time);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! <= time) break;
      times[i] = times[p]!;
      keys[i] = keys[p]!;
      i = p;
    }
    times[i] = time;
    keys[i] = key;
  }
  delete(time: number, key: Uint8Array) {
    if (this.live.get(key) === time) this.live.delete(key);
  }
  /** Pops the earliest live timer with time ≤ wm into `due`. */
  popDue(wm: number, due: { time: number; key: Uint8Array | null }): boolean {
    const { times, keys } = this;
    while (times.length > 0 && times[0]! <= wm) {
      const time = times[0]!;
      const key = keys[0]!;
      const lastT = times.pop()!;
      const lastK = keys.pop()!;
      const n = times.length;
      if (n > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const c = l + 1 < n && times[l + 1]! < times[l]! ? l + 1 : l;
          if (times[c]! >= lastT) break;
          times[i] = times[c]!;
          keys[i] = keys[c]!;
          i = c;
        }
        times[i] = lastT;
        keys[i] = lastK;
      }
      if (this.live.get(key) === time) {
        this.live.delete(key);
        due.time = time;
        due.key = key;
        return true;
      }
    }
    return false;
  }
}

function run(name: string, window: WindowSpec, aggregates: AggregateSpec[], events: number, keys: number, stepMs: number): BenchResult {
  const op = new WindowedAggregation({ window, aggregates, emit: 'updates', allowedLateness: 0, distinctExactLimit: 100 });
  const ctx = { store: new MapStore(), timers: new HeapTimers() };
  const keyBytes = Array.from({ length: keys }, (_, i) => new TextEncoder().encode(`user-${i}`));
  let emitted = 0;
  const out = { emit: () => void emitted++, late: () => {} };
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const rows: Row[] = Array.from({ length: 1024 }, (_, i) => ({ amount: i % 97, device: `dev-${i % 13}` }));
  const t0 = 1_700_000_000_000;
  const due: { time: number; key: Uint8Array | null } = { time: 0, key: null };
  const start = performance.now();
  for (let i = 0; i < events; i++) {
    const k = Math.floor(rnd() * keys);
    const t = t0 + i * stepMs;
    op.onRecord(ctx, k, keyBytes[k]!, t, rows[i & 1023]!, t - 1, out, i);
    while (ctx.timers.popDue(t, due)) op.onTimer(ctx, null, due.key!, due.time, t, out);
  }
  const secs = (performance.now() - start) / 1000;
  return { name, value: events / secs, unit: 'events/s', note: `${events} events, ${keys} keys, ${emitted} emissions, ${ctx.store.heads.size} live keys` };
}

export async function bench(): Promise<BenchResult[]> {
  const field = (f: string) => (row: Row) => row[f] ?? null;
  const countSum: AggregateSpec[] = [
    { name: 'n', fn: 'count' },
    { name: 'total', fn: 'sum', arg: field('amount') },
  ];
  const withDistinct: AggregateSpec[] = [...countSum, { name: 'devices', fn: 'count_distinct', arg: field('device') }];
  // 600k events, one every 2 s: ~14 days, so 3-day windows fill, slide and expire.
  const out: BenchResult[] = [];
  if (only !== 'tumbling') out.push(run('rolling 3d/1m count+sum+count_distinct, 100k keys', { kind: 'rolling', size: 3 * DAY, resolution: MIN }, withDistinct, 600_000, 100_000, 2_000));
  if (only !== 'rolling') out.push(run('tumbling 1m count+sum, 100k keys', { kind: 'tumbling', size: MIN }, countSum, 600_000, 100_000, 2_000));
  return out;
}

const direct = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
const only = direct ? process.argv[2] : undefined;
if (direct) {
  for (const r of await bench()) process.stdout.write(`${r.name}: ${Math.round(r.value)} ${r.unit} (${r.note})\n`);
}
