/**
 * The one list of connectors (after Redpanda Connect's explicit registration). A topology can
 * name only what is listed here. Importing this module must stay free of side effects — no
 * clients, no I/O — because `tributary validate` imports it just for the specs; connector
 * classes create their clients in open()/connect().
 */
import { TributaryError } from '../core/errors.js';
import type { ConnectorCatalog } from '../core/catalog.js';
import type { AnySpec, Infer } from '../core/spec.js';
import { fileSinkSpec, fileSourceSpec } from './file/spec.js';
import { graphSinkSpec } from './graph/spec.js';
import { kafkaSinkSpec, kafkaSourceSpec } from './kafka/spec.js';
import { mysqlBinlogSpec } from './mysql-binlog/spec.js';
import { redisSinkSpec } from './redis/spec.js';
import { generatorSpec } from './generator/spec.js';
import { sqlSinkSpec } from './sql/spec.js';
import { stdoutSinkSpec } from './stdout/sink.js';
import { tablestoreSinkSpec, tablestoreTableNeeds } from './tablestore/spec.js';
import type { ChangeCaptureReader, Sink, Source } from './types.js';

interface Entry<T, S extends AnySpec> {
  spec: S;
  create(id: string, config: Infer<S>): Promise<T>;
  /** What the connector needs to exist outside (a table's DDL), for `tributary plan`. */
  expects?(id: string, config: Infer<S>): Promise<string>;
}

/**
 * Ties each factory's config type to its spec, so the table below type-checks as a whole. The
 * connector's module (and the client library it imports: neo4j-driver, pg, ioredis, the Kafka
 * client…) loads only when a topology uses it: a worker starts without the drivers it does not
 * need (about 0.1–0.8 s of CPU each), and `validate` loads none.
 */
function entry<T, M, S extends AnySpec>(
  spec: S,
  load: () => Promise<M>,
  create: (module: M, id: string, config: Infer<S>) => T,
  expects?: (module: M, id: string, config: Infer<S>) => string,
): Entry<T, S> {
  const made: Entry<T, S> = { spec, create: async (id, config) => create(await load(), id, config) };
  if (expects) made.expects = async (id, config) => expects(await load(), id, config);
  return made;
}

const sources = {
  generator: entry(generatorSpec, () => import('./generator/source.js'), (m, id, c): Source => new m.GeneratorSource(id, c)),
  file: entry(fileSourceSpec, () => import('./file/source.js'), (m, id, c): Source => new m.FileSource(id, c)),
  kafka: entry(kafkaSourceSpec, () => import('./kafka/source.js'), (m, id, c): Source => new m.KafkaSource(id, c)),
  'mysql-binlog': entry(mysqlBinlogSpec, () => import('./mysql-binlog/source.js'), (m, id, c): Source => new m.MysqlBinlogSource(id, c)),
};

const sinks = {
  file: entry(fileSinkSpec, () => import('./file/sink.js'), (m, id, c): Sink => new m.FileSink(id, c)),
  stdout: entry(stdoutSinkSpec, () => import('./stdout/sink.js'), (m, id, c): Sink => new m.StdoutSink(id, c)),
  kafka: entry(kafkaSinkSpec, () => import('./kafka/sink.js'), (m, id, c): Sink => new m.KafkaSink(id, c)),
  redis: entry(redisSinkSpec, () => import('./redis/sink.js'), (m, id, c): Sink => new m.RedisSink(id, c)),
  sql: entry(sqlSinkSpec, () => import('./sql/sink.js'), (m, id, c): Sink => new m.SqlSink(id, c), (m, id, c) => m.sqlSinkDdl(id, c)),
  tablestore: entry(tablestoreSinkSpec, () => import('./tablestore/sink.js'), (m, id, c): Sink => new m.TablestoreSink(id, c), (_m, id, c) => tablestoreTableNeeds(id, c)),
  graph: entry(graphSinkSpec, () => import('./graph/sink.js'), (m, id, c): Sink => new m.GraphSink(id, c)),
};

function specs(table: Record<string, { spec: AnySpec }>): Record<string, AnySpec> {
  return Object.fromEntries(Object.entries(table).map(([name, e]) => [name, e.spec]));
}

export const connectorCatalog: ConnectorCatalog = {
  sources: specs(sources),
  sinks: specs(sinks),
};

function lookup<E>(table: Record<string, E>, kind: string, connector: string): E {
  const found = Object.hasOwn(table, connector) ? table[connector] : undefined;
  if (!found) {
    throw new TributaryError('TRIB_TOPOLOGY_REFERENCE', `unknown ${kind} connector '${connector}' (known: ${Object.keys(table).join(', ')})`);
  }
  return found;
}

/**
 * A source for a planned config. The config must already be validated against the connector's
 * spec (the plan's configs are: defaults filled in, durations in ms). It is not validated again
 * here: secret fields only validate as ${VAR} text, which a validated config no longer holds.
 */
export function createSource(id: string, connector: string, config: Record<string, unknown>): Promise<Source> {
  return lookup<Entry<Source, AnySpec>>(sources, 'source', connector).create(id, config);
}

/** A sink for a planned (already validated) config; see createSource. */
export function createSink(id: string, connector: string, config: Record<string, unknown>): Promise<Sink> {
  return lookup<Entry<Sink, AnySpec>>(sinks, 'sink', connector).create(id, config);
}

/** What a planned (validated) sink needs to exist outside Tributary, e.g. the sql sink's table DDL; undefined when nothing. */
export async function sinkExpectations(id: string, connector: string, config: Record<string, unknown>): Promise<string | undefined> {
  const found = lookup<Entry<Sink, AnySpec>>(sinks, 'sink', connector);
  return found.expects?.(id, config);
}

/** The config of the change-data-capture reader `tributary cdc` runs (the mysql-binlog connector's). */
export const cdcReaderSpec = mysqlBinlogSpec;
export type CdcReaderConfig = Infer<typeof mysqlBinlogSpec>;

/** The reader `tributary cdc` runs; `idleWaitMs`: how long a poll waits for binlog events. */
export async function createCdcReader(id: string, config: CdcReaderConfig, options: { idleWaitMs?: number } = {}): Promise<ChangeCaptureReader> {
  const { MysqlBinlogSource } = await import('./mysql-binlog/source.js');
  return new MysqlBinlogSource(id, config, options);
}
