/**
 * Keeps the presence filter (presence-filter.ts) useful in a worker that runs for weeks.
 *
 * The filter only learns keys (each evicted entry LevelDB holds); it never forgets the ones
 * deleted since. Where keys come and go — a 3-day rolling window over users most of whom are
 * seen once, then expire — it fills with keys LevelDB no longer holds, its false positives climb
 * towards 100%, and every first sighting of a key becomes a LevelDB read again (~10 µs at 10M
 * keys, the cost the filter exists to avoid). LevelDB's own SST filters age out with compaction;
 * this one is rebuilt:
 *
 *   1. A new, empty filter of the same size becomes the current one's `shadow`: from now on every
 *      key the cache adds goes into both.
 *   2. A scan of LevelDB's head, slice and kv keys, over a snapshot taken after (1), adds each
 *      key under its scope's salt to the new filter. It runs in batches between records: the
 *      worker keeps processing, and the scan reads on LevelDB's thread.
 *   3. The current filter adopts the new one's bits.
 *
 * Why nothing is lost: a key the cache lacks and LevelDB holds when (3) happens was either in
 * LevelDB at the snapshot (scanned), or written after it — then it was in the cache, dirty, at
 * the snapshot, and evicted after (1), which added it to the shadow. Keys deleted since the
 * snapshot may stay: a "maybe" costs a read, never a wrong answer. Scopes that are not complete
 * never consult the filter, so covering their keys too is harmless.
 *
 * When: after a checkpoint, once the filter is half full (false positives 6%) and fuller than
 * the last refresh left it by half of what was free then, and only when the cache has added at
 * least half as many keys since as the last refresh scanned: a refresh costs a scan of every
 * key on disk, so it runs at most once per that many evictions and stops repeating when the
 * keys LevelDB really holds fill the filter (a cacheSize too small for the state: more memory,
 * not more scans, is the cure; the log line says so). While it runs, a second filter of the same
 * size is held (1/32 of cacheSize by default: memory-budget.ts), outside the cache's budget.
 */
import type { Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';
import type { BytesStore } from './level-bytes-store.js';
import { PresenceFilter, decodePresence, encodePresence, presenceSalt } from './presence-filter.js';
import { KIND_HEAD, KIND_KV, KIND_SLICE, metaKey } from './codec/state-key.js';

/** Meta name of the presence filter a clean close saved. */
export const PRESENCE = 'presence';

/**
 * The filter a clean close saved (`saved`, the meta value), if it belongs to this checkpoint and
 * size. Taken once: deleted before anything else writes, so a process that dies after this
 * leaves none behind that could miss the keys it evicts.
 */
export async function takeSavedPresence(bottom: BytesStore, saved: Uint8Array | undefined, checkpointJson: string | undefined, filterBytes: number): Promise<{ filter: PresenceFilter; scopes: string[] } | undefined> {
  if (saved === undefined) return undefined;
  await bottom.write([{ type: 'del', key: metaKey(PRESENCE) }]);
  return filterBytes > 0 ? decodePresence(saved, checkpointJson ?? '', filterBytes) : undefined;
}

/**
 * Saves the filter at a clean close, for the scopes it covers (StateStack.sealPresence). Not
 * saving only costs the next run LevelDB reads for keys it has never seen; a filter with no keys
 * covers only scopes LevelDB holds nothing of, which the next open finds empty anyway.
 */
export async function savePresence(bottom: BytesStore, filter: PresenceFilter, checkpointJson: string | undefined, scopes: readonly string[]): Promise<void> {
  if (scopes.length === 0 || filter.added === 0) return;
  await bottom.write([{ type: 'put', key: metaKey(PRESENCE), value: encodePresence(filter, checkpointJson ?? '', scopes) }]).catch(() => {});
}

/** The filter's fill from which a refresh is considered (false positives fill^4: 6%). */
export const REFRESH_FILL = 0.5;
/** Keys per scan batch: one LevelDB read per batch, then this many hashes on the main thread. */
const SCAN_BATCH = 2048;
/** A long scan logs its progress this often. */
const PROGRESS_MS = 10_000;
/** Head, slice and kv keys are one contiguous range (codec/state-key.ts): [0x10, 0x13). */
const RANGE = { gte: Uint8Array.of(KIND_HEAD), lt: Uint8Array.of(KIND_KV + 1) };

export interface RefreshResult {
  /** LevelDB keys scanned. */
  scanned: number;
  fillBefore: number;
  fillAfter: number;
  ms: number;
}

export class PresenceRefresh {
  private running: Promise<RefreshResult | undefined> | undefined;
  private stopped = false;
  /** What the last refresh left: the filter's fill, its count of keys added, the keys it scanned. */
  private fillAfter = 0;
  private addedAfter = 0;
  private lastScanned = 0;
  /** Refreshes completed. */
  count = 0;

  constructor(
    private readonly filter: PresenceFilter,
    private readonly bottom: BytesStore,
    private readonly logger: Logger,
  ) {}

  /** Whether the filter is worth rebuilding now (see the file comment). */
  get due(): boolean {
    const f = this.filter;
    const fullEnough = f.fill >= Math.max(REFRESH_FILL, this.fillAfter + (1 - this.fillAfter) / 2);
    return fullEnough && f.added - this.addedAfter >= this.lastScanned / 2;
  }

  /** After a checkpoint: starts a refresh in the background when one is due and none runs. */
  maybeStart(): void {
    if (this.running === undefined && !this.stopped && this.due) void this.refresh();
  }

  /** Runs a refresh now, or joins the one running. Undefined when it was stopped or failed (the filter is unchanged then). */
  refresh(): Promise<RefreshResult | undefined> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops a running refresh (the filter stays as it was) and waits for it to let go of LevelDB. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<RefreshResult | undefined> {
    const filter = this.filter;
    const t0 = performance.now();
    const fillBefore = filter.fill;
    const next = new PresenceFilter(filter.byteLength);
    // Before the scan's snapshot: what is evicted from now on reaches the new filter too.
    filter.shadow = next;
    this.logger.info('state: rebuilding the presence filter from the keys LevelDB holds', { fill: round(fillBefore), falsePositives: round(fillBefore ** 4) });
    let scanned = 0;
    let reported = t0;
    try {
      const batches = this.bottom.keyBatches?.(RANGE, SCAN_BATCH) ?? entryKeys(this.bottom);
      for await (const keys of batches) {
        if (this.stopped) return undefined;
        for (const k of keys) addStateKey(next, k);
        scanned += keys.length;
        const now = performance.now();
        if (now - reported >= PROGRESS_MS) {
          reported = now;
          this.logger.info('state: presence filter rebuild in progress', { scanned, keysPerSec: Math.round(scanned / ((now - t0) / 1000)) });
        }
      }
      if (this.stopped) return undefined;
      filter.adopt(next);
      this.fillAfter = filter.fill;
      this.addedAfter = filter.added;
      this.lastScanned = scanned;
      this.count++;
      const ms = Math.round(performance.now() - t0);
      const result = { scanned, fillBefore, fillAfter: filter.fill, ms };
      const full = filter.fill >= REFRESH_FILL;
      this.logger[full ? 'warn' : 'info'](
        full
          ? 'state: presence filter rebuilt, and the keys LevelDB holds fill it: misses on new keys will read LevelDB; give state more memory (spec.state.cacheSize)'
          : 'state: presence filter rebuilt',
        { scanned, fillBefore: round(fillBefore), fillAfter: round(filter.fill), ms },
      );
      return result;
    } catch (err) {
      this.logger.warn('state: presence filter rebuild failed; keeping the current one', { error: errorMessage(err), scanned });
      return undefined;
    } finally {
      if (filter.shadow === next) filter.shadow = undefined;
    }
  }
}

/**
 * Adds one LevelDB key's record key under its scope's salt. Head and kv keys end with the record
 * key; a slice key carries its length (codec/state-key.ts).
 */
function addStateKey(filter: PresenceFilter, k: Uint8Array): void {
  const kind = k[0]!;
  if (k.length < 5 || kind < KIND_HEAD || kind > KIND_KV) return;
  const step = (k[1]! << 8) | k[2]!;
  const partition = (k[3]! << 8) | k[4]!;
  const salt = presenceSalt(kind === KIND_KV, step, partition);
  if (kind === KIND_SLICE) {
    if (k.length < 7) return;
    const end = 7 + ((k[5]! << 8) | k[6]!);
    if (end <= k.length) filter.addBytes(salt, k, 7, end);
  } else {
    filter.addBytes(salt, k, 5, k.length);
  }
}

/** keyBatches() for a store without it. */
async function* entryKeys(store: BytesStore): AsyncIterable<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  for await (const [k] of store.entries(RANGE)) {
    batch.push(k);
    if (batch.length >= SCAN_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
