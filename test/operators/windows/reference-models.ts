/**
 * What each window kind must do, modelled naively per record from the same (record, watermark)
 * sequence the operator saw: lateness, the 'update' emissions of each record, the finals, and
 * for rolling windows the value as of any reference time.
 */
import type { Row } from '../../../src/core/record.js';
import type { AggregateSpec, EmitMode, WindowSpec } from '../../../src/operators/windows/types.js';
import { values, type RefRecord } from './reference.js';

export interface Expected {
  windowStart: number;
  windowEnd: number;
  asOf: number;
  values: Row;
}

export interface RefOutcome {
  late: boolean;
  /** The record is accepted but carries a bad value: the operator must throw and keep no trace. */
  invalid: boolean;
  updates: Expected[];
}

export interface RefModel {
  record(key: string, rec: RefRecord, wm: number, invalid: boolean): RefOutcome;
  /** Finals, keyed `${key}|${windowStart}|${windowEnd}`, after everything closed. */
  finals(): Map<string, Row>;
  /** Rolling only: value as of max(wm, the key's max event time). */
  valueNow?(key: string, wm: number): Row;
}

interface Ctx {
  aggs: readonly AggregateSpec[];
  limit: number;
  lateness: number;
  emit: EmitMode;
  hllPrecision: number;
}

function sliced(size: number, slide: number, c: Ctx): RefModel {
  const accepted = new Map<string, { rec: RefRecord; wm: number }[]>();
  return {
    record(key, rec, wm, invalid) {
      const t = rec.t;
      const open: number[] = [];
      let inAny = false;
      for (let w = Math.floor(t / slide) * slide; w + size > t; w -= slide) {
        if (t < w) continue;
        inAny = true;
        if (w + size + c.lateness > wm) open.unshift(w);
      }
      if (!inAny || open.length === 0) return { late: true, invalid: false, updates: [] };
      if (invalid) return { late: false, invalid: true, updates: [] };
      const list = accepted.get(key) ?? [];
      list.push({ rec, wm });
      accepted.set(key, list);
      const updates =
        c.emit === 'updates'
          ? open.map((w) => ({
              windowStart: w,
              windowEnd: w + size,
              asOf: t,
              values: values(c.aggs, list.filter((x) => x.rec.t >= w && x.rec.t < w + size).map((x) => x.rec), c.limit, c.hllPrecision),
            }))
          : [];
      return { late: false, invalid: false, updates };
    },
    finals() {
      const out = new Map<string, Row>();
      if (c.emit !== 'final') return out;
      for (const [key, list] of accepted) {
        const windows = new Map<number, RefRecord[]>();
        for (const { rec, wm } of list) {
          for (let w = Math.floor(rec.t / slide) * slide; w + size > rec.t; w -= slide) {
            if (rec.t < w || w + size + c.lateness <= wm) continue;
            windows.set(w, [...(windows.get(w) ?? []), rec]);
          }
        }
        for (const [w, recs] of windows) out.set(`${key}|${w}|${w + size}`, values(c.aggs, recs, c.limit, c.hllPrecision));
      }
      return out;
    },
  };
}

function rolling(size: number, r: number, c: Ctx): RefModel {
  const accepted = new Map<string, RefRecord[]>();
  const maxT = new Map<string, number>();
  const inWindow = (key: string, asOf: number): RefRecord[] => {
    const f = Math.floor(asOf / r) * r;
    return (accepted.get(key) ?? []).filter((x) => {
      const s = Math.floor(x.t / r) * r;
      return s > f - size && s <= f;
    });
  };
  return {
    record(key, rec, wm, invalid) {
      const t = rec.t;
      if (t < wm - c.lateness) return { late: true, invalid: false, updates: [] };
      const asOf = Math.max(wm, maxT.get(key) ?? -Infinity, t);
      const f = Math.floor(asOf / r) * r;
      if (Math.floor(t / r) * r <= f - size) return { late: true, invalid: false, updates: [] };
      if (invalid) return { late: false, invalid: true, updates: [] };
      accepted.set(key, [...(accepted.get(key) ?? []), rec]);
      maxT.set(key, Math.max(maxT.get(key) ?? -Infinity, t));
      return {
        late: false,
        invalid: false,
        updates: [{ windowStart: f - size + r, windowEnd: f + r, asOf, values: values(c.aggs, inWindow(key, asOf), c.limit, c.hllPrecision) }],
      };
    },
    finals: () => new Map(),
    valueNow(key, wm) {
      return values(c.aggs, inWindow(key, Math.max(wm, maxT.get(key) ?? -Infinity)), c.limit, c.hllPrecision);
    },
  };
}

function session(gap: number, c: Ctx): RefModel {
  type S = { start: number; last: number; recs: RefRecord[] };
  const sessions = new Map<string, S[]>();
  const finals = new Map<string, Row>();
  const close = (key: string, wm: number): void => {
    const list = sessions.get(key) ?? [];
    const keep: S[] = [];
    for (const s of list) {
      if (s.last + gap + c.lateness <= wm) {
        if (c.emit === 'final') finals.set(`${key}|${s.start}|${s.last + gap}`, values(c.aggs, s.recs, c.limit, c.hllPrecision));
      } else keep.push(s);
    }
    sessions.set(key, keep);
  };
  return {
    record(key, rec, wm, invalid) {
      const t = rec.t;
      close(key, wm);
      const list = sessions.get(key)!;
      const hit = list.filter((s) => s.start < t + gap && s.last + gap > t);
      if (hit.length === 0 && t + gap + c.lateness <= wm) return { late: true, invalid: false, updates: [] };
      if (invalid) return { late: false, invalid: true, updates: [] };
      const merged: S = {
        start: Math.min(t, ...hit.map((s) => s.start)),
        last: Math.max(t, ...hit.map((s) => s.last)),
        recs: [...hit.flatMap((s) => s.recs), rec],
      };
      sessions.set(key, [...list.filter((s) => !hit.includes(s)), merged].sort((a, b) => a.start - b.start));
      const updates =
        c.emit === 'updates' ? [{ windowStart: merged.start, windowEnd: merged.last + gap, asOf: t, values: values(c.aggs, merged.recs, c.limit, c.hllPrecision) }] : [];
      return { late: false, invalid: false, updates };
    },
    finals() {
      for (const key of sessions.keys()) close(key, Infinity);
      return finals;
    },
  };
}

export function referenceModel(window: WindowSpec, c: Ctx): RefModel {
  switch (window.kind) {
    case 'tumbling':
      return sliced(window.size, window.size, c);
    case 'hopping':
      return sliced(window.size, window.slide, c);
    case 'rolling':
      return rolling(window.size, window.resolution, c);
    case 'session':
      return session(window.gap, c);
  }
}

