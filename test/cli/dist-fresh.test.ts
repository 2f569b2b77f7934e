import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { distIsFresh } from '../helpers/cli.js';

// The suite's children run the built CLI only when dist/ is as new as src/, file by file.
describe('distIsFresh', () => {
  let root: string;
  afterEach(async () => rm(root, { recursive: true, force: true }));

  async function layout(srcTime: number, distTime: number | undefined): Promise<void> {
    root = await mkdtemp(join(tmpdir(), 'tributary-dist-fresh-'));
    await mkdir(join(root, 'src', 'cli'), { recursive: true });
    await mkdir(join(root, 'dist', 'cli'), { recursive: true });
    await writeFile(join(root, 'src', 'cli', 'main.ts'), 'export {};\n');
    await writeFile(join(root, 'src', 'types.d.ts'), 'export {};\n');
    await utimes(join(root, 'src', 'cli', 'main.ts'), srcTime, srcTime);
    if (distTime !== undefined) {
      await writeFile(join(root, 'dist', 'cli', 'main.js'), 'export {};\n');
      await utimes(join(root, 'dist', 'cli', 'main.js'), distTime, distTime);
    }
  }

  it('is fresh when every compiled file is at least as new as its source', async () => {
    await layout(1_000, 2_000);
    expect(distIsFresh(root)).toBe(true);
  });

  it('is stale when a source changed after the build', async () => {
    await layout(3_000, 2_000);
    expect(distIsFresh(root)).toBe(false);
  });

  it('is stale when a source has no compiled file', async () => {
    await layout(1_000, undefined);
    expect(distIsFresh(root)).toBe(false);
  });
});
