/** Time helpers behind parse_time, format_time and time_bucket. All times are UTC epoch ms. */

// ISO-8601 as found in events and binlogs: 2024-05-01, 2024-05-01T10:00, 2024-05-01 10:00:00.123+08:00.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

const MAX_MS = 8.64e15;

/** Epoch ms of an ISO-8601 text, or null when it is not one. A time without a zone is UTC. */
export function parseIsoTime(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => (p === undefined ? 0 : Number(p)));
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  let t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC maps years 0-99 to 1900-1999.
  if (year < 100) t = new Date(t).setUTCFullYear(year);
  if (m[9] !== undefined) {
    const offset = (Number(m[10]) * 60 + Number(m[11])) * 60_000;
    t += m[9] === '+' ? -offset : offset;
  }
  return t;
}

export function formatIsoTime(ms: number): string | null {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_MS) return null;
  return new Date(ms).toISOString();
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** '1m', '15s', '1h', '1d', '1w', '500ms' -> milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(text);
  if (m === null) return undefined;
  const size = Number(m[1]) * UNIT_MS[m[2]];
  return size > 0 && Number.isSafeInteger(size) ? size : undefined;
}

/** Start of the bucket of `size` ms holding `ms` (buckets aligned to the epoch, UTC). */
export function bucketStart(ms: number, size: number): number {
  return Math.floor(ms / size) * size;
}
