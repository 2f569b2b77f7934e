/**
 * A source's `format:` in a topology: json (default), { avro: ... } and { confluent: ... } compile
 * to the FormatSpec the runtime builds, with schema paths relative to the topology file; mistakes
 * (shape, missing/invalid .avsc, incompatible writer schema, credentials in the file) are errors
 * at file:line:col.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopologyErrors } from '../../src/core/errors.js';
import { compileTopology, describePlan, loadTopology, planToJson } from '../../src/topology/index.js';
import type { TopologyPlan } from '../../src/topology/plan.js';
import { runCli } from '../helpers/cli.js';
import { posOf } from './helpers.js';
import { testCatalog } from './test-catalog.js';
import { stepRegistry } from '../../src/operators/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-source-format-'));
mkdirSync(join(dir, 'schemas'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const record = (fields: unknown[]) => JSON.stringify({ type: 'record', name: 'Event', namespace: 'fmt', fields });
write('schemas/v1.avsc', record([{ name: 'id', type: 'string' }, { name: 'amount', type: 'int' }]));
write('schemas/v2.avsc', record([{ name: 'id', type: 'string' }, { name: 'amount', type: 'long' }, { name: 'channel', type: 'string', default: 'app' }]));
// v2 data cannot be read as v3: `region` is new and has no default.
write('schemas/v3.avsc', record([{ name: 'id', type: 'string' }, { name: 'region', type: 'string' }]));
write('schemas/bad-type.avsc', record([{ name: 'id', type: 'integer' }]));
write('schemas/not-json.avsc', '{ "type": "record", ');
write('schemas/ids.json', `{"1": ${record([{ name: 'id', type: 'string' }])}}`);

/** A topology whose one source `events` has `format` written as given (YAML, at the source's indent + 2). */
function doc(format: string): string {
  return [
    'apiVersion: tributary/v1',
    'kind: Topology',
    'metadata: { name: fmt }',
    'spec:',
    '  sources:',
    '    events:',
    '      file: { path: in.jsonl }',
    ...(format ? [`      format: ${format}`] : []),
    '  pipeline:',
    '    - { id: ok, from: events, filter: "id != null" }',
    '  sinks:',
    '    out: { from: ok, stdout: {} }',
    '',
  ].join('\n');
}

const file = join(dir, 'topology.yaml');

function compile(text: string, env: Record<string, string> = {}): TopologyPlan {
  return compileTopology(text, file, { catalog: testCatalog, steps: stepRegistry, env });
}

/** Errors as "line:col path: message" from compiling text (or loading it from a file, which also reads the schemas). */
async function errors(text: string, how: 'compile' | 'load' = 'compile', env: Record<string, string> = {}): Promise<string[]> {
  try {
    if (how === 'compile') compile(text, env);
    else await loadTopology(write('topology.yaml', text), { catalog: testCatalog, steps: stepRegistry, env });
  } catch (err) {
    if (!(err instanceof TopologyErrors)) throw err;
    return err.errors.map((e) => `${e.location.line}:${e.location.col} ${e.location.path}: ${e.message.slice(e.message.indexOf(`${e.location.path}: `) + e.location.path.length + 2)}`);
  }
  throw new Error('expected the topology to be rejected, but it compiled');
}

describe('source format: valid forms', () => {
  it('defaults to json, and `format: json` says the same', () => {
    expect(compile(doc('')).sources[0]!.format).toBe('json');
    expect(compile(doc('json')).sources[0]!.format).toBe('json');
  });

  it('avro: schema paths resolve from the topology file, absolute paths stay', () => {
    expect(compile(doc('{ avro: { schema: schemas/v2.avsc } }')).sources[0]!.format).toEqual({ type: 'avro', schema: join(dir, 'schemas', 'v2.avsc') });
    const abs = join(dir, 'schemas', 'v1.avsc');
    expect(compile(doc(`{ avro: { schema: schemas/v2.avsc, writerSchema: ${abs} } }`)).sources[0]!.format).toEqual({
      type: 'avro',
      schema: join(dir, 'schemas', 'v2.avsc'),
      writerSchema: abs,
    });
  });

  it('confluent with a local id file, and with a registry whose credentials come from the environment', () => {
    expect(compile(doc('{ confluent: { schemas: schemas/ids.json } }')).sources[0]!.format).toEqual({ type: 'confluent-avro', schemas: join(dir, 'schemas', 'ids.json') });
    const text = doc(['', '        confluent:', '          schema: schemas/v2.avsc', '          registry:',
      '            url: "${SR_URL}"', '            username: "${SR_USER}"', '            password: "${SR_PASSWORD}"', '            timeout: 2s'].join('\n'));
    const env = { SR_URL: 'http://registry:8081', SR_USER: 'svc-reader', SR_PASSWORD: 'pa55-w0rd' };
    const plan = compile(text, env);
    expect(plan.sources[0]!.format).toEqual({
      type: 'confluent-avro',
      schema: join(dir, 'schemas', 'v2.avsc'),
      registry: { url: 'http://registry:8081', username: 'svc-reader', password: 'pa55-w0rd', timeoutMs: 2000 },
    });
    // What `tributary plan` prints (text and --json) never holds the credentials.
    const printed = `${describePlan(plan)}\n${JSON.stringify(planToJson(plan))}`;
    expect(printed).toContain('confluent-avro read as');
    expect(printed).toContain('registry http://registry:8081 (with credentials)');
    expect(printed).not.toContain('pa55-w0rd');
    expect(printed).not.toContain('svc-reader');
  });

  it('reads the schema files when loading: a good topology loads', async () => {
    const plan = await loadTopology(write('good.yaml', doc('{ avro: { schema: schemas/v2.avsc, writerSchema: schemas/v1.avsc } }')), { catalog: testCatalog, steps: stepRegistry });
    expect(plan.sources[0]!.format).toMatchObject({ type: 'avro', writerSchema: join(dir, 'schemas', 'v1.avsc') });
  });
});

describe('source format: errors at file:line:col', () => {
  it('rejects other names and shapes', async () => {
    let text = doc('jsn');
    expect(await errors(text)).toEqual([`${posOf(text, 'jsn')} spec.sources.events.format: expected one of 'json', got "jsn"; did you mean 'json'?`]);
    text = doc('[json]');
    expect(await errors(text)).toEqual([`${posOf(text, '[json]')} spec.sources.events.format: expected one of 'json', or a mapping with one of avro, confluent, got a list`]);
    text = doc('{ avro: { schema: schemas/v2.avsc }, confluent: { schemas: schemas/ids.json } }');
    expect(await errors(text)).toEqual([`${posOf(text, 'confluent')} spec.sources.events.format.confluent: 'confluent' cannot be combined with 'avro': each has exactly one format (avro, confluent)`]);
    text = doc('{ avro: { shema: schemas/v2.avsc } }');
    expect(await errors(text)).toEqual([
      `${posOf(text, '{ shema')} spec.sources.events.format.avro.schema: missing required field 'schema' (a string)`,
      `${posOf(text, 'shema')} spec.sources.events.format.avro.shema: unknown field 'shema'; did you mean 'schema'?`,
    ].sort());
  });

  it('confluent needs a registry or an id file', async () => {
    const text = doc('{ confluent: { schema: schemas/v2.avsc } }');
    expect(await errors(text)).toEqual([`${posOf(text, '{ schema')} spec.sources.events.format.confluent: confluent needs 'registry' (a Schema Registry) or 'schemas' (a local id→schema file)`]);
  });

  it('the registry password must come from the environment', async () => {
    const text = doc('{ confluent: { registry: { url: "http://registry:8081", username: reader, password: hunter2 } } }');
    const found = await errors(text);
    expect(found).toEqual([`${posOf(text, 'hunter2')} spec.sources.events.format.confluent.registry.password: 'password' is a secret: write it as \${SOME_ENV_VAR} so it comes from the environment, not the file`]);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('a missing or invalid .avsc, an incompatible writer schema and a bad id file point at their fields', async () => {
    const text = [
      'apiVersion: tributary/v1',
      'kind: Topology',
      'metadata: { name: fmt }',
      'spec:',
      '  sources:',
      '    a: { file: { path: a.jsonl }, format: { avro: { schema: schemas/nope.avsc } } }',
      '    b: { file: { path: b.jsonl }, format: { avro: { schema: schemas/bad-type.avsc, writerSchema: schemas/not-json.avsc } } }',
      '    c: { file: { path: c.jsonl }, format: { avro: { schema: schemas/v3.avsc, writerSchema: schemas/v2.avsc } } }',
      '    d: { file: { path: d.jsonl }, format: { confluent: { schemas: schemas/v1.avsc } } }',
      '    e: { file: { path: e.jsonl }, format: { confluent: { registry: { url: "http://user:pw@registry:8081" } } } }',
      '  pipeline:',
      ...['a', 'b', 'c', 'd', 'e'].map((s) => `    - { id: ${s}_ok, from: ${s}, filter: "id != null" }`),
      '',
    ].join('\n');
    const s = (name: string) => join(dir, 'schemas', name);
    expect(await errors(text, 'load')).toEqual([
      `${posOf(text, 'schemas/nope.avsc')} spec.sources.a.format.avro.schema: cannot read Avro schema ${s('nope.avsc')}: file not found`,
      `${posOf(text, 'schemas/bad-type.avsc')} spec.sources.b.format.avro.schema: invalid Avro schema in ${s('bad-type.avsc')}: undefined type name: fmt.integer`,
      expect.stringMatching(new RegExp(`^${posOf(text, 'schemas/not-json.avsc')} spec\\.sources\\.b\\.format\\.avro\\.writerSchema: invalid Avro schema in .*not-json\\.avsc: not JSON`)),
      expect.stringMatching(new RegExp(`^${posOf(text, 'schemas/v2.avsc')} spec\\.sources\\.c\\.format\\.avro\\.writerSchema: writer schema fmt\\.Event cannot be read as fmt\\.Event: .*region`)),
      `${posOf(text, 'schemas/v1.avsc')} spec.sources.d.format.confluent.schemas: schema id file ${s('v1.avsc')}: 'type' is not a schema id`,
      `${posOf(text, '"http://user')} spec.sources.e.format.confluent.registry.url: schema registry url must not hold credentials: set username and password (from \${ENV} variables)`,
    ]);
    // compileTopology alone reads no files: the same text compiles (the runtime would then refuse it).
    expect(compile(text).sources).toHaveLength(5);
  });

  it('tributary validate exits 2 naming the missing schema at its line', async () => {
    const text = doc('{ avro: { schema: schemas/missing.avsc } }');
    const bad = write('missing-schema.yaml', text);
    const r = await runCli(['validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`${bad}:${posOf(text, 'schemas/missing.avsc')}: spec.sources.events.format.avro.schema: cannot read Avro schema ${join(dir, 'schemas', 'missing.avsc')}: file not found`);
  });
});
