/**
 * `tributary demo` (npm start): the loan-risk features on a bounded generator with embedded
 * defaults; fresh state each time; ends by itself with a summary.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runTopologyFile } from './run.js';
import { parseArgs, stringFlag } from './args.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['quiet'], ['topology', 'count']);
  const count = stringFlag(args, 'count');
  if (count) process.env.TRIBUTARY_DEMO_COUNT = count;
  const file = stringFlag(args, 'topology') ?? join(root, 'topologies', 'loan-risk-features.yaml');
  process.stderr.write(`tributary demo: ${file}\n`);
  return runTopologyFile({ file, dataDir: join('.tributary', 'demo'), resetState: true, quiet: args.flags.get('quiet') === true });
}
