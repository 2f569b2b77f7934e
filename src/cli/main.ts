/**
 * CLI dispatcher. Each command is one file in this folder exporting
 * `run(argv: string[]): Promise<number>` (the exit code); loaded lazily so a command's
 * dependencies (Kafka clients, LevelDB) load only when it runs.
 */
import { TopologyError, TopologyErrors, TributaryError, errorMessage } from '../core/errors.js';

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

/** One line each for `tributary --help`; each command's own --help comes from its option spec. */
const commands: Record<string, { help: string; load: () => Promise<CommandModule> }> = {
  validate: { help: 'Check topology files; exit 0 when valid, 2 with file:line:col when not', load: () => import('./validate.js') },
  plan: { help: 'Print the compiled plan (sub-topologies, steps, state) of a topology', load: () => import('./plan.js') },
  schema: { help: 'Write the JSON Schema of the topology format', load: () => import('./schema.js') },
  run: { help: 'Run a topology until its bounded inputs end or SIGTERM; resumes from the last checkpoint', load: () => import('./run.js') },
  demo: { help: 'Run the loan-risk demo on embedded defaults and print a summary', load: () => import('./demo.js') },
  broker: { help: 'Start the single-node dev Kafka broker', load: () => import('./broker.js') },
  cdc: { help: 'Publish a MySQL/MariaDB binlog to Kafka (topic per table), one leader-elected reader per server', load: () => import('./cdc.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, { help }]) => `  ${name.padEnd(10)} ${help}`);
  return `Usage: tributary <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n\`tributary <command> --help\` lists a command's options.\n`;
}

/**
 * Ends the process once a command returned. A command that failed can leave a socket or timer
 * behind (a Kafka connection being retried, a client's metadata refresh) that would keep Node
 * alive after the error was reported, so a supervisor would never see the exit. Logs are written
 * synchronously (core/logger.ts); stdout and stderr are drained before exiting.
 */
export async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => {
    if (s.writableLength === 0 && !s.writableNeedDrain) resolve();
    else s.write('', () => resolve());
  })));
  process.exit(code);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  if (!(name in commands)) {
    process.stderr.write(`tributary: unknown command '${name}'\n\n${usage()}`);
    return 1;
  }
  try {
    const mod = await commands[name]!.load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof TopologyError || err instanceof TopologyErrors) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (err instanceof TributaryError && err.code === 'TRIB_USAGE') {
      process.stderr.write(`tributary ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`tributary ${name}: ${errorMessage(err)}\n`);
    if (process.env.TRIBUTARY_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 1;
  }
}
