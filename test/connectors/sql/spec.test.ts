import { describe, expect, it } from 'vitest';
import { classifySqlError } from '../../../src/connectors/sql/client.js';
import { mysqlDialect, postgresDialect } from '../../../src/connectors/sql/dialect.js';
import { SqlSink, sqlTableShape } from '../../../src/connectors/sql/sink.js';
import { sqlSinkSpec, type SqlSinkConfig } from '../../../src/connectors/sql/spec.js';
import { toParam } from '../../../src/connectors/sql/values.js';
import { validateSpec, type ValidationContext } from '../../../src/core/spec.js';
import { parseYaml } from '../../../src/topology/yaml-tree.js';
import { thrown } from '../../helpers/errors.js';

function check(yaml: string, env: Record<string, string> = {}) {
  const parsed = parseYaml(yaml, 'sink.yaml', env);
  const ctx: ValidationContext = { file: 'sink.yaml', errors: [...parsed.errors], interpolated: new Map() };
  const value = validateSpec(sqlSinkSpec, parsed.root, ctx) as SqlSinkConfig;
  return { value, errors: ctx.errors.map((e) => e.message) };
}

const minimal = 'table: t\nkey: [id]\ncolumns: { id: { type: bigint }, v: { type: text } }\n';
const base: SqlSinkConfig = {
  url: 'postgres://u:p@h:1/db', table: 't', key: ['id'], columns: { id: { type: 'bigint', nullable: true }, v: { type: 'text', nullable: true } },
  versionColumn: '_version', deletedColumn: '_deleted', changelog: false, batchSize: 10, linger: 0, pool: 1,
};

describe('sql sink config', () => {
  it('takes the url only from the environment and fills defaults', () => {
    const { value, errors } = check(`url: \${PG_URL}\n${minimal}`, { PG_URL: 'postgres://u:secret@h:5432/db' });
    expect(errors).toEqual([]);
    expect(value).toMatchObject({ url: 'postgres://u:secret@h:5432/db', versionColumn: '_version', deletedColumn: '_deleted', changelog: false, batchSize: 500, linger: 50, pool: 2 });
    expect(check(`url: postgres://u:secret@h/db\n${minimal}`).errors.join('\n')).toMatch(/sink\.yaml:1:6: .*'url' is a secret: write it as \$\{SOME_ENV_VAR\}/);
    expect(check(`password: pw\ndialect: mysql\n${minimal}`).errors.join('\n')).toMatch(/'password' is a secret/);
    expect(check(`dialect: oracle\n${minimal}`).errors.join('\n')).toMatch(/sink\.yaml:1:10/);
    expect(check('table: "t; drop"\nkey: [id]\ncolumns: {}\n').errors.join('\n')).toMatch(/write table or schema\.table/);
  });

  it('refuses inconsistent configs when the sink is created, without connecting', () => {
    expect(thrown(() => new SqlSink('s', { ...base, key: ['nope'] })).message).toBe("sql sink 's': key column 'nope' is not in columns");
    expect(thrown(() => new SqlSink('s', { ...base, url: 'mysql://h/db', dialect: 'postgres' })).message).toMatch(/dialect postgres does not match the url's scheme mysql/);
    expect(thrown(() => new SqlSink('s', { ...base, url: undefined })).message).toMatch(/set 'url' or 'dialect'/);
    expect(thrown(() => new SqlSink('s', { ...base, columns: { ...base.columns, _version: { type: 'bigint', nullable: true } } })).message).toMatch(/column '_version' is the sink's own/);
  });
});

describe('sql statements', () => {
  const shape = sqlTableShape({ ...base, changelog: true, columns: { ...base.columns, amount: { type: 'decimal', nullable: false } } }, 'x');

  it('prints the DDL per dialect: key NOT NULL, version and deleted marker, primary key', () => {
    expect(postgresDialect.ddl(shape)).toBe([
      'CREATE TABLE "t" (', '  "id" bigint NOT NULL,', '  "v" text,', '  "amount" numeric(18,2) NOT NULL,',
      '  "_version" double precision NOT NULL,', '  "_deleted" boolean NOT NULL DEFAULT FALSE,', '  PRIMARY KEY ("id")', ');',
    ].join('\n'));
    expect(mysqlDialect.ddl({ ...shape, key: ['v'] })).toContain('`v` VARCHAR(255) NOT NULL');
  });

  it('guards inside the statement; MySQL assigns the deleted marker second to last and the version last', () => {
    expect(postgresDialect.upsert(shape, 2)).toBe(
      'INSERT INTO "t" AS cur ("id", "v", "amount", "_version", "_deleted") VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)' +
      ' ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v", "amount" = EXCLUDED."amount", "_version" = EXCLUDED."_version", "_deleted" = EXCLUDED."_deleted"' +
      ' WHERE cur."_version" < EXCLUDED."_version" OR (cur."_version" = EXCLUDED."_version" AND NOT cur."_deleted")');
    const my = mysqlDialect.upsert(shape, 1);
    const assigned = [...my.matchAll(/(`\w+`) = IF\(/g)].map((m) => m[1]);
    expect(assigned).toEqual(['`v`', '`amount`', '`_deleted`', '`_version`']);
    expect(my).toContain('IF(`_version` < VALUES(`_version`) OR (`_version` = VALUES(`_version`) AND NOT `_deleted`), VALUES(`v`), `v`)');
    expect(mysqlDialect.tombstone(shape, 1)).toMatch(/ON DUPLICATE KEY UPDATE `_deleted` = IF\(`_version` <= VALUES\(`_version`\), TRUE, `_deleted`\), `_version` = IF/);
  });
});

describe('value conversion', () => {
  it('keeps decimals and big integers exact as text, refuses what the type cannot hold', () => {
    expect(toParam('a', 'decimal', '12345678901234567890.123456789', 'postgres')).toBe('12345678901234567890.123456789');
    expect(toParam('a', 'decimal', 0.1, 'mysql')).toBe('0.1');
    expect(toParam('a', 'bigint', '9007199254740993', 'mysql')).toBe('9007199254740993');
    expect(toParam('a', 'bigint', 42, 'mysql')).toBe(42);
    expect(thrown(() => toParam('a', 'bigint', 1.5, 'mysql')).message).toBe("column 'a' (bigint): cannot convert 1.5");
    expect(thrown(() => toParam('a', 'decimal', '1,5', 'mysql')).code).toBe('TRIB_RECORD_INVALID');
    expect(toParam('a', 'text', { x: [1] }, 'mysql')).toBe('{"x":[1]}');
    expect(toParam('a', 'json', 'x', 'postgres')).toBe('"x"');
    expect(toParam('a', 'boolean', 'f', 'postgres')).toBe(false);
    expect(toParam('a', 'integer', null, 'postgres')).toBe(null);
  });

  it('reads timestamps as instants in UTC: epoch ms, ISO with a zone, naive ISO as UTC', () => {
    const ms = Date.parse('2026-11-01T08:00:00.250Z');
    expect(toParam('t', 'timestamp', ms, 'postgres')).toBe('2026-11-01T08:00:00.250Z');
    expect(toParam('t', 'timestamp', ms, 'mysql')).toBe('2026-11-01 08:00:00.250');
    expect(toParam('t', 'timestamp', '2026-11-01T10:00:00.25+02:00', 'mysql')).toBe('2026-11-01 08:00:00.250');
    expect(toParam('t', 'timestamp', '2026-11-01 08:00:00.25', 'postgres')).toBe('2026-11-01T08:00:00.250Z');
    expect(toParam('t', 'timestamp', String(ms), 'postgres')).toBe('2026-11-01T08:00:00.250Z');
    expect(toParam('t', 'date', ms, 'postgres')).toBe('2026-11-01');
    expect(thrown(() => toParam('t', 'timestamp', 'yesterday', 'mysql')).message).toMatch(/column 't' \(timestamp\): cannot convert "yesterday"/);
  });
});

describe('driver errors', () => {
  const pgErr = (code: string) => Object.assign(new Error('x'), { code });
  it('tells a server away from a transient error, a refused row and a configuration problem', () => {
    expect(classifySqlError('postgres', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('unavailable');
    expect(classifySqlError('postgres', new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(classifySqlError('postgres', pgErr('57P01'))).toBe('unavailable');
    expect(classifySqlError('postgres', pgErr('40P01'))).toBe('transient');
    expect(classifySqlError('postgres', pgErr('22001'))).toBe('record');
    expect(classifySqlError('postgres', pgErr('23514'))).toBe('record');
    expect(classifySqlError('postgres', pgErr('42P01'))).toBe('fatal');
    expect(classifySqlError('postgres', pgErr('28P01'))).toBe('fatal');
    expect(classifySqlError('mysql', Object.assign(new Error('x'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toBe('unavailable');
    expect(classifySqlError('mysql', Object.assign(new Error('x'), { code: 'ER_LOCK_DEADLOCK', sqlState: '40001' }))).toBe('transient');
    expect(classifySqlError('mysql', Object.assign(new Error('x'), { code: 'ER_DATA_TOO_LONG', sqlState: '22001' }))).toBe('record');
    expect(classifySqlError('mysql', Object.assign(new Error('x'), { code: 'ER_NO_SUCH_TABLE', sqlState: '42S02' }))).toBe('fatal');
    expect(classifySqlError('mysql', Object.assign(new Error('x'), { code: 'ER_ACCESS_DENIED_ERROR', sqlState: '28000', fatal: true }))).toBe('fatal');
  });
});
