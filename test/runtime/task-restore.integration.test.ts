/**
 * Task restore across a coordinator that forgot the group (issue 12: the dev broker killed -9
 * under a fleet restarted its generations at 1, below those the changelogs were written in, and
 * a later restore skipped the new owners' writes as a zombie's: lower rolling-24h values). The
 * epoch a task writes its changelogs in must stay above every generation the partition holds.
 * The same happens on Kafka when a group expires or is deleted while its changelogs stay.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { KafkaClient, KafkaProducer } from '../../src/kafka/client.js';
import { createLogger } from '../../src/core/logger.js';
import { StateBackend } from '../../src/state/backend.js';
import { ChangelogWriter, changelogTopic } from '../../src/state/changelog.js';
import { TaskRestorer, type RestoreTask } from '../../src/runtime/task-restore.js';
import { uniqueName, useBroker } from '../helpers/broker.js';
import { numberCodec, tempDir, utf8 } from '../state/helpers.js';

const P = 1;
const STEP = 'seen';
const log = createLogger({ level: 'warn' });

describe('task restore when the group generations start over', () => {
  const broker = useBroker();
  let client: KafkaClient;
  let producer: KafkaProducer;
  const open: StateBackend[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    client = await createKafkaClient({ brokers: broker().brokers, clientId: 'task-restore-test' });
    await client.connect();
    producer = await client.producer();
  });
  afterAll(async () => {
    await client?.disconnect();
  });
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    for (const c of cleanups.splice(0)) await c();
  });

  async function backend(): Promise<StateBackend> {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const b = await StateBackend.open(dir, { steps: [{ id: STEP, fingerprint: 'v1' }], sync: false });
    open.push(b);
    return b;
  }

  interface Owner {
    state: StateBackend;
    epoch: number;
    ends: Map<string, bigint>;
  }

  /** A worker opening task P in `generation`: restore (wiping local state), fence, overwrite the tail. */
  async function openTask(app: string, generation: number, committed: RestoreTask['committed']): Promise<Owner> {
    const state = await backend();
    const restorer = new TaskRestorer(client, state, new ChangelogWriter(producer, app), app, [STEP]);
    const status = { partition: P, state: 'restoring' as const, restored: 0, toRestore: 0 };
    const r = await restorer.restore({ partition: P, generation, committed, localId: undefined, status, log });
    return { state, ...r };
  }

  /** A checkpoint as KafkaTasks takes one: the changes go to the changelog in the task's epoch. */
  async function checkpoint(app: string, o: Owner, values: Record<string, number>): Promise<NonNullable<RestoreTask['committed']>> {
    const kv = o.state.kvStore(STEP, P, numberCodec);
    for (const [k, v] of Object.entries(values)) kv.put(utf8(k), v);
    const prepared = o.state.prepareCheckpoint({ version: 1, at: Date.now() });
    const written = await new ChangelogWriter(producer, app).write(P, prepared.changes().get(P) ?? [], { generation: o.epoch, position: '{}' });
    await prepared.write();
    for (const [step, end] of written) o.ends.set(step, end);
    return { id: uniqueName('ckpt'), ends: new Map(o.ends), epoch: o.epoch };
  }

  const valueOf = (o: Owner, k: string): number | undefined => o.state.kvStore(STEP, P, numberCodec).get(utf8(k));

  async function newApp(): Promise<string> {
    const app = uniqueName('tr');
    await client.admin.createTopics([{ topic: changelogTopic(app, STEP), partitions: 2, configs: { 'cleanup.policy': 'compact' } }]);
    return app;
  }

  it("a new owner's writes in a generation below the changelog's are restored, not skipped", async () => {
    const app = await newApp();
    // Before the coordinator forgets the group: generation 5 owns the task and commits.
    const a = await openTask(app, 5, undefined);
    expect(a.epoch).toBe(5);
    const c1 = await checkpoint(app, a, { k: 1, untouched: 7 });

    // The coordinator restarted without the group: generation 1 takes the task over.
    const b = await openTask(app, 1, c1);
    expect(valueOf(b, 'k'), 'restored the committed state').toBe(1);
    expect(b.epoch, 'epoch above the committed one').toBeGreaterThan(5);
    const c2 = await checkpoint(app, b, { k: 2 });

    // Generation 2 moves it again: it must see generation 1's write.
    const c = await openTask(app, 2, c2);
    expect(valueOf(c, 'k')).toBe(2);
    expect(valueOf(c, 'untouched')).toBe(7);
    expect(c.epoch).toBeGreaterThan(b.epoch);
  });

  it('an uncommitted owner of a higher generation in the tail: the new owner fences above it, its late writes are skipped', async () => {
    const app = await newApp();
    const a = await openTask(app, 3, undefined);
    const c1 = await checkpoint(app, a, { k: 1 });
    // Generation 9 took the task, wrote, and never committed (killed; then the coordinator forgot the group).
    const zombie = await openTask(app, 9, c1);
    expect(zombie.epoch).toBe(9);
    await checkpoint(app, zombie, { k: 99 });

    // Generation 1 after the restart: its epoch exceeds the zombie's fence in the tail.
    const b = await openTask(app, 1, c1);
    expect(b.epoch).toBeGreaterThan(9);
    expect(valueOf(b, 'k'), 'the tail is not part of the committed state').toBe(1);
    // The zombie flushes once more after the new owner's fence; the owner then commits.
    await checkpoint(app, zombie, { k: 98, z: 1 });
    const c2 = await checkpoint(app, b, { k: 2 });

    const c = await openTask(app, 1, c2);
    expect(valueOf(c, 'k')).toBe(2);
    expect(valueOf(c, 'z'), "the zombie's write after the fence is skipped").toBeUndefined();
  });
});
