/** `tributary plan <file> [--json]`: the compiled plan: sources, steps in order, state, sub-topologies, sinks. */
import { stepRegistry } from '../operators/registry.js';
import { connectorCatalog, sinkExpectations } from '../connectors/registry.js';
import { describePlan, loadTopology, planToJson } from '../topology/index.js';
import { parseCommand, type CommandSpec, type OptionSpec } from './options.js';

export const planSpec = {
  name: 'plan',
  summary: 'Print the compiled plan of a topology: sources, steps in order, state, sub-topologies, sinks\n(and what each sink expects of its store).',
  args: '<topology.yaml>',
  positionals: { min: 1, max: 1 },
  options: { json: { type: 'boolean', description: 'Print the plan as JSON' } },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(planSpec, argv);
  if (!args) return 0;
  const plan = await loadTopology(args.positionals[0]!, { catalog: connectorCatalog, steps: stepRegistry, env: process.env });
  const expects = new Map<string, string>();
  for (const sink of plan.sinks) {
    const text = await sinkExpectations(sink.id, sink.connector, sink.config);
    if (text !== undefined) expects.set(sink.id, text);
  }
  if (args.values.json) {
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
