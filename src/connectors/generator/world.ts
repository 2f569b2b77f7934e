/**
 * The synthetic world behind the generator: users, their phones, ID cards, devices and contacts.
 * Every attribute is a pure function of (seed, entity index), so both presets agree on who owns
 * what and a record can be rebuilt from its coordinates alone.
 *
 * Shape chosen so windowed features have something to find:
 * - 80/20 skew: 80 % of picks go to the first 20 % of keys (~84 % of records: frequent applicants).
 * - Users reuse 1–3 devices (device 'd<3n+j>' belongs to user n).
 * - 5 % of users belong to a fraud ring (about 5 per ring): they share the ring's device, a
 *   contact phone and an IP subnet.
 */
import { hashInts, rng, type Rng } from './prng.js';

const SALT_USER = 0x5553;
const SALT_CONTACT = 0x434f;
const SALT_SHARED = 0x5348;
const USER_CACHE_LIMIT = 30_000;

export function skewedIndex(r: Rng, n: number): number {
  const hot = Math.max(1, Math.ceil(n * 0.2));
  return r.chance(0.8) ? r.int(hot) : r.int(n);
}

const ID_REGIONS = ['110101', '310104', '440305', '330106', '510107', '420106', '320102', '500103'] as const;
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

function digits(r: Rng, count: number): string {
  let out = '';
  for (let k = 0; k < count; k++) out += String(r.int(10));
  return out;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export interface User {
  id: string;
  phone: string;
  idCard: string;
  /** Devices in order of preference (index 0 is used most). */
  devices: string[];
  contacts: string[];
  subnet: string;
  ring: number | undefined;
}

export class World {
  readonly rings: number;
  /** Hot users recur constantly (80/20 skew); rebuilding them per record would dominate the cost. */
  private readonly cache = new Map<number, User>();

  constructor(readonly seed: number, readonly users: number) {
    this.rings = Math.max(1, Math.floor(users / 100));
  }

  phone(n: number): string {
    const r = rng(hashInts(this.seed, SALT_USER, n, 1));
    return `1${r.pick(['3', '5', '7', '8', '9'])}${digits(r, 9)}`;
  }

  /** An 18-character resident ID with a valid ISO 7064 MOD 11-2 check character. */
  idCard(n: number): string {
    const r = rng(hashInts(this.seed, SALT_USER, n, 2));
    const birth = `${1960 + r.int(45)}${pad(1 + r.int(12), 2)}${pad(1 + r.int(28), 2)}`;
    const body = `${r.pick(ID_REGIONS)}${birth}${digits(r, 3)}`;
    let sum = 0;
    for (let k = 0; k < 17; k++) sum += Number(body[k]) * ID_WEIGHTS[k];
    return body + ID_CHECK[sum % 11];
  }

  ringOf(n: number): number | undefined {
    const h = hashInts(this.seed, SALT_USER, n, 3);
    return h % 20 === 0 ? (h >>> 8) % this.rings : undefined;
  }

  user(n: number): User {
    let user = this.cache.get(n);
    if (!user) {
      user = this.buildUser(n);
      // Fill once, never evict: hot users show up first, so they are the ones that stay.
      if (this.cache.size < USER_CACHE_LIMIT) this.cache.set(n, user);
    }
    return user;
  }

  private buildUser(n: number): User {
    const ring = this.ringOf(n);
    const r = rng(hashInts(this.seed, SALT_USER, n, 4));
    const deviceCount = 1 + r.int(3);
    const devices: string[] = [];
    for (let j = 0; j < deviceCount; j++) devices.push(`d${n * 3 + j}`);
    // Ring devices are numbered after every personal device so they never collide.
    if (ring !== undefined) devices[0] = `d${this.users * 3 + ring}`;
    const contactCount = r.int(4);
    const contacts: string[] = [];
    for (let k = 0; k < contactCount; k++) {
      contacts.push(this.phone(hashInts(this.seed, SALT_CONTACT, n, k) % this.users));
    }
    if (ring !== undefined) contacts.unshift(`1390000${pad(ring % 10_000, 4)}`);
    if (contacts.length > 3) contacts.length = 3;
    const subnet = ring !== undefined
      ? `172.16.${ring % 256}`
      : `${10 + r.int(200)}.${r.int(256)}.${r.int(256)}`;
    return { id: `u${n}`, phone: this.phone(n), idCard: this.idCard(n), devices, contacts, subnet, ring };
  }

  /** Users of device m (device-events preset): its owner, plus 1–3 more for 10 % of devices. */
  deviceUsers(m: number): number[] {
    const owner = Math.floor(m / 3) % this.users;
    const r = rng(hashInts(this.seed, SALT_SHARED, m));
    if (!r.chance(0.1)) return [owner];
    const out = [owner];
    const extra = 1 + r.int(3);
    for (let k = 0; k < extra; k++) out.push(r.int(this.users));
    return out;
  }
}
