/**
 * A checkpoint's capture of one timer service's dirty pages, as capture.ts captures the cache's
 * entries: the snapshot instant only marks the pages (`captured`); each is encoded afterwards, a
 * slice of time at a time (run) or at once before it next changes (encode, called by the
 * service whenever it looks a page up). A captured page holds its index here (`captured`). Every page is written with the timers it held at the
 * instant. The loan-risk demo's first checkpoint spent 150 ms encoding 17k pages at the instant.
 */
import type { BytesOp } from './level-bytes-store.js';
import { latin1 } from './codec/latin1.js';
import type { Page } from './timer-page-map.js';

/** Entries between two looks at the clock in run(). */
const CLOCK_EVERY = 16;

export class TimerCapture {
  /** The ops written so far; the deletes of old-layout entries come last, once every page is. */
  readonly ops: BytesOp[] = [];
  bytes = 0;
  readonly pages: Page[] = [];
  readonly versions: number[] = [];
  /** Per page, as of the instant: a put (it holds timers), else a delete (LevelDB holds it) or nothing. */
  readonly puts: boolean[] = [];
  private readonly deletes: boolean[] = [];
  private next = 0;
  private left: number;
  /** Keys of the pages written, which supersede an old-layout delete of the same key. */
  private readonly superseded: Set<string> | undefined;

  /**
   * @param keyOf a page's LevelDB key
   * @param valueOf a page's encoded timers (as they are now)
   */
  constructor(
    dirty: Iterable<Page>,
    private readonly legacy: readonly Uint8Array[],
    private readonly keyOf: (page: Page) => Uint8Array,
    private readonly valueOf: (page: Page) => Uint8Array,
  ) {
    this.superseded = legacy.length > 0 ? new Set<string>() : undefined;
    for (const page of dirty) {
      page.captured = this.pages.length;
      this.pages.push(page);
      this.versions.push(page.version);
      this.puts.push(page.count > 0);
      this.deletes.push(page.count === 0 && (page.onDisk || page.flushing > 0));
    }
    for (const page of this.pages) page.flushing++;
    this.left = this.pages.length;
    if (this.left === 0) this.finish();
  }

  get done(): boolean {
    return this.left === 0;
  }

  /** Encodes `page` now if it was captured and is not encoded yet (it is about to change). */
  encode(page: Page): void {
    const i = page.captured;
    if (i < 0) return;
    page.captured = -1;
    if (this.puts[i] || this.deletes[i]) {
      const key = this.keyOf(page);
      if (this.puts[i]) {
        const value = this.valueOf(page);
        this.ops.push({ type: 'put', key, value });
        this.bytes += key.length + value.length;
      } else {
        this.ops.push({ type: 'del', key });
        this.bytes += key.length;
      }
      this.superseded?.add(latin1(key));
    }
    if (--this.left === 0) this.finish();
  }

  /** Encodes captured pages until all are (true), or `deadline` has passed or `limit` pages were encoded (false: call again). */
  run(deadline: number, limit = Number.POSITIVE_INFINITY): boolean {
    let n = 0;
    while (this.left > 0 && this.next < this.pages.length) {
      const page = this.pages[this.next++]!;
      if (page.captured < 0) continue;
      this.encode(page);
      if (this.left > 0 && (++n >= limit || (n % CLOCK_EVERY === 0 && performance.now() > deadline))) return false;
    }
    return true;
  }

  /** Gives the capture up: pages not encoded yet are no longer pending. */
  release(): void {
    for (let i = this.next; i < this.pages.length; i++) this.pages[i]!.captured = -1;
    this.left = 0;
  }

  /** Every page is encoded: the old-layout entries no page of the same key replaced are deleted. */
  private finish(): void {
    for (const key of this.legacy) {
      if (this.superseded?.has(latin1(key))) continue;
      this.ops.push({ type: 'del', key });
      this.bytes += key.length;
    }
  }
}
