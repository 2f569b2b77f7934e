/**
 * `tributary validate <files...>`: prints `ok <file>` for each valid topology; otherwise every
 * error as `file:line:col: path: message`, and exits 2.
 */
import { stepRegistry } from '../operators/registry.js';
import { connectorCatalog } from '../connectors/registry.js';
import { TopologyErrors } from '../core/errors.js';
import { loadTopology } from '../topology/index.js';
import { parseCommand, type CommandSpec, type OptionSpec } from './options.js';

export const validateSpec = {
  name: 'validate',
  summary: 'Check topology files: `ok <file>` for each valid one; otherwise every error as\nfile:line:col: path: message, and exit 2.',
  args: '<topology.yaml>...',
  positionals: { min: 1, max: Infinity },
  options: {},
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(validateSpec, argv);
  if (!args) return 0;
  const files = args.positionals;
  let failed = false;
  for (const file of files) {
    try {
      await loadTopology(file, { catalog: connectorCatalog, steps: stepRegistry, env: process.env });
      process.stdout.write(`ok ${file}\n`);
    } catch (err) {
      if (!(err instanceof TopologyErrors)) throw err;
      failed = true;
      for (const e of err.errors) process.stderr.write(`${e.message}\n`);
    }
  }
  return failed ? 2 : 0;
}
