/**
 * CLI dispatcher. Each command is one file in this folder exporting
 * `run(argv: string[]): Promise<number>` (the exit code); loaded lazily so a command's
 * dependencies (Kafka clients, LevelDB) load only when it runs.
 */
import { TopologyError, TopologyErrors, TributaryError, errorMessage } from '../core/errors.js';

const commands: Record<string, string> = {
  validate: 'Check topology files; exit 0 when valid, 2 with file:line:col when not',
  plan: 'Print the compiled plan (sub-topologies, steps, state) of a topology',
  schema: 'Write the JSON Schema of the topology format',
  run: 'Run a topology until its bounded inputs end or SIGTERM; resumes from the last checkpoint',
  demo: 'Run the loan-risk demo on embedded defaults and print a summary',
  broker: 'Start the single-node dev Kafka broker',
  cdc: 'Publish a MySQL/MariaDB binlog to Kafka (topic per table), one leader-elected reader per server',
};

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, help]) => `  ${name.padEnd(10)} ${help}`);
  return `Usage: tributary <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
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
    const mod = (await import(`./${name}.js`)) as CommandModule;
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
