/**
 * `tributary cdc <config.yaml>`: publish a MySQL/MariaDB binlog to Kafka, one topic per table,
 * with one active reader per database server (src/runtime/cdc-runner.ts). Runs until
 * SIGTERM/SIGINT; every copy but the leader stands by.
 * The config file uses the topology conventions: ${VAR} / ${VAR:-default}, durations, unknown
 * fields rejected with file:line:col; the MySQL password must come from the environment.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TopologyErrors } from '../core/errors.js';
import { parseYaml } from '../topology/yaml-tree.js';
import { validateSpec, type ValidationContext } from '../core/spec.js';
import { cdcConfigSpec, runCdc, type CdcConfig } from '../runtime/cdc-runner.js';
import { createLogger, parseLogLevel } from '../core/logger.js';
import { kafkaRetryTimeoutOption, logLevelOption, parseCommand, type CommandSpec, type OptionSpec } from './options.js';
import { parseDurationFlag } from './run.js';
import { setDefaultKafkaRetryTimeout } from '../kafka/retry.js';

export async function loadCdcConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<CdcConfig> {
  const text = await readFile(file, 'utf8');
  const parsed = parseYaml(text, file, env);
  if (parsed.errors.length > 0) throw new TopologyErrors(parsed.errors);
  const ctx: ValidationContext = { file, errors: [] };
  const config = validateSpec(cdcConfigSpec, parsed.root, ctx, '');
  if (ctx.errors.length > 0) throw new TopologyErrors(ctx.errors);
  return config as CdcConfig;
}

export const cdcSpec = {
  name: 'cdc',
  summary: 'Publish a MySQL/MariaDB binlog to Kafka, one topic per table, with one active reader per\ndatabase server: run several copies, one holds a Redis lease and reads, the others stand by.\nRuns until SIGTERM/SIGINT.',
  args: '<config.yaml>',
  positionals: { min: 1, max: 1 },
  options: { 'kafka-retry-timeout': kafkaRetryTimeoutOption, 'log-level': logLevelOption },
  notes: 'The config file (mysql, kafka, redis, lease, batchSize) is described in schemas/cdc-v1.md;\nthe MySQL password must come from the environment (password: ${MYSQL_PASSWORD}).',
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(cdcSpec, argv);
  if (!args) return 0;
  const level = args.values['log-level'];
  const retry = args.values['kafka-retry-timeout'];
  if (retry !== undefined) setDefaultKafkaRetryTimeout(parseDurationFlag(retry, 'kafka-retry-timeout'));
  const config = await loadCdcConfig(resolve(args.positionals[0]!));
  const logger = createLogger({ level: level === undefined ? undefined : parseLogLevel(level, '--log-level') }).child({ command: 'cdc' });
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
