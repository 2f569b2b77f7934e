/**
 * One GroupConsumer (the client interface's consumer-group member) in its own process, so a
 * test can kill -9 it (a crashed worker) or SIGSTOP it past its session (a stalled one).
 *
 *   node --import tsx test/helpers/group-consumer-child.ts <brokers> <group> <sessionTimeoutMs> <topic,topic...>
 *
 * Reports on stdout, one JSON object per line (GroupChildEvent). SIGTERM closes and exits 0.
 */
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { TopicPartition } from '../../src/kafka/client.js';

export type GroupChildEvent =
  | { type: 'assigned'; partitions: TopicPartition[]; generation: number }
  | { type: 'revoked'; partitions: TopicPartition[] }
  | { type: 'lost'; partitions: TopicPartition[] }
  | { type: 'error'; message: string };

const [brokers, groupId, sessionTimeout, topicList] = process.argv.slice(2);
if (!brokers || !groupId || !sessionTimeout || !topicList) {
  process.stderr.write('usage: group-consumer-child.ts <brokers> <group> <sessionTimeoutMs> <topic,topic...>\n');
  process.exit(2);
}

const emit = (e: GroupChildEvent): void => { process.stdout.write(JSON.stringify(e) + '\n'); };
const sessionTimeoutMs = Number(sessionTimeout);

try {
  const client = await createKafkaClient({ brokers: brokers.split(','), clientId: 'group-child' });
  await client.connect();
  const member = await client.groupConsumer({ groupId, sessionTimeoutMs, heartbeatIntervalMs: Math.max(100, Math.floor(sessionTimeoutMs / 10)) });
  await member.subscribe(topicList.split(','), {
    assigned: async (partitions, generation) => emit({ type: 'assigned', partitions, generation }),
    revoked: async (partitions) => emit({ type: 'revoked', partitions }),
    lost: async (partitions) => emit({ type: 'lost', partitions }),
  });
  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
    void client.disconnect().finally(() => process.exit(0));
  });
  while (!stopping) await member.fetch({ maxWaitMs: 200 });
} catch (err) {
  emit({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
