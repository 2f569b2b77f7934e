import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { createAvroCodec } from '../../src/formats/avro.js';
import { avroType } from '../../src/formats/avro-values.js';
import { frameConfluent } from '../../src/formats/confluent.js';
import { createFormat } from '../../src/formats/registry.js';
import { rejected as rejection } from '../helpers/errors.js';

const user = { type: 'record', name: 'User', namespace: 'r', fields: [{ name: 'id', type: 'string' }, { name: 'age', type: 'int' }] };
const device = { type: 'record', name: 'Device', namespace: 'r', fields: [{ name: 'device_id', type: 'string' }] };
const userBody = createAvroCodec(avroType(user)).encode({ id: 'u1', age: 30 });
const deviceBody = createAvroCodec(avroType(device)).encode({ device_id: 'd9' });

/** A stand-in Schema Registry: GET /schemas/ids/{id}, with scripted failures. */
interface Stub {
  requests: string[];
  authorizations: (string | undefined)[];
  /** Status to answer for an id instead of the schema, consumed once per request. */
  failures: Map<number, number[]>;
}
const stub: Stub = { requests: [], authorizations: [], failures: new Map() };
const schemas = new Map<number, { schema: string; schemaType?: string }>([
  [1, { schema: JSON.stringify(user) }],
  [2, { schema: JSON.stringify(device) }],
  [3, { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }],
]);

let server: Server;
let url: string;

function handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
  stub.requests.push(req.url ?? '');
  stub.authorizations.push(req.headers.authorization);
  const m = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
  const id = m ? Number(m[1]) : -1;
  const failure = stub.failures.get(id)?.shift();
  res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
  if (failure !== undefined) {
    res.statusCode = failure;
    res.end(JSON.stringify({ error_code: failure * 100, message: 'scripted' }));
    return;
  }
  const found = schemas.get(id);
  if (!found) {
    res.statusCode = 404;
    res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
    return;
  }
  res.end(JSON.stringify(found));
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  stub.requests = [];
  stub.authorizations = [];
  stub.failures.clear();
});

describe('confluent-avro through a Schema Registry over HTTP', () => {
  it('fetches each id once, then decodes synchronously from the cache', async () => {
    const format = createFormat({ type: 'confluent-avro', registry: { url } });
    const batch = [frameConfluent(1, userBody), frameConfluent(2, deviceBody), frameConfluent(1, userBody)];
    await format.prepare?.(batch);
    await format.prepare?.(batch);
    expect(batch.map((v) => format.decode(v))).toEqual([{ id: 'u1', age: 30 }, { device_id: 'd9' }, { id: 'u1', age: 30 }]);
    expect(stub.requests.sort()).toEqual(['/schemas/ids/1', '/schemas/ids/2']);
  });

  it('shares one request between concurrent prepares of the same id', async () => {
    const format = createFormat({ type: 'confluent-avro', registry: { url } });
    await Promise.all([format.prepare?.([frameConfluent(2, deviceBody)]), format.prepare?.([frameConfluent(2, deviceBody)])]);
    expect(stub.requests).toEqual(['/schemas/ids/2']);
  });

  it('dead-letters records with ids the registry does not know, or whose schema is not Avro', async () => {
    const format = createFormat({ type: 'confluent-avro', registry: { url } });
    const batch = [frameConfluent(404, userBody), frameConfluent(3, userBody), frameConfluent(1, userBody), Buffer.from('junk')];
    await format.prepare?.(batch);
    const reasons = batch.map((v) => {
      try {
        return format.decode(v);
      } catch (err) {
        expect((err as TributaryError).code).toBe('TRIB_RECORD_INVALID');
        return (err as Error).message;
      }
    });
    expect(reasons).toEqual([
      'unknown schema id 404 (not in the schema registry)',
      'unknown schema id 3 (is a PROTOBUF schema, not Avro)',
      { id: 'u1', age: 30 },
      'not Confluent framing (magic byte 106)',
    ]);
    // Unknown ids are remembered too: a flood of poison records does not flood the registry.
    await format.prepare?.(batch);
    expect(stub.requests.length).toBe(3);
  });

  it('makes transient registry failures retriable and recovers on retry', async () => {
    const format = createFormat({ type: 'confluent-avro', registry: { url } });
    stub.failures.set(1, [503]);
    const err = await rejection(format.prepare?.([frameConfluent(1, userBody)]) ?? Promise.resolve());
    expect(err.retriable).toBe(true);
    expect(err.code).toBe('TRIB_SOURCE');
    expect(err.message).toMatch(/answered HTTP 503 for schema id 1/);
    // decode before a successful prepare is not a bad record either.
    let early: unknown;
    try {
      format.decode(frameConfluent(1, userBody));
    } catch (e) {
      early = e;
    }
    expect(early).toMatchObject({ code: 'TRIB_SOURCE', retriable: true });
    await format.prepare?.([frameConfluent(1, userBody)]);
    expect(format.decode(frameConfluent(1, userBody))).toEqual({ id: 'u1', age: 30 });
  });

  it('makes an unreachable registry retriable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const format = createFormat({ type: 'confluent-avro', registry: { url: `http://127.0.0.1:${port}` } });
    const err = await rejection(format.prepare?.([frameConfluent(1, userBody)]) ?? Promise.resolve());
    expect(err.retriable).toBe(true);
    expect(err.message).toMatch(/unreachable fetching schema id 1/);
  });

  it('sends basic auth, and refused credentials are not retriable and not echoed', async () => {
    const format = createFormat({ type: 'confluent-avro', registry: { url, username: 'analyst', password: 's3cret-value' } });
    await format.prepare?.([frameConfluent(1, userBody)]);
    expect(stub.authorizations).toEqual([`Basic ${Buffer.from('analyst:s3cret-value').toString('base64')}`]);
    stub.failures.set(2, [401]);
    const err = await rejection(format.prepare?.([frameConfluent(2, deviceBody)]) ?? Promise.resolve());
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(/HTTP 401 .*check the registry username and password/);
    expect(err.message).not.toMatch(/s3cret|analyst/);
  });

  it('refuses credentials in the url, without echoing them', () => {
    let message = '';
    try {
      createFormat({ type: 'confluent-avro', registry: { url: 'http://u:p4ss@localhost:8081' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must not hold credentials/);
    expect(message).not.toContain('p4ss');
  });
});
