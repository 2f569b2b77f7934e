/**
 * Record i of partition p as a pure function of (config, p, i): the generator can start anywhere
 * (seek) and a restarted worker sees exactly the records it saw before.
 */
import { TributaryError } from '../../core/errors.js';
import type { RawRecord } from '../types.js';
import { hashInts, rng } from './prng.js';
import { presets, type Preset } from './presets.js';
import { DEFAULT_EVENTS_PER_SECOND, DEFAULT_START_TIME, type GeneratorConfig } from './spec.js';
import { World } from './world.js';

// Separate streams per concern: changing one share (say badRecords) leaves the others' picks alone.
const SALT_ROW = 1;
const SALT_DISORDER = 2;
const SALT_BAD = 3;
const SALT_DUPLICATE = 4;

/** How far back a duplicate may reach. */
const DUPLICATE_WINDOW = 16;

/** The unparseable value of a bad record of the 'raw' kind (text the json format must reject). */
export const UNPARSEABLE = '{"oops';

export function parseStartTime(text: string): number {
  // A date-time without a zone would be local time: the same topology would yield other data elsewhere.
  const iso = /T[\d:.]+$/.test(text) ? `${text}Z` : text;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(iso);
  if (!Number.isFinite(ms)) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `generator: invalid startTime '${text}'`);
  return ms;
}

/** Records per partition: `count` split as evenly as possible, lower partitions take the remainder. */
export function partitionCounts(count: number, partitions: number): number[] {
  const base = Math.floor(count / partitions);
  const extra = count % partitions;
  return Array.from({ length: partitions }, (_, p) => base + (p < extra ? 1 : 0));
}

export class RecordFactory {
  private readonly world: World;
  private readonly preset: Preset;
  private readonly startMs: number;
  private readonly stepMs: number;

  constructor(private readonly config: GeneratorConfig) {
    this.world = new World(config.seed, config.keys);
    this.preset = presets[config.preset];
    this.startMs = parseStartTime(config.startTime ?? DEFAULT_START_TIME);
    this.stepMs = 1000 / (config.eventsPerSecond ?? DEFAULT_EVENTS_PER_SECOND);
  }

  get timeField(): string {
    return this.preset.timeField;
  }

  record(partition: number, index: number): RawRecord {
    const { value, timestamp } = this.original(partition, this.duplicateOf(partition, index));
    return { offset: index, timestamp, key: null, value };
  }

  /** The index whose record `index` repeats (itself when it is no duplicate); follows chains. */
  duplicateOf(partition: number, index: number): number {
    const share = this.config.duplicates ?? 0;
    let j = index;
    while (share > 0 && j > 0) {
      const r = rng(hashInts(this.config.seed, SALT_DUPLICATE, partition, j));
      if (!r.chance(share)) break;
      j -= 1 + r.int(Math.min(j, DUPLICATE_WINDOW));
    }
    return j;
  }

  private original(partition: number, index: number): { value: RawRecord['value']; timestamp: number } {
    const seed = this.config.seed;
    let eventTime = this.startMs + Math.floor(index * this.stepMs);
    const disorder = this.config.outOfOrder ?? 0;
    if (disorder > 0) {
      const r = rng(hashInts(seed, SALT_DISORDER, partition, index));
      if (r.chance(disorder)) eventTime -= 1 + r.int(this.config.maxDelay ?? 30_000);
    }
    const row = this.preset.row(this.world, { partition, index, eventTime }, rng(hashInts(seed, SALT_ROW, partition, index)));
    const badShare = this.config.badRecords ?? 0;
    if (badShare > 0) {
      const r = rng(hashInts(seed, SALT_BAD, partition, index));
      if (r.chance(badShare)) {
        switch (r.int(4)) {
          case 0:
            delete row[this.preset.timeField];
            break;
          case 1:
            row[this.preset.timeField] = 'yesterday';
            break;
          case 2:
            this.preset.wrongType(row);
            break;
          default:
            return { value: UNPARSEABLE, timestamp: eventTime };
        }
      }
    }
    return { value: row, timestamp: eventTime };
  }
}
