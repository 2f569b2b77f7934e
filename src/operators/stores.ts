/**
 * The stores a step module declares (Arroyo's `tables()`): a step names its stores with their
 * codecs, and the runtime hands its operator exactly those, typed — never the whole backend.
 *
 *   state: { stores: () => ({ seen: stores.kv(firstSeenCodec), timers: stores.timers() }) }
 *   operator: ... (ctx, { seen, timers }) => ...   // seen: KeyValueStore<number>, timers: StepTimers
 *
 * State is scoped per (step, partition) and per store type, so a step declares at most one store
 * of each type (one kv store, one window store, one timer service).
 */
import { TributaryError } from '../core/errors.js';
import type { KeyValueStore, ValueCodec, WindowStore } from '../state/types.js';
import type { PersistentTimerService } from '../state/timer-service.js';

/** Event-time timers of one (step, partition), loaded and ready; the operator fires them in onWatermark. */
export type StepTimers = PersistentTimerService;

export interface KvStoreDecl<V> {
  readonly type: 'kv';
  readonly codec: ValueCodec<V>;
}

export interface WindowStoreDecl<H, S> {
  readonly type: 'window';
  readonly head: ValueCodec<H>;
  readonly slice: ValueCodec<S>;
}

export interface TimersDecl {
  readonly type: 'timers';
}

export type StoreDecl = KvStoreDecl<unknown> | WindowStoreDecl<unknown, unknown> | TimersDecl;

/** A step's stores by name. */
export type StoreDecls = Readonly<Record<string, StoreDecl>>;

/** The typed handle of each declared store. */
export type StoreHandles<D extends StoreDecls> = {
  readonly [K in keyof D]: D[K] extends KvStoreDecl<infer V>
    ? KeyValueStore<V>
    : D[K] extends WindowStoreDecl<infer H, infer S>
      ? WindowStore<H, S>
      : D[K] extends TimersDecl
        ? StepTimers
        : never;
};

export const stores = {
  /** Values by record key (canonical key bytes), encoded with `codec`. */
  kv<V>(codec: ValueCodec<V>): KvStoreDecl<V> {
    return { type: 'kv', codec };
  },
  /** Per key a head and sparse time slices (operators/windows). */
  window<H, S>(head: ValueCodec<H>, slice: ValueCodec<S>): WindowStoreDecl<H, S> {
    return { type: 'window', head, slice };
  },
  /** Persistent event-time timers (time, key bytes). */
  timers(): TimersDecl {
    return { type: 'timers' };
  },
};

/**
 * The state of one (step, partition) as the runtime provides it. The runtime implements it over
 * its state backend; operators never see this, only the handles openStores builds from it.
 */
export interface StateScope {
  readonly stepId: string;
  kvStore<V>(codec: ValueCodec<V>): KeyValueStore<V>;
  windowStore<H, S>(head: ValueCodec<H>, slice: ValueCodec<S>): WindowStore<H, S>;
  /** The timers, loaded from the last checkpoint. */
  timers(): Promise<StepTimers>;
}

/** Open the declared stores in `scope`. */
export async function openStores<D extends StoreDecls>(decls: D, scope: StateScope): Promise<StoreHandles<D>> {
  const seen = new Map<StoreDecl['type'], string>();
  const handles: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(decls)) {
    const other = seen.get(decl.type);
    if (other !== undefined) {
      throw new TributaryError('TRIB_INTERNAL', `step '${scope.stepId}' declares two ${decl.type} stores ('${other}' and '${name}'); state is scoped per step and store type, so declare one`);
    }
    seen.set(decl.type, name);
    handles[name] = decl.type === 'kv' ? scope.kvStore(decl.codec)
      : decl.type === 'window' ? scope.windowStore(decl.head, decl.slice)
      : await scope.timers();
  }
  return handles as StoreHandles<D>;
}
