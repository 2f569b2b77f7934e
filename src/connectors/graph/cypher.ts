/**
 * The cypher dialect: Neo4j (5.x) over Bolt with the official neo4j-driver. A batch is one
 * explicit transaction holding one `UNWIND $rows` query per vertex declaration, then one per edge
 * declaration; each MERGEs the element and applies the version guard in the query itself:
 *
 *   UNWIND $rows AS r
 *   MERGE (v:`User` {id: r.id})
 *   WITH v, r WHERE v._version IS NULL OR v._version < r.ver
 *                OR (v._version = r.ver AND (r.del OR v._deleted IS NULL))
 *   SET v += r.props, v._version = r.ver, v._deleted = CASE WHEN r.del THEN true END
 *   RETURN count(v)
 *
 * (a null property value removes the property, so a tombstone is `_deleted`, `_version` and the
 * id). Edges MERGE their end vertices by id, then `(a)-[e:TYPE]->(b)`, with the same guard.
 * At open() a uniqueness constraint on `id` is created for every label if missing, so MERGE is
 * an index lookup and two writers cannot create the same vertex twice.
 *
 * Explicit transactions, not session.executeWrite: the driver's own retry loop would hide an
 * outage from the sink base class, which owns retries and pause-while-down.
 */
import neo4j, { type Driver, type Integer } from 'neo4j-driver';
import type { Row, Value } from '../../core/record.js';
import { DELETED_PROP, ID_PROP, VERSION_PROP, type EdgePlan, type GraphPlan, type RowWrites, type VertexPlan } from './model.js';
import { GraphStoreError, groupWrites, type Failure, type GraphStore, type WriteResult } from './store.js';

export interface CypherStoreOptions {
  url: string;
  user: string;
  password: string;
  database?: string;
  /** Connecting gives up after this long. Default 5 s. */
  connectionTimeoutMs?: number;
}

/** Neo4j's own codes for a value or row it refuses for good; any other client error is ours (fatal). */
const RECORD_CODES = new Set([
  'Neo.ClientError.Statement.TypeError',
  'Neo.ClientError.Statement.ArgumentError',
  'Neo.ClientError.Statement.ArithmeticError',
  'Neo.ClientError.Schema.ConstraintValidationFailed',
]);

export function classifyNeo4jError(err: unknown): Failure {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (code === neo4j.error.SERVICE_UNAVAILABLE || code === neo4j.error.SESSION_EXPIRED || code === 'ServiceUnavailable') return 'unavailable';
  if (/ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|Connection (was )?closed/i.test(err instanceof Error ? err.message : '')) return 'unavailable';
  if (code.startsWith('Neo.TransientError.') || code.startsWith('Neo.DatabaseError.')) return 'transient';
  if (RECORD_CODES.has(code)) return 'record';
  return 'fatal';
}

/** Backticked identifier (labels and types come from the spec's identifier pattern; quote anyway). */
export function cypherName(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

const GUARD = (x: string): string =>
  `${x}.${VERSION_PROP} IS NULL OR ${x}.${VERSION_PROP} < r.ver OR (${x}.${VERSION_PROP} = r.ver AND (r.del OR ${x}.${DELETED_PROP} IS NULL))`;
const APPLY = (x: string): string =>
  `SET ${x} += r.props, ${x}.${VERSION_PROP} = r.ver, ${x}.${DELETED_PROP} = CASE WHEN r.del THEN true END`;

export function vertexQuery(v: VertexPlan): string {
  return [
    'UNWIND $rows AS r',
    `MERGE (v:${cypherName(v.label)} {${ID_PROP}: r.id})`,
    `WITH v, r WHERE ${GUARD('v')}`,
    APPLY('v'),
    'RETURN count(v) AS applied',
  ].join('\n');
}

export function edgeQuery(e: EdgePlan): string {
  return [
    'UNWIND $rows AS r',
    `MERGE (a:${cypherName(e.from.label)} {${ID_PROP}: r.from})`,
    `MERGE (b:${cypherName(e.to.label)} {${ID_PROP}: r.to})`,
    `MERGE (a)-[e:${cypherName(e.type)}]->(b)`,
    `WITH e, r WHERE ${GUARD('e')}`,
    APPLY('e'),
    'RETURN count(e) AS applied',
  ].join('\n');
}

export function constraintStatement(label: string): string {
  // Named per label so a second sink over the same label finds it instead of failing on a twin.
  return `CREATE CONSTRAINT ${cypherName(`tributary_${label}_${ID_PROP}`)} IF NOT EXISTS FOR (v:${cypherName(label)}) REQUIRE v.${ID_PROP} IS UNIQUE`;
}

/** Whole numbers go as Bolt integers (a JS number is a float on the wire: 30 would read back 30.0). */
export function toParam(v: Value): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? neo4j.int(v) : v;
  if (Array.isArray(v)) return v.map(toParam);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toParam(x)]));
  return v;
}

function propsParam(props: Row | null, declared: ReadonlyArray<readonly [string, string]>): Record<string, unknown> {
  // A tombstone clears every declared property (null removes a Neo4j property).
  if (props === null) return Object.fromEntries(declared.map(([p]) => [p, null]));
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toParam(v)]));
}

export class CypherStore implements GraphStore {
  readonly target: string;
  private driver: Driver | undefined;
  private readonly queries = new Map<VertexPlan | EdgePlan, string>();

  constructor(private readonly options: CypherStoreOptions) {
    // The URL never holds credentials (they are separate config fields), so it is safe to print.
    this.target = options.url;
  }

  async connect(): Promise<void> {
    this.driver = neo4j.driver(this.options.url, neo4j.auth.basic(this.options.user, this.options.password), {
      connectionTimeout: this.options.connectionTimeoutMs ?? 5_000,
      connectionAcquisitionTimeout: 10_000,
      maxConnectionPoolSize: 4,
      maxTransactionRetryTime: 0,
      disableLosslessIntegers: true,
    });
  }

  async prepare(plan: GraphPlan): Promise<void> {
    const labels = new Set(plan.vertices.map((v) => v.label));
    const session = this.session();
    try {
      for (const label of labels) await session.run(constraintStatement(label));
    } catch (err) {
      throw this.failed(err);
    } finally {
      await session.close();
    }
  }

  async write(rows: readonly RowWrites[]): Promise<WriteResult> {
    const grouped = groupWrites(rows);
    let sent = grouped.superseded;
    let applied = 0;
    const session = this.session();
    try {
      const tx = await session.beginTransaction();
      try {
        for (const [plan, writes] of grouped.vertices) {
          sent += writes.length;
          applied += await this.run(tx, plan, vertexQuery, writes.map((w) => ({
            id: w.id, ver: toParam(w.version), del: w.props === null, props: propsParam(w.props, plan.props),
          })));
        }
        for (const [plan, writes] of grouped.edges) {
          sent += writes.length;
          applied += await this.run(tx, plan, edgeQuery, writes.map((w) => ({
            from: w.from, to: w.to, ver: toParam(w.version), del: w.props === null, props: propsParam(w.props, plan.props),
          })));
        }
        await tx.commit();
      } catch (err) {
        await tx.rollback().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      throw this.failed(err);
    } finally {
      await session.close().catch(() => undefined);
    }
    return { sent, applied };
  }

  async close(): Promise<void> {
    const driver = this.driver;
    this.driver = undefined;
    await driver?.close();
  }

  private async run<P extends VertexPlan | EdgePlan>(
    tx: { run(query: string, params: Record<string, unknown>): PromiseLike<{ records: Array<{ get(key: string): unknown }> }> },
    plan: P, build: (p: P) => string, rows: unknown[],
  ): Promise<number> {
    let query = this.queries.get(plan);
    if (query === undefined) this.queries.set(plan, (query = build(plan)));
    const result = await tx.run(query, { rows });
    const applied = result.records[0]?.get('applied');
    return typeof applied === 'number' ? applied : Number((applied as Integer | undefined) ?? 0);
  }

  private session(): ReturnType<Driver['session']> {
    if (!this.driver) throw new GraphStoreError('fatal', 'not connected');
    return this.driver.session({ database: this.options.database, defaultAccessMode: neo4j.session.WRITE });
  }

  private failed(err: unknown): GraphStoreError {
    if (err instanceof GraphStoreError) return err;
    const code = typeof err === 'object' && err !== null && 'code' in err ? ` [${String(err.code)}]` : '';
    return new GraphStoreError(classifyNeo4jError(err), `${err instanceof Error ? err.message : String(err)}${code}`, { cause: err });
  }
}
