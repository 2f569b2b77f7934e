import { afterAll, beforeAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';

/**
 * Registers beforeAll/afterAll for one service (a broker, redis-server, mariadbd...) shared by a
 * describe block; returns a getter to call inside tests and hooks.
 */
export function useService<T extends { close(): Promise<void> }>(what: string, start: () => Promise<T>, startTimeoutMs?: number): () => T {
  let service: T | undefined;
  beforeAll(async () => { service = await start(); }, startTimeoutMs);
  afterAll(async () => { await service?.close(); });
  return () => {
    if (!service) throw new Error(`${what} not started (call the getter inside a test or hook)`);
    return service;
  };
}

/** Still running: neither exited nor killed by a signal. */
export function isRunning(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Resolves when the process has exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. A no-op for a process that is gone. */
export async function signalAndWait(child: ChildProcess | undefined, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child === undefined || !isRunning(child)) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await done;
  clearTimeout(timer);
}
