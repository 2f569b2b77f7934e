/**
 * `tributary schema [--markdown] [--cdc] [--out path]`: the JSON Schema of the topology format (for
 * editors), or with --markdown the reference docs; to stdout unless --out is given.
 */
import { stepRegistry } from '../operators/registry.js';
import { writeFile } from 'node:fs/promises';
import { connectorCatalog } from '../connectors/registry.js';
import { topologyJsonSchemaText, topologyMarkdown } from '../topology/reference.js';
import { cdcJsonSchemaText, cdcMarkdown } from '../runtime/cdc-reference.js';
import { parseCommand, type CommandSpec, type OptionSpec } from './options.js';

export const schemaSpec = {
  name: 'schema',
  summary: 'Write the JSON Schema of the topology format (for editors) or of the cdc config, or their reference docs.',
  options: {
    markdown: { type: 'boolean', description: 'The reference docs (Markdown) instead of the JSON Schema' },
    cdc: { type: 'boolean', description: 'The `tributary cdc` config file instead of the topology format' },
    out: { type: 'string', value: 'PATH', description: 'Write to this file', defaultText: 'stdout' },
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(schemaSpec, argv);
  if (!args) return 0;
  const { markdown, cdc } = args.values;
  const text = cdc ? (markdown ? cdcMarkdown() : cdcJsonSchemaText()) : markdown ? topologyMarkdown(connectorCatalog, stepRegistry) : topologyJsonSchemaText(connectorCatalog, stepRegistry);
  const out = args.values.out;
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
  return 0;
}
