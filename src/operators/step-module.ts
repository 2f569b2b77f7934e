/**
 * A step kind in one module (Redpanda Connect's spec + explicit Register, Arroyo's `tables()`):
 * its config spec, how it plans (YAML config → planned step), whether it needs or sets the key,
 * its stores, how `tributary plan` shows it, and its operator factory. operators/registry.ts lists
 * the modules; topology/ receives that list as a parameter, as it receives the connector catalog.
 *
 * Authors write a StepDefinition (fully typed); defineStep erases it to the StepModule the
 * registry holds. The erasure is sound because compile hands each module only configs its own
 * spec validated and steps its own plan() produced.
 */
import type { SourceLocation } from '../core/errors.js';
import type { AnySpec, Fields, Infer, InferFields } from '../core/spec.js';
import type { CompiledExpression } from '../expr/types.js';
import type { Operator, OperatorContext } from './types.js';
import { openStores, type StateScope, type StoreDecls, type StoreHandles } from './stores.js';

/** What every planned step has, whatever its kind (filled in by topology/, not by the module). */
export interface PlannedStep {
  readonly id: string;
  /** Input: a source id, a step id, or a side output '<step>.late'. */
  readonly from: string;
  /** The step kind: the YAML key that chose the module ('filter', 'window', ...). */
  readonly kind: string;
  /** Key expression (source text of the nearest keyBy upstream, or this one) of the step's output; undefined = not keyed. */
  readonly keyedBy?: string;
  readonly location: SourceLocation;
  /**
   * Steps that set the key (keyBy) only: whether records go through the repartition topic
   * `<app>.<id>.repartition` to the task of murmur2(key); false when the input is already
   * partitioned by this key (topology/partitioning.ts decides).
   */
  readonly repartition?: boolean;
  /** Stateful steps only: sha256 of what decides the state layout (StepDefinition.state.identity). */
  readonly fingerprint?: string;
  /** The module that planned this step and builds its operators. */
  readonly stepModule: StepModule;
}

/** A planned step of kind K with the fields its module's plan() returned. */
export type Planned<K extends string, P> = Omit<PlannedStep, 'kind'> & { readonly kind: K } & P;

/** The validated YAML of one step: id, from, the kind's key and the fields allowed beside it. */
export type StepConfigOf<K extends string, S extends AnySpec, X extends Fields> =
  { id: string; from: string } & { [Key in K]: Infer<S> } & InferFields<X>;

/** Where a planning problem is reported: paths are keys below the step, e.g. ['window', 'rolling']. */
export interface ProblemAt {
  /** The path named in the message. */
  path: readonly string[];
  /** Where the position points (default: `path`); the step itself when that value is absent. */
  at?: readonly string[];
  /** Point at the key of the last segment of `at` rather than its value. */
  key?: boolean;
  /** Offset inside the scalar at `at` (e.g. the function name inside `sum(amount)`). */
  offset?: number;
}

/** What topology/ gives a module's plan(): expressions compiled and errors placed at file:line:col. */
export interface PlanContext {
  readonly stepId: string;
  /** Key expression of the step's input stream (undefined: not keyed). */
  readonly inputKey: string | undefined;
  /** Topology-wide defaults for stateful steps (spec.state). */
  readonly stateDefaults: { readonly distinctExactLimit: number };
  /** Where relative paths in the step start (the topology file's folder). */
  readonly baseDir: string;
  /**
   * Compile the expression written at `path` (`offset`: where `source` starts inside that scalar).
   * Undefined after reporting an error at the exact line:col.
   */
  expression(path: readonly string[], source: string, offset?: number): CompiledExpression | undefined;
  /** Report a problem; returns undefined so `return ctx.problem(...)` reads well. */
  problem(message: string, where: ProblemAt): undefined;
}

/** What a step's operator factory gets besides its planned step. */
export interface OperatorEnv {
  /** Task partitions after keyBy (where a key's state lives: murmur2(key) % partitions). */
  readonly partitions: number;
}

export interface StepDefinition<K extends string, S extends AnySpec, X extends Fields, P extends object, D extends StoreDecls> {
  /** The YAML key naming the step kind, e.g. `dedupe`. */
  kind: K;
  /** The value under that key (its description becomes the reference docs'). */
  spec: S;
  /** Fields allowed beside the key (window: aggregate, emit ...). */
  siblings?: X;
  /** The step keeps keyed state: its input must be keyed (a keyBy upstream). */
  needsKey?: boolean;
  /** The step has a `<id>.late` side output. */
  lateOutput?: boolean;
  /**
   * The step sets the record key: the key expression's source text. Downstream steps are keyed by
   * it; a key other than the input topic's partition key goes through a repartition topic.
   */
  setsKey?(config: StepConfigOf<K, S, X>): string;
  /**
   * How the step's output is partitioned when its input is partitioned by the expression `input`
   * (undefined: unknown). Absent: unknown, as when rows are rebuilt. Steps that set the key are
   * partitioned by it and need not say so.
   */
  partitionedBy?(step: Planned<K, P>, input: string | undefined): string | undefined;
  plan(config: StepConfigOf<K, S, X>, ctx: PlanContext): P | undefined;
  /** Stateful steps: the stores the operator gets, and what identifies the state (fingerprinted). */
  state?: {
    stores(step: Planned<K, P>): D;
    /** Everything that decides the state layout; a change refuses old state instead of misreading it. */
    identity(step: Planned<K, P>, config: StepConfigOf<K, S, X>, inputKey: string | undefined): Record<string, unknown>;
  };
  /** Lines under the step in `tributary plan`. */
  describe(step: Planned<K, P>): string[];
  /** The step's own fields in `tributary plan --json` (expressions as their source). */
  toJson(step: Planned<K, P>): Record<string, unknown>;
  /** Called once per step; the function it returns builds the instance of one task partition. */
  operator(step: Planned<K, P>, env: OperatorEnv): (ctx: OperatorContext, stores: StoreHandles<D>) => Operator;
}

/** A step kind as the registry holds it (see StepDefinition for what each member means). */
export interface StepModule {
  readonly kind: string;
  readonly spec: AnySpec;
  readonly siblings: Fields;
  readonly needsKey: boolean;
  readonly lateOutput: boolean;
  setsKey?(config: Readonly<Record<string, unknown>>): string;
  partitionedBy?(step: PlannedStep, input: string | undefined): string | undefined;
  plan(config: Readonly<Record<string, unknown>>, ctx: PlanContext): object | undefined;
  readonly state?: {
    stores(step: PlannedStep): StoreDecls;
    identity(step: PlannedStep, config: Readonly<Record<string, unknown>>, inputKey: string | undefined): Record<string, unknown>;
  };
  describe(step: PlannedStep): string[];
  toJson(step: PlannedStep): Record<string, unknown>;
  operator(step: PlannedStep, env: OperatorEnv): (ctx: OperatorContext, stores: Readonly<Record<string, unknown>>) => Operator;
}

export function defineStep<const K extends string, S extends AnySpec, P extends object, D extends StoreDecls = {}, X extends Fields = {}>(
  def: StepDefinition<K, S, X, P, D>,
): StepModule {
  return { siblings: {}, needsKey: false, lateOutput: false, ...def } as unknown as StepModule;
}

/** Builds the operator instance of one task partition: opens the step's declared stores in its scope. */
export type InstanceFactory = (ctx: OperatorContext, scope: StateScope) => Promise<Operator>;

/** The runtime's one entry point into a step module: call once per step, then once per task partition. */
export function operatorFactory(step: PlannedStep, env: OperatorEnv): InstanceFactory {
  const create = step.stepModule.operator(step, env);
  const decls = step.stepModule.state?.stores(step) ?? {};
  return async (ctx, scope) => create(ctx, await openStores(decls, scope));
}

/** Whether a step keeps state (and so has a fingerprint, a changelog topic and restored stores). */
export function isStateful(step: PlannedStep): step is PlannedStep & { readonly fingerprint: string } {
  return step.stepModule.state !== undefined;
}
