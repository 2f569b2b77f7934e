/**
 * connectionTo (kafka/platformatic/wire.ts) with a stale broker list. platformatic answers
 * connectToBrokers from its cached brokers, refreshed only when topic metadata is fetched; in the
 * cluster fault test (rolling restart) a group's coordinator moved to a broker that had been down
 * when the group client last fetched metadata, and the commit failed for good with "broker 1 is
 * not in the cluster metadata": the worker exited 1.
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '@platformatic/kafka';
import { connectionTo } from '../../src/kafka/platformatic/wire.js';
import { toClientError } from '../../src/kafka/platformatic/errors.js';

type Client = Parameters<typeof connectionTo>[0];

/** A client whose cached broker list lacks `missing` until metadata is fetched with forceUpdate (if `rejoins`). */
function staleClient(missing: number, rejoins: boolean): { client: Client; refreshed: () => number } {
  let known = new Set([1, 2, 3].filter((n) => n !== missing));
  let refreshes = 0;
  const fake = {
    async connectToBrokers(nodeIds: number[]): Promise<Map<number, Connection>> {
      return new Map(nodeIds.filter((n) => known.has(n)).map((n) => [n, { nodeId: n } as unknown as Connection]));
    },
    async metadata(options: { topics: string[]; forceUpdate?: boolean }): Promise<unknown> {
      if (options.forceUpdate) {
        refreshes++;
        if (rejoins) known = new Set([1, 2, 3]);
      }
      return {};
    },
  };
  return { client: fake as unknown as Client, refreshed: () => refreshes };
}

describe('connectionTo', () => {
  it('refreshes a stale broker list once and connects to a broker that came back', async () => {
    const { client, refreshed } = staleClient(1, true);
    const conn = await connectionTo(client, 1);
    expect((conn as unknown as { nodeId: number }).nodeId).toBe(1);
    expect(refreshed()).toBe(1);
  });

  it('a known broker needs no refresh', async () => {
    const { client, refreshed } = staleClient(1, true);
    await connectionTo(client, 2);
    expect(refreshed()).toBe(0);
  });

  it('a broker still unknown after the refresh fails retriably (the cluster is changing), naming it', async () => {
    const { client } = staleClient(1, false);
    const err = await connectionTo(client, 1).then(() => undefined, (e: unknown) => e);
    const e = toClientError('kafka commit', err);
    expect(e.message).toContain('broker 1 is not in the cluster metadata');
    expect(e.retriable).toBe(true);
  });
});
