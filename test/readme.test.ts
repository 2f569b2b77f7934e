/**
 * Every ```ts, ```sh and ```yaml snippet of README.md runs, unless it is marked
 * `<!-- readme-test: skip (why) -->` on the line before its fence: a README example that breaks
 * fails here. ts runs with tsx from the repository root ('tributary' resolves to the package
 * itself, i.e. dist/); sh runs in bash with `tributary` and `npx tributary` meaning bin/tributary.js,
 * in a scratch folder holding topologies/ and a copy of schemas/; yaml must compile.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectorCatalog } from '../src/connectors/registry.js';
import { stepRegistry } from '../src/operators/registry.js';
import { compileTopology } from '../src/topology/index.js';
import { repoRoot } from './helpers/cli.js';

interface Snippet {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Why it does not run, from its marker. */
  skip?: string;
}

const runnable = new Set(['ts', 'sh', 'yaml']);
const skipMarker = /^<!--\s*readme-test:\s*skip\s*\((.*)\)\s*-->$/;

function snippetsOf(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 1}: unterminated code fence`);
    const marker = skipMarker.exec((lines[i - 1] ?? '').trim());
    out.push({ lang: open[1]!, code: lines.slice(i + 1, end).join('\n'), line: i + 1, ...(marker ? { skip: marker[1]!.trim() } : {}) });
    i = end;
  }
  return out;
}

const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
const snippets = snippetsOf(readme);
const toRun = snippets.filter((sn) => sn.skip === undefined);

function exec(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function needDist(): void {
  if (!existsSync(join(repoRoot, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) — README snippets use the package as shipped');
}

async function runTs(sn: Snippet): Promise<void> {
  needDist();
  // Inside the package (for its self-reference), in a git-ignored folder.
  const dir = join(repoRoot, '.tributary', 'readme-snippets');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `readme-line-${sn.line}-${process.pid}.ts`);
  await writeFile(file, sn.code);
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot });
    expect(r.stderr, `README.md:${sn.line} stderr`).toBe('');
    expect(r.code, `README.md:${sn.line} exit code\n${r.stdout}`).toBe(0);
  } finally {
    await rm(file, { force: true });
  }
}

async function runSh(sn: Snippet): Promise<void> {
  needDist();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-readme-'));
  try {
    const bin = join(dir, '.bin');
    await mkdir(bin);
    const cli = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(repoRoot, 'bin', 'tributary.js'))}`;
    await writeFile(join(bin, 'tributary'), `#!/usr/bin/env bash\n${cli} "$@"\n`);
    await writeFile(join(bin, 'npx'), `#!/usr/bin/env bash\nif [ "$1" = tributary ]; then shift; ${cli} "$@"; fi\necho "README snippet runner: npx runs only tributary here: $*" >&2; exit 127\n`);
    await chmod(join(bin, 'tributary'), 0o755);
    await chmod(join(bin, 'npx'), 0o755);
    await symlink(join(repoRoot, 'topologies'), join(dir, 'topologies'));
    await cp(join(repoRoot, 'schemas'), join(dir, 'schemas'), { recursive: true });
    const r = await exec('bash', ['-euo', 'pipefail', '-c', sn.code], { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
    expect(r.code, `README.md:${sn.line} exit code\n${r.stdout}\n${r.stderr}`).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('README.md snippets', () => {
  it('every snippet is ts, sh or yaml and runs, or says why it does not', () => {
    expect(snippets.length).toBeGreaterThan(0);
    for (const sn of snippets) {
      expect(runnable.has(sn.lang) || sn.skip !== undefined, `README.md:${sn.line}: \`\`\`${sn.lang} has no runner; mark it <!-- readme-test: skip (why) -->`).toBe(true);
      if (sn.skip !== undefined) expect(sn.skip.length, `README.md:${sn.line}: a skip marker says why`).toBeGreaterThan(0);
    }
  });

  it.each(toRun.map((sn) => [`README.md:${sn.line} (${sn.lang})`, sn] as const))('%s runs', async (_title, sn) => {
    if (sn.lang === 'yaml') compileTopology(sn.code, join(repoRoot, 'README.md'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    else if (sn.lang === 'ts') await runTs(sn);
    else await runSh(sn);
  }, 180_000);
});
