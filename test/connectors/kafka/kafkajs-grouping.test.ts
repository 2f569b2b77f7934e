import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition, type GroupArgs } from '../../../src/connectors/kafka/kafkajs-grouping.js';
import { makeRng } from '../../state/random.js';

/** A seeded PRNG in [0, 1) (mulberry32), so a failure names the input that caused it. */
const seeded = (seed: number): (() => number) => makeRng(seed).next;

/** kafkajs 2.2.4's own src/producer/groupMessagesPerPartition.js, as the reference. */
function kafkajsReference<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, M[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
}

describe('kafkajs per-partition grouping (linear replacement)', () => {
  it('equals kafkajs’ own grouping on random sends: same partitions, same messages, same order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = seeded(seed);
      const partitions = 1 + Math.floor(r() * 8);
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId }));
      const messages = Array.from({ length: Math.floor(r() * 1_500) }, (_, i) => ({ i, p: Math.floor(r() * partitions) }));
      const args: GroupArgs<{ i: number; p: number }> = { topic: 't', partitionMetadata, messages, partitioner: ({ message }) => message.p };
      const got = groupMessagesPerPartition(args);
      const want = kafkajsReference(args);
      expect(Object.keys(got), `seed ${seed}`).toEqual(Object.keys(want));
      for (const p of Object.keys(want)) expect(got[Number(p)], `seed ${seed}, partition ${p}`).toEqual(want[Number(p)]);
    }
  });

  it('returns nothing when the topic has no partition metadata, without asking the partitioner', () => {
    let asked = 0;
    const out = groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [1, 2, 3], partitioner: () => ++asked });
    expect(out).toEqual({});
    expect(asked).toBe(0);
  });

  it('is what kafkajs uses once the kafkajs backend is loaded (fresh process)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-grouping-'));
    try {
      const root = resolve(import.meta.dirname, '../../..');
      const script = join(dir, 'check.mts');
      await writeFile(script, `
import { createRequire } from 'node:module';
await import(${JSON.stringify(join(root, 'src/connectors/kafka/kafkajs-client.ts'))});
const { groupMessagesPerPartition } = await import(${JSON.stringify(join(root, 'src/connectors/kafka/kafkajs-grouping.ts'))});
const require = createRequire(${JSON.stringify(join(root, 'package.json'))});
// What kafkajs' producer (src/producer/sendMessages.js) gets when it requires the module.
const used = require(require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js'));
process.stdout.write(used === groupMessagesPerPartition ? 'linear' : 'kafkajs');
`);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: root });
      expect(stdout).toBe('linear');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
