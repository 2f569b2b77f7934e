/**
 * Each command declares its options once (type, one-line description, default); node:util
 * parseArgs parses them strictly, and `--help` and the usage printed on a bad option come from
 * the same declaration, so they cannot drift apart.
 */
import { parseArgs } from 'node:util';
import { TributaryError } from '../core/errors.js';
import { logLevels } from '../core/logger.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Applied when the option is absent (string options). */
  default?: string;
  /** Shown in --help when the default is computed elsewhere (e.g. from the topology). */
  defaultText?: string;
  /** Placeholder for the value in --help, e.g. DIR. */
  value?: string;
  short?: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  name: string;
  summary: string;
  /** Positional arguments as shown in usage, e.g. `<topology.yaml>` or `<file>...`. */
  args?: string;
  /** How many positional arguments the command takes (default 0..0). */
  positionals?: { min: number; max: number };
  options: O;
  /** Extra lines after the options (examples, environment). */
  notes?: string;
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : S extends { default: string } ? string : string | undefined;
export type OptionValues<O extends Record<string, OptionSpec>> = { [K in keyof O]: ValueOf<O[K]> };

export interface ParsedCommand<O extends Record<string, OptionSpec>> {
  values: OptionValues<O>;
  positionals: string[];
}

/** The --log-level option of every command that logs. */
export const logLevelOption = {
  type: 'string',
  value: 'LEVEL',
  description: `Log level: ${logLevels.join(', ')}`,
  defaultText: 'TRIBUTARY_LOG_LEVEL, else info',
} as const satisfies OptionSpec;

/** --kafka-retry-timeout of the commands that talk to Kafka (src/kafka/retry.ts). */
export const kafkaRetryTimeoutOption = {
  type: 'string',
  value: 'DURATION',
  description: 'How long every Kafka call retries retriable broker failures (broker down, leader or coordinator moving) before the process fails',
  defaultText: '5m',
} as const satisfies OptionSpec;

export function usageOf<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const def = o.default ?? o.defaultText;
    return [flag, `${o.description}${def === undefined ? '' : ` (default: ${def})`}`] as const;
  });
  rows.push(['-h, --help', 'Show this help and exit']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const options = rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join('\n');
  const head = `Usage: tributary ${spec.name}${spec.args ? ` ${spec.args}` : ''}${rows.length > 1 ? ' [options]' : ''}`;
  return `${head}\n\n${spec.summary}\n\nOptions:\n${options}\n${spec.notes ? `\n${spec.notes}\n` : ''}`;
}

/**
 * Parses argv by the command's declaration. Returns undefined after printing the help when
 * --help/-h is given; throws TRIB_USAGE (message + usage) on an unknown option, a missing value
 * or the wrong number of positional arguments.
 */
export function parseCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: readonly string[]): ParsedCommand<O> | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new TributaryError('TRIB_USAGE', `${(err as Error).message}\n\n${usageOf(spec)}`);
  }
  if (parsed.values.help === true) {
    process.stdout.write(usageOf(spec));
    return undefined;
  }
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    const want = max === 0 ? 'no arguments' : min === max ? `${min} argument${min === 1 ? '' : 's'}` : max === Infinity ? `at least ${min} argument${min === 1 ? '' : 's'}` : `${min} to ${max} arguments`;
    throw new TributaryError('TRIB_USAGE', `takes ${want}${spec.args ? ` (${spec.args})` : ''}, got ${n}\n\n${usageOf(spec)}`);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const v = parsed.values[name];
    values[name] = o.type === 'boolean' ? v === true : typeof v === 'string' ? v : undefined;
  }
  return { values: values as OptionValues<O>, positionals: parsed.positionals };
}
