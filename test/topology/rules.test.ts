import { describe, expect, it } from 'vitest';
import type { WindowStep } from '../../src/topology/plan.js';
import { compile, errorsOf, messagesOf, posOf, topology } from './helpers.js';

const keyed = '    - { id: k, from: src, keyBy: user_id }';
const withKey = (...steps: string[]) => topology([keyed, ...steps].join('\n'));

/** line:col of the only error of `text`, with its code. */
function onlyError(text: string): { at: string; code: string; message: string; path: string } {
  const errors = errorsOf(text);
  expect(errors.map((e) => e.message)).toHaveLength(1);
  const [e] = errors;
  return { at: `${e.location.line}:${e.location.col}`, code: e.code, message: e.message, path: e.location.path };
}

describe('field errors', () => {
  it('a misspelt field points at its key and suggests the known name', () => {
    const text = topology('    - id: a\n      from: src\n      fliter: "amount > 0"');
    const e = onlyError(text);
    expect(e.at).toBe(posOf(text, 'fliter'));
    expect(e.path).toBe('spec.pipeline[0].fliter');
    expect(e.message).toBe(`test.yaml:${e.at}: spec.pipeline[0].fliter: unknown field 'fliter'; did you mean 'filter'?`);
  });

  it('a misspelt connector suggests the registered one', () => {
    const text = topology(keyed).replace('generator:', 'generatr:');
    expect(messagesOf(text)).toEqual([`${posOf(text, 'generatr')} spec.sources.src.generatr: unknown field 'generatr'; did you mean 'generator'?`]);
  });

  it('a step without a kind lists the kinds', () => {
    const text = topology('    - { id: a, from: src }');
    expect(messagesOf(text)).toEqual([`${posOf(text, '{ id: a')} spec.pipeline[0]: expected exactly one step kind: filter, map, keyBy, explode, dedupe, window, code`]);
  });

  it('every error of the file is reported at once', () => {
    const text = withKey(
      '    - { id: a, from: k, fliter: "true" }',
      '    - { id: b, from: nowhere, filter: "true" }',
      '    - { id: c, from: k, window: { tumbling: 1m }, aggregate: { n: cnt() } }',
    );
    expect(errorsOf(text).map((e) => e.location.path)).toEqual([
      'spec.pipeline[1].fliter', 'spec.pipeline[2].from', 'spec.pipeline[3].aggregate.n',
    ]);
  });

  it('a YAML syntax error is a parse error with line:col', () => {
    const text = 'apiVersion: tributary/v1\nspec:\n  sources: { a: [1, 2 }\n';
    const [e] = errorsOf(text);
    expect(e.code).toBe('TRIB_TOPOLOGY_PARSE');
    expect(e.location.line).toBe(3);
    expect(e.message).toMatch(/^test\.yaml:3:\d+: /);
  });
});

describe('references and ids', () => {
  it('an unknown input points at the `from` value and suggests the closest id', () => {
    const text = topology('    - { id: valid, from: src, filter: "true" }\n    - { id: b, from: vaild, filter: "true" }');
    const e = onlyError(text);
    expect(e.code).toBe('TRIB_TOPOLOGY_REFERENCE');
    expect(e.at).toBe(posOf(text, 'vaild'));
    expect(e.message).toContain("spec.pipeline[1].from: unknown input 'vaild'; did you mean 'valid'?");
  });

  it('a sink with an unknown input is reported at its from', () => {
    const text = topology(keyed, '    out: { from: nope, stdout: {} }');
    expect(messagesOf(text)).toEqual([`${posOf(text, 'nope')} spec.sinks.out.from: unknown input 'nope' (known: src, k, dlq)`]);
  });

  it('ids are unique across sources and steps', () => {
    const text = topology('    - { id: src, from: src, filter: "true" }');
    expect(messagesOf(text)).toEqual([
      `${posOf(text, 'src', 1)} spec.pipeline[0]: duplicate id 'src' (already used at line 6); sources and steps need unique ids`,
    ]);
  });

  it("'dlq' is reserved for steps, sources and sinks, and only sinks read it", () => {
    expect(messagesOf(topology('    - { id: dlq, from: src, filter: "true" }'))[0]).toContain("'dlq' is reserved");
    expect(messagesOf(topology(keyed).replace('    src:\n', '    dlq:\n').replace('from: src', 'from: dlq'))[0]).toContain("'dlq' is reserved");
    expect(messagesOf(topology('    - { id: a, from: dlq, filter: "true" }'))).toEqual([
      expect.stringContaining("spec.pipeline[0].from: only sinks can read 'dlq'"),
    ]);
  });

  it('`<step>.late` exists for window and dedupe steps only', () => {
    const ok = compile(withKey(
      '    - { id: w, from: k, window: { tumbling: 1m }, aggregate: { n: count() } }',
      '    - { id: d, from: k, dedupe: { within: 1m } }',
      '    - { id: late_rows, from: w.late, filter: "true" }',
    ).replace('from: dlq', 'from: d.late'));
    expect(ok.steps.find((st) => st.id === 'late_rows')!.from).toBe('w.late');
    expect(ok.sinks[0].from).toBe('d.late');
    const text = withKey('    - { id: a, from: k.late, filter: "true" }');
    expect(messagesOf(text)).toEqual([
      `${posOf(text, 'k.late')} spec.pipeline[1].from: 'k' is a keyBy step and has no late output: only dedupe and window steps do`,
    ]);
  });

  it('a cycle is refused, naming its steps', () => {
    const text = topology('    - { id: a, from: b, filter: "true" }\n    - { id: b, from: a, filter: "true" }\n    - { id: c, from: c, filter: "true" }');
    expect(messagesOf(text)).toEqual([
      `${posOf(text, 'from: b', 0, 6)} spec.pipeline[0].from: cycle: a → b → a; every step must read from something upstream`,
      `${posOf(text, 'from: c', 0, 6)} spec.pipeline[2].from: cycle: c → c; every step must read from something upstream`,
    ]);
  });
});

describe('keyed state needs a key', () => {
  it.each(['window: { tumbling: 1m }, aggregate: { n: count() }', 'dedupe: { within: 1m }'])('%s without keyBy upstream', (body) => {
    const kind = body.split(':')[0];
    const text = topology(`    - { id: f, from: src, filter: "true" }\n    - { id: x, from: f, ${body} }`);
    expect(messagesOf(text)).toEqual([
      `${posOf(text, `${kind}:`)} spec.pipeline[1].${kind}: ${kind} needs a keyed input: add a keyBy step before it (its input has no key)`,
    ]);
  });

  it('the key survives filter, map, explode and dedupe', () => {
    const plan = compile(withKey(
      '    - { id: f, from: k, filter: "true" }',
      '    - { id: m, from: f, map: { set: { x: "1" } } }',
      '    - { id: e, from: m, explode: contact_phones }',
      '    - { id: d, from: e, dedupe: { within: 1m } }',
      '    - { id: w, from: d, window: { tumbling: 1m }, aggregate: { n: count() } }',
    ));
    expect(plan.steps.map((st) => st.keyedBy)).toEqual(['user_id', 'user_id', 'user_id', 'user_id', 'user_id', 'user_id']);
  });
});

describe('windows', () => {
  const windowed = (window: string, extra = '') => withKey(`    - { id: w, from: k, window: ${window}, aggregate: { n: count() }${extra} }`);

  it('accept sizes from 1 minute to 7 days', () => {
    for (const w of ['{ tumbling: 1m }', '{ rolling: 7d, resolution: 1m }', '{ hopping: { size: 7d, slide: 1d } }', '{ session: { gap: 30m } }', '{ rolling: 1m }']) {
      expect(() => compile(windowed(w)), w).not.toThrow();
    }
    const plan = compile(windowed('{ rolling: 7d }'));
    expect((plan.steps[1] as WindowStep).window).toEqual({ kind: 'rolling', size: 7 * 86_400_000, resolution: 60_000 });
  });

  it('rolling size must be a multiple of the resolution', () => {
    const text = windowed('{ rolling: 90s, resolution: 1m }');
    expect(messagesOf(text)).toEqual([`${posOf(text, '90s')} spec.pipeline[1].window.rolling: rolling size 1m30s must be a multiple of resolution 1m`]);
  });

  it('rolling needs emit: updates', () => {
    const text = windowed('{ rolling: 1h }', ', emit: final');
    expect(messagesOf(text)).toEqual([expect.stringMatching(new RegExp(`^${posOf(text, 'final')} spec.pipeline\\[1\\].emit: rolling windows need emit: updates`))]);
  });

  it('hopping size must be a multiple of the slide', () => {
    const text = windowed('{ hopping: { size: 1h, slide: 7m } }');
    expect(messagesOf(text)).toEqual([`${posOf(text, '1h')} spec.pipeline[1].window.hopping.size: hopping size 1h must be a multiple of slide 7m`]);
  });

  it('hopping with emit updates over more than 100 windows per record is refused, suggesting rolling', () => {
    const text = windowed('{ hopping: { size: 3d, slide: 1m } }');
    expect(messagesOf(text)).toEqual([
      `${posOf(text, '{ size')} spec.pipeline[1].window.hopping: a 3d window sliding every 1m with emit: updates would update 4320 windows per record (at most 100); use { rolling: 3d, resolution: 1m } instead, or emit: final`,
    ]);
    expect(() => compile(windowed('{ hopping: { size: 3d, slide: 1m } }', ', emit: final'))).not.toThrow();
    expect(() => compile(windowed('{ hopping: { size: 100m, slide: 1m } }'))).not.toThrow();
  });

  it('an unknown aggregate function lists the valid ones, at the function name', () => {
    const text = withKey('    - id: w\n      from: k\n      window: { tumbling: 1m }\n      aggregate:\n        n: "  countd(x)"');
    expect(messagesOf(text)).toEqual([
      `${posOf(text, 'countd')} spec.pipeline[1].aggregate.n: unknown aggregate function 'countd'; did you mean 'count'? (valid: count, sum, min, max, avg, count_distinct, first, last, latest)`,
    ]);
  });

  it('count takes zero or one argument; the others need one', () => {
    const plan = compile(windowed('{ tumbling: 1m }').replace('n: count()', 'n: count(phone), s: sum(amount)'));
    const [n, s] = (plan.steps[1] as WindowStep).aggregates;
    expect(n.arg!({ phone: null }, 0)).toBeNull();
    expect(s.fn).toBe('sum');
    const text = windowed('{ tumbling: 1m }').replace('n: count()', 'n: sum()');
    expect(messagesOf(text)).toEqual([`${posOf(text, 'sum()', 0, 4)} spec.pipeline[1].aggregate.n: sum() needs an argument, e.g. sum(amount)`]);
  });
});

describe('expression errors point at the exact column', () => {
  it('in a double-quoted filter', () => {
    const text = topology('    - { id: a, from: src, filter: "amount > > 3" }');
    const e = onlyError(text);
    expect(e.code).toBe('TRIB_EXPRESSION');
    expect(e.at).toBe(posOf(text, '> 3'));
    expect(e.message).toContain("spec.pipeline[0].filter: invalid expression: unexpected '>'");
  });

  it('after escapes in double quotes and doubled quotes in single quotes', () => {
    const dq = topology('    - { id: a, from: src, filter: "name == \\"x\\" && @" }');
    expect(onlyError(dq).at).toBe(posOf(dq, '@'));
    const sq = topology("    - { id: a, from: src, filter: 'name == ''x'' && @' }");
    expect(onlyError(sq).at).toBe(posOf(sq, '@'));
  });

  it('in a plain scalar, a block scalar, a map.set value and an aggregate argument', () => {
    const plain = topology('    - id: a\n      from: src\n      filter: amount > 0 && @');
    expect(onlyError(plain).at).toBe(posOf(plain, '@'));
    const block = topology('    - id: a\n      from: src\n      filter: |\n        amount > 0 &&\n          @ == 1');
    expect(onlyError(block).at).toBe(posOf(block, '@'));
    const set = topology('    - { id: a, from: src, map: { set: { y: "amount * @" } } }');
    expect(onlyError(set)).toMatchObject({ at: posOf(set, '@'), path: 'spec.pipeline[0].map.set.y' });
    const agg = withKey('    - { id: w, from: k, window: { tumbling: 1m }, aggregate: { s: "sum( amount + )" } }');
    // 'unexpected end of expression': where the argument ends, at the closing parenthesis.
    expect(onlyError(agg)).toMatchObject({ at: posOf(agg, '+ )', 0, 2), path: 'spec.pipeline[1].aggregate.s' });
  });

  it('explode of an expression needs `as`', () => {
    const text = topology('    - { id: e, from: src, explode: "split(tags, \',\')" }');
    expect(messagesOf(text)).toEqual([`${posOf(text, 'explode')} spec.pipeline[0].as: explode of an expression needs 'as:' (the field each element is written to)`]);
  });
});

describe('state fingerprints', () => {
  const fp = (step: string, extraSpec = '') => {
    const plan = compile(topology(`${keyed}\n${step}`, '    out: { from: dlq, stdout: {} }', extraSpec));
    return (plan.steps[1] as { fingerprint: string }).fingerprint;
  };
  const win = (rest: string) => `    - { id: w, from: k, ${rest} }`;
  const base = win('window: { rolling: 1h }, aggregate: { n: count(), s: sum(amount) }');

  it('ignore emit mode, allowed lateness and YAML key order', () => {
    const a = fp(base);
    expect(fp(win('window: { rolling: 1h }, aggregate: { n: count(), s: sum(amount) }, allowedLateness: 5m'))).toBe(a);
    expect(fp(win('aggregate: { n: count(), s: sum(amount) }, window: { resolution: 1m, rolling: 1h }'))).toBe(a);
    const tumbling = fp(win('window: { tumbling: 1h }, aggregate: { n: count() }'));
    expect(fp(win('window: { tumbling: 1h }, aggregate: { n: count() }, emit: final'))).toBe(tumbling);
  });

  it('change with the window, the aggregates, the distinct limit and the key', () => {
    const a = fp(base);
    const variants = [
      fp(win('window: { rolling: 2h }, aggregate: { n: count(), s: sum(amount) }')),
      fp(win('window: { rolling: 1h, resolution: 5m }, aggregate: { n: count(), s: sum(amount) }')),
      fp(win('window: { rolling: 1h }, aggregate: { n: count(), s: sum(amount_yuan) }')),
      fp(win('window: { rolling: 1h }, aggregate: { n: count(), t: sum(amount) }')),
      fp(win('window: { rolling: 1h }, aggregate: { n: count(), s: sum(amount) }, distinctExactLimit: 5')),
      fp(base.replace('from: k', 'from: k2').concat('\n    - { id: k2, from: src, keyBy: device_id }')),
    ];
    expect(new Set([a, ...variants]).size).toBe(variants.length + 1);
    // The limit in effect counts, not where it was written.
    expect(fp(base, '  state: { distinctExactLimit: 5 }')).toBe(variants[4]);
  });

  it('of dedupe and code steps follow their definitions', () => {
    const d = fp(win('dedupe: { within: 10m, by: event_id }'));
    expect(fp(win('dedupe: { within: 10m, by: event_id }'))).toBe(d);
    expect(fp(win('dedupe: { within: 20m, by: event_id }'))).not.toBe(d);
    expect(fp(win('dedupe: { within: 10m }'))).not.toBe(d);
    const c = fp(win('code: ./a.ts, options: { x: 1 }'));
    expect(fp(win('code: ./a.ts, options: { x: 2 }'))).toBe(c);
    expect(fp(win('code: ./b.ts'))).not.toBe(c);
    expect(fp(win('code: ./a.ts, export: other'))).not.toBe(c);
  });
});

describe('errors do not cascade', () => {
  it('references to a broken step report only the step itself', () => {
    const text = withKey(
      '    - { id: w, from: k, window: { tumbling: 1m }, aggregate: { n: count() }, emitt: final }',
      '    - { id: a, from: w, filter: "true" }',
      '    - { id: b, from: w.late, filter: "true" }',
    );
    expect(errorsOf(text).map((e) => e.location.path)).toEqual(['spec.pipeline[1].emitt']);
  });
});

describe('document shape', () => {
  it('one YAML document per file', () => {
    expect(messagesOf(`${topology(keyed)}---\nmore: 1\n`)).toEqual([expect.stringContaining("a topology file holds one YAML document (remove the '---' separator)")]);
  });

  it('apiVersion and kind are checked', () => {
    const text = topology(keyed).replace('tributary/v1', 'tributary/v2');
    expect(messagesOf(text)).toEqual([`1:13 apiVersion: expected one of 'tributary/v1', got "tributary/v2"; did you mean 'tributary/v1'?`]);
  });
});
