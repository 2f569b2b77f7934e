import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FileSink } from '../../src/connectors/file/sink.js';
import { FileSource } from '../../src/connectors/file/source.js';
import { GeneratorSource } from '../../src/connectors/generator/source.js';
import { connectorCatalog, createSink, createSource } from '../../src/connectors/registry.js';
import { StdoutSink } from '../../src/connectors/stdout/sink.js';
import { parseConfig } from '../../src/core/spec.js';
import { repoRoot } from '../helpers/cli.js';

describe('connector registry', () => {
  it('lists every connector with its spec', () => {
    expect(Object.keys(connectorCatalog.sources).sort()).toEqual(['file', 'generator', 'kafka', 'mysql-binlog']);
    expect(Object.keys(connectorCatalog.sinks).sort()).toEqual(['file', 'graph', 'kafka', 'redis', 'sql', 'stdout', 'tablestore']);
    const cfg = parseConfig(connectorCatalog.sources.generator, { preset: 'device-events', rate: 0, keys: 10, seed: 1, maxDelay: '45s' });
    expect(cfg).toMatchObject({ partitions: 4, maxDelay: 45_000, outOfOrder: 0 });
    expect(parseConfig(connectorCatalog.sinks.file, { path: 'out.jsonl' })).toEqual({ path: 'out.jsonl', append: true, envelope: false });
    expect(() => parseConfig(connectorCatalog.sinks.stdout, { prety: true })).toThrow(/did you mean 'pretty'/);
  });

  it('creates connectors by name without connecting them', async () => {
    const gen = await createSource('apps', 'generator', { preset: 'loan-applications', rate: 0, keys: 10, seed: 1, count: 8, partitions: 2 });
    expect(gen).toBeInstanceOf(GeneratorSource);
    expect(gen.name).toBe('apps');
    expect(gen.partitionCount).toBe(2);
    expect(await createSource('in', 'file', { path: '/nonexistent/in.jsonl' })).toBeInstanceOf(FileSource);
    expect(await createSink('out', 'file', { path: '/nonexistent/dir/out.jsonl' })).toBeInstanceOf(FileSink);
    expect(await createSink('show', 'stdout', {})).toBeInstanceOf(StdoutSink);
  });

  it('names the known connectors when asked for an unknown one', () => {
    expect(() => createSource('x', 'kafak', {})).toThrow(/unknown source connector 'kafak' \(known: generator, file, kafka, mysql-binlog\)/);
    expect(() => createSink('x', 'reddis', {})).toThrow(/unknown sink connector 'reddis' \(known: file, stdout, kafka, redis, sql, tablestore, graph\)/);
    expect(() => createSink('x', 'toString', {})).toThrow(/unknown sink connector/);
  });

  it('has no side effects on import (validate imports it for the specs)', async () => {
    // Timers and sockets show up as active resources; stdio pipes are the process's own.
    const script = `
      await import('./src/connectors/registry.ts');
      await new Promise((r) => setImmediate(r));
      const busy = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
      process.stdout.write(JSON.stringify(busy));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
