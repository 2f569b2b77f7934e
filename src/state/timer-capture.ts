/**
 * A checkpoint's capture of one timer service's dirty pages (sliced-capture.ts), as capture.ts
 * captures the cache's entries: the instant marks each page with its index here (`captured`);
 * the service encodes a captured page before it next changes it (PersistentTimers.page). The
 * loan-risk demo's first checkpoint spent 150 ms encoding 17k pages at the instant.
 */
import type { BytesOp } from './level-bytes-store.js';
import { latin1 } from './codec/latin1.js';
import type { Page } from './timer-page-map.js';
import { SlicedCapture } from './sliced-capture.js';

/** Pages between two looks at the clock in run(). */
const CLOCK_EVERY = 16;

export class TimerCapture extends SlicedCapture<Page> {
  /** The ops written so far; the deletes of old-layout entries come last, once every page is. */
  readonly ops: BytesOp[] = [];
  bytes = 0;
  readonly pages: Page[] = this.items;
  readonly versions: number[] = [];
  /** Per page, as of the instant: a put (it holds timers), else a delete (LevelDB holds it) or nothing. */
  readonly puts: boolean[] = [];
  private readonly deletes: boolean[] = [];
  /** Keys of the pages written, which supersede an old-layout delete of the same key. */
  private readonly superseded: Set<string> | undefined;

  /**
   * @param keyOf a page's LevelDB key
   * @param valueBytes a page's encoded timers (as they are now)
   */
  constructor(
    dirty: Iterable<Page>,
    private readonly legacy: readonly Uint8Array[],
    private readonly keyOf: (page: Page) => Uint8Array,
    private readonly valueBytes: (page: Page) => Uint8Array,
  ) {
    super(CLOCK_EVERY);
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

  encode(page: Page): void {
    const i = page.captured;
    if (i < 0) return;
    this.unpend(page);
    if (this.puts[i] || this.deletes[i]) {
      const key = this.keyOf(page);
      if (this.puts[i]) {
        const value = this.valueBytes(page);
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

  protected pending(page: Page): boolean {
    return page.captured >= 0;
  }

  protected unpend(page: Page): void {
    page.captured = -1;
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
