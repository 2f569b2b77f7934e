/**
 * Pratt parser: tokens -> AST. Precedence follows JavaScript, loosest first:
 *   c ? a : b  <  ??  <  ||  <  &&  <  == !=  <  < <= > >= in, not in  <  + -  <  * / %  <  ! -  <  . [] ()
 */
import type { BinaryOp, LogicalOp, Node } from './ast.js';
import { fail } from './errors.js';
import { tokenize, type Token } from './lexer.js';

const PRECEDENCE: Readonly<Record<string, number>> = {
  '??': 1, '||': 2, '&&': 3,
  '==': 4, '!=': 4,
  '<': 5, '<=': 5, '>': 5, '>=': 5, in: 5, 'not in': 5,
  '+': 6, '-': 6,
  '*': 7, '/': 7, '%': 7,
};
const EQUALITY = 4;
const RELATIONAL = 5;
const SPECIALS = new Set(['time', 'key', 'row']);
/** Far beyond anything readable; keeps a pathological input from overflowing the stack. */
const MAX_DEPTH = 200;
/** A long operator or member chain nests as deep as it is long in the AST and the generated code. */
const MAX_OPERATORS = 500;

export function parse(src: string): Node {
  return new Parser(src).parseAll();
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of expression';
  if (t.kind === 'string') return 'string';
  if (t.kind === 'dollar') return `'$${t.text}'`;
  return `'${t.text}'`;
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;
  private operators = 0;

  constructor(private readonly src: string) {
    this.tokens = tokenize(src);
  }

  parseAll(): Node {
    if (this.peek().kind === 'eof') fail('empty expression', 0);
    const node = this.parseConditional();
    const t = this.peek();
    if (t.kind !== 'eof') fail(`unexpected ${describe(t)} after the end of the expression`, t.start);
    return node;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  /** Consume the closing `text` of something opened by `open`; a missing one is reported at the opener. */
  private close(text: string, open: Token): Token {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === text) return this.next();
    if (t.kind === 'eof') fail(`unclosed '${open.text}'`, open.start);
    return fail(`expected '${text}' but found ${describe(t)}`, t.start);
  }

  private parseConditional(): Node {
    if (++this.depth > MAX_DEPTH) fail(`expression nested more than ${MAX_DEPTH} levels deep`, this.peek().start);
    try {
      return this.parseTernary();
    } finally {
      this.depth--;
    }
  }

  private parseTernary(): Node {
    const test = this.parseBinary(1);
    if (!this.isPunct('?')) return test;
    const q = this.next();
    const then = this.parseConditional();
    if (!this.isPunct(':')) {
      const t = this.peek();
      fail(t.kind === 'eof' ? `'?' without ':'` : `expected ':' but found ${describe(t)}`, t.kind === 'eof' ? q.start : t.start);
    }
    this.next();
    const otherwise = this.parseConditional();
    return { kind: 'conditional', test, then, otherwise, start: test.start, end: otherwise.end };
  }

  /** The binary operator at the cursor, if any, and how many tokens it spans. */
  private peekOperator(): { op: string; width: number; token: Token } | undefined {
    const t = this.peek();
    if (t.kind === 'punct' && PRECEDENCE[t.text] !== undefined) return { op: t.text, width: 1, token: t };
    if (t.kind === 'ident' && t.text === 'in') return { op: 'in', width: 1, token: t };
    if (t.kind === 'ident' && t.text === 'not') {
      const n = this.peek(1);
      if (n.kind === 'ident' && n.text === 'in') return { op: 'not in', width: 2, token: t };
    }
    return undefined;
  }

  private parseBinary(minPrec: number): Node {
    let left = this.parseUnary();
    for (;;) {
      const found = this.peekOperator();
      if (found === undefined) return left;
      const prec = PRECEDENCE[found.op];
      if (prec < minPrec) return left;
      this.pos += found.width;
      const right = this.parseBinary(prec + 1);
      left = this.combine(found.op, left, right, found.token.start);
      if (prec === EQUALITY || prec === RELATIONAL) {
        const chained = this.peekOperator();
        if (chained !== undefined && PRECEDENCE[chained.op] === prec) {
          fail(`comparisons cannot be chained; write 'a ${found.op} b && b ${chained.op} c' or add parentheses`, chained.token.start);
        }
      }
    }
  }

  private countStep(offset: number): void {
    if (++this.operators > MAX_OPERATORS) fail(`expression too complex: more than ${MAX_OPERATORS} operators and field accesses`, offset);
  }

  private combine(op: string, left: Node, right: Node, opStart: number): Node {
    this.countStep(opStart);
    const span = { start: left.start, end: right.end };
    if (op === '&&' || op === '||' || op === '??') return { kind: 'logical', op: op as LogicalOp, left, right, ...span };
    if (op === 'in' || op === 'not in') return { kind: 'in', negated: op === 'not in', left, right, ...span };
    return { kind: 'binary', op: op as BinaryOp, left, right, opStart, ...span };
  }

  private parseUnary(): Node {
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '!' || t.text === '-')) {
      this.next();
      if (++this.depth > MAX_DEPTH) fail(`expression nested more than ${MAX_DEPTH} levels deep`, t.start);
      const arg = this.parseUnary();
      this.depth--;
      return { kind: 'unary', op: t.text, arg, start: t.start, end: arg.end };
    }
    return this.parsePostfix();
  }

  private parsePostfix(): Node {
    let node = this.parsePrimary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') return node;
      if (t.text === '.' || t.text === '[') this.countStep(t.start);
      if (t.text === '.') {
        this.next();
        const name = this.next();
        if (name.kind !== 'ident') fail(`expected a field name after '.' but found ${describe(name)}`, name.start);
        const key: Node = { kind: 'literal', value: name.text, start: name.start, end: name.end };
        node = { kind: 'member', object: node, key, start: node.start, end: name.end };
      } else if (t.text === '[') {
        this.next();
        const key = this.parseConditional();
        const close = this.close(']', t);
        node = { kind: 'member', object: node, key, start: node.start, end: close.end };
      } else if (t.text === '(') {
        fail('only the built-in functions can be called, by name: e.g. lower(name)', t.start);
      } else {
        return node;
      }
    }
  }

  private parsePrimary(): Node {
    const t = this.next();
    const span = { start: t.start, end: t.end };
    switch (t.kind) {
      case 'number':
        return { kind: 'literal', value: t.num, ...span };
      case 'string':
        return { kind: 'literal', value: t.text, ...span };
      case 'dollar':
        if (SPECIALS.has(t.text)) return { kind: 'special', name: `$${t.text}` as '$time' | '$key' | '$row', ...span };
        return { kind: 'var', name: t.text, ...span };
      case 'ident':
        return this.parseIdentifier(t);
      case 'punct':
        if (t.text === '(') {
          const inner = this.parseConditional();
          const close = this.close(')', t);
          return { ...inner, start: t.start, end: close.end };
        }
        if (t.text === '[') return this.parseArray(t);
        return fail(`unexpected ${describe(t)}`, t.start);
      case 'eof':
        return fail('unexpected end of expression', t.start);
    }
  }

  private parseIdentifier(t: Token): Node {
    const span = { start: t.start, end: t.end };
    if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true', ...span };
    if (t.text === 'null') return { kind: 'literal', value: null, ...span };
    if (t.text === 'in') fail(`unexpected 'in'`, t.start);
    if (!this.isPunct('(')) return { kind: 'field', name: t.text, ...span };
    const open = this.next();
    const args: Node[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.parseConditional());
        if (!this.isPunct(',')) break;
        this.next();
      }
    }
    const close = this.close(')', open);
    return { kind: 'call', name: t.text, nameStart: t.start, args, start: t.start, end: close.end };
  }

  private parseArray(open: Token): Node {
    const items: Node[] = [];
    while (!this.isPunct(']')) {
      items.push(this.parseConditional());
      if (!this.isPunct(',')) break;
      this.next();
    }
    const close = this.close(']', open);
    return { kind: 'array', items, start: open.start, end: close.end };
  }
}
