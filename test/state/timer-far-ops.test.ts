/** Ops held back far past the watermark come out grouped by page, each page's in the order they came. */
import { describe, expect, it } from 'vitest';
import { DELETE, FAR_MAX_OPS, FarTimerOps, REGISTER, REGISTER_TAGGED, type FarOpKind } from '../../src/state/timer-far-ops.js';
import { makeRng, withSeed } from './random.js';

type Op = [FarOpKind, number, string];

describe('timer ops held back', () => {
  it('drain in page order, stable within a page, over a few pages (counting sort) and pages far apart', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      for (const spread of [50, 1e9]) {
        const ops = new FarTimerOps(() => {
          throw new Error('not full');
        });
        const pushed: Op[] = [];
        for (let i = 0; i < 500; i++) {
          const op: Op = [rng.pick([REGISTER, REGISTER_TAGGED, DELETE] as const), 1_700_000_000_000 + rng.int(0, spread) * 60_000 + rng.int(0, 59_999), `k${i}`];
          pushed.push(op);
          ops.push(...op);
        }
        expect(ops.min).toBe(Math.min(...pushed.map((o) => o[1])));
        const out: Op[] = [];
        ops.drain(60_000, (...op) => out.push(op));
        const page = (o: Op): number => Math.floor(o[1] / 60_000);
        // Array.prototype.sort is stable: the expected order.
        expect(out).toEqual([...pushed].sort((a, b) => page(a) - page(b)));
        expect(ops.length).toBe(0);
        expect(ops.min).toBe(Infinity);
      }
    });
  });

  it('asks to be drained when FAR_MAX_OPS are held', () => {
    let asked = 0;
    const ops = new FarTimerOps(() => asked++);
    for (let i = 0; i < FAR_MAX_OPS - 1; i++) ops.push(REGISTER, i, 'k');
    expect(asked).toBe(0);
    ops.push(DELETE, 0, 'k');
    expect(asked).toBe(1);
  });
});
