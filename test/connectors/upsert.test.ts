import { describe, expect, it } from 'vitest';
import { applies, guardedWrites, versionOf, type GuardedWrite, type StoredVersion } from '../../src/connectors/upsert.js';
import type { SinkRecord } from '../../src/connectors/types.js';
import type { Row } from '../../src/core/record.js';
import { thrown } from '../helpers/errors.js';

const rec = (value: Row, timestamp = 1_000): SinkRecord => ({ key: null, value, timestamp });
const byId = { changelog: true, keyOf: (row: Row) => JSON.stringify(row.id ?? null) };

describe('versionOf', () => {
  it('reads the event time, or a numeric or numeric-text field', () => {
    expect(versionOf(rec({ a: 1 }, 42), undefined)).toBe(42);
    expect(versionOf(rec({ ver: 7 }), 'ver')).toBe(7);
    expect(versionOf(rec({ ver: ' 8.5 ' }), 'ver')).toBe(8.5);
  });

  it('refuses a missing, null or non-numeric version as a bad record, with the Redis sink\'s wording', () => {
    expect(thrown(() => versionOf(rec({}), 'ver'))).toMatchObject({ code: 'TRIB_RECORD_INVALID', message: `version field 'ver' is not a finite number (got null)` });
    expect(thrown(() => versionOf(rec({ ver: 'x' }), 'ver')).message).toBe(`version field 'ver' is not a finite number (got "x")`);
    expect(thrown(() => versionOf(rec({}, Number.NaN), undefined)).message).toMatch(/^event time is not a finite number/);
  });
});

describe('guardedWrites', () => {
  it('makes a plain row one upsert', () => {
    expect(guardedWrites(rec({ id: 1, ver: 3 }), { changelog: false, version: 'ver', keyOf: () => '' }))
      .toEqual([{ kind: 'upsert', row: { id: 1, ver: 3 }, version: 3 }]);
  });

  it('upserts the after-image of c, r and u, deletes the before-image of d', () => {
    const after = { id: 1, v: 'a' };
    for (const op of ['c', 'r', 'u']) {
      expect(guardedWrites(rec({ op, before: op === 'u' ? { id: 1, v: 'z' } : null, after, source: {} }, 5), byId))
        .toEqual([{ kind: 'upsert', row: after, version: 5 }]);
    }
    expect(guardedWrites(rec({ op: 'd', before: after, after: null }, 9), byId)).toEqual([{ kind: 'delete', row: after, version: 9 }]);
  });

  it('turns an update that moves the key into a delete of the old key then an upsert, at the update\'s version', () => {
    const writes = guardedWrites(rec({ op: 'u', before: { id: 1, ver: 2 }, after: { id: 2, ver: 3 } }), { ...byId, version: 'ver' });
    expect(writes).toEqual([
      { kind: 'delete', row: { id: 1, ver: 2 }, version: 3 },
      { kind: 'upsert', row: { id: 2, ver: 3 }, version: 3 },
    ]);
  });

  it('takes a delete\'s version field from the before-image', () => {
    expect(guardedWrites(rec({ op: 'd', before: { id: 1, ver: 4 }, after: null }), { ...byId, version: 'ver' })[0]!.version).toBe(4);
  });

  it('refuses envelopes without an op or the image the op needs', () => {
    expect(thrown(() => guardedWrites(rec({ id: 1 }), byId)).message).toMatch(/no op c, u, d or r \(got null\); is the input a changelog/);
    expect(thrown(() => guardedWrites(rec({ op: 'd', before: null }), byId)).message).toMatch(/op 'd' needs an object 'before' image/);
    expect(thrown(() => guardedWrites(rec({ op: 'c', after: [1] }), byId)).code).toBe('TRIB_RECORD_INVALID');
  });
});

describe('applies (the guard every upsert sink implements)', () => {
  const w = (kind: GuardedWrite['kind'], version: number) => ({ kind, version });
  const live = (version: number): StoredVersion => ({ version, deleted: false });
  const tomb = (version: number): StoredVersion => ({ version, deleted: true });

  it('applies a write whose version is >= the stored one, anything over nothing', () => {
    expect(applies(w('upsert', 1), undefined)).toBe(true);
    expect(applies(w('delete', 1), undefined)).toBe(true);
    expect(applies(w('upsert', 5), live(5))).toBe(true);
    expect(applies(w('upsert', 4), live(5))).toBe(false);
    expect(applies(w('delete', 5), live(5))).toBe(true);
    expect(applies(w('delete', 4), live(5))).toBe(false);
  });

  it('keeps a tombstone against replays of its version or older; a newer upsert brings the row back', () => {
    expect(applies(w('upsert', 5), tomb(5))).toBe(false);
    expect(applies(w('upsert', 4), tomb(5))).toBe(false);
    expect(applies(w('upsert', 6), tomb(5))).toBe(true);
    expect(applies(w('delete', 5), tomb(5))).toBe(true);
  });

  it('ends in the state of the newest write whatever the order (randomized, seed printed on failure)', () => {
    const seed = Date.now() % 100_000;
    let x = seed;
    const rand = (n: number): number => { x = (x * 1_103_515_245 + 12_345) % 2 ** 31; return x % n; };
    for (let round = 0; round < 200; round++) {
      const writes = Array.from({ length: 6 }, () => w(rand(2) ? 'upsert' : 'delete', rand(5)));
      let stored: StoredVersion | undefined;
      for (const write of writes) if (applies(write, stored)) stored = { version: write.version, deleted: write.kind === 'delete' };
      // The reference: the highest version wins; among equals, a delete.
      const top = Math.max(...writes.map((e) => e.version));
      const deleted = writes.some((e) => e.version === top && e.kind === 'delete');
      expect(stored, `seed ${seed} round ${round} ${JSON.stringify(writes)}`).toEqual({ version: top, deleted });
    }
  });
});
