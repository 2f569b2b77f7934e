/**
 * Where Confluent schema ids get their schemas: a local JSON file {"<id>": <schema>} or a Schema
 * Registry over HTTP (GET /schemas/ids/{id}). Lookups are synchronous against a cache; `load`
 * fills it ahead of decoding. Only Avro schemas are supported (no schema references).
 * Encoding goes the other way, schema → id (`idFor`): the registry registers it under a subject
 * (POST /subjects/{subject}/versions), the local file is searched for it.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type avsc from 'avsc';
import { TributaryError, errorMessage } from '../core/errors.js';
import { avroType } from './avro-values.js';
import type { SchemaFile } from './avro.js';
import type { SchemaRegistrySpec } from './types.js';

/** A schema, a reason the id has none (bad record), or undefined: not loaded yet. */
export type SchemaLookup = avsc.Type | { missing: string } | undefined;

export interface SchemaSource {
  lookup(id: number): SchemaLookup;
  /** Make `lookup` answer for these ids. Throws a retriable TributaryError on transient failures. */
  load(ids: readonly number[]): Promise<void>;
  /**
   * The id `schema` is written with: registered under `subject` (registry; an identical schema
   * keeps its id) or found in the id file. Throws TributaryError('TRIB_SINK'), retriable when
   * transient, or TRIB_USAGE when there is no id to be had.
   */
  idFor(schema: SchemaFile, subject: string | undefined): Promise<number>;
}

export interface LocalSchemaSource extends SchemaSource {
  /**
   * The lowest id whose schema equals `type` by Parsing Canonical Form (docs, defaults, aliases and
   * logical types aside: they do not change the bytes), or undefined.
   */
  idOf(type: avsc.Type): number | undefined;
}

/** For an encoder given its id outright (`schemaId`): there is nothing to look up. */
export const noSchemaSource: SchemaSource = {
  lookup: () => ({ missing: "no 'registry' or 'schemas' configured" }),
  load: async () => {},
  idFor: async () => {
    throw new TributaryError('TRIB_USAGE', "confluent-avro has no 'schemaId', 'registry' or 'schemas' to get a schema id from");
  },
};

function parseOrMissing(schema: unknown): avsc.Type | { missing: string } {
  try {
    return avroType(schema);
  } catch (err) {
    return { missing: `not a valid Avro schema (${errorMessage(err)})` };
  }
}

/** A local id→schema file, read once. An invalid schema in it is a configuration error. */
export function localSchemaSource(path: string, baseDir?: string): LocalSchemaSource {
  const full = baseDir === undefined ? path : resolvePath(baseDir, path);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(full, 'utf8'));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : errorMessage(err);
    throw new TributaryError('TRIB_USAGE', `cannot read schema id file ${full}: ${reason}`, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TributaryError('TRIB_USAGE', `schema id file ${full} must hold an object {"<id>": <avro schema>}`);
  }
  const schemas = new Map<number, avsc.Type>();
  for (const [key, schema] of Object.entries(json)) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0) throw new TributaryError('TRIB_USAGE', `schema id file ${full}: '${key}' is not a schema id`);
    const type = parseOrMissing(schema);
    if (!('typeName' in type)) throw new TributaryError('TRIB_USAGE', `schema id file ${full}: id ${id}: ${type.missing}`);
    schemas.set(id, type);
  }
  const ids = [...schemas.keys()].sort((a, b) => a - b);
  const idOf = (type: avsc.Type): number | undefined => ids.find((id) => schemas.get(id)!.equals(type));
  return {
    lookup: (id) => schemas.get(id) ?? { missing: `not in ${full}` },
    load: async () => {},
    idOf,
    async idFor(schema) {
      const id = idOf(schema.type);
      if (id === undefined) throw new TributaryError('TRIB_USAGE', notInIdFile(schema.path, full));
      return id;
    },
  };
}

export function notInIdFile(schemaPath: string, idFile: string): string {
  return `schema ${schemaPath} is in no entry of schema id file ${idFile}: add it under its registry id, or set schemaId`;
}

export interface RegistryOptions {
  /** How long an id the registry does not know stays unknown before it is asked again. */
  missingTtlMs?: number;
  /** Counts requests; tests use it to see the cache work. */
  onRequest?: (id: number) => void;
}

/** Transient: worth retrying the batch later. */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function httpSchemaRegistry(spec: SchemaRegistrySpec, options: RegistryOptions = {}): SchemaSource {
  let base: URL;
  try {
    base = new URL(spec.url);
  } catch {
    throw new TributaryError('TRIB_USAGE', `schema registry url '${spec.url}' is not a URL`);
  }
  if (base.username || base.password) {
    // Credentials in a URL end up in logs and error messages.
    throw new TributaryError('TRIB_USAGE', 'schema registry url must not hold credentials: set username and password (from ${ENV} variables)');
  }
  const where = base.origin + base.pathname.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (spec.username !== undefined || spec.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${spec.username ?? ''}:${spec.password ?? ''}`).toString('base64')}`;
  }
  const timeoutMs = spec.timeoutMs ?? 10_000;
  const missingTtlMs = options.missingTtlMs ?? 60_000;
  const found = new Map<number, avsc.Type>();
  const missing = new Map<number, { reason: string; until: number }>();
  const inFlight = new Map<number, Promise<void>>();

  async function fetchOne(id: number): Promise<void> {
    options.onRequest?.(id);
    let res: Response;
    try {
      res = await fetch(`${where}/schemas/ids/${id}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new TributaryError('TRIB_SOURCE', `schema registry ${where} unreachable fetching schema id ${id}: ${errorMessage(err)}`, { cause: err, retriable: true });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 404) {
      missing.set(id, { reason: 'not in the schema registry', until: Date.now() + missingTtlMs });
      return;
    }
    if (!res.ok) {
      const transient = isTransientStatus(res.status);
      const hint = res.status === 401 || res.status === 403 ? ' (check the registry username and password)' : '';
      throw new TributaryError('TRIB_SOURCE', `schema registry ${where} answered HTTP ${res.status} for schema id ${id}${hint}`, { retriable: transient });
    }
    let body: { schema?: unknown; schemaType?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new TributaryError('TRIB_SOURCE', `schema registry ${where} sent a response that is not JSON for schema id ${id}`, { retriable: true });
    }
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      missing.set(id, { reason: `is a ${String(body.schemaType)} schema, not Avro`, until: Infinity });
      return;
    }
    let schema: unknown;
    try {
      schema = typeof body.schema === 'string' ? JSON.parse(body.schema) : undefined;
    } catch {
      schema = undefined;
    }
    const type = schema === undefined ? { missing: 'registry answer holds no schema' } : parseOrMissing(schema);
    if ('typeName' in type) found.set(id, type);
    // Ids are immutable in a registry: an unreadable schema stays unreadable.
    else missing.set(id, { reason: type.missing, until: Infinity });
  }

  /** Ids by subject and canonical schema: one registration per subject and schema per run. */
  const registered = new Map<string, Promise<number>>();

  async function register(subject: string, schema: SchemaFile): Promise<number> {
    const what = `registering ${schema.path} under subject '${subject}'`;
    let res: Response;
    try {
      res = await fetch(`${where}/subjects/${encodeURIComponent(subject)}/versions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/vnd.schemaregistry.v1+json' },
        // The schema as written (docs, defaults, logical types): what consumers of the subject read.
        body: JSON.stringify({ schema: JSON.stringify(schema.json) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new TributaryError('TRIB_SINK', `schema registry ${where} unreachable ${what}: ${errorMessage(err)}`, { cause: err, retriable: true });
    }
    const text = await res.text().catch(() => '');
    let body: { id?: unknown; message?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const transient = isTransientStatus(res.status);
      const hint =
        res.status === 401 || res.status === 403 ? ' (check the registry username and password)'
        : res.status === 409 ? ' (the schema is incompatible with the subject\'s compatibility setting)'
        : res.status === 422 ? ' (the registry finds the schema invalid)'
        : '';
      // The registry's own words say what is incompatible; they hold no credentials of ours.
      const said = typeof body?.message === 'string' ? `: ${body.message.slice(0, 300)}` : '';
      throw new TributaryError('TRIB_SINK', `schema registry ${where} answered HTTP ${res.status} ${what}${hint}${said}`, { retriable: transient });
    }
    const id = body?.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TributaryError('TRIB_SINK', `schema registry ${where} sent an answer without a schema id ${what}`, { retriable: true });
    }
    // Records written with it decode without asking again.
    found.set(id, schema.type);
    return id;
  }

  return {
    async idFor(schema, subject) {
      if (subject === undefined) throw new TributaryError('TRIB_USAGE', `no subject to register ${schema.path} under (set schemaId)`);
      const key = `${subject}\u0000${JSON.stringify(schema.json)}`;
      let p = registered.get(key);
      if (!p) {
        p = register(subject, schema);
        registered.set(key, p);
        // A failure is asked again next time; only a success is remembered.
        p.catch(() => registered.delete(key));
      }
      return p;
    },
    lookup(id) {
      const type = found.get(id);
      if (type) return type;
      const gone = missing.get(id);
      if (gone && gone.until > Date.now()) return { missing: gone.reason };
      return undefined;
    },
    async load(ids) {
      const waits: Promise<void>[] = [];
      for (const id of new Set(ids)) {
        if (this.lookup(id) !== undefined) continue;
        let p = inFlight.get(id);
        if (!p) {
          p = fetchOne(id).finally(() => inFlight.delete(id));
          inFlight.set(id, p);
        }
        waits.push(p);
      }
      await Promise.all(waits);
    },
  };
}
