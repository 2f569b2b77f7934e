import { s, type Infer } from '../../core/spec.js';
import { upsertSpecFields } from '../upsert.js';

/** Detail rows are read per user by range, not raced for: a short wait fills batches. */
export const SQL_DEFAULT_LINGER_MS = 50;

export const SQL_COLUMN_TYPES = ['text', 'varchar', 'integer', 'bigint', 'decimal', 'double', 'boolean', 'timestamp', 'date', 'json'] as const;
export type SqlColumnType = (typeof SQL_COLUMN_TYPES)[number];

const identifier = s.string({ pattern: '^[A-Za-z_][A-Za-z0-9_$]*$', patternHint: 'write a plain SQL identifier (letters, digits, _ and $)' });

export const sqlColumnSpec = s.object({
  field: s.string({ minLength: 1 }).optional().describe('Row field written to this column. Default: the column name'),
  type: s.enum(SQL_COLUMN_TYPES)
    .describe('How the value is converted: text, varchar (with length), integer/bigint (whole numbers, bigint beyond 2^53 as digit text), decimal (exact: number text, never through a float), double, boolean, timestamp (UTC, see README), date, json'),
  length: s.number({ integer: true, min: 1 }).optional().describe('varchar: maximum length (the DDL `tributary plan` prints)'),
  precision: s.number({ integer: true, min: 1, max: 65 }).optional().describe('decimal: total digits. Default 18'),
  scale: s.number({ integer: true, min: 0, max: 30 }).optional().describe('decimal: digits after the point. Default 2'),
  nullable: s.boolean().default(true).describe('false: NOT NULL in the printed DDL (a null value is then refused by the store and dead-lettered)'),
});
export type SqlColumnConfig = Infer<typeof sqlColumnSpec>;

export const sqlSinkSpec = s.object({
  url: s.string({ pattern: '^(postgres|postgresql|mysql|mariadb)://', patternHint: 'write postgres://user:pass@host:port/db or mysql://user:pass@host:port/db' })
    .secret().optional()
    .describe('Server URL, from the environment (${PG_URL}): it holds the password. Instead of host/port/user/password/database'),
  dialect: s.enum(['postgres', 'mysql'] as const).optional()
    .describe('postgres (PostgreSQL) or mysql (MySQL, MariaDB). Default: from the url scheme'),
  host: s.string({ minLength: 1 }).optional().describe('Server host (instead of url). Default 127.0.0.1'),
  port: s.number({ integer: true, min: 1, max: 65535 }).optional().describe('Server port (instead of url). Default 5432 / 3306'),
  user: s.string({ minLength: 1 }).optional().describe('User (instead of url)'),
  password: s.string().secret().optional().describe('Password; write it as ${VAR}. Never logged'),
  database: s.string({ minLength: 1 }).optional().describe('Database (instead of url)'),
  table: s.string({ pattern: '^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?$', patternHint: 'write table or schema.table' })
    .describe('Existing table to upsert into (`tributary plan` prints the DDL it expects)'),
  key: s.array(identifier, { minItems: 1 }).describe('Key columns: the primary key (or a unique key) of the table; listed in columns too'),
  columns: s.record(sqlColumnSpec, { keyPattern: '^[A-Za-z_][A-Za-z0-9_$]*$', keyHint: 'write a plain SQL identifier' })
    .describe('Column name -> {field, type, ...}: what each column holds and how the row value converts'),
  versionColumn: identifier.default('_version').describe('Column holding the version of the row\'s last write (a number)'),
  deletedColumn: identifier.default('_deleted')
    .describe('changelog input: boolean column marking a deleted row (a tombstone keeping its version, so an older replay cannot bring it back)'),
  ...upsertSpecFields,
  batchSize: s.number({ integer: true, min: 1 }).default(500).describe('Rows per transaction'),
  linger: s.duration({ min: 0 }).default(SQL_DEFAULT_LINGER_MS)
    .describe('Write a batch once its oldest row has waited this long, without waiting for batchSize rows or the checkpoint'),
  pool: s.number({ integer: true, min: 1, max: 64 }).default(2).describe('Connections kept open (one batch is one transaction on one of them)'),
});
export type SqlSinkConfig = Infer<typeof sqlSinkSpec>;
export type SqlDialectName = 'postgres' | 'mysql';
