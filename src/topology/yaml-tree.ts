/**
 * YAML text → ConfigNode tree with 1-based line:col on every node and key, ${VAR} interpolation
 * in string scalars, and a map from offsets inside a scalar's value back to the file (so an
 * expression error points at the exact column, quotes and escapes accounted for).
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, Scalar, type Document, type Node } from 'yaml';
import { TopologyError } from '../core/errors.js';
import type { ConfigNode, MapEntry, Position } from '../core/config-node.js';
import { interpolate, type Env } from './interpolate.js';
import { joinPath } from '../core/names.js';

export interface ParsedYaml {
  root: ConfigNode | undefined;
  errors: TopologyError[];
}

export function parseYaml(text: string, file: string, env: Env): ParsedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number): Position => lc.linePos(offset);
  const errors: TopologyError[] = doc.errors.map((e) => {
    const at = pos(e.pos[0]);
    // yaml's messages end with "at line X, column Y" and a snippet; we print our own location.
    const message = e.code === 'MULTIPLE_DOCS'
      ? "a topology file holds one YAML document (remove the '---' separator)"
      : e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    return new TopologyError('TRIB_TOPOLOGY_PARSE', { file, line: at.line, col: at.col, path: '' }, message);
  });
  if (errors.length > 0) return { root: undefined, errors };
  const conv = new Converter(text, file, env, doc, pos, errors);
  const root = doc.contents ? conv.node(doc.contents as Node, '', 0) : undefined;
  return { root, errors };
}

class Converter {
  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly env: Env,
    private readonly doc: Document,
    private readonly pos: (offset: number) => Position,
    private readonly errors: TopologyError[],
  ) {}

  node(n: Node, path: string, depth: number): ConfigNode {
    const at = this.pos(n.range?.[0] ?? 0);
    if (depth > 64) return this.error(at, path, 'TRIB_TOPOLOGY_PARSE', 'nesting too deep (recursive alias?)');
    if (isAlias(n)) {
      const target = n.resolve(this.doc);
      if (!target) return this.error(at, path, 'TRIB_TOPOLOGY_PARSE', `unknown alias *${n.source}`);
      return this.node(target, path, depth + 1);
    }
    if (isMap(n)) {
      const entries: MapEntry[] = [];
      for (const pair of n.items) {
        const k = pair.key as Node | null;
        if (!isScalar(k) || (typeof k.value !== 'string' && typeof k.value !== 'number' && typeof k.value !== 'boolean')) {
          this.error(k?.range ? this.pos(k.range[0]) : at, path, 'TRIB_TOPOLOGY_INVALID', 'mapping keys must be plain names');
          continue;
        }
        const key = String(k.value);
        const keyPos = this.pos(k.range?.[0] ?? 0);
        const v = pair.value as Node | null;
        const childPath = joinPath(path, key);
        const value: ConfigNode = v ? this.node(v, childPath, depth + 1) : { kind: 'scalar', pos: keyPos, value: null };
        entries.push({ key, keyPos, value });
      }
      return { kind: 'map', pos: at, entries };
    }
    if (isSeq(n)) {
      return { kind: 'seq', pos: at, items: n.items.map((item, i) => this.node(item as Node, `${path}[${i}]`, depth + 1)) };
    }
    if (isScalar(n)) return this.scalar(n, path, at);
    return this.error(at, path, 'TRIB_TOPOLOGY_INVALID', 'unsupported YAML node');
  }

  private scalar(n: Scalar, path: string, at: Position): ConfigNode {
    const v = n.value;
    const range = n.range ?? [0, 0, 0];
    if (typeof v !== 'string') {
      const value = v === null || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
      return { kind: 'scalar', pos: at, value, raw: n.type === Scalar.PLAIN ? n.source : undefined };
    }
    const srcMap = sourceOffsets(v, this.text.slice(range[0], range[1]), n.type ?? Scalar.PLAIN).map((o) => o + range[0]);
    const interp = interpolate(v, this.env);
    for (const p of interp.problems) {
      this.error(this.pos(srcMap[p.offset]), path, 'TRIB_INTERPOLATION', p.message);
    }
    const fileOffsets = interp.offsets.map((o) => srcMap[Math.min(o, srcMap.length - 1)]);
    const locate = (offset: number): Position => this.pos(fileOffsets[Math.max(0, Math.min(offset, fileOffsets.length - 1))]);
    return {
      kind: 'scalar',
      pos: at,
      value: interp.value,
      ...(interp.substituted ? { interpolated: { source: v } } : {}),
      ...(interp.problems.length > 0 ? { broken: true as const } : {}),
      locate,
    };
  }

  private error(at: Position, path: string, code: 'TRIB_TOPOLOGY_PARSE' | 'TRIB_TOPOLOGY_INVALID' | 'TRIB_INTERPOLATION', message: string): ConfigNode {
    this.errors.push(new TopologyError(code, { file: this.file, line: at.line, col: at.col, path }, message));
    return { kind: 'scalar', pos: at, value: null };
  }
}

/**
 * For each char of a scalar's value (and one past the end), its offset in the scalar's written
 * text. Walks both in step: chars the value lacks (quotes, escapes, indentation, block header)
 * are skipped in the source; a folded line break maps to the newline it came from.
 */
export function sourceOffsets(value: string, src: string, style: Scalar.Type): number[] {
  const out: number[] = [];
  let j = 0;
  if (style === Scalar.QUOTE_DOUBLE || style === Scalar.QUOTE_SINGLE) j = 1;
  else if (style === Scalar.BLOCK_LITERAL || style === Scalar.BLOCK_FOLDED) j = src.indexOf('\n') + 1;
  for (let i = 0; i < value.length; i++) {
    const want = value[i];
    for (;;) {
      if (j >= src.length) {
        out.push(src.length);
        break;
      }
      const c = src[j];
      if (style === Scalar.QUOTE_DOUBLE && c === '\\') {
        const next = src[j + 1];
        if (next === '\n' || next === '\r') {
          j += 2;
          continue;
        }
        out.push(j);
        j += next === 'x' ? 4 : next === 'u' ? 6 : next === 'U' ? 10 : 2;
        break;
      }
      if (style === Scalar.QUOTE_SINGLE && c === "'" && src[j + 1] === "'") {
        out.push(j);
        j += 2;
        break;
      }
      if (c === want || (c === '\n' && (want === ' ' || want === '\n'))) {
        out.push(j);
        j++;
        break;
      }
      j++;
    }
  }
  out.push(Math.min(j, src.length));
  return out;
}
