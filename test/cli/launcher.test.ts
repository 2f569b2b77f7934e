import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const launcher = join(repoRoot, 'bin', 'tributary.js');
const shebangFlags = (): string[] => {
  const m = /^#!\/usr\/bin\/env -S node((?:\s+--\S+)*)\s*$/.exec(readFileSync(launcher, 'utf8').split('\n', 1)[0]!);
  return m ? m[1]!.trim().split(/\s+/) : [];
};

const dir = mkdtempSync(join(tmpdir(), 'tributary-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/tributary.js', () => {
  it('runs node with a larger young generation when executed as `tributary` (its shebang)', () => {
    // Preloaded before the launcher: prints the flags node was started with, then exits.
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, 'process.stdout.write(JSON.stringify(process.execArgv)); process.exit(0);\n');
    const out = execFileSync(launcher, ['--help'], { env: { ...process.env, NODE_OPTIONS: `--require ${probe}` }, encoding: 'utf8' });
    expect(JSON.parse(out) as string[]).toContain('--max-semi-space-size=32');
  });

  it("deploy/Dockerfile's ENTRYPOINT gives node the same flags (node runs the launcher there, not its shebang)", () => {
    const flags = shebangFlags();
    expect(flags).toContain('--max-semi-space-size=32');
    const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(repoRoot, 'deploy', 'Dockerfile'), 'utf8'));
    expect(entry).not.toBeNull();
    expect(JSON.parse(entry![1]!) as string[]).toEqual(['node', ...flags, '/app/bin/tributary.js']);
  });
});
