/**
 * Prints one plain closing line, `N passed, N failed` (", N skipped" when any), after vitest's
 * own summary, so any CI log reader can tell what ran. A test that did not run because a hook of
 * its suite failed (a broker that did not start) counts as failed, not skipped: vitest lists it
 * as skipped, and "0 failed" would hide that the run failed. Before it: where the time went — the
 * slowest files, and the test time spent on real Kafka, on the dev broker and elsewhere (the
 * Kafka-mode suites name their broker in their describe title: test/helpers/kafka.ts).
 */
import type { Reporter, TestCase, TestModule } from 'vitest/node';

/** A beforeAll/afterAll of the test's suite or of a suite around it failed. */
function hookFailed(test: TestCase): boolean {
  for (let p = test.parent; ; p = p.parent) {
    if (p.errors().length > 0) return true;
    if (p.type === 'module') return false;
  }
}

const SLOWEST = 12;

/** Which part of the suite a test belongs to, from its full name. */
export function partOf(fullName: string): 'real Kafka' | 'dev broker' | 'other' {
  if (fullName.includes('real Kafka')) return 'real Kafka';
  if (fullName.includes('the dev broker')) return 'dev broker';
  return 'other';
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;

export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let notRun = 0;
    let skipped = 0;
    const parts = new Map<string, number>();
    const files: Array<{ file: string; ms: number }> = [];
    for (const mod of testModules) {
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
      files.push({ file: mod.relativeModuleId, ms: mod.diagnostic().duration });
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else if (hookFailed(test)) notRun++;
        else skipped++;
        const part = partOf(test.fullName);
        parts.set(part, (parts.get(part) ?? 0) + (test.diagnostic()?.duration ?? 0));
      }
    }
    if (files.length > 1) {
      const slow = files.sort((x, y) => y.ms - x.ms).slice(0, SLOWEST);
      const lines = [
        `\nslowest files: ${slow.map((f) => `${f.file} ${seconds(f.ms)}`).join(', ')}`,
        `test time by broker (summed over files run in parallel): ${[...parts].map(([p, ms]) => `${p} ${seconds(ms)}`).join(', ')}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    const failedText = notRun > 0 ? `${failed + notRun} failed (${notRun} not run: a hook of their suite failed)` : `${failed} failed`;
    process.stdout.write(`\n${passed} passed, ${failedText}${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
}
