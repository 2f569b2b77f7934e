import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateBackend, type StateChange } from '../../src/state/backend.js';
import { TributaryError } from '../../src/core/errors.js';
import { ChangelogWriter, GEN_HEADER, POS_HEADER } from '../../src/state/changelog.js';
import type { KafkaHeaders, KafkaProducer, ProduceMessage } from '../../src/kafka/client.js';
import { counterCodec, numberCodec, tempDir, utf8 } from './helpers.js';

let dirs: Array<() => Promise<void>> = [];
const open: StateBackend[] = [];

afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  for (const c of dirs.splice(0)) await c();
});

async function newDir(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  dirs.push(cleanup);
  return dir;
}

async function openAt(dir: string, stepIds: string[]): Promise<StateBackend> {
  const b = await StateBackend.open(dir, { steps: stepIds.map((id) => ({ id, fingerprint: 'v1' })), sync: false });
  open.push(b);
  return b;
}

async function closeOne(b: StateBackend): Promise<void> {
  open.splice(open.indexOf(b), 1);
  await b.close();
}

/** Applies a checkpoint's changes to `target`, one applyChanges per (step, partition). */
async function applyAll(target: StateBackend, changes: Map<number, StateChange[]>): Promise<void> {
  for (const [partition, list] of changes) {
    target.dropPartition(partition);
    const bySteps = new Map<string, StateChange[]>();
    for (const c of list) bySteps.set(c.stepId, [...(bySteps.get(c.stepId) ?? []), c]);
    for (const [stepId, cs] of bySteps) await target.applyChanges(stepId, partition, cs);
  }
}

async function timersOf(b: StateBackend, stepId: string, partition: number): Promise<string[]> {
  const t = await b.loadTimers(stepId, partition);
  const due = [];
  for (let d = t.nextDue(Number.MAX_SAFE_INTEGER); d; d = t.nextDue(Number.MAX_SAFE_INTEGER)) due.push(d);
  // Put them back: reading must not change the state.
  for (const d of due) t.register(d.time, d.key);
  return due.map((d) => `${d.time}:${Buffer.from(d.key).toString()}`);
}

describe('PreparedCheckpoint.changes()', () => {
  it('round-trips window, kv and timer state into a backend that numbers the steps differently', async () => {
    const a = await openAt(await newDir(), ['agg', 'seen']);
    const w = a.windowStore('agg', 1, counterCodec, numberCodec);
    const kv = a.kvStore('seen', 1, numberCodec);
    const kv2 = a.kvStore('seen', 2, numberCodec);
    w.putHead(utf8('u1'), { count: 2, sum: 5, label: 'x' });
    w.putSlice(utf8('u1'), 60_000, 3);
    w.putSlice(utf8('u1'), 120_000, 2);
    w.putHead(utf8('gone'), { count: 1, sum: 1, label: 'g' });
    kv.put(utf8('d1'), 7);
    kv2.put(utf8('d2'), -4);
    const timers = await a.loadTimers('agg', 1);
    timers.register(180_000, utf8('u1'));
    timers.register(240_000, utf8('gone'));

    const first = a.prepareCheckpoint({ version: 1, at: 1 });
    const c1 = first.changes();
    await first.write();
    // Registry and checkpoint meta are not state: only the 8 state/timer ops are changes.
    expect([...c1.keys()].sort()).toEqual([1, 2]);
    expect(c1.get(1)!.length + c1.get(2)!.length).toBe(8);
    expect(c1.get(2)).toEqual([{ stepId: 'seen', partition: 2, key: expect.any(Uint8Array), value: expect.any(Uint8Array) }]);

    w.putHead(utf8('u1'), { count: 3, sum: 9, label: 'x' });
    w.deleteSlice(utf8('u1'), 60_000);
    w.deleteHead(utf8('gone'));
    timers.delete(240_000, utf8('gone'));
    kv.delete(utf8('d1'));
    const second = a.prepareCheckpoint({ version: 1, at: 2 });
    const c2 = second.changes();
    await second.write();
    expect(c2.get(1)!.filter((c) => c.value === null)).toHaveLength(4);
    // Grouped per partition, then per step (steps in id order, each step's changes together), each key once.
    const steps = c2.get(1)!.map((c) => c.stepId);
    expect(steps).toEqual([...steps].sort());
    const keys = c2.get(1)!.map((c) => `${c.stepId}:${Buffer.from(c.key).toString('hex')}`);
    expect(new Set(keys).size).toBe(keys.length);

    // Another worker: an extra step first and the others swapped, so every step number differs.
    const bDir = await newDir();
    const b = await openAt(bDir, ['other', 'seen', 'agg']);
    await applyAll(b, c1);
    await applyAll(b, c2);

    const check = async (x: StateBackend): Promise<void> => {
      const wb = x.windowStore('agg', 1, counterCodec, numberCodec);
      expect(wb.getHead(utf8('u1'))).toEqual({ count: 3, sum: 9, label: 'x' });
      expect(wb.getSlice(utf8('u1'), 60_000)).toBeUndefined();
      expect(wb.getSlice(utf8('u1'), 120_000)).toBe(2);
      expect(wb.getHead(utf8('gone'))).toBeUndefined();
      expect(x.kvStore('seen', 1, numberCodec).get(utf8('d1'))).toBeUndefined();
      expect(x.kvStore('seen', 2, numberCodec).get(utf8('d2'))).toBe(-4);
      expect(x.kvStore('other', 1, numberCodec).get(utf8('d1'))).toBeUndefined();
      expect(await timersOf(x, 'agg', 1)).toEqual(['180000:u1']);
    };
    await check(b);

    // The step numbers went to disk with the restored state: reopened in yet another order
    // (which would number the steps anew), each step still finds its own state.
    await closeOne(b);
    await check(await openAt(bDir, ['agg', 'seen', 'other']));
  });

  it('is empty for a checkpoint with no dirty state', async () => {
    const a = await openAt(await newDir(), ['agg']);
    const p = a.prepareCheckpoint({ version: 1, at: 1 });
    expect(p.changes().size).toBe(0);
    await p.write();
  });
});

describe('dropPartition / applyChanges', () => {
  it('makes the next read come from LevelDB, through handles taken before the drop', async () => {
    const dir = await newDir();
    const b = await openAt(dir, ['agg']);
    const kv = b.kvStore('agg', 0, numberCodec);
    const w = b.windowStore('agg', 0, counterCodec, numberCodec);
    kv.put(utf8('k'), 1);
    await b.checkpoint({ version: 1, at: 1 });
    expect(kv.get(utf8('k'))).toBe(1);
    // The window scope was empty at open: the cache knows every miss is absent.
    expect(w.getHead(utf8('h'))).toBeUndefined();

    // A donor backend produces the changes a restore would apply.
    const donor = await openAt(await newDir(), ['agg']);
    donor.kvStore('agg', 0, numberCodec).put(utf8('k'), 2);
    donor.windowStore('agg', 0, counterCodec, numberCodec).putHead(utf8('h'), { count: 1, sum: 2, label: 'r' });
    const p = donor.prepareCheckpoint({ version: 1, at: 1 });
    const changes = p.changes().get(0)!;
    await p.write();

    const err = await b.applyChanges('agg', 0, changes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).message).toMatch(/dropPartition\(\) first/);

    kv.put(utf8('k'), 3); // dirty, lost by the drop
    b.dropPartition(0);
    await b.applyChanges('agg', 0, changes);
    expect(kv.get(utf8('k'))).toBe(2);
    expect(w.getHead(utf8('h'))).toEqual({ count: 1, sum: 2, label: 'r' });

    // The dropped dirty write is not written by the next checkpoint.
    await b.checkpoint({ version: 1, at: 2 });
    await closeOne(b);
    const again = await openAt(dir, ['agg']);
    expect(again.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(2);
  });

  it('forgets loaded timers: they must be loaded again and then show LevelDB', async () => {
    const b = await openAt(await newDir(), ['agg']);
    const t = await b.loadTimers('agg', 4);
    t.register(1000, utf8('a'));
    await b.checkpoint({ version: 1, at: 1 });
    t.register(2000, utf8('b')); // pending, lost by the drop
    b.dropPartition(4);
    expect(() => t.register(3000, utf8('c'))).toThrow(/before loadTimers/);
    expect(await timersOf(b, 'agg', 4)).toEqual(['1000:a']);
  });

  it('refuses while a prepared checkpoint is in flight', async () => {
    const b = await openAt(await newDir(), ['agg']);
    b.kvStore('agg', 0, numberCodec).put(utf8('k'), 1);
    const p = b.prepareCheckpoint({ version: 1, at: 1 });
    expect(() => b.dropPartition(0)).toThrow(/in flight/);
    await p.write();
    b.dropPartition(0);
    expect(b.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(1);
  });

  it('rejects a changelog key of another partition', async () => {
    const b = await openAt(await newDir(), ['agg']);
    const donor = await openAt(await newDir(), ['agg']);
    donor.kvStore('agg', 1, numberCodec).put(utf8('k'), 1);
    const p = donor.prepareCheckpoint({ version: 1, at: 1 });
    const changes = p.changes().get(1)!;
    p.abort();
    await expect(b.applyChanges('agg', 0, changes)).rejects.toThrow(/partition 1 found while restoring partition 0/);
  });
});

describe('wipePartition', () => {
  it('deletes the state and timers of that partition only, for every step', async () => {
    const dir = await newDir();
    const b = await openAt(dir, ['agg', 'seen']);
    for (const p of [0, 1]) {
      const w = b.windowStore('agg', p, counterCodec, numberCodec);
      w.putHead(utf8('u'), { count: p, sum: p, label: `p${p}` });
      w.putSlice(utf8('u'), 60_000, p + 10);
      b.kvStore('seen', p, numberCodec).put(utf8('k'), p + 100);
      (await b.loadTimers('agg', p)).register(5000, utf8(`t${p}`));
    }
    await b.checkpoint({ version: 1, at: 1 });
    b.kvStore('seen', 0, numberCodec).put(utf8('dirty'), 1);

    await b.wipePartition(0);
    const check = async (x: StateBackend): Promise<void> => {
      expect(x.windowStore('agg', 0, counterCodec, numberCodec).getHead(utf8('u'))).toBeUndefined();
      expect(x.windowStore('agg', 0, counterCodec, numberCodec).getSlice(utf8('u'), 60_000)).toBeUndefined();
      expect(x.kvStore('seen', 0, numberCodec).get(utf8('k'))).toBeUndefined();
      expect(x.kvStore('seen', 0, numberCodec).get(utf8('dirty'))).toBeUndefined();
      expect(await timersOf(x, 'agg', 0)).toEqual([]);
      expect(x.windowStore('agg', 1, counterCodec, numberCodec).getHead(utf8('u'))).toEqual({ count: 1, sum: 1, label: 'p1' });
      expect(x.windowStore('agg', 1, counterCodec, numberCodec).getSlice(utf8('u'), 60_000)).toBe(11);
      expect(x.kvStore('seen', 1, numberCodec).get(utf8('k'))).toBe(101);
      expect(await timersOf(x, 'agg', 1)).toEqual(['5000:t1']);
      expect(x.readCheckpoint()).toEqual({ version: 1, at: 1 });
    };
    await check(b);
    await b.checkpoint({ version: 1, at: 1 });
    await closeOne(b);
    await check(await openAt(dir, ['agg', 'seen']));
  });
});

describe('putMeta / getMeta', () => {
  it('keeps runtime meta across reopen, apart from the checkpoint meta', async () => {
    const dir = await newDir();
    const b = await openAt(dir, ['agg']);
    expect(b.getMeta('confirmed')).toBeUndefined();
    await b.putMeta('confirmed', '{"checkpoint":3}');
    await b.putMeta('checkpoint', '"not the checkpoint"');
    expect(b.getMeta('confirmed')).toBe('{"checkpoint":3}');
    expect(b.readCheckpoint()).toBeUndefined();
    await closeOne(b);
    const again = await openAt(dir, ['agg']);
    expect(again.getMeta('confirmed')).toBe('{"checkpoint":3}');
    expect(again.getMeta('checkpoint')).toBe('"not the checkpoint"');
    expect(again.readCheckpoint()).toBeUndefined();
  });
});

describe('ChangelogWriter.write', () => {
  it('tags every record with its generation and only the first record of each request with the position', async () => {
    const requests: Array<Array<Record<string, string>>> = [];
    const producer: KafkaProducer = {
      send: async (topic, messages: readonly ProduceMessage[], options) => {
        const effective = (h: KafkaHeaders | undefined): Record<string, string> => Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k, v.toString()]));
        requests.push(messages.map((m) => effective(m.headers ?? options.headers)));
        return [{ topic, partition: 3, baseOffset: BigInt(requests.flat().length - messages.length), errorCode: 0 }];
      },
    } as KafkaProducer;
    // 3 × ~400 kB values: more than one ~1 MB request.
    const changes: StateChange[] = [];
    for (let i = 0; i < 3; i++) changes.push({ stepId: 'big', partition: 3, key: utf8(`k${i}`), value: new Uint8Array(400_000) });
    for (let i = 0; i < 5; i++) changes.push({ stepId: 'small', partition: 3, key: utf8(`s${i}`), value: i === 2 ? null : utf8('v') });
    const ends = await new ChangelogWriter(producer, 'app').write(3, changes, { generation: 7, position: '{"src":"42"}' });
    expect(requests.map((r) => r.length).sort()).toEqual([1, 2, 5]);
    for (const r of requests) {
      expect(r[0]).toEqual({ [GEN_HEADER]: '7', [POS_HEADER]: '{"src":"42"}' });
      for (const h of r.slice(1)) expect(h).toEqual({ [GEN_HEADER]: '7' });
    }
    expect([...ends.keys()].sort()).toEqual(['big', 'small']);
  });
});
