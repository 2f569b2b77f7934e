/**
 * Which tables a binlog source captures: `databases`, then `include` (any match), then
 * `exclude` (any match wins). Patterns are `db.table` with `*` matching any run of characters,
 * compared case-sensitively (as table names are on Linux servers). System schemas never match.
 */
import type { MysqlBinlogConfig } from './spec.js';

export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export type TableFilter = (db: string, table: string) => boolean;

function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

export function tableFilter(config: Pick<MysqlBinlogConfig, 'databases' | 'include' | 'exclude'>): TableFilter {
  const databases = config.databases ? new Set(config.databases) : undefined;
  const include = config.include?.map(globToRegExp);
  const exclude = (config.exclude ?? []).map(globToRegExp);
  return (db, table) => {
    if (SYSTEM_SCHEMAS.has(db)) return false;
    if (databases && !databases.has(db)) return false;
    const name = `${db}.${table}`;
    if (include && !include.some((re) => re.test(name))) return false;
    return !exclude.some((re) => re.test(name));
  };
}
