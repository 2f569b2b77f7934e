/** One measured figure. Benchmarks report ratios within one run where they can. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export type Bench = () => Promise<BenchResult[]>;
