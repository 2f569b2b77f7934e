/** Runs kcat (librdkafka's CLI, Debian package `kcat`) for the interop tests. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const kcatMissingMessage =
  'kcat is not on PATH. The broker interop tests need it: install the Debian package `kcat` ' +
  '(run scripts/install-kcat.sh, which CI runs too).';

/** Throws (failing the test, never skipping it) when kcat is not installed. */
export function requireKcat(): string {
  const probe = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(kcatMissingMessage);
  return probe.stdout.split('\n')[0] ?? 'kcat';
}

export interface KcatResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs kcat to completion; kills it and fails after timeoutMs with its output so far. Fails when kcat is missing. */
export function runKcat(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<KcatResult> {
  requireKcat();
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timeoutMs = options.timeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running kcat (group consumer): read lines as they come, stop it with SIGTERM. */
export interface KcatProcess {
  readonly child: ChildProcess;
  lines(): string[];
  stderr(): string;
  stop(): Promise<KcatResult>;
}

export function startKcat(args: string[]): KcatProcess {
  requireKcat();
  const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<KcatResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    lines: () => stdout.split('\n').filter((l) => l.length > 0),
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const result = await closed;
      clearTimeout(timer);
      return result;
    },
  };
}
