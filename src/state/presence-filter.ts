/**
 * Which record keys LevelDB may hold that the write-back cache has let go of: a Bloom filter,
 * shared by every scope of a cache (each salts its keys), sized from spec.state.cacheSize.
 *
 * Without it, a scope stops being `complete` at its first eviction of a present entry, and from
 * then on every miss asks LevelDB — including the first sighting of each new key, by far the
 * commonest miss when keys outnumber the cache. LevelDB answers "absent" only after seeking the
 * index block of every level-0 table and of one table per level before it consults their own
 * Bloom filters (Table::InternalGet): ~10 µs per miss at 10M keys, a third of the state-scale
 * bench's time. This filter answers most of those in well under a microsecond.
 *
 * Keys are only added (when a present entry is evicted), never removed: a key deleted since
 * stays a "maybe", which costs one LevelDB read, never a wrong answer. Its false positives grow
 * with the keys added: at 1 byte per key (8 bits, 4 probes) about 2.4%; at half a byte, 16%;
 * past that it answers "maybe" nearly always, which is what a scope without it does. So a
 * long-running worker whose keys come and go (a 3-day window over users seen once) would fill
 * it with keys long deleted: presence-refresh.ts rebuilds it from the keys LevelDB holds. It
 * counts the bits it has set (`fill`) to know when, and copies what is added meanwhile into the
 * filter being built (`shadow`).
 *
 * A clean close saves it (encodePresence) with the scopes it covers and the checkpoint LevelDB
 * holds; the next open takes it back only for that same checkpoint, and deletes it before any
 * other write, so a process that dies later leaves none behind: a restarted worker keeps
 * skipping LevelDB for new keys instead of asking it on every miss until it evicts again.
 */

/** Probes per key: the best count for ~8 bits per key. */
const PROBES = 4;
/**
 * A key's probes all fall in one block of 512 bits (one 64-byte cache line: a blocked Bloom
 * filter, as RocksDB's): one memory access per add or lookup, where four probes over the whole
 * filter (8 MB at the default cacheSize) were up to four cache misses. At 8 bits per key the
 * false positives go from ~2.4% to ~2.6%; a lookup of a key it holds costs ~75 ns, not ~110.
 */
const BLOCK_SHIFT = 4;
const BLOCK_WORDS = 1 << BLOCK_SHIFT;
const BLOCK_BITS_MASK = BLOCK_WORDS * 32 - 1;

export class PresenceFilter {
  private bits: Int32Array;
  /** Blocks − 1 (a power of two): a key's block is its first hash's low bits. */
  private readonly blockMask: number;
  /** Keys added (with repeats). */
  added = 0;
  /** Bits set: the share of them (`fill`) gives the false-positive rate, fill^PROBES. */
  private setBits = 0;
  /** A filter being rebuilt (presence-refresh.ts): every key added here is added there too. */
  shadow: PresenceFilter | undefined;

  /** @param bytes memory for the filter; rounded down to a power of two, at least 64 (one block) */
  constructor(bytes: number) {
    this.bits = new Int32Array(filterWords(bytes));
    this.blockMask = (this.bits.length >>> BLOCK_SHIFT) - 1;
  }

  /** Share of the bits set, 0..1: a key never added passes with probability fill^4. */
  get fill(): number {
    return this.setBits / (this.bits.length * 32);
  }

  get byteLength(): number {
    return this.bits.byteLength;
  }

  /** The bits as bytes (a view: saving reads it, loading writes it). */
  view(): Uint8Array {
    return new Uint8Array(this.bits.buffer, this.bits.byteOffset, this.bits.byteLength);
  }

  /** Notes the record key `key` (its bytes) of the scope salted `salt`. */
  add(salt: number, key: Uint8Array): void {
    this.addHash(keyHash(salt, key));
  }

  /** add() of a key whose keyHash() the caller has. */
  addHash(first: number): void {
    this.set(first);
    this.shadow?.addHash(first);
  }

  /** add() of the key whose latin1 string is bytes[from, to) (a LevelDB key's record key, without a string). */
  addBytes(salt: number, bytes: Uint8Array, from: number, to: number): void {
    this.set(hashBytes(salt, bytes, from, to));
  }

  /** Takes over `other`'s bits (a rebuilt filter of the same size), and stops shadowing. */
  adopt(other: PresenceFilter): void {
    if (other.bits.length !== this.bits.length) throw new RangeError('presence filter: adopt needs a filter of the same size');
    this.bits = other.bits;
    this.added = other.added;
    this.setBits = other.setBits;
    this.shadow = undefined;
  }

  private set(first: number): void {
    const bits = this.bits;
    const base = (first & this.blockMask) << BLOCK_SHIFT;
    let h = secondHash(first);
    const step = (h >>> 16) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = h & BLOCK_BITS_MASK;
      const at = base + (bit >>> 5);
      const w = bits[at]!;
      const m = 1 << (bit & 31);
      if ((w & m) === 0) {
        bits[at] = w | m;
        this.setBits++;
      }
      h = (h + step) | 0;
    }
    this.added++;
  }

  /** Counts the bits set (after bits were written directly: a saved filter loaded). */
  recount(): void {
    let n = 0;
    for (const w of this.bits) n += popcount(w);
    this.setBits = n;
  }

  /** False: LevelDB holds nothing under this key that was added. True: it may. */
  mayHold(salt: number, key: Uint8Array): boolean {
    return this.mayHoldHash(keyHash(salt, key));
  }

  /** mayHold() of a key whose keyHash() the caller has. */
  mayHoldHash(first: number): boolean {
    if (this.added === 0) return false;
    const bits = this.bits;
    const base = (first & this.blockMask) << BLOCK_SHIFT;
    let h = secondHash(first);
    const step = (h >>> 16) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = h & BLOCK_BITS_MASK;
      if ((bits[base + (bit >>> 5)]! & (1 << (bit & 31))) === 0) return false;
      h = (h + step) | 0;
    }
    return true;
  }
}

function filterWords(bytes: number): number {
  let words = BLOCK_WORDS;
  while (words * 8 <= bytes && words < 2 ** 28) words *= 2;
  return words;
}

interface SavedHeader {
  /** 2: the blocked layout (a v1 filter placed its bits otherwise: not read back). */
  v: 2;
  /** The checkpoint meta (JSON) LevelDB held when the filter was saved. */
  checkpoint: string;
  added: number;
  /** Ids of the scopes the filter covers (complete at close). */
  scopes: string[];
}

/** The filter, the scopes it covers and the checkpoint it belongs to, as one meta value. */
export function encodePresence(filter: PresenceFilter, checkpoint: string, scopes: readonly string[]): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ v: 2, checkpoint, added: filter.added, scopes: [...scopes] } satisfies SavedHeader));
  const bits = filter.view();
  const out = new Uint8Array(4 + header.length + bits.length);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  out.set(bits, 4 + header.length);
  return out;
}

/**
 * A saved filter, if it belongs to `checkpoint` and has the size `bytes` gives (a changed
 * cacheSize sizes it anew); undefined otherwise, or if it does not parse.
 */
export function decodePresence(saved: Uint8Array, checkpoint: string, bytes: number): { filter: PresenceFilter; scopes: string[] } | undefined {
  try {
    const n = new DataView(saved.buffer, saved.byteOffset, saved.byteLength).getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(saved.subarray(4, 4 + n))) as SavedHeader;
    const bits = saved.subarray(4 + n);
    if (header.v !== 2 || header.checkpoint !== checkpoint || bits.length !== filterWords(bytes) * 4 || !Array.isArray(header.scopes)) return undefined;
    const filter = new PresenceFilter(bytes);
    filter.view().set(bits);
    filter.added = header.added;
    filter.recount();
    return { filter, scopes: header.scopes.filter((id): id is string => typeof id === 'string') };
  } catch {
    return undefined;
  }
}

/** The salt of a cache scope's keys (cache-scope.ts), also used when a refresh adds LevelDB's keys. */
export function presenceSalt(kv: boolean, step: number, partition: number): number {
  return Math.imul((kv ? 0x10000 : 0) + step, 0x9e3779b1) ^ partition;
}

/** The hash add() and mayHold() take of a record key (its bytes) in the scope salted `salt`: the key table's too (key-table.ts). */
export function keyHash(salt: number, key: Uint8Array): number {
  return hashBytes(salt, key, 0, key.length);
}

/** FNV-1a over bytes[from, to) (a record key's, one latin1 char each), seeded with the scope's salt, then mixed. */
function hashBytes(salt: number, bytes: Uint8Array, from: number, to: number): number {
  let h = (0x811c9dc5 ^ salt) | 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return mix(h);
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

function popcount(w: number): number {
  let v = w - ((w >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** An odd stride from the first hash (Kirsch–Mitzenmacher double hashing). */
function secondHash(h: number): number {
  return Math.imul(h ^ (h >>> 15), 0xc2b2ae35) | 1;
}
