/**
 * A checkpoint's snapshot is encoded after the instant it was taken (src/state/capture.ts), while
 * operators keep changing state the way window operators do: they get a head or slice object
 * and change it in place, then put it back (or not), or delete it. Whatever happens after the
 * instant, the checkpoint must write every entry as it was at the instant; and the instant
 * itself must not encode anything (the pause no longer grows with the dirty entries).
 */
import { describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { counterCodec, utf8, type Counter } from './helpers.js';
import { stateDirPerTest } from './state-dir.js';
import { makeRng } from './random.js';

const t = stateDirPerTest();
const steps = [{ id: 'w', fingerprint: 'v1' }];
const KEYS = 300;
const SLICE = 60_000;

async function open(): Promise<StateBackend> {
  await t.backend?.close();
  t.backend = await StateBackend.open(t.dir, { steps, sync: false });
  return t.backend;
}

const key = (i: number): Uint8Array => utf8(`user-${i}`);

describe('a checkpoint snapshot encoded while state changes in place', () => {
  it('writes every head and slice as it was at the instant, whatever operators do to them afterwards', async () => {
    const rng = makeRng();
    let b = await open();
    let w = b.windowStore<Counter, Counter>('w', 0, counterCodec, counterCodec);
    // The model: what each key's head and slice hold, as of the last snapshot written.
    const expected = new Map<string, Counter | undefined>();
    const current = new Map<string, Counter | undefined>();
    const id = (i: number, slice: boolean): string => `${slice ? 's' : 'h'}${i}`;
    for (let i = 0; i < KEYS; i++) {
      w.putHead(key(i), { count: i, sum: i * 1.5, label: `h${i}` });
      w.putSlice(key(i), SLICE, { count: 1, sum: i, label: `s${i}` });
      current.set(id(i, false), { count: i, sum: i * 1.5, label: `h${i}` });
      current.set(id(i, true), { count: 1, sum: i, label: `s${i}` });
    }
    for (let round = 0; round < 12; round++) {
      const prepared = b.prepareCheckpoint({ version: 1, at: round });
      for (const [k, v] of current) expected.set(k, v === undefined ? undefined : { ...v });
      const encoding = prepared.ready(3);
      // Between slices of encoding: what window operators do, in place.
      for (let turn = 0; turn < 80; turn++) {
        for (let j = rng.int(0, 6); j > 0; j--) {
          const i = rng.int(0, KEYS - 1);
          const slice = rng.next() < 0.4;
          const r = rng.next();
          const got = slice ? w.getSlice(key(i), SLICE) : w.getHead(key(i));
          expect(got, id(i, slice)).toEqual(current.get(id(i, slice)));
          if (r < 0.15) {
            if (slice) w.deleteSlice(key(i), SLICE);
            else w.deleteHead(key(i));
            current.set(id(i, slice), undefined);
          } else if (got !== undefined) {
            got.count += 1;
            got.sum += 0.25;
            got.label = `${got.label}+`;
            // The object the snapshot captured, changed in place, then put back (handles.ts).
            if (slice) w.putSlice(key(i), SLICE, got);
            else w.putHead(key(i), got);
            current.set(id(i, slice), { ...got });
          } else {
            const fresh = { count: 1, sum: 0, label: 'new' };
            if (slice) w.putSlice(key(i), SLICE, fresh);
            else w.putHead(key(i), fresh);
            current.set(id(i, slice), { ...fresh });
          }
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await encoding;
      await prepared.write();
      // What LevelDB holds now is the snapshot: reopen without the later changes and compare.
      if (round % 3 === 2) {
        b = await open();
        w = b.windowStore<Counter, Counter>('w', 0, counterCodec, counterCodec);
        for (let i = 0; i < KEYS; i++) {
          expect(w.getHead(key(i)), id(i, false)).toEqual(expected.get(id(i, false)));
          expect(w.getSlice(key(i), SLICE), id(i, true)).toEqual(expected.get(id(i, true)));
        }
        for (const [k, v] of expected) current.set(k, v === undefined ? undefined : { ...v });
      }
    }
  });

  it('captures at the instant without encoding: the entries are encoded by ready(), each once', async () => {
    const b = await open();
    const w = b.windowStore<Counter, Counter>('w', 0, counterCodec, counterCodec);
    let encodes = 0;
    const counting = { encode: (c: Counter) => (encodes++, counterCodec.encode(c)), decode: counterCodec.decode };
    const wc = b.windowStore<Counter, Counter>('w', 1, counting, counting);
    for (let i = 0; i < 1_000; i++) wc.putHead(key(i), { count: i, sum: 0, label: 'x' });
    w.putHead(key(0), { count: 0, sum: 0, label: 'y' });
    const prepared = b.prepareCheckpoint({ version: 1, at: 1 });
    expect(encodes).toBe(0);
    // A key looked up before its turn is encoded then (with its value of the instant), and not again.
    const first = wc.getHead(key(500))!;
    expect(encodes).toBe(1);
    first.count = -1;
    await prepared.ready();
    expect(encodes).toBe(1_000);
    expect(prepared.entries).toBeGreaterThan(1_001); // the heads, the checkpoint meta, the step registry
    expect(encodes).toBe(1_000);
    await prepared.write();
    const again = await open();
    expect(again.windowStore<Counter, Counter>('w', 1, counterCodec, counterCodec).getHead(key(500))).toEqual({ count: 500, sum: 0, label: 'x' });
  });
});
