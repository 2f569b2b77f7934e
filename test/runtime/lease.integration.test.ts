import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { FencedStore, Lease, runAsLeader } from '../../src/runtime/lease.js';
import { useRedis } from '../helpers/redis.js';

const TTL = 1500;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const getRedis = useRedis({ aof: true });

const clients: Redis[] = [];
const leases: Lease[] = [];
afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.release()));
  for (const c of clients.splice(0)) c.disconnect();
});

/** One client per contender, as separate processes would have; reconnects quickly after a restart. */
function client(): Redis {
  const r = getRedis();
  const c = new Redis({ host: r.host, port: r.port, retryStrategy: () => 50 });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function lease(name: string, owner: string, ttlMs = TTL): Lease {
  const l = new Lease({ redis: client(), name, owner, ttlMs });
  leases.push(l);
  return l;
}

async function fencedCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'written';
  } catch (err) {
    return err instanceof TributaryError ? err.code : String(err);
  }
}

describe('Lease', () => {
  it('lets one of two contenders hold, keeps it through renewals, hands over on release with a larger token', async () => {
    const a = lease('cdc:two', 'a');
    const b = lease('cdc:two', 'b');
    const results: Array<{ who: Lease; token: number }> = [];
    const pa = a.acquire().then((token) => { results.push({ who: a, token }); });
    const pb = b.acquire().then((token) => { results.push({ who: b, token }); });
    await Promise.race([pa, pb]);
    // Two TTLs: without renewals the entry would have expired and the other would be in.
    await sleep(2 * TTL);
    expect(results).toHaveLength(1);
    const first = results[0];
    const other = first.who === a ? b : a;
    expect(first.who.held).toBe(true);
    expect(first.who.token).toBe(first.token);
    expect(other.held).toBe(false);
    expect(other.token).toBeUndefined();

    const releasedAt = Date.now();
    await first.who.release();
    await Promise.all([pa, pb]);
    expect(Date.now() - releasedAt).toBeLessThan(1000 + 200);
    expect(results).toHaveLength(2);
    expect(results[1].who).toBe(other);
    expect(results[1].token).toBeGreaterThan(first.token);
    expect(first.who.held).toBe(false);
    expect(other.held).toBe(true);
  });

  it('a standby that is aborted stops waiting and never takes the lease', async () => {
    const a = lease('cdc:abort', 'a');
    const b = lease('cdc:abort', 'b');
    await a.acquire();
    const controller = new AbortController();
    const waiting = b.acquire(controller.signal);
    setTimeout(() => controller.abort(new Error('shutdown')), 200);
    await expect(waiting).rejects.toThrow('shutdown');
    await a.release();
    await sleep(300);
    expect(b.held).toBe(false);
    const c = lease('cdc:abort', 'c');
    await c.acquire(AbortSignal.timeout(1000));
    expect(c.held).toBe(true);
  });

  it('fences a holder that was frozen (SIGSTOP) past the TTL: the standby takes over with a larger token, the stale write is refused', async () => {
    const name = 'cdc:frozen';
    const child = await startChildHolder(name, 'frozen-holder');
    try {
      const acquired = await child.next('acquired');
      const staleToken = acquired.token as number;

      const standby = lease(name, 'standby');
      const store = new FencedStore(client(), name);
      const standingBy = standby.acquire();

      // The holder checks it still leads, then freezes before its write goes out (a GC pause).
      child.send('check-pause-write A');
      await waitUntilStopped(child.proc);
      const newToken = await standingBy;
      expect(newToken).toBeGreaterThan(staleToken);
      await store.set('position', 'B', newToken);

      child.proc.kill('SIGCONT');
      const write = await child.next('write');
      expect(write.heldBefore).toBe(true);
      expect(write.ok).toBe(false);
      expect(write.code).toBe('TRIB_FENCED');
      await child.next('lost');
      expect(await store.get('position')).toBe('B');
      expect(standby.held).toBe(true);
      // The new holder's own write with the stale token is refused as well: fencing is by token.
      expect(await fencedCode(store.set('position', 'C', staleToken))).toBe('TRIB_FENCED');
    } finally {
      await child.stop();
    }
  });

  it('FencedStore refuses every token once the lease expired unrenewed, and reads stay open', async () => {
    const name = 'cdc:expired';
    const store = new FencedStore(client(), name);
    expect(await store.get('position')).toBeUndefined();
    expect(await fencedCode(store.set('position', 'x', 1))).toBe('TRIB_FENCED');
    const a = lease(name, 'a');
    const token = await a.acquire();
    await store.set('position', 'x', token);
    await a.release();
    expect(await fencedCode(store.set('position', 'y', token))).toBe('TRIB_FENCED');
    expect(await store.get('position')).toBe('x');
  });

  it('runAsLeader aborts the work the moment the lease is lost and stands by again', async () => {
    const name = 'cdc:run';
    const a = lease(name, 'a');
    const admin = client();
    const tokens: number[] = [];
    const abortReasons: unknown[] = [];
    const shutdown = new AbortController();
    const done = runAsLeader(a, async (token, signal) => {
      tokens.push(token);
      if (tokens.length === 1) {
        // An operator deletes the holder entry: the next renewal is refused.
        await admin.del(`{lease:${name}}:holder`);
      }
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => { abortReasons.push(signal.reason); resolve(); }, { once: true }));
    }, { signal: shutdown.signal, standbyAfterLoss: true });
    const deadline = Date.now() + 5000;
    while (tokens.length < 2 && Date.now() < deadline) await sleep(20);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).toBeGreaterThan(tokens[0]);
    expect((abortReasons[0] as TributaryError).code).toBe('TRIB_FENCED');
    shutdown.abort();
    await done;
    expect(a.held).toBe(false);
    expect(await admin.exists(`{lease:${name}}:holder`)).toBe(0);
  });

  it('runAsLeader without standbyAfterLoss rejects with TRIB_FENCED when the lease is lost', async () => {
    const name = 'cdc:run-once';
    const a = lease(name, 'a');
    const admin = client();
    const run = runAsLeader(a, async (_token, signal) => {
      await admin.del(`{lease:${name}}:holder`);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    });
    await expect(run).rejects.toMatchObject({ code: 'TRIB_FENCED' });
  });

  it('never has two holders while Redis (AOF) is killed and restarted under a held lease; tokens keep increasing', async () => {
    const name = 'cdc:restart';
    const store = new FencedStore(client(), name);
    const active = new Set<string>();
    const overlaps: string[] = [];
    const tokensSeen: number[] = [];
    const refusedStale: string[] = [];
    const shutdown = new AbortController();
    const contender = (owner: string): Promise<void> => runAsLeader(lease(name, owner), async (token, signal) => {
      tokensSeen.push(token);
      active.add(owner);
      if (active.size > 1) overlaps.push([...active].join('+'));
      // Leading ends when the holder is told to stop; a write still in flight then is fenced.
      signal.addEventListener('abort', () => active.delete(owner), { once: true });
      try {
        while (!signal.aborted) {
          const result = await fencedCode(store.set('position', `${owner}@${token}`, token));
          // Connection errors while Redis is down are expected; a refusal while still leading is not.
          if (result === 'TRIB_FENCED' && !signal.aborted) refusedStale.push(`${owner}@${token}: ${result}`);
          await sleep(50);
        }
      } finally {
        active.delete(owner);
      }
    }, { signal: shutdown.signal, standbyAfterLoss: true });
    const runs = [contender('a'), contender('b')];
    // Sample the invariant the way an operator would see it: Lease.held on both sides.
    const sampler = setInterval(() => {
      const holding = leases.filter((l) => l.name === name && l.held).map((l) => l.owner);
      if (holding.length > 1) overlaps.push(`held:${holding.join('+')}`);
    }, 10);
    try {
      while (tokensSeen.length === 0) await sleep(20);
      const before = Math.max(...tokensSeen);
      await sleep(300);

      // Down for longer than the TTL: the holder must give up locally before anyone can take over.
      await getRedis().kill();
      await sleep(TTL + 500);
      expect(active.size).toBe(0);
      await getRedis().start();
      const deadline = Date.now() + 5000;
      while (!(active.size === 1 && Math.max(...tokensSeen) > before) && Date.now() < deadline) await sleep(20);
      expect(active.size).toBe(1);
      const after = Math.max(...tokensSeen);
      expect(after).toBeGreaterThan(before);
      await sleep(300);
      const [leader] = [...active];
      expect(await store.get('position')).toBe(`${leader}@${after}`);
      expect(await fencedCode(store.set('position', 'stale', before))).toBe('TRIB_FENCED');

      // A short SIGTERM restart: the persisted entry keeps (at most) one holder.
      await getRedis().stop();
      await getRedis().start();
      await sleep(TTL * 2);
      expect(active.size).toBe(1);
    } finally {
      clearInterval(sampler);
      shutdown.abort();
      await Promise.all(runs);
    }
    expect(overlaps).toEqual([]);
    expect(refusedStale).toEqual([]);
    // Tokens handed out are unique and increasing in the order the works started.
    expect([...tokensSeen].sort((x, y) => x - y)).toEqual(tokensSeen);
    expect(new Set(tokensSeen).size).toBe(tokensSeen.length);
  });
});

// ---- a lease holder in a child process, so SIGSTOP freezes it and nothing else --------------

const workDirs: string[] = [];
afterAll(async () => {
  await Promise.all(workDirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface ChildHolder {
  proc: ChildProcess;
  next(event: string): Promise<Record<string, unknown>>;
  send(line: string): void;
  stop(): Promise<void>;
}

const CHILD_SOURCE = (leaseUrl: string, ioredisUrl: string): string => `
const { Lease, FencedStore } = await import(${JSON.stringify(leaseUrl)});
const { Redis } = await import(${JSON.stringify(ioredisUrl)});
const [port, name, owner, ttl] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: 1 });
redis.on('error', () => {});
const lease = new Lease({ redis, name, owner, ttlMs: Number(ttl) });
const store = new FencedStore(redis, name);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
lease.onLost(() => say({ event: 'lost' }));
const token = await lease.acquire();
say({ event: 'acquired', token });
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\\n')) >= 0) {
    const [cmd, arg] = buffer.slice(0, nl).split(' ');
    buffer = buffer.slice(nl + 1);
    if (cmd === 'check-pause-write') {
      const heldBefore = lease.held;
      process.kill(process.pid, 'SIGSTOP');
      // Resumed by SIGCONT: the write goes out in this same tick, before any lease timer runs.
      store.set('position', arg, token).then(
        () => say({ event: 'write', ok: true, heldBefore }),
        (err) => say({ event: 'write', ok: false, code: err.code, message: err.message, heldBefore }));
    }
  }
});
process.stdin.on('end', () => { redis.disconnect(); process.exit(0); });
`;

async function startChildHolder(name: string, owner: string): Promise<ChildHolder> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-lease-'));
  workDirs.push(dir);
  const script = join(dir, 'holder.mjs');
  await writeFile(script, CHILD_SOURCE(pathToFileURL(join(repoRoot, 'src', 'runtime', 'lease.ts')).href, import.meta.resolve('ioredis')));
  const proc = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, String(getRedis().port), name, owner, String(TTL)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      events.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    async next(event) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const i = events.findIndex((e) => e.event === event);
        if (i >= 0) return events.splice(i, 1)[0];
        if (proc.exitCode !== null) throw new Error(`lease child exited (${proc.exitCode}) before "${event}"\n${err}`);
        if (Date.now() > deadline) throw new Error(`lease child: no "${event}" within 10 s\n${err}`);
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), sleep(100)]);
      }
    },
    send(line) { proc.stdin?.write(line + '\n'); },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Linux: the process state letter in /proc/<pid>/stat is 'T' once SIGSTOP took effect. */
async function waitUntilStopped(proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const stat = await readFile(`/proc/${proc.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    if (Date.now() > deadline) throw new Error('lease child did not stop');
    await sleep(20);
  }
}
