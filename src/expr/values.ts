/**
 * Runtime semantics shared by every operator and function: field access, truthiness, equality,
 * ordering, coercion, and the runtime error that names the failing sub-expression.
 */
import type { Value } from '../core/record.js';
import { ExpressionRuntimeError } from './errors.js';

/** What a runtime error needs to say where it happened; built once per AST node at compile time. */
export interface Site {
  /** The whole expression. */
  source: string;
  /** The failing sub-expression's text. */
  text: string;
  offset: number;
}

export function runtimeError(site: Site, message: string): never {
  throw new ExpressionRuntimeError(`${message} in \`${site.text}\``, site.source, site.offset);
}

const hasOwn = Object.hasOwn;

/**
 * Own-property read: never reaches prototypes (`constructor`, `__proto__` read only what the
 * record itself holds). Arrays take integer indexes, negative ones counting from the end.
 */
export function getMember(obj: Value, key: Value): Value {
  if (obj === null || typeof obj !== 'object') return null;
  if (Array.isArray(obj)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) return null;
    const v = obj[key < 0 ? obj.length + key : key];
    return v === undefined ? null : v;
  }
  const k = typeof key === 'string' ? key : typeof key === 'number' ? String(key) : null;
  if (k === null || !hasOwn(obj, k)) return null;
  const v = obj[k];
  return v === undefined ? null : v;
}

export function typeName(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A value shown inside an error message: type and a short rendering. */
export function show(v: Value): string {
  if (v === null) return 'null';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  if (text.length > 40) text = `${text.slice(0, 37)}...`;
  return typeof v === 'object' ? `${typeName(v)} ${text}` : `${typeof v} ${text}`;
}

export function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== 0 && v !== '' && !(typeof v === 'number' && Number.isNaN(v));
}

export function equals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!hasOwn(b, k) || !equals(a[k] ?? null, b[k] ?? null)) return false;
  return true;
}

const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A number from a number or a numeric string; undefined when `v` is neither. */
export function parseNumber(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return undefined;
}

/** `a + b`: null if either is null; concatenation if either is a string; else numeric. */
export function add(a: Value, b: Value, site: Site): Value {
  if (a === null || b === null) return null;
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a === 'object' || typeof b === 'object') runtimeError(site, `'+' cannot join ${show(a)} and ${show(b)}; use json_string()`);
    return `${a as string}${b as string}`;
  }
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return runtimeError(site, `'+' needs numbers or strings, got ${show(a)} and ${show(b)}`);
}

/** `- * / %` on anything: null propagates; division and remainder by zero give null. */
export function arithmetic(op: '-' | '*' | '/' | '%', a: Value, b: Value, site: Site): Value {
  if (a === null || b === null) return null;
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (x === undefined || y === undefined) {
    return runtimeError(site, `'${op}' needs numbers, got ${show(a)} and ${show(b)}`);
  }
  switch (op) {
    case '-': return x - y;
    case '*': return x * y;
    case '/': return y === 0 ? null : x / y;
    case '%': return y === 0 ? null : x % y;
  }
}

export function negate(a: Value, site: Site): Value {
  if (a === null) return null;
  const x = parseNumber(a);
  if (x === undefined) return runtimeError(site, `'-' needs a number, got ${show(a)}`);
  return -x;
}

/**
 * Ordering for `< <= > >=`, min and max: -1/0/1, or undefined when a side is null (the
 * comparison is then false). Numbers with numbers (or numeric strings), strings with strings.
 */
export function order(a: Value, b: Value, op: string, site: Site): number | undefined {
  // NaN only comes from arithmetic on infinities; like null it is not ordered.
  if (a === null || b === null || a !== a || b !== b) return undefined;
  if (typeof a === typeof b && (typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'number' || typeof b === 'number') {
    const x = parseNumber(a);
    const y = parseNumber(b);
    if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  }
  return runtimeError(site, `'${op}' cannot compare ${show(a)} with ${show(b)}`);
}

export function compare(op: '<' | '<=' | '>' | '>=', a: Value, b: Value, site: Site): boolean {
  const c = order(a, b, op, site);
  if (c === undefined) return false;
  switch (op) {
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
}

/** `x in haystack`: array membership or substring; a null haystack holds nothing. */
export function contains(haystack: Value, needle: Value, what: string, site: Site): boolean {
  if (haystack === null) return false;
  if (Array.isArray(haystack)) {
    if (needle === null || typeof needle !== 'object') return haystack.includes(needle);
    return haystack.some((v) => equals(v, needle));
  }
  if (typeof haystack === 'string') {
    if (needle === null) return false;
    if (typeof needle !== 'string') return runtimeError(site, `${what} needs a string to look for in a string, got ${show(needle)}`);
    return haystack.includes(needle);
  }
  return runtimeError(site, `${what} needs an array or a string to look in, got ${show(haystack)}`);
}
