import { afterAll, beforeAll } from 'vitest';

/**
 * Registers beforeAll/afterAll for one service (a broker, redis-server, mariadbd...) shared by a
 * describe block; returns a getter to call inside tests and hooks.
 */
export function useService<T extends { close(): Promise<void> }>(what: string, start: () => Promise<T>): () => T {
  let service: T | undefined;
  beforeAll(async () => { service = await start(); });
  afterAll(async () => { await service?.close(); });
  return () => {
    if (!service) throw new Error(`${what} not started (call the getter inside a test or hook)`);
    return service;
  };
}
