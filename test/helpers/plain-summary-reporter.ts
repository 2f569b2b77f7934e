/**
 * Prints one plain closing line, `N passed, N failed` (", N skipped" when any), after vitest's
 * own summary, so any CI log reader can tell what ran. A test that did not run because a hook of
 * its suite failed (a broker that did not start) counts as failed, not skipped: vitest lists it
 * as skipped, and "0 failed" would hide that the run failed.
 */
import type { Reporter, TestCase, TestModule } from 'vitest/node';

/** A beforeAll/afterAll of the test's suite or of a suite around it failed. */
function hookFailed(test: TestCase): boolean {
  for (let p = test.parent; ; p = p.parent) {
    if (p.errors().length > 0) return true;
    if (p.type === 'module') return false;
  }
}

export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let notRun = 0;
    let skipped = 0;
    for (const mod of testModules) {
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else if (hookFailed(test)) notRun++;
        else skipped++;
      }
    }
    const failedText = notRun > 0 ? `${failed + notRun} failed (${notRun} not run: a hook of their suite failed)` : `${failed} failed`;
    process.stdout.write(`\n${passed} passed, ${failedText}${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
}
