/**
 * Connectors opened before a later one fails to open are closed again: a worker that retries
 * Engine.open (or a test suite that expects the failure) must not leak their file handles.
 * Counted in /proc/self/fd, so the check does not depend on when garbage collection runs.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { silentLogger } from '../../src/core/logger.js';
import { Engine } from '../../src/runtime/engine.js';
import { loadTopology } from '../../src/topology/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-fd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

describe('file handles', () => {
  it('are closed when Engine.open fails after opening a file sink (missing source file)', async () => {
    const file = join(dir, 'topology.yaml');
    await writeFile(
      file,
      `apiVersion: tributary/v1
kind: Topology
metadata: { name: fd-leak }
spec:
  sources:
    events:
      file: { path: ${JSON.stringify(join(dir, 'missing.jsonl'))} }
      eventTime: { field: ts }
  pipeline:
    - { id: all, from: events, filter: "true" }
  sinks:
    out: { from: all, file: { path: ${JSON.stringify(join(dir, 'out.jsonl'))} } }
`,
    );
    const plan = await loadTopology(file, { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    const before = await openFds();
    for (let i = 0; i < 3; i++) {
      await expect(Engine.open(plan, { dataDir: join(dir, 'state'), logger: silentLogger })).rejects.toThrow(/cannot open .*missing\.jsonl/);
    }
    // Three failed opens: the sink's handle and LevelDB's files were released each time.
    expect(await openFds()).toBe(before);
  });
});
