/**
 * Positions of the binlog source and the resume token that carries them.
 *
 * A binlog position is not a number: the token (RawRecord.token, JSON) says where the record's
 * transaction starts — file + pos of its first event, a transaction boundary, so a resume never
 * lands between a table map and its rows — plus `seq`, how many row changes of that transaction
 * were already handed over (a restart inside a multi-row event or a multi-statement transaction
 * re-reads the transaction and skips exactly those). `gtid` is the server's executed GTID position
 * before that transaction (MariaDB domain-server-seq list, MySQL uuid set) when known: resuming
 * from it lands on the same transaction, also on another server of the topology.
 * `n` counts records emitted so far: RawRecord.offset = n - 1, monotonic across restarts.
 * While the initial snapshot runs (and until the stream has passed every table's snapshot
 * point) the token also carries the snapshot's own state.
 */
import { TributaryError } from '../../core/errors.js';
import type { BinlogPosition, SnapshotState } from './snapshot.js';

export type { BinlogPosition, SnapshotState };
export { comparePositions } from './snapshot-order.js';

export interface BinlogToken {
  v: 1;
  /** Records emitted so far, this one included. */
  n: number;
  phase: 'snapshot' | 'stream';
  /** Stream phase: start of the record's transaction. */
  position?: BinlogPosition;
  /** Stream phase: row changes of that transaction already emitted (or dropped as already in the snapshot). */
  seq?: number;
  /** Snapshot state: while snapshotting, and while streamed changes may still duplicate snapshot rows. */
  snapshot?: SnapshotState;
}

export function encodeToken(token: BinlogToken): string {
  return JSON.stringify(token);
}

/** A transaction's position as JSON, encoded once for all the row changes of the transaction. */
const positionJson = new WeakMap<BinlogPosition, string>();

/**
 * encodeToken({v: 1, n, phase: 'stream', position, seq}), the same text, with the position
 * encoded once per transaction: JSON-encoding every streamed change's token was ~2 % of
 * `tributary cdc`'s CPU (cdc-chain profile at 5k rows/s), which reads only a batch's last one.
 */
export function encodeStreamToken(n: number, position: BinlogPosition, seq: number): string {
  let json = positionJson.get(position);
  if (json === undefined) positionJson.set(position, (json = JSON.stringify(position)));
  return `{"v":1,"n":${n},"phase":"stream","position":${json},"seq":${seq}}`;
}

export function decodeToken(text: string, source: string): BinlogToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const t = parsed as Partial<BinlogToken> | undefined;
  const ok = t !== null && typeof t === 'object' && t.v === 1 && Number.isInteger(t.n) && (t.phase === 'snapshot' || t.phase === 'stream') &&
    (t.phase === 'snapshot' ? t.snapshot !== undefined : isPosition(t.position) && Number.isInteger(t.seq));
  if (!ok) {
    throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `mysql-binlog source '${source}': the checkpointed position is not a binlog token: ${text.slice(0, 200)}`);
  }
  return t as BinlogToken;
}

function isPosition(p: unknown): p is BinlogPosition {
  const q = p as Partial<BinlogPosition> | undefined;
  return q !== null && typeof q === 'object' && typeof q.file === 'string' && Number.isInteger(q.pos) &&
    (q.gtid === undefined || typeof q.gtid === 'string');
}
