/**
 * `startBroker`: the single-node, disk-backed, Kafka-wire-compatible dev broker.
 * Production uses real Kafka; this exists so every Kafka path runs and is tested where
 * no Kafka and no container engine exist.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../core/logger.js';
import { GroupCoordinator } from './groups/coordinator.js';
import type { BrokerContext, FsyncPolicy } from './handlers/context.js';
import { createKafkaServer } from './server.js';
import { compactPartition } from './storage/cleaner.js';
import { LogStore } from './storage/log-store.js';
import { OffsetStore } from './storage/offset-store.js';
import { ProducerIdAllocator } from './storage/producer-ids.js';
import { isCompacted } from './storage/topic-config.js';
import { TributaryError } from '../core/errors.js';

export type { FsyncPolicy } from './handlers/context.js';

export interface BrokerOptions {
  /** 0 = any free port. Default 9092. */
  port?: number;
  /** Default 127.0.0.1; the advertised address is the bound one. */
  host?: string;
  dataDir: string;
  /** Create unknown topics named in Metadata requests. Default true. */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics (and CreateTopics with -1). Default 1. */
  defaultPartitions?: number;
  /** 'always': fsync before acknowledging; 'interval': every second; 'never'. Default 'interval'. */
  fsync?: FsyncPolicy;
  /** Wait this long before the first rebalance of a fresh group. Default 0. */
  groupInitialRebalanceDelayMs?: number;
  /** Session timeouts a JoinGroup may ask for, as Kafka's group.min/max.session.timeout.ms. Default 6 s to 30 min. */
  groupMinSessionTimeoutMs?: number;
  groupMaxSessionTimeoutMs?: number;
  logger?: Logger;
  verbose?: boolean;
}

export interface BrokerStats {
  topics: number;
  partitions: number;
  clients: number;
  groups: number;
}

export interface BrokerHandle {
  host: string;
  port: number;
  /** "host:port" */
  address: string;
  /** Run the cleaner on a compacted topic now (rolls the active segment first). */
  compact(topic: string): Promise<void>;
  stats(): BrokerStats;
  close(): Promise<void>;
}

const FSYNC_INTERVAL_MS = 1000;
/** Kafka's defaults for group.min.session.timeout.ms and group.max.session.timeout.ms. */
export const DEFAULT_MIN_SESSION_TIMEOUT_MS = 6_000;
export const DEFAULT_MAX_SESSION_TIMEOUT_MS = 1_800_000;
const RETENTION_CHECK_MS = 5000;
const CLEANER_INTERVAL_MS = 30_000;

export async function startBroker(opts: BrokerOptions): Promise<BrokerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const fsync = opts.fsync ?? 'interval';
  const logger = opts.logger ?? createLogger({ level: opts.verbose ? 'debug' : 'warn' });
  mkdirSync(opts.dataDir, { recursive: true });

  const store = new LogStore(opts.dataDir, logger);
  const offsets = new OffsetStore(opts.dataDir, fsync !== 'never', logger);
  const groups = new GroupCoordinator(opts.groupInitialRebalanceDelayMs ?? 0, logger, {
    min: opts.groupMinSessionTimeoutMs ?? DEFAULT_MIN_SESSION_TIMEOUT_MS,
    max: opts.groupMaxSessionTimeoutMs ?? DEFAULT_MAX_SESSION_TIMEOUT_MS,
  });
  const waiters = new Map<string, Set<() => void>>();
  let closing = false;

  const ctx: BrokerContext & { port: number } = {
    nodeId: 1,
    host,
    port: 0,
    clusterId: 'tributary-dev-broker',
    autoCreateTopics: opts.autoCreateTopics ?? true,
    defaultPartitions: opts.defaultPartitions ?? 1,
    fsync,
    store,
    offsets,
    groups,
    producerIds: new ProducerIdAllocator(opts.dataDir),
    logger,
    notifyAppend(topic, partition) {
      const set = waiters.get(`${topic}\0${partition}`);
      if (!set) return;
      for (const wake of [...set]) wake();
    },
    waitForAppend(keys, ms) {
      if (closing) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          for (const k of keys) waiters.get(k)?.delete(wake);
          resolve(!closing);
        };
        const timer = setTimeout(wake, ms);
        for (const k of keys) {
          let set = waiters.get(k);
          if (!set) waiters.set(k, (set = new Set()));
          set.add(wake);
        }
      });
    },
    onTopicDeleted(topic) {
      offsets.deleteTopic(topic);
      for (const [k, set] of waiters) if (k.startsWith(`${topic}\0`)) for (const wake of [...set]) wake();
    },
  };

  const kafka = createKafkaServer(ctx, logger, opts.verbose ?? false);
  await new Promise<void>((resolve, reject) => {
    kafka.server.once('error', (err) => reject(new TributaryError('TRIB_BROKER_STORAGE', `cannot listen on ${host}:${opts.port ?? 9092}: ${err.message}`, { cause: err })));
    kafka.server.listen(opts.port ?? 9092, host, () => resolve());
  });
  ctx.port = (kafka.server.address() as AddressInfo).port;

  const compactTopic = (name: string, roll: boolean): void => {
    const topic = store.topics.get(name);
    if (!topic) return;
    for (const log of topic.partitions) {
      if (roll) log.roll();
      const s = compactPartition(log, Date.now(), logger);
      if (s.recordsRemoved) logger.info('compacted', { topic: name, segments: s.segments, removed: s.recordsRemoved });
    }
  };

  const timers: NodeJS.Timeout[] = [];
  if (fsync === 'interval') {
    let flushing = false;
    timers.push(
      setInterval(() => {
        if (flushing) return;
        flushing = true;
        void store.flushAll().finally(() => (flushing = false));
      }, FSYNC_INTERVAL_MS),
    );
  }
  timers.push(
    setInterval(() => {
      const now = Date.now();
      for (const t of store.topics.values()) {
        if (!t.config['cleanup.policy'].split(',').includes('delete')) continue;
        for (const log of t.partitions) {
          const removed = log.applyRetention(now);
          if (removed) logger.info('retention removed segments', { topic: t.name, segments: removed });
        }
      }
    }, RETENTION_CHECK_MS),
  );
  timers.push(
    setInterval(() => {
      for (const t of store.topics.values()) if (isCompacted(t.config)) compactTopic(t.name, false);
    }, CLEANER_INTERVAL_MS),
  );
  for (const t of timers) t.unref();

  logger.info('broker listening', { address: `${host}:${ctx.port}`, dataDir: opts.dataDir, topics: store.topics.size });

  return {
    host,
    port: ctx.port,
    address: `${host}:${ctx.port}`,
    async compact(topic) {
      if (!store.topics.has(topic)) throw new TributaryError('TRIB_BROKER_STORAGE', `unknown topic '${topic}'`);
      compactTopic(topic, true);
    },
    stats: () => ({
      topics: store.topics.size,
      partitions: [...store.topics.values()].reduce((n, t) => n + t.partitions.length, 0),
      clients: kafka.connections(),
      groups: groups.groups.size,
    }),
    async close() {
      if (closing) return;
      closing = true;
      for (const t of timers) clearInterval(t);
      for (const set of waiters.values()) for (const wake of [...set]) wake();
      await kafka.close();
      groups.close();
      store.close();
      offsets.close();
    },
  };
}
