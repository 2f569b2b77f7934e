/**
 * The official `tablestore` SDK (CommonJS, untyped) behind a small typed surface: the client,
 * BatchWriteRow parameters built from RowOps, and the error a failed call leaves.
 *
 * The SDK's own retries are switched off (maxRetries 0): the sink retries only the rows that
 * failed, through BatchingSink, and a BatchWriteRow is not a request the SDK would repeat anyway.
 * Its error parser for non-2xx answers is broken in 5.x (it looks for an XML parser that does not
 * exist), so the protobuf `Error {code, message}` body arrives as mangled text in err.message:
 * otsError() decodes it again with the SDK's own message definitions.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { TOMBSTONE_COLUMN, type Cell, type PkValue, type RowOp } from './rows.js';

const require = createRequire(import.meta.url);

/* The parts of the SDK we use, as the SDK defines them (lib/filter.js, lib/metadata.js, lib/long.js). */
export interface SdkLong { toNumber(): number; toString(radix?: number): string }
interface SdkColumnCondition { readonly __columnCondition?: never }
interface SdkCompositeCondition extends SdkColumnCondition { addSubCondition(c: SdkColumnCondition): void }
interface SdkCondition { readonly __condition?: never }
type SdkPrimaryKey = Array<Record<string, string | SdkLong>>;
type SdkCellValue = string | number | boolean | SdkLong;

export interface SdkWriteRow {
  type: 'PUT' | 'UPDATE' | 'DELETE';
  condition: SdkCondition;
  primaryKey: SdkPrimaryKey;
  attributeColumns?: Array<Record<string, SdkCellValue>> | Array<Record<string, Array<Record<string, SdkCellValue>> | string[]>>;
  returnContent: { returnType: number };
}

export interface SdkBatchWriteResult {
  tables: Array<{ isOk: boolean; errorCode: string | null; errorMessage: string | null; tableName: string }>;
}

export interface SdkClient {
  batchWriteRow(params: { tables: Array<{ tableName: string; rows: SdkWriteRow[] }> }): Promise<SdkBatchWriteResult>;
  describeTable(params: { tableName: string }): Promise<{ tableMeta: { tableName: string; primaryKey: Array<{ name: string; type: number }> } }>;
}

export interface SdkClientOptions {
  endpoint: string;
  instancename: string;
  accessKeyId: string;
  secretAccessKey: string;
  stsToken?: string;
  maxRetries: number;
  httpOptions: { timeout: number; agent: HttpAgent };
}

interface SdkModule {
  Client: new (options: SdkClientOptions) => SdkClient;
  Long: { fromString(text: string): SdkLong };
  Condition: new (existence: number, column: SdkColumnCondition | null) => SdkCondition;
  SingleColumnCondition: new (column: string, value: SdkCellValue, comparator: number, passIfMissing: boolean, latestVersionOnly: boolean) => SdkColumnCondition;
  CompositeCondition: new (combinator: number) => SdkCompositeCondition;
  RowExistenceExpectation: { IGNORE: number };
  ComparatorType: { EQUAL: number; NOT_EQUAL: number; LESS_THAN: number; LESS_EQUAL: number };
  LogicalOperator: { AND: number; OR: number };
  ReturnType: { NONE: number };
}

interface ErrorMessage { decode(bytes: Uint8Array): { code: string; message?: string } }

let sdk: SdkModule | undefined;
let errorProto: ErrorMessage | undefined;

/** Loaded on first use: `tributary validate` imports the sink without needing the SDK loaded. */
export function tablestoreSdk(): SdkModule {
  sdk ??= require('tablestore') as SdkModule;
  return sdk;
}

function errorMessageType(): ErrorMessage {
  errorProto ??= (require('tablestore/lib/protocol/tablestore_compiled_proto.js') as { main: { proto: { Error: ErrorMessage } } }).main.proto.Error;
  return errorProto;
}

export function createSdkClient(options: Omit<SdkClientOptions, 'maxRetries' | 'httpOptions'>, timeoutMs: number, maxSockets: number): { client: SdkClient; agent: HttpAgent } {
  const agent = options.endpoint.startsWith('https:') ? new HttpsAgent({ keepAlive: true, maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets });
  const client = new (tablestoreSdk().Client)({ ...options, maxRetries: 0, httpOptions: { timeout: timeoutMs, agent } });
  return { client, agent };
}

function long(v: bigint): SdkLong {
  return tablestoreSdk().Long.fromString(v.toString());
}

function sdkValue(v: Cell): SdkCellValue {
  return typeof v === 'bigint' ? long(v) : v;
}

function sdkKey(v: PkValue): string | SdkLong {
  return typeof v === 'bigint' ? long(v) : v;
}

/**
 * The guard as a column condition (row existence IGNORE: a missing row passes).
 *   upsert: _v < v  OR  (_v == v AND _deleted != true)   — equal versions rewrite (an idempotent
 *           re-send), but never over a tombstone of the same version
 *   delete: _v <= v
 * Every comparison passes when its column is missing (passIfMissing) and reads the latest cell version.
 */
export function guardCondition(op: RowOp, versionColumn: string): SdkCondition {
  const ts = tablestoreSdk();
  const single = (column: string, value: SdkCellValue, comparator: number): SdkColumnCondition =>
    new ts.SingleColumnCondition(column, value, comparator, true, true);
  const v = long(op.version);
  if (op.kind === 'delete') return new ts.Condition(ts.RowExistenceExpectation.IGNORE, single(versionColumn, v, ts.ComparatorType.LESS_EQUAL));
  const same = new ts.CompositeCondition(ts.LogicalOperator.AND);
  same.addSubCondition(single(versionColumn, v, ts.ComparatorType.EQUAL));
  same.addSubCondition(single(TOMBSTONE_COLUMN, true, ts.ComparatorType.NOT_EQUAL));
  const guard = new ts.CompositeCondition(ts.LogicalOperator.OR);
  guard.addSubCondition(single(versionColumn, v, ts.ComparatorType.LESS_THAN));
  guard.addSubCondition(same);
  return new ts.Condition(ts.RowExistenceExpectation.IGNORE, guard);
}

/** One BatchWriteRow row for an operation; deletes become tombstones unless `deletes: delete`. */
export function toWriteRow(op: RowOp, versionColumn: string, write: 'put' | 'update', deletes: 'tombstone' | 'delete'): SdkWriteRow {
  const ts = tablestoreSdk();
  const primaryKey: SdkPrimaryKey = op.pk.map(([name, v]) => ({ [name]: sdkKey(v) }));
  const base = { condition: guardCondition(op, versionColumn), primaryKey, returnContent: { returnType: ts.ReturnType.NONE } };
  if (op.kind === 'delete') {
    if (deletes === 'delete') return { type: 'DELETE', ...base };
    return { type: 'PUT', ...base, attributeColumns: [{ [versionColumn]: long(op.version) }, { [TOMBSTONE_COLUMN]: true }] };
  }
  const cells = op.cells.map(([name, v]) => ({ [name]: sdkValue(v) }));
  if (write === 'put') return { type: 'PUT', ...base, attributeColumns: cells };
  // A row that was a tombstone comes back to life: its marker goes.
  return { type: 'UPDATE', ...base, attributeColumns: [{ PUT: cells }, { DELETE_ALL: [...op.clear, TOMBSTONE_COLUMN] }] };
}

/** Rough encoded size of a row (PlainBuffer + protobuf framing), to keep a request under 4 MB. */
export function approxRowBytes(op: RowOp): number {
  let n = 64;
  for (const [name, v] of [...op.pk, ...op.cells]) n += 16 + Buffer.byteLength(name) + (typeof v === 'string' ? Buffer.byteLength(v) : 8);
  for (const name of op.clear) n += 16 + Buffer.byteLength(name);
  return n;
}

export interface OtsError {
  /** OTS error code (OTSServerBusy...), or the SDK's (NetworkingError, TimeoutError), or the HTTP status. */
  code: string;
  message: string;
  /** HTTP status of the answer, when there was one. */
  status?: number;
}

/** What a failed SDK call says, with the service's protobuf error body decoded. */
export function otsError(err: unknown): OtsError {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; statusCode?: unknown };
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : 'UnknownError';
  const text = typeof e.message === 'string' ? e.message : String(err);
  if (!/^\d{3}$/.test(code)) return { code, message: text };
  const status = Number(code);
  const body = text.replace(/ requestId:[^ ]*$/, '');
  try {
    const decoded = errorMessageType().decode(Buffer.from(body, 'utf8'));
    if (/^OTS\w+$/.test(decoded.code)) return { code: decoded.code, message: decoded.message ?? '', status };
  } catch {
    // Not (or no longer, after the UTF-8 round trip) a protobuf Error: fall back to its text.
  }
  const m = /(OTS[A-Za-z]+)[\x00-\x1f\ufffd]*(.*)$/s.exec(body);
  return m ? { code: m[1]!, message: m[2]!.replace(/^[\x00-\x1f\ufffd]+/, ''), status } : { code, message: body, status };
}

export type Outcome = 'stale' | 'throttled' | 'unavailable' | 'transient' | 'record' | 'fatal';

const THROTTLED = new Set(['OTSServerBusy', 'OTSQuotaExhausted', 'OTSNotEnoughCapacityUnit', 'OTSOperationThrottled', 'OTSCapacityUnitExhausted']);
const TRANSIENT = new Set(['OTSTimeout', 'OTSServerUnavailable', 'OTSPartitionUnavailable', 'OTSInternalServerError', 'OTSTableNotReady', 'OTSRowOperationConflict', 'OTSRequestTimeout']);
const RECORD = new Set(['OTSParameterInvalid', 'OTSInvalidPK', 'OTSOutOfColumnCountLimit', 'OTSOutOfRowSizeLimit', 'OTSDataTypeMismatch']);

/** How the sink treats an error code, for a whole request or one row of a BatchWriteRow. */
export function classify(code: string, status?: number): Outcome {
  if (code === 'OTSConditionCheckFail') return 'stale';
  if (THROTTLED.has(code)) return 'throttled';
  if (code === 'NetworkingError' || code === 'TimeoutError' || /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)/.test(code)) return 'unavailable';
  if (TRANSIENT.has(code) || (status !== undefined && status >= 500)) return 'transient';
  if (RECORD.has(code)) return 'record';
  return 'fatal';
}
