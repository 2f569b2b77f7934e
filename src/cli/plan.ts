/** `tributary plan <file> [--json]`: the compiled plan: sources, steps in order, state, sub-topologies, sinks. */
import { connectorCatalog, sinkExpectations } from '../connectors/registry.js';
import { TributaryError } from '../core/errors.js';
import { describePlan, loadTopology, planToJson } from '../topology/index.js';
import { parseArgs } from './args.js';
import { stepRegistry } from '../operators/registry.js';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json'], []);
  const [file, ...extra] = args.positional;
  if (!file || extra.length > 0) throw new TributaryError('TRIB_USAGE', 'usage: tributary plan <topology.yaml> [--json]');
  const plan = await loadTopology(file, { catalog: connectorCatalog, steps: stepRegistry, env: process.env });
  const expects = new Map(plan.sinks.flatMap((sink) => {
    const text = sinkExpectations(sink.id, sink.connector, sink.config);
    return text === undefined ? [] : [[sink.id, text] as const];
  }));
  if (args.flags.has('json')) {
    const json = planToJson(plan);
    const sinks = (json.sinks as Array<{ id: string }>).map((sink) => (expects.has(sink.id) ? { ...sink, expects: expects.get(sink.id) } : sink));
    process.stdout.write(`${JSON.stringify({ ...json, sinks }, null, 2)}\n`);
    return 0;
  }
  let text = describePlan(plan);
  for (const [id, needs] of expects) text += `\nsink ${id} expects:\n${needs.split('\n').map((l) => `  ${l}`).join('\n')}\n`;
  process.stdout.write(text);
  return 0;
}
