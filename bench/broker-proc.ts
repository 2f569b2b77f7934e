/**
 * Plumbing shared by the broker bench and its child processes: the producers and the
 * consumers run in processes of their own (a client library costs several times the
 * broker's CPU per record, and clients sharing one event loop delay each other's sends and fetches,
 * which is client contention, not broker latency). Parent and children talk over
 * Node's IPC channel; times are CLOCK_MONOTONIC (process.hrtime), which all processes
 * on the machine share, so a timestamp taken in one child is comparable in another.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** Monotonic milliseconds, comparable across processes on this machine. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Milliseconds a process's main thread (its event loop) has spent runnable but waiting
 * for a CPU, from /proc/PID/schedstat: the share of latency that is the OS scheduler's.
 */
export function runQueueWaitMs(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine (all cores, all processes, hypervisor steal) so far, from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return NaN;
  }
}

export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * How long this process's event loop was held up: its delay p99/max, garbage-collection
 * pauses, and the stalls over 10 ms with how much of them the main thread spent waiting
 * for a CPU (run queue) — the rest is the process's own work, GC or blocking I/O.
 */
export interface Stalls { p99: number; max: number; gcMax: number; gcTotal: number; over10: number; over10Ms: number; over10CpuWaitMs: number }

const TICK_MS = 5;

/** Starts watching this process's event-loop stalls; the result stops it and reports (ms). */
export function watchStalls(): () => Stalls {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let gcMax = 0;
  let gcTotal = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMax = Math.max(gcMax, e.duration);
      gcTotal += e.duration;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  let over10 = 0;
  let over10Ms = 0;
  let over10CpuWaitMs = 0;
  let last = nowMs();
  let lastWait = runQueueWaitMs(process.pid);
  const ticker = setInterval(() => {
    const t = nowMs();
    const wait = runQueueWaitMs(process.pid);
    const lag = t - last - TICK_MS;
    if (lag > 10) {
      over10++;
      over10Ms += lag;
      over10CpuWaitMs += Math.min(lag, wait - lastWait);
    }
    last = t;
    lastWait = wait;
  }, TICK_MS);
  h.enable();
  return () => {
    h.disable();
    gc.disconnect();
    clearInterval(ticker);
    return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, gcMax, gcTotal, over10, over10Ms, over10CpuWaitMs };
  };
}

export const progress = (msg: string): void => {
  process.stderr.write(`[bench:broker] ${msg}\n`);
};

/** Connection options every bench client shares. */
export function benchClientOptions(brokers: string[], clientId: string): { clientId: string; bootstrapBrokers: string[]; autocreateTopics: false } {
  return { clientId, bootstrapBrokers: brokers, autocreateTopics: false };
}

// ---------------------------------------------------------------------------------------
// Parent side.

export type ChildMessage = { type: string } & Record<string, unknown>;

export interface BenchChild {
  readonly pid: number | undefined;
  /** Resolves with the next message of this type (buffered if it came earlier). */
  next<T extends { type: string }>(type: string, timeoutMs?: number): Promise<T>;
  send(msg: ChildMessage): void;
  /** Asks the child to stop, then kills it if it has not exited within 3 s. */
  stop(): Promise<void>;
}

/** Forks a bench child script (run through tsx) with `config` as its argument. */
export function forkBenchChild(scriptUrl: URL, config: unknown): BenchChild {
  const child: ChildProcess = fork(scriptUrl, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: ChildMessage[] = [];
  const waiters: Array<{ type: string; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }> = [];
  let exitError: Error | undefined;
  const failAll = (err: Error): void => {
    exitError = err;
    for (const w of waiters.splice(0)) w.reject(err);
  };
  child.on('message', (m: ChildMessage) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else if (m.type === 'error') failAll(new Error(`bench child ${scriptUrl.pathname}: ${String(m.message)}`));
    else inbox.push(m);
  });
  child.on('exit', (code, signal) => failAll(new Error(`bench child ${scriptUrl.pathname} exited (code ${code}, signal ${signal})`)));
  return {
    pid: child.pid,
    next<T extends { type: string }>(type: string, timeoutMs = 60_000): Promise<T> {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as unknown as T);
      if (exitError) return Promise.reject(exitError);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${type}' from ${scriptUrl.pathname} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => { clearTimeout(timer); resolve(m as unknown as T); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        });
      });
    },
    send(msg) {
      if (child.connected) child.send(msg);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Child side.

export function childConfig<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function tell(msg: ChildMessage): void {
  process.send?.(msg);
}

/** Resolves when the parent sends a message of this type. */
export function parentSays(type: string): Promise<ChildMessage> {
  return new Promise((resolve) => {
    const on = (m: ChildMessage): void => {
      if (m.type !== type) return;
      process.off('message', on);
      resolve(m);
    };
    process.on('message', on);
  });
}

/** Runs a child's main, reporting a failure to the parent instead of dying silently. */
export function runChild(main: () => Promise<void>): void {
  // The parent is gone (or done with us): leave, rather than linger with open client sockets.
  process.once('disconnect', () => process.exit());
  main().then(
    () => process.disconnect?.(),
    (err: unknown) => {
      process.exitCode = 1;
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      if (process.send) process.send({ type: 'error', message }, () => process.disconnect());
      else process.stderr.write(`${message}\n`);
    },
  );
}
