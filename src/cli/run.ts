/**
 * `tributary run <topology.yaml> [options]` (options: runSpec below, or `tributary run --help`).
 * Runs until the bounded inputs end (then checkpoints and prints a summary), until no input
 * arrived for --exit-when-idle, or SIGTERM/SIGINT (checkpoint, leave the group, exit 0).
 * Resumes from the last checkpoint (local data dir; Kafka inputs: the group's commits).
 * --from-* only apply to partitions the group (the app id) never committed: a replay uses a new
 * --app-id (isolated state and group) and runs again from the same place every time.
 * --reset-state in Kafka mode starts the app id over (runtime/app-reset.ts): refused while the
 * group has members; deletes the group and the app's changelog/repartition topics.
 * --cache-size (e.g. 512MB, 2GB) overrides the topology's spec.state.cacheSize.
 */
import { stepRegistry } from '../operators/registry.js';
import { join, resolve } from 'node:path';
import { loadTopology } from '../topology/index.js';
import { connectorCatalog } from '../connectors/registry.js';
import { Engine, type StartOverride } from '../runtime/engine.js';
import { startHealthServer } from '../runtime/health.js';
import { runEngine } from '../runtime/runner.js';
import { formatSummary, progressLine } from '../runtime/summary.js';
import { createLogger, parseLogLevel, type LogLevel } from '../core/logger.js';
import { TributaryError } from '../core/errors.js';
import { parseSize } from '../core/size.js';
import { kafkaRetryTimeoutOption, logLevelOption, parseCommand, type CommandSpec, type OptionSpec } from './options.js';
import { setDefaultKafkaRetryTimeout } from '../kafka/retry.js';

export interface RunCommandOptions {
  file: string;
  dataDir?: string;
  resetState?: boolean;
  quiet?: boolean;
  appId?: string;
  startOverride?: StartOverride;
  exitWhenIdleMs?: number;
  healthPort?: number;
  /** How long SIGTERM may take before the process exits anyway (default 30 s). */
  shutdownTimeoutMs?: number;
  logLevel?: LogLevel;
  /** Bytes of memory for state; overrides spec.state.cacheSize. */
  cacheSize?: number;
}

export async function runTopologyFile(opts: RunCommandOptions): Promise<number> {
  const plan = await loadTopology(resolve(opts.file), { catalog: connectorCatalog, steps: stepRegistry, env: process.env });
  const logger = createLogger({ level: opts.logLevel }).child({ topology: plan.name });
  const dataDir = resolve(opts.dataDir ?? join('.tributary', opts.appId ?? plan.name));
  // Probes answer from the start: /readyz says 503 while the worker waits for its broker or
  // source topics and joins its group (Engine.open), not "connection refused".
  let opened: Engine | undefined;
  const health = opts.healthPort === undefined ? undefined : await startHealthServer(() => opened, opts.healthPort);
  if (health) logger.info('health endpoints: /healthz /readyz /metrics', { port: health.port });
  let engine: Engine;
  try {
    engine = opened = await Engine.open(plan, { dataDir, resetState: opts.resetState ?? false, logger, appId: opts.appId, startOverride: opts.startOverride, cacheSize: opts.cacheSize });
  } catch (err) {
    await health?.close();
    throw err;
  }
  const controller = new AbortController();
  const stop = (sig: string) => {
    if (controller.signal.aborted) return;
    logger.info(`${sig} received: finishing in-flight records, checkpointing, exiting`);
    controller.abort();
    const limit = opts.shutdownTimeoutMs ?? 30_000;
    setTimeout(() => {
      logger.error(`shutdown took longer than ${limit} ms: exiting without a final checkpoint (the next start resumes from the previous one)`);
      process.exit(1);
    }, limit).unref();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const tty = process.stderr.isTTY && !opts.quiet;
  try {
    const result = await runEngine(engine, {
      signal: controller.signal,
      exitWhenIdleMs: opts.exitWhenIdleMs,
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
    await health?.close();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

export const runSpec = {
  name: 'run',
  summary: 'Run a topology until its bounded inputs end, it is idle (--exit-when-idle) or SIGTERM; resumes from the last checkpoint.',
  args: '<topology.yaml>',
  positionals: { min: 1, max: 1 },
  options: {
    'data-dir': { type: 'string', value: 'DIR', description: 'Where the local state (LevelDB) lives', defaultText: '.tributary/<app id>' },
    'reset-state': { type: 'boolean', description: 'Start the state over (Kafka mode: the whole app id; refused while the group has members)' },
    quiet: { type: 'boolean', description: 'No progress lines on stderr' },
    'app-id': { type: 'string', value: 'ID', description: 'Application id: consumer group, changelog/repartition topic prefix, state dir', defaultText: 'metadata.name' },
    'from-timestamp': { type: 'string', value: 'TIME', description: 'Kafka: start partitions the group never committed at this ISO-8601 time or epoch ms' },
    'from-offsets': { type: 'string', value: 'SPEC', description: 'Kafka: start uncommitted partitions at earliest, latest or topic:partition:offset,...' },
    'exit-when-idle': { type: 'string', value: 'DURATION', description: 'Checkpoint and exit once no input arrived for this long (e.g. 30s)' },
    'health-port': { type: 'string', value: 'PORT', description: 'Serve /healthz, /readyz and /metrics on this port (0: any free port)' },
    'shutdown-timeout': { type: 'string', value: 'DURATION', description: 'After SIGTERM, exit anyway (without a final checkpoint) after this long', defaultText: '30s' },
    'cache-size': { type: 'string', value: 'SIZE', description: 'Memory for state (e.g. 512MB, 2GB); overrides spec.state.cacheSize', defaultText: 'spec.state.cacheSize' },
    'kafka-retry-timeout': kafkaRetryTimeoutOption,
    'log-level': logLevelOption,
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(runSpec, argv);
  if (!args) return 0;
  const v = args.values;
  if (v['from-timestamp'] !== undefined && v['from-offsets'] !== undefined) throw new TributaryError('TRIB_USAGE', 'give --from-timestamp or --from-offsets, not both');
  if (v['kafka-retry-timeout'] !== undefined) setDefaultKafkaRetryTimeout(parseDurationFlag(v['kafka-retry-timeout'], 'kafka-retry-timeout'));
  return runTopologyFile({
    file: args.positionals[0]!,
    dataDir: v['data-dir'],
    resetState: v['reset-state'],
    quiet: v.quiet,
    appId: v['app-id'],
    startOverride: v['from-timestamp'] !== undefined ? parseFromTimestamp(v['from-timestamp']) : v['from-offsets'] !== undefined ? parseFromOffsets(v['from-offsets']) : undefined,
    exitWhenIdleMs: v['exit-when-idle'] === undefined ? undefined : parseDurationFlag(v['exit-when-idle'], 'exit-when-idle'),
    healthPort: v['health-port'] === undefined ? undefined : parsePort(v['health-port']),
    shutdownTimeoutMs: v['shutdown-timeout'] === undefined ? undefined : parseDurationFlag(v['shutdown-timeout'], 'shutdown-timeout'),
    logLevel: v['log-level'] === undefined ? undefined : parseLogLevel(v['log-level'], '--log-level'),
    cacheSize: v['cache-size'] === undefined ? undefined : parseCacheSize(v['cache-size']),
  });
}

export function parseFromTimestamp(text: string): StartOverride {
  const at = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(at)) throw new TributaryError('TRIB_USAGE', `--from-timestamp '${text}' is neither an ISO-8601 time nor epoch milliseconds`);
  return { kind: 'timestamp', at };
}

export function parseFromOffsets(text: string): StartOverride {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  const offsets = text.split(',').map((part) => {
    const m = /^(.+):(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new TributaryError('TRIB_USAGE', `--from-offsets: '${part}' is not topic:partition:offset (or use earliest|latest)`);
    return { topic: m[1]!, partition: Number(m[2]), offset: BigInt(m[3]!) };
  });
  return { kind: 'offsets', offsets };
}

export function parseDurationFlag(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new TributaryError('TRIB_USAGE', `--${name} '${text}' is not a duration like 500ms, 10s, 5m`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function parseCacheSize(text: string): number {
  const bytes = parseSize(text);
  if (bytes === undefined || bytes < 16 * 2 ** 20) throw new TributaryError('TRIB_USAGE', `--cache-size '${text}' is not a size of at least 16MB like 256MB, 2GB`);
  return bytes;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new TributaryError('TRIB_USAGE', `--health-port '${text}' is not a port number`);
  return n;
}
