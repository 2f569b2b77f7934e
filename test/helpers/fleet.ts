/**
 * Fleet harness: workers are `tributary run` child processes against a test broker; outputs are
 * JSONL files compared as "last value per key (and window)".
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnCli, runCli, type CliResult } from './cli.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';

export type Row = Record<string, unknown>;

export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const client = await createKafkaClient({ brokers, clientId: 'fleet-test' });
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

/** A `tributary run` worker; relative paths in `args` and its topology resolve against `cwd` (default: the repository). */
export function startWorker(args: string[], env: Record<string, string>, cwd?: string): Worker {
  const child = spawnCli(['run', ...args], { env: { ...process.env, ...env }, ...(cwd === undefined ? {} : { cwd }) });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => err };
}

/**
 * The complete lines of a JSONL output as rows. A worker may be writing (or have been killed -9
 * while writing) the last line: text after the last newline is not a written row yet.
 */
export async function readRows(file: string): Promise<Row[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
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

/** Runs a load topology (any generator → kafka topology file) to its end; like loadApplications for a topology of the test's own. */
export async function loadTopic(topology: string, brokers: string[], topic: string, dataDir: string, env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(['run', topology, '--data-dir', dataDir, '--quiet'], {
    env: { ...process.env, KAFKA_BROKERS: brokers.join(','), TRIBUTARY_TOPIC: topic, TRIBUTARY_OUT: dataDir, ...env },
  });
  if (r.code !== 0) throw new Error(`loading ${topic} with ${topology} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
}

/** Partition count and record count (sum of latest − earliest) of a topic; undefined when it does not exist. */
export async function topicStats(brokers: string[], topic: string): Promise<{ partitions: number; records: number } | undefined> {
  const client = await createKafkaClient({ brokers, clientId: 'fleet-test' });
  await client.connect();
  try {
    const meta = (await client.admin.fetchTopicMetadata([topic])).find((t) => t.topic === topic);
    if (!meta || meta.partitions.length === 0) return undefined;
    const offsets = await client.admin.listOffsets(topic);
    return { partitions: meta.partitions.length, records: offsets.reduce((n, o) => n + Number(o.latest - o.earliest), 0) };
  } catch {
    return undefined;
  } finally {
    await client.disconnect();
  }
}

/**
 * Final value per key+window of a window step with emit 'updates', whatever order its updates
 * arrived in: the update with the largest `monotone` field (a count() grows with every record of
 * the window). lastValues picks by as_of, the updating record's event time, which is only the
 * final value when every key's records arrive in event-time order — not so after a repartition,
 * where the records of one key come from several upstream partitions interleaved differently
 * each run.
 */
export function finalValues(rows: Row[], monotone: string): Map<string, string> {
  const best = new Map<string, { n: number; value: string }>();
  for (const r of rows) {
    const { key, window_start, window_end, as_of, ...values } = r;
    const id = JSON.stringify([key, window_start, window_end]);
    const n = Number(values[monotone]);
    const prev = best.get(id);
    if (!prev || n >= prev.n) best.set(id, { n, value: JSON.stringify(values) });
  }
  return new Map([...best].map(([k, v]) => [k, v.value]));
}

/**
 * Fleet outputs per key: the latest as_of any worker emitted, and each worker's last value at
 * that instant. Two emissions can share an instant (an event exactly at a slice's expiry, or
 * duplicates with one event time), and a worker killed between them ends on the first: the
 * reference value must be among the candidates, and no worker may have emitted later.
 */
export function lastCandidates(perWorker: Row[][]): Map<string, { asOf: number; values: Set<string> }> {
  const out = new Map<string, { asOf: number; values: Set<string> }>();
  for (const rows of perWorker) {
    const mine = new Map<string, { asOf: number; value: string }>();
    for (const r of rows) {
      const { key, window_start, window_end, as_of, emit, ...values } = r;
      void window_start; void window_end; void emit;
      const id = JSON.stringify(key);
      const asOf = typeof as_of === 'number' ? as_of : 0;
      const prev = mine.get(id);
      if (!prev || asOf >= prev.asOf) mine.set(id, { asOf, value: JSON.stringify(values) });
    }
    for (const [id, m] of mine) {
      const cur = out.get(id);
      if (!cur || m.asOf > cur.asOf) out.set(id, { asOf: m.asOf, values: new Set([m.value]) });
      else if (m.asOf === cur.asOf) cur.values.add(m.value);
    }
  }
  return out;
}

export function diffCandidates(ref: Map<string, string>, got: Map<string, { values: Set<string> }>, limit = 5): string[] {
  const out: string[] = [];
  for (const [k, v] of ref) {
    const g = got.get(k);
    if (!g || !g.values.has(v)) out.push(`${k}: expected ${v}, got ${g ? [...g.values].join(' | ') : '(missing)'}`);
    if (out.length >= limit) return out;
  }
  for (const k of got.keys()) {
    if (out.length >= limit) break;
    if (!ref.has(k)) out.push(`${k}: unexpected`);
  }
  return out;
}

/** Writes rows (JSON values) to explicit partitions of a topic, record timestamp = `timestampField` when given. */
export async function produceRows(brokers: string[], topic: string, rows: Array<{ partition: number; key: string; value: Row }>, timestampField?: string): Promise<void> {
  const client = await createKafkaClient({ brokers, clientId: 'fleet-test' });
  await client.connect();
  try {
    const producer = await client.producer();
    await producer.send(
      topic,
      rows.map((r) => ({
        partition: r.partition,
        key: Buffer.from(r.key),
        value: Buffer.from(JSON.stringify(r.value)),
        ...(timestampField !== undefined ? { timestamp: Number(r.value[timestampField]) } : {}),
      })),
      { acks: 'all' },
    );
  } finally {
    await client.disconnect();
  }
}
