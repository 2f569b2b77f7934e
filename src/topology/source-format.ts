/**
 * A `format` as written → what the runtime builds it from, with schema paths made absolute
 * (relative to the topology file). A source's goes into its PlannedSource as a FormatSpec; a
 * sink's (a connector field declared with formats/spec.ts `writeFormatSpec`, e.g. the Kafka sink's)
 * stays in the connector's config as written, its paths made absolute. Pure: whether the files
 * exist and parse is asked of `CompileOptions.checkFormat` (loadTopology passes the formats' own
 * check), and its answers are pinned to the line of the field they concern.
 */
import { TopologyError } from '../core/errors.js';
import { formatFromConfig, isFormatConfigProblem, isWriteFormatSpec, withAbsolutePaths, type FormatConfig, type FormatUse, type WriteFormatConfig } from '../formats/spec.js';
import type { FormatContext, FormatProblem, FormatSpec } from '../formats/types.js';
import { findEntry, type ConfigNode, type Position } from '../core/config-node.js';
import type { Diagnostics } from './expressions.js';
import type { SourceFormatConfig } from './format.js';
import { joinPath } from '../core/names.js';
import type { AnySpec } from '../core/spec.js';

export type FormatCheck = (format: FormatSpec, context?: FormatContext) => readonly FormatProblem[];

export interface SourceFormatInput {
  config: SourceFormatConfig;
  /** The mapping holding `format:` (a source's, or a sink connector's), for positions. */
  node: ConfigNode;
  /** YAML path of that mapping, e.g. spec.sources.events or spec.sinks.out.kafka. */
  path: string;
  baseDir: string;
}

/** The planned format, or undefined after recording why it cannot be built. */
export function planSourceFormat(diag: Diagnostics, input: SourceFormatInput, check: FormatCheck | undefined): FormatSpec | undefined {
  return planFormat(diag, input, 'read', check);
}

export interface SinkFormatInput {
  /** The sink connector's spec and its validated config. */
  spec: AnySpec | undefined;
  config: Record<string, unknown>;
  /** The connector's mapping (`kafka: {...}`) and its YAML path (spec.sinks.out.kafka). */
  node: ConfigNode;
  path: string;
  baseDir: string;
}

/**
 * The sink's config with its `format` schema paths absolute (the config unchanged when the connector
 * declares no format), or undefined after recording why the format cannot be built.
 */
export function planSinkFormat(diag: Diagnostics, input: SinkFormatInput, check: FormatCheck | undefined): Record<string, unknown> | undefined {
  const fields = input.spec?.def.type === 'object' ? input.spec.def.fields : undefined;
  if (!isWriteFormatSpec(fields?.format) || input.config.format === undefined) return input.config;
  const written = input.config.format as WriteFormatConfig;
  const planned = planFormat(diag, { config: written, node: input.node, path: input.path, baseDir: input.baseDir }, 'write', check);
  return planned === undefined ? undefined : { ...input.config, format: withAbsolutePaths(written, input.baseDir) };
}

function planFormat(
  diag: Diagnostics,
  input: { config: FormatConfig; node: ConfigNode; path: string; baseDir: string },
  use: FormatUse,
  check: FormatCheck | undefined,
): FormatSpec | undefined {
  const format = formatFromConfig(input.config, use, input.baseDir);
  if (isFormatConfigProblem(format)) {
    report(diag, input, [format.variant], format.message);
    return undefined;
  }
  if (format === 'json') return format;
  const variant = format.type === 'avro' ? 'avro' : 'confluent';
  const problems = check?.(format, use === 'write' ? { encode: true } : {}) ?? [];
  for (const p of problems) report(diag, input, [variant, ...p.field.split('.')], p.message);
  return problems.length > 0 ? undefined : format;
}

/** Record an error at `format.<keys...>` of the mapping: the deepest of those keys written in the file. */
function report(diag: Diagnostics, input: { node: ConfigNode; path: string }, keys: readonly string[], message: string): void {
  let path = joinPath(input.path, 'format');
  let node: ConfigNode | undefined = input.node.kind === 'map' ? findEntry(input.node, 'format')?.value : undefined;
  let pos: Position = node?.pos ?? input.node.pos;
  for (const key of keys) {
    const entry = node?.kind === 'map' ? findEntry(node, key) : undefined;
    if (!entry) break;
    path = joinPath(path, key);
    node = entry.value;
    pos = entry.value.pos;
  }
  diag.errors.push(new TopologyError('TRIB_TOPOLOGY_INVALID', { file: diag.file, line: pos.line, col: pos.col, path }, message));
}

/** The format in words for `tributary plan`: schema paths, the registry url; never credentials. */
export function describeFormat(format: FormatSpec): string {
  if (format === 'json') return 'json';
  if (format.type === 'avro') return `avro ${format.schema}${format.writerSchema !== undefined ? ` (written as ${format.writerSchema})` : ''}`;
  const ids = format.registry !== undefined ? `registry ${format.registry.url}${format.registry.password !== undefined ? ' (with credentials)' : ''}` : `ids ${format.schemas}`;
  return `confluent-avro ${format.schema !== undefined ? `read as ${format.schema}, ` : ''}${ids}`;
}

/** The format as safe to print: credentials replaced by a marker. */
export function displayFormat(format: FormatSpec): FormatSpec {
  if (format === 'json' || format.type !== 'confluent-avro' || format.registry === undefined) return format;
  const { username, password, ...registry } = format.registry;
  return {
    ...format,
    registry: { ...registry, ...(username !== undefined ? { username: '(secret)' } : {}), ...(password !== undefined ? { password: '(secret)' } : {}) },
  };
}
