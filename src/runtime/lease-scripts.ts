/**
 * Redis keys and Lua scripts behind Lease and FencedStore. Every operation is ONE script, so
 * check-then-act can never interleave with another contender's script.
 *
 * Keys (all carry the hash tag {lease:<name>}, so they live in one cluster slot and a script may
 * touch any of them):
 *   {lease:<name>}:holder  hash {owner, token}, with a PX expiry = the lease TTL
 *   {lease:<name>}:token   integer counter, never expires: the last fencing token handed out
 *   {lease:<name>}:data    hash key -> value, the leader's durable state (FencedStore)
 *
 * Tokens go out as strings and come back as integer replies; they stay far below 2^53 (one per
 * acquisition), so a JS number carries them exactly.
 */
import { TributaryError } from '../core/errors.js';

export interface LeaseKeys {
  readonly holder: string;
  readonly counter: string;
  readonly data: string;
}

export function leaseKeys(name: string): LeaseKeys {
  // A brace inside the name would end the hash tag early and split the keys over slots.
  if (name.length === 0 || /[{}]/.test(name)) {
    throw new TributaryError('TRIB_USAGE', `lease name must be non-empty and contain no '{' or '}': ${JSON.stringify(name)}`);
  }
  const tag = `{lease:${name}}`;
  return { holder: `${tag}:holder`, counter: `${tag}:token`, data: `${tag}:data` };
}

/**
 * KEYS[1] holder, KEYS[2] counter; ARGV[1] owner, ARGV[2] ttl ms.
 * Only when nobody holds it (SET NX semantics, even for our own owner id: a process that believes
 * it lost the lease waits for its old entry to expire or be released rather than reviving it, so
 * two processes misconfigured with the same owner id still never hold at once).
 * -> {1, token} acquired; {0, pttl} held by someone else.
 */
export const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', tostring(token))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, token}
`;

/** KEYS[1] holder; ARGV[1] owner, ARGV[2] token, ARGV[3] ttl ms. -> 1 extended; 0 not ours any more. */
export const RENEW = `
local h = redis.call('HMGET', KEYS[1], 'owner', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

/** KEYS[1] holder; ARGV[1] owner, ARGV[2] token. -> 1 deleted; 0 not ours (never delete another's). */
export const RELEASE = `
local h = redis.call('HMGET', KEYS[1], 'owner', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * KEYS[1] holder, KEYS[2] data; ARGV[1] token, ARGV[2] field, ARGV[3] value.
 * Applies only while ARGV[1] is the token of the LIVE lease: a superseded holder and a holder
 * whose lease expired unrenewed are both refused.
 * -> {1, token} written; {0, current token or ''} refused.
 */
export const FENCED_SET = `
local current = redis.call('HGET', KEYS[1], 'token')
if current ~= ARGV[1] then
  return {0, current or ''}
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return {1, current}
`;
