/** The generated reference of the `tributary cdc` config file: schemas/cdc-v1.schema.json and schemas/cdc-v1.md. */
import { toJsonSchema, toMarkdown } from '../core/spec.js';
import { cdcConfigSpec } from './cdc-runner.js';

export const cdcSchemaId = 'https://tributary.dev/schemas/cdc-v1.schema.json';

const intro = `
The config file of \`tributary cdc <config.yaml>\`: one binlog reader per database server, each
table's changes to the Kafka topic \`<topicPrefix>.<db>.<table>\` (key: the primary key as JSON;
value: the envelope \`{op: c|u|d|r, before, after, source: {server_id, gtid, file, pos, ts_ms, db, table}}\`).
Generated from cdcConfigSpec (src/runtime/cdc-runner.ts) by \`tributary schema --cdc --markdown\`;
do not edit by hand. Conventions (durations, \`\${VAR}\`, unknown fields are errors with
file:line:col) are those of the topology format, schemas/topology-v1.md; \`mysql.password\`
must come from the environment.
`;

export function cdcJsonSchemaText(): string {
  return `${JSON.stringify(toJsonSchema(cdcConfigSpec, { id: cdcSchemaId, title: 'Tributary cdc config (v1)' }), null, 2)}\n`;
}

export function cdcMarkdown(): string {
  return toMarkdown(cdcConfigSpec, { title: 'tributary cdc config reference (v1)', intro });
}
