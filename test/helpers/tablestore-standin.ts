/**
 * Wire-level TableStore stand-in. TableStore is a cloud service that cannot run here; this is an
 * HTTP server speaking its published protocol as the official SDK sends it: POST /<Operation>
 * with a protobuf body (messages decoded with the SDK's own .proto definitions), PlainBuffer rows
 * with CRC-8 checksums (tablestore-plainbuffer.ts, written from the format), x-ots-* headers with
 * the HMAC-SHA1 signature checked against the test key (a wrong secret is refused with
 * OTSAuthFailed like the service), and protobuf `Error {code, message}` bodies for failures.
 *
 * Operations: CreateTable, DeleteTable, DescribeTable, ListTable, PutRow, UpdateRow, DeleteRow,
 * GetRow, GetRange (paged by 5000 rows), BatchWriteRow (per-row results). Conditions and limits:
 * tablestore-store.ts. Faults for tests: failRows() (a per-row error such as OTSServerBusy for
 * chosen rows, a number of times) and down() (the endpoint refuses connections for a while).
 * Data lives in this process, so it outlives the worker processes that write to it.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { decodeRow, encodeRows, type PbCell, type PbRow } from './tablestore-plainbuffer.js';
import {
  LIMITS, OtsFault, StandinTable, checkAttributes, checkCondition, comparePk, evaluateFilter, outputRow, putRow, updateRow,
  type FilterCodec, type PkSchema,
} from './tablestore-store.js';

const require = createRequire(import.meta.url);

interface MessageType { decode(bytes: Uint8Array): Record<string, unknown>; encode(message: Record<string, unknown>): { finish(): Uint8Array } }
type Protos = Record<string, MessageType>;
const compiled = require('tablestore/lib/protocol/tablestore_compiled_proto.js') as { main: { proto: Protos }; filter: { proto: Protos } };
const pb = compiled.main.proto;
const fpb = compiled.filter.proto;

const codec: FilterCodec = {
  decodeFilter: (b) => fpb.Filter!.decode(b) as unknown as ReturnType<FilterCodec['decodeFilter']>,
  decodeSingle: (b) => fpb.SingleColumnValueFilter!.decode(b) as unknown as ReturnType<FilterCodec['decodeSingle']>,
  decodeComposite: (b) => fpb.CompositeColumnValueFilter!.decode(b) as unknown as ReturnType<FilterCodec['decodeComposite']>,
};

export interface StandinOptions {
  instance?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
}

export interface RowFault {
  /** Which rows: the primary key values in order (numbers for integer columns), e.g. ['u1', 7]. */
  match(pk: Array<string | number>): boolean;
  code: string;
  message: string;
  /** How many times each matching row fails before it succeeds. */
  times: number;
}

interface Condition { rowExistence: number; columnCondition?: Uint8Array | null }
interface WriteRow { type: number; rowChange: Uint8Array; condition: Condition }

export class TablestoreStandin {
  readonly instance: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Requests per operation (counted after authentication). */
  readonly requests: Record<string, number> = {};
  /** How often each row (by primary key, as JSON) was sent in a BatchWriteRow. */
  readonly rowSends = new Map<string, number>();
  private readonly tables = new Map<string, StandinTable>();
  private readonly faults: Array<{ fault: RowFault; left: Map<string, number> }> = [];
  private readonly sockets = new Set<Socket>();
  private server: Server;
  private port = 0;

  private constructor(options: StandinOptions) {
    this.instance = options.instance ?? 'standin';
    this.accessKeyId = options.accessKeyId ?? 'test-key-id';
    this.accessKeySecret = options.accessKeySecret ?? 'test-key-secret';
    this.server = this.makeServer();
  }

  static async start(options: StandinOptions = {}): Promise<TablestoreStandin> {
    const s = new TablestoreStandin(options);
    await s.listen(0);
    return s;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Rows matching `fault.match` answer `fault.code` in BatchWriteRow, `times` times each. */
  failRows(fault: RowFault): void {
    this.faults.push({ fault, left: new Map() });
  }

  /** Refuses connections from now on (listener closed, open connections cut); resolves with what listens on the same port again. */
  async stop(): Promise<() => Promise<void>> {
    await this.stopListening();
    return async () => {
      this.server = this.makeServer();
      await this.listen(this.port);
    };
  }

  /** Down for `ms` (see stop()), then back. */
  async down(ms: number): Promise<void> {
    const restart = await this.stop();
    await new Promise((r) => setTimeout(r, ms));
    await restart();
  }

  async close(): Promise<void> {
    await this.stopListening();
  }

  private makeServer(): Server {
    // A client killed mid-request (the crash tests' kill -9) aborts its body: nothing to answer.
    const server = createServer((req, res) => this.handle(req, res).catch(() => res.destroy()));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const requestId = randomUUID();
    const reply = (status: number, payload: Uint8Array): void => {
      res.writeHead(status, {
        'content-type': 'application/x-protobuf',
        'x-ots-requestid': requestId,
        'x-ots-date': new Date().toISOString().replace(/\.\d{3}Z$/, '.000Z'),
        'x-ots-contentmd5': createHash('md5').update(payload).digest('base64'),
      });
      res.end(payload);
    };
    try {
      if (req.method !== 'POST') throw new OtsFault('OTSMethodNotAllowed', `Method ${req.method} is not allowed.`, 405);
      this.authenticate(req, body);
      const op = (req.url ?? '/').slice(1);
      this.requests[op] = (this.requests[op] ?? 0) + 1;
      reply(200, this.dispatch(op, body));
    } catch (err) {
      const fault = err instanceof OtsFault ? err : new OtsFault('OTSInternalServerError', `Internal server error: ${(err as Error).message}`, 500);
      reply(fault.status, pb.Error!.encode({ code: fault.code, message: fault.message }).finish());
    }
  }

  /** The service's request authentication: instance, key id, body MD5, date skew, then the signature. */
  private authenticate(req: IncomingMessage, body: Buffer): void {
    const h = req.headers;
    const header = (name: string): string => {
      const v = h[name];
      if (typeof v !== 'string') throw new OtsFault('OTSParameterInvalid', `Missing header: ${name}.`, 400);
      return v;
    };
    if (header('x-ots-apiversion') !== '2015-12-31') throw new OtsFault('OTSParameterInvalid', `Unsupported API version: ${h['x-ots-apiversion']}.`);
    if (header('x-ots-instancename') !== this.instance) throw new OtsFault('OTSAuthFailed', `The instance '${h['x-ots-instancename']}' is not found.`, 403);
    if (header('x-ots-accesskeyid') !== this.accessKeyId) throw new OtsFault('OTSAuthFailed', 'The AccessKeyID is disabled or does not exist.', 403);
    if (header('x-ots-contentmd5') !== createHash('md5').update(body).digest('base64')) throw new OtsFault('OTSAuthFailed', 'Mismatch between ContentMD5 and body.', 403);
    const skew = Math.abs(Date.now() - Date.parse(header('x-ots-date')));
    if (!(skew <= 15 * 60_000)) throw new OtsFault('OTSAuthFailed', 'The difference between the request time and the current time is too large.', 403);
    const names = Object.keys(h).filter((n) => n.startsWith('x-ots-') && n !== 'x-ots-signature').sort();
    const canonical = `${req.url}\n${req.method}\n\n${names.map((n) => `${n}:${String(h[n])}`).join('\n')}\n`;
    const expected = createHmac('sha1', this.accessKeySecret).update(canonical).digest('base64');
    if (header('x-ots-signature') !== expected) throw new OtsFault('OTSAuthFailed', 'Signature mismatch.', 403);
  }

  private table(name: unknown): StandinTable {
    const t = this.tables.get(String(name));
    if (!t) throw new OtsFault('OTSObjectNotExist', 'Requested table does not exist.', 404);
    return t;
  }

  private dispatch(op: string, body: Buffer): Uint8Array {
    const now = BigInt(Date.now());
    const consumed = { capacityUnit: { read: 0, write: 1 } };
    switch (op) {
      case 'CreateTable': {
        const r = pb.CreateTableRequest!.decode(body) as { tableMeta: { tableName: string; primaryKey: PkSchema[] } };
        const meta = r.tableMeta;
        if (this.tables.has(meta.tableName)) throw new OtsFault('OTSObjectAlreadyExist', 'Requested table already exists.', 409);
        if (meta.primaryKey.length < 1 || meta.primaryKey.length > 4) throw new OtsFault('OTSParameterInvalid', 'The number of primary key columns must be in range: [1, 4].');
        this.tables.set(meta.tableName, new StandinTable(meta.tableName, meta.primaryKey.map((p) => ({ name: p.name, type: p.type })), Date.now()));
        return pb.CreateTableResponse!.encode({}).finish();
      }
      case 'DeleteTable': {
        const r = pb.DeleteTableRequest!.decode(body) as { tableName: string };
        this.table(r.tableName);
        this.tables.delete(r.tableName);
        return pb.DeleteTableResponse!.encode({}).finish();
      }
      case 'ListTable':
        return pb.ListTableResponse!.encode({ tableNames: [...this.tables.keys()] }).finish();
      case 'DescribeTable': {
        const t = this.table((pb.DescribeTableRequest!.decode(body) as { tableName: string }).tableName);
        return pb.DescribeTableResponse!.encode({
          tableMeta: { tableName: t.name, primaryKey: t.pkSchema },
          reservedThroughputDetails: { capacityUnit: { read: 0, write: 0 }, lastIncreaseTime: Math.floor(t.createdAt / 1000) },
          tableOptions: { timeToLive: -1, maxVersions: 1, deviationCellVersionInSec: 86400 },
          tableStatus: 1,
        }).finish();
      }
      case 'PutRow':
      case 'UpdateRow': {
        const r = pb[`${op}Request`]!.decode(body) as { tableName: string; row?: Uint8Array; rowChange?: Uint8Array; condition: Condition };
        this.writeRow(this.table(r.tableName), op === 'PutRow' ? 1 : 2, decode(r.row ?? r.rowChange!), r.condition, now);
        return pb[`${op}Response`]!.encode({ consumed }).finish();
      }
      case 'DeleteRow': {
        const r = pb.DeleteRowRequest!.decode(body) as { tableName: string; primaryKey: Uint8Array; condition: Condition };
        this.writeRow(this.table(r.tableName), 3, decode(r.primaryKey), r.condition, now);
        return pb.DeleteRowResponse!.encode({ consumed }).finish();
      }
      case 'GetRow': {
        const r = pb.GetRowRequest!.decode(body) as { tableName: string; primaryKey: Uint8Array; columnsToGet: string[]; filter?: Uint8Array };
        const t = this.table(r.tableName);
        const row = t.rows.get(t.checkPk(decode(r.primaryKey).pk));
        const visible = row && (!r.filter?.length || evaluateFilter(codec, r.filter, row));
        return pb.GetRowResponse!.encode({ consumed: { capacityUnit: { read: 1, write: 0 } }, row: visible ? encodeRows([outputRow(row, r.columnsToGet)]) : Buffer.alloc(0) }).finish();
      }
      case 'GetRange':
        return this.getRange(body);
      case 'BatchWriteRow':
        return this.batchWriteRow(body, now);
      default:
        throw new OtsFault('OTSUnsupportOperation', `Unsupported operation: '${op}'.`, 400);
    }
  }

  /** One row write with its condition; type 1 PUT, 2 UPDATE, 3 DELETE. */
  private writeRow(t: StandinTable, type: number, change: PbRow, condition: Condition, now: bigint): void {
    const key = t.checkPk(change.pk);
    checkAttributes(change.cells);
    checkCondition(codec, condition, t.rows.get(key));
    if (type === 1) putRow(t, change, now);
    else if (type === 2) updateRow(t, change, now);
    else if (type === 3) t.rows.delete(key);
    else throw new OtsFault('OTSParameterInvalid', `Invalid operation type: ${type}.`);
  }

  private batchWriteRow(body: Buffer, now: bigint): Uint8Array {
    const r = pb.BatchWriteRowRequest!.decode(body) as { tables: Array<{ tableName: string; rows: WriteRow[] }> };
    const count = r.tables.reduce((n, t) => n + t.rows.length, 0);
    if (count > LIMITS.batchRows) throw new OtsFault('OTSParameterInvalid', `Rows count exceeds the upper limit: ${LIMITS.batchRows}.`);
    // Request-level checks first, as the service does: tables, key schema, duplicates.
    const decoded = r.tables.map((bt) => {
      const t = this.table(bt.tableName);
      const seen = new Set<string>();
      const rows = bt.rows.map((row) => {
        const change = decode(row.rowChange);
        const key = t.checkPk(change.pk);
        if (seen.has(key)) throw new OtsFault('OTSParameterInvalid', 'The input parameter is invalid.');
        seen.add(key);
        return { row, change, key };
      });
      return { t, rows };
    });
    const tables = decoded.map(({ t, rows }) => ({
      tableName: t.name,
      rows: rows.map(({ row, change, key }) => {
        this.rowSends.set(key, (this.rowSends.get(key) ?? 0) + 1);
        try {
          this.injected(change.pk, key);
          this.writeRow(t, row.type, change, row.condition, now);
          return { isOk: true, consumed: { capacityUnit: { read: 0, write: 1 } } };
        } catch (err) {
          if (!(err instanceof OtsFault)) throw err;
          return { isOk: false, error: { code: err.code, message: err.message } };
        }
      }),
    }));
    return pb.BatchWriteRowResponse!.encode({ tables }).finish();
  }

  private injected(pk: PbCell[], key: string): void {
    const values = pk.map((c) => (c.value?.type === 'integer' ? Number(c.value.value) : c.value?.type === 'string' ? c.value.value : ''));
    for (const { fault, left } of this.faults) {
      if (!fault.match(values)) continue;
      const n = left.get(key) ?? fault.times;
      if (n <= 0) continue;
      left.set(key, n - 1);
      throw new OtsFault(fault.code, fault.message, 503);
    }
  }

  private getRange(body: Buffer): Uint8Array {
    const r = pb.GetRangeRequest!.decode(body) as {
      tableName: string; direction: number; columnsToGet: string[]; limit?: number; filter?: Uint8Array;
      inclusiveStartPrimaryKey: Uint8Array; exclusiveEndPrimaryKey: Uint8Array;
    };
    const t = this.table(r.tableName);
    const start = decode(r.inclusiveStartPrimaryKey).pk;
    const end = decode(r.exclusiveEndPrimaryKey).pk;
    t.checkPk(start, true);
    t.checkPk(end, true);
    const forward = r.direction !== 1;
    const inRange = (pk: PbCell[]): boolean => (forward
      ? comparePk(pk, start) >= 0 && comparePk(pk, end) < 0
      : comparePk(pk, start) <= 0 && comparePk(pk, end) > 0);
    const rows = [...t.rows.values()].filter((row) => inRange(row.pk)).sort((a, b) => (forward ? 1 : -1) * comparePk(a.pk, b.pk));
    const limit = Math.min(r.limit && r.limit > 0 ? r.limit : LIMITS.rangeRows, LIMITS.rangeRows);
    const page = rows.slice(0, limit);
    const next = rows[limit];
    const out = page.filter((row) => !r.filter?.length || evaluateFilter(codec, r.filter, row)).map((row) => outputRow(row, r.columnsToGet));
    return pb.GetRangeResponse!.encode({
      consumed: { capacityUnit: { read: Math.max(1, page.length), write: 0 } },
      rows: encodeRows(out),
      ...(next ? { nextStartPrimaryKey: encodeRows([{ pk: next.pk, cells: [], deleteMarker: false }]) } : {}),
    }).finish();
  }
}

function decode(bytes: Uint8Array): PbRow {
  try {
    return decodeRow(bytes);
  } catch (err) {
    throw new OtsFault('OTSParameterInvalid', `Invalid PlainBuffer: ${(err as Error).message}`);
  }
}

