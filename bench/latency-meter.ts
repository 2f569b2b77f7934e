/** Latency bookkeeping shared by the CDC latency benches (cdc-latency, cdc-chain). */

/** Pairs "committed at" with "seen at" per id, in either order (a reader may see a row before COMMIT returns). */
export class Meter {
  private readonly committed = new Map<string, number>();
  private readonly early = new Map<string, number>();
  readonly samples: number[] = [];
  /** When each sample's row was committed (parallel to samples). */
  readonly committedAt: number[] = [];

  commit(id: string, at: number): void {
    const seen = this.early.get(id);
    if (seen === undefined) this.committed.set(id, at);
    else {
      this.early.delete(id);
      this.samples.push(Math.max(0, seen - at));
      this.committedAt.push(at);
    }
  }

  seen(id: string, at: number): void {
    const committed = this.committed.get(id);
    if (committed === undefined) this.early.set(id, at);
    else {
      this.committed.delete(id);
      this.samples.push(at - committed);
      this.committedAt.push(committed);
    }
  }

  /** Committed, not seen yet. */
  get pending(): number {
    return this.committed.size;
  }
}

export interface Stats { p50: number; p99: number; max: number; n: number }

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
  return { p50: at(0.5), p99: at(0.99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!, n: sorted.length };
}

/**
 * The p99 of the rows committed in each whole second from `start` (seconds with fewer than
 * `minRows` rows, such as a last partial one, are left out): a slow stretch of the machine shows
 * apart from a steady tail.
 */
export function p99BySecond(m: Meter, start: number, minRows: number): number[] {
  const seconds: number[][] = [];
  m.samples.forEach((latency, i) => (seconds[Math.floor((m.committedAt[i]! - start) / 1_000)] ??= []).push(latency));
  return [...seconds].filter((s): s is number[] => s !== undefined && s.length >= minRows).map((s) => stats(s).p99);
}

export const ms = (s: Stats): string => `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (n=${s.n})`;
