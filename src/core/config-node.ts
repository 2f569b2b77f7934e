/**
 * The positioned tree that specs validate: YAML documents (topology/yaml-tree.ts) and plain
 * JS values (fromValue) both become ConfigNodes, so one validator serves topology files and
 * configs built in code.
 */

/** 1-based line and column. */
export interface Position {
  line: number;
  col: number;
}

export type ScalarValue = string | number | boolean | null;

export interface ScalarNode {
  kind: 'scalar';
  pos: Position;
  value: ScalarValue;
  /** Source text of a plain (unquoted) scalar: `keyBy: 0x1f` stays '0x1f' where a string is expected. */
  raw?: string;
  /**
   * Set when ${VAR} interpolation produced (part of) the value. `source` is the text as written
   * (e.g. '${REDIS_PASSWORD}'): messages and plan output show it instead of the value.
   */
  interpolated?: { source: string };
  /** Set when interpolation failed (already reported): validation skips the value silently. */
  broken?: true;
  /** Position of a 0-based offset inside the (interpolated) string value; used for expression errors. */
  locate?: (offset: number) => Position;
}

export interface MapEntry {
  key: string;
  keyPos: Position;
  value: ConfigNode;
}

export interface MapNode {
  kind: 'map';
  pos: Position;
  entries: MapEntry[];
}

export interface SeqNode {
  kind: 'seq';
  pos: Position;
  items: ConfigNode[];
}

export type ConfigNode = ScalarNode | MapNode | SeqNode;

const origin: Position = { line: 1, col: 1 };

/** A ConfigNode for a value built in code (no file positions: everything is at 1:1). */
export function fromValue(value: unknown, pos: Position = origin): ConfigNode {
  if (Array.isArray(value)) return { kind: 'seq', pos, items: value.map((v) => fromValue(v, pos)) };
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => ({ key, keyPos: pos, value: fromValue(v, pos) }));
    return { kind: 'map', pos, entries };
  }
  if (value === undefined) return { kind: 'scalar', pos, value: null };
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return { kind: 'scalar', pos, value };
  }
  return { kind: 'scalar', pos, value: String(value) };
}

/** Plain JS value of a node (free-form `any()` fields). */
export function toPlain(node: ConfigNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) out[e.key] = toPlain(e.value);
      return out;
    }
  }
}

export function findEntry(node: MapNode, key: string): MapEntry | undefined {
  return node.entries.find((e) => e.key === key);
}
