import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClientError, type ClientLog, type KafkaClient } from './client.js';

/**
 * Partition counts of the source topics, once every one exists. A worker deployed before its
 * topics (a fresh cdc + workers rollout) waits, with one log line, as it waits for a broker.
 */
export async function waitForTopics(client: KafkaClient, topics: string[], log: ClientLog): Promise<Map<string, number>> {
  for (let attempt = 0; ; attempt++) {
    const meta = await client.admin.fetchTopicMetadata(topics).catch((err: unknown) => {
      // Unknown topics come back as a retriable metadata error from some brokers: the same as missing.
      if (err instanceof KafkaClientError && /UNKNOWN_TOPIC|Unknown topic/i.test(err.message)) return [];
      throw err;
    });
    const counts = new Map(meta.map((t) => [t.topic, t.partitions.length]));
    const missing = topics.filter((t) => !((counts.get(t) ?? 0) > 0));
    if (missing.length === 0) {
      if (attempt > 0) (log.info ?? log.warn).call(log, 'kafka topics exist now; starting', { topics });
      return counts;
    }
    if (attempt === 0) log.warn('waiting for kafka topic(s) to exist', { topics: missing });
    await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
  }
}
