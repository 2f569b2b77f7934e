/**
 * User operators import the package (`import { defineOperator } from 'tributary'`), not
 * `../../src/...`: the Docker image ships dist/ only. This lays out what the image holds
 * (package.json, dist, bin, node_modules, topologies; no src) and runs a code step from there.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const run = promisify(execFile);
let image: string | undefined;
afterAll(async () => {
  if (image) await rm(image, { recursive: true, force: true });
});

async function imageLayout(): Promise<string> {
  if (!existsSync(join(repoRoot, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  const dir = await mkdtemp(join(tmpdir(), 'tributary-image-'));
  await cp(join(repoRoot, 'package.json'), join(dir, 'package.json'));
  await cp(join(repoRoot, 'bin'), join(dir, 'bin'), { recursive: true });
  await cp(join(repoRoot, 'topologies'), join(dir, 'topologies'), { recursive: true });
  await symlink(join(repoRoot, 'dist'), join(dir, 'dist'));
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe("user operators import from 'tributary'", () => {
  it('no topology operator imports from src/', async () => {
    const dir = join(repoRoot, 'topologies', 'operators');
    for (const name of await readdir(dir)) {
      const text = await readFile(join(dir, name), 'utf8');
      expect(text, name).not.toMatch(/from\s+'(\.\.\/)+src\//);
    }
  });

  it('a code step importing the package runs where only dist/ is shipped', async () => {
    image = await imageLayout();
    await writeFile(join(image, 'topologies', 'operators', 'tagged.ts'), `
import { defineOperator, type Row } from 'tributary';
export default defineOperator((options) => ({
  process(record, ctx) {
    const seen = (ctx.state.get() as number | undefined) ?? 0;
    ctx.state.put(seen + 1);
    ctx.emit({ ...(record.value as Row), tag: String(options.tag), nth: seen + 1 });
  },
}));
`);
    await writeFile(join(image, 'in.jsonl'), ['{"user_id":"a","ts":1}', '{"user_id":"a","ts":2}', '{"user_id":"b","ts":3}'].join('\n') + '\n');
    await writeFile(join(image, 'topologies', 'tagged.yaml'), `apiVersion: tributary/v1
kind: Topology
metadata: { name: tagged }
spec:
  sources:
    events: { file: { path: ${join(image, 'in.jsonl')} }, eventTime: { field: ts } }
  pipeline:
    - { id: per_user, from: events, keyBy: user_id }
    - { id: tagged, from: per_user, code: ./operators/tagged.ts, options: { tag: x } }
  sinks:
    out: { from: tagged, file: { path: ${join(image, 'out.jsonl')} } }
`);
    const result = await run(process.execPath, [join(image, 'bin', 'tributary.js'), 'run', join(image, 'topologies', 'tagged.yaml'), '--data-dir', join(image, 'state'), '--quiet'], { cwd: image });
    expect(result.stderr).not.toMatch(/error/i);
    const rows = (await readFile(join(image, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.user_id, r.tag, r.nth])).toEqual([['a', 'x', 1], ['a', 'x', 2], ['b', 'x', 1]]);
    // The shipped CDC operators load from the same layout.
    const load = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(join(image, 'topologies', 'operators', 'loan-features.ts'))}, import.meta.url)).then((m) => console.log(Object.keys(m).sort().join(',')))`;
    const loaded = await run(process.execPath, ['--input-type=module', '-e', load], { cwd: image });
    expect(loaded.stdout.trim()).toBe('fromCents,signedRows,toCents,userFeatures');
  });
});
