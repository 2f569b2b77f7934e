/**
 * Fleet harness: workers are `tributary run` child processes against a test broker; outputs are
 * JSONL files compared as "last value per key (and window)".
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnCli, runCli, type CliResult } from './cli.js';
import { createKafkajsClient } from '../../src/connectors/kafka/kafkajs-client.js';

export type Row = Record<string, unknown>;

export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const client = createKafkajsClient({ brokers, clientId: 'fleet-test' });
  await client.connect();
  try {
    await client.admin.createTopics([{ topic, partitions }]);
  } finally {
    await client.disconnect();
  }
}

/** Produce rows (JSON) to a topic keyed by `keyField`, through the generator → kafka topology. */
export async function loadApplications(brokers: string[], topic: string, dataDir: string, env: Record<string, string>): Promise<CliResult> {
  const r = await runCli(['run', 'topologies/loan-applications-to-kafka.yaml', '--data-dir', dataDir, '--quiet'], {
    env: { ...process.env, KAFKA_BROKERS: brokers.join(','), TRIBUTARY_TOPIC: topic, TRIBUTARY_OUT: dataDir, ...env },
  });
  if (r.code !== 0) throw new Error(`loading ${topic} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
}

export interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function startWorker(args: string[], env: Record<string, string>): Worker {
  const child = spawnCli(['run', ...args], { env: { ...process.env, ...env } });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => err };
}

export async function readRows(file: string): Promise<Row[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
}

/** Rows of `name` from every worker's output dir under `dirs`, in file order per worker. */
export async function readAll(dirs: string[], name: string): Promise<Row[]> {
  const out: Row[] = [];
  for (const d of dirs) {
    const files = await readdir(d).catch(() => [] as string[]);
    if (files.includes(name)) for (const r of await readRows(join(d, name))) out.push(r);
  }
  return out;
}

/**
 * Last value per key (rolling windows: the value, not its reference time) or per key+window.
 * With several workers, "last" is the row with the latest as_of (then the larger values, which a
 * later emission for the same instant carries).
 */
export function lastValues(rows: Row[], windowed: boolean): Map<string, string> {
  const best = new Map<string, { asOf: number; value: string }>();
  for (const r of rows) {
    const { key, window_start, window_end, as_of, emit, ...values } = r;
    const id = windowed ? JSON.stringify([key, window_start, window_end]) : JSON.stringify(key);
    const asOf = typeof as_of === 'number' ? as_of : typeof as_of === 'string' ? Date.parse(as_of) : 0;
    const value = JSON.stringify(windowed ? { ...values, emit } : values);
    const prev = best.get(id);
    if (!prev || asOf >= prev.asOf) best.set(id, { asOf, value });
  }
  return new Map([...best].map(([k, v]) => [k, v.value]));
}

export function diffMaps(ref: Map<string, string>, got: Map<string, string>, limit = 5): string[] {
  const out: string[] = [];
  for (const [k, v] of ref) {
    const g = got.get(k);
    if (g !== v) out.push(`${k}: expected ${v}, got ${g ?? '(missing)'}`);
    if (out.length >= limit) break;
  }
  for (const k of got.keys()) {
    if (out.length >= limit) break;
    if (!ref.has(k)) out.push(`${k}: unexpected ${got.get(k)}`);
  }
  return out;
}
