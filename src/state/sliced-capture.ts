/**
 * What a checkpoint captured at its snapshot instant and encodes afterwards (Flink's asynchronous
 * snapshot, copy-on-write per item): capture.ts holds the cache's dirty entries, timer-capture.ts
 * a timer service's dirty pages. The instant only marks the items; each is encoded a slice of time
 * at a time between batches of records (run), or at once before it is next read or changed
 * (encode, called from its owner's barrier), so every item is written as it was at the instant.
 */
export abstract class SlicedCapture<T> {
  /** The captured items, in capture order. */
  protected readonly items: T[] = [];
  /** Items still to encode. */
  protected left = 0;
  /** Items before this index were encoded or passed over by run(). */
  private next = 0;

  /** @param clockEvery items encoded between two looks at the clock in run() */
  constructor(private readonly clockEvery: number) {}

  /** Every captured item is encoded. */
  get done(): boolean {
    return this.left === 0;
  }

  /** Whether the item was captured and is not encoded yet. */
  protected abstract pending(item: T): boolean;

  /** Encodes `item` now if it is pending (it is about to be read or changed). */
  abstract encode(item: T): void;

  /** A pending item given up (release): no longer pending, and not encoded. */
  protected abstract unpend(item: T): void;

  /** All are encoded: run() is about to say so (a failure kept until then is thrown here). */
  protected finished(): void {}

  /**
   * Encodes captured items until all are (returns true), or `deadline` (performance.now()) has
   * passed or `limit` items were encoded (returns false: call again).
   */
  run(deadline: number, limit = Number.POSITIVE_INFINITY): boolean {
    const items = this.items;
    let n = 0;
    while (this.left > 0 && this.next < items.length) {
      const item = items[this.next++]!;
      if (!this.pending(item)) continue;
      this.encode(item);
      if (this.left > 0 && (++n >= limit || (n % this.clockEvery === 0 && performance.now() > deadline))) return false;
    }
    this.finished();
    return true;
  }

  /** Gives the capture up: items not encoded yet are no longer pending (their owners keep them dirty). */
  release(): void {
    // Pending items all lie at or after `next`: run() encoded or passed over the ones before.
    for (let i = this.next; i < this.items.length && this.left > 0; i++) {
      const item = this.items[i]!;
      if (!this.pending(item)) continue;
      this.unpend(item);
      this.left--;
    }
  }
}
