/**
 * Starts test services in parallel. If one fails, the ones that did start are stopped before the
 * error goes on: a suite whose beforeAll throws never gets them to stop in afterAll, and they
 * would outlive the test run (a Redis server was left behind once when MariaDB failed to start).
 */
type Stoppable = { close?: () => Promise<void>; stop?: () => Promise<void> };

export async function startAll<T extends readonly unknown[]>(...starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed === undefined) return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  await Promise.allSettled(
    settled.map((s) => {
      if (s.status !== 'fulfilled') return undefined;
      const service = s.value as Stoppable;
      return service.close?.() ?? service.stop?.();
    }),
  );
  throw failed.reason;
}
