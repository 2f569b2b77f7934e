import type { Engine } from './engine.js';
import type { Progress, RunResult } from './runner.js';
import { fmtTime } from './engine.js';

const n = (v: number): string => Math.round(v).toLocaleString('en-US');

/** One progress line: what a person watching the terminal needs. */
export function progressLine(p: Progress): string {
  const pct = p.done === undefined ? '' : ` ${(p.done * 100).toFixed(1).padStart(5)}%`;
  return `${pct} in ${n(p.recordsIn)} (${n(p.ratePerSec)}/s) out ${n(p.out)} late ${n(p.late)} dlq ${n(p.deadLettered)} watermark ${fmtTime(p.watermark)} checkpoints ${p.checkpoints}`.trimStart();
}

/** The end-of-run summary: counts, throughput, and a few sample rows per sink. */
export function formatSummary(engine: Engine, result: RunResult, options: { sampleRows?: number } = {}): string {
  const secs = result.elapsedMs / 1000;
  const c = engine.counters;
  const lines: string[] = [];
  lines.push(`── ${engine.plan.name}: ${result.reason === 'end-of-input' ? 'input complete' : result.reason === 'idle' ? 'input drained (idle)' : 'stopped'} ──`);
  lines.push(`records in         ${n(result.recordsIn)} this run (${n(c.get('in'))} since the state began)`);
  lines.push(`throughput         ${n(result.recordsIn / Math.max(secs, 0.001))} records/s over ${secs.toFixed(1)} s`);
  lines.push(`late               ${n(c.get('late'))}`);
  lines.push(`dead-lettered      ${n(c.get('deadLettered'))}`);
  if (c.get('duplicates')) lines.push(`duplicates dropped ${n(c.get('duplicates'))}`);
  lines.push(`watermark          ${fmtTime(engine.watermark)}`);
  const pause = engine.checkpointCount > 0 ? ` (processing paused for each snapshot, at most ${engine.longestSnapshotMs.toFixed(1)} ms)` : '';
  lines.push(`checkpoints        ${engine.checkpointCount}${pause}`);
  lines.push('records out by sink:');
  for (const sink of engine.sinks.values()) lines.push(`  ${sink.id.padEnd(18)} ${n(sink.emitted)}`);
  const rows = options.sampleRows ?? 3;
  for (const sink of engine.sinks.values()) {
    const sample = sink.lastRows().slice(-rows);
    if (sample.length === 0) continue;
    lines.push(`sample rows of '${sink.id}':`);
    for (const row of sample) lines.push(`  ${JSON.stringify(row)}`);
  }
  return lines.join('\n') + '\n';
}
