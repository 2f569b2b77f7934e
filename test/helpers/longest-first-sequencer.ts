/**
 * Test files in longest-first order, so the few long integration files (a 3-broker fault run, the
 * dev-broker restart, crash recovery) start at once and run beside the many short ones, instead of
 * starting last and leaving one worker busy alone at the end (a fresh clone has no vitest cache,
 * and vitest's own order is then by file size). Known long files carry their measured seconds;
 * only the order depends on them. Other files: integration first, then by size.
 */
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds each took in a clean-clone `npm test` (3 files at a time, 2 cores; session 9), rounded. */
export const KNOWN_SECONDS: Readonly<Record<string, number>> = {
  'test/runtime/kafka-cluster-faults.integration.test.ts': 316,
  'test/runtime/fleet.integration.test.ts': 181,
  'test/runtime/replay.integration.test.ts': 167,
  'test/runtime/repartition.integration.test.ts': 118,
  'test/connectors/graph/cypher.integration.test.ts': 82,
  'test/runtime/broker-restart.integration.test.ts': 79,
  'test/connectors/graph/crash.integration.test.ts': 67,
  'test/connectors/sql/topology.integration.test.ts': 60,
  'test/runtime/crash-recovery.integration.test.ts': 48,
  'test/runtime/changelog-tail.integration.test.ts': 46,
  'test/runtime/sigterm-group.integration.test.ts': 29,
};

function weight(file: string): number {
  const known = KNOWN_SECONDS[file];
  if (known !== undefined) return known * 1e9;
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    // A file that vanished sorts last; vitest reports it.
  }
  return (file.includes('.integration.') ? 1e8 : 0) + size;
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const w = new Map(files.map((f) => [f, weight(relative(root, f.moduleId))]));
    return [...files].sort((a, b) => w.get(b)! - w.get(a)!);
  }
}
