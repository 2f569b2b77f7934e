/**
 * The timer services of one backend, one per (step, partition): created on first use, loaded
 * from LevelDB (page index, and timers of the layout before pages) once per load, unloaded when
 * a partition is dropped. backend.ts owns one and collects them at each checkpoint.
 */
import { TributaryError } from '../core/errors.js';
import type { BytesStore } from './level-bytes-store.js';
import { PersistentTimers, TimerMemory, type LegacyTimer } from './timer-service.js';
import { decodeTimerPage, timerPageCount, timerPageFits } from './codec/timer-page.js';
import { latin1Bytes } from './codec/latin1.js';
import { KIND_TIMER, KIND_TIMER_PAGE, decodeStateKey, scopeRange } from './codec/state-key.js';

export class TimerServices {
  private readonly services = new Map<string, PersistentTimers>();
  private readonly loads = new Map<string, Promise<PersistentTimers>>();

  private readonly memory: TimerMemory;

  /** @param memoryBytes how many bytes of clean timer pages all services together keep in memory */
  constructor(
    private readonly bottom: BytesStore,
    private readonly pageMs: number,
    memoryBytes: number,
  ) {
    this.memory = new TimerMemory(memoryBytes);
  }

  /** The service of a (step, partition); `stepId` names it in messages. */
  get(stepId: string, step: number, partition: number): PersistentTimers {
    const id = `${step}/${partition}`;
    let service = this.services.get(id);
    if (!service) {
      service = new PersistentTimers(step, partition, `timers of step '${stepId}' partition ${partition}`, this.bottom, this.pageMs, this.memory);
      this.services.set(id, service);
    }
    return service;
  }

  /** Loads a service from LevelDB once (idempotent until unloaded). */
  load(service: PersistentTimers): Promise<PersistentTimers> {
    const id = service.scope;
    const { step, partition } = service;
    let load = this.loads.get(id);
    if (load) return load;
    load = (async () => {
      const pages: Array<[number, number]> = [];
      const legacy: LegacyTimer[] = [];
      for await (const [k, v] of this.bottom.entries(scopeRange(KIND_TIMER_PAGE, step, partition))) {
        const d = decodeStateKey(k);
        if (d.kind !== 'timer-page') continue;
        if (timerPageFits(v, d.start, this.pageMs)) pages.push([d.start, timerPageCount(v)]);
        else {
          // Written with another page width: its timers move into pages of this one at the next
          // checkpoint (firing pages in start order assumes one width).
          const tagged = new Set<string>();
          for (const t of decodeTimerPage(v, tagged)) legacy.push([t.time, latin1Bytes(t.keyId), k, tagged.has(t.keyId)]);
        }
      }
      // Timers written before pages (one entry each) move into pages at the next checkpoint.
      for await (const [k] of this.bottom.entries(scopeRange(KIND_TIMER, step, partition))) {
        const d = decodeStateKey(k);
        if (d.kind === 'timer') legacy.push([d.time, d.key, k]);
      }
      // dropPartition() while scanning: what was read may be stale, so load nothing.
      if (this.loads.get(id) !== load) {
        throw new TributaryError('TRIB_INTERNAL', `partition ${partition} was dropped while its timers were loading`);
      }
      service.load(pages, legacy);
      return service;
    })();
    this.loads.set(id, load);
    const mine = load;
    load.catch(() => {
      if (this.loads.get(id) === mine) this.loads.delete(id);
    });
    return load;
  }

  /** Whether a (step, partition)'s timers are loaded or loading. */
  inUse(step: number, partition: number): boolean {
    const id = `${step}/${partition}`;
    return this.services.get(id)?.isLoaded === true || this.loads.has(id);
  }

  unload(partition: number): void {
    for (const [id, service] of this.services) {
      if (service.partition !== partition) continue;
      service.unload();
      this.loads.delete(id);
    }
  }

  all(): IterableIterator<PersistentTimers> {
    return this.services.values();
  }
}
