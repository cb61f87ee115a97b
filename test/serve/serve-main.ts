// `snnlm` run from the TypeScript sources (the SIGTERM test spawns it with
// `node --import tsx`), with the serve command registered as bin/snnlm.js does.
import { main } from '../../src/cli.js';
import '../../serve/cli.js';

process.exitCode = await main(process.argv.slice(2));
