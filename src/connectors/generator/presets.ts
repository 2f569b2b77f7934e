/**
 * The generator's record shapes. A preset builds the clean row of one record and knows how to
 * spoil one (bad records), so the share of bad records never changes the clean ones.
 */
import type { Row } from '../../core/record.js';
import type { Rng } from './prng.js';
import { skewedIndex, type World } from './world.js';

export type PresetName = 'loan-applications' | 'device-events';
export const presetNames = ['loan-applications', 'device-events'] as const satisfies readonly PresetName[];

/** Where record (p, i) sits in the stream; ids are built from (partition, index) so they are unique. */
export interface RecordCoordinates {
  partition: number;
  index: number;
  eventTime: number;
}

export interface Preset {
  /** The row field holding event time (epoch ms). */
  readonly timeField: string;
  row(world: World, at: RecordCoordinates, r: Rng): Row;
  /** A wrongly typed (but present) field, for the `badRecords` share. */
  wrongType(row: Row): void;
}

const TERMS = [3, 6, 9, 12, 24, 36] as const;
const MIN_AMOUNT = 1000;
const MAX_AMOUNT = 5_000_000;

function channel(r: Rng): string {
  const x = r.next();
  return x < 0.6 ? 'app' : x < 0.85 ? 'web' : 'h5';
}

/** Log-uniform amounts in whole yuan (integer cents): many small loans, a few large ones. */
function amount(r: Rng): number {
  const cents = Math.exp(Math.log(MIN_AMOUNT) + r.next() * (Math.log(MAX_AMOUNT) - Math.log(MIN_AMOUNT)));
  return Math.min(MAX_AMOUNT, Math.max(MIN_AMOUNT, Math.round(cents / 100) * 100));
}

const loanApplications: Preset = {
  timeField: 'applied_at',
  row(world, at, r) {
    const user = world.user(skewedIndex(r, world.users));
    const x = r.next();
    const device = user.devices[x < 0.7 || user.devices.length === 1 ? 0 : 1 + r.int(user.devices.length - 1)];
    return {
      application_id: `app-${at.partition}-${at.index}`,
      user_id: user.id,
      device_id: device,
      phone: user.phone,
      id_card: user.idCard,
      contact_phones: [...user.contacts],
      amount: amount(r),
      term: r.pick(TERMS),
      channel: channel(r),
      ip: `${user.subnet}.${1 + r.int(254)}`,
      applied_at: at.eventTime,
    };
  },
  wrongType(row) {
    row.amount = `${(Number(row.amount) / 100).toFixed(2)} CNY`;
  },
};

const EVENT_TYPES = ['login', 'apply', 'register', 'bind_card'] as const;

function eventType(r: Rng): string {
  const x = r.next();
  return EVENT_TYPES[x < 0.55 ? 0 : x < 0.7 ? 1 : x < 0.8 ? 2 : 3];
}

const deviceEvents: Preset = {
  timeField: 'ts',
  row(world, at, r) {
    // `keys` counts devices here; their owners follow the loan world (device 'd<3n+j>' → user n).
    const m = skewedIndex(r, world.users);
    const users = world.deviceUsers(m);
    const n = users.length === 1 || r.chance(0.75) ? users[0] : users[1 + r.int(users.length - 1)];
    const user = world.user(n);
    const contact = user.contacts.length > 0 && r.chance(0.2) ? r.pick(user.contacts) : user.phone;
    return {
      event_id: `evt-${at.partition}-${at.index}`,
      device_id: `d${m}`,
      user_id: user.id,
      contact_phone: contact,
      event_type: eventType(r),
      ts: at.eventTime,
    };
  },
  wrongType(row) {
    row.device_id = Number(String(row.device_id).slice(1));
  },
};

export const presets: Record<PresetName, Preset> = {
  'loan-applications': loanApplications,
  'device-events': deviceEvents,
};
