#!/usr/bin/env node
// Entry point of the `snnlm` command: runs the compiled CLI (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
import { main } from '../dist/src/cli.js';
// Registers the model commands (convert, generate) before the CLI dispatches.
import '../dist/models/cli.js';
import '../dist/eval/cli.js';
import '../dist/serve/cli.js';
import '../dist/datasets/cli.js';
import '../dist/distill/cli.js';
import '../dist/vision/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`snnlm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
