import { describe, expect, it } from 'vitest';
import { compareTimers, decodeTimerPage, encodeTimerPage, type PagedTimer } from '../../../src/state/codec/timer-page.js';
import { ABSENT, ORDER_MIN_TIMERS, TAKEN, TAKEN_TAGGED, addTimer, checkpointOrder, isTagged, peekFiring, popFiring, pushFiring, removeTimer, takeTimer, timersOf, type Page } from '../../../src/state/timer-page-map.js';
import { makeRng, withSeed } from '../random.js';

const emptyPage = (): Page => ({
  start: 0, timers: new Map(), count: 0, bytes: 0, sorted: null, cursor: 0, late: null, dirty: false, onDisk: false, flushing: 0, captured: -1, version: 0, used: 0,
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

describe('a timer page with tagged timers', () => {
  const timers = [
    { time: 5, keyId: 'a' },
    { time: 5, keyId: 'b' },
    { time: 7, keyId: 'c' },
  ];

  it('keeps which keys are tagged, and reads as before where nothing is', () => {
    const tagged = new Set<string>();
    expect(decodeTimerPage(encodeTimerPage(timers, new Set(['a', 'c'])), tagged)).toEqual(timers);
    expect([...tagged].sort()).toEqual(['a', 'c']);
    const none = new Set<string>();
    const plain = encodeTimerPage(timers);
    expect(encodeTimerPage(timers, new Set())).toEqual(plain);
    expect(decodeTimerPage(plain, none)).toEqual(timers);
    expect(none.size).toBe(0);
  });

  it('reads as untagged timers to a reader that does not ask for tags (as one that predates them)', () => {
    expect(decodeTimerPage(encodeTimerPage(timers, new Set(['b'])))).toEqual(timers);
  });

  it('holds a tag only while the key has one timer in the page', () => {
    const page = emptyPage();
    addTimer(page, 5, 'a', true);
    addTimer(page, 6, 'b', true);
    const tagged = (): string[] => [...page.timers.keys()].filter((k) => isTagged(page, k)).sort();
    expect(tagged()).toEqual(['a', 'b']);
    addTimer(page, 9, 'a', true); // a second timer of 'a'
    addTimer(page, 6, 'b', true); // 'b' again, the same time
    expect(tagged()).toEqual([]);
    addTimer(page, 3, 'c', true);
    removeTimer(page, 3, 'c');
    addTimer(page, 3, 'c');
    expect(isTagged(page, 'c')).toBe(false);
  });

  it('takes a timer once, telling whether it was there and tagged (the one lookup firing makes)', () => {
    const page = emptyPage();
    addTimer(page, 5, 'a', true);
    addTimer(page, 5, 'b');
    addTimer(page, 9, 'c', true);
    addTimer(page, 3, 'c', true); // two timers: untagged
    expect(page.count).toBe(4);
    expect(takeTimer(page, 6, 'a')).toBe(ABSENT); // another time of a live key
    expect(takeTimer(page, 5, 'z')).toBe(ABSENT);
    expect(takeTimer(page, 4, 'c')).toBe(ABSENT);
    expect(page.count).toBe(4);
    expect(isTagged(page, 'a')).toBe(true);
    expect(takeTimer(page, 5, 'a')).toBe(TAKEN_TAGGED);
    expect(isTagged(page, 'a')).toBe(false);
    expect(takeTimer(page, 5, 'a')).toBe(ABSENT);
    expect(takeTimer(page, 5, 'b')).toBe(TAKEN);
    expect(takeTimer(page, 3, 'c')).toBe(TAKEN);
    expect(timersOf(page)).toEqual([{ time: 9, keyId: 'c' }]);
    expect(takeTimer(page, 9, 'c')).toBe(TAKEN);
    expect(page.count).toBe(0);
    expect(page.timers.size).toBe(0);
  });

  it('keeps the slots of timers fired from a page until it empties, and they count for nothing', () => {
    const page = emptyPage();
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) addTimer(page, 10 + i, k, true);
    page.sorted = timersOf(page); // the page fires
    expect(takeTimer(page, 10, 'a')).toBe(TAKEN_TAGGED);
    expect(takeTimer(page, 11, 'b')).toBe(TAKEN_TAGGED);
    expect(page.timers.size).toBe(4); // no shrinking table while it drains
    expect(takeTimer(page, 10, 'a')).toBe(ABSENT);
    expect(timersOf(page)).toEqual([{ time: 12, keyId: 'c' }, { time: 13, keyId: 'd' }]);
    expect(checkpointOrder(page).timers).toEqual(timersOf(page));
    expect(addTimer(page, 15, 'a', true)).toBe(true); // a fired key registers again
    expect(page.count).toBe(3);
    expect(takeTimer(page, 15, 'a')).toBe(TAKEN_TAGGED);
    expect(takeTimer(page, 12, 'c')).toBe(TAKEN_TAGGED);
    expect(takeTimer(page, 13, 'd')).toBe(TAKEN_TAGGED);
    expect(page.count).toBe(0);
    expect(page.timers.size).toBe(0); // emptied: the slots go at once
  });

  it('fires the timers added while it fires merged in (time, key) order with those it held', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      for (let round = 0; round < 50; round++) {
        const page = emptyPage();
        const timer = (): PagedTimer => ({ time: rng.int(0, 30), keyId: `k${rng.int(0, 20)}` });
        for (let i = rng.int(0, 40); i > 0; i--) {
          const t = timer();
          addTimer(page, t.time, t.keyId);
        }
        page.sorted = timersOf(page);
        const pending = [...page.sorted];
        const popped: PagedTimer[] = [];
        for (let step = 0; step < 200; step++) {
          if (rng.next() < 0.4) {
            const t = timer();
            pushFiring(page, t);
            pending.push(t);
          } else {
            const next = peekFiring(page);
            pending.sort(compareTimers);
            expect(next).toEqual(pending[0]);
            if (next === undefined) continue;
            popFiring(page);
            // One of equal timers (a duplicate left by a register) goes; which one does not matter.
            pending.shift();
            popped.push(next);
          }
        }
        expect(popped.length).toBeGreaterThan(0);
      }
    });
  });
});
