/**
 * What a row means for the graph, independent of the store: the `vertices`/`edges` declarations
 * compiled once, and per record the list of version-stamped vertex and edge writes (pure).
 *
 * Semantics (both dialects write exactly these):
 * - an upsert sets the declared properties and `_version`, and clears a tombstone;
 * - a delete leaves a tombstone: `_deleted = true`, `_version`, the declared properties null.
 *   A guarded delete has to leave something behind, or a replay of an older upsert arriving
 *   later would find nothing to compare with and bring the element back (Redis keeps its
 *   version key for the same reason). A newer upsert revives a tombstone;
 * - an element is written only if its version is >= the stored `_version` (equal applies, so a
 *   retried batch rewrites the same values), except that at equal versions an upsert does not
 *   revive a tombstone: a delete carries the deleted row's version when versions come from a
 *   row field, and a replay of that very row must not undo it;
 * - a vertex whose id template meets a null field is skipped with every edge touching it;
 *   a field the row does not have at all is the row's error (a dead letter), never a "null" id;
 * - a vertex declared `forEach: <list field>` is written once per element (null elements
 *   skipped), and an edge touching it once per element: one row, many contacts.
 * Changelog input and versions follow upsert.ts (shared by every upsert sink): c/r upsert the
 * after-image; d deletes what the before-image declared (its edges, and vertices declared
 * `onDelete: delete`); u upserts the after-image and deletes what the before-image declared and
 * the after-image no longer does (a changed device id moves the edge instead of leaving the old
 * one behind).
 */
import { TributaryError } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';
import { compileTemplate, type Template } from '../kafka/template.js';
import type { SinkRecord } from '../types.js';
import { guardedWrites } from '../upsert.js';
import type { GraphSinkConfig } from './spec.js';

/** Properties the sink owns on every vertex and edge. */
export const VERSION_PROP = '_version';
export const DELETED_PROP = '_deleted';
/** The vertex id property (cypher); Nebula's vid plays this part. */
export const ID_PROP = 'id';
const RESERVED = new Set([VERSION_PROP, DELETED_PROP, ID_PROP]);

export interface VertexPlan {
  readonly name: string;
  readonly label: string;
  readonly id: Template;
  /** [property, row field] */
  readonly props: ReadonlyArray<readonly [string, string]>;
  readonly deleteWithRow: boolean;
  /** A list field: one vertex per element (the field standing for the element). */
  readonly forEach: string | undefined;
}

export interface EdgePlan {
  readonly name: string;
  readonly type: string;
  readonly from: VertexPlan;
  readonly to: VertexPlan;
  readonly props: ReadonlyArray<readonly [string, string]>;
}

export interface GraphPlan {
  readonly vertices: readonly VertexPlan[];
  readonly edges: readonly EdgePlan[];
  readonly version: string | undefined;
  readonly changelog: boolean;
}

export interface VertexWrite {
  readonly plan: VertexPlan;
  readonly id: string;
  readonly version: number;
  /** null for a delete (tombstone). */
  readonly props: Row | null;
}

export interface EdgeWrite {
  readonly plan: EdgePlan;
  readonly from: string;
  readonly to: string;
  readonly version: number;
  readonly props: Row | null;
}

/** Everything one record writes; the unit a refused write is dead-lettered by. */
export interface RowWrites {
  readonly record: SinkRecord;
  readonly vertices: readonly VertexWrite[];
  readonly edges: readonly EdgeWrite[];
}

function propList(props: GraphSinkConfig['vertices'][string]['props'], where: string): Array<[string, string]> {
  const list: Array<[string, string]> = props === undefined ? [] : Array.isArray(props) ? props.map((f) => [f, f]) : Object.entries(props);
  for (const [prop] of list) {
    if (RESERVED.has(prop)) throw configError(`${where}: property '${prop}' is reserved (${[...RESERVED].join(', ')}); map it to another name`);
  }
  return list;
}

export function compileGraphPlan(config: GraphSinkConfig, where: string): GraphPlan {
  const vertices = new Map<string, VertexPlan>();
  for (const [name, v] of Object.entries(config.vertices)) {
    vertices.set(name, {
      name, label: v.label ?? name, id: compileTemplate(v.id),
      props: propList(v.props, `${where}: vertex '${name}'`), deleteWithRow: v.onDelete === 'delete', forEach: v.forEach,
    });
  }
  if (vertices.size === 0) throw configError(`${where}: declare at least one vertex`);
  const edges: EdgePlan[] = [];
  for (const [name, e] of Object.entries(config.edges ?? {})) {
    const from = vertices.get(e.from);
    const to = vertices.get(e.to);
    const known = [...vertices.keys()].join(', ');
    if (!from) throw configError(`${where}: edge '${name}': from '${e.from}' is not a declared vertex (declared: ${known})`);
    if (!to) throw configError(`${where}: edge '${name}': to '${e.to}' is not a declared vertex (declared: ${known})`);
    edges.push({ name, type: e.type ?? name, from, to, props: propList(e.props, `${where}: edge '${name}'`) });
  }
  return { vertices: [...vertices.values()], edges, version: config.version, changelog: config.changelog ?? false };
}

function configError(message: string): TributaryError {
  return new TributaryError('TRIB_TOPOLOGY_INVALID', message);
}

function recordError(message: string): TributaryError {
  return new TributaryError('TRIB_RECORD_INVALID', message);
}

function propsOf(row: Row, list: ReadonlyArray<readonly [string, string]>): Row {
  const out: Row = {};
  for (const [prop, field] of list) {
    if (!Object.hasOwn(row, field)) throw recordError(`field '${field}' is missing from the record`);
    out[prop] = row[field]!;
  }
  return out;
}

interface Image {
  /** Per vertex declaration: id -> the row its id and properties come from (per element with forEach). */
  vertices: Map<VertexPlan, Map<string, Row>>;
  edges: Array<{ plan: EdgePlan; from: string; to: string }>;
}

/** The rows a vertex declaration reads: the row, or one per element of its forEach list. */
function vertexRows(v: VertexPlan, row: Row): Row[] {
  if (v.forEach === undefined) return [row];
  if (!Object.hasOwn(row, v.forEach)) throw recordError(`forEach field '${v.forEach}' is missing from the record`);
  const list = row[v.forEach]!;
  if (list === null) return [];
  if (!Array.isArray(list)) throw recordError(`forEach field '${v.forEach}' is not a list (got ${JSON.stringify(list)})`);
  return list.map((item) => ({ ...row, [v.forEach!]: item }));
}

/** The vertex ids and edges a row declares (null ids skipped with their edges). */
function imageOf(plan: GraphPlan, key: Value, row: Row): Image {
  const vertices = new Map<VertexPlan, Map<string, Row>>();
  for (const v of plan.vertices) {
    const ids = new Map<string, Row>();
    for (const r of vertexRows(v, row)) {
      const id = v.id.renderOrNull({ key, row: r });
      if (id !== null) ids.set(id, r);
    }
    vertices.set(v, ids);
  }
  const edges: Image['edges'] = [];
  for (const e of plan.edges) {
    for (const from of vertices.get(e.from)!.keys()) {
      for (const to of vertices.get(e.to)!.keys()) edges.push({ plan: e, from, to });
    }
  }
  return { vertices, edges };
}

/** An image's identity: which elements it declares (an update that changes it moves edges). */
function imageKey(image: Image): string {
  return JSON.stringify([[...image.vertices].map(([v, ids]) => [v.name, [...ids.keys()]]), image.edges.map((e) => [e.plan.name, e.from, e.to])]);
}

/**
 * The writes of one record (the changelog and version rule of upsert.ts). Throws
 * TRIB_RECORD_INVALID for a record that cannot be written.
 */
export function rowWrites(plan: GraphPlan, record: SinkRecord): RowWrites {
  const images = new Map<Row, Image>();
  const image = (row: Row): Image => {
    let found = images.get(row);
    if (!found) images.set(row, (found = imageOf(plan, record.key, row)));
    return found;
  };
  const writes = guardedWrites(record, { changelog: plan.changelog, version: plan.version, keyOf: (row) => imageKey(image(row)) });
  const upsert = writes.find((w) => w.kind === 'upsert');
  const removal = writes.find((w) => w.kind === 'delete');
  const vertices: VertexWrite[] = [];
  const edges: EdgeWrite[] = [];
  const now = upsert ? image(upsert.row) : undefined;
  if (upsert && now) {
    const version = upsert.version;
    for (const [v, ids] of now.vertices) for (const [id, r] of ids) vertices.push({ plan: v, id, version, props: propsOf(r, v.props) });
    for (const e of now.edges) edges.push({ ...e, version, props: propsOf(upsert.row, e.plan.props) });
  }
  if (removal) {
    // A moved key: only what the after-image no longer declares goes (a tombstone at the same
    // version would otherwise refuse the upsert of an element both images share).
    const { version } = removal;
    const was = image(removal.row);
    for (const [v, ids] of was.vertices) {
      if (!v.deleteWithRow) continue;
      for (const id of ids.keys()) if (!now?.vertices.get(v)?.has(id)) vertices.push({ plan: v, id, version, props: null });
    }
    for (const e of was.edges) {
      const kept = now?.edges.some((n) => n.plan === e.plan && n.from === e.from && n.to === e.to) ?? false;
      if (!kept) edges.push({ ...e, version, props: null });
    }
  }
  return { record, vertices, edges };
}
