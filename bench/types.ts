/** One measured figure. Benchmarks report ratios within one run where they can. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export type Bench = () => Promise<BenchResult[]>;

/** The median of some figures (in any order). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
