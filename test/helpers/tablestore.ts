/**
 * Where TableStore tests write: a real instance when TABLESTORE_ENDPOINT, TABLESTORE_INSTANCE,
 * TABLESTORE_ACCESS_KEY_ID and TABLESTORE_ACCESS_KEY_SECRET are set, else the wire-level
 * stand-in started in this process. Tables are created uniquely named and dropped at the end;
 * rows are read back through the official SDK (GetRange), the way a feature service reads them.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll } from 'vitest';
import { TablestoreStandin } from './tablestore-standin.js';

const require = createRequire(import.meta.url);

/* The SDK calls the tests use (untyped CommonJS; see src/connectors/tablestore/sdk.ts). */
interface SdkLong { toNumber(): number; toString(): string }
interface SdkRow { primaryKey: Array<{ name: string; value: unknown }>; attributes: Array<{ columnName: string; columnValue: unknown }> }
interface Sdk {
  Client: new (o: Record<string, unknown>) => {
    createTable(p: unknown): Promise<unknown>;
    deleteTable(p: unknown): Promise<unknown>;
    getRange(p: unknown): Promise<{ rows: SdkRow[]; nextStartPrimaryKey: Array<{ name: string; value: unknown }> | null }>;
  };
  INF_MIN: object;
  INF_MAX: object;
  Direction: { FORWARD: string };
}
const TS = require('tablestore') as Sdk;

export type Cell = string | number | boolean | bigint | null;
export type StoredRow = Record<string, Cell>;

export interface TablestoreTarget {
  endpoint: string;
  instance: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** The stand-in when no real instance is configured. */
  standin: TablestoreStandin | undefined;
  /** A new table named `<prefix>_<unique>`, dropped after the tests. */
  createTable(prefix: string, pk: Array<{ name: string; type: 'STRING' | 'INTEGER' }>): Promise<string>;
  /** Every row (primary key and attribute columns), INTEGER cells as bigint, sorted by key. */
  readTable(table: string): Promise<StoredRow[]>;
  /** Environment for worker processes: the TABLESTORE_* variables pointing here. */
  env(): Record<string, string>;
}

export const realInstance = ['TABLESTORE_ENDPOINT', 'TABLESTORE_INSTANCE', 'TABLESTORE_ACCESS_KEY_ID', 'TABLESTORE_ACCESS_KEY_SECRET'].every((v) => process.env[v]);
export const targetName = realInstance ? `real instance ${process.env.TABLESTORE_INSTANCE}` : 'wire-level stand-in';

function cell(v: unknown): Cell {
  if (v !== null && typeof v === 'object' && 'toNumber' in v) return BigInt((v as SdkLong).toString());
  return v as Cell;
}

/** Registers beforeAll/afterAll; the getter is valid inside tests and hooks. */
export function useTablestore(): () => TablestoreTarget {
  let target: TablestoreTarget | undefined;
  const created: string[] = [];
  const keys = new Map<string, string[]>();
  let client: InstanceType<Sdk['Client']> | undefined;

  beforeAll(async () => {
    const standin = realInstance ? undefined : await TablestoreStandin.start();
    const endpoint = standin?.endpoint ?? process.env.TABLESTORE_ENDPOINT!;
    const instance = standin?.instance ?? process.env.TABLESTORE_INSTANCE!;
    const accessKeyId = standin?.accessKeyId ?? process.env.TABLESTORE_ACCESS_KEY_ID!;
    const accessKeySecret = standin?.accessKeySecret ?? process.env.TABLESTORE_ACCESS_KEY_SECRET!;
    const c = new TS.Client({ endpoint, instancename: instance, accessKeyId, secretAccessKey: accessKeySecret, maxRetries: 3 });
    client = c;
    target = {
      endpoint, instance, accessKeyId, accessKeySecret, standin,
      async createTable(prefix, pk) {
        const name = `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
        await c.createTable({
          tableMeta: { tableName: name, primaryKey: pk },
          reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
          tableOptions: { timeToLive: -1, maxVersions: 1 },
        });
        created.push(name);
        keys.set(name, pk.map((p) => p.name));
        // A real instance loads a new table's partitions for a while after CreateTable.
        if (realInstance) await new Promise((r) => setTimeout(r, 5_000));
        return name;
      },
      async readTable(table) {
        const rows: StoredRow[] = [];
        const names = keys.get(table);
        if (!names) throw new Error(`table ${table} was not created by this helper`);
        let start: unknown = null;
        for (;;) {
          const page = await c.getRange({
            tableName: table,
            direction: TS.Direction.FORWARD,
            inclusiveStartPrimaryKey: start ?? names.map((n) => ({ [n]: TS.INF_MIN })),
            exclusiveEndPrimaryKey: names.map((n) => ({ [n]: TS.INF_MAX })),
          });
          for (const r of page.rows) {
            const row: StoredRow = {};
            for (const p of r.primaryKey) row[p.name] = cell(p.value);
            for (const a of r.attributes) row[a.columnName] = cell(a.columnValue);
            rows.push(row);
          }
          if (!page.nextStartPrimaryKey) break;
          start = page.nextStartPrimaryKey.map((p) => ({ [p.name]: p.value }));
        }
        return rows;
      },
      env: () => ({
        TABLESTORE_ENDPOINT: endpoint, TABLESTORE_INSTANCE: instance,
        TABLESTORE_ACCESS_KEY_ID: accessKeyId, TABLESTORE_ACCESS_KEY_SECRET: accessKeySecret,
      }),
    };
  }, 30_000);

  afterAll(async () => {
    for (const name of created) await client?.deleteTable({ tableName: name }).catch(() => undefined);
    await target?.standin?.close();
  });

  return () => {
    if (!target) throw new Error('tablestore target not started (call the getter inside a test or hook)');
    return target;
  };
}
