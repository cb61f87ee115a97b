// The `snnlm` command: parses, validates and dispatches. Subcommands own their
// logic; this file only knows their names, one-line summaries and entry points.
import { parseArgs } from 'node:util';
import { initBackend } from './backend.js';
import { SnnlmError } from './errors.js';

/** A subcommand: `run` gets the arguments after its name and returns an exit code. */
export interface Command {
  summary: string;
  usage: string;
  run: (args: string[]) => Promise<number>;
}

const commands = new Map<string, Command>();

/** Add a subcommand (higher layers register theirs from their own entry files). */
export function registerCommand(name: string, command: Command): void {
  commands.set(name, command);
}

registerCommand('info', {
  summary: 'print the tensor backend, WebAssembly SIMD/threads and versions as JSON',
  usage: 'snnlm info [--backend tensorflow|wasm|cpu]',
  run: async (args) => {
    const { values } = parseArgs({ args, options: { backend: { type: 'string' } }, strict: true });
    const info = await initBackend(values.backend);
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return 0;
  },
});

function usage(): string {
  const names = [...commands.keys()].sort();
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${commands.get(n)!.summary}`);
  return [
    'usage: snnlm <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'snnlm <command> --help for its options',
  ].join('\n');
}

/** Run the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = commands.get(name);
  if (!command) {
    process.stderr.write(`snnlm: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (
      err instanceof SnnlmError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`snnlm ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
