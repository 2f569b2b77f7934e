/**
 * The nebula dialect: NebulaGraph 3.x nGQL. Every element write is one guarded UPSERT:
 *
 *   UPSERT VERTEX ON `user` "u1" SET `name` = "Ann", `_version` = 1700000000000.0, `_deleted` = NULL
 *     WHEN `_version` IS NULL OR `_version` < 1700000000000.0 OR (`_version` == 1700000000000.0 AND `_deleted` IS NULL)
 *   UPSERT EDGE ON `uses_device` "u1" -> "d1"@0 SET ... WHEN ...
 *
 * A delete is the same UPSERT writing a tombstone (declared properties NULL, `_deleted` = true,
 * guard `_version IS NULL OR _version <= v`): DELETE VERTEX/EDGE takes no WHEN clause, so it
 * cannot be version-guarded, and a removed element would come back with the next older replay.
 * An absent element has a NULL `_version`, so the guard lets the first write insert it.
 *
 * A batch is one execute request: the statements joined with ';' after `USE <space>`. NebulaGraph
 * has no multi-statement transactions: each UPSERT is atomic on its own, a failed request may have
 * applied a prefix, and the re-send is harmless because every statement is guarded.
 * Required schema (the sink does not create it): the space with vid_type FIXED_STRING(n); per tag
 * and edge type the declared properties (NULL allowed) plus `_version double NULL` and
 * `_deleted bool NULL`.
 * Execution against a real graphd is NOT verified on this machine (see nebula-wire.ts).
 */
import { TributaryError } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';
import { DELETED_PROP, VERSION_PROP, type EdgeWrite, type GraphPlan, type RowWrites, type VertexWrite } from './model.js';
import { ThriftConnection, text, type ThriftStruct, type ThriftValue } from './nebula-wire.js';
import { GraphStoreError, groupWrites, type Failure, type GraphStore, type WriteResult } from './store.js';

/** nGQL identifier in backticks. */
export function ngqlName(name: string): string {
  return '`' + name.replace(/`/g, '') + '`';
}

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** nGQL double-quoted string; other control characters have no escape nGQL accepts, so they are refused. */
export function ngqlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0007\u000b\u000e-\u001f\u007f]/.exec(s);
  if (bad) throw new TributaryError('TRIB_RECORD_INVALID', `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} cannot be written as an nGQL string`);
  return '"' + s.replace(/["\\\n\r\t\b\f]/g, (c) => ESCAPES[c]!) + '"';
}

/** A float literal: `_version` is a double, and nGQL does not turn an int literal into one. */
function ngqlDouble(n: number): string {
  const t = String(n);
  return /[.eE]/.test(t) ? t : `${t}.0`;
}

export function ngqlValue(v: Value, what: string): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return ngqlString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TributaryError('TRIB_RECORD_INVALID', `${what}: ${v} has no nGQL literal`);
    return String(v);
  }
  throw new TributaryError('TRIB_RECORD_INVALID', `${what}: NebulaGraph properties hold no lists or maps (got ${JSON.stringify(v)})`);
}

function setClause(props: Row | null, declared: ReadonlyArray<readonly [string, string]>, version: number): string {
  const sets = props === null
    ? declared.map(([p]) => `${ngqlName(p)} = NULL`)
    : Object.entries(props).map(([p, v]) => `${ngqlName(p)} = ${ngqlValue(v, `property '${p}'`)}`);
  sets.push(`${ngqlName(VERSION_PROP)} = ${ngqlDouble(version)}`, `${ngqlName(DELETED_PROP)} = ${props === null ? 'true' : 'NULL'}`);
  return sets.join(', ');
}

/** The version guard; see cypher.ts for the same rule (an equal-version upsert does not revive a tombstone). */
export function ngqlGuard(version: number, isDelete: boolean): string {
  const v = ngqlName(VERSION_PROP);
  const ver = ngqlDouble(version);
  return isDelete
    ? `${v} IS NULL OR ${v} <= ${ver}`
    : `${v} IS NULL OR ${v} < ${ver} OR (${v} == ${ver} AND ${ngqlName(DELETED_PROP)} IS NULL)`;
}

export function vertexStatement(w: VertexWrite): string {
  return `UPSERT VERTEX ON ${ngqlName(w.plan.label)} ${ngqlString(w.id)} SET ${setClause(w.props, w.plan.props, w.version)} WHEN ${ngqlGuard(w.version, w.props === null)}`;
}

export function edgeStatement(w: EdgeWrite): string {
  return `UPSERT EDGE ON ${ngqlName(w.plan.type)} ${ngqlString(w.from)} -> ${ngqlString(w.to)}@0 SET ${setClause(w.props, w.plan.props, w.version)} WHEN ${ngqlGuard(w.version, w.props === null)}`;
}

/** The statements of a batch, vertices first (in declaration order), one per element. */
export function batchStatements(rows: readonly RowWrites[]): { statements: string[]; superseded: number } {
  const grouped = groupWrites(rows);
  const statements: string[] = [];
  for (const writes of grouped.vertices.values()) for (const w of writes) statements.push(vertexStatement(w));
  for (const writes of grouped.edges.values()) for (const w of writes) statements.push(edgeStatement(w));
  return { statements, superseded: grouped.superseded };
}

/** ErrorCode of NebulaGraph's common.thrift. */
export function classifyNebulaCode(code: number): Failure {
  if (code >= -4 && code <= -1) return 'unavailable';                 // disconnected, fail to connect, RPC failure, leader changed
  if (code === -1002 || code === -1003 || code === -1010) return 'unavailable'; // session invalid/timeout, too many connections
  if (code === -1011 || code === -27) return 'transient';             // partial success / partial result
  if (code === -1005 || code === -1009) return 'record';              // execution / semantic error (a value the schema refuses)
  return 'fatal';                                                      // bad password, permission, syntax, space/tag/edge not found
}

export interface NebulaStoreOptions {
  address: string;
  space: string;
  user: string;
  password: string;
  /** Connect and per-call timeout. Default 10 s. */
  timeoutMs?: number;
}

export interface NebulaResult {
  columns: string[];
  rows: Value[][];
}

/** A scalar of a result Value union (null, bool, int, float, string); anything else as JSON text. */
function resultValue(v: ThriftValue | undefined): Value {
  if (!(v instanceof Map)) return null;
  const [[field, x] = [0, undefined]] = [...v.entries()];
  if (field === 1 || x === undefined) return null;
  if (typeof x === 'bigint') return Number(x);
  if (Buffer.isBuffer(x)) return x.toString('utf8');
  if (typeof x === 'boolean' || typeof x === 'number') return x;
  return JSON.stringify(x, (_k, y: unknown) => (typeof y === 'bigint' ? Number(y) : y instanceof Map ? Object.fromEntries(y) : y));
}

export class NebulaStore implements GraphStore {
  readonly target: string;
  private readonly host: string;
  private readonly port: number;
  private connection: ThriftConnection | undefined;
  private session: bigint | undefined;

  constructor(private readonly options: NebulaStoreOptions) {
    this.target = `nebula://${options.address}/${options.space}`;
    const at = options.address.lastIndexOf(':');
    this.host = options.address.slice(0, at);
    this.port = Number(options.address.slice(at + 1));
  }

  /** The session is opened by the first call, so a graphd that is down at start is an outage like any other. */
  async connect(): Promise<void> {}

  /**
   * Checks that every tag and edge type has the properties the writes set: a missing one would
   * make every statement fail with a semantic error, which must fail the sink, not dead-letter
   * every row.
   */
  async prepare(plan: GraphPlan): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    const want = (what: string, props: ReadonlyArray<readonly [string, string]>): void => {
      const set = wanted.get(what) ?? new Set([VERSION_PROP, DELETED_PROP]);
      for (const [p] of props) set.add(p);
      wanted.set(what, set);
    };
    for (const v of plan.vertices) want(`TAG ${ngqlName(v.label)}`, v.props);
    for (const e of plan.edges) want(`EDGE ${ngqlName(e.type)}`, e.props);
    for (const [what, props] of wanted) {
      let result: NebulaResult;
      try {
        result = await this.execute(`USE ${ngqlName(this.options.space)}; DESCRIBE ${what}`);
      } catch (err) {
        if (err instanceof GraphStoreError && err.failure === 'record') throw new GraphStoreError('fatal', `DESCRIBE ${what}: ${err.message}`);
        throw err;
      }
      const have = new Set(result.rows.map((r) => String(r[0])));
      const missing = [...props].filter((p) => !have.has(p));
      if (missing.length > 0) {
        throw new GraphStoreError('fatal', `${what} in space ${this.options.space} lacks propert${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')} (see the graph sink's schema notes)`);
      }
    }
  }

  async write(rows: readonly RowWrites[]): Promise<WriteResult> {
    let built: { statements: string[]; superseded: number };
    try {
      built = batchStatements(rows);
    } catch (err) {
      // A value nGQL cannot express: the sink halves the batch down to the row and dead-letters it.
      if (err instanceof TributaryError && err.code === 'TRIB_RECORD_INVALID') throw new GraphStoreError('record', err.message);
      throw err;
    }
    const { statements, superseded } = built;
    if (statements.length > 0) await this.execute([`USE ${ngqlName(this.options.space)}`, ...statements].join(';\n'));
    // UPSERT does not say whether its WHEN held: every statement counts as applied.
    return { sent: statements.length + superseded, applied: statements.length };
  }

  /** Runs nGQL; throws GraphStoreError classified by the error code. */
  async execute(stmt: string): Promise<NebulaResult> {
    const session = await this.open();
    let reply;
    try {
      reply = await this.connection!.call('execute', [{ id: 1, type: 'i64', value: session }, { id: 2, type: 'binary', value: stmt }]);
    } catch (err) {
      this.drop();
      throw new GraphStoreError('unavailable', `execute: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const resp = this.success(reply, 'execute');
    const code = Number(resp.get(1) ?? 0);
    if (code !== 0) {
      const failure = classifyNebulaCode(code);
      if (failure === 'unavailable') this.drop();
      throw new GraphStoreError(failure, `${text(resp.get(5)) || 'error'} (nebula error ${code})`);
    }
    const data = resp.get(3);
    if (!(data instanceof Map)) return { columns: [], rows: [] };
    const columns = ((data.get(1) ?? []) as ThriftValue[]).map((c) => text(c));
    const rows = ((data.get(2) ?? []) as ThriftStruct[]).map((row) => ((row.get(1) ?? []) as ThriftValue[]).map(resultValue));
    return { columns, rows };
  }

  async close(): Promise<void> {
    if (this.session !== undefined) this.connection?.send('signout', [{ id: 1, type: 'i64', value: this.session }]);
    this.drop();
  }

  private async open(): Promise<bigint> {
    if (this.session !== undefined && this.connection?.open) return this.session;
    this.drop();
    const connection = new ThriftConnection(this.host, this.port, this.options.timeoutMs ?? 10_000);
    this.connection = connection;
    try {
      await connection.connect();
      const verify = this.success(await connection.call('verifyClientVersion', [{ id: 1, type: 'struct', value: [{ id: 1, type: 'binary', value: '3.0.0' }] }]), 'verifyClientVersion');
      if (Number(verify.get(1) ?? 0) !== 0) throw new GraphStoreError('fatal', `client version refused: ${text(verify.get(2))}`);
      const auth = this.success(await connection.call('authenticate', [
        { id: 1, type: 'binary', value: this.options.user }, { id: 2, type: 'binary', value: this.options.password },
      ]), 'authenticate');
      const code = Number(auth.get(1) ?? 0);
      if (code !== 0) throw new GraphStoreError(classifyNebulaCode(code), `authentication failed: ${text(auth.get(2))} (nebula error ${code})`);
      const session = auth.get(3);
      if (typeof session !== 'bigint') throw new GraphStoreError('fatal', 'authenticate returned no session id');
      this.session = session;
      return session;
    } catch (err) {
      this.drop();
      if (err instanceof GraphStoreError) throw err;
      throw new GraphStoreError('unavailable', `connecting to ${this.options.address}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private success(reply: { success?: ThriftStruct; exception?: string }, call: string): ThriftStruct {
    if (reply.exception !== undefined || !reply.success) throw new GraphStoreError('fatal', `${call}: ${reply.exception ?? 'empty reply'}`);
    return reply.success;
  }

  private drop(): void {
    this.connection?.close();
    this.connection = undefined;
    this.session = undefined;
  }
}
