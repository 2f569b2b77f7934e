/**
 * `tributary schema [--markdown] [--out path]`: the JSON Schema of the topology format (for
 * editors), or with --markdown the reference docs; to stdout unless --out is given.
 */
import { writeFile } from 'node:fs/promises';
import { connectorCatalog } from '../connectors/registry.js';
import { TributaryError } from '../core/errors.js';
import { topologyJsonSchemaText, topologyMarkdown } from '../topology/reference.js';
import { parseArgs, stringFlag } from './args.js';
import { stepRegistry } from '../operators/registry.js';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['markdown'], ['out']);
  if (args.positional.length > 0) throw new TributaryError('TRIB_USAGE', 'usage: tributary schema [--markdown] [--out path]');
  const text = args.flags.has('markdown') ? topologyMarkdown(connectorCatalog, stepRegistry) : topologyJsonSchemaText(connectorCatalog, stepRegistry);
  const out = stringFlag(args, 'out');
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
  return 0;
}
