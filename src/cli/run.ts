/**
 * `tributary run <topology.yaml> [--data-dir DIR] [--reset-state] [--quiet]`
 * Runs until the bounded inputs end (then checkpoints and prints a summary) or SIGTERM/SIGINT
 * (checkpoint, exit 0). Resumes from the last checkpoint in the data dir.
 */
import { join, resolve } from 'node:path';
import { loadTopology } from '../topology/index.js';
import { connectorCatalog } from '../connectors/registry.js';
import { Engine } from '../runtime/engine.js';
import { runEngine } from '../runtime/runner.js';
import { formatSummary, progressLine } from '../runtime/summary.js';
import { createLogger } from '../runtime/logger.js';
import { TributaryError } from '../errors.js';
import { parseArgs, stringFlag } from './args.js';

export interface RunCommandOptions {
  file: string;
  dataDir?: string;
  resetState?: boolean;
  quiet?: boolean;
}

export async function runTopologyFile(opts: RunCommandOptions): Promise<number> {
  const plan = await loadTopology(resolve(opts.file), { catalog: connectorCatalog, env: process.env });
  const logger = createLogger().child({ topology: plan.name });
  const dataDir = resolve(opts.dataDir ?? join('.tributary', plan.name));
  const engine = await Engine.open(plan, { dataDir, resetState: opts.resetState ?? false, logger });
  const controller = new AbortController();
  const stop = (sig: string) => {
    if (controller.signal.aborted) return;
    logger.info(`${sig} received: finishing in-flight records, checkpointing, exiting`);
    controller.abort();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const tty = process.stderr.isTTY && !opts.quiet;
  try {
    const result = await runEngine(engine, {
      signal: controller.signal,
      progressIntervalMs: tty ? 1000 : 5000,
      onProgress: opts.quiet ? undefined : (p) => {
        const line = progressLine(p);
        if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        else process.stderr.write(`${line}\n`);
      },
    });
    if (tty) process.stderr.write('\n');
    await engine.close({ checkpoint: true });
    process.stdout.write(formatSummary(engine, result));
    return 0;
  } catch (err) {
    await engine.close({ checkpoint: false }).catch(() => undefined);
    throw err;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['reset-state', 'quiet'], ['data-dir']);
  const file = args.positional[0];
  if (!file || args.positional.length > 1) throw new TributaryError('TRIB_USAGE', 'usage: tributary run <topology.yaml> [--data-dir DIR] [--reset-state] [--quiet]');
  return runTopologyFile({ file, dataDir: stringFlag(args, 'data-dir'), resetState: args.flags.get('reset-state') === true, quiet: args.flags.get('quiet') === true });
}
