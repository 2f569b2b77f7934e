/** `tributary plan <file> [--json]`: the compiled plan: sources, steps in order, state, sub-topologies, sinks. */
import { connectorCatalog } from '../connectors/registry.js';
import { TributaryError } from '../core/errors.js';
import { describePlan, loadTopology, planToJson } from '../topology/index.js';
import { parseArgs } from './args.js';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json'], []);
  const [file, ...extra] = args.positional;
  if (!file || extra.length > 0) throw new TributaryError('TRIB_USAGE', 'usage: tributary plan <topology.yaml> [--json]');
  const plan = await loadTopology(file, { catalog: connectorCatalog, env: process.env });
  process.stdout.write(args.flags.has('json') ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : describePlan(plan));
  return 0;
}
