/** What a call threw, checked to be a TributaryError (for asserting its code and message). */
import { expect } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';

export function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error('no error thrown');
}

export async function rejected(p: Promise<unknown> | undefined): Promise<TributaryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error('resolved without error');
}
