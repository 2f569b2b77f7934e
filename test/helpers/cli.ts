import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** tsx's loader by absolute URL, so children may run with any working directory. */
const tsxLoader = import.meta.resolve('tsx');

/**
 * Every src/ module's compiled file in dist/ is at least as new as its source: `npm test` builds
 * first, so children then run the compiled CLI (as `tributary` and the Docker image do), which
 * starts with about a second less CPU than tsx compiling src/ on the fly in every child — the
 * suite spawns a few hundred. A stale or missing dist/ (a test file run by hand after an edit,
 * without `npm run build`) falls back to the source. TRIBUTARY_TEST_FROM_SOURCE=1 forces source.
 */
export function distIsFresh(root: string = repoRoot): boolean {
  const srcRoot = join(root, 'src');
  const distRoot = join(root, 'dist');
  const walk = (dir: string): boolean => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!walk(path)) return false;
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const out = join(distRoot, relative(srcRoot, path)).replace(/\.ts$/, '.js');
        let built: number;
        try {
          built = statSync(out).mtimeMs;
        } catch {
          return false;
        }
        if (built < statSync(path).mtimeMs) return false;
      }
    }
    return true;
  };
  return walk(srcRoot);
}

let cliCommand: string[] | undefined;

/** How children run the CLI: the built one when it is fresh, else the source through tsx. */
export function cliArgs(): string[] {
  if (cliCommand) return cliCommand;
  if (process.env.TRIBUTARY_TEST_FROM_SOURCE !== '1' && distIsFresh()) {
    cliCommand = [join(repoRoot, 'bin', 'tributary.js')];
  } else {
    if (process.env.TRIBUTARY_TEST_FROM_SOURCE !== '1') {
      process.stderr.write('test/helpers/cli: dist/ is older than src/ (run `npm run build`); child processes run the CLI from source (slower)\n');
    }
    cliCommand = ['--import', tsxLoader, join(repoRoot, 'src', 'cli', 'entry.ts')];
  }
  return cliCommand;
}

/** Spawn the tributary CLI (built, or from source: see cliArgs), exactly as `tributary <args>` would run. */
export function spawnCli(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [...cliArgs(), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion and collect its output. */
export function runCli(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
