/**
 * Version-guarded upserts: one Lua script per record, so "compare the stored version, then write"
 * is atomic and a replay (backfill, retry after a crash) never overwrites a newer live value.
 * A write applies when its version is >= the stored one (equal applies: a retried batch rewrites
 * the same value). The scripts return 1 when applied, 0 when the stored version was newer.
 *
 * Layout in Redis
 *   hash   KEY            hash: one field per row field + `_v` = version (a decimal number)
 *   string KEY            string: the value (a row field, or the row as JSON)
 *          VKEY           string: the version, where VKEY = KEY + ':_v' when KEY has a hash tag
 *                         ("feat:{u1}" -> "feat:{u1}:_v"), else '{' + KEY + '}:_v'
 *                         ("feat:u1" -> "{feat:u1}:_v"): both always hash to the same cluster slot.
 *   With a ttl, every applied write sets it on KEY (and VKEY). A null value deletes the hash
 *   field / the string key; the version stays behind as a tombstone so an older replay cannot
 *   bring the value back (until the ttl, if any, expires it).
 * A key of another type is never replaced: the script fails with WRONGTYPE (the record goes to
 * the dead-letter output). A stored version that is not a number fails with TRIB_BADVERSION.
 */
import { createHash } from 'node:crypto';

export const VERSION_FIELD = '_v';

export interface GuardScript {
  readonly source: string;
  readonly sha: string;
  readonly keys: number;
}

function script(source: string, keys: number): GuardScript {
  return { source, sha: createHash('sha1').update(source).digest('hex'), keys };
}

const checkVersion = (read: string): string => `
local stored = ${read}
if stored then
  local v = tonumber(stored)
  if v == nil then return redis.error_reply('TRIB_BADVERSION stored version is not a number: ' .. tostring(stored)) end
  if v > tonumber(ARGV[1]) then return 0 end
end
local ttl = tonumber(ARGV[2])`;

/**
 * KEYS[1] = hash key. ARGV[1] = version, ARGV[2] = ttl ms (0: none), ARGV[3] = n,
 * ARGV[4 .. 3+2n] = field/value pairs to set, ARGV[4+2n ..] = fields to delete.
 */
export const hashGuard = script(`${checkVersion(`redis.call('HGET', KEYS[1], '${VERSION_FIELD}')`)}
local n = tonumber(ARGV[3])
local set = {'${VERSION_FIELD}', ARGV[1]}
for i = 4, 3 + 2 * n do set[#set + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(set))
if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n)) end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`, 1);

/** KEYS[1] = value key, KEYS[2] = version key. ARGV[1] = version, ARGV[2] = ttl ms, ARGV[3] = '1' set / '0' delete, ARGV[4] = value. */
export const stringGuard = script(`${checkVersion(`redis.call('GET', KEYS[2])`)}
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'string' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
if ARGV[3] == '1' then
  if ttl > 0 then redis.call('SET', KEYS[1], ARGV[4], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[4]) end
else
  redis.call('DEL', KEYS[1])
end
if ttl > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl) else redis.call('SET', KEYS[2], ARGV[1]) end
return 1
`, 2);

/** The hash tag Redis Cluster hashes instead of the whole key, if the key has one. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** The companion key holding a string key's version; same cluster slot as `key` (see header). */
export function versionKey(key: string): string {
  return hashTag(key) === undefined ? `{${key}}:${VERSION_FIELD}` : `${key}:${VERSION_FIELD}`;
}

const crcTable = ((): Uint16Array => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** Redis Cluster slot of a key: CRC16-XMODEM of the hash tag (or whole key) mod 16384. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(hashTag(key) ?? key, 'utf8');
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ crcTable[((crc >> 8) ^ byte) & 0xff]!;
  return crc % 16384;
}
