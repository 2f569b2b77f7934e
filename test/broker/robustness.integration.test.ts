// Bad input on one connection must cost only that connection: malformed, truncated and
// oversized frames close it (and the broker keeps serving everyone else); corrupt batches are
// refused. On real Kafka and on the dev broker: clients rely on the same answers from both.
// Requests for an API or version the broker does not serve: the dev broker answers error 35,
// Kafka closes the connection; those tests run on the dev broker only (README "The dev broker").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, uniqueName, type TestBroker } from '../helpers/broker.js';
import { describeOnBrokers } from '../helpers/kafka.js';
import { platformaticAdapter } from '../helpers/kafka-client-platformatic.js';
import type { KafkaTestClient } from '../helpers/kafka-clients.js';
import { WireConnection, WireReader, WireWriter, encodeRecordBatch, encodeRequest } from '../helpers/kafka-wire.js';

const API_VERSIONS = 18;
const METADATA = 3;
const PRODUCE = 0;
const UNSUPPORTED_VERSION = 35;
const CORRUPT_MESSAGE = 2;
/** The header of a flexible request (ApiVersions v3+) ends with tagged fields: none. */
const NO_TAGS = Buffer.from([0]);

/** Raw connections to a broker, and a client connected before them that must stay served. */
function rawFixture(brokers: () => string[]): { open(): Promise<WireConnection>; bystanderStillServed(): Promise<void>; bystander(): KafkaTestClient; topic(): string; served(): number } {
  let bystander: KafkaTestClient;
  let topic: string;
  let round = 0;
  beforeAll(async () => {
    bystander = platformaticAdapter.connect(brokers());
    topic = uniqueName('robust');
    await bystander.createTopic(topic, 1);
  });
  afterAll(async () => {
    await bystander?.close();
  });
  return {
    open() {
      const [host, port] = brokers()[0]!.split(':');
      return WireConnection.open(host!, Number(port));
    },
    /** A client connected before the bad connection still produces and consumes. */
    async bystanderStillServed() {
      const value = `still-served-${round++}`;
      await bystander.produce(topic, [{ key: 'k', value }], { acks: -1 });
      const got = await bystander.consume({ topic, from: { kind: 'earliest' }, count: round, timeoutMs: 10_000 });
      expect(got.at(-1)?.value).toBe(value);
    },
    bystander: () => bystander,
    topic: () => topic,
    /** Records the bystander produced so far. */
    served: () => round,
  };
}

describeOnBrokers('broker robustness (raw sockets)', (kafka) => {
  const fx = rawFixture(() => kafka().brokers);
  const { open, bystanderStillServed } = fx;

  it('answers pipelined requests in order on one connection', async () => {
    const c = await open();
    try {
      c.send(Buffer.concat([
        encodeRequest(API_VERSIONS, 0, 101, Buffer.alloc(0)),
        encodeRequest(METADATA, 1, 102, new WireWriter().int32(0).build()),
        encodeRequest(API_VERSIONS, 1, 103, Buffer.alloc(0)),
      ]));
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await c.nextFrame()).readInt32BE(0));
      expect(ids).toEqual([101, 102, 103]);
    } finally {
      c.close();
    }
  });

  it('answers ApiVersions with an unsupported version with error 35 and its supported ranges (librdkafka fallback)', async () => {
    const c = await open();
    try {
      c.send(encodeRequest(API_VERSIONS, 99, 7, NO_TAGS));
      const r = new WireReader(await c.nextFrame());
      expect(r.int32()).toBe(7);
      expect(r.int16()).toBe(UNSUPPORTED_VERSION);
      const ranges = new Map<number, [number, number]>();
      const n = r.int32();
      for (let i = 0; i < n; i++) ranges.set(r.int16(), [r.int16(), r.int16()]);
      expect(ranges.get(API_VERSIONS)?.[0]).toBe(0);
      expect(ranges.get(API_VERSIONS)?.[1]).toBeGreaterThanOrEqual(3);
      // Kafka lists only ApiVersions' own range here (enough to ask again); the dev broker lists all.
      if (kafka().kind === 'dev') {
        for (const key of [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 20, 22, 32, 37]) expect(ranges.has(key), `api key ${key} advertised`).toBe(true);
      }
    } finally {
      c.close();
    }
  });

  it('rejects a batch whose CRC does not match with CORRUPT_MESSAGE and appends nothing', async () => {
    const c = await open();
    try {
      const batch = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('corrupt-me'), timestamp: Date.now() }]);
      batch[batch.length - 3] ^= 0xff; // flip a byte inside the CRC-covered records
      const body = new WireWriter()
        .nullableString(null).int16(-1).int32(5_000) // transactional id, acks, timeout
        .int32(1).string(fx.topic()).int32(1).int32(0).bytes(batch)
        .build();
      c.send(encodeRequest(PRODUCE, 3, 9, body));
      const r = new WireReader(await c.nextFrame());
      expect(r.int32()).toBe(9);
      expect(r.int32()).toBe(1);
      expect(r.string()).toBe(fx.topic());
      expect(r.int32()).toBe(1);
      expect(r.int32()).toBe(0);
      expect(r.int16()).toBe(CORRUPT_MESSAGE);
    } finally {
      c.close();
    }
    await bystanderStillServed();
    const all = await fx.bystander().consume({ topic: fx.topic(), from: { kind: 'earliest' }, count: fx.served() });
    expect(all.map((r) => r.value)).not.toContain('corrupt-me');
  });

  it('closes only the connection that sends a malformed frame', async () => {
    const c = await open();
    // A Metadata v1 request whose client id claims 500 bytes in a 12-byte frame.
    c.send(new WireWriter().int32(12).int16(METADATA).int16(1).int32(5).int16(500).int16(0).build());
    expect(await c.closesWithin(3_000)).toBe(true);
    await bystanderStillServed();
  });

  it('closes only the connection whose frame is truncated by the client hanging up', async () => {
    const c = await open();
    c.socket.end(new WireWriter().int32(100).int16(API_VERSIONS).int16(0).int32(1).build());
    expect(await c.closesWithin(3_000)).toBe(true);
    await bystanderStillServed();
  });

  it.each([
    ['a 2 GiB size prefix', 0x7fffffff],
    ['a negative size prefix', -5],
  ])('closes a connection announcing an oversized frame (%s) without waiting for the body', async (_label, size) => {
    const c = await open();
    c.send(new WireWriter().int32(size).int16(API_VERSIONS).int16(0).int32(1).build());
    expect(await c.closesWithin(3_000)).toBe(true);
    await bystanderStillServed();
    const fresh = await open();
    try {
      fresh.send(encodeRequest(API_VERSIONS, 0, 1, Buffer.alloc(0)));
      expect((await fresh.nextFrame()).readInt32BE(0)).toBe(1);
    } finally {
      fresh.close();
    }
  });
});

describe('the dev broker answers an API or version it does not serve with error 35 (dev broker only: Kafka closes the connection)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });
  const { open, bystanderStillServed } = rawFixture(() => broker.brokers);

  it.each([
    ['an unsupported version of a known API (Metadata v99)', METADATA, 99],
    ['an unknown API key (9999)', 9999, 0],
  ])('answers %s with error 35 instead of hanging', async (_label, apiKey, version) => {
    const c = await open();
    try {
      c.send(encodeRequest(apiKey, version, 42, Buffer.alloc(0)));
      const r = new WireReader(await c.nextFrame(3_000));
      expect(r.int32()).toBe(42);
      expect(r.int16()).toBe(UNSUPPORTED_VERSION);
    } finally {
      c.close();
    }
    await bystanderStillServed();
  });
});
