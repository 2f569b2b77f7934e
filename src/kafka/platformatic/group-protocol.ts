/**
 * The consumer protocol's subscription and assignment blobs (version 0), as the Java client
 * writes them, so the group's bytes read the same in any Kafka tool (kafka-consumer-groups).
 *
 *   Subscription => version:int16 [topics:string] user_data:bytes
 *   Assignment   => version:int16 [topic:string [partition:int32]] user_data:bytes
 *   (arrays: int32 count; string: int16 length + UTF-8; bytes: int32 length, -1 = null)
 */
import type { TopicPartition } from '../client.js';

export function encodeSubscription(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [int16(0), int32(topics.length), ...topics.map(str), int32(-1)];
  return Buffer.concat(parts);
}

export function decodeSubscription(buf: Buffer): string[] {
  const r = reader(buf);
  r.int16();
  const n = r.int32();
  return Array.from({ length: Math.max(0, n) }, () => r.str());
}

export function encodeAssignment(assignment: ReadonlyMap<string, readonly number[]>): Buffer {
  const parts: Buffer[] = [int16(0), int32(assignment.size)];
  for (const [topic, partitions] of assignment) {
    parts.push(str(topic), int32(partitions.length), ...partitions.map(int32));
  }
  parts.push(int32(-1));
  return Buffer.concat(parts);
}

export function decodeAssignment(buf: Buffer | null | undefined): TopicPartition[] {
  // An empty assignment may come back as zero bytes (the member got nothing).
  if (!buf || buf.length < 6) return [];
  const r = reader(buf);
  r.int16();
  const out: TopicPartition[] = [];
  const topics = r.int32();
  for (let t = 0; t < topics; t++) {
    const topic = r.str();
    const n = r.int32();
    for (let i = 0; i < n; i++) out.push({ topic, partition: r.int32() });
  }
  return out;
}

function int16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([int16(bytes.length), bytes]);
}

function reader(buf: Buffer) {
  let pos = 0;
  return {
    int16(): number {
      const v = buf.readInt16BE(pos);
      pos += 2;
      return v;
    },
    int32(): number {
      const v = buf.readInt32BE(pos);
      pos += 4;
      return v;
    },
    str(): string {
      const len = buf.readInt16BE(pos);
      pos += 2;
      const s = buf.toString('utf8', pos, pos + len);
      pos += len;
      return s;
    },
  };
}
