/**
 * kafkajs 2.2.4 groups each send's messages by partition with a reduce that copies the
 * partition's array once per message (src/producer/groupMessagesPerPartition.js): O(n² / P).
 * A changelog request to one partition carries up to ~9 000 records (≤ 900 KB): 56 ms per call
 * measured, ~6 µs per record, and kafkajs' grouping was ~10% of a Kafka-mode worker's CPU
 * (bench/kafka-e2e.bench.ts). This linear version returns the same object. Upstream fix, never
 * released: https://github.com/tulios/kafkajs/pull/1576.
 *
 * It is put into the CommonJS module cache under kafkajs' own path before kafkajs loads:
 * kafkajs-client.ts imports this module first. Only for the kafkajs version it was checked
 * against; if kafkajs was loaded earlier (something imported it directly), nothing changes —
 * sends are only slower.
 */
import { createRequire, Module } from 'node:module';

/** The kafkajs version whose internal module this replaces (package.json pins it). */
const CHECKED_VERSION = '2.2.4';
const MODULE = 'kafkajs/src/producer/groupMessagesPerPartition.js';

export interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/** Messages by partition, each list in send order; {} when the topic has no partition metadata. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

export type GroupingInstall = 'installed' | 'kafkajs-already-loaded' | 'other-kafkajs-version';

/** Puts the linear grouping in kafkajs' place unless kafkajs' own is loaded already; says what happened. */
export function installLinearGrouping(): GroupingInstall {
  const require = createRequire(import.meta.url);
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== CHECKED_VERSION) return 'other-kafkajs-version';
  const path = require.resolve(MODULE);
  const cached = require.cache[path];
  if (cached) return cached.exports === groupMessagesPerPartition ? 'installed' : 'kafkajs-already-loaded';
  const m = new Module(path);
  m.filename = path;
  m.loaded = true;
  m.exports = groupMessagesPerPartition;
  require.cache[path] = m;
  return 'installed';
}

installLinearGrouping();
