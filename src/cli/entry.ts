// Source entry for running the CLI without a build: `node --import tsx src/cli/entry.ts <cmd>`.
// Tests use it (test/helpers/cli.ts) so they exercise the same code as `tributary`.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
