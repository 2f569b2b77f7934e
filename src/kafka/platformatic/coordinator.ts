/**
 * The group coordinator of one consumer group, over a platformatic client's connections.
 * platformatic's own lookup (Consumer.findGroupCoordinator) asks for the client's configured
 * group (a shadow one here, see group-consumer.ts) and keeps the answer for the client's life,
 * so a coordinator that dies or moves (a broker restart, a rolling upgrade) would be asked
 * forever. This one asks FindCoordinator for the real group on any broker that answers, and
 * forgets the answer when the coordinator fails or says it is not the coordinator any more.
 *
 *   FindCoordinator v4+ => key_type INT8 [coordinator_keys STRING] ; key_type 0 = group
 */
import { ProtocolError, type Connection, type Consumer, type findCoordinatorV6 } from '@platformatic/kafka';
import { isRetriable, protocolIds } from './errors.js';
import { call, connectionTo } from './wire.js';

type FindCoordinatorArgs = [keyType: number, coordinatorKeys: string[]];
const GROUP_KEY_TYPE = 0;
const COORDINATOR_NOT_AVAILABLE = 15;
/** Error ids that say the group's coordinator is elsewhere now (or not elected yet). */
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);

export class CoordinatorLink {
  private nodeId: number | undefined;

  constructor(private readonly client: Consumer, private readonly groupId: string) {}

  /** A connection to the coordinator, looked up first when it is not known. */
  async connection(): Promise<Connection> {
    this.nodeId ??= await this.find();
    try {
      return await connectionTo(this.client, this.nodeId);
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  /** After a failed coordinator request: a dead, moved or unelected coordinator is looked up again. */
  failed(err: unknown): void {
    const ids = protocolIds(err);
    if (ids.some((id) => COORDINATOR_MOVED.has(id)) || (ids.length === 0 && isRetriable(err))) this.nodeId = undefined;
  }

  private async find(): Promise<number> {
    const md = await this.client.metadata({ topics: [] });
    let lastError: unknown = new Error('no broker in the cluster metadata');
    for (const nodeId of md.brokers.keys()) {
      try {
        const conn = await connectionTo(this.client, nodeId);
        const res = await call<FindCoordinatorArgs, findCoordinatorV6.FindCoordinatorResponse>(this.client, 'FindCoordinator', conn, [GROUP_KEY_TYPE, [this.groupId]], true);
        const found = res.coordinators.find((c) => c.key === this.groupId);
        if (!found || found.errorCode !== 0) throw new ProtocolError(found?.errorCode ?? COORDINATOR_NOT_AVAILABLE);
        return found.nodeId;
      } catch (err) {
        lastError = err;
      }
    }
    // Fresh broker addresses next time: nodes may have moved.
    this.client.clearMetadata();
    throw lastError;
  }
}
