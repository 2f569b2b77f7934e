/**
 * The one list of connectors (after Redpanda Connect's explicit registration). A topology can
 * name only what is listed here. Importing this module must stay free of side effects — no
 * clients, no I/O — because `tributary validate` imports it just for the specs; connector
 * classes create their clients in open()/connect().
 */
import { TributaryError } from '../core/errors.js';
import type { ConnectorCatalog } from '../core/catalog.js';
import type { AnySpec, Infer } from '../core/spec.js';
import { FileSink } from './file/sink.js';
import { FileSource } from './file/source.js';
import { fileSinkSpec, fileSourceSpec } from './file/spec.js';
import { GeneratorSource } from './generator/source.js';
import { GraphSink } from './graph/sink.js';
import { graphSinkSpec } from './graph/spec.js';
import { KafkaSink } from './kafka/sink.js';
import { kafkaSinkSpec, kafkaSourceSpec } from './kafka/spec.js';
import { KafkaSource } from './kafka/source.js';
import { MysqlBinlogSource } from './mysql-binlog/source.js';
import { mysqlBinlogSpec } from './mysql-binlog/spec.js';
import { RedisSink } from './redis/sink.js';
import { redisSinkSpec } from './redis/spec.js';
import { generatorSpec } from './generator/spec.js';
import { SqlSink, sqlSinkDdl } from './sql/sink.js';
import { sqlSinkSpec } from './sql/spec.js';
import { StdoutSink, stdoutSinkSpec } from './stdout/sink.js';
import { TablestoreSink } from './tablestore/sink.js';
import { tablestoreSinkSpec, tablestoreTableNeeds } from './tablestore/spec.js';
import type { ChangeCaptureReader, Sink, Source } from './types.js';

interface Entry<T, S extends AnySpec> {
  spec: S;
  create(id: string, config: Infer<S>): T;
  /** What the connector needs to exist outside (a table's DDL), for `tributary plan`. */
  expects?(id: string, config: Infer<S>): string;
}

/** Ties each factory's config type to its spec, so the table below type-checks as a whole. */
function entry<T, S extends AnySpec>(
  spec: S,
  create: (id: string, config: Infer<S>) => T,
  expects?: (id: string, config: Infer<S>) => string,
): Entry<T, S> {
  return expects ? { spec, create, expects } : { spec, create };
}

const sources = {
  generator: entry<Source, typeof generatorSpec>(generatorSpec, (id, c) => new GeneratorSource(id, c)),
  file: entry<Source, typeof fileSourceSpec>(fileSourceSpec, (id, c) => new FileSource(id, c)),
  kafka: entry<Source, typeof kafkaSourceSpec>(kafkaSourceSpec, (id, c) => new KafkaSource(id, c)),
  'mysql-binlog': entry<Source, typeof mysqlBinlogSpec>(mysqlBinlogSpec, (id, c) => new MysqlBinlogSource(id, c)),
};

const sinks = {
  file: entry<Sink, typeof fileSinkSpec>(fileSinkSpec, (id, c) => new FileSink(id, c)),
  stdout: entry<Sink, typeof stdoutSinkSpec>(stdoutSinkSpec, (id, c) => new StdoutSink(id, c)),
  kafka: entry<Sink, typeof kafkaSinkSpec>(kafkaSinkSpec, (id, c) => new KafkaSink(id, c)),
  redis: entry<Sink, typeof redisSinkSpec>(redisSinkSpec, (id, c) => new RedisSink(id, c)),
  sql: entry<Sink, typeof sqlSinkSpec>(sqlSinkSpec, (id, c) => new SqlSink(id, c), sqlSinkDdl),
  tablestore: entry<Sink, typeof tablestoreSinkSpec>(tablestoreSinkSpec, (id, c) => new TablestoreSink(id, c), tablestoreTableNeeds),
  graph: entry<Sink, typeof graphSinkSpec>(graphSinkSpec, (id, c) => new GraphSink(id, c)),
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
export function createSource(id: string, connector: string, config: Record<string, unknown>): Source {
  return lookup<Entry<Source, AnySpec>>(sources, 'source', connector).create(id, config);
}

/** A sink for a planned (already validated) config; see createSource. */
export function createSink(id: string, connector: string, config: Record<string, unknown>): Sink {
  return lookup<Entry<Sink, AnySpec>>(sinks, 'sink', connector).create(id, config);
}

/** What a planned (validated) sink needs to exist outside Tributary, e.g. the sql sink's table DDL; undefined when nothing. */
export function sinkExpectations(id: string, connector: string, config: Record<string, unknown>): string | undefined {
  const found = lookup<Entry<Sink, AnySpec>>(sinks, 'sink', connector);
  return found.expects?.(id, config);
}

/** The config of the change-data-capture reader `tributary cdc` runs (the mysql-binlog connector's). */
export const cdcReaderSpec = mysqlBinlogSpec;
export type CdcReaderConfig = Infer<typeof mysqlBinlogSpec>;

/** The reader `tributary cdc` runs; `idleWaitMs`: how long a poll waits for binlog events. */
export function createCdcReader(id: string, config: CdcReaderConfig, options: { idleWaitMs?: number } = {}): ChangeCaptureReader {
  return new MysqlBinlogSource(id, config, options);
}
