/** Seeded randomness for state tests: the seed comes from TEST_SEED or the clock and is printed on failure. */
export interface Rng {
  seed: number;
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

export function makeRng(seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000)): Rng {
  let s = seed >>> 0;
  const next = (): number => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
}

/** Runs `body` and, if it throws, prefixes the error with the seed so the run can be repeated. */
export function withSeed(rng: Rng, body: () => void): void {
  try {
    body();
  } catch (err) {
    if (err instanceof Error) err.message = `[TEST_SEED=${rng.seed}] ${err.message}`;
    throw err;
  }
}

/** withSeed for an async body. */
export async function withSeedAsync(rng: Rng, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Error) err.message = `[TEST_SEED=${rng.seed}] ${err.message}`;
    throw err;
  }
}
