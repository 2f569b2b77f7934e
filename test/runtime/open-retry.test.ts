import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTopology } from '../../src/topology/index.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { Engine } from '../../src/runtime/engine.js';
import { runEngine } from '../../src/runtime/runner.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sink } from '../../src/connectors/types.js';
import { TributaryError } from '../../src/core/errors.js';
import { openWithRetry } from '../../src/runtime/open-retry.js';
import type { Logger } from '../../src/core/logger.js';

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string): void => void lines.push(`${level} ${msg}`);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger } as unknown as Logger;
  return { logger, lines };
}

const down = (): TributaryError => new TributaryError('TRIB_SINK', "sink 'features': cannot connect to 127.0.0.1:1: connect ECONNREFUSED", { retriable: true });

describe('openWithRetry: a store down when the worker starts pauses the start', () => {
  it('retries a retriable open until it succeeds, with one warning when the wait starts and one line when it ends', async () => {
    const { logger, lines } = recordingLogger();
    let calls = 0;
    await openWithRetry("sink 'features'", async () => {
      if (++calls < 4) throw down();
    }, { logger, backoffMs: 1, maxBackoffMs: 2 });
    expect(calls).toBe(4);
    expect(lines).toEqual(["warn sink 'features' unavailable at start; retrying", "info sink 'features' reachable again; starting"]);
  });

  it('fails at once on an error retrying cannot mend (wrong credentials, bad config)', async () => {
    const { logger } = recordingLogger();
    let calls = 0;
    const wrong = new TributaryError('TRIB_SINK', 'WRONGPASS invalid username-password pair', { retriable: false });
    await expect(openWithRetry('sink', async () => {
      calls++;
      throw wrong;
    }, { logger, backoffMs: 1 })).rejects.toBe(wrong);
    expect(calls).toBe(1);
  });

  it('gives up past its bound with the last error, which names the target', async () => {
    const { logger } = recordingLogger();
    let calls = 0;
    await expect(openWithRetry('sink', async () => {
      calls++;
      throw down();
    }, { logger, timeoutMs: 50, backoffMs: 5, maxBackoffMs: 10 })).rejects.toThrow(/cannot connect to 127\.0\.0\.1:1/);
    expect(calls).toBeGreaterThan(2);
  });
});

describe('a worker whose sink store is down at start', () => {
  it('waits for it and then runs (it does not exit)', async () => {
    const text = `apiVersion: tributary/v1
kind: Topology
metadata: { name: sink-down-at-start }
spec:
  sources:
    events:
      generator: { preset: loan-applications, rate: 0, keys: 10, seed: 1, count: 50, partitions: 1 }
  pipeline:
    - { id: last, from: events, filter: "true" }
  sinks:
    out: { from: last, stdout: {} }
`;
    const plan = compileTopology(text, 'sink-down.yaml', { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    let opens = 0;
    let added = 0;
    const sink: Sink = {
      name: 'out',
      async open(): Promise<void> {
        if (++opens < 3) throw down();
      },
      get written(): number {
        return added;
      },
      add(): void {
        added++;
      },
      async flush(): Promise<void> {},
      async close(): Promise<void> {},
    };
    const dir = await mkdtemp(join(tmpdir(), 'tributary-open-retry-'));
    try {
      const engine = await Engine.open(plan, { dataDir: dir, logger: silentLogger, sinks: new Map([['out', sink]]), resetState: true });
      await runEngine(engine, {});
      await engine.close({ checkpoint: true });
      expect(opens).toBe(3);
      expect(sink.written).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
