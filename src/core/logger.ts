/**
 * Structured logs through pino: JSON lines to stderr, or readable lines (pino-pretty) when
 * stderr is a terminal. Secrets never reach the output: pino's `redact` censors them by field
 * name, so no call site has to remember to. Call sites use this small interface, not pino.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { TributaryError } from './errors.js';

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Default: TRIBUTARY_LOG_LEVEL, else info. */
  level?: LogLevel;
  /** Receives each line without its newline (tests); default stderr. */
  write?: (line: string) => void;
  /** Default: JSON unless stderr is a TTY. */
  json?: boolean;
  base?: Record<string, unknown>;
}

/** Fields whose value is a secret wherever they appear (top level or up to two objects deep). */
const SECRET_FIELDS = ['password', 'passwd', 'secret', 'token', 'accessToken', 'apiKey', 'authorization', 'Authorization', 'sasl'];
/** Fields that may hold a URL (or a message quoting one) with `user:password@` in it. */
const URL_FIELDS = ['url', 'uri', 'dsn', 'connectionString', 'brokers', 'target', 'error'];
const CENSORED = '[Redacted]';

const atDepths = (names: readonly string[]): string[] => names.flatMap((n) => [n, `*.${n}`, `*.*.${n}`]);
const secretPaths = new Set(SECRET_FIELDS);
// `scheme://user:pass@` or `scheme://token@`: keep the scheme and user, drop what proves identity.
const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/)(?:([^:/@\s]*):)?[^/@\s]+@/gi;

/** Strips the credentials of every URL in a string; other values pass unchanged. */
export function stripUrlCredentials(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(urlCredentials, (_m, scheme: string, user?: string) => `${scheme}${user === undefined ? '' : `${user}:`}***@`);
  if (Array.isArray(value)) return value.map(stripUrlCredentials);
  return value;
}

const redact = {
  paths: [...atDepths(SECRET_FIELDS), ...atDepths(URL_FIELDS)],
  censor: (value: unknown, path: string[]): unknown => (secretPaths.has(path[path.length - 1]!) ? CENSORED : stripUrlCredentials(value)),
};

export function parseLogLevel(text: string, where: string): LogLevel {
  if ((logLevels as readonly string[]).includes(text)) return text as LogLevel;
  throw new TributaryError('TRIB_USAGE', `${where} '${text}' is not one of ${logLevels.join(', ')}`);
}

export function defaultLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const text = env.TRIBUTARY_LOG_LEVEL;
  return text ? parseLogLevel(text, 'TRIBUTARY_LOG_LEVEL') : 'info';
}

const require = createRequire(import.meta.url);

function destination(options: LoggerOptions): DestinationStream {
  const { write } = options;
  const out: DestinationStream | number = write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : 2;
  if (options.json ?? !process.stderr.isTTY) return typeof out === 'number' ? pino.destination({ dest: out, sync: true }) : out;
  // Loaded only for a terminal: production (JSON) never pays for it. Used as a stream, in this
  // thread and synchronously (not as a transport): no worker thread that could hold the process
  // open or lose the last lines at exit.
  const pretty = require('pino-pretty') as (opts: PrettyOptions) => DestinationStream;
  return pretty({ destination: out, sync: true, colorize: write === undefined, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const root = pino(
    {
      level: options.level ?? defaultLogLevel(),
      base: options.base ?? null,
      redact,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(options),
  );
  return wrap(root);
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (msg, fields) => (fields ? p.debug(fields, msg) : p.debug(msg)),
    info: (msg, fields) => (fields ? p.info(fields, msg) : p.info(msg)),
    warn: (msg, fields) => (fields ? p.warn(fields, msg) : p.warn(msg)),
    error: (msg, fields) => (fields ? p.error(fields, msg) : p.error(msg)),
    child: (fields) => wrap(p.child(fields)),
  };
}

export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};
