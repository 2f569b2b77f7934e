import { s, type Infer } from '../../core/spec.js';

const tablePattern = s.string({ pattern: '^[^.]+\\.[^.]+$', patternHint: 'write db.table; * matches any run of characters, e.g. shop.* or *.orders' });

export const mysqlBinlogSpec = s.object({
  host: s.string({ minLength: 1 }).default('127.0.0.1').describe('MySQL/MariaDB server host'),
  port: s.number({ integer: true, min: 1, max: 65535 }).default(3306).describe('Server port'),
  user: s.string({ minLength: 1 }).describe('User with REPLICATION SLAVE, REPLICATION CLIENT and SELECT (and RELOAD/LOCK for the snapshot)'),
  password: s.string().secret().optional().describe('Password, from the environment: ${MYSQL_PASSWORD}'),
  databases: s.array(s.string({ minLength: 1 }), { minItems: 1 }).optional()
    .describe('Databases to capture; default every database except the system schemas'),
  include: s.array(tablePattern, { minItems: 1 }).optional()
    .describe('Capture only tables matching one of these db.table patterns (* globs); default all tables of `databases`'),
  exclude: s.array(tablePattern, { minItems: 1 }).optional()
    .describe('Never capture tables matching these db.table patterns; wins over include'),
  serverId: s.number({ integer: true, min: 1, max: 4294967295 }).default(54001)
    .describe('Replica server id of the binlog connection; must differ from every server and replica in the topology'),
  snapshot: s.enum(['initial', 'never', 'when_needed'] as const).default('initial')
    .describe('initial = snapshot the tables on first start, then stream; never = stream from the current end; ' +
      'when_needed = like initial, and snapshot again when the saved binlog position was purged'),
  gtid: s.enum(['auto', 'off'] as const).default('auto')
    .describe('auto = resume from the saved GTID position where the server has GTIDs (MariaDB always; MySQL with gtid_mode=ON), ' +
      'else from file+pos; off = always file+pos'),
  timezone: s.string({ minLength: 1 }).optional()
    .describe('Zone that DATETIME values are written in (e.g. UTC, +08:00, Asia/Shanghai): DATETIME becomes UTC ISO-8601 with Z. ' +
      'Unset: DATETIME stays naive ISO text without a zone. TIMESTAMP is always UTC with Z'),
  bufferSize: s.number({ integer: true, min: 1 }).default(10_000)
    .describe('Row changes buffered between the binlog connection and the engine; the connection pauses when full'),
  snapshotChunkSize: s.number({ integer: true, min: 1 }).default(1_000)
    .describe('Rows per snapshot query (chunks in primary-key order)'),
});
export type MysqlBinlogConfig = Infer<typeof mysqlBinlogSpec>;
