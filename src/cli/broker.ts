/**
 * `tributary broker`: run the dev broker until SIGTERM/SIGINT.
 * stdout gets exactly one line, `broker listening on HOST:PORT`, once it accepts
 * connections (scripts and tests wait for it; with --port 0 it carries the real port);
 * stderr gets logs and a periodic status line.
 */
import { startBroker, type FsyncPolicy } from '../broker/index.js';
import { TributaryError } from '../core/errors.js';
import { createLogger, parseLogLevel } from '../core/logger.js';
import { logLevelOption, parseCommand, type CommandSpec, type OptionSpec } from './options.js';

const STATUS_EVERY_MS = 10_000;

export const brokerSpec = {
  name: 'broker',
  summary: 'Start the single-node dev Kafka broker (disk-backed, Kafka wire protocol) until SIGTERM/SIGINT.\nstdout gets one line, `broker listening on HOST:PORT`, once it accepts connections.',
  options: {
    port: { type: 'string', value: 'PORT', default: '9092', description: 'Port to listen on (0: any free port, printed on stdout)' },
    'data-dir': { type: 'string', value: 'DIR', default: './data/broker', description: 'Where topic logs and group offsets are kept' },
    host: { type: 'string', value: 'HOST', default: '127.0.0.1', description: 'Address to listen on (and advertise)' },
    partitions: { type: 'string', value: 'N', default: '1', description: 'Partitions of auto-created topics' },
    fsync: { type: 'string', value: 'POLICY', default: 'interval', description: 'When appends are fsynced: always, interval or never' },
    'group-min-session-timeout': { type: 'string', value: 'MS', default: '6000', description: 'Shortest session timeout a consumer may ask for (Kafka: group.min.session.timeout.ms)' },
    'group-max-session-timeout': { type: 'string', value: 'MS', default: '1800000', description: 'Longest session timeout a consumer may ask for (Kafka: group.max.session.timeout.ms)' },
    'no-auto-create': { type: 'boolean', description: 'Refuse produce/metadata for topics that do not exist' },
    verbose: { type: 'boolean', short: 'v', description: 'Log every request (debug level)' },
    'log-level': logLevelOption,
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(brokerSpec, argv);
  if (!args) return 0;
  const { values } = args;
  const port = Number(values.port);
  const partitions = Number(values.partitions);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TributaryError('TRIB_USAGE', `--port must be 0-65535, got ${values.port}`);
  if (!Number.isInteger(partitions) || partitions < 1) throw new TributaryError('TRIB_USAGE', `--partitions must be a positive integer, got ${values.partitions}`);
  const minSession = Number(values['group-min-session-timeout']);
  const maxSession = Number(values['group-max-session-timeout']);
  if (!Number.isInteger(minSession) || minSession < 1 || !Number.isInteger(maxSession) || maxSession < minSession) {
    throw new TributaryError('TRIB_USAGE', `--group-min-session-timeout and --group-max-session-timeout must be positive integers (ms), min <= max; got ${values['group-min-session-timeout']} and ${values['group-max-session-timeout']}`);
  }
  if (!['always', 'interval', 'never'].includes(values.fsync)) throw new TributaryError('TRIB_USAGE', `--fsync must be always, interval or never, got ${values.fsync}`);

  const level = values.verbose ? 'debug' : values['log-level'] === undefined ? undefined : parseLogLevel(values['log-level'], '--log-level');
  const logger = createLogger({ level });
  const broker = await startBroker({
    port,
    host: values.host,
    dataDir: values['data-dir'],
    defaultPartitions: partitions,
    autoCreateTopics: !values['no-auto-create'],
    fsync: values.fsync as FsyncPolicy,
    groupMinSessionTimeoutMs: minSession,
    groupMaxSessionTimeoutMs: maxSession,
    logger,
    verbose: values.verbose,
  });
  process.stdout.write(`broker listening on ${broker.address}\n`);

  const status = setInterval(() => {
    const s = broker.stats();
    process.stderr.write(`broker ${broker.address}: ${s.topics} topics, ${s.partitions} partitions, ${s.clients} clients, ${s.groups} groups\n`);
  }, STATUS_EVERY_MS);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(status);
      logger.info('stopping broker', { signal });
      broker.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error('broker close failed', { error: (err as Error).message });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
