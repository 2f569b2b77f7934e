import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileSink, recordJson } from '../../src/connectors/file/sink.js';
import type { FileSinkConfig } from '../../src/connectors/file/spec.js';
import { StdoutSink } from '../../src/connectors/stdout/sink.js';
import type { SinkRecord } from '../../src/connectors/types.js';
import { silentLogger } from '../../src/core/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trib-file-sink-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const rec = (n: number): SinkRecord => ({ key: `u${n}`, value: { user_id: `u${n}`, cnt: n }, timestamp: 1000 * n });

describe('file sink', () => {
  it('creates directories, writes one JSON row per line and fsyncs on flush', async () => {
    const path = join(dir, 'out', 'nested', 'features.jsonl');
    const probe = await open(join(dir, 'probe'), 'w');
    const fileHandleProto = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    const sync = vi.spyOn(fileHandleProto, 'sync');
    const sink = new FileSink('features', { path, append: true, envelope: false }, { batchSize: 100 });
    await sink.open({ logger: silentLogger });
    sink.add(rec(1));
    sink.add(rec(2));
    expect(sync).not.toHaveBeenCalled();
    await sink.flush();
    expect(sync).toHaveBeenCalledTimes(1);
    expect(await readFile(path, 'utf8')).toBe('{"user_id":"u1","cnt":1}\n{"user_id":"u2","cnt":2}\n');
    expect(sink.written).toBe(2);
    await sink.close();
  });

  /** Open a sink, write the records, flush, close; the file's content afterwards. */
  async function writeThrough(config: FileSinkConfig, records: SinkRecord[]): Promise<string> {
    const sink = new FileSink('out', config);
    await sink.open({ logger: silentLogger });
    for (const r of records) sink.add(r);
    await sink.flush();
    await sink.close();
    return readFile(config.path, 'utf8');
  }

  it('appends to an existing file by default and truncates with append: false', async () => {
    const path = join(dir, 'out.jsonl');
    await writeFile(path, '{"old":true}\n');
    expect(await writeThrough({ path, append: true, envelope: false }, [rec(1)])).toBe('{"old":true}\n{"user_id":"u1","cnt":1}\n');
    expect(await writeThrough({ path, append: false, envelope: false }, [rec(2)])).toBe('{"user_id":"u2","cnt":2}\n');
  });

  it('cuts off half a line left by a crash before appending', async () => {
    const path = join(dir, 'out.jsonl');
    await writeFile(path, '{"a":1}\n{"a":2}\n{"user_id":"u');
    expect(await writeThrough({ path, append: true, envelope: false }, [rec(3)])).toBe('{"a":1}\n{"a":2}\n{"user_id":"u3","cnt":3}\n');
  });

  it('writes the bytes recordJson gives (JSON.stringify), for awkward values and batches larger than its buffer', async () => {
    const records: SinkRecord[] = [];
    for (let i = 0; i < 700; i++) {
      records.push({
        key: i % 2 ? `u${i}` : ['张', i],
        timestamp: i % 5 === 0 ? NaN : 1_793_000_000_000 + i,
        value: {
          key: `用户${i}😀`, n: i, neg: -i - 0.25, zero: -0, inf: Infinity, big: 2 ** 53 + 2 * i, lone: i % 3 ? 'ok' : 'x\udc00',
          text: 'q"b\\n\n\u0000'.repeat(i % 4), pad: 'p'.repeat(i % 300), nested: { a: [i, null, { b: true }], gone: undefined },
        } as never,
      });
    }
    for (const envelope of [false, true]) {
      const path = join(dir, `awkward-${envelope}.jsonl`);
      const want = records.map((r) => recordJson(r, envelope) + '\n').join('');
      expect(want.length).toBeGreaterThan(64 * 1024);
      const sink = new FileSink('out', { path, append: false, envelope }, { batchSize: 1000 });
      await sink.open({ logger: silentLogger });
      for (const r of records) sink.add(r);
      await sink.flush();
      await sink.close();
      expect((await readFile(path)).equals(Buffer.from(want, 'utf8'))).toBe(true);
    }
  });

  it('writes key and timestamp too when envelope is set', async () => {
    const text = await writeThrough({ path: join(dir, 'out.jsonl'), append: true, envelope: true }, [rec(1)]);
    expect(JSON.parse(text)).toEqual({ key: 'u1', timestamp: 1000, value: { user_id: 'u1', cnt: 1 } });
  });
});

describe('stdout sink', () => {
  async function capture(pretty: boolean): Promise<string> {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const sink = new StdoutSink('stdout', { pretty, envelope: false }, { out, batchSize: 2 });
    await sink.open({ logger: silentLogger });
    for (let n = 1; n <= 3; n++) sink.add(rec(n));
    await sink.flush();
    await sink.close();
    return chunks.join('');
  }

  it('writes JSONL', async () => {
    expect(await capture(false)).toBe(
      '{"user_id":"u1","cnt":1}\n{"user_id":"u2","cnt":2}\n{"user_id":"u3","cnt":3}\n',
    );
  });

  it('indents when pretty', async () => {
    const text = await capture(true);
    expect(text.startsWith('{\n  "user_id": "u1",\n  "cnt": 1\n}\n')).toBe(true);
    expect(text.split('\n}\n').length - 1).toBe(3);
  });
});
