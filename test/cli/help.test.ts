import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';

/** Every option each command had before parseArgs took over, so none is lost on the way. */
const commands: Record<string, string[]> = {
  run: ['data-dir', 'reset-state', 'quiet', 'app-id', 'from-timestamp', 'from-offsets', 'exit-when-idle', 'health-port', 'shutdown-timeout', 'log-level'],
  cdc: ['log-level'],
  demo: ['topology', 'count', 'quiet', 'local', 'log-level'],
  broker: ['port', 'data-dir', 'host', 'partitions', 'fsync', 'no-auto-create', 'verbose', 'log-level'],
  plan: ['json'],
  schema: ['markdown', 'out'],
  validate: [],
};

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('tributary <command> --help', () => {
  for (const [name, options] of Object.entries(commands)) {
    it(`${name} --help exits 0 and lists every option with a description`, async () => {
      expect(await main([name, '--help'])).toBe(0);
      expect(err).toBe('');
      expect(out).toMatch(new RegExp(`^Usage: tributary ${name}\\b`));
      for (const option of [...options, 'help']) {
        // `--name [VALUE]` then at least two spaces and a description.
        expect(out, `--${option}`).toMatch(new RegExp(`--${option}( [A-Z]+)? {2,}\\S.*`));
      }
      expect(await main([name, '-h'])).toBe(0);
    });

    it(`${name} rejects an unknown option with exit 1 and its usage`, async () => {
      expect(await main([name, '--no-such-option'])).toBe(1);
      expect(err).toContain(`tributary ${name}: Unknown option '--no-such-option'`);
      expect(err).toContain(`Usage: tributary ${name}`);
      expect(out).toBe('');
    });
  }

  it('shows defaults in the help', async () => {
    await main(['broker', '--help']);
    expect(out).toMatch(/--port PORT +.*\(default: 9092\)/);
    expect(out).toMatch(/--fsync POLICY +.*\(default: interval\)/);
    out = '';
    await main(['run', '--help']);
    expect(out).toMatch(/--shutdown-timeout DURATION +.*\(default: 30s\)/);
    expect(out).toMatch(/--log-level LEVEL +.*\(default: TRIBUTARY_LOG_LEVEL, else info\)/);
  });

  it('a value option without its value, or the wrong arguments, fail with the usage', async () => {
    expect(await main(['run', 'topologies/device-fraud.yaml', '--app-id'])).toBe(1);
    expect(err).toContain("Option '--app-id <value>' argument missing");
    expect(err).toContain('Usage: tributary run <topology.yaml> [options]');
    err = '';
    expect(await main(['plan', 'a.yaml', 'b.yaml'])).toBe(1);
    expect(err).toContain('tributary plan: takes 1 argument (<topology.yaml>), got 2');
    err = '';
    expect(await main(['run', 'topologies/device-fraud.yaml', '--log-level', 'loud'])).toBe(1);
    expect(err).toContain("--log-level 'loud' is not one of debug, info, warn, error");
  });

  it('top-level help lists the commands', async () => {
    expect(await main(['--help'])).toBe(0);
    for (const name of Object.keys(commands)) expect(out).toContain(`  ${name} `);
  });
});

describe('the installed CLI', () => {
  // The defect as a new user met it: both exited 1 with "unknown option --help".
  it.each(['run', 'cdc'])('tributary %s --help prints its usage and exits 0', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Usage: tributary ${name} <`);
    expect(r.code).toBe(0);
  });
});
