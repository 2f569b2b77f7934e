/**
 * `tributary schema [--markdown] [--out path]`: the JSON Schema of the topology format (for
 * editors), or with --markdown the reference docs; to stdout unless --out is given.
 */
import { writeFile } from 'node:fs/promises';
import { connectorCatalog } from '../connectors/registry.js';
import { topologyJsonSchemaText, topologyMarkdown } from '../topology/reference.js';
import { parseCommand, type CommandSpec, type OptionSpec } from './options.js';

export const schemaSpec = {
  name: 'schema',
  summary: 'Write the JSON Schema of the topology format (for editors), or its reference docs.',
  options: {
    markdown: { type: 'boolean', description: 'The reference docs (Markdown) instead of the JSON Schema' },
    out: { type: 'string', value: 'PATH', description: 'Write to this file', defaultText: 'stdout' },
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(schemaSpec, argv);
  if (!args) return 0;
  const text = args.values.markdown ? topologyMarkdown(connectorCatalog) : topologyJsonSchemaText(connectorCatalog);
  const out = args.values.out;
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
  return 0;
}
