/**
 * topology/: YAML → validated spec → TopologyPlan. Only loadTopology touches the filesystem (the
 * topology file, and the schema files its formats name).
 */
import { readFile } from 'node:fs/promises';
import { TopologyError, TopologyErrors } from '../core/errors.js';
import { formatProblems } from '../formats/registry.js';
import { compileTopology, type CompileOptions } from './compile.js';
import type { TopologyPlan } from './plan.js';

export { compileTopology, type CompileOptions } from './compile.js';
export type { ConnectorCatalog } from '../core/catalog.js';
export type * from './plan.js';
export { topologySpec, type StepCatalog } from './format.js';
export { describePlan, planToJson, subTopologies, type SubTopology } from './describe.js';

/** Read and compile a topology file. A missing/unreadable file is a TopologyError at 1:1. */
export async function loadTopology(file: string, opts: Omit<CompileOptions, 'baseDir'> & { baseDir?: string }): Promise<TopologyPlan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`;
    throw new TopologyErrors([new TopologyError('TRIB_TOPOLOGY_PARSE', { file, line: 1, col: 1, path: '' }, reason, { cause: err })]);
  }
  return compileTopology(text, file, { checkFormat: formatProblems, ...opts });
}
