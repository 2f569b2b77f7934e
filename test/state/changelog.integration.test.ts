import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { AssignedConsumer, KafkaClient, KafkaProducer } from '../../src/kafka/client.js';
import { StateBackend } from '../../src/state/backend.js';
import { ChangelogWriter, changelogTopic, restoreChangelog, type RestoreProgress } from '../../src/state/changelog.js';
import { uniqueName, useBroker } from '../helpers/broker.js';
import { counterCodec, numberCodec, tempDir, utf8 } from './helpers.js';

const P = 1;

describe('state changelog against the dev broker', () => {
  const broker = useBroker();
  let client: KafkaClient;
  let producer: KafkaProducer;
  let consumer: AssignedConsumer;
  const open: StateBackend[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    client = await createKafkaClient({ brokers: broker().brokers, clientId: 'changelog-test' });
    await client.connect();
    producer = await client.producer();
    consumer = await client.assignedConsumer();
  });
  afterAll(async () => {
    await client?.disconnect();
  });
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    for (const c of cleanups.splice(0)) await c();
  });

  async function backend(steps: string[]): Promise<StateBackend> {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const b = await StateBackend.open(dir, { steps: steps.map((id) => ({ id, fingerprint: 'v1' })), sync: false });
    open.push(b);
    return b;
  }

  async function app(steps: string[]): Promise<string> {
    const name = uniqueName('cl');
    await client.admin.createTopics(steps.map((s) => ({ topic: changelogTopic(name, s), partitions: 2, configs: { 'cleanup.policy': 'compact' } })));
    return name;
  }

  /** Checkpoint as the runtime does: prepare, produce the partition's changes, write the batch. */
  async function checkpoint(b: StateBackend, writer: ChangelogWriter, generation: number, position: string): Promise<Map<string, bigint>> {
    const p = b.prepareCheckpoint({ version: 1, at: Date.now() });
    const ends = await writer.write(P, p.changes().get(P) ?? [], { generation, position });
    await p.write();
    return ends;
  }

  it('restores into a fresh backend exactly the state written, tombstones deleting', async () => {
    const name = await app(['agg', 'seen']);
    const writer = new ChangelogWriter(producer, name);
    const a = await backend(['agg', 'seen']);
    const w = a.windowStore('agg', P, counterCodec, numberCodec);
    const kv = a.kvStore('seen', P, numberCodec);
    const timers = await a.loadTimers('agg', P);
    for (let i = 0; i < 50; i++) {
      w.putHead(utf8(`u${i}`), { count: i, sum: i * 2, label: `l${i}` });
      w.putSlice(utf8(`u${i}`), 60_000, i);
      kv.put(utf8(`d${i}`), i);
      timers.register(120_000 + i, utf8(`u${i}`));
    }
    const first = await checkpoint(a, writer, 1, '{"in/1":10}');
    expect([...first.keys()].sort()).toEqual(['agg', 'seen']);
    // 50 heads + 50 slices + one page holding the 50 timers (they fall in one minute); 50 kv entries.
    expect(first.get('agg')).toBe(101n);
    expect(first.get('seen')).toBe(50n);

    for (let i = 0; i < 50; i += 2) {
      w.deleteSlice(utf8(`u${i}`), 60_000);
      kv.delete(utf8(`d${i}`));
      timers.delete(120_000 + i, utf8(`u${i}`));
      w.putHead(utf8(`u${i}`), { count: 1000 + i, sum: 0, label: 'even' });
    }
    const second = await checkpoint(a, writer, 1, '{"in/1":20}');
    // + 25 slice tombstones, 25 heads and the timer page rewritten.
    expect(second.get('agg')).toBe(152n);
    expect(second.get('seen')).toBe(75n);

    // A different step numbering on the restoring worker.
    const b = await backend(['other', 'seen', 'agg']);
    await b.wipePartition(P);
    const progress: RestoreProgress[] = [];
    for (const stepId of ['agg', 'seen']) {
      const r = await restoreChangelog(consumer, b, { app: name, stepId, partition: P, from: 0n, until: second.get(stepId)!, onProgress: (p) => progress.push(p) });
      expect(r).toEqual({ applied: Number(second.get(stepId)!), skipped: 0 });
    }
    // Complete for both (reported once more at the end when a periodic report already said so).
    expect([...new Set(progress.filter((p) => p.restored === p.total).map((p) => p.stepId))]).toEqual(['agg', 'seen']);

    const wb = b.windowStore('agg', P, counterCodec, numberCodec);
    const kvb = b.kvStore('seen', P, numberCodec);
    for (let i = 0; i < 50; i++) {
      const even = i % 2 === 0;
      expect(wb.getHead(utf8(`u${i}`))).toEqual(even ? { count: 1000 + i, sum: 0, label: 'even' } : { count: i, sum: i * 2, label: `l${i}` });
      expect(wb.getSlice(utf8(`u${i}`), 60_000)).toBe(even ? undefined : i);
      expect(kvb.get(utf8(`d${i}`))).toBe(even ? undefined : i);
    }
    const tb = await b.loadTimers('agg', P);
    const fired: number[] = [];
    for (let d = tb.nextDue(Number.MAX_SAFE_INTEGER); d; d = tb.nextDue(Number.MAX_SAFE_INTEGER)) fired.push(d.time - 120_000);
    expect(fired).toEqual(Array.from({ length: 25 }, (_, k) => 2 * k + 1));
  });

  it('skips a zombie write of a lower generation made after a fence, and ignores records at or past until', async () => {
    const name = await app(['seen']);
    const writer = new ChangelogWriter(producer, name);
    const owner1 = await backend(['seen']);
    const zombie = owner1.kvStore('seen', P, numberCodec);
    zombie.put(utf8('x'), 1);
    await checkpoint(owner1, writer, 1, '{}');

    // Generation 2 takes over: fences the partition, then writes.
    const fenceEnd = await writer.fence('seen', P, 2);
    expect(fenceEnd).toBe(2n);
    const owner2 = await backend(['seen']);
    owner2.kvStore('seen', P, numberCodec).put(utf8('y'), 2);
    await checkpoint(owner2, writer, 2, '{}');
    // The old owner does not know yet and writes over x.
    zombie.put(utf8('x'), 99);
    const zombieEnd = (await checkpoint(owner1, writer, 1, '{}')).get('seen')!;
    expect(zombieEnd).toBe(4n);
    // A later write by the current owner, past the range restored below.
    owner2.kvStore('seen', P, numberCodec).put(utf8('y'), 3);
    const lastEnd = (await checkpoint(owner2, writer, 2, '{}')).get('seen')!;

    const b = await backend(['seen']);
    await b.wipePartition(P);
    expect(await restoreChangelog(consumer, b, { app: name, stepId: 'seen', partition: P, from: 0n, until: zombieEnd })).toEqual({ applied: 2, skipped: 1 });
    const kv = b.kvStore('seen', P, numberCodec);
    expect(kv.get(utf8('x'))).toBe(1);
    expect(kv.get(utf8('y'))).toBe(2);

    // An incremental restore starting after the fence knows the owner's generation.
    await b.wipePartition(P);
    const fromZombie = { app: name, stepId: 'seen', partition: P, from: 3n, until: zombieEnd };
    expect(await restoreChangelog(consumer, b, { ...fromZombie, minGeneration: 2 })).toEqual({ applied: 0, skipped: 1 });
    expect(kv.get(utf8('x'))).toBeUndefined();
    expect(await restoreChangelog(consumer, b, fromZombie)).toEqual({ applied: 1, skipped: 0 });
    expect(kv.get(utf8('x'))).toBe(99);

    // The whole log: the later write applies.
    await b.wipePartition(P);
    expect(await restoreChangelog(consumer, b, { app: name, stepId: 'seen', partition: P, from: 0n, until: lastEnd })).toEqual({ applied: 3, skipped: 1 });
    expect(kv.get(utf8('y'))).toBe(3);
    expect(kv.get(utf8('x'))).toBe(1);
  });

  it('sends a large change set in requests of at most ~1 MB, in order', async () => {
    const name = await app(['blob']);
    const requests: number[] = [];
    const observed: KafkaProducer = {
      send: (topic, messages, options) => {
        requests.push(messages.reduce((n, m) => n + (m.key?.length ?? 0) + (m.value?.length ?? 0), 0));
        return producer.send(topic, messages, options);
      },
    };
    const a = await backend(['blob']);
    const blobCodec = { encode: (v: Uint8Array) => v, decode: (b: Uint8Array) => new Uint8Array(b) };
    const kv = a.kvStore('blob', P, blobCodec);
    for (let i = 0; i < 40; i++) kv.put(utf8(`k${i}`), new Uint8Array(60_000).fill(i));
    const ends = await checkpoint(a, new ChangelogWriter(observed, name), 1, '{}');
    expect(ends.get('blob')).toBe(40n);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const bytes of requests) expect(bytes).toBeLessThanOrEqual(1_000_000);

    const b = await backend(['blob']);
    b.dropPartition(P);
    expect(await restoreChangelog(consumer, b, { app: name, stepId: 'blob', partition: P, from: 0n, until: 40n, idleTimeoutMs: 5_000 })).toEqual({ applied: 40, skipped: 0 });
    const restored = b.kvStore('blob', P, blobCodec);
    // Byte comparison: a deep toEqual over 40 × 60 000 array elements took most of a minute.
    for (let i = 0; i < 40; i++) expect(Buffer.compare(Buffer.from(restored.get(utf8(`k${i}`))!), Buffer.alloc(60_000, i)), `k${i}`).toBe(0);
  });

  it('restores nothing from an empty range', async () => {
    const name = await app(['seen']);
    const b = await backend(['seen']);
    expect(await restoreChangelog(consumer, b, { app: name, stepId: 'seen', partition: P, from: 0n, until: 0n })).toEqual({ applied: 0, skipped: 0 });
  });
});
