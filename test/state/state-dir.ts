import { afterEach, beforeEach } from 'vitest';
import type { StateBackend } from '../../src/state/backend.js';
import { tempDir } from './helpers.js';

/** A fresh state directory per test; the backend a test puts in `backend` is closed after it. */
export function stateDirPerTest(): { dir: string; backend: StateBackend | undefined } {
  const t: { dir: string; backend: StateBackend | undefined } = { dir: '', backend: undefined };
  let cleanup: () => Promise<void> = async () => {};
  beforeEach(async () => {
    ({ dir: t.dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await t.backend?.close();
    t.backend = undefined;
    await cleanup();
  });
  return t;
}
