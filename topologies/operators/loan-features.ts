/**
 * Operators of topologies/cdc-loan-features.yaml.
 *
 * `signedRows` turns one CDC envelope into weighted rows: the before-image with w = -1 (update,
 * delete) and the after-image with w = +1 (insert, snapshot read 'r', update). An update that
 * moves a row to another user so retracts from the old user and adds to the new one; an update
 * of applied_at moves the row between time slices. Rows of other tables are ignored.
 *
 * `userFeatures` (keyed by user_id) folds the weighted rows into per-user state and emits the
 * user's features after every change:
 *   apply_cnt_24h / apply_amt_24h / apply_cnt_3d / apply_amt_3d
 *       live loan_application rows (any status) whose applied_at lies in the window, as of
 *       `as_of` = the latest event time (binlog commit time) the user has seen. applied_at is kept
 *       in 1-minute slices: a slice [s, s+1m) counts while s + 1m > as_of - window (the trailing
 *       edge is exact to the minute, like `rolling` with `resolution: 1m`). Values change only
 *       when the user has a new change (a code operator has no timers): a reader wanting
 *       "as of now" for a user idle for hours must treat the stored `as_of` as the reference time.
 *   outstanding_principal  sum(amount of approved loans) - sum(principal of repayments), unwindowed
 *   last_repaid_at         max(repaid_at) of the user's live repayments, epoch ms (UTC); absent
 *       when the user has none. "Days since last repayment" = (now - last_repaid_at) / 86400000,
 *       computed by the reader so it stays true without new events.
 * Amounts are exact decimal strings with 2 decimals (DECIMAL(18,2) in, integer cents inside).
 * `ver` counts the user's changes: it is the Redis version (sink `version: ver`), so a write
 * after a crash-replay (state restored, the same binlog replayed, the same counts) never lets an
 * older value overwrite a newer one, while a retraction with an older applied_at still applies.
 */
import { defineOperator, type Row, type Value } from 'tributary';

const SLICE_MS = 60_000;
const DAY_MS = 86_400_000;
const WINDOWS = [['24h', DAY_MS], ['3d', 3 * DAY_MS]] as const;
const LONGEST_MS = 3 * DAY_MS;

/** DECIMAL text ("-12.3", "45.67", 12) -> integer cents, exact. */
export function toCents(v: Value | undefined): number {
  if (v === null || v === undefined) return 0;
  const text = String(v).trim();
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new Error(`not a decimal amount: ${text}`);
  const cents = Number(m[2] || '0') * 100 + Number(((m[3] ?? '') + '00').slice(0, 2));
  return m[1] === '-' ? -cents : cents;
}

export function fromCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function epochMs(v: Value | undefined): number | null {
  if (v === null || v === undefined) return null;
  const ms = typeof v === 'number' ? v : Date.parse(String(v));
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${String(v)}`);
  return ms;
}

function signed(table: string, image: Row, w: number): Row | undefined {
  if (table === 'loan_application') {
    return { kind: 'loan', w, user_id: image.user_id ?? null, cents: toCents(image.amount), approved: image.status === 'approved', at: epochMs(image.applied_at) };
  }
  if (table === 'repayment') {
    return { kind: 'repay', w, user_id: image.user_id ?? null, cents: toCents(image.principal), at: epochMs(image.repaid_at) };
  }
  return undefined;
}

export const signedRows = defineOperator({
  process(record, ctx) {
    const env = record.value as { op?: string; before?: Row | null; after?: Row | null; source?: Row };
    const table = String(env.source?.table ?? '');
    if (env.before && (env.op === 'u' || env.op === 'd')) {
      const row = signed(table, env.before, -1);
      if (row) ctx.emit(row, { key: row.user_id });
    }
    if (env.after && (env.op === 'c' || env.op === 'r' || env.op === 'u')) {
      const row = signed(table, env.after, 1);
      if (row) ctx.emit(row, { key: row.user_id });
    }
  },
});

/** Per-user state: compact, JSON (the code step's state codec). */
interface UserState {
  ver: number;
  asOf: number;
  /** slice start (ms) -> [count, cents] of live applications. */
  apps: Record<string, [number, number]>;
  outstanding: number;
  /** repaid_at (ms) -> number of live repayments at that time (max needs the multiset). */
  repaid: Record<string, number>;
}

function add(map: Record<string, number>, k: string, d: number): void {
  const n = (map[k] ?? 0) + d;
  if (n === 0) delete map[k];
  else map[k] = n;
}

export const userFeatures = defineOperator({
  process(record, ctx) {
    const row = record.value;
    const st = (ctx.state.get() as unknown as UserState | undefined) ?? { ver: 0, asOf: 0, apps: {}, outstanding: 0, repaid: {} };
    const w = Number(row.w);
    st.ver += 1;
    st.asOf = Math.max(st.asOf, record.timestamp);
    if (row.kind === 'loan') {
      const cents = Number(row.cents);
      if (row.approved === true) st.outstanding += w * cents;
      if (typeof row.at === 'number') {
        const slice = row.at - (((row.at % SLICE_MS) + SLICE_MS) % SLICE_MS);
        // A slice that already left the longest window no longer matters to any feature.
        if (slice + SLICE_MS > st.asOf - LONGEST_MS) {
          const cur = st.apps[slice] ?? [0, 0];
          const next: [number, number] = [cur[0] + w, cur[1] + w * cents];
          if (next[0] === 0 && next[1] === 0) delete st.apps[slice];
          else st.apps[slice] = next;
        }
      }
    } else if (row.kind === 'repay') {
      st.outstanding -= w * Number(row.cents);
      if (typeof row.at === 'number') add(st.repaid, String(row.at), w);
    }
    const out: Row = { user_id: record.key, as_of: st.asOf, ver: st.ver };
    for (const [name, size] of WINDOWS) {
      let count = 0;
      let cents = 0;
      for (const [slice, [c, a]] of Object.entries(st.apps)) {
        const start = Number(slice);
        if (start + SLICE_MS <= st.asOf - LONGEST_MS) {
          delete st.apps[slice];
          continue;
        }
        if (start + SLICE_MS > st.asOf - size) {
          count += c;
          cents += a;
        }
      }
      out[`apply_cnt_${name}`] = count;
      out[`apply_amt_${name}`] = fromCents(cents);
    }
    out.outstanding_principal = fromCents(st.outstanding);
    const times = Object.keys(st.repaid).map(Number);
    out.last_repaid_at = times.length > 0 ? Math.max(...times) : null;
    ctx.state.put(st as unknown as Value);
    ctx.emit(out);
  },
});
