/**
 * `tributary broker`: run the dev broker until SIGTERM/SIGINT.
 * stdout gets exactly one line, `broker listening on HOST:PORT`, once it accepts
 * connections (scripts and tests wait for it; with --port 0 it carries the real port);
 * stderr gets logs and a periodic status line.
 */
import { parseArgs } from 'node:util';
import { startBroker, type FsyncPolicy } from '../broker/index.js';
import { TributaryError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';

const STATUS_EVERY_MS = 10_000;

const usage = `Usage: tributary broker [--port 9092] [--data-dir ./data/broker] [--host 127.0.0.1]
                        [--partitions N] [--fsync always|interval|never] [--no-auto-create] [--verbose]`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '9092' },
        'data-dir': { type: 'string', default: './data/broker' },
        host: { type: 'string', default: '127.0.0.1' },
        partitions: { type: 'string', default: '1' },
        fsync: { type: 'string', default: 'interval' },
        'no-auto-create': { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new TributaryError('TRIB_USAGE', `${(err as Error).message}\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const port = Number(values.port);
  const partitions = Number(values.partitions);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TributaryError('TRIB_USAGE', `--port must be 0-65535, got ${values.port}`);
  if (!Number.isInteger(partitions) || partitions < 1) throw new TributaryError('TRIB_USAGE', `--partitions must be a positive integer, got ${values.partitions}`);
  if (!['always', 'interval', 'never'].includes(values.fsync)) throw new TributaryError('TRIB_USAGE', `--fsync must be always, interval or never, got ${values.fsync}`);

  const logger = createLogger({ level: values.verbose ? 'debug' : 'info' });
  const broker = await startBroker({
    port,
    host: values.host,
    dataDir: values['data-dir'],
    defaultPartitions: partitions,
    autoCreateTopics: !values['no-auto-create'],
    fsync: values.fsync as FsyncPolicy,
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
