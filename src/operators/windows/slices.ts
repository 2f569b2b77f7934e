/**
 * Window arithmetic, the one place it lives. Times are epoch ms; windows are aligned to the epoch.
 *
 * Slices: a window's state is the merge of its slices; a record updates exactly one slice.
 *   slice length: tumbling = size, hopping = gcd(size, slide), rolling = resolution; every
 *   window boundary is a multiple of it, so a slice lies wholly inside or outside each window.
 * Tumbling/hopping: windows [k·slide, k·slide + size) (tumbling: slide = size). A window
 *   closes when watermark ≥ end + allowedLateness.
 * Rolling(size, r) as of reference time T: F = ⌊T/r⌋·r; the live slices are those with start in
 *   (F − size, F]; reported bounds [F − size + r, F + r). A slice s leaves at the first T with
 *   F ≥ s + size, i.e. T = ⌈(s + size)/r⌉·r.
 */
import type { WindowSpec } from './types.js';

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}

/** Slice length for tumbling/hopping/rolling windows (sessions have no fixed slices). */
export function sliceLength(w: Exclude<WindowSpec, { kind: 'session' }>): number {
  switch (w.kind) {
    case 'tumbling':
      return w.size;
    case 'hopping':
      return gcd(w.size, w.slide);
    case 'rolling':
      return w.resolution;
  }
}

/** Start of the slice (or aligned window) of length `len` that contains t. */
export function floorTo(t: number, len: number): number {
  return Math.floor(t / len) * len;
}

/** Smallest aligned window start whose window [start, start + size) contains t. */
export function firstWindowStart(t: number, size: number, slide: number): number {
  return (Math.floor((t - size) / slide) + 1) * slide;
}

/** Smallest aligned window start whose window is still open (end + allowedLateness > watermark). */
export function firstOpenWindowStart(size: number, slide: number, allowedLateness: number, watermark: number): number {
  if (watermark === -Infinity) return -Infinity;
  return (Math.floor((watermark - allowedLateness - size) / slide) + 1) * slide;
}

/** The reference time at which slice `start` leaves a rolling window. */
export function rollingLeaveTime(start: number, size: number, resolution: number): number {
  return Math.ceil((start + size) / resolution) * resolution;
}

export { lowerBound, hasSorted, insertSorted } from '../../core/sorted.js';
