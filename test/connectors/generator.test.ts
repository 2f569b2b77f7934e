import { describe, expect, it } from 'vitest';
import { RecordFactory, UNPARSEABLE, partitionCounts } from '../../src/connectors/generator/records.js';
import { GeneratorSource } from '../../src/connectors/generator/source.js';
import { generatorSpec, type GeneratorConfig } from '../../src/connectors/generator/spec.js';
import type { RawRecord } from '../../src/connectors/types.js';
import { parseConfig } from '../../src/core/spec.js';
import type { Row } from '../../src/core/record.js';
import { silentLogger } from '../../src/core/logger.js';

const START = Date.parse('2026-11-01T00:00:00Z');

function config(overrides: Partial<GeneratorConfig> = {}): GeneratorConfig {
  return parseConfig(generatorSpec, { preset: 'loan-applications', rate: 0, keys: 1000, seed: 7, ...overrides });
}

async function opened(cfg: GeneratorConfig): Promise<GeneratorSource> {
  const source = new GeneratorSource('gen', cfg);
  await source.open({ logger: silentLogger, signal: new AbortController().signal });
  return source;
}

/** Everything the source yields, per partition, in order. */
async function drain(source: GeneratorSource, max = 97): Promise<Map<number, RawRecord[]>> {
  const out = new Map<number, RawRecord[]>();
  for (;;) {
    const batch = await source.poll(max);
    if (batch === null) return out;
    const list = out.get(batch.partition) ?? [];
    list.push(...batch.records);
    out.set(batch.partition, list);
  }
}

const rowOf = (r: RawRecord): Row => r.value as Row;

describe('generator source', () => {
  it('yields identical records for the same seed and different ones for another seed', async () => {
    const a = await drain(await opened(config({ count: 2000, seed: 42 })));
    const b = await drain(await opened(config({ count: 2000, seed: 42 })), 13);
    const c = await drain(await opened(config({ count: 2000, seed: 43 })));
    expect(b).toEqual(a);
    expect(JSON.stringify([...c])).not.toEqual(JSON.stringify([...a]));
  });

  it('splits count over partitions, ends with null, and reports what remains', async () => {
    expect(partitionCounts(10, 4)).toEqual([3, 3, 2, 2]);
    const source = await opened(config({ count: 10, partitions: 4 }));
    expect(source.remaining()).toBe(10);
    expect(source.assignedPartitions()).toEqual([0, 1, 2, 3]);
    const first = await source.poll(100);
    expect(first?.records.length).toBe(3);
    expect(source.remaining()).toBe(7);
    const rest = await drain(source);
    const sizes = [0, 1, 2, 3].map((p) => (p === first?.partition ? 3 : rest.get(p)?.length ?? 0));
    expect(sizes).toEqual([3, 3, 2, 2]);
    expect(source.remaining()).toBe(0);
    expect(await source.poll(100)).toBeNull();
  });

  it('is endless without count', async () => {
    const source = await opened(config());
    expect(source.remaining()).toBeUndefined();
    for (let k = 0; k < 10; k++) expect((await source.poll(1000))?.records.length).toBe(1000);
  });

  it('resumes exactly after seek(p, i), whatever the shares of disorder, duplicates and bad records', async () => {
    for (const seed of [1, 99, 2024]) {
      const cfg = config({ seed, count: 4000, partitions: 2, outOfOrder: 0.2, duplicates: 0.1, badRecords: 0.05 });
      const full = await drain(await opened(cfg));
      const resumed = await opened(cfg);
      const at = [1 + ((seed * 7919) % 1999), 1 + ((seed * 104_729) % 1999)];
      resumed.seek(0, at[0]);
      resumed.seek(1, at[1]);
      const tail = await drain(resumed, 31);
      for (const p of [0, 1]) {
        expect(tail.get(p), `seed ${seed} partition ${p} from ${at[p]}`).toEqual(full.get(p)?.slice(at[p]));
        expect(tail.get(p)?.[0].offset).toBe(at[p]);
      }
    }
  });

  it('produces loan applications with the documented fields and event time', async () => {
    const recs = (await drain(await opened(config({ count: 400, partitions: 1, eventsPerSecond: 0.5 })))).get(0) ?? [];
    expect(recs).toHaveLength(400);
    recs.forEach((r, i) => {
      const row = rowOf(r);
      expect(r.offset).toBe(i);
      expect(r.key).toBeNull();
      expect(r.timestamp).toBe(START + i * 2000);
      expect(row.applied_at).toBe(r.timestamp);
      expect(row.application_id).toBe(`app-0-${i}`);
      expect(row.user_id).toMatch(/^u\d+$/);
      expect(Number(String(row.user_id).slice(1))).toBeLessThan(1000);
      expect(row.device_id).toMatch(/^d\d+$/);
      expect(row.phone).toMatch(/^1[35789]\d{9}$/);
      expect(row.id_card).toMatch(/^\d{17}[\dX]$/);
      expect(Array.isArray(row.contact_phones) && row.contact_phones.length <= 3).toBe(true);
      expect(Number.isInteger(row.amount) && (row.amount as number) >= 1000 && (row.amount as number) <= 5_000_000).toBe(true);
      expect([3, 6, 9, 12, 24, 36]).toContain(row.term);
      expect(['app', 'web', 'h5']).toContain(row.channel);
      expect(row.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    });
  });

  it('keeps per-user attributes stable and gives windows hot keys, device reuse and shared devices', async () => {
    const recs = [...(await drain(await opened(config({ count: 20_000, keys: 1000 })))).values()].flat().map(rowOf);
    const perUser = new Map<string, { phones: Set<unknown>; cards: Set<unknown>; devices: Set<string>; n: number }>();
    const usersOfDevice = new Map<string, Set<string>>();
    for (const row of recs) {
      const u = String(row.user_id);
      const e = perUser.get(u) ?? { phones: new Set(), cards: new Set(), devices: new Set<string>(), n: 0 };
      e.phones.add(row.phone);
      e.cards.add(row.id_card);
      e.devices.add(String(row.device_id));
      e.n++;
      perUser.set(u, e);
      const d = usersOfDevice.get(String(row.device_id)) ?? new Set<string>();
      d.add(u);
      usersOfDevice.set(String(row.device_id), d);
    }
    for (const e of perUser.values()) {
      expect(e.phones.size).toBe(1);
      expect(e.cards.size).toBe(1);
      expect(e.devices.size).toBeLessThanOrEqual(3);
    }
    const counts = [...perUser.values()].map((e) => e.n).sort((x, y) => y - x);
    const top20 = counts.slice(0, 200).reduce((a, b) => a + b, 0);
    expect(top20 / recs.length).toBeGreaterThan(0.6);
    expect([...perUser.values()].some((e) => e.devices.size > 1)).toBe(true);
    const shared = [...usersOfDevice.values()].filter((users) => users.size >= 2);
    expect(shared.length).toBeGreaterThan(0);
  });

  it('yields roughly the configured shares of out-of-order, duplicate and bad records', async () => {
    const cfg = config({ count: 40_000, seed: 5, outOfOrder: 0.1, duplicates: 0.05, badRecords: 0.04, maxDelay: 30_000 });
    const all = await drain(await opened(cfg));
    let late = 0, dups = 0, bad = 0, total = 0;
    const badKinds = new Set<string>();
    for (const recs of all.values()) {
      recs.forEach((r, i) => {
        total++;
        if (r.value === UNPARSEABLE) {
          bad++;
          badKinds.add('raw');
          return;
        }
        const row = rowOf(r);
        const original = Number(String(row.application_id).split('-')[2]);
        if (original !== i) {
          dups++;
          // An exact copy of a record shortly before it, in the same partition.
          expect(i - original).toBeGreaterThan(0);
          expect(i - original).toBeLessThanOrEqual(16 * 4);
          expect(r).toEqual({ ...recs[original], offset: i });
          return;
        }
        const due = START + i * 2000;
        if (r.timestamp < due) {
          late++;
          expect(due - r.timestamp).toBeLessThanOrEqual(30_000);
        }
        if (!('applied_at' in row)) badKinds.add('missing time');
        else if (typeof row.applied_at !== 'number') badKinds.add('non-numeric time');
        else if (typeof row.amount !== 'number') badKinds.add('wrong type');
        else return;
        bad++;
      });
    }
    expect(total).toBe(40_000);
    expect(late / total).toBeGreaterThan(0.08);
    expect(late / total).toBeLessThan(0.12);
    expect(dups / total).toBeGreaterThan(0.04);
    expect(dups / total).toBeLessThan(0.06);
    // Bad records are counted among non-duplicates only.
    expect(bad / total).toBeGreaterThan(0.03);
    expect(bad / total).toBeLessThan(0.05);
    expect([...badKinds].sort()).toEqual(['missing time', 'non-numeric time', 'raw', 'wrong type']);
  });

  it('produces device events keyed by device with the documented fields', async () => {
    const recs = [...(await drain(await opened(config({ preset: 'device-events', count: 3000, keys: 300 })))).values()].flat();
    const devices = new Set<unknown>();
    for (const r of recs) {
      const row = rowOf(r);
      expect(Object.keys(row).sort()).toEqual(['contact_phone', 'device_id', 'event_id', 'event_type', 'ts', 'user_id']);
      expect(['login', 'apply', 'register', 'bind_card']).toContain(row.event_type);
      expect(row.ts).toBe(r.timestamp);
      expect(row.contact_phone).toMatch(/^1\d{10}$/);
      devices.add(row.device_id);
    }
    expect(devices.size).toBeLessThanOrEqual(300);
    expect(devices.size).toBeGreaterThan(100);
    expect(new RecordFactory(config({ preset: 'device-events' })).timeField).toBe('ts');
  });

  it('honours rate roughly', async () => {
    const source = await opened(config({ count: 200, partitions: 2, rate: 1000 }));
    const t0 = performance.now();
    const got = [...(await drain(source, 500)).values()].flat();
    expect(got).toHaveLength(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('accepts startTime as ISO text or epoch ms and refuses unknown fields', () => {
    const f = new RecordFactory(config({ startTime: '1700000000000', count: 1 }));
    expect(f.record(0, 0).timestamp).toBe(1_700_000_000_000);
    expect(f.record(0, 3).timestamp).toBe(1_700_000_000_000 + 6000);
    // No zone means UTC, whatever the machine's time zone.
    expect(new RecordFactory(config({ startTime: '2026-11-01T08:00' })).record(1, 0).timestamp).toBe(START + 8 * 3_600_000);
    expect(parseConfig(generatorSpec, { preset: 'device-events', rate: 0, keys: 1, seed: 1, startTime: 1_700_000_000_000 }).startTime)
      .toBe('1700000000000');
    expect(() => parseConfig(generatorSpec, { preset: 'loan-applications', rate: 0, keys: 1, seed: 1, sed: 2 }))
      .toThrow(/unknown field 'sed'/);
    expect(() => parseConfig(generatorSpec, { preset: 'loan-applications', rate: 0, keys: 1, seed: 1, startTime: 'soon' }))
      .toThrow(/ISO-8601/);
  });

  it('refuses to seek to a partition it does not have', async () => {
    const source = await opened(config({ partitions: 2 }));
    expect(() => source.seek(2, 0)).toThrow(/no partition 2/);
  });
});
