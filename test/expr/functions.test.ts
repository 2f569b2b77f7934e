import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError, ExpressionRuntimeError } from '../../src/expr/index.js';
import type { Row, Value } from '../../src/core/record.js';

const ev = (src: string, row: Row = {}): Value => compileExpression(src).evaluate(row);

const row: Row = {
  name: '  Ann Lee ',
  email: 'Ann@Example.COM',
  phone: 13812345678,
  tags: ['vip', 'new'],
  amount: -12.345,
  nothing: null,
  raw: '{"a":[1,2],"b":"x"}',
};

function runtimeMessage(src: string, r: Row = {}): string {
  try {
    compileExpression(src).evaluate(r);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionRuntimeError);
    return (err as Error).message;
  }
  throw new Error(`expected a runtime error for: ${src}`);
}

function compileErrorAt(src: string): { message: string; offset: number } {
  try {
    compileExpression(src);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionError);
    return (err as ExpressionError).info;
  }
  throw new Error(`expected a compile error for: ${src}`);
}

const cases: Record<string, Array<[string, Value]>> = {
  lower: [['lower(email)', 'ann@example.com'], ['lower(nothing)', null]],
  upper: [['upper(email)', 'ANN@EXAMPLE.COM'], ['upper(missing)', null]],
  trim: [['trim(name)', 'Ann Lee'], ['trim(nothing)', null]],
  len: [['len(trim(name))', 7], ['len(tags)', 2], ["len(json_parse(raw))", 2], ["len('')", 0], ['len(nothing)', null]],
  substr: [
    ["substr('abcdef', 1, 3)", 'bcd'],
    ["substr('abcdef', 2)", 'cdef'],
    ["substr('abcdef', -2)", 'ef'],
    ["substr('abcdef', -10, 2)", 'ab'],
    ["substr('abcdef', 4, 10)", 'ef'],
    ["substr('abcdef', 1, -1)", ''],
    ["substr('abcdef', 1.9, 2)", 'bc'],
    ['substr(nothing, 1)', null],
  ],
  concat: [
    ["concat('a', 1, true, nothing, 'z')", 'a1truez'],
    ['concat(tags, [1], nothing)', ['vip', 'new', 1]],
    ['concat(nothing)', ''],
  ],
  contains: [
    ["contains(email, '@')", true],
    ["contains(email, '#')", false],
    ["contains(tags, 'vip')", true],
    ["contains(tags, 'old')", false],
    ["contains(nothing, 'a')", false],
  ],
  starts_with: [["starts_with(email, 'Ann')", true], ["starts_with(email, 'ann')", false], ["starts_with(phone, '138')", true], ["starts_with(nothing, 'a')", false]],
  ends_with: [["ends_with(email, '.COM')", true], ["ends_with(email, 'x')", false], ["ends_with(email, nothing)", false]],
  replace: [
    ["replace('a-b-c', '-', '+')", 'a+b+c'],
    ["replace('a.b', '.', '$&')", 'a$&b'],
    ["replace('aaa', 'a', nothing)", ''],
    ["replace(nothing, 'a', 'b')", null],
  ],
  split: [["split('a,b,,c', ',')", ['a', 'b', '', 'c']], ["split('ab', '')", ['a', 'b']], ["split(nothing, ',')", null]],
  coalesce: [['coalesce(nothing, missing, 0, 5)', 0], ['coalesce(nothing, missing)', null], ["coalesce('x', 1 * 'lazy')", 'x']],
  abs: [['abs(amount)', 12.345], ['abs(3)', 3], ["abs('-2')", 2], ['abs(nothing)', null]],
  floor: [['floor(amount)', -13], ['floor(2.7)', 2], ['floor(nothing)', null]],
  ceil: [['ceil(amount)', -12], ['ceil(2.1)', 3]],
  round: [
    ['round(2.5)', 3],
    ['round(-2.5)', -3],
    ['round(amount, 2)', -12.35],
    ['round(1.005, 2)', 1.01],
    ['round(1234.5678, -2)', 1200],
    ['round(0.1 + 0.2, 10)', 0.3],
    ['round(1e-7, 2)', 0],
    ['round(nothing, 2)', null],
  ],
  min: [['min(3, 1, 2)', 1], ['min(3, nothing, 2)', 2], ['min(nothing)', null], ['min([4, 2, 8])', 2], ["min('b', 'a')", 'a']],
  max: [['max(3, 1, 2)', 3], ['max(nothing, -1)', -1], ['max([4, 2, 8])', 8]],
  number: [["number('12.5')", 12.5], ["number(' 7 ')", 7], ["number('abc')", null], ["number('')", null], ['number(true)', 1], ['number(3)', 3], ['number(nothing)', null]],
  string: [['string(12.5)', '12.5'], ['string(true)', 'true'], ["string('x')", 'x'], ['string(tags)', '["vip","new"]'], ['string(nothing)', null]],
  int: [["int('12.9')", 12], ['int(-12.9)', -12], ["int('x')", null], ['int(false)', 0], ['int(nothing)', null], ['int(1e308 * 10)', null]],
  is_null: [['is_null(nothing)', true], ['is_null(missing)', true], ['is_null(0)', false], ["is_null('')", false]],
  if: [["if(phone > 0, 'pos', 'neg')", 'pos'], ["if(nothing, 'y', 'n')", 'n'], ["if(true, 1, 'lazy' * 2)", 1]],
  parse_time: [
    ["parse_time('2024-05-01T10:37:12Z')", Date.UTC(2024, 4, 1, 10, 37, 12)],
    ["parse_time('2024-05-01T10:37:12.5Z')", Date.UTC(2024, 4, 1, 10, 37, 12, 500)],
    ["parse_time('2024-05-01 10:37:12')", Date.UTC(2024, 4, 1, 10, 37, 12)],
    ["parse_time('2024-05-01T10:37:12+08:00')", Date.UTC(2024, 4, 1, 2, 37, 12)],
    ["parse_time('2024-05-01T10:37-0130')", Date.UTC(2024, 4, 1, 12, 7)],
    ["parse_time('2024-05-01')", Date.UTC(2024, 4, 1)],
    ["parse_time('2024-02-30')", null],
    ["parse_time('2024-13-01')", null],
    ["parse_time('May 1 2024')", null],
    ['parse_time(1714559832000)', 1714559832000],
    ['parse_time(nothing)', null],
  ],
  format_time: [['format_time(1714559832000)', '2024-05-01T10:37:12.000Z'], ['format_time(nothing)', null], ['format_time(1e300)', null]],
  time_bucket: [
    ["time_bucket(parse_time('2024-05-01T10:37:12.345Z'), '1m')", Date.UTC(2024, 4, 1, 10, 37)],
    ["time_bucket(parse_time('2024-05-01T10:37:12Z'), '1h')", Date.UTC(2024, 4, 1, 10)],
    ["time_bucket(parse_time('2024-05-01T10:37:12Z'), '1d')", Date.UTC(2024, 4, 1)],
    ["time_bucket(parse_time('2024-05-01T10:37:12Z'), '15m')", Date.UTC(2024, 4, 1, 10, 30)],
    ["time_bucket(-1, '1s')", -1000],
    ["time_bucket(nothing, '1h')", null],
  ],
  hash: [
    // MurmurHash3 x86_32, seed 0, unsigned: the standard test vectors.
    ["hash('')", 0],
    ["hash('hello')", 613153351],
    ["hash('The quick brown fox jumps over the lazy dog')", 776992547],
    ["hash('foo')", 4138058784],
    ["hash(42) == hash('42')", true],
    ['hash([1, 2]) == hash(\'[1,2]\')', true],
    ['hash(nothing)', null],
  ],
  matches: [
    ["matches(phone, '^1[3-9]\\\\d{9}$')", true],
    ["matches(email, '^ann@', 'i')", true],
    ["matches(email, '^ann@')", false],
    ["matches(nothing, 'x')", false],
    ["matches('ab', '^' + 'a')", true],
  ],
  json_parse: [["json_parse(raw)", { a: [1, 2], b: 'x' }], ["json_parse(raw).a[1]", 2], ["json_parse('{bad')", null], ['json_parse(nothing)', null]],
  json_string: [['json_string(tags)', '["vip","new"]'], ["json_string('x')", '"x"'], ['json_string(nothing)', 'null']],
};

describe.each(Object.entries(cases))('%s()', (_name, table) => {
  it.each(table)('%s = %j', (src, expected) => {
    expect(ev(src, row)).toEqual(expected);
  });
});

it('covers every function of the whitelist', async () => {
  const { FUNCTIONS } = await import('../../src/expr/functions/catalog.js');
  expect(Object.keys(cases).sort()).toEqual([...FUNCTIONS.keys()].sort());
});

describe('type errors in functions', () => {
  it.each<[string, Row, string]>([
    ['len(n)', { n: 5 }, 'len() needs a string, array or object, got number 5 in `len(n)`'],
    ['lower(n)', { n: 5 }, 'lower() needs a string, got number 5 in `lower(n)`'],
    ["upper(a)", { a: ['x'] }, 'upper() needs a string, got array ["x"] in `upper(a)`'],
    ["abs('x')", {}, 'abs() needs a number, got string "x" in `abs(\'x\')`'],
    ['concat(a, 1)', { a: [1] }, 'concat() cannot mix arrays with number 1 in `concat(a, 1)`'],
    ['number(a)', { a: { x: 1 } }, 'number() cannot convert object {"x":1} in `number(a)`'],
    ["time_bucket(0, u)", { u: '1y' }, "time_bucket() needs a duration like '1m', '1h', '1d', got '1y' in `time_bucket(0, u)`"],
    ['round(1, 2.5)', {}, 'round() needs whole digits between -15 and 15, got number 2.5 in `round(1, 2.5)`'],
    ['min(1, a)', { a: [1] }, 'min() needs numbers or strings, got array [1] in `min(1, a)`'],
    ["max(1, 'x')", {}, "'max()' cannot compare string \"x\" with number 1 in `max(1, 'x')`"],
    ['parse_time(t)', { t: true }, 'parse_time() needs a string, got boolean true in `parse_time(t)`'],
    ['json_parse(5)', {}, 'json_parse() needs a string, got number 5 in `json_parse(5)`'],
  ])('%s', (src, r, message) => {
    expect(runtimeMessage(src, r)).toBe(message);
  });
});

describe('compile-time checks of literal arguments', () => {
  it('requires the matches() pattern to be a string literal (or literals folded into one)', () => {
    expect(compileErrorAt('matches(email, pattern)')).toEqual({ offset: 15, message: 'matches(): the pattern must be a string literal' });
    expect(compileErrorAt("matches(email, lower(p))").offset).toBe(15);
  });

  it('rejects an invalid regex at the pattern', () => {
    const info = compileErrorAt("x > 1 && matches(email, '([a-z')");
    expect(info.offset).toBe(24);
    expect(info.message).toMatch(/^matches\(\): invalid pattern: /);
  });

  it('rejects flags other than i, m, s, u (a global regex would keep state between records)', () => {
    expect(compileErrorAt("matches(email, 'a', 'g')")).toEqual({ offset: 20, message: "matches(): flags may only be i, m, s, u; got 'g'" });
  });

  it('rejects an invalid literal time_bucket size at the size', () => {
    expect(compileErrorAt("time_bucket($time, '1y')")).toEqual({ offset: 19, message: `time_bucket(): the size must be a duration like '1m', '1h', '1d', got "1y"` });
    expect(compileErrorAt('time_bucket($time, 60)').offset).toBe(19);
  });
});
