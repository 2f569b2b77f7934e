/**
 * The cdc reader's stored position, written beside the binlog -> Kafka loop instead of inside it.
 *
 * Storing the position after every produce, and waiting for it, put one Redis round trip (a Lua
 * EVAL of the fenced write) between each acknowledged produce and the next read of the binlog:
 * every change that arrived meanwhile waited for it too. Here a produce acknowledged hands its
 * last token over and the loop goes on; one write is in flight at a time, at most one starts per
 * `minIntervalMs`, and when one may start, the newest token handed over goes out (older ones are
 * skipped: only the latest acknowledged position matters). Stored positions therefore only ever
 * move forward, and every stored position was acknowledged by Kafka before it was handed over,
 * so a takeover still resumes at or before the last acknowledged change (at least once, as
 * before: the interval bounds how much a takeover produces again).
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
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** Writes completed; for tests and logs. */
  written = 0;

  constructor(
    private readonly store: PositionStore,
    private readonly minIntervalMs = 0,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Everything up to `token` is acknowledged by Kafka: store it (in the background). */
  acknowledged(token: string): void {
    this.check();
    this.next = token;
    this.writeNext(false);
  }

  /** Throws the failure of a write (e.g. TRIB_FENCED), if one failed. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Writes the newest token handed over now (no interval) and waits for it; throws a write's failure. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.next !== undefined && !this.failure) this.writeNext(true);
      else break;
    }
    this.check();
  }

  private writeNext(now: boolean): void {
    if (this.inFlight || this.next === undefined || this.failure) return;
    const wait = this.lastStart + this.minIntervalMs - this.now();
    if (!now && wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.writeNext(false);
      }, wait);
      this.timer.unref();
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const token = this.next;
    this.next = undefined;
    this.lastStart = this.now();
    this.inFlight = this.store.set(token).then(
      () => {
        this.written++;
      },
      (error: unknown) => {
        this.failure = { error };
      },
    ).finally(() => {
      this.inFlight = undefined;
      this.writeNext(false);
    });
  }
}
