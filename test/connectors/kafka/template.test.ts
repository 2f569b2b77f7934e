import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../../src/connectors/kafka/template.js';
import { TributaryError } from '../../../src/core/errors.js';

const row = { user_id: 'u1', window_start: 1_700_000_000_000, n: 0, ok: false, geo: { city: 'Lyon' }, tags: ['a', 'b'], none: null };

describe('key/header templates', () => {
  it('fills row fields and the record key', () => {
    expect(compileTemplate('{user_id}:{window_start}').render({ key: 'k', row })).toBe('u1:1700000000000');
    expect(compileTemplate('{key}').render({ key: 'dev-7', row })).toBe('dev-7');
    expect(compileTemplate('{key}').render({ key: 42, row })).toBe('42');
    expect(compileTemplate('{ geo.city }/{n}/{ok}').render({ key: null, row })).toBe('Lyon/0/false');
    expect(compileTemplate('{tags}').render({ key: null, row })).toBe('["a","b"]');
    expect(compileTemplate('{key.id}').render({ key: { id: 9 }, row })).toBe('9');
  });

  it('writes literal text and doubled braces as they are', () => {
    expect(compileTemplate('features').render({ key: null, row })).toBe('features');
    expect(compileTemplate('').render({ key: null, row })).toBe('');
    expect(compileTemplate('{{{user_id}}}').render({ key: null, row })).toBe('{u1}');
  });

  it('lists the fields it references', () => {
    expect(compileTemplate('{user_id}:{key}:{geo.city}').fields).toEqual(['user_id', 'key', 'geo.city']);
  });

  it('refuses a record whose field is missing or null, naming the field', () => {
    const t = compileTemplate('{user_id}:{device_id}');
    expect(() => t.render({ key: null, row })).toThrow(/template field 'device_id' is missing/);
    expect(() => compileTemplate('{none}').render({ key: null, row })).toThrow(/'none' is null/);
    expect(() => compileTemplate('{key}').render({ key: null, row })).toThrow(/'key' is null/);
    expect(() => compileTemplate('{geo.zip}').render({ key: null, row })).toThrow(/'geo.zip' is missing/);
    try {
      t.render({ key: null, row });
    } catch (err) {
      expect(err).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).code).toBe('TRIB_RECORD_INVALID');
    }
  });

  it('rejects malformed templates when compiled', () => {
    expect(() => compileTemplate('{user_id')).toThrow(/unclosed '\{'/);
    expect(() => compileTemplate('a}b')).toThrow(/unmatched '\}'/);
    expect(() => compileTemplate('{}')).toThrow(/is not a field name/);
    expect(() => compileTemplate('{a b}')).toThrow(/is not a field name/);
  });
});
