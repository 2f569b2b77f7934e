/**
 * What the graph sink needs from a store, whatever its dialect, and the shared rules both
 * dialects follow: which writes of a batch survive (the guard, applied in memory first), and how
 * a store's failure is classified.
 */
import { applies } from '../upsert.js';
import type { EdgePlan, EdgeWrite, GraphPlan, RowWrites, VertexPlan, VertexWrite } from './model.js';

/**
 * How a failed write is handled: `unavailable` waits for the store (backpressure), `transient`
 * is retried with backoff, `record` means a row of the write is refused for good (the sink
 * splits the batch to find it), `fatal` fails the batch (configuration, privileges).
 */
export type Failure = 'unavailable' | 'transient' | 'record' | 'fatal';

export class GraphStoreError extends Error {
  constructor(readonly failure: Failure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GraphStoreError';
  }
}

export interface WriteResult {
  /** Element writes sent to the store. */
  sent: number;
  /** Element writes the guard let through. */
  applied: number;
}

export interface GraphStore {
  /** Where it writes, safe to print. */
  readonly target: string;
  connect(): Promise<void>;
  /** Constraints/indexes the writes rely on; called before the first write. */
  prepare(plan: GraphPlan): Promise<void>;
  /** Writes the rows in one transaction (cypher) or one request (nebula). Throws GraphStoreError. */
  write(rows: readonly RowWrites[]): Promise<WriteResult>;
  close(): Promise<void>;
}

/**
 * Whether `next` wins over `prev` for the same element: the stored guard (upsert.ts) applied in
 * memory, so a batch sends each element once (the store's guard still decides against what is stored).
 */
function supersedes(prev: { version: number; props: unknown }, next: { version: number; props: unknown }): boolean {
  return applies({ kind: next.props === null ? 'delete' : 'upsert', version: next.version }, { version: prev.version, deleted: prev.props === null });
}

export interface GroupedWrites {
  vertices: Map<VertexPlan, VertexWrite[]>;
  edges: Map<EdgePlan, EdgeWrite[]>;
  /** Writes dropped because a later write of the same batch supersedes them. */
  superseded: number;
}

/** The batch's writes per vertex / edge declaration, one per element, in first-seen order. */
export function groupWrites(rows: readonly RowWrites[]): GroupedWrites {
  const vertices = new Map<VertexPlan, Map<string, VertexWrite>>();
  const edges = new Map<EdgePlan, Map<string, EdgeWrite>>();
  let superseded = 0;
  const keep = <P, W extends { version: number; props: unknown }>(table: Map<P, Map<string, W>>, plan: P, key: string, w: W): void => {
    let byKey = table.get(plan);
    if (!byKey) table.set(plan, (byKey = new Map()));
    const prev = byKey.get(key);
    if (prev === undefined) byKey.set(key, w);
    else {
      superseded++;
      if (supersedes(prev, w)) byKey.set(key, w);
    }
  };
  for (const row of rows) {
    for (const v of row.vertices) keep(vertices, v.plan, v.id, v);
    // JSON of the pair: ids are free text, so no separator character is safe.
    for (const e of row.edges) keep(edges, e.plan, JSON.stringify([e.from, e.to]), e);
  }
  const values = <P, W>(table: Map<P, Map<string, W>>): Map<P, W[]> => new Map([...table].map(([p, m]) => [p, [...m.values()]]));
  return { vertices: values(vertices), edges: values(edges), superseded };
}
