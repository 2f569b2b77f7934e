/**
 * `code: ./module.ts` — a user's own typed operator. The module's export is a UserOperator
 * (or a factory taking the step options and returning one). Per-key state is a JSON value
 * store for the current record's key; an exception dead-letters that record (no crash loop).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { s } from '../core/spec.js';
import { inlineValue } from '../core/inline.js';
import type { Row, Value } from '../core/record.js';
import type { KeyValueStore, ValueCodec } from '../state/types.js';
import type { Operator, OperatorContext } from './types.js';
import { encodeKey } from '../state/codec/key.js';
import { TributaryError, errorMessage } from '../core/errors.js';
import { stores } from './stores.js';
import { defineStep, type Planned } from './step-module.js';

export interface UserRecord {
  readonly value: Readonly<Row>;
  readonly key: Value;
  /** Event time, epoch ms. */
  readonly timestamp: number;
}

export interface UserOperatorContext {
  readonly stepId: string;
  readonly partition: number;
  readonly watermark: number;
  readonly options: Readonly<Record<string, unknown>>;
  /** Emit a row downstream (key and timestamp default to the input record's). */
  emit(value: Row, opts?: { key?: Value; timestamp?: number }): void;
  /** State of the current record's key (checkpointed with everything else). */
  readonly state: {
    get(): Value | undefined;
    put(value: Value): void;
    delete(): void;
  };
}

export interface UserOperator {
  open?(ctx: Omit<UserOperatorContext, 'state' | 'emit'>): void | Promise<void>;
  process(record: UserRecord, ctx: UserOperatorContext): void;
  close?(): void | Promise<void>;
}

export type UserOperatorExport = UserOperator | ((options: Readonly<Record<string, unknown>>) => UserOperator);

/** Identity helper giving users type checking: `export default defineOperator({ process(r, ctx) {...} })`. */
export function defineOperator<T extends UserOperatorExport>(op: T): T {
  return op;
}

const jsonCodec: ValueCodec<Value> = {
  encode: (v) => new TextEncoder().encode(JSON.stringify(v)),
  decode: (b) => JSON.parse(new TextDecoder().decode(b)) as Value,
};

const moduleCache = new Map<string, Promise<unknown>>();

async function loadUserModule(file: string): Promise<Record<string, unknown>> {
  let loading = moduleCache.get(file);
  if (!loading) {
    loading = /\.(c|m)?ts$/.test(file)
      ? import('tsx/esm/api').then(({ tsImport }) => tsImport(pathToFileURL(file).href, import.meta.url))
      : import(pathToFileURL(file).href);
    moduleCache.set(file, loading);
  }
  return (await loading) as Record<string, unknown>;
}

function isUserOperator(v: unknown): v is UserOperator {
  return typeof v === 'object' && v !== null && typeof (v as UserOperator).process === 'function';
}

export interface CodeParams {
  /** Absolute path of the user's module (.ts or .js). */
  module: string;
  /** Named export (default: 'default'). */
  export: string;
  options: Record<string, unknown>;
}

export type CodeStep = Planned<'code', CodeParams>;

export const codeStep = defineStep({
  kind: 'code',
  spec: s.string({ minLength: 1 }).describe('Path of a .ts/.js module (relative to the topology file) exporting an operator.'),
  siblings: {
    export: s.string({ minLength: 1 }).default('default').describe('Named export of the module.'),
    options: s.any().optional().describe('Free-form options handed to the operator.'),
  },
  plan(c, ctx): CodeParams | undefined {
    const options = c.options === undefined || c.options === null ? {} : c.options;
    if (typeof options !== 'object' || Array.isArray(options)) return ctx.problem('expected a mapping of options', { path: ['options'] });
    const module = isAbsolute(c.code) ? c.code : resolve(ctx.baseDir, c.code);
    return { module, export: c.export, options: options as Record<string, unknown> };
  },
  state: {
    stores: () => ({ state: stores.kv(jsonCodec) }),
    // As written, not resolved: moving the topology folder keeps the state.
    identity: (_st, c) => ({ kind: 'code', module: c.code.replace(/\\/g, '/'), export: c.export }),
  },
  describe: (st) => [`${st.module}#${st.export}${Object.keys(st.options).length ? ` options ${inlineValue(st.options)}` : ''}`],
  toJson: (st) => ({ module: st.module, export: st.export, options: st.options }),
  operator: (step) => codeOperator(step),
});

function codeOperator(step: CodeStep): (ctx: OperatorContext, handles: { state: KeyValueStore<Value> }) => Operator {
  return (ctx, { state: store }) => {
    let op: UserOperator | undefined;
    let currentKey: Uint8Array = encodeKey(null);
    let currentRecord: Parameters<typeof ctx.emit>[0] | undefined;
    // A failing record must leave no trace: emits and state writes are applied only on success.
    const pendingEmits: Array<Parameters<typeof ctx.emit>[0]> = [];
    let pendingState: { value: Value | undefined } | undefined;
    const userCtx: UserOperatorContext = {
      stepId: step.id,
      partition: ctx.partition,
      get watermark() {
        return ctx.watermark;
      },
      options: step.options,
      emit(value, opts) {
        if (!currentRecord) throw new TributaryError('TRIB_USER_OPERATOR', 'emit() called outside process()');
        pendingEmits.push({ ...currentRecord, value, key: opts?.key ?? currentRecord.key, timestamp: opts?.timestamp ?? currentRecord.timestamp });
      },
      state: {
        get: () => (pendingState ? pendingState.value : store.get(currentKey)),
        put: (v) => {
          pendingState = { value: v };
        },
        delete: () => {
          pendingState = { value: undefined };
        },
      },
    };
    return {
      async open() {
        const mod = await loadUserModule(step.module);
        const exported = mod[step.export];
        const candidate = typeof exported === 'function' ? (exported as (o: Readonly<Record<string, unknown>>) => unknown)(step.options) : exported;
        if (!isUserOperator(candidate)) {
          throw new TributaryError('TRIB_USER_OPERATOR', `${step.module}: export '${step.export}' is not an operator (an object with process(record, ctx), or a function returning one)`);
        }
        op = candidate;
        await op.open?.({ stepId: step.id, partition: ctx.partition, watermark: ctx.watermark, options: step.options });
      },
      process(record) {
        currentKey = encodeKey(record.key);
        currentRecord = record;
        pendingEmits.length = 0;
        pendingState = undefined;
        try {
          op!.process({ value: record.value, key: record.key, timestamp: record.timestamp }, userCtx);
        } catch (err) {
          ctx.deadLetter(record, `user operator '${step.id}' (${step.module}) threw: ${errorMessage(err)}`, err);
          return;
        } finally {
          currentRecord = undefined;
        }
        const written = pendingState as { value: Value | undefined } | undefined;
        if (written) {
          if (written.value === undefined) store.delete(currentKey);
          else store.put(currentKey, written.value);
        }
        for (const out of pendingEmits) ctx.emit(out);
      },
      async close() {
        await op?.close?.();
      },
    };
  };
}
