/**
 * The fixed function whitelist. One table: arity, compile-time checks of literal arguments,
 * and the implementation. Conversions (number, int, parse_time, json_parse) give null for text
 * they cannot read; a value of the wrong kind (len(5), lower([1])) is a runtime type error.
 * Predicates (contains, starts_with, ends_with, matches) are false for null; other functions
 * return null when their main argument is null.
 */
import type { Value } from '../../core/record.js';
import type { Node } from '../ast.js';
import { fail } from '../errors.js';
import { contains, order, parseNumber, runtimeError, show, truthy, type Site } from '../values.js';
import { murmur3 } from './hash.js';
import { bucketStart, formatIsoTime, parseDuration, parseIsoTime } from './time.js';

export interface FunctionSpec {
  signature: string;
  min: number;
  max: number;
  /** Checks literal arguments at compile time; what it returns is handed to `impl` as `data`. */
  prepare?: (args: readonly Node[]) => unknown;
  impl: (args: readonly Value[], site: Site, data: unknown) => Value;
}

type Impl = FunctionSpec['impl'];

function str(v: Value, fn: string, site: Site): string {
  if (typeof v !== 'string') runtimeError(site, `${fn}() needs a string, got ${show(v)}`);
  return v;
}

function num(v: Value, fn: string, site: Site): number {
  const n = parseNumber(v);
  if (n === undefined) runtimeError(site, `${fn}() needs a number, got ${show(v)}`);
  return n;
}

/** Scalars as text (numbers, booleans); arrays and objects are refused. */
function text(v: Value, fn: string, site: Site): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return runtimeError(site, `${fn}() needs a string, got ${show(v)}`);
}

const stringFn = (name: string, f: (s: string) => Value): FunctionSpec => ({
  signature: `${name}(s)`, min: 1, max: 1,
  impl: ([s], site) => (s === null ? null : f(str(s, name, site))),
});

const numberFn = (name: string, f: (x: number) => number): FunctionSpec => ({
  signature: `${name}(x)`, min: 1, max: 1,
  impl: ([x], site) => (x === null ? null : f(num(x, name, site))),
});

const affix = (name: string, test: (s: string, p: string) => boolean): FunctionSpec => ({
  signature: `${name}(s, prefix)`, min: 2, max: 2,
  impl: ([s, p], site) => (s === null || p === null ? false : test(text(s, name, site), text(p, name, site))),
});

/** min/max over the arguments, or over the elements of a single array argument; nulls ignored. */
const extreme = (name: string, sign: number): Impl => (args, site) => {
  const items = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  let best: Value = null;
  for (const v of items) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') runtimeError(site, `${name}() needs numbers or strings, got ${show(v)}`);
    if (best === null || (order(v, best, `${name}()`, site) ?? 0) * sign > 0) best = v;
  }
  return best;
};

function round(x: number, digits: number): number {
  const sign = x < 0 ? -1 : 1;
  const abs = Math.abs(x);
  // Shifting the decimal point in the text avoids 1.005 * 100 = 100.49999 (half away from zero).
  const shifted = String(abs).includes('e') ? abs * 10 ** digits : Number(`${abs}e${digits}`);
  const r = Math.round(shifted);
  return sign * (String(r).includes('e') ? r / 10 ** digits : Number(`${r}e${-digits}`));
}

function literalString(args: readonly Node[], i: number, fn: string, what: string): string {
  const a = args[i];
  if (a.kind !== 'literal' || typeof a.value !== 'string') fail(`${fn}(): the ${what} must be a string literal`, a.start);
  return a.value;
}

function prepareRegex(args: readonly Node[]): RegExp {
  const pattern = literalString(args, 1, 'matches', 'pattern');
  const flags = args.length > 2 ? literalString(args, 2, 'matches', 'flags') : '';
  if (!/^[imsu]*$/.test(flags)) fail(`matches(): flags may only be i, m, s, u; got '${flags}'`, args[2].start);
  try {
    return new RegExp(pattern, flags);
  } catch (err) {
    return fail(`matches(): invalid pattern: ${(err as Error).message}`, args[1].start);
  }
}

function duration(unit: string, site: Site): number {
  const size = parseDuration(unit);
  if (size === undefined) runtimeError(site, `time_bucket() needs a duration like '1m', '1h', '1d', got '${unit}'`);
  return size;
}

export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map<string, FunctionSpec>([
  ['lower', stringFn('lower', (s) => s.toLowerCase())],
  ['upper', stringFn('upper', (s) => s.toUpperCase())],
  ['trim', stringFn('trim', (s) => s.trim())],
  ['len', {
    signature: 'len(s | array)', min: 1, max: 1,
    impl: ([v], site) => {
      if (v === null) return null;
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (typeof v === 'object') return Object.keys(v).length;
      return runtimeError(site, `len() needs a string, array or object, got ${show(v)}`);
    },
  }],
  ['substr', {
    signature: 'substr(s, start, len?)', min: 2, max: 3,
    impl: ([s, start, len], site) => {
      if (s === null || start === null) return null;
      const t = str(s, 'substr', site);
      let from = Math.trunc(num(start, 'substr', site));
      if (from < 0) from = Math.max(0, t.length + from);
      const count = len === undefined || len === null ? t.length : Math.max(0, Math.trunc(num(len, 'substr', site)));
      return t.slice(from, from + count);
    },
  }],
  ['concat', {
    signature: 'concat(a, b, ...)', min: 1, max: Infinity,
    impl: (args, site) => {
      if (args.some(Array.isArray)) {
        const out: Value[] = [];
        for (const a of args) {
          if (a === null) continue;
          if (!Array.isArray(a)) runtimeError(site, `concat() cannot mix arrays with ${show(a)}`);
          out.push(...a);
        }
        return out;
      }
      let out = '';
      for (const a of args) if (a !== null) out += text(a, 'concat', site);
      return out;
    },
  }],
  ['contains', {
    signature: 'contains(s | array, x)', min: 2, max: 2,
    impl: ([hay, x], site) => contains(hay, x, 'contains()', site),
  }],
  ['starts_with', affix('starts_with', (s, p) => s.startsWith(p))],
  ['ends_with', affix('ends_with', (s, p) => s.endsWith(p))],
  ['replace', {
    signature: 'replace(s, from, to)', min: 3, max: 3,
    impl: ([s, from, to], site) =>
      s === null ? null : str(s, 'replace', site).replaceAll(text(from, 'replace', site), () => (to === null ? '' : text(to, 'replace', site))),
  }],
  ['split', {
    signature: 'split(s, separator)', min: 2, max: 2,
    impl: ([s, sep], site) => (s === null ? null : str(s, 'split', site).split(text(sep, 'split', site))),
  }],
  ['coalesce', {
    signature: 'coalesce(a, b, ...)', min: 1, max: Infinity,
    impl: (args) => args.find((a) => a !== null) ?? null,
  }],
  ['abs', numberFn('abs', Math.abs)],
  ['floor', numberFn('floor', Math.floor)],
  ['ceil', numberFn('ceil', Math.ceil)],
  ['round', {
    signature: 'round(x, digits?)', min: 1, max: 2,
    impl: ([x, d], site) => {
      if (x === null) return null;
      const digits = d === undefined || d === null ? 0 : num(d, 'round', site);
      if (!Number.isInteger(digits) || Math.abs(digits) > 15) runtimeError(site, `round() needs whole digits between -15 and 15, got ${show(d ?? null)}`);
      return round(num(x, 'round', site), digits);
    },
  }],
  ['min', { signature: 'min(a, b, ...)', min: 1, max: Infinity, impl: extreme('min', -1) }],
  ['max', { signature: 'max(a, b, ...)', min: 1, max: Infinity, impl: extreme('max', 1) }],
  ['number', {
    signature: 'number(x)', min: 1, max: 1,
    impl: ([x], site) => {
      if (x === null || typeof x === 'number') return x;
      if (typeof x === 'boolean') return x ? 1 : 0;
      if (typeof x === 'string') return parseNumber(x) ?? null;
      return runtimeError(site, `number() cannot convert ${show(x)}`);
    },
  }],
  ['int', {
    signature: 'int(x)', min: 1, max: 1,
    impl: ([x], site) => {
      if (x === null) return null;
      if (typeof x === 'boolean') return x ? 1 : 0;
      if (typeof x === 'object') runtimeError(site, `int() cannot convert ${show(x)}`);
      const n = parseNumber(x);
      return n === undefined || !Number.isFinite(n) ? null : Math.trunc(n) + 0;
    },
  }],
  ['string', {
    signature: 'string(x)', min: 1, max: 1,
    impl: ([x]) => (x === null ? null : typeof x === 'object' ? JSON.stringify(x) : String(x)),
  }],
  ['is_null', { signature: 'is_null(x)', min: 1, max: 1, impl: ([x]) => x === null }],
  ['if', {
    signature: 'if(condition, then, else)', min: 3, max: 3,
    impl: ([c, a, b]) => (truthy(c) ? a : b),
  }],
  ['parse_time', {
    signature: 'parse_time(iso)', min: 1, max: 1,
    impl: ([x], site) => {
      if (x === null || typeof x === 'number') return x;
      return parseIsoTime(str(x, 'parse_time', site));
    },
  }],
  ['format_time', {
    signature: 'format_time(ms)', min: 1, max: 1,
    impl: ([x], site) => (x === null ? null : formatIsoTime(num(x, 'format_time', site))),
  }],
  ['time_bucket', {
    signature: "time_bucket(ms, '1m' | '1h' | '1d' ...)", min: 2, max: 2,
    prepare: (args) => {
      const u = args[1];
      if (u.kind !== 'literal') return undefined;
      const size = typeof u.value === 'string' ? parseDuration(u.value) : undefined;
      if (size === undefined) fail(`time_bucket(): the size must be a duration like '1m', '1h', '1d', got ${JSON.stringify(u.value)}`, u.start);
      return size;
    },
    impl: ([ms, unit], site, size) => {
      if (ms === null) return null;
      const s = typeof size === 'number' ? size : unit === null ? null : duration(str(unit, 'time_bucket', site), site);
      return s === null ? null : bucketStart(num(ms, 'time_bucket', site), s);
    },
  }],
  ['hash', {
    signature: 'hash(x)', min: 1, max: 1,
    impl: ([x]) => (x === null ? null : murmur3(typeof x === 'object' ? JSON.stringify(x) : String(x))),
  }],
  ['matches', {
    signature: "matches(s, 'pattern', 'flags'?)", min: 2, max: 3,
    prepare: prepareRegex,
    impl: ([s], site, re) => (s === null ? false : (re as RegExp).test(text(s, 'matches', site))),
  }],
  ['json_parse', {
    signature: 'json_parse(s)', min: 1, max: 1,
    impl: ([s], site) => {
      if (s === null) return null;
      try {
        return JSON.parse(str(s, 'json_parse', site)) as Value;
      } catch (err) {
        if (err instanceof SyntaxError) return null;
        throw err;
      }
    },
  }],
  ['json_string', { signature: 'json_string(x)', min: 1, max: 1, impl: ([x]) => JSON.stringify(x) }],
]);

/** Known names close to `name` (edit distance <= 2, or one contains the other). */
export function closeNames(name: string): string[] {
  const lower = name.toLowerCase();
  const limit = lower.length <= 3 ? 1 : 2;
  return [...FUNCTIONS.keys()].filter((k) => distance(lower, k) <= limit || (lower.length >= 3 && (k.includes(lower) || lower.includes(k))));
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
