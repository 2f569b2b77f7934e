/**
 * All topics on disk: `<dataDir>/topics/<topic>/topic.json` (name, id, partition count,
 * configs; written atomically) and one directory per partition holding its segments.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { KafkaError } from '../protocol/error-codes.js';
import { fsyncDir, writeFileDurable } from './fs-util.js';
import { PartitionLog } from './partition-log.js';
import { defaultTopicConfig, parseTopicConfig, validTopicName, type TopicConfig } from './topic-config.js';

export interface Topic {
  name: string;
  id: Buffer;
  config: TopicConfig;
  /** Only the overrides given at creation, for DescribeConfigs' is_default. */
  overrides: Record<string, string>;
  partitions: PartitionLog[];
}

interface TopicFile {
  name: string;
  id: string;
  partitions: number;
  overrides: Record<string, string>;
}

export class LogStore {
  readonly topics = new Map<string, Topic>();
  private readonly root: string;
  private readonly trash: string;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.root = join(dataDir, 'topics');
    this.trash = join(dataDir, 'trash');
    mkdirSync(this.root, { recursive: true });
    rmSync(this.trash, { recursive: true, force: true });
    mkdirSync(this.trash, { recursive: true });
    for (const entry of readdirSync(this.root)) {
      const metaPath = join(this.root, entry, 'topic.json');
      if (!existsSync(metaPath)) continue;
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as TopicFile;
      const parsed = parseTopicConfig(meta.overrides);
      const config = 'config' in parsed ? parsed.config : { ...defaultTopicConfig };
      const topic: Topic = { name: meta.name, id: Buffer.from(meta.id, 'hex'), config, overrides: meta.overrides, partitions: [] };
      for (let p = 0; p < meta.partitions; p++) topic.partitions.push(this.openPartition(topic, p));
      this.topics.set(meta.name, topic);
    }
  }

  private openPartition(topic: Topic, p: number): PartitionLog {
    return new PartitionLog(join(this.root, topic.name, String(p)), topic.config, this.logger.child({ topic: topic.name, partition: p }));
  }

  private persist(topic: Topic): void {
    const meta: TopicFile = { name: topic.name, id: topic.id.toString('hex'), partitions: topic.partitions.length, overrides: topic.overrides };
    writeFileDurable(join(this.root, topic.name, 'topic.json'), JSON.stringify(meta, null, 2));
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  createTopic(name: string, partitions: number, configs: Record<string, string | null>): { error: number; message?: string } {
    if (!validTopicName(name)) return { error: KafkaError.INVALID_TOPIC_EXCEPTION, message: `invalid topic name '${name}'` };
    if (this.topics.has(name)) return { error: KafkaError.TOPIC_ALREADY_EXISTS, message: `topic '${name}' already exists` };
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      return { error: KafkaError.INVALID_PARTITIONS, message: `invalid partition count ${partitions}` };
    }
    const parsed = parseTopicConfig(configs);
    if ('error' in parsed) return { error: KafkaError.INVALID_CONFIG, message: parsed.error };
    const overrides: Record<string, string> = {};
    for (const [k, v] of Object.entries(configs)) if (v !== null) overrides[k] = v;
    const topic: Topic = { name, id: randomBytes(16), config: parsed.config, overrides, partitions: [] };
    mkdirSync(join(this.root, name), { recursive: true });
    for (let p = 0; p < partitions; p++) topic.partitions.push(this.openPartition(topic, p));
    this.persist(topic);
    fsyncDir(this.root);
    this.topics.set(name, topic);
    this.logger.info('created topic', { topic: name, partitions, configs: overrides });
    return { error: KafkaError.NONE };
  }

  createPartitions(name: string, count: number): { error: number; message?: string } {
    const topic = this.topics.get(name);
    if (!topic) return { error: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, message: `unknown topic '${name}'` };
    if (count <= topic.partitions.length) {
      return { error: KafkaError.INVALID_PARTITIONS, message: `topic has ${topic.partitions.length} partitions; new count must be larger` };
    }
    for (let p = topic.partitions.length; p < count; p++) topic.partitions.push(this.openPartition(topic, p));
    this.persist(topic);
    this.logger.info('added partitions', { topic: name, partitions: count });
    return { error: KafkaError.NONE };
  }

  deleteTopic(name: string): number {
    const topic = this.topics.get(name);
    if (!topic) return KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
    for (const p of topic.partitions) p.close();
    this.topics.delete(name);
    // Rename first so a crash mid-delete never leaves a half topic that reloads.
    const doomed = join(this.trash, `${name}.${Date.now()}`);
    renameSync(join(this.root, name), doomed);
    rmSync(doomed, { recursive: true, force: true });
    this.logger.info('deleted topic', { topic: name });
    return KafkaError.NONE;
  }

  async flushAll(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const t of this.topics.values()) for (const p of t.partitions) pending.push(p.flushAsync());
    await Promise.all(pending);
  }

  close(): void {
    for (const t of this.topics.values()) for (const p of t.partitions) p.close();
    this.topics.clear();
  }
}
