/** Reading a worker's /metrics (Prometheus text exposition) in tests. */
import { setTimeout as sleep } from 'node:timers/promises';

/** `name{labels}` → value, labels sorted by name (exporters order them freely). */
export type Samples = Map<string, number>;

export function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const series = line.slice(0, at);
    const brace = series.indexOf('{');
    const key = brace < 0 ? series : `${series.slice(0, brace)}{${[...series.slice(brace).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort().join(',')}}`;
    out.set(key, Number(line.slice(at + 1)));
  }
  return out;
}

export function sample(s: Samples, series: string): number {
  const v = s.get(series);
  if (v === undefined) throw new Error(`no series ${series} in /metrics; has:\n${[...s.keys()].filter((k) => k.startsWith('tributary_')).join('\n')}`);
  return v;
}

/** Series of one metric name (any labels). */
export function seriesOf(s: Samples, name: string): Array<[string, number]> {
  return [...s].filter(([k]) => k === name || k.startsWith(`${name}{`));
}

export async function scrape(port: number): Promise<{ text: string; samples: Samples; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { text, samples: parseMetrics(text), type: res.headers.get('content-type') };
}

/** Scrapes until `done` holds; a busy shared machine gets up to a minute, no fixed waits. */
export async function scrapeUntil(port: number, what: string, done: (s: Samples) => boolean): Promise<Samples> {
  let last: Samples = new Map();
  for (let i = 0; i < 600; i++) {
    last = (await scrape(port)).samples;
    if (done(last)) return last;
    await sleep(100);
  }
  throw new Error(`/metrics never showed ${what}; last scrape:\n${[...last].filter(([k]) => k.startsWith('tributary_')).map(([k, v]) => `${k} ${v}`).join('\n')}`);
}
