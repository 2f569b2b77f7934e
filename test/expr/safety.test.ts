import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError, ExpressionRuntimeError } from '../../src/expr/index.js';
import type { ExpressionScope } from '../../src/expr/index.js';
import type { Row, Value } from '../../src/core/record.js';

const ev = (src: string, row: Row = {}, scope?: ExpressionScope): Value => compileExpression(src).evaluate(row, scope);

describe('no way out to JavaScript globals, prototypes or constructors', () => {
  it.each([
    "constructor.constructor('return process')()",
    "tags.constructor.constructor('return process')()",
    "$row.constructor('x')",
    "(constructor)('x')",
    "process.exit(1)",
    "require('fs')",
    "globalThis.process.exit(1)",
    "Function('return 1')()",
    "eval('1')",
    "this.constructor('x')",
  ])('%s does not compile', (src) => {
    expect(() => compileExpression(src)).toThrow(ExpressionError);
  });

  it.each([
    'constructor',
    'constructor.constructor',
    '__proto__',
    '__proto__.x',
    '__proto__.constructor',
    "$row['__proto__']",
    '$row.constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'this',
    'globalThis',
    'process',
    'require',
    'module',
    'tags.constructor',
    'tags.length',
    "tags['map']",
    'user.constructor.prototype',
    "'abc'.constructor",
    "'abc'.length",
    '[1, 2].constructor',
    '$time.constructor',
    '$key.__proto__',
    '$constructor',
    '$__proto__',
    "json_parse('{}').constructor",
  ])('%s reads null', (src) => {
    const scope: ExpressionScope = { time: 1, key: 'k', vars: {} };
    expect(ev(src, { tags: [1, 2], user: { name: 'a' } }, scope)).toBeNull();
  });

  it('reads a record\'s own __proto__ and constructor fields as plain data', () => {
    const r = JSON.parse('{"__proto__": {"x": 5}, "constructor": "c"}') as Row;
    expect(ev('__proto__.x', r)).toBe(5);
    expect(ev('constructor', r)).toBe('c');
  });

  it('ignores inherited properties of rows, nested objects and vars', () => {
    const proto = { secret: 's' };
    const r = Object.create(proto) as Row;
    r.nested = Object.create(proto) as Row;
    expect(ev('secret', r)).toBeNull();
    expect(ev('nested.secret', r)).toBeNull();
    expect(ev("nested['secret']", r)).toBeNull();
    expect(ev('$secret', {}, { vars: Object.create(proto) as Record<string, Value> })).toBeNull();
  });

  it('works on rows without a prototype', () => {
    const r = Object.create(null) as Row;
    r.a = 1;
    expect(ev('a + 1', r)).toBe(2);
    expect(ev('b', r)).toBeNull();
  });

  it('does not let json_parse pollute Object.prototype', () => {
    expect(ev(`json_parse('{"__proto__": {"polluted": 1}}').__proto__.polluted`)).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(ev('polluted')).toBeNull();
  });

  it('treats names and strings that look like code as data', () => {
    const nasty = ['"); process.exit(1); ("', "'); throw 1; //", '${process.exit(1)}', '*/ throw 1 /*', '\u2028\u2029', '`', '\\'];
    for (const text of nasty) {
      const literal = JSON.stringify(text);
      expect(ev(literal)).toBe(text);
      expect(ev(`$row[${literal}]`, { [text]: 'ok' })).toBe('ok');
      expect(ev(`a[${literal}]`, { a: { [text]: 1 } })).toBe(1);
      expect(ev(`$v[${literal}] ?? 'none'`, {}, { vars: { v: {} } })).toBe('none');
      expect(ev(`x == ${literal}`, { x: text })).toBe(true);
      expect(ev(`x in [${literal}]`, { x: text })).toBe(true);
    }
  });
});

describe('compiling arbitrary text', () => {
  it('throws nothing but ExpressionError, and what compiles evaluates to a value or an ExpressionRuntimeError', () => {
    const seed = 7_331;
    let s = seed;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    const pieces = ['a', 'b.c', '1', '0', "'x'", 'null', 'true', '(', ')', '[', ']', ',', '.', '?', ':', '!', '-', '+', '*', '/', '%',
      '<', '==', '!=', '&&', '||', '??', 'in', 'not', 'len(', 'substr(', 'matches(', 'constructor', '__proto__', '$row', '$time', '$v', ' '];
    for (let i = 0; i < 3_000; i++) {
      const src = Array.from({ length: 1 + rnd(10) }, () => pieces[rnd(pieces.length)]).join(' ');
      const context = `seed ${seed}, expression ${JSON.stringify(src)}`;
      let compiled;
      try {
        compiled = compileExpression(src);
      } catch (err) {
        expect(err, context).toBeInstanceOf(ExpressionError);
        const { offset } = (err as ExpressionError).info;
        expect(offset >= 0 && offset <= src.length, context).toBe(true);
        continue;
      }
      try {
        expect(compiled.evaluate({ a: rnd(3) - 1, b: { c: 'x' } }, { time: 5, vars: { v: 2 } }), context).not.toBeUndefined();
      } catch (err) {
        expect(err, context).toBeInstanceOf(ExpressionRuntimeError);
      }
    }
  });
});
