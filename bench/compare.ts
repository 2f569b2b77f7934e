/**
 * Side-by-side comparison against an older revision, in one run:
 *   BENCH_BASELINE=4c5f346 npm run bench -- engine kafka-e2e
 * (bench/run.ts hands over to this file when BENCH_BASELINE is set). The baseline's tree is
 * extracted with `git archive` into /tmp/tributary-baseline-<rev> (its dependencies installed
 * with `npm ci --ignore-scripts` once; later runs reuse it), then each suite runs in a fresh
 * process alternately, baseline first, BENCH_ROUNDS times (default 2), and every figure both
 * printed is reported as the median of its rounds with the ratio ours / baseline. Figures whose
 * unit is a ratio (×) are compared the same way. Beside it, `paired` is the median of each
 * round's own ratio (ours / the baseline run just before it) with their range: on a machine whose
 * speed drifts between runs (this one: the same build ±25–40%), the two medians can come from
 * different stretches, while a round's two runs are next to each other in time. Both runs see the same environment, except
 * that the baseline's kafka-e2e is limited to the platformatic backend (the only one left).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './types.js';

interface Figure { suite: string; name: string; value: number; unit: string }

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where git resolves the revision (BENCH_GIT_DIR: a checkout, when this tree is an exported copy). */
const gitDir = process.env.BENCH_GIT_DIR ?? root;
const say = (msg: string): void => { process.stderr.write(`[bench:compare] ${msg}\n`); };

export async function compare(rev: string, suites: readonly string[]): Promise<void> {
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
  const full = git(['rev-parse', '--verify', `${rev}^{commit}`]).trim();
  const baseDir = await baselineTree(full);
  const ours: Figure[][] = [];
  const theirs: Figure[][] = [];
  for (let round = 1; round <= rounds; round++) {
    say(`round ${round}/${rounds}: baseline ${full.slice(0, 10)} (${baseDir})`);
    theirs.push((await runSuites(baseDir, suites, { KAFKA_E2E_BACKENDS: 'platformatic' })).map(asThisTree));
    say(`round ${round}/${rounds}: this tree (${root})`);
    ours.push(await runSuites(root, suites, {}));
  }
  const base = medians(theirs);
  const now = medians(ours);
  process.stdout.write(`\nbaseline ${full.slice(0, 10)} vs this tree, median of ${rounds} alternating round(s)\n`);
  process.stdout.write(`${'suite'.padEnd(12)} ${'figure'.padEnd(52)} ${'baseline'.padStart(12)} ${'ours'.padStart(12)} ${'ours/base'.padStart(9)} ${'paired (range)'.padStart(20)}  unit\n`);
  for (const [id, f] of now) {
    const b = base.get(id);
    const ratio = b === undefined ? '' : (f.value / b.value).toFixed(2);
    process.stdout.write(`${f.suite.padEnd(12)} ${f.name.padEnd(52)} ${(b === undefined ? '-' : fmt(b.value)).padStart(12)} ${fmt(f.value).padStart(12)} ${ratio.padStart(9)} ${paired(id, theirs, ours).padStart(20)}  ${f.unit}\n`);
  }
  for (const [id, b] of base) if (!now.has(id)) process.stdout.write(`${b.suite.padEnd(12)} ${b.name.padEnd(52)} ${fmt(b.value).padStart(12)} ${'-'.padStart(12)} ${''.padStart(9)}  ${b.unit} (baseline only)\n`);
}

/** The baseline revision's tree with its dependencies, made once per revision. */
async function baselineTree(rev: string): Promise<string> {
  const dir = join(tmpdir(), `tributary-baseline-${rev.slice(0, 7)}`);
  if (existsSync(join(dir, 'node_modules', '.package-lock.json'))) return dir;
  await mkdir(dir, { recursive: true });
  say(`extracting ${rev.slice(0, 10)} into ${dir}`);
  const archive = spawnSync('sh', ['-c', `git -C "${gitDir}" archive ${rev} | tar -x -C "${dir}"`], { stdio: 'inherit' });
  if (archive.status !== 0) throw new Error(`git archive ${rev} failed`);
  say('npm ci --ignore-scripts in the baseline tree (once)');
  const ci = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  if (ci.status !== 0) throw new Error(`npm ci in ${dir} failed`);
  return dir;
}

/** Runs `node --import tsx bench/run.ts <suites>` in `dir`, progress to stderr, and parses its figure table. */
function runSuites(dir: string, suites: readonly string[], env: Record<string, string>): Promise<Figure[]> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.BENCH_BASELINE;
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...suites], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) say(`bench/run.ts in ${dir} exited ${code}; using the figures it printed`);
      resolve(parseTable(out));
    });
  });
}

/**
 * bench/run.ts's table: suite (12), figure (padded to 52, longer names are not cut), value
 * (padded to 14, with thousands separators), unit. Name and value are split at the run of
 * spaces before the value, so a figure name longer than its column still parses.
 */
function parseTable(text: string): Figure[] {
  const figures: Figure[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('suite ')) { inTable = true; continue; }
    if (!inTable || line.trim() === '') continue;
    const m = /^(.{12}) (.+?)\s{2,}(-?[\d,.]+|NaN|-) (\S+)/.exec(line);
    if (!m) continue;
    figures.push({ suite: m[1]!.trim(), name: m[2]!.trim(), value: Number(m[3]!.replace(/,/g, '')), unit: m[4]! });
  }
  return figures;
}

/**
 * Figures the baseline names differently, under this tree's names: before bench/kafka-brokers.ts
 * kafka-e2e named its rows by client backend ('platformatic ...', the dev broker only).
 */
const BASELINE_NAMES: ReadonlyArray<[RegExp, string]> = [
  [/^platformatic raw group consume$/, 'dev: raw group consume'],
  [/^platformatic pass-through \(parse, serialize, produce/, 'dev: pass-through (parse, serialize, produce acks=all)'],
  [/^platformatic e2e rolling-3d → kafka, 1 worker$/, 'dev: e2e rolling-3d → kafka, 1 worker'],
  [/^platformatic ratio e2e \/ raw consume$/, 'dev: e2e ÷ raw consume'],
];

function asThisTree(f: Figure): Figure {
  for (const [pattern, name] of BASELINE_NAMES) if (pattern.test(f.name)) return { ...f, name };
  return f;
}

const idOf = (f: Figure): string => `${f.suite}\u0000${f.name}`;

/** The median of the rounds' own ratios (ours / baseline of the same round) and their range; '' when no round has both. */
function paired(id: string, theirs: Figure[][], ours: Figure[][]): string {
  const ratios: number[] = [];
  theirs.forEach((run, i) => {
    const b = run.find((f) => idOf(f) === id)?.value;
    const o = ours[i]?.find((f) => idOf(f) === id)?.value;
    if (b !== undefined && o !== undefined && b !== 0) ratios.push(o / b);
  });
  if (ratios.length === 0) return '';
  ratios.sort((a, b) => a - b);
  return `${median(ratios).toFixed(2)} (${ratios[0]!.toFixed(2)}–${ratios[ratios.length - 1]!.toFixed(2)})`;
}

function medians(runs: Figure[][]): Map<string, Figure> {
  const all = new Map<string, Figure[]>();
  for (const run of runs) for (const f of run) {
    const id = idOf(f);
    const list = all.get(id) ?? [];
    list.push(f);
    all.set(id, list);
  }
  const out = new Map<string, Figure>();
  for (const [id, list] of all) {
    out.set(id, { ...list[0]!, value: median(list.map((f) => f.value)) });
  }
  return out;
}

function git(args: string[]): string {
  const r = spawnSync('git', ['-C', gitDir, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}
