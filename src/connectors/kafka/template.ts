/**
 * Text templates for record keys and headers: `{field}` takes a row field (`{a.b}` a nested
 * one), `{key}` the record key; `{{` and `}}` write literal braces. Compiled once per sink,
 * pure. A missing or null field is an error for that record (it goes to the DLQ) rather than
 * the text "undefined" in a key, which would silently merge unrelated keys.
 */
import { TributaryError } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';

type Part = { text: string } | { path: readonly string[]; ref: string };

export interface TemplateInput {
  key: Value;
  row: Row;
}

export interface Template {
  readonly source: string;
  /** Field references in order of appearance ('key' for the record key). */
  readonly fields: readonly string[];
  /** Throws TributaryError('TRIB_RECORD_INVALID') when a referenced field is missing or null. */
  render(input: TemplateInput): string;
  /** As render, but null when a referenced field is null (a missing field still throws). */
  renderOrNull(input: TemplateInput): string | null;
}

const fieldRef = /^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/;

export function compileTemplate(source: string): Template {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if ((c === '{' || c === '}') && source[i + 1] === c) {
      text += c;
      i += 2;
      continue;
    }
    if (c === '}') throw templateError(source, i, "unmatched '}' (write '}}' for a literal brace)");
    if (c === '{') {
      const end = source.indexOf('}', i + 1);
      if (end < 0) throw templateError(source, i, "unclosed '{' (write '{{' for a literal brace)");
      const ref = source.slice(i + 1, end).trim();
      if (!fieldRef.test(ref)) throw templateError(source, i, `'{${ref}}' is not a field name (expected {field} or {a.b})`);
      if (text) parts.push({ text });
      text = '';
      parts.push({ ref, path: ref.split('.') });
      i = end + 1;
      continue;
    }
    text += c;
    i++;
  }
  if (text || parts.length === 0) parts.push({ text });
  const fields = parts.flatMap((p) => ('ref' in p ? [p.ref] : []));
  return {
    source,
    fields,
    render(input: TemplateInput): string {
      let out = '';
      for (const p of parts) out += 'ref' in p ? renderValue(lookup(input, p.path), p.ref) : p.text;
      return out;
    },
    renderOrNull(input: TemplateInput): string | null {
      let out = '';
      for (const p of parts) {
        if (!('ref' in p)) out += p.text;
        else {
          const v = lookup(input, p.path);
          if (v === null) return null;
          out += renderValue(v, p.ref);
        }
      }
      return out;
    },
  };
}

function lookup(input: TemplateInput, path: readonly string[]): Value | undefined {
  let v: Value | undefined = path[0] === 'key' ? input.key : input.row[path[0]!];
  for (let k = 1; k < path.length; k++) {
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = Object.hasOwn(v, path[k]!) ? v[path[k]!] : undefined;
  }
  return v;
}

function renderValue(v: Value | undefined, ref: string): string {
  if (v === undefined) throw new TributaryError('TRIB_RECORD_INVALID', `template field '${ref}' is missing from the record`);
  if (v === null) throw new TributaryError('TRIB_RECORD_INVALID', `template field '${ref}' is null`);
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function templateError(source: string, at: number, message: string): TributaryError {
  return new TributaryError('TRIB_TOPOLOGY_INVALID', `template ${JSON.stringify(source)} at ${at}: ${message}`);
}
