/**
 * The cdc reader's stored position, written beside the binlog -> Kafka loop instead of inside it.
 *
 * Storing the position after every produce, and waiting for it, put one Redis round trip (a Lua
 * EVAL of the fenced write) between each acknowledged produce and the next read of the binlog:
 * every change that arrived meanwhile waited for it too. Here a produce acknowledged hands its
 * last token over and the loop goes on; one write is in flight at a time, and when it returns,
 * the newest token handed over since goes out next (older ones are skipped: only the latest
 * acknowledged position matters). Stored positions therefore only ever move forward, and every
 * stored position was acknowledged by Kafka before it was handed over, so a takeover still
 * resumes at or before the last acknowledged change (at least once, as before).
 *
 * A refused write (TRIB_FENCED: a newer leader exists) is kept and thrown by the next `check()`
 * or `settle()`: the loop stops at most one produce later than when it waited for every write.
 */
export interface PositionStore {
  set(token: string): Promise<void>;
}

export class PositionWriter {
  private inFlight: Promise<void> | undefined;
  /** The newest token handed over and not yet written (undefined: nothing waits). */
  private next: string | undefined;
  private failure: { error: unknown } | undefined;
  /** Writes completed; for tests and logs. */
  written = 0;

  constructor(private readonly store: PositionStore) {}

  /** Everything up to `token` is acknowledged by Kafka: store it (in the background). */
  acknowledged(token: string): void {
    this.check();
    this.next = token;
    if (!this.inFlight) this.writeNext();
  }

  /** Throws the failure of a write (e.g. TRIB_FENCED), if one failed. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits until the newest token handed over is stored (shutdown); throws a write's failure. */
  async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.check();
  }

  private writeNext(): void {
    const token = this.next;
    if (token === undefined || this.failure) return;
    this.next = undefined;
    this.inFlight = this.store.set(token).then(
      () => {
        this.written++;
      },
      (error: unknown) => {
        this.failure = { error };
      },
    ).finally(() => {
      this.inFlight = undefined;
      this.writeNext();
    });
  }
}
