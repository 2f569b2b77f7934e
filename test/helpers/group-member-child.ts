/**
 * One consumer-group member in its own process, so a test can kill -9 it: the member then
 * stops heartbeating without leaving, exactly like a crashed worker.
 *
 *   node --import tsx test/helpers/group-member-child.ts <adapter> <brokers> <topic> <group> <sessionTimeoutMs>
 *
 * Reports on stdout, one JSON object per line:
 *   {"type":"assigned","partitions":[0,3]}  on every (re)assignment
 *   {"type":"record","partition":0,"offset":"12","value":"v-12"}
 * SIGTERM leaves the group and exits 0.
 */
import { adapterByName } from './kafka-adapters.js';

export type MemberEvent =
  | { type: 'assigned'; partitions: number[] }
  | { type: 'record'; partition: number; offset: string; value: string | null }
  | { type: 'error'; message: string };

const [adapterName, brokers, topic, groupId, sessionTimeout] = process.argv.slice(2);
if (!adapterName || !brokers || !topic || !groupId || !sessionTimeout) {
  process.stderr.write('usage: group-member-child.ts <adapter> <brokers> <topic> <group> <sessionTimeoutMs>\n');
  process.exit(2);
}

const emit = (e: MemberEvent): void => { process.stdout.write(JSON.stringify(e) + '\n'); };
const client = adapterByName(adapterName).connect(brokers.split(','));
const sessionTimeoutMs = Number(sessionTimeout);

try {
  const member = await client.joinGroup({
    topic,
    groupId,
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(200, Math.floor(sessionTimeoutMs / 10)),
    onAssignment: (partitions) => emit({ type: 'assigned', partitions: [...partitions].sort((a, b) => a - b) }),
    onRecord: (r) => emit({ type: 'record', partition: r.partition, offset: r.offset.toString(), value: r.value }),
  });
  process.once('SIGTERM', () => {
    void member.stop().then(() => client.close()).finally(() => process.exit(0));
  });
} catch (err) {
  emit({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
