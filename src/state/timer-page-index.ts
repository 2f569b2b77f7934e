/**
 * The starts of a timer service's pages that hold live timers, ascending (timer-service.ts): one
 * number per page, bounded by the event-time span the timers cover. Firing empties the front, so
 * removing the first start moves an offset instead of shifting the array.
 */
import { lowerBound } from '../core/sorted.js';

export class PageIndex {
  private starts: number[] = [];
  private head = 0;

  /** The earliest start, or undefined when no page holds a timer. */
  get first(): number | undefined {
    return this.head < this.starts.length ? this.starts[this.head] : undefined;
  }

  has(start: number): boolean {
    const starts = this.starts;
    const n = starts.length;
    if (n === this.head || starts[n - 1]! < start) return false;
    return starts[lowerBound(starts, start, this.head)] === start;
  }

  insert(start: number): void {
    const starts = this.starts;
    if (this.head > 0 && (starts.length === this.head || start < starts[this.head]!)) {
      // Before the front: reuse the slot firing freed.
      starts[--this.head] = start;
      return;
    }
    const n = starts.length;
    if (n === this.head || starts[n - 1]! < start) {
      starts.push(start);
      return;
    }
    const i = lowerBound(starts, start, this.head);
    if (starts[i] !== start) starts.splice(i, 0, start);
  }

  remove(start: number): void {
    const starts = this.starts;
    if (this.head < starts.length && starts[this.head] === start) {
      // The usual case: the firing page emptied. A front offset instead of an O(pages) shift.
      this.head++;
      if (this.head > 1024 && this.head * 2 > starts.length) {
        this.starts = starts.slice(this.head);
        this.head = 0;
      }
      return;
    }
    const i = lowerBound(starts, start, this.head);
    if (starts[i] === start) starts.splice(i, 1);
  }
}
