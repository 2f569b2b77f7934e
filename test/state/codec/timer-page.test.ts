import { describe, expect, it } from 'vitest';
import { decodeTimerPage, encodeTimerPage } from '../../../src/state/codec/timer-page.js';
import { ORDER_MIN_TIMERS, addTimer, checkpointOrder, removeTimer, timersOf, type Page } from '../../../src/state/timer-page-map.js';
import { makeRng, withSeed } from '../random.js';

const emptyPage = (): Page => ({
  start: 0, timers: new Map(), count: 0, bytes: 0, sorted: null, cursor: 0, dirty: false, onDisk: false, flushing: 0, version: 0, used: 0,
});

describe('a timer page at checkpoints', () => {
  it('is written in (time, key) order after any adds and removes, a large page from the order it kept plus what was added', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      for (let round = 0; round < 20; round++) {
        const page = emptyPage();
        // A window's page (few times) or many; keys of any byte (latin1), some keys with several times.
        const times = Array.from({ length: rng.int(1, rng.next() < 0.5 ? 2 : 40) }, () => rng.int(0, 59_999));
        const keys = Array.from({ length: rng.int(50, 3 * ORDER_MIN_TIMERS) }, () =>
          String.fromCharCode(...Array.from({ length: rng.int(0, 10) }, () => (rng.next() < 0.8 ? rng.int(0x30, 0x7a) : rng.int(0, 0xff)))));
        let bytes = 0;
        for (let checkpoint = 0; checkpoint < 12; checkpoint++) {
          const changes = rng.int(0, checkpoint === 0 ? 4 * ORDER_MIN_TIMERS : 300);
          for (let i = 0; i < changes; i++) {
            // Removes, re-adds of what was removed, and adds.
            if (rng.next() < 0.3) removeTimer(page, rng.pick(times), rng.pick(keys));
            else addTimer(page, rng.pick(times), rng.pick(keys));
          }
          const kept = page.order;
          const { timers, grew, merged } = checkpointOrder(page);
          bytes += grew;
          expect(timers).toEqual(timersOf(page));
          if (page.count >= ORDER_MIN_TIMERS) {
            expect(page.order).toBe(timers);
            expect(merged).toBe(kept !== null && kept !== undefined); // the kept order plus what was added, not a fresh sort
          } else expect(page.order).toBeNull();
          expect(bytes).toBe((page.order?.length ?? 0) * 48);
          expect(decodeTimerPage(encodeTimerPage(timers))).toEqual(timers);
        }
      }
    });
  });
});
