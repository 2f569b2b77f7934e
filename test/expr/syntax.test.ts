import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError } from '../../src/expr/index.js';
import type { Row, Value } from '../../src/core/record.js';

const ev = (src: string, row: Row = {}): Value => compileExpression(src).evaluate(row);

/** The compile error for `src`: its message and offset. */
function compileError(src: string): { message: string; offset: number } {
  try {
    compileExpression(src);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionError);
    const e = err as ExpressionError;
    expect(e.code).toBe('TRIB_EXPRESSION');
    return e.info;
  }
  throw new Error(`expected a compile error for: ${src}`);
}

describe('literals', () => {
  it.each<[string, Value]>([
    ['42', 42],
    ['3.25', 3.25],
    ['1e3', 1000],
    ['2.5E-2', 0.025],
    ["'single'", 'single'],
    ['"double"', 'double'],
    [String.raw`'it\'s'`, "it's"],
    [String.raw`"tab\there\nline \\ \u00e9 \u{1F600}"`, 'tab\there\nline \\ é 😀'],
    ['true', true],
    ['false', false],
    ['null', null],
    ["[1, 'a', null, [true]]", [1, 'a', null, [true]]],
    ['[]', []],
  ])('%s', (src, expected) => {
    expect(ev(src)).toEqual(expected);
  });

  it('returns a fresh array on every evaluation, so a step may mutate it', () => {
    const e = compileExpression('[1, 2]');
    const first = e.evaluate({}) as Value[];
    first.push(3);
    expect(e.evaluate({})).toEqual([1, 2]);
  });
});

describe('precedence and associativity follow JavaScript', () => {
  it.each<[string, Value]>([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['100 / 10 / 5', 2],
    ['7 % 4 * 2', 6],
    ['2 * 7 % 4', 2],
    ['-2 * 3', -6],
    ['- -2', 2],
    ['1 + 1 == 2', true],
    ['2 < 3 == true', true],
    ['1 < 2 && 3 > 4', false],
    ['true || false && false', true],
    ['(true || false) && false', false],
    ['!true || true', true],
    ['!(true || true)', false],
    ["null ?? 'a' + 'b'", 'ab'],
    ['null ?? false || true', true],
    ['true ? 1 : 2 + 10', 1],
    ['false ? 1 : true ? 2 : 3', 2],
    ['true ? false ? 1 : 2 : 3', 2],
    ['1 == 1 ? 10 : 20', 10],
    ["'a' + 'b' in ['ab']", true],
    ["1 + 1 not in [2, 3]", false],
    ['2 in [1, 2] && 3 not in [1, 2]', true],
    ["'1' + 2 * 3", '16'],
  ])('%s = %j', (src, expected) => {
    expect(ev(src)).toEqual(expected);
  });

  it('allows whitespace and newlines anywhere between tokens', () => {
    expect(ev('  amount\n  *\t2 ', { amount: 4 })).toBe(8);
  });
});

describe('fields', () => {
  it('lists the top-level row fields read, once each, in order of use', () => {
    const e = compileExpression("lower(user.name) + $row['x-y'] + user.id + $item.z + coalesce(tags[0], amount) + upper(t)");
    expect(e.fields).toEqual(['user', 'x-y', 'tags', 'amount', 't']);
    expect(e.source).toBe("lower(user.name) + $row['x-y'] + user.id + $item.z + coalesce(tags[0], amount) + upper(t)");
  });

  it('does not count function names, member names or specials as fields', () => {
    expect(compileExpression('len(a.b.c) + $time + $key').fields).toEqual(['a']);
  });
});

describe('compile errors carry the offset of the offending token', () => {
  it.each<[string, number, RegExp]>([
    ['', 0, /empty expression/],
    ['   ', 0, /empty expression/],
    ['a +', 3, /unexpected end of expression/],
    ['a + * b', 4, /unexpected '\*'/],
    ['(a + b', 0, /unclosed '\('/],
    ['f(a, (b)', 1, /unclosed '\('/],
    ['[1, 2', 0, /unclosed '\['/],
    ['a[0', 1, /unclosed '\['/],
    ["x == 'abc", 5, /unclosed string/],
    ['x == "abc', 5, /unclosed string/],
    ["'bad \\q escape'", 5, /invalid escape/],
    ["'\\u12'", 1, /invalid unicode escape/],
    ['a b', 2, /unexpected 'b' after the end of the expression/],
    ['a + b )', 6, /unexpected '\)' after the end/],
    ['amount = 1', 7, /did you mean '=='/],
    ['a === b', 2, /use '=='/],
    ['a !== b', 2, /use '!='/],
    ['a & b', 2, /did you mean '&&'/],
    ['a | b', 2, /did you mean '\|\|'/],
    ['a # b', 2, /unexpected character '#'/],
    ['12abc', 0, /invalid number/],
    ['1e999', 0, /out of range/],
    ['$', 0, /'\$' must be followed by a name/],
    ['a.', 2, /expected a field name after '\.'/],
    ['a.1', 2, /expected a field name after '\.'/],
    ['x ? 1', 2, /'\?' without ':'/],
    ['x ? 1 2', 6, /expected ':'/],
    ['1 < 2 < 3', 6, /comparisons cannot be chained/],
    ['a == b != c', 7, /comparisons cannot be chained/],
    ['in', 0, /unexpected 'in'/],
    ['x in', 4, /unexpected end/],
  ])('%j -> offset %i', (src, offset, message) => {
    const info = compileError(src);
    expect(info.message).toMatch(message);
    expect(info.offset).toBe(offset);
  });

  it('names unknown functions at the name and lists close names', () => {
    const info = compileError('amount > 0 && lenght(name) > 3');
    expect(info.offset).toBe(14);
    expect(info.message).toBe("unknown function 'lenght'; did you mean len?");
    expect(compileError('x + uper(y)').message).toMatch(/did you mean upper\?/);
    expect(compileError('starts(x)').message).toMatch(/did you mean starts_with\?/);
  });

  it('lists every function when no name is close', () => {
    const info = compileError('zzzzzzz(1)');
    expect(info.message).toMatch(/^unknown function 'zzzzzzz'; known functions: lower, upper, .*json_string$/);
  });

  it('checks arity at compile time, at the function name', () => {
    expect(compileError('1 + substr(x)')).toEqual({ offset: 4, message: 'substr() takes 2 to 3 arguments, got 1: substr(s, start, len?)' });
    expect(compileError('lower(a, b)')).toEqual({ offset: 0, message: 'lower() takes 1 argument, got 2: lower(s)' });
    expect(compileError('if(a, b)').message).toBe('if() takes 3 arguments, got 2: if(condition, then, else)');
    expect(compileError('coalesce()').message).toMatch(/takes at least 1 argument/);
  });

  it('refuses calls of anything but a whitelisted name', () => {
    expect(compileError('a.lower()')).toEqual({ offset: 7, message: 'only the built-in functions can be called, by name: e.g. lower(name)' });
    expect(compileError('(lower)(x)').offset).toBe(7);
    expect(compileError('lower(x)(y)').offset).toBe(8);
  });

  it('refuses pathological nesting with a compile error, not a stack overflow', () => {
    expect(compileError('('.repeat(1000) + 'a' + ')'.repeat(1000))).toEqual({ offset: 200, message: 'expression nested more than 200 levels deep' });
    expect(compileError('!'.repeat(1000) + 'a').message).toBe('expression nested more than 200 levels deep');
    expect(compileError(Array(2000).fill('a').join(' + ')).message).toBe('expression too complex: more than 500 operators and field accesses');
    expect(compileError('a' + '.b'.repeat(2000)).message).toBe('expression too complex: more than 500 operators and field accesses');
    expect(ev(Array(400).fill('a').join(' + '), { a: 1 })).toBe(400);
  });

  it('puts offset and message on the error text too', () => {
    expect(() => compileExpression('a +')).toThrow('unexpected end of expression (at offset 3)');
  });
});
