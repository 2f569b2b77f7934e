/**
 * Which brokers a Kafka bench measures: `npm run bench -- kafka-e2e --broker dev|kafka|both`
 * (default both; or TRIBUTARY_BENCH_BROKER). Real Kafka is one Apache Kafka node started by
 * scripts/kafka-cluster.sh up --brokers 1 in a temp dir (stopped after; its --owner-pid watchdog
 * stops it if the bench dies), or the cluster KAFKA_BROKERS names (left running). Figures of both
 * go in one table: a row per figure, columns dev / kafka / kafka÷dev.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchResult } from './types.js';

export type BenchBroker = 'dev' | 'kafka';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The --broker choice, read from this process's arguments (bench/run.ts passes them through). */
export function benchBrokers(): BenchBroker[] {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { broker: { type: 'string' } }, allowPositionals: true, strict: false });
  const choice = String(values.broker ?? process.env.TRIBUTARY_BENCH_BROKER ?? 'both');
  if (choice === 'both') return ['dev', 'kafka'];
  if (choice === 'dev' || choice === 'kafka') return [choice];
  throw new Error(`--broker ${choice}: expected dev, kafka or both`);
}

export interface RealKafka {
  brokers: string[];
  label: string;
  /** The broker JVM's pid when this process started it (for its CPU figures). */
  pid?: number;
  stop(): Promise<void>;
}

/** KAFKA_BROKERS, or a fresh one-node cluster from scripts/kafka-cluster.sh (progress on stderr). */
export async function startRealKafka(progress: (msg: string) => void): Promise<RealKafka> {
  const external = process.env.KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter((s) => s.length > 0) ?? [];
  if (external.length > 0) return { brokers: external, label: `KAFKA_BROKERS ${external.join(',')}`, stop: async () => {} };
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-kafka-'));
  const script = join(root, 'scripts', 'kafka-cluster.sh');
  progress(`starting real Kafka: bash scripts/kafka-cluster.sh up --brokers 1 --data-dir ${dataDir}`);
  const brokers = await new Promise<string[]>((resolve, reject) => {
    const child = spawn('bash', [script, 'up', '--brokers', '1', '--data-dir', dataDir, '--owner-pid', String(process.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { for (const line of d.toString().split('\n')) if (line.trim()) progress(line.trim()); });
    child.once('error', reject);
    child.once('exit', (code) => {
      const m = /KAFKA_BROKERS=(\S+)\s*$/.exec(out);
      if (code === 0 && m) resolve(m[1]!.split(','));
      else reject(new Error(`kafka-cluster.sh up exited ${code}`));
    });
  });
  progress(`real Kafka at ${brokers.join(',')}`);
  const pid = Number((await readFile(join(dataDir, 'node-1', 'pid'), 'utf8').catch(() => '')).trim());
  return {
    brokers,
    ...(pid > 0 ? { pid } : {}),
    label: 'Apache Kafka, 1 node (scripts/kafka-cluster.sh)',
    async stop() {
      progress('stopping real Kafka');
      await new Promise<void>((resolve) => {
        const child = spawn('bash', [script, 'down', '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
      });
      // The JVM may still be closing its log files when the script returns (ENOTEMPTY once lost a run's figures).
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }).catch((err: unknown) => progress(`could not remove ${dataDir}: ${String(err)}`));
    },
  };
}

/** A figure measured per broker: dev and kafka values of the same name side by side. */
export interface BrokerFigure { name: string; unit: string; dev?: number; kafka?: number; note?: string }

/**
 * One table (stderr) with a row per figure and columns dev / kafka / kafka÷dev, and the figures
 * as BenchResults (each broker's value, and the ratio when both were measured).
 */
export function sideBySide(title: string, figures: BrokerFigure[], fmt: (v: number) => string): BenchResult[] {
  const cell = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : fmt(v));
  const ratio = (f: BrokerFigure): number | undefined => (f.dev !== undefined && f.kafka !== undefined && f.dev !== 0 ? f.kafka / f.dev : undefined);
  const width = Math.max(6, ...figures.map((f) => f.name.length + f.unit.length + 3));
  process.stderr.write(`\n${title}\n${'figure'.padEnd(width)} ${'dev'.padStart(12)} ${'kafka'.padStart(12)} ${'kafka÷dev'.padStart(10)}\n`);
  for (const f of figures) {
    const r = ratio(f);
    process.stderr.write(`${`${f.name} (${f.unit})`.padEnd(width)} ${cell(f.dev).padStart(12)} ${cell(f.kafka).padStart(12)} ${(r === undefined ? '-' : r.toFixed(2)).padStart(10)}${f.note ? `  ${f.note}` : ''}\n`);
  }
  const out: BenchResult[] = [];
  for (const f of figures) {
    if (f.dev !== undefined) out.push({ name: `dev: ${f.name}`, value: f.dev, unit: f.unit });
    if (f.kafka !== undefined) out.push({ name: `kafka: ${f.name}`, value: f.kafka, unit: f.unit });
    const r = ratio(f);
    if (r !== undefined) out.push({ name: `kafka÷dev: ${f.name}`, value: r, unit: '×', ...(f.note ? { note: f.note } : {}) });
  }
  return out;
}
