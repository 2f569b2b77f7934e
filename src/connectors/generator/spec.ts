import { s, type Infer } from '../../core/spec.js';
import { presetNames } from './presets.js';

export const DEFAULT_START_TIME = '2026-11-01T00:00:00Z';
/** One record per 2 s per partition: 100 000 records over 4 partitions span ~14 h of event time, 1 M ~6 days. */
export const DEFAULT_EVENTS_PER_SECOND = 0.5;

const startTimePattern = '^(\\d+|\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})?)?)$';

export const generatorSpec = s.object({
  preset: s.enum(presetNames).describe("What to generate: 'loan-applications' (key user_id) or 'device-events' (key device_id)"),
  rate: s.number({ min: 0 }).describe('Records per second over all partitions; 0 = as fast as possible'),
  keys: s.number({ min: 1, integer: true }).describe('Cardinality of the main key (users for loans, devices for device events)'),
  seed: s.number({ integer: true }).describe('Same seed, same records: record i of partition p depends only on (seed, p, i)'),
  count: s.number({ min: 0, integer: true }).optional().describe('Total records over all partitions; absent = endless'),
  partitions: s.number({ min: 1, max: 1024, integer: true }).default(4).describe('Number of partitions'),
  outOfOrder: s.number({ min: 0, max: 1 }).default(0).describe('Share of records whose event time is pushed back by up to maxDelay'),
  maxDelay: s.duration({ min: 1 }).default(30_000).describe('How far back an out-of-order record may go'),
  duplicates: s.number({ min: 0, max: 0.9 }).default(0)
    .describe('Share of records that repeat one of the previous 16 records of their partition exactly (same id)'),
  badRecords: s.number({ min: 0, max: 1 }).default(0)
    .describe('Share of malformed records: missing or non-numeric time field, a wrongly typed field, or unparseable text'),
  startTime: s.string({ pattern: startTimePattern, patternHint: 'an ISO-8601 date/time or epoch milliseconds' })
    .default(DEFAULT_START_TIME).describe('Event time of record 0 of every partition'),
  eventsPerSecond: s.number({ min: 0.000_001 }).default(DEFAULT_EVENTS_PER_SECOND)
    .describe('Event-time density per partition: event time advances 1000/eventsPerSecond ms per record'),
});

export type GeneratorConfig = Infer<typeof generatorSpec>;
