/**
 * Leader election through Redis with a fencing token: one active CDC reader per database server.
 *
 * Guarantees, and what they rest on:
 * - At most one LIVE lease per name in Redis: acquire, renew and release are each one Lua script
 *   (lease-scripts.ts), acquire only succeeds when no holder entry exists.
 * - Every acquisition gets a fencing token from a counter that never expires (INCR inside the
 *   acquire script): strictly greater than every earlier holder's, as long as Redis keeps its data
 *   (run it with AOF; the FencedStore data lives next to the counter, so a Redis that forgets the
 *   counter has forgotten the leader's positions too).
 * - The holder considers the lease lost - and fires onLost - when a renewal is refused, or when no
 *   renewal has succeeded for the TTL (less a drift margin, counted from when the last successful
 *   request was SENT, on a monotonic clock). In a process that runs normally it therefore stops
 *   before Redis lets anyone else in.
 *
 * What the lease alone does NOT guarantee (Kleppmann, "How to do distributed locking", 2016): a
 * holder paused longer than the TTL (GC, SIGSTOP, a VM migration, a blocked event loop) wakes up
 * still believing it leads, and a write it had already decided to make goes out after another
 * process took over. No timer can prevent that. What makes the stale leader harmless is the
 * fencing token checked AT THE WRITE: FencedStore.set applies a write only if its token is the
 * token of the live lease, in the same Lua script, and refuses anything else with TRIB_FENCED.
 * Anything the leader writes elsewhere must be fenced the same way (or be idempotent).
 *
 * Limits: with Redis replication, a failover can lose the last acknowledged writes (replication is
 * asynchronous), so two holders - even equal tokens - are possible across a failover; run the
 * lease on a primary without automatic failover, or accept that window. In Redis Cluster all keys
 * of one lease share the hash tag {lease:<name>}, hence one slot and one primary.
 */
import type { Cluster, Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { TributaryError, errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { ACQUIRE, FENCED_SET, RELEASE, RENEW, leaseKeys, type LeaseKeys } from './lease-scripts.js';

export type RedisClient = Redis | Cluster;
/** A fencing token: a positive integer, strictly increasing across acquisitions of one lease. */
export type FencingToken = number;

export interface LeaseOptions {
  redis: RedisClient;
  /** Lease name, e.g. 'cdc:<server>'; no '{' or '}'. */
  name: string;
  /** Unique per process (e.g. `${hostname}:${pid}`); shows in Redis and in logs. */
  owner: string;
  /** Default 10000. */
  ttlMs?: number;
  /** Default ttl/3; at most ttl/2, so a failed renewal still has time for retries. */
  renewEveryMs?: number;
  /** How often a standby tries to take the lease (and a failed renewal retries). Default min(renewEveryMs, 1000). */
  retryEveryMs?: number;
  logger?: Logger;
}

type LeaseState =
  | { kind: 'idle' }
  | { kind: 'acquiring' }
  | { kind: 'held'; token: FencingToken; deadline: number; renewTimer?: NodeJS.Timeout; watchdog?: NodeJS.Timeout };

const now = (): number => performance.now();
/** ±20 %, so a fleet started together does not renew and poll in lockstep. */
const jitter = (ms: number): number => Math.max(1, Math.round(ms * (0.8 + 0.4 * Math.random())));

export class Lease {
  readonly name: string;
  readonly owner: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly retryEveryMs: number;
  private readonly redis: RedisClient;
  private readonly keys: LeaseKeys;
  private readonly logger: Logger;
  private readonly lostListeners = new Set<() => void>();
  private state: LeaseState = { kind: 'idle' };
  /** Bumped on every hold/lose/release, so a reply that arrives late knows it is stale. */
  private epoch = 0;

  constructor(options: LeaseOptions) {
    this.redis = options.redis;
    this.name = options.name;
    this.keys = leaseKeys(options.name);
    if (!options.owner) throw new TributaryError('TRIB_USAGE', 'lease owner must be a non-empty string unique per process');
    this.owner = options.owner;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    this.retryEveryMs = options.retryEveryMs ?? Math.min(this.renewEveryMs, 1000);
    if (!(this.ttlMs >= 10) || !(this.renewEveryMs >= 1) || this.renewEveryMs > this.ttlMs / 2 || !(this.retryEveryMs >= 1)) {
      throw new TributaryError('TRIB_USAGE',
        `lease ${this.name}: need ttlMs >= 10, 1 <= renewEveryMs <= ttlMs/2, retryEveryMs >= 1 (got ttlMs=${this.ttlMs}, renewEveryMs=${this.renewEveryMs}, retryEveryMs=${this.retryEveryMs})`);
    }
    this.logger = (options.logger ?? silentLogger).child({ lease: this.name, owner: this.owner });
  }

  /** True while this process holds the lease and its local deadline has not passed (false as soon as it has, even before onLost runs). */
  get held(): boolean {
    return this.state.kind === 'held' && now() < this.state.deadline;
  }

  /** The fencing token of the current holding; undefined when not held. */
  get token(): FencingToken | undefined {
    return this.held && this.state.kind === 'held' ? this.state.token : undefined;
  }

  /** Called each time a holding ends other than by release(); the holder must stop writing at once. Returns an unsubscribe function. */
  onLost(cb: () => void): () => void {
    this.lostListeners.add(cb);
    return () => { this.lostListeners.delete(cb); };
  }

  /**
   * Resolves when this process holds the lease, with a fencing token strictly greater than every
   * earlier holder's. Waits as a standby meanwhile, riding out Redis outages; rejects only on abort.
   */
  async acquire(signal?: AbortSignal): Promise<FencingToken> {
    if (this.state.kind !== 'idle') {
      throw new TributaryError('TRIB_USAGE', `lease ${this.name}: acquire() while ${this.state.kind === 'held' ? 'already held' : 'already acquiring'}`);
    }
    this.state = { kind: 'acquiring' };
    let loggedWaiting = false;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const sentAt = now();
        let reply: unknown;
        try {
          reply = await abortable(this.eval(ACQUIRE, [this.keys.holder, this.keys.counter], [this.owner, String(this.ttlMs)]), signal,
            (late) => { void this.releaseLateAcquire(late); });
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          this.logger.warn('lease acquire failed; retrying', { error: errorMessage(err) });
          await sleep(jitter(this.retryEveryMs), signal);
          continue;
        }
        const [acquired, value] = parsePair(reply);
        if (acquired === 1) {
          this.hold(value, sentAt);
          this.logger.info('lease acquired', { token: value });
          return value;
        }
        if (!loggedWaiting) {
          this.logger.info('lease held elsewhere; standing by', { ttlLeftMs: value });
          loggedWaiting = true;
        }
        // Poll, but not long past the holder's expiry when it is near.
        const wait = value > 0 ? Math.min(jitter(this.retryEveryMs), value + 5) : jitter(this.retryEveryMs);
        await sleep(wait, signal);
      }
    } finally {
      if (this.state.kind === 'acquiring') this.state = { kind: 'idle' };
    }
  }

  /** Gives the lease up (best effort: if Redis is unreachable the entry expires after the TTL). Does not fire onLost. */
  async release(): Promise<void> {
    if (this.state.kind !== 'held') return;
    const token = this.state.token;
    this.stop();
    try {
      await this.eval(RELEASE, [this.keys.holder], [this.owner, String(token)]);
      this.logger.info('lease released', { token });
    } catch (err) {
      this.logger.warn('lease release failed; it expires after the TTL', { token, error: errorMessage(err) });
    }
  }

  private hold(token: FencingToken, sentAt: number): void {
    this.epoch++;
    this.state = { kind: 'held', token, deadline: sentAt + this.validityMs() };
    this.armWatchdog();
    this.scheduleRenew(jitter(this.renewEveryMs));
  }

  /** The part of the TTL this side may count on: less a clock-drift margin (as Redlock does). */
  private validityMs(): number {
    return this.ttlMs - Math.ceil(this.ttlMs * 0.01) - 2;
  }

  private armWatchdog(): void {
    const s = this.state;
    if (s.kind !== 'held') return;
    if (s.watchdog) clearTimeout(s.watchdog);
    const epoch = this.epoch;
    s.watchdog = setTimeout(() => {
      if (this.epoch === epoch) this.lose('no renewal succeeded within the TTL');
    }, Math.max(0, s.deadline - now()));
  }

  private scheduleRenew(delayMs: number): void {
    const s = this.state;
    if (s.kind !== 'held') return;
    if (s.renewTimer) clearTimeout(s.renewTimer);
    const epoch = this.epoch;
    s.renewTimer = setTimeout(() => { void this.renew(epoch); }, delayMs);
  }

  private async renew(epoch: number): Promise<void> {
    const s = this.state;
    if (this.epoch !== epoch || s.kind !== 'held') return;
    const sentAt = now();
    // Woken after a long pause: the lease may already be someone else's; do not pretend otherwise.
    if (sentAt >= s.deadline) return this.lose('deadline passed before renewal (process paused?)');
    let renewed: boolean;
    try {
      renewed = (await this.eval(RENEW, [this.keys.holder], [this.owner, String(s.token), String(this.ttlMs)])) === 1;
    } catch (err) {
      if (this.epoch !== epoch) return;
      this.logger.warn('lease renewal failed; retrying until the TTL runs out', { error: errorMessage(err) });
      this.scheduleRenew(Math.min(jitter(this.retryEveryMs), Math.max(1, Math.floor((s.deadline - now()) / 2))));
      return;
    }
    if (this.epoch !== epoch) {
      // We gave up locally while this request was queued; an extension nobody uses would only
      // keep the standby waiting another TTL.
      if (renewed) await this.releaseToken(s.token);
      return;
    }
    if (!renewed) return this.lose('renewal refused: the lease expired or another owner holds it');
    s.deadline = Math.max(s.deadline, sentAt + this.validityMs());
    this.armWatchdog();
    this.scheduleRenew(jitter(this.renewEveryMs));
  }

  private lose(reason: string): void {
    const s = this.state;
    if (s.kind !== 'held') return;
    this.logger.warn('lease lost', { token: s.token, reason });
    this.stop();
    for (const cb of [...this.lostListeners]) {
      try {
        cb();
      } catch (err) {
        this.logger.error('lease onLost callback threw', { error: errorMessage(err) });
      }
    }
  }

  private stop(): void {
    const s = this.state;
    if (s.kind === 'held') {
      if (s.renewTimer) clearTimeout(s.renewTimer);
      if (s.watchdog) clearTimeout(s.watchdog);
    }
    this.epoch++;
    this.state = { kind: 'idle' };
  }

  /** An acquire that succeeded after the caller aborted: hand it straight back. */
  private async releaseLateAcquire(reply: unknown): Promise<void> {
    try {
      const [acquired, token] = parsePair(reply);
      if (acquired === 1) await this.releaseToken(token);
    } catch { /* the entry expires after the TTL */ }
  }

  private async releaseToken(token: FencingToken): Promise<void> {
    try {
      await this.eval(RELEASE, [this.keys.holder], [this.owner, String(token)]);
    } catch { /* the entry expires after the TTL */ }
  }

  private eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.redis.eval(script, keys.length, ...keys, ...args);
  }
}

/**
 * A durable key/value for the leader's state (e.g. the CDC binlog position), fenced by the lease:
 * set() applies only if its token is the token of the live lease `leaseName`, checked and written
 * in one Lua script; a stale or expired holder gets TributaryError('TRIB_FENCED'). Reads are not
 * fenced (a standby may read to prepare its takeover).
 */
export class FencedStore {
  private readonly keys: LeaseKeys;

  constructor(private readonly redis: RedisClient, readonly leaseName: string) {
    this.keys = leaseKeys(leaseName);
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.redis.hget(this.keys.data, key);
    return value ?? undefined;
  }

  async set(key: string, value: string, token: FencingToken): Promise<void> {
    const reply = await this.redis.eval(FENCED_SET, 2, this.keys.holder, this.keys.data, String(token), key, value);
    if (!Array.isArray(reply) || reply[0] !== 1) {
      const current = Array.isArray(reply) && reply[1] ? String(reply[1]) : 'none (lease not held)';
      throw new TributaryError('TRIB_FENCED',
        `lease ${this.leaseName}: write to "${key}" refused: token ${token} is not the current lease token (current: ${current}); this process is no longer the leader`);
    }
  }
}

export interface RunAsLeaderOptions {
  /** Stops standing by / aborts the work (shutdown). */
  signal?: AbortSignal;
  /** After losing the lease, go back to standby and try again (default false: reject with TRIB_FENCED). */
  standbyAfterLoss?: boolean;
  logger?: Logger;
}

/**
 * Acquire, run `work` with the token and a signal that aborts the moment the lease is lost (or
 * options.signal aborts), release at the end. Resolves when work resolves while still leading, or
 * when options.signal aborts. Work that throws while still leading rejects runAsLeader with that
 * error. On loss, work's signal aborts with a TRIB_FENCED error; once work settles, runAsLeader
 * either rejects with it or, with standbyAfterLoss, stands by again. Work must honour its signal:
 * JavaScript cannot stop it otherwise - which is why its writes must be fenced too.
 */
export async function runAsLeader(
  lease: Lease,
  work: (token: FencingToken, signal: AbortSignal) => Promise<void>,
  options: RunAsLeaderOptions = {},
): Promise<void> {
  const { signal } = options;
  const logger = options.logger ?? silentLogger;
  for (;;) {
    let token: FencingToken;
    try {
      token = await lease.acquire(signal);
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
    const running = new AbortController();
    let lostError: TributaryError | undefined;
    const unsubscribe = lease.onLost(() => {
      lostError = new TributaryError('TRIB_FENCED', `lease ${lease.name} lost (token ${token}); stopped leading`, { retriable: true });
      running.abort(lostError);
    });
    const onShutdown = (): void => running.abort(signal?.reason);
    signal?.addEventListener('abort', onShutdown, { once: true });
    if (signal?.aborted) onShutdown();
    try {
      await work(token, running.signal);
    } catch (err) {
      if (!lostError && !signal?.aborted) throw err;
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onShutdown);
      await lease.release();
    }
    if (signal?.aborted) return;
    if (!lostError) return;
    if (!options.standbyAfterLoss) throw lostError;
    logger.warn('lease lost; back to standby', { lease: lease.name, token });
  }
}

function parsePair(reply: unknown): [number, number] {
  if (Array.isArray(reply) && reply.length === 2 && typeof reply[0] === 'number' && typeof reply[1] === 'number') {
    return [reply[0], reply[1]];
  }
  throw new TributaryError('TRIB_INTERNAL', `unexpected lease script reply: ${JSON.stringify(reply)}`);
}

/** Rejects with signal.reason on abort; if the promise settles later, onLate sees its value. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, onLate: (value: T) => void): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      promise.then(onLate, () => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => { clearTimeout(timer); reject(signal?.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
