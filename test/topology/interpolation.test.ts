import { describe, expect, it } from 'vitest';
import { describePlan, planToJson } from '../../src/topology/index.js';
import type { FilterStep } from '../../src/topology/plan.js';
import { compile, errorsOf, messagesOf, posOf, topology } from './helpers.js';

/** A topology whose generator count and rate are written as given (block style, so ${} needs no quotes). */
function withGenerator(count: string, rate = '0', sinks = '    out: { from: dlq, stdout: {} }'): string {
  return topology('    - { id: a, from: src, filter: "true" }', sinks).replace(
    '      generator: { preset: loan-applications, rate: 0, keys: 10, seed: 1 }',
    ['      generator:', '        preset: loan-applications', `        rate: ${rate}`, '        keys: 10', '        seed: 1', `        count: ${count}`].join('\n'),
  );
}

describe('${VAR} interpolation', () => {
  it('uses the default when the variable is unset or empty, the variable otherwise', () => {
    const text = withGenerator('${N:-200}');
    expect(compile(text).sources[0].config.count).toBe(200);
    expect(compile(text, { N: '' }).sources[0].config.count).toBe(200);
    expect(compile(text, { N: '7' }).sources[0].config.count).toBe(7);
  });

  it('works inside a longer string and in quoted flow values', () => {
    const plan = compile(topology('    - { id: a, from: src, filter: "true" }', '    out: { from: dlq, file: { path: "${DIR:-out}/${NAME}.jsonl" } }'), { NAME: 'x' });
    expect(plan.sinks[0].config.path).toBe('out/x.jsonl');
    expect(plan.sinks[0].displayConfig!.path).toBe('${DIR:-out}/${NAME}.jsonl');
  });

  it('a missing variable without default is an error at its ${', () => {
    const text = withGenerator('${TRIB_TEST_COUNT}');
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    const [e] = errors;
    expect(e.code).toBe('TRIB_INTERPOLATION');
    expect(`${e.location.line}:${e.location.col}`).toBe(posOf(text, '${TRIB_TEST_COUNT}'));
    expect(e.message).toContain('environment variable TRIB_TEST_COUNT is not set and has no default');
    const mid = topology('    - { id: a, from: src, filter: "true" }', '    out: { from: dlq, file: { path: "out/${MISSING}.jsonl" } }');
    expect(messagesOf(mid)[0].startsWith(`${posOf(mid, '${MISSING}')} spec.sinks.out.file.path:`)).toBe(true);
  });

  it('$${ writes a literal ${', () => {
    const plan = compile(topology(`    - { id: a, from: src, filter: "name == '$\${X}'" }`), { X: 'no' });
    expect((plan.steps[0] as FilterStep).predicate.source).toBe("name == '${X}'");
  });

  it('a malformed reference is an error', () => {
    const text = withGenerator('${1X}');
    expect(messagesOf(text)).toContainEqual(expect.stringContaining('malformed ${...}'));
  });

  it('coerces interpolated text to the type the field expects, naming the variable when it cannot', () => {
    expect(compile(withGenerator('10', '${RATE}'), { RATE: '2.5' }).sources[0].config.rate).toBe(2.5);
    const text = withGenerator('10', '${RATE}');
    expect(messagesOf(text, { RATE: 'fast' })).toEqual([`${posOf(text, '${RATE}')} spec.sources.src.generator.rate: expected a number >= 0, got the value of \${RATE}`]);
  });
});

describe('secrets', () => {
  const secret = 's3cr3t-Pa55';
  const redisSink = '    cache: { from: a, redis: { url: "redis://h:6379", password: "${REDIS_PW}" } }';

  it('come from the environment into the plan config, and nowhere else', () => {
    const plan = compile(withGenerator('10', '0', redisSink), { REDIS_PW: secret });
    expect(plan.sinks[0].config).toEqual({ url: 'redis://h:6379', password: secret });
    expect(plan.sinks[0].displayConfig).toEqual({ url: 'redis://h:6379', password: '${REDIS_PW}' });
    expect(describePlan(plan)).not.toContain(secret);
    expect(JSON.stringify(planToJson(plan))).not.toContain(secret);
    expect(describePlan(plan)).toContain('password: ${REDIS_PW}');
  });

  it('never appear in error messages', () => {
    const text = withGenerator('${REDIS_PW}', '${REDIS_PW}', redisSink);
    const messages = errorsOf(text, { REDIS_PW: secret }).map((e) => e.message);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.join('\n')).not.toContain(secret);
    const expr = topology('    - { id: a, from: src, filter: "${REDIS_PW} >" }');
    const exprMessages = errorsOf(expr, { REDIS_PW: secret }).map((e) => e.message);
    expect(exprMessages).toEqual([expect.stringContaining('invalid expression (after interpolating ${REDIS_PW} >)')]);
    expect(exprMessages.join()).not.toContain(secret);
  });

  it('written literally in the file are refused', () => {
    const text = withGenerator('10', '0', '    cache: { from: a, redis: { url: "redis://h", password: hunter2 } }');
    expect(messagesOf(text)).toEqual([
      `${posOf(text, 'hunter2')} spec.sinks.cache.redis.password: 'password' is a secret: write it as \${SOME_ENV_VAR} so it comes from the environment, not the file`,
    ]);
  });
});
