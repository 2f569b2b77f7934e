import { describe, expect, it } from 'vitest';
import { advertisedVersions, dispatch } from '../../../src/broker/dispatch.js';
import type { BrokerContext } from '../../../src/broker/handlers/context.js';

// ApiVersions touches no broker state, so an empty context is enough.
const ctx = {} as unknown as BrokerContext;
const conn = { client: { clientId: '', clientHost: '' }, closed: () => false, setClientId: () => {} };

async function answer(frame: Buffer): Promise<Buffer> {
  const res = await dispatch(ctx, frame, conn);
  if (res.kind !== 'response') throw new Error(`expected a response, got ${res.kind}`);
  return res.frame;
}

function header(apiKey: number, version: number, correlationId: number, clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const h = Buffer.alloc(10 + id.length);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(id.length, 8);
  id.copy(h, 10);
  return h;
}

describe('ApiVersions', () => {
  const apis = advertisedVersions();

  it('answers a v3 request (flexible header v2) with a compact body and a v0 response header', async () => {
    // header v2 = classic client_id + empty tag buffer; body = compact strings + tag buffer
    const body = Buffer.from([0x08, ...Buffer.from('kcat-x1'), 0x04, ...Buffer.from('1.7'), 0x00]);
    const frame = await answer(Buffer.concat([header(18, 3, 77, 'rdkafka'), Buffer.from([0]), body]));
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    expect(frame.readInt32BE(4)).toBe(77);
    // no tag buffer after the correlation id: the error code follows directly
    expect(frame.readInt16BE(8)).toBe(0);
    expect(frame[10]).toBe(apis.length + 1); // compact array length
    const first = apis[0];
    expect([frame.readInt16BE(11), frame.readInt16BE(13), frame.readInt16BE(15), frame[17]]).toEqual([first.key, first.min, first.max, 0]);
    const end = 11 + apis.length * 7;
    expect(frame.readInt32BE(end)).toBe(0); // throttle_time_ms
    expect(frame[end + 4]).toBe(0); // top-level tag buffer
    expect(frame.length).toBe(end + 5);
  });

  it('answers v0 in the classic format', async () => {
    const frame = await answer(header(18, 0, 5, 'c'));
    expect(frame.readInt32BE(4)).toBe(5);
    expect(frame.readInt16BE(8)).toBe(0);
    expect(frame.readInt32BE(10)).toBe(apis.length);
    expect(frame.length).toBe(4 + 4 + 2 + 4 + apis.length * 6);
  });

  it('answers an unknown newer version with error 35 and the ranges in the v0 format (the librdkafka fallback)', async () => {
    const frame = await answer(Buffer.concat([header(18, 9, 1, 'c'), Buffer.from([0, 0])]));
    const expected = Buffer.alloc(4 + 4 + 2 + 4 + apis.length * 6);
    expected.writeInt32BE(expected.length - 4, 0);
    expected.writeInt32BE(1, 4);
    expected.writeInt16BE(35, 8);
    expected.writeInt32BE(apis.length, 10);
    apis.forEach((a, i) => {
      expected.writeInt16BE(a.key, 14 + i * 6);
      expected.writeInt16BE(a.min, 16 + i * 6);
      expected.writeInt16BE(a.max, 18 + i * 6);
    });
    expect(frame.equals(expected)).toBe(true);
  });

  it('advertises flexible versions only where @platformatic/kafka needs them, and never transactions', () => {
    const byKey = new Map(apis.map((a) => [a.key, a]));
    expect(byKey.get(0)).toEqual({ key: 0, min: 3, max: 8 }); // Produce v9+ would be flexible
    expect(byKey.get(1)?.max).toBe(12); // Fetch v13+ addresses topics by id
    for (const txn of [24, 25, 26, 28]) expect(byKey.has(txn)).toBe(false);
  });
});
