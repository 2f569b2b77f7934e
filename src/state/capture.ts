/**
 * A checkpoint's capture of the write-back cache's dirty entries (Flink's asynchronous snapshot,
 * copy-on-write per entry). The snapshot instant only marks the entries (`pending`); their values
 * are encoded afterwards, a slice of time at a time between batches of records (run), and any one
 * of them at once before it is read or changed (encode, called through the cache's scopes when
 * its record key is looked up). So every entry is encoded with the value it held at the instant,
 * as if all had been encoded then, while the pause of processing no longer grows with the number
 * of dirty entries (the loan-risk demo's first checkpoint: 50k entries, 210 ms of it).
 */
import { ABSENT, type Entry } from './cache-entry.js';
import { PackedOps } from './level-bytes-store.js';

/** Encodes one captured entry's value into the batch (the cache's packKey, codec and size accounting). */
export type EncodeEntry = (e: Entry, packed: PackedOps) => void;

/** Entries between two looks at the clock in run(). */
const CLOCK_EVERY = 64;

export class Capture {
  /** The captured entries, their versions at the instant, and whether each is a put (else a delete or nothing). */
  readonly entries: Entry[] = [];
  readonly versions: number[] = [];
  readonly puts: boolean[] = [];
  readonly packed: PackedOps;
  /** Entries before this index were encoded or passed over by run(). */
  private next = 0;
  private left = 0;
  /** The first encode that threw: the checkpoint fails with it (the entries stay dirty). */
  private failure: unknown;

  constructor(list: readonly Entry[], capacity: number, private readonly encodeEntry: EncodeEntry) {
    this.packed = new PackedOps(capacity);
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      // Stale, or listed twice (flushing counts this batch only: none other is in flight).
      if (!e.dirty || !e.linked || e.flushing > 0) continue;
      e.flushing++;
      e.pending = true;
      e.owner.pend(e, 1);
      this.entries.push(e);
      this.versions.push(e.version);
      this.puts.push(e.value !== ABSENT);
    }
    this.left = this.entries.length;
  }

  /** Every captured entry is encoded. */
  get done(): boolean {
    return this.left === 0;
  }

  /** Encodes `e` now if it was captured and is not encoded yet (it is about to be read or changed). */
  encode(e: Entry): void {
    if (!e.pending) return;
    e.pending = false;
    e.owner.pend(e, -1);
    this.left--;
    if (this.failure !== undefined) return;
    try {
      this.encodeEntry(e, this.packed);
    } catch (err) {
      this.failure = err;
    }
  }

  /**
   * Encodes captured entries until all are (returns true), or `deadline` (performance.now()) has
   * passed or `limit` entries were encoded (returns false: call again). Throws the first encode
   * failure once all are done.
   */
  run(deadline: number, limit = Number.POSITIVE_INFINITY): boolean {
    const list = this.entries;
    let n = 0;
    while (this.left > 0 && this.next < list.length) {
      const e = list[this.next++]!;
      if (!e.pending) continue;
      this.encode(e);
      if (this.left > 0 && (++n >= limit || (n % CLOCK_EVERY === 0 && performance.now() > deadline))) return false;
    }
    if (this.failure !== undefined) throw this.failure;
    return true;
  }

  /** Gives the capture up: entries not encoded yet are no longer pending (they stay dirty). */
  release(): void {
    for (let i = this.next; i < this.entries.length && this.left > 0; i++) {
      const e = this.entries[i]!;
      if (!e.pending) continue;
      e.pending = false;
      e.owner.pend(e, -1);
      this.left--;
    }
  }
}
