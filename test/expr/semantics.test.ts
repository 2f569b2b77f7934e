import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionRuntimeError } from '../../src/expr/index.js';
import type { ExpressionScope } from '../../src/expr/index.js';
import type { Row, Value } from '../../src/core/record.js';

const ev = (src: string, row: Row = {}, scope?: ExpressionScope): Value => compileExpression(src).evaluate(row, scope);

function runtimeError(src: string, row: Row = {}): ExpressionRuntimeError {
  try {
    compileExpression(src).evaluate(row);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionRuntimeError);
    return err as ExpressionRuntimeError;
  }
  throw new Error(`expected a runtime error for: ${src}`);
}

const row: Row = {
  amount: 1250,
  fee: 1.5,
  user_id: 'u1',
  channel: 'app',
  user: { name: 'Ann', address: { city: 'Oslo' }, 'x-y': 7 },
  tags: ['a', 'b', 'c'],
  nothing: null,
  price: '12.50',
};

describe('field access', () => {
  it.each<[string, Value]>([
    ['amount', 1250],
    ['user.name', 'Ann'],
    ['user.address.city', 'Oslo'],
    ["user['x-y']", 7],
    ["user['address']['city']", 'Oslo'],
    ['tags[0]', 'a'],
    ['tags[2]', 'c'],
    ['tags[-1]', 'c'],
    ['tags[3]', null],
    ['tags[1.5]', null],
    ["tags['0']", null],
    ['missing', null],
    ['missing.deeper.still', null],
    ['nothing.x', null],
    ['user.name.first', null],
    ['amount.x', null],
    ['tags.length', null],
    ['channel.length', null],
    ["$row['user_id']", 'u1'],
    ['$row.amount', 1250],
  ])('%s', (src, expected) => {
    expect(ev(src, row)).toEqual(expected);
  });

  it('reads object fields by a computed key', () => {
    expect(ev('user[k]', { user: { a: 1 }, k: 'a' })).toBe(1);
    expect(ev('m[n]', { m: { '3': 'three' }, n: 3 })).toBe('three');
    expect(ev('tags[i + 1]', { tags: [10, 20], i: 0 })).toBe(20);
  });

  it('treats an undefined property like a missing one', () => {
    expect(ev('a', { a: undefined } as unknown as Row)).toBeNull();
  });
});

describe('specials and variables', () => {
  it('reads $time, $key and $name from the scope', () => {
    const scope: ExpressionScope = { time: 1_700_000_000_000, key: 'k1', vars: { item: { sku: 'x1' }, n: 3 } };
    expect(ev('$time', {}, scope)).toBe(1_700_000_000_000);
    expect(ev('$key', {}, scope)).toBe('k1');
    expect(ev('$item.sku', {}, scope)).toBe('x1');
    expect(ev('$n * amount', { amount: 2 }, scope)).toBe(6);
  });

  it('gives null for specials and variables the scope does not have', () => {
    expect(ev('$time')).toBeNull();
    expect(ev('$key', {}, {})).toBeNull();
    expect(ev('$item', {}, { vars: {} })).toBeNull();
    expect(ev('$toString', {}, { vars: {} })).toBeNull();
  });

  it('keeps row fields and variables apart', () => {
    expect(ev('item', { item: 'field' }, { vars: { item: 'var' } })).toBe('field');
    expect(ev('$item', { item: 'field' }, { vars: { item: 'var' } })).toBe('var');
  });

  it('gives $row the row itself', () => {
    const r = { a: 1 };
    expect(ev('$row', r)).toBe(r);
  });
});

describe('arithmetic', () => {
  it.each<[string, Value]>([
    ['amount / 100 + fee * 2', 15.5],
    ['amount % 7', 1250 % 7],
    ['-amount', -1250],
    ["price * 2", 25],
    ["price - 0.5", 12],
    ["-price", -12.5],
    ["' 3 ' * 2", 6],
    ['10 / 0', null],
    ['10 % 0', null],
    ["'a' + 1", 'a1'],
    ["1 + 'a'", '1a'],
    ["'x' + true", 'xtrue'],
    ['price + 1', '12.501'],
  ])('%s = %j', (src, expected) => {
    expect(ev(src, row)).toEqual(expected);
  });

  it('gives null when either side is null or missing', () => {
    for (const op of ['+', '-', '*', '/', '%']) {
      expect(ev(`nothing ${op} 2`, row)).toBeNull();
      expect(ev(`2 ${op} missing`, row)).toBeNull();
    }
    expect(ev("'a' + null")).toBeNull();
    expect(ev('-missing')).toBeNull();
  });
});

describe('comparison and equality', () => {
  it.each<[string, Value]>([
    ['amount > 1000', true],
    ['amount <= 1250', true],
    ['amount < 1250', false],
    ["'abc' < 'abd'", true],
    ["'b' >= 'a'", true],
    ["price > 12", true],
    ["12 < price", true],
    ['false < true', true],
    ['1 == 1', true],
    ["1 == '1'", false],
    ['true == 1', false],
    ["'a' != 'b'", true],
    ['[1, [2]] == [1, [2]]', true],
    ['[1, 2] == [2, 1]', false],
    ['user == user', true],
    ["user.address == json_parse('{\"city\":\"Oslo\"}')", true],
    ['tags == null', false],
  ])('%s = %j', (src, expected) => {
    expect(ev(src, row)).toBe(expected);
  });

  it('makes x == null true for null and missing fields, and ordering with null false', () => {
    expect(ev('nothing == null', row)).toBe(true);
    expect(ev('missing == null', row)).toBe(true);
    expect(ev('null == null', row)).toBe(true);
    expect(ev('missing != null', row)).toBe(false);
    expect(ev('missing == nothing', row)).toBe(true);
    for (const op of ['<', '<=', '>', '>=']) {
      expect(ev(`missing ${op} 1`, row)).toBe(false);
      expect(ev(`1 ${op} nothing`, row)).toBe(false);
      expect(ev(`null ${op} null`, row)).toBe(false);
    }
  });
});

describe('logic', () => {
  it.each<[string, Value]>([
    ['amount > 0 && user_id != null', true],
    ['amount && channel', true],
    ["amount && ''", false],
    ['0 || nothing', false],
    ['nothing || 5', true],
    ['!nothing', true],
    ['!0', true],
    ["!''", true],
    ['![]', false],
    ["nothing ?? 'dflt'", 'dflt'],
    ['0 ?? 5', 0],
    ["false ?? 'x'", false],
    ["missing.x ?? user.name", 'Ann'],
    ["amount > 1000 ? 'big' : 'small'", 'big'],
    ["nothing ? 'y' : 'n'", 'n'],
    ["channel in ['app', 'web']", true],
    ["channel not in ['app', 'web']", false],
    ["'pos' in ['app', 'web']", false],
    ['nothing in [1, null]', true],
    ['[1] in [[1], [2]]', true],
    ['[1] in [1, 2]', false],
    ["'b' in tags", true],
    ["'zz' in 'Ann'", false],
    ["'nn' in user.name", true],
    ['1 in missing', false],
    ['1 not in missing', true],
    ["x in ['a', 'b']", false],
  ])('%s = %j', (src, expected) => {
    expect(ev(src, row)).toEqual(expected);
  });

  it('only evaluates the side it needs', () => {
    expect(ev("true || 'a' * 2")).toBe(true);
    expect(ev("false && 'a' * 2")).toBe(false);
    expect(ev("1 ?? 'a' * 2")).toBe(1);
    expect(ev("true ? 1 : 'a' * 2")).toBe(1);
  });
});

describe('runtime type errors name the sub-expression and the operator', () => {
  it.each<[string, Row, string, number]>([
    ["'abc' * 2", {}, `'*' needs numbers, got string "abc" and number 2 in \`'abc' * 2\``, 0],
    ['amount > 0 && name * 2 > 1', { amount: 1, name: 'x' }, `'*' needs numbers, got string "x" and number 2 in \`name * 2\``, 14],
    ['-name', { name: 'x' }, `'-' needs a number, got string "x" in \`-name\``, 0],
    ['tags + 1', { tags: [1] }, `'+' needs numbers or strings, got array [1] and number 1 in \`tags + 1\``, 0],
    ["tags + 'x'", { tags: [1] }, `'+' cannot join array [1] and string "x"; use json_string() in \`tags + 'x'\``, 0],
    ['true + 1', {}, `'+' needs numbers or strings, got boolean true and number 1 in \`true + 1\``, 0],
    ["a < 'x'", { a: 3 }, `'<' cannot compare number 3 with string "x" in \`a < 'x'\``, 0],
    ['a >= b', { a: [1], b: [2] }, `'>=' cannot compare array [1] with array [2] in \`a >= b\``, 0],
    ['1 in 5', {}, `'in' needs an array or a string to look in, got number 5 in \`1 in 5\``, 0],
    ["1 not in 'abc'", {}, `'not in' needs a string to look for in a string, got number 1 in \`1 not in 'abc'\``, 0],
    ['len(amount)', { amount: 5 }, 'len() needs a string, array or object, got number 5 in `len(amount)`', 0],
  ])('%s', (src, r, message, offset) => {
    const err = runtimeError(src, r);
    expect(err.message).toBe(message);
    expect(err.code).toBe('TRIB_EXPRESSION_RUNTIME');
    expect(err.source).toBe(src);
    expect(err.offset).toBe(offset);
  });

  it('shortens long values in messages', () => {
    const err = runtimeError('s * 2', { s: 'x'.repeat(100) });
    expect(err.message).toBe(`'*' needs numbers, got string "${'x'.repeat(36)}... and number 2 in \`s * 2\``);
  });
});

describe('constant folding keeps the same results', () => {
  it('folds constant arithmetic, including values JSON cannot spell', () => {
    expect(ev('60 * 60 * 1000')).toBe(3_600_000);
    expect(ev('1e308 * 10')).toBe(Infinity);
    expect(ev('1e308 * 10 - 1e308 * 10')).toBeNaN();
    expect(Object.is(ev('-0'), -0)).toBe(true);
    expect(ev('x > -5', { x: -4 })).toBe(true);
  });

  it('leaves failing constant expressions to run time', () => {
    const e = compileExpression("1 + 'abc' * 2");
    expect(() => e.evaluate({})).toThrow(ExpressionRuntimeError);
  });
});
