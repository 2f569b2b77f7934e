/**
 * Typed handles over the layered store: they turn (record key, slice start) into state-key
 * bytes for one (step, partition) and pass the value codec down, so operators never see bytes
 * layouts or string lookups.
 */
import type { KeyValueStore, ValueCodec, WindowStore } from './types.js';
import type { ObjectStore } from './write-back-cache.js';
import { headKey, kvKey, sliceKey } from './codec/state-key.js';

export class WindowStoreHandle<H, S> implements WindowStore<H, S> {
  constructor(
    private readonly store: ObjectStore,
    private readonly step: number,
    private readonly partition: number,
    private readonly headCodec: ValueCodec<H>,
    private readonly sliceCodec: ValueCodec<S>,
  ) {}

  getHead(key: Uint8Array): H | undefined {
    return this.store.get(headKey(this.step, this.partition, key), this.headCodec);
  }

  putHead(key: Uint8Array, head: H): void {
    this.store.put(headKey(this.step, this.partition, key), head, this.headCodec);
  }

  deleteHead(key: Uint8Array): void {
    this.store.delete(headKey(this.step, this.partition, key));
  }

  getSlice(key: Uint8Array, start: number): S | undefined {
    return this.store.get(sliceKey(this.step, this.partition, key, start), this.sliceCodec);
  }

  putSlice(key: Uint8Array, start: number, slice: S): void {
    this.store.put(sliceKey(this.step, this.partition, key, start), slice, this.sliceCodec);
  }

  deleteSlice(key: Uint8Array, start: number): void {
    this.store.delete(sliceKey(this.step, this.partition, key, start));
  }
}

export class KeyValueStoreHandle<V> implements KeyValueStore<V> {
  constructor(
    private readonly store: ObjectStore,
    private readonly step: number,
    private readonly partition: number,
    private readonly codec: ValueCodec<V>,
  ) {}

  get(key: Uint8Array): V | undefined {
    return this.store.get(kvKey(this.step, this.partition, key), this.codec);
  }

  put(key: Uint8Array, value: V): void {
    this.store.put(kvKey(this.step, this.partition, key), value, this.codec);
  }

  delete(key: Uint8Array): void {
    this.store.delete(kvKey(this.step, this.partition, key));
  }
}
