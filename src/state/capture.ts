/**
 * A checkpoint's capture of the write-back cache's dirty entries (sliced-capture.ts): the instant
 * marks them `pending` (and counts them on their key's node); the cache's scopes encode a key's
 * pending entries when the key is next looked up (CacheScope.find). The pause of processing no
 * longer grows with the number of dirty entries (the loan-risk demo's first checkpoint: 50k
 * entries, 210 ms of it).
 */
import { ABSENT, type Entry } from './cache-entry.js';
import { PackedOps } from './level-bytes-store.js';
import { SlicedCapture } from './sliced-capture.js';

/** Encodes one captured entry's value into the batch (the cache's packKey, codec and size accounting). */
export type EncodeEntry = (e: Entry, packed: PackedOps) => void;

/** Entries between two looks at the clock in run(). */
const CLOCK_EVERY = 64;

export class Capture extends SlicedCapture<Entry> {
  /** The captured entries, their versions at the instant, and whether each is a put (else a delete or nothing). */
  readonly entries: Entry[] = this.items;
  readonly versions: number[] = [];
  readonly puts: boolean[] = [];
  readonly packed: PackedOps;
  /** The first encode that threw: the checkpoint fails with it (the entries stay dirty). */
  private failure: unknown;

  constructor(list: readonly Entry[], capacity: number, private readonly encodeEntry: EncodeEntry) {
    super(CLOCK_EVERY);
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

  encode(e: Entry): void {
    if (!e.pending) return;
    this.unpend(e);
    this.left--;
    if (this.failure !== undefined) return;
    try {
      this.encodeEntry(e, this.packed);
    } catch (err) {
      this.failure = err;
    }
  }

  protected pending(e: Entry): boolean {
    return e.pending;
  }

  protected unpend(e: Entry): void {
    e.pending = false;
    e.owner.pend(e, -1);
  }

  /** Throws the first encode failure once all are done. */
  protected override finished(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
