/**
 * `tributary demo` (npm start): the whole fleet path on one machine, with embedded defaults.
 *   1. a dev broker (tributary broker) in this process, on a free port, in a fresh temp dir;
 *   2. topologies/loan-applications-to-kafka.yaml: a bounded generator → topic loan-applications
 *      (6 partitions, keyed by user_id);
 *   3. topologies/loan-risk-features-kafka.yaml: one worker in consumer group loan-risk-features
 *      reads the topic, computes rolling 10m/1h/24h/3d features with changelog-backed state, and
 *      writes JSONL files; it stops once the topic is drained (--exit-when-idle) with a summary.
 * `--local` runs the original single-process version (generator straight into the topology).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { runTopologyFile } from './run.js';
import { logLevelOption, parseCommand, type CommandSpec, type OptionSpec } from './options.js';
import { parseLogLevel } from '../core/logger.js';
import { startBroker } from '../broker/index.js';
import { createKafkaClient } from '../kafka/create-client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_COUNT = '50000';

export const demoSpec = {
  name: 'demo',
  summary: 'Run the loan-risk demo on embedded defaults (a dev broker, a loader, one worker) and print a summary.',
  options: {
    count: { type: 'string', value: 'N', description: 'Loan applications to generate', defaultText: `${DEFAULT_COUNT}; --local: the topology's` },
    local: { type: 'boolean', description: 'Run the single-process version (generator straight into the topology, no broker)' },
    topology: { type: 'string', value: 'FILE', description: 'Run this topology file locally instead (implies --local)' },
    quiet: { type: 'boolean', description: 'No progress lines on stderr' },
    'log-level': logLevelOption,
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(demoSpec, argv);
  if (!args) return 0;
  const { count, quiet, local, topology } = args.values;
  const logLevel = args.values['log-level'] === undefined ? undefined : parseLogLevel(args.values['log-level'], '--log-level');
  if (count) process.env.TRIBUTARY_DEMO_COUNT = count;
  if (local || topology) {
    const file = topology ?? join(root, 'topologies', 'loan-risk-features.yaml');
    process.stderr.write(`tributary demo: ${file}\n`);
    return runTopologyFile({ file, dataDir: join('.tributary', 'demo'), resetState: true, quiet, logLevel });
  }
  process.env.TRIBUTARY_DEMO_COUNT ??= DEFAULT_COUNT;
  const dir = await mkdtemp(join(tmpdir(), 'tributary-demo-'));
  const broker = await startBroker({ port: 0, dataDir: join(dir, 'broker'), groupInitialRebalanceDelayMs: 0 });
  try {
    const brokers = broker.address;
    process.env.KAFKA_BROKERS = brokers;
    process.env.TRIBUTARY_TOPIC = 'loan-applications';
    process.stderr.write(`tributary demo: dev broker on ${brokers} (data in ${dir})\n`);
    const client = await createKafkaClient({ brokers: [brokers], clientId: 'tributary-demo' });
    await client.connect();
    await client.admin.createTopics([{ topic: 'loan-applications', partitions: 6 }]);
    await client.disconnect();

    process.stderr.write(`\n[1/2] ${process.env.TRIBUTARY_DEMO_COUNT} loan applications → topic loan-applications\n`);
    process.env.TRIBUTARY_OUT = join('out', 'loan-applications');
    const loaded = await runTopologyFile({ file: join(root, 'topologies', 'loan-applications-to-kafka.yaml'), dataDir: join(dir, 'load'), resetState: true, quiet, logLevel });
    if (loaded !== 0) return loaded;

    process.stderr.write('\n[2/2] topic loan-applications → rolling features (consumer group loan-risk-features)\n');
    process.env.TRIBUTARY_OUT = join('out', 'loan-risk');
    return await runTopologyFile({
      file: join(root, 'topologies', 'loan-risk-features-kafka.yaml'),
      // A fresh broker and data dir each time: nothing to reset.
      dataDir: join(dir, 'features'),
      quiet,
      logLevel,
      exitWhenIdleMs: 3000,
    });
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}
