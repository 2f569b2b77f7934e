import { s, type Infer } from '../../core/spec.js';
import { upsertSpecFields } from '../upsert.js';

/** TableStore refuses a BatchWriteRow of more rows than this. */
export const TABLESTORE_MAX_BATCH_ROWS = 200;
/** Detail rows feed range reads, not online decisions: a short linger buys fuller requests. */
export const TABLESTORE_DEFAULT_LINGER_MS = 20;

const columnName = s.string({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,254}$', patternHint: 'letters, digits and _, starting with a letter or _, at most 255 characters' });

export const tablestoreSinkSpec = s.object({
  endpoint: s.string({ pattern: '^https?://', patternHint: 'write https://<instance>.<region>.ots.aliyuncs.com (or ${TABLESTORE_ENDPOINT})' })
    .describe('Instance endpoint, e.g. ${TABLESTORE_ENDPOINT}'),
  instance: s.string({ minLength: 1 }).describe('Instance name, e.g. ${TABLESTORE_INSTANCE}'),
  accessKeyId: s.string().secret().describe('AccessKey id; write it as ${VAR}. Never logged. Empty (${VAR:-}): the sink stops at start asking for it'),
  accessKeySecret: s.string().secret().describe('AccessKey secret; write it as ${VAR}. Never logged. Empty (${VAR:-}): the sink stops at start asking for it'),
  securityToken: s.string({ minLength: 1 }).secret().optional().describe('STS token for temporary credentials; write it as ${VAR}'),
  table: s.string({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', patternHint: 'a TableStore table name' }).describe('Existing table to write'),
  primaryKey: s.array(s.object({
    name: columnName.describe('Primary key column, in the table\'s key order'),
    value: s.string({ minLength: 1 }).optional()
      .describe('Template: {field} from the row, {key} the record key, e.g. "{user_id}" or "app:{application_id}". Default: {<name>}'),
    type: s.enum(['string', 'integer'] as const).default('string').describe('The column\'s type in the table schema'),
  }), { minItems: 1 }).describe('Primary key columns in the order the table declares them (at most 4)'),
  columns: s.union(s.array(s.string({ minLength: 1 }), { minItems: 1 }), s.record(s.string({ minLength: 1 }), { keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$' })).optional()
    .describe('Attribute columns: a list of row fields, or a map column -> row field. Default: every row field that is not a primary key column'),
  types: s.record(s.enum(['integer', 'double', 'string', 'boolean', 'json'] as const)).optional()
    .describe('Column -> TableStore type, overriding the value-based rule (integers -> INTEGER, other numbers -> DOUBLE, strings (decimals too) -> STRING, booleans -> BOOLEAN, objects/arrays -> JSON text)'),
  versionColumn: columnName.default('_v').describe('INTEGER attribute column holding the version the guard compares (versions must be integers)'),
  ...upsertSpecFields,
  deletes: s.enum(['tombstone', 'delete'] as const).default('tombstone')
    .describe('tombstone: a delete replaces the row by {versionColumn, _deleted: true}, so an older replay cannot bring it back; delete: DeleteRow (guarded, but a replay older than the delete recreates the row)'),
  write: s.enum(['put', 'update'] as const).default('put')
    .describe('put: PutRow replaces the whole row; update: UpdateRow sets the given columns and deletes those whose value is null'),
  batchSize: s.number({ integer: true, min: 1 }).default(TABLESTORE_MAX_BATCH_ROWS)
    .describe(`Records per batch; a batch goes out as BatchWriteRow requests of at most ${TABLESTORE_MAX_BATCH_ROWS} rows`),
  concurrency: s.number({ integer: true, min: 1, max: 64 }).default(4).describe('BatchWriteRow requests of one batch in flight at once'),
  linger: s.duration({ min: 0 }).default(TABLESTORE_DEFAULT_LINGER_MS)
    .describe('Send once the oldest buffered record has waited this long, without waiting for batchSize records or the checkpoint'),
  timeout: s.duration({ min: 100 }).default(10_000).describe('A request without a response after this long fails (and is retried)'),
});
export type TablestoreSinkConfig = Infer<typeof tablestoreSinkSpec>;

/** The table the sink expects, for `tributary plan`: TableStore attribute columns are schema-free, so only the key is fixed. */
export function tablestoreTableNeeds(_id: string, config: TablestoreSinkConfig): string {
  const pk = config.primaryKey.map((p) => `${p.name} ${(p.type ?? 'string') === 'integer' ? 'INTEGER' : 'STRING'}`).join(', ');
  const v = config.versionColumn ?? '_v';
  const deletes = (config.deletes ?? 'tombstone') === 'tombstone'
    ? `; deletes leave tombstones {${v}, _deleted: true} (readers skip rows where _deleted = true)`
    : '; deletes are guarded DeleteRow';
  return `TableStore table ${config.table} with primary key (${pk}), in this order; ` +
    `the sink writes the version to INTEGER column ${v}${deletes}`;
}
