/**
 * Validation of a ConfigNode against a Spec: collects every error (with file:line:col and the
 * YAML path), applies defaults, coerces ${VAR}-interpolated strings to the expected scalar type,
 * and never echoes an interpolated value in a message.
 */
import { TopologyError, TopologyErrors } from './errors.js';
import { findEntry, fromValue, toPlain, type ConfigNode, type MapNode, type Position, type ScalarNode } from './config-node.js';
import { parseDuration } from './duration.js';
import { formatSize, parseSize } from './size.js';
import { closest, joinPath } from './names.js';
import type { AnySpec, Fields, Infer, SpecDef } from './spec.js';

export interface ValidationContext {
  file: string;
  errors: TopologyError[];
  /** Filled with path → text as written ('${VAR}') for every interpolated scalar accepted. */
  interpolated?: Map<string, string>;
}

const INVALID: unique symbol = Symbol('invalid');
type Checked = unknown | typeof INVALID;

/**
 * Validate `node` (undefined = absent) against `spec`. Returns the typed value, or undefined when
 * this call added errors to ctx.errors.
 */
export function validateSpec<S extends AnySpec>(
  spec: S,
  node: ConfigNode | undefined,
  ctx: ValidationContext,
  path = '',
  at: Position = node?.pos ?? { line: 1, col: 1 },
): Infer<S> | undefined {
  const before = ctx.errors.length;
  const out = checkPresence(spec, node, ctx, path, at, () => `expected ${expectation(spec.def)}`);
  return out === INVALID || ctx.errors.length > before ? undefined : (out as Infer<S>);
}

/** Validate a value built in code (e.g. a connector config from defaults); throws TopologyErrors. */
export function parseConfig<S extends AnySpec>(spec: S, value: unknown, opts: { file?: string; path?: string } = {}): Infer<S> {
  const ctx: ValidationContext = { file: opts.file ?? '<config>', errors: [] };
  const out = validateSpec(spec, value === undefined ? undefined : fromValue(value), ctx, opts.path ?? '');
  if (ctx.errors.length > 0) throw new TopologyErrors(ctx.errors);
  return out as Infer<S>;
}

function noteInterpolated(node: ConfigNode, path: string, ctx: ValidationContext): void {
  if (!ctx.interpolated) return;
  if (node.kind === 'scalar') {
    if (node.interpolated) ctx.interpolated.set(path, node.interpolated.source);
  } else if (node.kind === 'seq') node.items.forEach((item, i) => noteInterpolated(item, `${path}[${i}]`, ctx));
  else for (const e of node.entries) noteInterpolated(e.value, joinPath(path, e.key), ctx);
}

function fail(ctx: ValidationContext, at: Position, path: string, message: string): typeof INVALID {
  ctx.errors.push(new TopologyError('TRIB_TOPOLOGY_INVALID', { file: ctx.file, line: at.line, col: at.col, path }, message));
  return INVALID;
}

function isNull(node: ConfigNode | undefined): boolean {
  return node === undefined || (node.kind === 'scalar' && node.value === null && !node.interpolated);
}

function checkPresence(
  spec: AnySpec,
  node: ConfigNode | undefined,
  ctx: ValidationContext,
  path: string,
  at: Position,
  missing: () => string,
): Checked {
  if (isNull(node)) {
    const { presence, defaultValue } = spec.meta;
    if (presence === 'optional') return undefined;
    if (presence === 'defaulted') return check(spec, fromValue(defaultValue, node?.pos ?? at), ctx, path, true);
    // `stdout:` and `stdout: {}` mean the same thing.
    if (node && (spec.def.type === 'object' || spec.def.type === 'record')) {
      return check(spec, { kind: 'map', pos: node.pos, entries: [] }, ctx, path, false);
    }
    return fail(ctx, node?.pos ?? at, path, missing());
  }
  return check(spec, node as ConfigNode, ctx, path, false);
}

function check(spec: AnySpec, node: ConfigNode, ctx: ValidationContext, path: string, fromDefault: boolean): Checked {
  const def = spec.def;
  if (node.kind === 'scalar' && node.broken) return INVALID;
  if (spec.meta.secret && !fromDefault && !(node.kind === 'scalar' && node.interpolated)) {
    const name = path.split(/[.[]/).pop() ?? 'value';
    return fail(ctx, node.pos, path, `'${name}' is a secret: write it as \${SOME_ENV_VAR} so it comes from the environment, not the file`);
  }
  switch (def.type) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'duration':
    case 'size':
    case 'enum': {
      if (node.kind !== 'scalar') return mismatch(def, node, ctx, path);
      const v = scalar(def, node, ctx, path);
      if (v !== INVALID && node.interpolated) ctx.interpolated?.set(path, node.interpolated.source);
      return v;
    }
    case 'any':
      noteInterpolated(node, path, ctx);
      return toPlain(node);
    case 'array': {
      if (node.kind !== 'seq') return mismatch(def, node, ctx, path);
      if (def.minItems !== undefined && node.items.length < def.minItems) {
        return fail(ctx, node.pos, path, `expected at least ${def.minItems} item(s)`);
      }
      let ok = true;
      const out = node.items.map((item, i) => {
        const v = checkPresence(def.items, item, ctx, `${path}[${i}]`, item.pos, () => `expected ${expectation(def.items.def)}`);
        if (v === INVALID) ok = false;
        return v;
      });
      return ok ? out : INVALID;
    }
    case 'record': {
      if (node.kind !== 'map') return mismatch(def, node, ctx, path);
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const e of node.entries) {
        const p = joinPath(path, e.key);
        if (def.keyPattern && !new RegExp(def.keyPattern).test(e.key)) {
          ok = false;
          fail(ctx, e.keyPos, p, `invalid name '${e.key}': ${def.keyHint ?? `must match ${def.keyPattern}`}`);
          continue;
        }
        const v = checkPresence(def.values, e.value, ctx, p, e.keyPos, () => `expected ${expectation(def.values.def)}`);
        if (v === INVALID) ok = false;
        else out[e.key] = v;
      }
      return ok ? out : INVALID;
    }
    case 'object': {
      if (node.kind !== 'map') return mismatch(def, node, ctx, path);
      const known = Object.keys(def.fields);
      let ok = true;
      for (const e of node.entries) {
        if (!(e.key in def.fields)) ok = unknownField(ctx, e.key, e.keyPos, path, known) && ok;
      }
      const out = checkFields(def.fields, node, ctx, path);
      return ok ? out : INVALID;
    }
    case 'oneOfKeys':
      if (node.kind !== 'map') return mismatch(def, node, ctx, path);
      return checkOneOf(def, node, ctx, path);
    case 'union': {
      const option = def.options.find((o) => takesShape(o.def, node));
      if (!option) return mismatch(def, node, ctx, path);
      return check(option, node, ctx, path, fromDefault);
    }
  }
}

/** Whether a node is written in the shape a spec takes (its content may still be wrong). */
function takesShape(def: SpecDef, node: ConfigNode): boolean {
  switch (def.type) {
    case 'any':
      return true;
    case 'union':
      return def.options.some((o) => takesShape(o.def, node));
    case 'array':
      return node.kind === 'seq';
    case 'record':
    case 'object':
    case 'oneOfKeys':
      return node.kind === 'map';
    default:
      return node.kind === 'scalar';
  }
}

function checkFields(fields: Fields, node: MapNode, ctx: ValidationContext, path: string): Checked {
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const [name, spec] of Object.entries(fields)) {
    const entry = findEntry(node, name);
    const v = checkPresence(spec, entry?.value, ctx, joinPath(path, name), entry?.keyPos ?? node.pos, () =>
      `missing required field '${name}' (${expectation(spec.def)})`,
    );
    if (v === INVALID) ok = false;
    else if (v !== undefined) out[name] = v;
  }
  return ok ? out : INVALID;
}

function unknownField(ctx: ValidationContext, key: string, at: Position, path: string, known: readonly string[]): boolean {
  const guess = closest(key, known);
  const hint = guess ? `; did you mean '${guess}'?` : known.length ? ` (known fields: ${known.join(', ')})` : '';
  fail(ctx, at, joinPath(path, key), `unknown field '${key}'${hint}`);
  return false;
}

function checkOneOf(def: Extract<SpecDef, { type: 'oneOfKeys' }>, node: MapNode, ctx: ValidationContext, path: string): Checked {
  const variantKeys = Object.keys(def.variants);
  const present = node.entries.filter((e) => e.key in def.variants);
  const chosen = present[0]?.key;
  let ok = true;
  for (const extra of present.slice(1)) {
    ok = fail(ctx, extra.keyPos, joinPath(path, extra.key),
      `'${extra.key}' cannot be combined with '${chosen}': each has exactly one ${def.noun} (${variantKeys.join(', ')})`) !== INVALID && ok;
  }
  const allowed: Fields = { ...def.common, ...(chosen ? { [chosen]: def.variants[chosen] } : {}), ...(chosen ? def.siblings[chosen] ?? {} : {}) };
  const allKnown = [...new Set([...Object.keys(def.common), ...variantKeys, ...Object.values(def.siblings).flatMap((f) => Object.keys(f))])];
  let suggestedVariant = false;
  for (const e of node.entries) {
    if (e.key in allowed || e.key in def.variants) continue;
    const owners = Object.entries(def.siblings).filter(([, f]) => e.key in f).map(([k]) => k);
    if (owners.length > 0) {
      const where = chosen ? ` (this one is '${chosen}')` : '';
      ok = fail(ctx, e.keyPos, joinPath(path, e.key), `'${e.key}' only goes with ${owners.map((o) => `'${o}'`).join(' or ')}${where}`) !== INVALID && ok;
      continue;
    }
    if (variantKeys.includes(closest(e.key, allKnown) ?? '')) suggestedVariant = true;
    ok = unknownField(ctx, e.key, e.keyPos, path, allKnown) && ok;
  }
  if (!chosen) {
    // A misspelt kind already produced "did you mean 'filter'?"; a second error would be noise.
    if (!suggestedVariant) fail(ctx, node.pos, path, `expected exactly one ${def.noun}: ${variantKeys.join(', ')}`);
    checkFields(def.common, node, ctx, path);
    return INVALID;
  }
  const out = checkFields(allowed, node, ctx, path);
  return ok ? out : INVALID;
}

function scalar(def: SpecDef, node: ScalarNode, ctx: ValidationContext, path: string): Checked {
  const v = node.value;
  const fromEnv = node.interpolated !== undefined;
  switch (def.type) {
    case 'string': {
      if (v === null) return mismatch(def, node, ctx, path);
      const str = typeof v === 'string' ? v : node.raw ?? String(v);
      if (def.minLength !== undefined && str.length < def.minLength) {
        return fail(ctx, node.pos, path, def.minLength === 1 ? 'expected a non-empty string' : `expected at least ${def.minLength} characters`);
      }
      if (def.pattern && !new RegExp(def.pattern).test(str)) {
        return fail(ctx, node.pos, path, `invalid value ${describe(node)}: ${def.patternHint ?? `must match ${def.pattern}`}`);
      }
      return str;
    }
    case 'number': {
      const n = typeof v === 'number' ? v : fromEnv && typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) return mismatch(def, node, ctx, path);
      if (def.integer && !Number.isInteger(n)) return fail(ctx, node.pos, path, `expected an integer, got ${describe(node)}`);
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
        return fail(ctx, node.pos, path, `expected ${expectation(def)}, got ${describe(node)}`);
      }
      return n;
    }
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      if (fromEnv && typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
      return mismatch(def, node, ctx, path);
    }
    case 'duration': {
      let ms: number | undefined;
      if (typeof v === 'number') ms = v;
      else if (typeof v === 'string') ms = fromEnv && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : parseDuration(v);
      if (ms === undefined || !Number.isFinite(ms) || ms < 0) return mismatch(def, node, ctx, path);
      ms = Math.round(ms);
      if ((def.min !== undefined && ms < def.min) || (def.max !== undefined && ms > def.max)) {
        return fail(ctx, node.pos, path, `expected ${expectation(def)}, got ${describe(node)}`);
      }
      return ms;
    }
    case 'size': {
      let bytes: number | undefined;
      if (typeof v === 'number') bytes = v;
      else if (typeof v === 'string') bytes = parseSize(v);
      if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return mismatch(def, node, ctx, path);
      bytes = Math.round(bytes);
      if ((def.min !== undefined && bytes < def.min) || (def.max !== undefined && bytes > def.max)) {
        return fail(ctx, node.pos, path, `expected ${expectation(def)}, got ${describe(node)}`);
      }
      return bytes;
    }
    case 'enum': {
      if (typeof v === 'string' && def.values.includes(v)) return v;
      const guess = typeof v === 'string' && !fromEnv ? closest(v, def.values) : undefined;
      return fail(ctx, node.pos, path, `expected ${expectation(def)}, got ${describe(node)}${guess ? `; did you mean '${guess}'?` : ''}`);
    }
    default:
      return mismatch(def, node, ctx, path);
  }
}

function mismatch(def: SpecDef, node: ConfigNode, ctx: ValidationContext, path: string): typeof INVALID {
  return fail(ctx, node.pos, path, `expected ${expectation(def)}, got ${describe(node)}`);
}

/** What a spec accepts, in words. */
export function expectation(def: SpecDef): string {
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'number': {
      const base = def.integer ? 'an integer' : 'a number';
      if (def.min !== undefined && def.max !== undefined) return `${base} from ${def.min} to ${def.max}`;
      if (def.min !== undefined) return `${base} >= ${def.min}`;
      if (def.max !== undefined) return `${base} <= ${def.max}`;
      return base;
    }
    case 'boolean':
      return 'true or false';
    case 'duration': {
      const range = def.min !== undefined || def.max !== undefined ? ` (${def.min ?? 0}ms to ${def.max ?? '∞'}ms)` : '';
      return `a duration like "500ms", "5s", "1m", "1h", "3d" or a number of milliseconds${range}`;
    }
    case 'size': {
      const range = def.min !== undefined || def.max !== undefined ? ` (${formatSize(def.min ?? 0)} to ${def.max !== undefined ? formatSize(def.max) : '∞'})` : '';
      return `a size like "512KB", "64MB", "1GB" or a number of bytes${range}`;
    }
    case 'enum':
      return `one of ${def.values.map((x) => `'${x}'`).join(', ')}`;
    case 'array':
      return 'a list';
    case 'record':
    case 'object':
    case 'any':
      return def.type === 'any' ? 'a value' : 'a mapping';
    case 'oneOfKeys':
      return `a mapping with one of ${Object.keys(def.variants).join(', ')}`;
    case 'union':
      return def.options.map((o) => expectation(o.def)).join(', or ');
  }
}

/** A node in words; interpolated values are named by their ${VAR} text, never shown. */
function describe(node: ConfigNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.interpolated) return `the value of ${node.interpolated.source}`;
  const v = node.value;
  if (v === null) return 'nothing (null)';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  return String(v);
}
