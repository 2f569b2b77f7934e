/**
 * Spec-first configuration (after Redpanda Connect's ConfigSpec): one declaration yields the
 * TypeScript type (Infer), validation with file:line:col (validateSpec), the JSON Schema
 * (toJsonSchema) and the reference docs (toMarkdown). Steps, the topology document and every
 * connector declare their configuration with `s`.
 *
 *   const redisSpec = s.object({
 *     url: s.string().describe('redis://host:port'),
 *     password: s.string().secret().optional(),
 *     ttl: s.duration().default(3 * 24 * 3600_000),
 *   });
 *   type RedisConfig = Infer<typeof redisSpec>;   // { url: string; password?: string; ttl: number }
 */

/** How a field may be absent: 'required', 'optional' (absent = undefined) or 'defaulted'. */
export type Presence = 'required' | 'optional' | 'defaulted';

export type Fields = Record<string, Spec<unknown, Presence>>;

export type SpecDef =
  | { type: 'string'; pattern?: string; patternHint?: string; minLength?: number }
  | { type: 'number'; min?: number; max?: number; integer?: boolean }
  | { type: 'boolean' }
  | { type: 'duration'; min?: number; max?: number }
  | { type: 'size'; min?: number; max?: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'array'; items: Spec<unknown, Presence>; minItems?: number }
  | { type: 'record'; values: Spec<unknown, Presence>; keyPattern?: string; keyHint?: string }
  | { type: 'object'; fields: Fields }
  | {
      type: 'oneOfKeys';
      variants: Fields;
      /** Fields allowed next to any variant key (e.g. a step's id and from). */
      common: Fields;
      /** Fields allowed only next to one variant key (e.g. `aggregate` next to `window`). */
      siblings: Readonly<Record<string, Fields>>;
      /** What one variant is called in messages ("step kind", "connector"). */
      noun: string;
    }
  | {
      type: 'union';
      /** A written value is checked against the first option that takes its shape (scalar, mapping, list). */
      options: readonly Spec<unknown, Presence>[];
    }
  | { type: 'any' };

export interface SpecMeta {
  description?: string;
  presence: Presence;
  defaultValue?: unknown;
  /** The value must come from ${ENV} interpolation and is never printed. */
  secret: boolean;
}

export class Spec<T, P extends Presence = 'required'> {
  /** Phantom: the validated TypeScript type. */
  declare readonly _type: T;
  /** Phantom: presence in an enclosing object. */
  declare readonly _presence: P;

  constructor(
    readonly def: SpecDef,
    readonly meta: SpecMeta = { presence: 'required', secret: false },
  ) {}

  /** May be absent (or null); absent → undefined. */
  optional(): Spec<T, 'optional'> {
    return new Spec<T, 'optional'>(this.def, { ...this.meta, presence: 'optional' });
  }

  /** May be absent; absent → `value` (validated like written input, so defaults of nested fields apply). */
  default(value: T): Spec<T, 'defaulted'> {
    return new Spec<T, 'defaulted'>(this.def, { ...this.meta, presence: 'defaulted', defaultValue: value });
  }

  describe(text: string): Spec<T, P> {
    return new Spec<T, P>(this.def, { ...this.meta, description: text });
  }

  /** The value must be written as ${VAR}: secrets live in the environment, never in the file. */
  secret(): Spec<T, P> {
    return new Spec<T, P>(this.def, { ...this.meta, secret: true });
  }
}

export type AnySpec = Spec<unknown, Presence>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<S> = S extends Spec<infer T, Presence> ? T : never;
type OptionalKeys<F> = { [K in keyof F]: F[K] extends Spec<unknown, 'optional'> ? K : never }[keyof F];

export type InferFields<F> = Simplify<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: ValueOf<F[K]> } & { [K in OptionalKeys<F>]?: ValueOf<F[K]> }
>;

type InferOneOf<V, C, X> = {
  [K in keyof V]: Simplify<
    { [P in K]: ValueOf<V[K]> } & InferFields<C> & InferFields<K extends keyof X ? X[K] : {}>
  >;
}[keyof V];

/** The validated TypeScript type of a spec (undefined included when the spec is optional). */
export type Infer<S> = S extends Spec<infer T, infer P> ? (P extends 'optional' ? T | undefined : T) : never;

const required: SpecMeta = { presence: 'required', secret: false };

export interface OneOfKeysOptions<C extends Fields, X extends Record<string, Fields>> {
  common?: C;
  siblings?: X;
  noun?: string;
}

export const s = {
  string(opts: { pattern?: string; patternHint?: string; minLength?: number } = {}): Spec<string> {
    return new Spec<string>({ type: 'string', ...opts }, required);
  },
  number(opts: { min?: number; max?: number; integer?: boolean } = {}): Spec<number> {
    return new Spec<number>({ type: 'number', ...opts }, required);
  },
  boolean(): Spec<boolean> {
    return new Spec<boolean>({ type: 'boolean' }, required);
  },
  /** "250ms", "5s", "1m", "1h", "3d", "1h30m", or a number of ms → milliseconds. */
  duration(opts: { min?: number; max?: number } = {}): Spec<number> {
    return new Spec<number>({ type: 'duration', ...opts }, required);
  },
  /** "64MB", "1GB", "512KB" (binary units) or a number of bytes → bytes. */
  size(opts: { min?: number; max?: number } = {}): Spec<number> {
    return new Spec<number>({ type: 'size', ...opts }, required);
  },
  enum<const V extends readonly string[]>(values: V): Spec<V[number]> {
    return new Spec<V[number]>({ type: 'enum', values }, required);
  },
  array<S extends AnySpec>(items: S, opts: { minItems?: number } = {}): Spec<ValueOf<S>[]> {
    return new Spec<ValueOf<S>[]>({ type: 'array', items, ...opts }, required);
  },
  /** A map name → value; keys keep their written order. */
  record<S extends AnySpec>(
    values: S,
    opts: { keyPattern?: string; keyHint?: string } = {},
  ): Spec<Record<string, ValueOf<S>>> {
    return new Spec<Record<string, ValueOf<S>>>({ type: 'record', values, ...opts }, required);
  },
  /** Unknown fields are errors (with a did-you-mean). A null value counts as `{}`. */
  object<F extends Fields>(fields: F): Spec<InferFields<F>> {
    return new Spec<InferFields<F>>({ type: 'object', fields }, required);
  },
  /**
   * Exactly one of the variant keys is present (step kinds, connector kinds). The output keeps
   * the written shape, e.g. `{ id, from, filter: '...' }`; test the variant with `'filter' in v`.
   */
  oneOfKeys<V extends Fields, C extends Fields = {}, X extends Record<string, Fields> = {}>(
    variants: V,
    opts: OneOfKeysOptions<C, X> = {},
  ): Spec<InferOneOf<V, C, X>> {
    return new Spec<InferOneOf<V, C, X>>(
      {
        type: 'oneOfKeys',
        variants,
        common: opts.common ?? {},
        siblings: opts.siblings ?? {},
        noun: opts.noun ?? 'kind',
      },
      required,
    );
  },
  /**
   * One of several shapes, told apart by how the value is written: `format: json` or
   * `format: { avro: {...} }`. At most one option per shape (scalar, mapping, list).
   */
  union<const O extends readonly AnySpec[]>(...options: O): Spec<ValueOf<O[number]>> {
    return new Spec<ValueOf<O[number]>>({ type: 'union', options }, required);
  },
  /** Free-form JSON (e.g. code options). */
  any(): Spec<unknown> {
    return new Spec<unknown>({ type: 'any' }, required);
  },
};

/** Which variant key a oneOfKeys value holds. */
export function variantOf<V extends object>(spec: AnySpec, value: V): string | undefined {
  if (spec.def.type !== 'oneOfKeys') return undefined;
  return Object.keys(spec.def.variants).find((k) => k in value);
}

export { validateSpec, parseConfig, type ValidationContext } from './spec-validate.js';
export { toJsonSchema, toMarkdown, type JsonSchema } from './spec-docs.js';
export { parseDuration, formatDuration } from './duration.js';
