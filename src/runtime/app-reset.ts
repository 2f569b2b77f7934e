/**
 * `--reset-state` in Kafka mode: start an application over, as Kafka Streams' application reset
 * tool does. A Kafka-mode app keeps its state in the cluster, not on the disk: the group's
 * commits (positions and checkpoint metadata) and the `<app>.<step>.changelog` topics; the
 * repartition topics hold records in flight between its tasks. So a reset
 *   1. refuses while the group has members (every worker must be stopped first, or a running
 *      one would go on writing the state that is being thrown away);
 *   2. deletes the group with its commits: the inputs start again at --from-timestamp /
 *      --from-offsets, else the sources' autoOffsetReset;
 *   3. deletes the app's internal topics and waits until the cluster no longer lists them (the
 *      worker then creates them empty); local state is wiped by the state backend as usual.
 * Other workers started afterwards with the same app id find no commit: they drop whatever
 * their disks hold and restore from the new, empty changelogs.
 */
import type { KafkaAdmin } from '../kafka/client.js';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** How long deleted topics may stay listed (a real cluster deletes asynchronously). */
const DELETE_WAIT_MS = 60_000;

export interface ResetResult {
  /** Whether the group existed (it had commits) and was deleted. */
  groupDeleted: boolean;
  topicsDeleted: string[];
}

/**
 * The app's internal topics among `topics`: `<app>.<step>.changelog|repartition`, where a step
 * id has no dots, so app "a" never claims app "a.b"'s topics.
 */
export function internalTopics(appId: string, topics: readonly string[]): string[] {
  const prefix = `${appId}.`;
  return topics.filter((t) => {
    if (!t.startsWith(prefix)) return false;
    const rest = t.slice(prefix.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) return false;
    const suffix = rest.slice(dot + 1);
    return suffix === 'changelog' || suffix === 'repartition';
  }).sort();
}

export async function resetApplication(admin: KafkaAdmin, appId: string, log: Logger, waitMs = DELETE_WAIT_MS): Promise<ResetResult> {
  const state = await admin.groupState(appId);
  if (state !== 'Empty' && state !== 'Dead') {
    throw new TributaryError(
      'TRIB_USAGE',
      `--reset-state: group '${appId}' has active members (state ${state}). Stop every worker of '${appId}' first, then run the reset again (one worker with --reset-state; start the others after it).`,
    );
  }
  const groupDeleted = state === 'Empty';
  if (groupDeleted) await admin.deleteGroup(appId);
  const topics = internalTopics(appId, await admin.listTopics());
  await admin.deleteTopics(topics);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = new Set(internalTopics(appId, await admin.listTopics()));
    const pending = topics.filter((t) => left.has(t));
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      throw new TributaryError('TRIB_SOURCE', `--reset-state: the cluster still lists ${pending.join(', ')} ${Math.round(waitMs / 1_000)} s after their deletion; run the reset again later`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log.info('application reset: group and internal topics deleted', { group: appId, groupDeleted, topics });
  return { groupDeleted, topicsDeleted: topics };
}
