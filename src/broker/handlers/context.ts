import type { Logger } from '../../core/logger.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { LogStore } from '../storage/log-store.js';
import type { OffsetStore } from '../storage/offset-store.js';
import type { ProducerIdAllocator } from '../storage/producer-ids.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** What request handlers may use: the broker's state, never the sockets. */
export interface BrokerContext {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  readonly autoCreateTopics: boolean;
  readonly defaultPartitions: number;
  readonly fsync: FsyncPolicy;
  readonly store: LogStore;
  readonly offsets: OffsetStore;
  readonly groups: GroupCoordinator;
  readonly producerIds: ProducerIdAllocator;
  readonly logger: Logger;
  /** Wake fetches long-polling on this partition. */
  notifyAppend(topic: string, partition: number): void;
  /**
   * Resolve after an append to one of `keys` ("topic\0partition") or after `ms`, with
   * true; with false at once when the broker is closing (so no one waits again).
   */
  waitForAppend(keys: string[], ms: number): Promise<boolean>;
  /** Topic deleted: forget its committed offsets. */
  onTopicDeleted(topic: string): void;
}

/** Who sent the request (for group member bookkeeping and logs). */
export interface RequestClient {
  clientId: string;
  clientHost: string;
}
