import { errorMessage } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import type { OperatorContext } from './types.js';

/** An expression failed on one record: dead-letter it with the step and reason; processing goes on. */
export function expressionFailure(ctx: OperatorContext, record: StreamRecord, stepId: string, what: string, err: unknown): void {
  ctx.deadLetter(record, `${what} of step '${stepId}' failed: ${errorMessage(err)}`, err);
}
