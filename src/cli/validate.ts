/**
 * `tributary validate <files...>`: prints `ok <file>` for each valid topology; otherwise every
 * error as `file:line:col: path: message`, and exits 2.
 */
import { connectorCatalog } from '../connectors/registry.js';
import { TopologyErrors, TributaryError } from '../core/errors.js';
import { loadTopology } from '../topology/index.js';
import { parseArgs } from './args.js';
import { stepRegistry } from '../operators/registry.js';

export async function run(argv: string[]): Promise<number> {
  const { positional: files } = parseArgs(argv, [], []);
  if (files.length === 0) throw new TributaryError('TRIB_USAGE', 'usage: tributary validate <topology.yaml>...');
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
