import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { repoRoot } from '../helpers/cli.js';

const tsxLoader = import.meta.resolve('tsx');

const fixture = join(repoRoot, 'test', 'core', 'fixtures', 'log-lines.ts');

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', json: true, write: (l) => lines.push(l) }) };
}

describe('logger (pino)', () => {
  it('writes JSON lines to stderr when stderr is not a terminal', () => {
    const r = spawnSync(process.execPath, ['--import', tsxLoader, fixture], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'debug' } });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'connected', topology: 't1', sink: 'redis', password: '[Redacted]', url: 'redis://app:***@db:6379/0' });
    expect(typeof lines[0]!.ts).toBe('string');
    expect(lines[1]).toMatchObject({ level: 'debug', msg: 'detail', n: 1 });
    expect(r.stderr).not.toContain('hunter2');
  });

  it('writes readable lines (not JSON) when stderr is a terminal', () => {
    // util-linux `script` runs the child on a pseudo-terminal.
    const cmd = [process.execPath, '--import', tsxLoader, fixture].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' } });
    if (r.error) throw new Error(`needs util-linux's script(1) (Debian package bsdutils): ${r.error.message}`);
    expect(r.status, r.stdout).toBe(0);
    const text = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toMatch(/INFO.*connected/);
    expect(text).not.toMatch(/^\{/m);
    expect(text).toContain('redis://app:***@db:6379/0');
    expect(text).not.toContain('hunter2');
    // TRIBUTARY_LOG_LEVEL=info: the debug line is not written.
    expect(text).not.toContain('detail');
  });

  it('redacts secret fields in nested objects and credentials in URLs, by configuration', () => {
    const { lines, logger } = capture();
    logger.child({ sink: 'sql' }).warn('reconnecting', {
      config: { host: 'db', password: 'p4ss', auth: { token: 't0k' } },
      headers: { authorization: 'Bearer abc' },
      brokers: ['sasl://svc:k3y@b1:9092', 'b2:9092'],
      error: 'connect ECONNREFUSED mysql://root:r00t@127.0.0.1:3306',
      user: 'app',
    });
    const row = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(row).toMatchObject({
      sink: 'sql',
      config: { host: 'db', password: '[Redacted]', auth: { token: '[Redacted]' } },
      headers: { authorization: '[Redacted]' },
      brokers: ['sasl://svc:***@b1:9092', 'b2:9092'],
      error: 'connect ECONNREFUSED mysql://root:***@127.0.0.1:3306',
      user: 'app',
    });
    expect(lines[0]).not.toMatch(/p4ss|t0k|abc|k3y|r00t/);
  });

  it('leaves the caller\'s objects untouched and filters by level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', json: true, write: (l) => lines.push(l) });
    const fields = { password: 'p4ss' };
    logger.info('dropped', fields);
    logger.error('kept', fields);
    expect(fields.password).toBe('p4ss');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept']);
  });
});
