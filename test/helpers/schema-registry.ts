/**
 * A stand-in Confluent Schema Registry on a free port, for the two calls Tributary makes:
 *
 *   GET  /schemas/ids/{id}                 → {"schema": "<json string>"}            (decode)
 *   POST /subjects/{subject}/versions      body {"schema": "<json string>"} → {"id"} (encode)
 *
 * Like the real one, a POST of a schema the registry already holds (same text) answers its
 * existing id; other schemas get the next id. It checks what a client sends (content type, body
 * shape, a schema that parses as JSON) and answers 422 otherwise, so a client that sends the wrong
 * body fails its test. Scripted statuses (`failNext`) and incompatible subjects (`incompatible`)
 * exercise retries and refusals.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RegistryRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The request body as sent (POST). */
  body: string;
}

export interface FakeRegistry {
  url: string;
  requests: RegistryRequest[];
  /** Schema text by id: what GET answers. Tests may preload ids. */
  schemas: Map<number, string>;
  /** Ids registered per subject, in registration order. */
  subjects: Map<string, number[]>;
  /** Subjects whose POSTs answer 409 (incompatible with the latest version). */
  incompatible: Set<string>;
  /** Statuses to answer the next requests with, one per request, before answering normally. */
  failNext: number[];
  close(): Promise<void>;
}

export async function startFakeRegistry(options: { firstId?: number } = {}): Promise<FakeRegistry> {
  let nextId = options.firstId ?? 1;
  const registry: FakeRegistry = {
    url: '',
    close: async () => {},
    requests: [],
    schemas: new Map(),
    subjects: new Map(),
    incompatible: new Set(),
    failNext: [],
  };

  function answer(res: ServerResponse, status: number, body: unknown): void {
    res.statusCode = status;
    res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
    res.end(JSON.stringify(body));
  }

  function post(subject: string, body: string, res: ServerResponse): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return answer(res, 422, { error_code: 42201, message: 'request body is not JSON' });
    }
    const schema = (parsed as { schema?: unknown } | null)?.schema;
    const keys = parsed !== null && typeof parsed === 'object' ? Object.keys(parsed) : [];
    if (typeof schema !== 'string' || keys.some((k) => k !== 'schema' && k !== 'schemaType' && k !== 'references')) {
      return answer(res, 422, { error_code: 42201, message: 'expected {"schema": "<schema as a JSON string>"}' });
    }
    try {
      JSON.parse(schema);
    } catch {
      return answer(res, 422, { error_code: 42201, message: 'Invalid schema: not JSON' });
    }
    if (registry.incompatible.has(subject)) {
      return answer(res, 409, { error_code: 409, message: 'Schema being registered is incompatible with an earlier schema for subject' });
    }
    let id = [...registry.schemas].find(([, text]) => text === schema)?.[0];
    if (id === undefined) {
      id = nextId++;
      registry.schemas.set(id, schema);
    }
    const versions = registry.subjects.get(subject) ?? [];
    if (!versions.includes(id)) versions.push(id);
    registry.subjects.set(subject, versions);
    answer(res, 200, { id });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    registry.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
    });
    const failure = registry.failNext.shift();
    if (failure !== undefined) return answer(res, failure, { error_code: failure * 100, message: 'scripted failure' });
    const byId = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && byId) {
      const schema = registry.schemas.get(Number(byId[1]));
      return schema === undefined ? answer(res, 404, { error_code: 40403, message: 'Schema not found' }) : answer(res, 200, { schema });
    }
    const versions = /^\/subjects\/([^/]+)\/versions$/.exec(req.url ?? '');
    if (req.method === 'POST' && versions) {
      if (!/^application\/(vnd\.schemaregistry\.v1\+json|json)/.test(req.headers['content-type'] ?? '')) {
        return answer(res, 415, { error_code: 415, message: 'unsupported content type' });
      }
      return post(decodeURIComponent(versions[1]!), body, res);
    }
    answer(res, 404, { error_code: 404, message: `no route ${req.method} ${req.url}` });
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  registry.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return registry;
}
