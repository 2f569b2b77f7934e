/**
 * The tablestore entry of `npm run bench -- sinks`: the sink against the wire-level TableStore
 * stand-in (test/helpers/tablestore-standin.ts, in the bench process). TableStore cannot run
 * here, so the figure measures the sink, the official SDK's encoding (protobuf, PlainBuffer,
 * request signing, HTTP) and the stand-in's decoding and condition checks on the same cores:
 * it is not a figure of the TableStore service.
 */
import { createRequire } from 'node:module';
import { TablestoreSink } from '../src/connectors/tablestore/sink.js';
import type { TablestoreSinkConfig } from '../src/connectors/tablestore/spec.js';
import type { Sink } from '../src/connectors/types.js';
import { TablestoreStandin } from '../test/helpers/tablestore-standin.js';

const require = createRequire(import.meta.url);
const TS = require('tablestore') as {
  Client: new (o: Record<string, unknown>) => { createTable(p: unknown): Promise<unknown> };
};

export const tablestoreStandinTarget = {
  name: 'tablestore-standin',
  async start(): Promise<{ makeSink(batchSize: number): Promise<Sink>; close(): Promise<void> }> {
    const standin = await TablestoreStandin.start();
    const auth = { endpoint: standin.endpoint, instance: standin.instance, accessKeyId: standin.accessKeyId, accessKeySecret: standin.accessKeySecret };
    const admin = new TS.Client({ endpoint: auth.endpoint, instancename: auth.instance, accessKeyId: auth.accessKeyId, secretAccessKey: auth.accessKeySecret, maxRetries: 0 });
    let n = 0;
    return {
      async makeSink(batchSize) {
        const table = `bench_${++n}`;
        await admin.createTable({
          tableMeta: { tableName: table, primaryKey: [{ name: 'id', type: 'INTEGER' }] },
          reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
          tableOptions: { timeToLive: -1, maxVersions: 1 },
        });
        const config = {
          ...auth, table, primaryKey: [{ name: 'id', type: 'integer' }],
          versionColumn: '_v', changelog: false, deletes: 'tombstone', write: 'put', batchSize, concurrency: 4, linger: 0, timeout: 10_000,
        } as TablestoreSinkConfig;
        return new TablestoreSink('bench', config, { lingerMs: undefined });
      },
      close: () => standin.close(),
    };
  },
};
