/** Classic consumer-group state (KIP-62/345 era): members, generation, chosen protocol. */
import type { GroupProtocol, JoinGroupResponse } from '../apis/join-group.js';
import type { SyncGroupResponse } from '../apis/sync-group.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  assignment: Buffer;
  lastSeen: number;
  /** Set while the member's JoinGroup waits for the rebalance to complete. */
  joinWaiter?: (res: JoinGroupResponse) => void;
  /** Set while the member's SyncGroup waits for the leader's assignments. */
  syncWaiter?: (res: SyncGroupResponse) => void;
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, awaiting their rejoin: id -> deadline. */
  readonly pending = new Map<string, number>();
  rebalanceTimer: NodeJS.Timeout | undefined;
  /** True while the initial rebalance delay of a fresh group runs. */
  delaying = false;

  constructor(readonly groupId: string) {}

  /** Protocol names every member supports, in the first member's preference order. */
  commonProtocols(extra?: GroupProtocol[]): string[] {
    const lists = [...this.members.values()].map((m) => m.protocols.map((p) => p.name));
    if (extra) lists.push(extra.map((p) => p.name));
    if (lists.length === 0) return [];
    return lists[0].filter((name) => lists.every((l) => l.includes(name)));
  }

  /** Kafka's vote: each member picks its most preferred common protocol; most votes wins. */
  selectProtocol(): string | null {
    const candidates = this.commonProtocols();
    if (candidates.length === 0) return null;
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.includes(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = candidates[0];
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  metadataOf(m: Member): Buffer {
    return m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? Buffer.alloc(0);
  }
}
