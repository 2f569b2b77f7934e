/** Tokenizer: source text -> tokens with offsets. Errors point at the offending character. */
import { fail } from './errors.js';

export type TokenKind = 'number' | 'string' | 'ident' | 'dollar' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Punctuation text, identifier name (for 'dollar': without the `$`), or decoded string. */
  text: string;
  /** Numeric value of a 'number' token. */
  num: number;
  start: number;
  end: number;
}

// Longest first, so '<=' wins over '<' and '??' over '?'.
const PUNCT = ['===', '!==', '&&', '||', '??', '==', '!=', '<=', '>=', '(', ')', '[', ']', ',', '.', '?', ':', '!', '<', '>', '+', '-', '*', '/', '%', '=', '&', '|'];
const MISTAKES: Readonly<Record<string, string>> = {
  '===': "use '==' (equality is always strict)",
  '!==': "use '!=' (equality is always strict)",
  '=': "assignment is not allowed; did you mean '=='?",
  '&': "did you mean '&&'?",
  '|': "did you mean '||'?",
};

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0', '\\': '\\', "'": "'", '"': '"', '/': '/',
};

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, text: string, start: number, num = 0): void => {
    tokens.push({ kind, text, num, start, end: i });
  };
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c)) {
      i = scanNumber(src, i);
      if (i < src.length && (isIdentPart(src[i]) || src[i] === '$')) fail(`invalid number '${src.slice(start, i + 1)}'`, start);
      const num = Number(src.slice(start, i));
      if (!Number.isFinite(num)) fail(`number out of range '${src.slice(start, i)}'`, start);
      push('number', src.slice(start, i), start, num);
    } else if (isIdentStart(c) || c === '$') {
      i++;
      while (i < src.length && isIdentPart(src[i])) i++;
      if (c === '$') {
        if (i === start + 1) fail("'$' must be followed by a name ($time, $key, $row or a variable)", start);
        push('dollar', src.slice(start + 1, i), start);
      } else {
        push('ident', src.slice(start, i), start);
      }
    } else if (c === '"' || c === "'") {
      const text = scanString(src, i);
      i = text.end;
      push('string', text.value, start);
    } else {
      const p = PUNCT.find((op) => src.startsWith(op, i));
      if (p === undefined) fail(`unexpected character '${c}'`, start);
      const hint = MISTAKES[p];
      if (hint !== undefined) fail(`unexpected '${p}': ${hint}`, start);
      i += p.length;
      push('punct', p, start);
    }
  }
  push('eof', '', i);
  return tokens;
}

function scanNumber(src: string, i: number): number {
  while (i < src.length && isDigit(src[i])) i++;
  if (src[i] === '.' && isDigit(src[i + 1] ?? '')) {
    i++;
    while (i < src.length && isDigit(src[i])) i++;
  }
  if (src[i] === 'e' || src[i] === 'E') {
    let j = i + 1;
    if (src[j] === '+' || src[j] === '-') j++;
    if (isDigit(src[j] ?? '')) {
      i = j;
      while (i < src.length && isDigit(src[i])) i++;
    }
  }
  return i;
}

function scanString(src: string, start: number): { value: string; end: number } {
  const quote = src[start];
  let i = start + 1;
  let out = '';
  while (i < src.length) {
    const c = src[i];
    if (c === quote) return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e === undefined) break;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 2;
    } else if (e === 'u') {
      const braced = src[i + 2] === '{';
      const hex = braced ? /^\{([0-9a-fA-F]{1,6})\}/.exec(src.slice(i + 2)) : /^[0-9a-fA-F]{4}/.exec(src.slice(i + 2));
      const code = hex === null ? NaN : parseInt(braced ? hex[1] : hex[0], 16);
      if (hex === null || code > 0x10ffff) fail('invalid unicode escape', i);
      out += String.fromCodePoint(code);
      i += 2 + hex[0].length;
    } else {
      fail(`invalid escape '\\${e}' in string`, i);
    }
  }
  return fail('unclosed string', start);
}
