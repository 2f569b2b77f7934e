/**
 * A real Apache Kafka cluster for fault tests, through scripts/kafka-cluster.sh: 1 or 3 combined
 * broker+controller nodes in a temp data dir, stopped with the test process even when it dies
 * (--owner-pid). Nodes are numbered 1..n like the script's (node i = KRaft node.id i = the i-th
 * address of `brokers`).
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '@platformatic/kafka';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cli.js';
import { NODE_JVM_OPTS } from './kafka-test-tuning.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { CreateTopicSpec, PartitionMetadata } from '../../src/kafka/client.js';

const SCRIPT = join(repoRoot, 'scripts', 'kafka-cluster.sh');

export interface KafkaCluster {
  readonly dataDir: string;
  /** host:port per node, node i at index i-1. */
  readonly brokers: string[];
  /** SIGTERM (clean shutdown, leadership handed over) or SIGKILL; resolves once the JVM is gone. */
  stopNode(node: number, signal?: 'TERM' | 'KILL'): Promise<void>;
  /** Starts a stopped node on its ports and data; resolves once the cluster serves metadata again. */
  startNode(node: number): Promise<void>;
  /** The node leading topic/partition now (metadata from any live node). */
  leaderOf(topic: string, partition: number): Promise<number>;
  /** Partitions of a topic with leader and replicas. */
  partitions(topic: string): Promise<PartitionMetadata[]>;
  /**
   * Resolves once every partition of every topic (but the internal ones) has all its replicas in
   * sync: what a rolling upgrade waits for before it takes the next broker down. Throws after
   * `timeoutMs`, naming the partitions still behind.
   */
  waitInSync(timeoutMs: number): Promise<void>;
  /** Creates topics (through the tributary client, so with its retries). */
  createTopics(topics: CreateTopicSpec[]): Promise<void>;
  /** The last lines of a node's server.log (for failure messages). */
  serverLog(node: number, lines?: number): Promise<string>;
  down(): Promise<void>;
}


function script(args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, KAFKA_HEAP_OPTS: NODE_JVM_OPTS } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kafka-cluster.sh ${args.join(' ')} failed: ${err.message}\n${stderr.slice(-3000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

export interface StartClusterOptions {
  brokers: 1 | 3;
  /** server.properties lines for every node (--broker-config K=V). */
  brokerConfig?: Record<string, string>;
}

export async function startKafkaCluster(options: StartClusterOptions): Promise<KafkaCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-kafka-cluster-'));
  const config = Object.entries(options.brokerConfig ?? {}).flatMap(([k, v]) => ['--broker-config', `${k}=${v}`]);
  let out: { stdout: string };
  try {
    out = await script(['up', '--brokers', String(options.brokers), '--data-dir', dataDir, '--owner-pid', String(process.pid), ...config], 300_000);
  } catch (err) {
    await script(['down', '--data-dir', dataDir], 60_000).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    throw err;
  }
  const line = out.stdout.trim().split('\n').pop() ?? '';
  const m = /^KAFKA_BROKERS=(.+)$/.exec(line);
  if (!m) throw new Error(`kafka-cluster.sh up: no KAFKA_BROKERS line in ${JSON.stringify(out.stdout.slice(-500))}`);
  const brokers = m[1]!.split(',');

  const withClient = async <T>(fn: (c: Awaited<ReturnType<typeof createKafkaClient>>) => Promise<T>): Promise<T> => {
    const client = await createKafkaClient({ brokers, clientId: 'kafka-cluster-test', retryTimeoutMs: 120_000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.disconnect();
    }
  };
  const partitions = (topic: string): Promise<PartitionMetadata[]> =>
    withClient(async (c) => (await c.admin.fetchTopicMetadata([topic])).find((t) => t.topic === topic)?.partitions ?? []);

  return {
    dataDir,
    brokers,
    async stopNode(node, signal = 'TERM') {
      await script(['stop-node', '--node', String(node), '--signal', signal, '--data-dir', dataDir], 90_000);
    },
    async startNode(node) {
      await script(['start-node', '--node', String(node), '--data-dir', dataDir], 240_000);
    },
    async leaderOf(topic, partition) {
      const p = (await partitions(topic)).find((x) => x.partition === partition);
      if (!p) throw new Error(`no metadata for ${topic}/${partition}`);
      return p.leader;
    },
    partitions,
    async waitInSync(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // platformatic's Admin directly: the tributary client's metadata carries no ISR.
      const admin = new Admin({ clientId: 'kafka-cluster-isr', bootstrapBrokers: brokers, connectTimeout: 3_000, requestTimeout: 10_000, retries: 0 });
      try {
        for (;;) {
          let behind: string[] = ['(no metadata yet)'];
          try {
            // (platformatic keeps no metadata of internal topics such as __consumer_offsets)
            const topics = await admin.listTopics({ includeInternals: false });
            const md = await admin.metadata({ topics, forceUpdate: true });
            behind = topics.flatMap((topic) => {
              const t = md.topics.get(topic);
              if (!t) return [`${topic}: no metadata`];
              return t.partitions.flatMap((p, i) => (p.isr.length < p.replicas.length ? [`${topic}[${i}] isr ${p.isr.join(',')}`] : []));
            });
          } catch (err) {
            // A node still starting or a leader moving: ask again.
            behind = [`metadata: ${err instanceof Error ? err.message : String(err)}`];
          }
          if (behind.length === 0) return;
          if (Date.now() > deadline) throw new Error(`replicas not in sync after ${timeoutMs} ms: ${behind.slice(0, 10).join('; ')}${behind.length > 10 ? ` (+${behind.length - 10} more)` : ''}`);
          await sleep(250);
        }
      } finally {
        await admin.close().catch(() => undefined);
      }
    },
    createTopics: (topics) => withClient((c) => c.admin.createTopics(topics)),
    async serverLog(node, lines = 40) {
      const text = await readFile(join(dataDir, `node-${node}`, 'server.log'), 'utf8').catch(() => '');
      return text.split('\n').slice(-lines).join('\n');
    },
    async down() {
      await script(['down', '--data-dir', dataDir], 120_000);
      // The JVM may still be closing its log files when the script returns (ENOTEMPTY).
      if (!process.env.KAFKA_CLUSTER_KEEP) await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
