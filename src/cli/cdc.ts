/**
 * `tributary cdc <config.yaml>`: publish a MySQL/MariaDB binlog to Kafka, one topic per table,
 * with one active reader per database server (src/runtime/cdc-runner.ts). Runs until
 * SIGTERM/SIGINT; every copy but the leader stands by.
 * The config file uses the topology conventions: ${VAR} / ${VAR:-default}, durations, unknown
 * fields rejected with file:line:col; the MySQL password must come from the environment.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TopologyErrors, TributaryError } from '../core/errors.js';
import { parseYaml } from '../topology/yaml-tree.js';
import { validateSpec, type ValidationContext } from '../core/spec.js';
import { cdcConfigSpec, runCdc, type CdcConfig } from '../runtime/cdc-runner.js';
import { createLogger } from '../core/logger.js';
import { parseArgs } from './args.js';

export async function loadCdcConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<CdcConfig> {
  const text = await readFile(file, 'utf8');
  const parsed = parseYaml(text, file, env);
  if (parsed.errors.length > 0) throw new TopologyErrors(parsed.errors);
  const ctx: ValidationContext = { file, errors: [] };
  const config = validateSpec(cdcConfigSpec, parsed.root, ctx, '');
  if (ctx.errors.length > 0) throw new TopologyErrors(ctx.errors);
  return config as CdcConfig;
}

export async function run(argv: string[]): Promise<number> {
  const { positional } = parseArgs(argv, [], []);
  if (positional.length !== 1) throw new TributaryError('TRIB_USAGE', 'usage: tributary cdc <config.yaml>');
  const config = await loadCdcConfig(resolve(positional[0]!));
  const logger = createLogger().child({ command: 'cdc' });
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await runCdc(config, { logger, signal: controller.signal });
    return 0;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
