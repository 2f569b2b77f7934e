/**
 * Error codes for the whole project (one list, prefixed, `as const`).
 * Every error thrown across a module boundary is a TributaryError with one of these codes.
 */
export const ErrorCodes = [
  'TRIB_TOPOLOGY_PARSE',        // YAML syntax
  'TRIB_TOPOLOGY_INVALID',      // schema/semantic error in a topology file
  'TRIB_TOPOLOGY_REFERENCE',    // unknown step/source/sink reference, cycle
  'TRIB_EXPRESSION',            // expression failed to parse/compile
  'TRIB_EXPRESSION_RUNTIME',    // expression failed on a record
  'TRIB_INTERPOLATION',         // ${VAR} missing without default
  'TRIB_STATE_INCOMPATIBLE',    // fingerprint mismatch
  'TRIB_STATE_IO',              // LevelDB failure
  'TRIB_RECORD_INVALID',        // bad record: decode failure, wrong type, missing time
  'TRIB_USER_OPERATOR',         // exception in a user `code:` operator
  'TRIB_SOURCE',                // source failure
  'TRIB_SOURCE_POSITION_LOST',  // a saved source position no longer exists (binlog purged)
  'TRIB_SINK',                  // sink failure
  'TRIB_SINK_BACKPRESSURE',     // sink asks the runtime to slow down
  'TRIB_CHECKPOINT',            // checkpoint failure
  'TRIB_USAGE',                 // CLI misuse
  'TRIB_BROKER_PROTOCOL',       // dev broker: malformed frame
  'TRIB_BROKER_STORAGE',        // dev broker: storage failure
  'TRIB_FENCED',                // a write by a stale lease holder (fencing token no longer current)
  'TRIB_INTERNAL',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export interface TributaryErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Where in a topology file something is. line/col are 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
  /** YAML path, e.g. spec.pipeline[2].window.rolling */
  path: string;
}

/** A topology error: always names file:line:col, the YAML path, and what was expected. Exit code 2. */
export class TopologyError extends TributaryError {
  readonly location: SourceLocation;
  constructor(code: ErrorCode, location: SourceLocation, message: string, options: TributaryErrorOptions = {}) {
    super(code, `${location.file}:${location.line}:${location.col}: ${location.path ? location.path + ': ' : ''}${message}`, options);
    this.name = 'TopologyError';
    this.location = location;
  }
}

/** Several topology errors reported at once (validate shows them all). */
export class TopologyErrors extends TributaryError {
  readonly errors: readonly TopologyError[];
  constructor(errors: readonly TopologyError[]) {
    super(errors[0]?.code ?? 'TRIB_TOPOLOGY_INVALID', errors.map((e) => e.message).join('\n'));
    this.name = 'TopologyErrors';
    this.errors = errors;
  }
}

/** A sink that cannot take more now; the runtime pauses sources and retries after retryAfterMs. */
export class SinkBackpressureError extends TributaryError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options: TributaryErrorOptions = {}) {
    super('TRIB_SINK_BACKPRESSURE', message, { ...options, retriable: true });
    this.name = 'SinkBackpressureError';
    this.retryAfterMs = retryAfterMs;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
