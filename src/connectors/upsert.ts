/**
 * What every upsert sink (redis, sql, tablestore, graph) shares: the version of a write, and
 * turning a sink row into guarded writes, plain or from changelog input.
 *
 * Input. A plain row is an upsert. With `changelog: true` the row is the envelope
 * `{op: 'c'|'u'|'d'|'r', before, after, source}` (mysql-binlog/envelope.ts, Debezium's shape):
 * c/r/u upsert the after-image, d deletes by the before-image's key, and a u whose key changed
 * deletes the before key and upserts the after key (both at the update's version).
 *
 * Versions. A write's version is a row field (`version: <field>`; the after-image's, or the
 * before-image's for a d) or the record's event time. It is a finite number (a numeric string is
 * read as one). A write applies when its version is >= the stored one: equal applies, so a
 * retried batch rewrites the same value.
 *
 * Deletes leave a tombstone: the store keeps the key with a deleted marker and the delete's
 * version, so an older upsert replayed after the delete (a backfill beside live traffic) is
 * refused instead of bringing the row back. Ties go to the delete: an upsert over a tombstone
 * applies only with a strictly greater version, because with `version: <field>` a d carries the
 * before-image's version, the very version of the upsert it removes. A hard delete could not
 * refuse that replay (nothing is left to compare with), which is why every upsert sink keeps
 * tombstones; readers skip rows whose marker is set. `applies()` is that rule as a function, for
 * stores that cannot evaluate it server-side and as the reference the sinks' tests check against.
 */
import { TributaryError } from '../core/errors.js';
import type { Row, Value } from '../core/record.js';
import { s } from '../core/spec.js';
import type { SinkRecord } from './types.js';

export type ChangeOp = 'c' | 'u' | 'd' | 'r';

/** One version-guarded write. `row` holds the key fields (and, for an upsert, the values). */
export interface GuardedWrite {
  kind: 'upsert' | 'delete';
  row: Row;
  version: number;
}

export interface ChangeInputOptions {
  /** Rows are changelog envelopes rather than plain rows. */
  changelog: boolean;
  /** Row field holding the version; undefined: the record's event time. */
  version?: string | undefined;
  /** The store identity of a row (a rendered key template, key column values), to see an update move its key. */
  keyOf(row: Row): string;
}

/** The spec fields every upsert sink declares the same way (spread them into its s.object). */
export const upsertSpecFields = {
  version: s.string({ minLength: 1 }).optional()
    .describe('Row field holding the version (epoch ms or any number); a write applies only if its version is >= the stored one. Default: the record\'s event time'),
  changelog: s.boolean().default(false)
    .describe('Rows are changelog envelopes {op: c|u|d|r, before, after, source} (the mysql-binlog source, Debezium): c/r/u upsert the after-image, d deletes by the before-image\'s key (a version-guarded tombstone)'),
};

/**
 * The version of a write: `field` of `row`, or the record's event time. Throws
 * TRIB_RECORD_INVALID (the record goes to the dead letters) when it is not a finite number.
 */
export function versionOf(record: SinkRecord, field: string | undefined, row: Row = record.value): number {
  const raw: Value | undefined = field === undefined ? record.timestamp : row[field];
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    const what = field === undefined ? 'event time' : `version field '${field}'`;
    throw new TributaryError('TRIB_RECORD_INVALID', `${what} is not a finite number (got ${JSON.stringify(raw ?? null)})`);
  }
  return v;
}

const OPS: ReadonlySet<string> = new Set<ChangeOp>(['c', 'u', 'd', 'r']);

function image(envelope: Row, name: 'before' | 'after', op: string): Row {
  const v = envelope[name];
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
    throw new TributaryError('TRIB_RECORD_INVALID', `changelog op '${op}' needs an object '${name}' image (got ${JSON.stringify(v ?? null)})`);
  }
  return v;
}

/**
 * The guarded writes one sink record asks for, in the order to apply them. Throws
 * TRIB_RECORD_INVALID for a malformed envelope, a bad version or a key the row cannot make.
 */
export function guardedWrites(record: SinkRecord, options: ChangeInputOptions): GuardedWrite[] {
  const row = record.value;
  if (!options.changelog) return [{ kind: 'upsert', row, version: versionOf(record, options.version, row) }];
  const op = row.op;
  if (typeof op !== 'string' || !OPS.has(op)) {
    throw new TributaryError('TRIB_RECORD_INVALID', `changelog row has no op c, u, d or r (got ${JSON.stringify(op ?? null)}); is the input a changelog?`);
  }
  if (op === 'd') {
    const before = image(row, 'before', op);
    return [{ kind: 'delete', row: before, version: versionOf(record, options.version, before) }];
  }
  const after = image(row, 'after', op);
  const version = versionOf(record, options.version, after);
  const upsert: GuardedWrite = { kind: 'upsert', row: after, version };
  if (op !== 'u' || row.before === null || row.before === undefined) return [upsert];
  const before = image(row, 'before', op);
  return options.keyOf(before) === options.keyOf(after) ? [upsert] : [{ kind: 'delete', row: before, version }, upsert];
}

/** What a store holds for a key: its version, and whether it is a tombstone. */
export interface StoredVersion {
  version: number;
  deleted: boolean;
}

/** Whether `write` applies over `stored` (undefined: nothing stored). The rule in the header. */
export function applies(write: Pick<GuardedWrite, 'kind' | 'version'>, stored: StoredVersion | undefined): boolean {
  if (stored === undefined) return true;
  if (write.kind === 'upsert' && stored.deleted) return write.version > stored.version;
  return write.version >= stored.version;
}
