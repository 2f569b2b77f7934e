/**
 * Issue 4 acceptance, against the dev broker (or KAFKA_BROKERS): poison records — bad JSON, bad
 * Avro, unknown schema ids, wrong magic bytes — land in the DLQ topic exactly once, with headers
 * naming the error and the topic/partition/offset they were read from, and the worker goes on:
 * every good record interleaved with them is processed and the run ends by itself. The formats
 * are configured in the topology files (fixtures/poison-*.yaml); the worker runs in-process
 * (Kafka mode, consumer group = the app id).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/index.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { Engine } from '../../src/runtime/engine.js';
import { runEngine, type RunResult } from '../../src/runtime/runner.js';
import { silentLogger } from '../../src/core/logger.js';
import { createFormat, type Format } from '../../src/formats/registry.js';
import { createAvroCodec, loadSchemaFile } from '../../src/formats/avro.js';
import { avroType } from '../../src/formats/avro-values.js';
import { frameConfluent } from '../../src/formats/confluent.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { ConsumedMessage, KafkaClient } from '../../src/kafka/client.js';
import { errorMessage } from '../../src/core/errors.js';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import type { Row } from '../../src/core/record.js';
import { readRows } from '../helpers/fleet.js';
import { repoRoot } from '../helpers/cli.js';
import { stepRegistry } from '../../src/operators/registry.js';

const FIXTURES = join(repoRoot, 'test', 'runtime', 'fixtures');
const PARTITIONS = 2;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const schema = loadSchemaFile(join(repoRoot, 'schemas', 'device_event.avsc'));
const codec = createAvroCodec(schema);

let target: KafkaUnderTest;
let client: KafkaClient;
let dir: string;
let schemaIds: string;
/** The formats the topology configures, built here only to know the reasons their failures give. */
const jsonFormat = createFormat('json');
let avroFormat: Format;
let framedFormat: Format;

/** Per broker under test: a client and a fresh dir. */
async function setUp(kafka: KafkaUnderTest): Promise<void> {
  target = kafka;
  client = await createKafkaClient({ brokers: target.brokers, clientId: 'poison-dlq-test' });
  await client.connect();
  dir = await mkdtemp(join(tmpdir(), 'tributary-poison-'));
  schemaIds = join(dir, 'schema-ids.json');
  await writeFile(schemaIds, `{"1": ${await readFile(join(repoRoot, 'schemas', 'device_event.avsc'), 'utf8')}}`);
  avroFormat = createFormat({ type: 'avro', schema: 'schemas/device_event.avsc' }, { baseDir: repoRoot });
  framedFormat = createFormat({ type: 'confluent-avro', schemas: schemaIds });
}

async function tearDown(): Promise<void> {
  await client?.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** One record the test wrote, and where the broker put it. */
interface Produced {
  topic: string;
  partition: number;
  offset: number;
  value: Buffer | null;
  /** Good records: the row the topology must output. */
  row?: Row;
  /** Poison records: the reason the DLQ must name. */
  reason?: string;
  /** Poison records: what the DLQ value's `record` must be (undecodable bytes carry raw + raw_base64). */
  record?: Row;
}

type Entry = Omit<Produced, 'topic' | 'partition' | 'offset'>;

const at = (p: Pick<Produced, 'topic' | 'partition' | 'offset'>): string => `${p.topic}:${p.partition}:${p.offset}`;

function event(prefix: string, i: number): Row {
  return { event_id: `${prefix}-${i}`, device_id: `d${i % 3}`, user_id: `u${i % 4}`, contact_phone: `1380000${i % 10}`, event_type: 'login', ts: T0 + i * 1000 };
}

/** The reason the engine gives for bytes `format` cannot decode (and a check that it cannot). */
function decodeFailure(format: Format, value: Buffer | null): string {
  try {
    format.decode(value ?? new Uint8Array(0));
  } catch (err) {
    return `cannot decode ${format.name}: ${errorMessage(err)}`;
  }
  throw new Error(`test setup: ${format.name} decodes the poison value ${value?.toString('hex')}`);
}

function undecodable(value: Buffer | null): Row {
  const bytes = value ?? Buffer.alloc(0);
  return { raw: bytes.toString('utf8'), raw_base64: bytes.toString('base64') };
}

/** Each value in its own produce call, partitions alternating: the broker's answer is its offset. */
async function produce(topic: string, entries: Entry[]): Promise<Produced[]> {
  await client.admin.createTopics([{ topic, partitions: PARTITIONS }]);
  const producer = await client.producer();
  const out: Produced[] = [];
  for (const [i, e] of entries.entries()) {
    const partition = i % PARTITIONS;
    const [batch] = await producer.send(topic, [{ key: Buffer.from(`k${i}`), value: e.value, partition, timestamp: T0 + i }], { acks: 'all' });
    out.push({ ...e, topic, partition, offset: Number(batch!.baseOffset) });
  }
  return out;
}

/** Good records with the poison ones spliced in after good record `after` (never last: the worker must go on). */
function interleave(good: Entry[], poison: Array<{ after: number; entry: Entry }>): Entry[] {
  const out: Entry[] = [];
  good.forEach((g, i) => {
    out.push(g);
    for (const p of poison) if (p.after === i) out.push(p.entry);
  });
  return out;
}

/** Every record in `topic`, read by a plain assigned consumer up to the end offsets. */
async function readTopic(topic: string): Promise<ConsumedMessage[]> {
  const ends = await client.admin.listOffsets(topic);
  const total = ends.reduce((n, e) => n + Number(e.latest - e.earliest), 0);
  const consumer = await client.assignedConsumer();
  const out: ConsumedMessage[] = [];
  try {
    await consumer.assign(ends.map((e) => ({ topic, partition: e.partition, offset: e.earliest })));
    await waitFor(async () => {
      out.push(...(await consumer.fetch({ maxWaitMs: 200 })));
      return out.length >= total ? true : undefined;
    }, 15_000, () => `read ${out.length}/${total} records of ${topic}`);
  } finally {
    await consumer.close();
  }
  return out;
}

const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

interface Run {
  result: RunResult;
  deadLettered: number;
  recordsIn: number;
}

/** `tributary run <file> --exit-when-idle 4s`, in this process. */
async function runToIdle(file: string, appId: string, env: Record<string, string>): Promise<Run> {
  const plan = await loadTopology(join(FIXTURES, file), { catalog: connectorCatalog, steps: stepRegistry, env: { KAFKA_BROKERS: target.brokers.join(','), ...env } });
  const engine = await Engine.open(plan, { dataDir: join(dir, appId, 'state'), appId, logger: silentLogger });
  let result: RunResult;
  try {
    result = await runEngine(engine, { exitWhenIdleMs: 4000, batchSize: 7 });
  } catch (err) {
    await engine.close({ checkpoint: false }).catch(() => undefined);
    throw err;
  }
  await engine.close({ checkpoint: true });
  return { result, deadLettered: engine.counters.get('deadLettered'), recordsIn: engine.counters.get('in') };
}

const byId = (rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> => [...rows].sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)));

describeOnBrokers('poison -> DLQ', () => {
  describe('poison records', () => {
    it('bad JSON, bad Avro, unknown schema ids and wrong magic bytes go to the DLQ topic with headers; good records go on', async () => {
      const app = uniqueName('poison-dlq');
      const topics = { json: uniqueName('poison-json'), avro: uniqueName('poison-avro'), framed: uniqueName('poison-framed'), dlq: uniqueName('poison-dlq') };
      await client.admin.createTopics([{ topic: topics.dlq, partitions: 1 }]);
      const n = 12;

      const jsonGood = Array.from({ length: n }, (_, i) => event('j', i));
      const noTime = { event_id: 'j-no-time', device_id: 'd0' };
      const jsonPoison: Entry[] = [
        { value: Buffer.from('{"event_id": "j-cut", "ts": 17') },
        { value: Buffer.from('[1, 2, 3]') },
        { value: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]) },
        { value: null },
      ].map((p) => ({ ...p, reason: decodeFailure(jsonFormat, p.value), record: undecodable(p.value) }));
      // Valid JSON of the wrong shape for this topology: no event time. Its row is what travels.
      jsonPoison.push({ value: Buffer.from(JSON.stringify(noTime)), reason: "event time field 'ts' is missing", record: noTime });

      const avroGood = Array.from({ length: n }, (_, i) => event('a', i));
      const body = (row: Row): Buffer => codec.encode(row);
      const whole = body(event('a', 99));
      const avroPoison = [
        whole.subarray(0, whole.length - 4), // truncated
        Buffer.concat([whole, Buffer.from([0x02, 0x41])]), // trailing bytes
        Buffer.from([0x0b, 0xde, 0xad, 0xbe, 0xef]), // garbage: a negative string length
        Buffer.from(JSON.stringify(event('a', 98))), // JSON where Avro is expected
      ].map((value) => ({ value, reason: decodeFailure(avroFormat, value), record: undecodable(value) }));

      const framedGood = Array.from({ length: n }, (_, i) => event('f', i));
      const framedPoison = [
        frameConfluent(99, body(event('f', 99))), // unknown schema id
        Buffer.concat([Buffer.from([1]), frameConfluent(1, body(event('f', 98))).subarray(1)]), // wrong magic byte
        Buffer.from([0, 0, 0]), // shorter than the header
        frameConfluent(1, body(event('f', 97)).subarray(0, 6)), // known id, truncated body
        body(event('f', 96)), // unframed Avro
      ].map((value) => ({ value, reason: decodeFailure(framedFormat, value), record: undecodable(value) }));
      expect(framedPoison[0]!.reason).toMatch(/unknown schema id 99/);
      expect(framedPoison[1]!.reason).toMatch(/magic byte 1/);

      const spread = (poison: Entry[]) => poison.map((entry, i) => ({ after: 1 + i * 2, entry }));
      const produced = [
        ...(await produce(topics.json, interleave(jsonGood.map((row) => ({ value: Buffer.from(JSON.stringify(row)), row })), spread(jsonPoison)))),
        ...(await produce(topics.avro, interleave(avroGood.map((row) => ({ value: body(row), row })), spread(avroPoison)))),
        ...(await produce(topics.framed, interleave(framedGood.map((row) => ({ value: frameConfluent(1, body(row)), row })), spread(framedPoison)))),
      ];
      const poison = produced.filter((p) => p.reason !== undefined);
      expect(poison).toHaveLength(14);

      const out = join(dir, app, 'out');
      const run = await runToIdle('poison-dlq.yaml', app, {
        POISON_JSON_TOPIC: topics.json,
        POISON_AVRO_TOPIC: topics.avro,
        POISON_FRAMED_TOPIC: topics.framed,
        POISON_DLQ_TOPIC: topics.dlq,
        POISON_SCHEMA_IDS: schemaIds,
        TRIBUTARY_OUT: out,
      });
      expect(run.result.reason, 'the worker stops by itself once the input is drained').toBe('idle');
      expect(run.recordsIn).toBe(produced.length);
      expect(run.deadLettered).toBe(poison.length);

      // Every good record was processed, including those after each poison record in its partition.
      expect(byId(await readRows(join(out, 'json.jsonl')))).toEqual(byId(jsonGood));
      expect(byId(await readRows(join(out, 'avro.jsonl')))).toEqual(byId(avroGood));
      expect(byId(await readRows(join(out, 'framed.jsonl')))).toEqual(byId(framedGood));

      // Every poison record is in the DLQ exactly once, found by the headers where it was produced.
      const dlq = await readTopic(topics.dlq);
      const sourceOf: Record<string, string> = { [topics.json]: 'json_events', [topics.avro]: 'avro_events', [topics.framed]: 'framed_events' };
      expect(dlq.map((m) => `${text(m.headers.source_topic)}:${text(m.headers.source_partition)}:${text(m.headers.source_offset)}`).sort()).toEqual(poison.map(at).sort());
      for (const m of dlq) {
        const where = `${text(m.headers.source_topic)}:${text(m.headers.source_partition)}:${text(m.headers.source_offset)}`;
        const p = poison.find((x) => at(x) === where)!;
        expect(m.key?.toString('utf8'), where).toBe(where);
        expect(text(m.headers.error), where).toBe(p.reason);
        expect(text(m.headers.error_code), where).toBe('TRIB_RECORD_INVALID');
        const value = JSON.parse(m.value!.toString('utf8')) as Row;
        const source = sourceOf[p.topic]!;
        expect(value, where).toEqual({ reason: p.reason, error_code: 'TRIB_RECORD_INVALID', step: source, source, topic: p.topic, partition: p.partition, offset: p.offset, record: p.record });
        // The original bytes, exactly, from the DLQ value alone.
        const record = value.record as Row;
        if (typeof record.raw_base64 === 'string') expect(Buffer.from(record.raw_base64, 'base64').equals(p.value ?? Buffer.alloc(0)), where).toBe(true);
        else expect(Buffer.from(JSON.stringify(record)).equals(p.value!), where).toBe(true);
      }
    }, 90_000);

    it('a record that fails after a repartition topic names that topic, partition and offset', async () => {
      const app = uniqueName('poison-rp');
      const topics = { events: uniqueName('poison-events'), dlq: uniqueName('poison-rp-dlq') };
      await client.admin.createTopics([{ topic: topics.dlq, partitions: 1 }]);
      const good: Row[] = Array.from({ length: 10 }, (_, i) => ({ ...event('r', i), tags: ['a', 'b'] }));
      const notList: Row = { ...event('r', 50), device_id: 'd1', tags: 'oops' };
      const noKey: Row = { ...event('r', 51), device_id: null, tags: ['a'] };
      const produced = await produce(
        topics.events,
        interleave(good.map((row) => ({ value: Buffer.from(JSON.stringify(row)), row })), [
          { after: 2, entry: { value: Buffer.from(JSON.stringify(notList)), record: notList, reason: "explode of step 'tagged' expected an array, got string" } },
          { after: 4, entry: { value: Buffer.from(JSON.stringify(noKey)), record: noKey, reason: "keyBy 'device_id' of step 'per_device' gave a null key" } },
          { after: 6, entry: { value: Buffer.from('nope'), record: undecodable(Buffer.from('nope')), reason: decodeFailure(jsonFormat, Buffer.from('nope')) } },
        ]),
      );

      const out = join(dir, app, 'out');
      const run = await runToIdle('poison-repartition.yaml', app, { POISON_EVENTS_TOPIC: topics.events, POISON_DLQ_TOPIC: topics.dlq, TRIBUTARY_OUT: out });
      expect(run.result.reason).toBe('idle');
      const tagged = await readRows(join(out, 'tags.jsonl'));
      expect(tagged.map((r) => `${String(r.event_id)}/${String(r.tag)}`).sort()).toEqual(good.flatMap((g) => [`${String(g.event_id)}/a`, `${String(g.event_id)}/b`]).sort());

      const dlq = await readTopic(topics.dlq);
      expect(dlq).toHaveLength(3);
      const rows = dlq.map((m) => ({ m, value: JSON.parse(m.value!.toString('utf8')) as Row }));
      for (const { m, value } of rows) {
        expect(text(m.headers.source_topic)).toBe(value.topic);
        expect(text(m.headers.source_partition)).toBe(String(value.partition));
        expect(text(m.headers.source_offset)).toBe(String(value.offset));
        expect(text(m.headers.error)).toBe(value.reason);
      }

      // Failed upstream of the repartition (decode, keyBy): the input topic, where the test produced it.
      for (const p of produced.filter((x) => x.reason !== undefined && x.record !== notList)) {
        const found = rows.filter((r) => r.value.reason === p.reason);
        expect(found, p.reason).toHaveLength(1);
        expect(found[0]!.value).toMatchObject({ source: 'events', topic: topics.events, partition: p.partition, offset: p.offset, record: p.record });
      }

      // Failed downstream (explode): the repartition topic, and that record is at the named place.
      const downstream = rows.filter((r) => r.value.step === 'tagged');
      expect(downstream).toHaveLength(1);
      const d = downstream[0]!.value;
      const repartition = `${app}.per_device.repartition`;
      expect(d).toMatchObject({ source: 'per_device.repartition', topic: repartition, record: notList });
      const carried = (await readTopic(repartition)).filter((m) => m.partition === d.partition && Number(m.offset) === d.offset);
      expect(carried).toHaveLength(1);
      expect(JSON.parse(carried[0]!.value!.toString('utf8'))).toEqual({ v: notList, k: 'd1' });
    }, 90_000);

    it('a Confluent source resolves ids through a schema registry: while it fails batches wait, unknown ids dead-letter', async () => {
      const app = uniqueName('poison-registry');
      const topic = uniqueName('poison-registered');
      const deviceSchema = JSON.parse(await readFile(join(repoRoot, 'schemas', 'device_event.avsc'), 'utf8')) as { fields: unknown[] };
      // Id 2: a newer writer schema with a field the topology's reader schema does not have.
      const newer = { ...deviceSchema, fields: [...deviceSchema.fields, { name: 'app_version', type: 'string' }] };
      const newerCodec = createAvroCodec(avroType(newer));
      const registry = await startRegistry(new Map([[1, deviceSchema], [2, newer]]), { 1: [503, 503] });
      try {
        const good = Array.from({ length: 12 }, (_, i) => event('g', i));
        const unknown = frameConfluent(404, codec.encode(event('g', 99)));
        await produce(topic, interleave(
          good.map((row, i) => ({ row, value: i % 2 === 0 ? frameConfluent(1, codec.encode(row)) : frameConfluent(2, newerCodec.encode({ ...row, app_version: '7.1' })) })),
          [{ after: 3, entry: { value: unknown } }],
        ));

        const out = join(dir, app, 'out');
        const run = await runToIdle('poison-registry.yaml', app, {
          POISON_EVENTS_TOPIC: topic,
          SCHEMA_REGISTRY_URL: registry.url,
          SCHEMA_REGISTRY_USER: 'reader',
          SCHEMA_REGISTRY_PASSWORD: 'registry-s3cret',
          TRIBUTARY_OUT: out,
        });
        expect(run.result.reason).toBe('idle');
        expect(run.recordsIn).toBe(good.length + 1);
        // Both writer versions come out in the reader's shape; none was lost while the registry failed.
        expect(byId(await readRows(join(out, 'events.jsonl')))).toEqual(byId(good));
        const dlq = await readRows(join(out, 'dlq.jsonl'));
        expect(dlq.map((d) => d.reason)).toEqual(['cannot decode confluent-avro: unknown schema id 404 (not in the schema registry)']);
        expect(run.deadLettered).toBe(1);
        // Two 503s, then the schema: the batch was retried, not dead-lettered; each id fetched once after that.
        expect(registry.requests.filter((r) => r === '/schemas/ids/1')).toHaveLength(3);
        expect(registry.requests.filter((r) => r !== '/schemas/ids/1').sort()).toEqual(['/schemas/ids/2', '/schemas/ids/404']);
        expect(new Set(registry.authorizations)).toEqual(new Set([`Basic ${Buffer.from('reader:registry-s3cret').toString('base64')}`]));
      } finally {
        await registry.close();
      }
    }, 90_000);
  });

  interface StubRegistry {
    url: string;
    requests: string[];
    authorizations: Array<string | undefined>;
    close(): Promise<void>;
  }

  /** A stand-in Schema Registry (GET /schemas/ids/{id}) that answers `failures[id]` statuses first. */
  async function startRegistry(schemas: ReadonlyMap<number, unknown>, failures: Record<number, number[]>): Promise<StubRegistry> {
    const requests: string[] = [];
    const authorizations: Array<string | undefined> = [];
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      requests.push(req.url ?? '');
      authorizations.push(req.headers.authorization);
      const id = Number(/^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      const failure = failures[id]?.shift();
      const schema = schemas.get(id);
      res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      res.statusCode = failure ?? (schema === undefined ? 404 : 200);
      res.end(JSON.stringify(res.statusCode === 200 ? { schema: JSON.stringify(schema) } : { error_code: res.statusCode * 100, message: 'stub' }));
    };
    const server: Server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      requests,
      authorizations,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}, { setUp, tearDown });
