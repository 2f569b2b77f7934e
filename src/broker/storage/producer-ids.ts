/**
 * Producer id allocation that never hands out an id twice, even across restarts: ids
 * come from blocks whose upper bound is persisted before any id in them is used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from './fs-util.js';

const BLOCK = 1000;

export class ProducerIdAllocator {
  private next: number;
  private limit: number;
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'producer-ids.json');
    const saved = existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as { limit: number }).limit : 1000;
    this.next = saved;
    this.limit = saved;
  }

  allocate(): number {
    if (this.next >= this.limit) {
      this.limit = this.next + BLOCK;
      writeFileDurable(this.path, JSON.stringify({ limit: this.limit }));
    }
    return this.next++;
  }
}
