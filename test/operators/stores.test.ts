/** A step's operator gets exactly the stores its module declared, typed, in its (step, partition) scope. */
import { afterEach, describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { openStores, stores } from '../../src/operators/stores.js';
import { stateScope } from '../../src/runtime/graph.js';
import { encodeKey } from '../../src/state/codec/key.js';
import { numberCodec, tempDir } from '../state/helpers.js';

let cleanup: (() => Promise<void>) | undefined;
let backend: StateBackend | undefined;
afterEach(async () => {
  await backend?.close();
  await cleanup?.();
  backend = undefined;
  cleanup = undefined;
});

async function open(): Promise<{ backend: StateBackend; dir: string }> {
  const t = await tempDir();
  cleanup = t.cleanup;
  backend = await StateBackend.open(t.dir, { steps: [{ id: 's', fingerprint: 'v1' }, { id: 'other', fingerprint: 'v1' }], sync: false });
  return { backend, dir: t.dir };
}

describe('declared stores', () => {
  it('hands out exactly the declared handles, scoped to the step and partition', async () => {
    const { backend: b } = await open();
    const decls = { counts: stores.kv(numberCodec), timers: stores.timers() };
    const mine = await openStores(decls, stateScope(b, 's', 0));
    expect(Object.keys(mine).sort()).toEqual(['counts', 'timers']);
    const k = encodeKey('u1');
    mine.counts.put(k, 3);
    mine.timers.register(1000, k);
    expect(mine.counts.get(k)).toBe(3);
    // Another partition and another step see their own state.
    const otherPartition = await openStores(decls, stateScope(b, 's', 1));
    const otherStep = await openStores(decls, stateScope(b, 'other', 0));
    expect(otherPartition.counts.get(k)).toBeUndefined();
    expect(otherStep.counts.get(k)).toBeUndefined();
    expect(mine.timers.nextDue(999)).toBeUndefined();
    expect(mine.timers.nextDue(1000)?.time).toBe(1000);
  });

  it('refuses two stores of one type (state is scoped per step and store type)', async () => {
    const { backend: b } = await open();
    await expect(openStores({ a: stores.kv(numberCodec), b: stores.kv(numberCodec) }, stateScope(b, 's', 0)))
      .rejects.toThrow("step 's' declares two kv stores ('a' and 'b')");
  });
});
