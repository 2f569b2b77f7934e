/** Shared by the graph sink tests: a user–device–phone relations config and record builders. */
import type { GraphSinkConfig } from '../../../src/connectors/graph/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import type { Row } from '../../../src/core/record.js';

export const T0 = 1_700_000_000_000;

/** Users (deleted with their row), devices and phones (shared, kept), two edge types. */
export function relationsConfig(connection: Partial<GraphSinkConfig>, over: Partial<GraphSinkConfig> = {}): GraphSinkConfig {
  return {
    dialect: 'cypher', user: 'neo4j', password: 'unused', batchSize: 100, linger: 0, changelog: false,
    vertices: {
      user: { label: 'User', id: '{user_id}', props: ['name', 'age'], onDelete: 'delete' },
      device: { label: 'Device', id: '{device_id}', onDelete: 'keep' },
      phone: { label: 'Phone', id: '{phone}', props: { carrier: 'carrier' }, onDelete: 'keep' },
    },
    edges: {
      uses_device: { type: 'USES_DEVICE', from: 'user', to: 'device', props: { first_seen: 'seen_at' } },
      has_phone: { type: 'HAS_PHONE', from: 'user', to: 'phone' },
    },
    ...connection,
    ...over,
  } as GraphSinkConfig;
}

export function row(user: string, fields: Partial<Row> = {}): Row {
  return { user_id: user, name: `name-${user}`, age: 30, device_id: `d-${user}`, phone: `p-${user}`, carrier: 'cm', seen_at: T0, ...fields };
}

export function rec(value: Row, timestamp: number, key: string = String(value.user_id ?? 'k')): SinkRecord {
  return { key, value, timestamp };
}

/** A changelog envelope record (the mysql-binlog source's shape). */
export function change(op: 'c' | 'r' | 'u' | 'd', before: Row | null, after: Row | null, timestamp: number): SinkRecord {
  const image = (after ?? before)!;
  return { key: String(image.user_id), value: { op, before, after, source: { ts_ms: timestamp } }, timestamp };
}
