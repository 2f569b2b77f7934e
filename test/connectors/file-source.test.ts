import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/connectors/file/source.js';
import type { RawRecord } from '../../src/connectors/types.js';
import { jsonFormat } from '../../src/formats/json.js';
import { silentLogger } from '../../src/core/logger.js';

let dir: string;
const opened: FileSource[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trib-file-source-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function source(path: string, follow = false): Promise<FileSource> {
  const s = new FileSource('file', { path, follow }, { idleWaitMs: 5 });
  await s.open({ logger: silentLogger, signal: new AbortController().signal });
  opened.push(s);
  return s;
}

async function readAll(s: FileSource, max = 100): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for (;;) {
    const batch = await s.poll(max);
    if (batch === null) return out;
    out.push(...batch.records);
  }
}

describe('file source', () => {
  it('reads one JSONL line per record with byte offsets, then ends', async () => {
    const path = join(dir, 'in.jsonl');
    const lines = ['{"user_id":"u1","amount":100}', '{"user_id":"名字","amount":2}', '{"user_id":"u3"', '{"user_id":"u4"}'];
    await writeFile(path, lines.join('\n') + '\n');
    const s = await source(path);
    expect(s.assignedPartitions()).toEqual([0]);
    const recs = await readAll(s, 3);
    expect(recs.map((r) => r.value)).toEqual(lines);
    // Offsets count bytes, not characters ("名字" is 6 bytes in UTF-8).
    const starts = [0];
    for (const l of lines) starts.push(starts[starts.length - 1] + Buffer.byteLength(l) + 1);
    expect(recs.map((r) => r.offset)).toEqual(starts.slice(0, 4));
    expect(recs.map((r) => r.next)).toEqual(starts.slice(1));
    // Invalid JSON reaches the format as text, where it becomes a record error.
    expect(() => jsonFormat.decode(recs[2].value as string)).toThrow(/invalid JSON/);
    expect(await s.poll(10)).toBeNull();
    await s.close();
  });

  it('resumes from a byte offset', async () => {
    const path = join(dir, 'in.jsonl');
    await writeFile(path, '{"a":1}\n{"a":2}\n{"a":3}\n');
    const first = await readAll(await source(path));
    const s = await source(path);
    s.seek(0, first[0].next as number);
    expect((await readAll(s)).map((r) => r.value)).toEqual(['{"a":2}', '{"a":3}']);
    s.seek(0, first[2].next as number);
    expect(await s.poll(10)).toBeNull();
  });

  it('skips blank lines and strips CRLF', async () => {
    const path = join(dir, 'in.jsonl');
    await writeFile(path, '{"a":1}\r\n\n   \n{"a":2}\r\n');
    const recs = await readAll(await source(path));
    expect(recs.map((r) => r.value)).toEqual(['{"a":1}', '{"a":2}']);
    expect(recs[1].offset).toBe(9 + 1 + 4);
  });

  it('emits a last line without newline at the end of the file when not following', async () => {
    const path = join(dir, 'in.jsonl');
    await writeFile(path, '{"a":1}\n{"a":2}');
    const recs = await readAll(await source(path));
    expect(recs.map((r) => [r.value, r.offset, r.next])).toEqual([['{"a":1}', 0, 8], ['{"a":2}', 8, 15]]);
  });

  it('when following, holds a partial line back until it is complete and picks up appended lines', async () => {
    const path = join(dir, 'in.jsonl');
    await writeFile(path, '{"a":1}\n{"a":');
    const s = await source(path, true);
    const b1 = await s.poll(10);
    expect(b1?.records.map((r) => r.value)).toEqual(['{"a":1}']);
    expect((await s.poll(10))?.records).toEqual([]);
    await appendFile(path, '2}\n{"a":3}\n');
    const b2 = await s.poll(10);
    expect(b2?.records.map((r) => [r.value, r.offset, r.next])).toEqual([['{"a":2}', 8, 16], ['{"a":3}', 16, 24]]);
    expect((await s.poll(10))?.records).toEqual([]);
    await s.close();
  });

  it('reads lines longer than its read chunk and respects max', async () => {
    const path = join(dir, 'in.jsonl');
    const long = JSON.stringify({ blob: 'x'.repeat(200_000) });
    await writeFile(path, `${long}\n{"a":1}\n{"a":2}\n`);
    const s = await source(path);
    const b1 = await s.poll(2);
    expect(b1?.records.map((r) => r.value)).toEqual([long, '{"a":1}']);
    expect((await s.poll(2))?.records.map((r) => r.offset)).toEqual([long.length + 9]);
  });

  it('fails to open a missing file with its path in the message', async () => {
    const s = new FileSource('in', { path: join(dir, 'nope.jsonl'), follow: false });
    await expect(s.open({ logger: silentLogger, signal: new AbortController().signal })).rejects.toThrow(/nope\.jsonl/);
  });
});
