/**
 * Committed consumer-group offsets: an append-only JSON-lines log
 * (`<dataDir>/offsets.log`), replayed on start (a torn last line is ignored) and
 * rewritten as a snapshot when it grows. Each commit is fsynced unless fsync is 'never'.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { writeFileDurable } from './fs-util.js';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

interface Line {
  g: string;
  t: string;
  p: number;
  o: number;
  e?: number;
  m?: string | null;
  ts: number;
  /** Deletion marker (topic or group deleted). */
  d?: 1;
}

const SNAPSHOT_EVERY = 50_000;

export class OffsetStore {
  /** group -> "topic\0partition" -> committed */
  private readonly groups = new Map<string, Map<string, CommittedOffset>>();
  private readonly path: string;
  private fd: number;
  private lines = 0;

  constructor(
    dataDir: string,
    private readonly sync: boolean,
    private readonly logger: Logger,
  ) {
    this.path = join(dataDir, 'offsets.log');
    const text = existsSync(this.path) ? readFileSync(this.path, 'utf8') : '';
    this.fd = openSync(this.path, 'a');
    const clean = this.replay(text);
    // A torn last line would glue itself to the next append: rewrite cleanly first.
    if (!clean || (text.length > 0 && !text.endsWith('\n'))) this.snapshot();
  }

  private replay(text: string): boolean {
    let bad = 0;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        bad++;
        continue;
      }
      this.apply(line);
      this.lines++;
    }
    if (bad) this.logger.warn('ignored unreadable lines in the offsets log (torn write)', { bad });
    return bad === 0;
  }

  private apply(l: Line): void {
    let g = this.groups.get(l.g);
    if (l.d) {
      g?.delete(`${l.t}\0${l.p}`);
      return;
    }
    if (!g) this.groups.set(l.g, (g = new Map()));
    g.set(`${l.t}\0${l.p}`, { offset: l.o, leaderEpoch: l.e ?? -1, metadata: l.m ?? null, commitTimestamp: l.ts });
  }

  commit(group: string, entries: { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null }[]): void {
    if (entries.length === 0) return;
    const now = Date.now();
    const lines = entries.map((e) => {
      const l: Line = { g: group, t: e.topic, p: e.partition, o: e.offset, e: e.leaderEpoch, m: e.metadata, ts: now };
      this.apply(l);
      return JSON.stringify(l);
    });
    this.write(lines);
  }

  private write(lines: string[]): void {
    writeSync(this.fd, lines.join('\n') + '\n');
    if (this.sync) fsyncSync(this.fd);
    this.lines += lines.length;
    if (this.lines > SNAPSHOT_EVERY) this.snapshot();
  }

  /** Rewrite the log as one line per live offset. */
  private snapshot(): void {
    const out: string[] = [];
    for (const [g, m] of this.groups) {
      for (const [k, v] of m) {
        const [t, p] = k.split('\0');
        out.push(JSON.stringify({ g, t, p: Number(p), o: v.offset, e: v.leaderEpoch, m: v.metadata, ts: v.commitTimestamp } satisfies Line));
      }
    }
    closeSync(this.fd);
    writeFileDurable(this.path, out.length ? out.join('\n') + '\n' : '');
    this.fd = openSync(this.path, 'a');
    this.lines = out.length;
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(group)?.get(`${topic}\0${partition}`);
  }

  /** All committed (topic, partition) of a group. */
  list(group: string): { topic: string; partition: number; committed: CommittedOffset }[] {
    const m = this.groups.get(group);
    if (!m) return [];
    return [...m].map(([k, committed]) => {
      const [topic, p] = k.split('\0');
      return { topic, partition: Number(p), committed };
    });
  }

  groupIds(): string[] {
    return [...this.groups].filter(([, m]) => m.size > 0).map(([g]) => g);
  }

  /** Forgets every offset `group` committed (DeleteGroups). */
  deleteGroup(group: string): void {
    const m = this.groups.get(group);
    if (!m) return;
    const lines: string[] = [];
    for (const k of [...m.keys()]) {
      const [t, p] = k.split('\0');
      const l: Line = { g: group, t, p: Number(p), o: -1, ts: Date.now(), d: 1 };
      this.apply(l);
      lines.push(JSON.stringify(l));
    }
    this.groups.delete(group);
    if (lines.length) this.write(lines);
  }

  deleteTopic(topic: string): void {
    const lines: string[] = [];
    for (const [g, m] of this.groups) {
      for (const k of [...m.keys()]) {
        const [t, p] = k.split('\0');
        if (t !== topic) continue;
        const l: Line = { g, t, p: Number(p), o: -1, ts: Date.now(), d: 1 };
        this.apply(l);
        lines.push(JSON.stringify(l));
      }
    }
    if (lines.length) this.write(lines);
  }

  close(): void {
    closeSync(this.fd);
  }
}
