/**
 * Rows reshaped by code generated per input shape. A topology's rows mostly share one shape (the
 * same fields in the same order: one producer's JSON, one table's binlog rows, one preset), and a
 * reshape written as a loop over the fields (`for…in`, a keyed load and store per field, two Set
 * lookups) cost ~0.5–0.9 µs per row of 11 fields, where an object literal of the output's fields
 * built by a function made for that shape costs ~0.07–0.1 µs (`npm run bench -- expressions`,
 * map step: 3.9–4.5M → 16.6–18.4M rows/s).
 *
 * The generated builder is derived from the general one, not written beside it: the general
 * builder is run once on a probe row of the shape whose every field and value is a marker, and
 * the literal lists the output's fields in the order and from the sources the general builder
 * chose. So both give the same row, field order included, by construction. A row whose fields
 * (names and order, as `for…in` lists them) are not exactly the shape's is built by the general
 * builder.
 */
import type { Row, Value } from '../core/record.js';

/** Builds the output row from the input row and the values computed for it (e.g. map's `set` expressions). */
export type RowBuilder = (input: Row, values: readonly Value[]) => Row;

/** A generated builder: undefined when the input is not of its shape. */
type ShapeBuilder = (input: Row, values: readonly Value[]) => Row | undefined;

/** Shapes generated per step: a stream of many shapes tries at most this many before the general path. */
const MAX_SHAPES = 4;
/** Shapes tried for generation per step (some are not eligible): after that, only the ones made are used. */
const MAX_ATTEMPTS = 16;
/** Wider rows are built by the general builder (generated code grows with the fields). */
const MAX_FIELDS = 256;

class Marker {
  constructor(readonly from: 'input' | 'value', readonly name: string, readonly index: number) {}
}

/**
 * `general` must be a pure function of its arguments' fields and values (it reads no other state
 * and never inspects a value, only moves it): the probe proves what it does with each field.
 */
export function shapedRows(general: RowBuilder, valueCount: number): RowBuilder {
  const shapes: ShapeBuilder[] = [];
  let attempts = 0;
  return (input, values) => {
    for (let i = 0; i < shapes.length; i++) {
      const out = shapes[i]!(input, values);
      if (out !== undefined) return out;
    }
    if (shapes.length < MAX_SHAPES && attempts < MAX_ATTEMPTS) {
      attempts++;
      // A shape that cannot be generated (or a builder that throws on the probe) stays general.
      let made: ShapeBuilder | undefined;
      try {
        made = generate(general, input, valueCount);
      } catch {
        made = undefined;
      }
      if (made !== undefined) shapes.push(made);
    }
    return general(input, values);
  };
}

/** The builder for `input`'s shape, or undefined when it has none (an inherited or odd field). */
function generate(general: RowBuilder, input: Row, valueCount: number): ShapeBuilder | undefined {
  const keys: string[] = [];
  for (const k in input) {
    if (!Object.hasOwn(input, k) || k === '__proto__') return undefined;
    keys.push(k);
  }
  if (keys.length > MAX_FIELDS) return undefined;
  const probe: Row = {};
  keys.forEach((k, i) => {
    probe[k] = new Marker('input', k, i) as unknown as Value;
  });
  const markers = Array.from({ length: valueCount }, (_, i) => new Marker('value', '', i) as unknown as Value);
  const out = general(probe, markers);
  const fields: string[] = [];
  for (const k in out) {
    const m = out[k] as unknown;
    if (!Object.hasOwn(out, k) || k === '__proto__' || !(m instanceof Marker)) return undefined;
    fields.push(`${JSON.stringify(k)}: ${m.from === 'input' ? `input[${JSON.stringify(m.name)}]` : `V[${m.index}]`}`);
  }
  if (fields.length > MAX_FIELDS) return undefined;
  // The guard compares names by identity of internalized strings: a few ns per field.
  const code = `"use strict";
return function shaped(input, V) {
  let i = 0;
  for (const k in input) {
    if (k !== K[i]) return undefined;
    i++;
  }
  if (i !== ${keys.length}) return undefined;
  return { ${fields.join(', ')} };
};`;
  return new Function('K', code)(keys) as ShapeBuilder;
}
