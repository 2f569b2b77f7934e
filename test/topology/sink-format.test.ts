/**
 * A Kafka sink's `format:` in a topology: the same forms as a source's (json, { avro }, { confluent }),
 * declared once; schema paths resolve from the topology file; mistakes (shape, missing .avsc, no
 * way to a schema id, an id file without the schema) are errors at file:line:col.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { TopologyErrors } from '../../src/core/errors.js';
import { compileTopology, describePlan, loadTopology, planToJson } from '../../src/topology/index.js';
import type { TopologyPlan } from '../../src/topology/plan.js';
import { posOf } from './helpers.js';
import { stepRegistry } from '../../src/operators/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-sink-format-'));
mkdirSync(join(dir, 'schemas'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const feature = { type: 'record', name: 'Feature', namespace: 'f', fields: [{ name: 'user_id', type: 'string' }, { name: 'n', type: 'long' }] };
write('schemas/feature.avsc', JSON.stringify(feature));
write('schemas/ids.json', JSON.stringify({ 5: feature }));
write('schemas/other-ids.json', JSON.stringify({ 6: { type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] } }));

/** A topology whose kafka sink `out` has `format` written as given (YAML, at the sink connector's indent + 2). */
function doc(format: string): string {
  return [
    'apiVersion: tributary/v1',
    'kind: Topology',
    'metadata: { name: sinkfmt }',
    'spec:',
    '  sources:',
    '    events:',
    '      file: { path: in.jsonl }',
    '  pipeline:',
    '    - { id: ok, from: events, filter: "user_id != null" }',
    '  sinks:',
    '    out:',
    '      from: ok',
    '      kafka:',
    '        brokers: localhost:9092',
    '        topic: features',
    ...(format ? [`        format: ${format}`] : []),
    '',
  ].join('\n');
}

const file = join(dir, 'topology.yaml');

function compile(text: string, env: Record<string, string> = {}): TopologyPlan {
  return compileTopology(text, file, { catalog: connectorCatalog, steps: stepRegistry, env });
}

async function errors(text: string, how: 'compile' | 'load' = 'compile', env: Record<string, string> = {}): Promise<string[]> {
  try {
    if (how === 'compile') compile(text, env);
    else await loadTopology(write('topology.yaml', text), { catalog: connectorCatalog, steps: stepRegistry, env });
  } catch (err) {
    if (!(err instanceof TopologyErrors)) throw err;
    return err.errors.map((e) => `${e.location.line}:${e.location.col} ${e.location.path}: ${e.message.slice(e.message.indexOf(`${e.location.path}: `) + e.location.path.length + 2)}`);
  }
  throw new Error('expected the topology to be rejected, but it compiled');
}

const sinkFormat = (plan: TopologyPlan) => plan.sinks[0]!.config.format;

describe('kafka sink format: valid forms', () => {
  it('defaults to json; avro and confluent keep their written shape with schema paths resolved from the topology file', async () => {
    expect(sinkFormat(compile(doc('')))).toBe('json');
    expect(sinkFormat(compile(doc('{ avro: { schema: schemas/feature.avsc } }')))).toEqual({ avro: { schema: join(dir, 'schemas', 'feature.avsc') } });
    const plan = await loadTopology(write('ok.yaml', doc('{ confluent: { schema: schemas/feature.avsc, schemas: schemas/ids.json } }')), { catalog: connectorCatalog, steps: stepRegistry });
    expect(sinkFormat(plan)).toEqual({ confluent: { schema: join(dir, 'schemas', 'feature.avsc'), schemas: join(dir, 'schemas', 'ids.json') } });
  });

  it('a registry with credentials from the environment; the plan never prints them', () => {
    const text = doc(['', '          confluent:', '            schema: schemas/feature.avsc', '            registry:',
      '              url: "${SR_URL}"', '              username: "${SR_USER}"', '              password: "${SR_PASSWORD}"'].join('\n'));
    const plan = compile(text, { SR_URL: 'http://registry:8081', SR_USER: 'svc-writer', SR_PASSWORD: 'pa55-w0rd' });
    expect(sinkFormat(plan)).toEqual({
      confluent: { schema: join(dir, 'schemas', 'feature.avsc'), registry: { url: 'http://registry:8081', username: 'svc-writer', password: 'pa55-w0rd', timeout: 10_000 } },
    });
    const printed = `${describePlan(plan)}\n${JSON.stringify(planToJson(plan))}`;
    expect(printed).not.toContain('pa55-w0rd');
    expect(printed).not.toContain('svc-writer');
  });

  it('schemaId alone is enough to write', () => {
    expect(sinkFormat(compile(doc('{ confluent: { schema: schemas/feature.avsc, schemaId: 42 } }')))).toMatchObject({ confluent: { schemaId: 42 } });
  });
});

describe('kafka sink format: errors at file:line:col', () => {
  it('other names, shapes and fields', async () => {
    let text = doc('avroo');
    expect(await errors(text)).toEqual([`${posOf(text, 'avroo')} spec.sinks.out.kafka.format: expected one of 'json', got "avroo"`]);
    text = doc('{ avro: { schema: schemas/feature.avsc, writerSchema: schemas/feature.avsc } }');
    expect(await errors(text)).toEqual([`${posOf(text, 'writerSchema')} spec.sinks.out.kafka.format.avro.writerSchema: unknown field 'writerSchema' (known fields: schema)`]);
    text = doc('{ confluent: { schemas: schemas/ids.json } }');
    expect(await errors(text)).toEqual([`${posOf(text, '{ schemas')} spec.sinks.out.kafka.format.confluent.schema: missing required field 'schema' (a string)`]);
    text = doc('{ confluent: { schema: schemas/feature.avsc, schemaId: -1 } }');
    expect((await errors(text))[0]).toMatch(new RegExp(`^${posOf(text, '-1')} spec\\.sinks\\.out\\.kafka\\.format\\.confluent\\.schemaId: `));
  });

  it('confluent needs a way to the schema id', async () => {
    const text = doc('{ confluent: { schema: schemas/feature.avsc } }');
    expect(await errors(text)).toEqual([
      `${posOf(text, '{ schema:')} spec.sinks.out.kafka.format.confluent: confluent needs 'registry' (a Schema Registry), 'schemas' (a local id→schema file) or 'schemaId'`,
    ]);
  });

  it('the registry password must come from the environment', async () => {
    const text = doc('{ confluent: { schema: schemas/feature.avsc, registry: { url: "http://r:8081", password: hunter2 } } }');
    const found = await errors(text);
    expect(found).toEqual([`${posOf(text, 'hunter2')} spec.sinks.out.kafka.format.confluent.registry.password: 'password' is a secret: write it as \${SOME_ENV_VAR} so it comes from the environment, not the file`]);
  });

  it('loading reads the files: a missing .avsc, an id file without the schema', async () => {
    let text = doc('{ avro: { schema: schemas/nope.avsc } }');
    expect(await errors(text, 'load')).toEqual([
      `${posOf(text, 'schemas/nope.avsc')} spec.sinks.out.kafka.format.avro.schema: cannot read Avro schema ${join(dir, 'schemas', 'nope.avsc')}: file not found`,
    ]);
    text = doc('{ confluent: { schema: schemas/feature.avsc, schemas: schemas/other-ids.json } }');
    expect(await errors(text, 'load')).toEqual([
      `${posOf(text, 'schemas/other-ids.json')} spec.sinks.out.kafka.format.confluent.schemas: schema ${join(dir, 'schemas', 'feature.avsc')} is in no entry of schema id file ${join(dir, 'schemas', 'other-ids.json')}: add it under its registry id, or set schemaId`,
    ]);
    // compileTopology alone reads no files.
    expect(compile(text).sinks).toHaveLength(1);
  });
});
