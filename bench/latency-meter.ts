/** Latency bookkeeping shared by the CDC latency benches (cdc-latency, cdc-chain). */

/** Pairs "committed at" with "seen at" per id, in either order (a reader may see a row before COMMIT returns). */
export class Meter {
  private readonly committed = new Map<string, number>();
  private readonly early = new Map<string, number>();
  readonly samples: number[] = [];

  commit(id: string, at: number): void {
    const seen = this.early.get(id);
    if (seen === undefined) this.committed.set(id, at);
    else {
      this.early.delete(id);
      this.samples.push(Math.max(0, seen - at));
    }
  }

  seen(id: string, at: number): void {
    const committed = this.committed.get(id);
    if (committed === undefined) this.early.set(id, at);
    else {
      this.committed.delete(id);
      this.samples.push(at - committed);
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

export const ms = (s: Stats): string => `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (n=${s.n})`;
