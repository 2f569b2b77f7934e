/**
 * Byte sizes as written in topologies and on the command line: "512KB", "64MB", "1GB", "1.5GB",
 * or a plain number of bytes. Units are binary (1KB = 1024 bytes), as memory is measured.
 */

/** spec.state.cacheSize when a topology gives none: memory for state per worker. */
export const DEFAULT_STATE_CACHE_SIZE = 256 * 2 ** 20;

const unitBytes: Record<string, number> = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 };

export const sizePattern = '^\\s*\\d+(\\.\\d+)?\\s*([kKmMgGtT]?[bB]|[kKmMgGtT][iI][bB])?\\s*$';
const shape = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b|[kmgt]ib)?\s*$/i;

/** Bytes, or undefined when the text is no size. */
export function parseSize(text: string): number | undefined {
  const m = shape.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase().replace('ib', 'b');
  return Math.round(Number(m[1]) * unitBytes[unit]!);
}

/** The shortest exact spelling: 268435456 → "256MB", 1536 → "1536B"... 1536 → "1.5KB" only when exact in tenths. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['TB', 2 ** 40], ['GB', 2 ** 30], ['MB', 2 ** 20], ['KB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
