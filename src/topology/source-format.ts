/**
 * A source's `format` as written → the FormatSpec the runtime builds it from, with schema paths
 * made absolute (relative to the topology file). Pure: whether the files exist and parse is asked
 * of `CompileOptions.checkFormat` (loadTopology passes the formats' own check), and its answers
 * are pinned to the line of the field they concern.
 */
import { isAbsolute, resolve } from 'node:path';
import { TopologyError } from '../errors.js';
import type { FormatProblem, FormatSpec } from '../formats/types.js';
import { findEntry, type ConfigNode, type Position } from './config-node.js';
import type { Diagnostics } from './expressions.js';
import type { SourceFormatConfig } from './format.js';
import { joinPath } from './names.js';

export type FormatCheck = (format: FormatSpec) => readonly FormatProblem[];

export interface SourceFormatInput {
  config: SourceFormatConfig;
  /** The source's mapping (the one holding `format:`), for positions. */
  node: ConfigNode;
  /** YAML path of the source, e.g. spec.sources.events. */
  path: string;
  baseDir: string;
}

/** The planned format, or undefined after recording why it cannot be built. */
export function planSourceFormat(diag: Diagnostics, input: SourceFormatInput, check: FormatCheck | undefined): FormatSpec | undefined {
  const { config, baseDir } = input;
  if (config === 'json') return 'json';
  const at = (p: string | undefined): string | undefined => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p));
  let variant: 'avro' | 'confluent';
  let format: FormatSpec;
  if ('avro' in config) {
    variant = 'avro';
    const { schema, writerSchema } = config.avro;
    format = { type: 'avro', schema: at(schema)!, ...(writerSchema !== undefined ? { writerSchema: at(writerSchema) } : {}) };
  } else {
    variant = 'confluent';
    const c = config.confluent;
    if (c.registry === undefined && c.schemas === undefined) {
      report(diag, input, [variant], "confluent needs 'registry' (a Schema Registry) or 'schemas' (a local id→schema file)");
      return undefined;
    }
    format = {
      type: 'confluent-avro',
      ...(c.schema !== undefined ? { schema: at(c.schema) } : {}),
      ...(c.registry !== undefined
        ? {
            registry: {
              url: c.registry.url,
              ...(c.registry.username !== undefined ? { username: c.registry.username } : {}),
              ...(c.registry.password !== undefined ? { password: c.registry.password } : {}),
              timeoutMs: c.registry.timeout,
            },
          }
        : {}),
      ...(c.schemas !== undefined ? { schemas: at(c.schemas) } : {}),
    };
  }
  const problems = check?.(format) ?? [];
  for (const p of problems) report(diag, input, [variant, ...p.field.split('.')], p.message);
  return problems.length > 0 ? undefined : format;
}

/** Record an error at `format.<keys...>` of the source: the deepest of those keys written in the file. */
function report(diag: Diagnostics, input: SourceFormatInput, keys: readonly string[], message: string): void {
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
