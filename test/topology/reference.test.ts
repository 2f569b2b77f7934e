import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { topologyJsonSchemaText, topologyMarkdown } from '../../src/topology/reference.js';
import { repoRoot } from '../helpers/cli.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { cdcJsonSchemaText, cdcMarkdown } from '../../src/runtime/cdc-reference.js';

// The committed reference must be what the declarations generate now; when a spec changes,
// regenerate with: tributary schema --out schemas/topology-v1.schema.json
//                  tributary schema --markdown --out schemas/topology-v1.md
//                  tributary schema --cdc --out schemas/cdc-v1.schema.json
//                  tributary schema --cdc --markdown --out schemas/cdc-v1.md
describe('generated reference files', () => {
  it('schemas/topology-v1.schema.json matches the declarations', () => {
    const committed = readFileSync(join(repoRoot, 'schemas', 'topology-v1.schema.json'), 'utf8');
    expect(committed).toBe(topologyJsonSchemaText(connectorCatalog, stepRegistry));
  });

  it('schemas/topology-v1.md matches the declarations', () => {
    const committed = readFileSync(join(repoRoot, 'schemas', 'topology-v1.md'), 'utf8');
    expect(committed).toBe(topologyMarkdown(connectorCatalog, stepRegistry));
  });

  it('schemas/cdc-v1.md and cdc-v1.schema.json match the cdc config declaration', () => {
    expect(readFileSync(join(repoRoot, 'schemas', 'cdc-v1.md'), 'utf8')).toBe(cdcMarkdown());
    expect(readFileSync(join(repoRoot, 'schemas', 'cdc-v1.schema.json'), 'utf8')).toBe(cdcJsonSchemaText());
    for (const field of ['mysql', 'kafka', 'redis', 'lease', 'batchSize', 'topicPrefix', 'serverId', 'snapshot', 'ttl']) expect(cdcMarkdown()).toContain(`| \`${field}\` |`);
  });

  it('the schema closes every mapping and names each step kind', () => {
    const schema = JSON.parse(topologyJsonSchemaText(connectorCatalog, stepRegistry)) as {
      additionalProperties: boolean;
      properties: { spec: { properties: { pipeline: { items: { oneOf: Array<{ title: string }> } } } } };
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.spec.properties.pipeline.items.oneOf.map((v) => v.title)).toEqual([
      'filter', 'map', 'keyBy', 'explode', 'dedupe', 'window', 'code',
    ]);
  });
});
