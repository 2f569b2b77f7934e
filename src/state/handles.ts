/**
 * Typed handles over the cache: they pass (record key, slice start) and the value codec to the
 * (step, partition)'s cache scope, so operators never see byte layouts or string lookups.
 */
import type { KeyValueStore, ValueCodec, WindowStore } from './types.js';
import { MAIN, type CacheScope } from './cache-scope.js';
import { TributaryError } from '../core/errors.js';

/** NaN addresses the head in a cache scope: never let it through as a slice start. */
function sliceStart(start: number): number {
  if (start !== start) throw new TributaryError('TRIB_INTERNAL', 'slice start is NaN');
  return start;
}

export class WindowStoreHandle<H, S> implements WindowStore<H, S> {
  constructor(
    private readonly scope: CacheScope,
    private readonly headCodec: ValueCodec<H>,
    private readonly sliceCodec: ValueCodec<S>,
  ) {}

  getHead(key: Uint8Array): H | undefined {
    return this.scope.get(key, MAIN, this.headCodec);
  }

  putHead(key: Uint8Array, head: H): void {
    this.scope.put(key, MAIN, head, this.headCodec);
  }

  deleteHead(key: Uint8Array): void {
    this.scope.delete(key, MAIN);
  }

  getSlice(key: Uint8Array, start: number): S | undefined {
    return this.scope.get(key, sliceStart(start), this.sliceCodec);
  }

  putSlice(key: Uint8Array, start: number, slice: S): void {
    this.scope.put(key, sliceStart(start), slice, this.sliceCodec);
  }

  deleteSlice(key: Uint8Array, start: number): void {
    this.scope.delete(key, sliceStart(start));
  }
}

export class KeyValueStoreHandle<V> implements KeyValueStore<V> {
  constructor(
    private readonly scope: CacheScope,
    private readonly codec: ValueCodec<V>,
  ) {}

  get(key: Uint8Array): V | undefined {
    return this.scope.get(key, MAIN, this.codec);
  }

  put(key: Uint8Array, value: V): void {
    this.scope.put(key, MAIN, value, this.codec);
  }

  delete(key: Uint8Array): void {
    this.scope.delete(key, MAIN);
  }
}
