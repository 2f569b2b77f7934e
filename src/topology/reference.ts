/** The generated reference of the topology format: schemas/topology-v1.schema.json and schemas/topology-v1.md. */
import type { ConnectorCatalog } from '../core/catalog.js';
import { topologySpec, type StepCatalog } from './format.js';
import { toJsonSchema, toMarkdown } from '../core/spec.js';

export const schemaId = 'https://tributary.dev/schemas/topology-v1.schema.json';

/** The JSON Schema as written to schemas/topology-v1.schema.json (2-space JSON, trailing newline). */
export function topologyJsonSchemaText(catalog: ConnectorCatalog, steps: StepCatalog): string {
  const schema = toJsonSchema(topologySpec(catalog, steps), { id: schemaId, title: 'Tributary topology (tributary/v1)' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}

const intro = `
Generated from the format's declarations (src/topology/format.ts, each step kind's spec in
src/operators/registry.ts and each connector's spec in src/connectors/registry.ts) by \`tributary schema --markdown\`; do not edit by hand.

Conventions:
- Durations: \`500ms\`, \`5s\`, \`1m\`, \`1h\`, \`3d\`, compounds like \`1h30m\`, or a number of milliseconds.
- Any string value may use \`\${VAR}\` or \`\${VAR:-default}\` (environment variables; \`$\${\` writes a literal \`\${\`).
  Interpolated text is converted to the number, boolean or duration the field expects. Inside a flow
  mapping (\`{ ... }\`) quote it: \`count: "\${N:-100}"\`. Fields marked secret must be written this way.
- Unknown fields are errors. Every error names file:line:col and the path, e.g. \`spec.pipeline[2].window.rolling\`.
- Expressions (filter, map.set, keyBy, explode, dedupe.by, aggregate arguments) are the expression language of src/expr.
`;

export function topologyMarkdown(catalog: ConnectorCatalog, steps: StepCatalog): string {
  return toMarkdown(topologySpec(catalog, steps), { title: 'Topology format reference (tributary/v1)', intro });
}
