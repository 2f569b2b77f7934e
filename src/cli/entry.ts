// Source entry for running the CLI without a build: `node --import tsx src/cli/entry.ts <cmd>`.
// Tests use it (test/helpers/cli.ts) so they exercise the same code as `tributary`.
import { exitAfterFlush, main } from './main.js';

await exitAfterFlush(await main(process.argv.slice(2)));
