// The model commands of the CLI, run in-process: `convert llama2c` and
// `generate` flags, streaming and statistics, and clear errors with exit code 2
// for bad flags, bad values, unknown formats and missing or wrong files.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../models/cli.js';
import { tempFolder } from '../io/fixtures.js';
import { STORIES_BIN, TOK512_BIN, missing } from '../io/llama2c-fixtures.js';
import { cli, setupBackend } from '../helpers.js';

let dir = '';
let cleanup = async (): Promise<void> => undefined;
beforeAll(async () => {
  await setupBackend();
  ({ dir, cleanup } = await tempFolder());
});
afterAll(() => cleanup());

describe('cli: errors (exit code 2)', () => {
  it('names a missing model folder', async () => {
    const r = await cli(['generate', '--model', path.join(dir, 'nope'), '--prompt', 'x']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/snnlm generate: .*nope: model folder does not exist/);
    expect(r.out).toBe('');
  });

  it('rejects unknown flags, missing --model and bad numbers', async () => {
    const bad = [
      [['generate', '--model', dir, '--bogus'], /Unknown option '--bogus'/],
      [['generate', '--prompt', 'x'], /--model is required/],
      [
        ['generate', '--model', dir, '--max-new-tokens', '1.5'],
        /--max-new-tokens must be an integer, got "1.5"/,
      ],
      [['generate', '--model', dir, '--temperature', 'hot'], /--temperature must be a number/],
      [['generate', '--model', dir, '--top-p', ''], /--top-p must be a number/],
    ] as const;
    for (const [args, message] of bad) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });

  it('rejects an unknown source format and missing convert flags', async () => {
    let r = await cli(['convert', 'gguf', '--model', 'x']);
    expect([r.code, r.err]).toEqual([
      2,
      expect.stringMatching(/unknown source format "gguf"; known: llama2c/),
    ]);
    r = await cli(['convert', 'llama2c', '--model', 'x.bin']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--out is required/)]);
  });

  it('names a checkpoint that is not a llama2.c file', async () => {
    const file = path.join(dir, 'bad.bin');
    await writeFile(file, 'not a checkpoint at all, just text');
    const r = await cli(['convert', 'llama2c', '--model', file, '--out', path.join(dir, 'o')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: header field`);
  });

  it('prints usage for --help', async () => {
    const r = await cli(['generate', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: snnlm generate --model DIR/);
  });
});

describe('cli: stories260K', () => {
  const skip = missing(STORIES_BIN, TOK512_BIN);
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }
  let out = '';
  beforeAll(async () => {
    out = path.join(dir, 'stories');
    const args = [
      'convert',
      'llama2c',
      '--model',
      STORIES_BIN,
      '--tokenizer',
      TOK512_BIN,
      '--out',
      out,
    ];
    expect((await cli(args)).code).toBe(0);
  });

  it('refuses to overwrite a converted folder without --overwrite', async () => {
    const args = ['convert', 'llama2c', '--model', STORIES_BIN, '--out', out];
    const r = await cli(args);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/exists and is not empty/)]);
    expect((await cli([...args, '--tokenizer', TOK512_BIN, '--overwrite'])).code).toBe(0);
  });

  it('reproduces a sampled run from --seed and reports it', async () => {
    const args = ['generate', '--model', out, '--prompt', 'The cat', '--max-new-tokens', '30'];
    const sampled = [...args, '--temperature', '1', '--top-k', '40', '--top-p', '0.9'];
    const [a, b] = [await cli([...sampled, '--seed', '5']), await cli([...sampled, '--seed', '5'])];
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(a.out.startsWith('The cat')).toBe(true);
    expect(JSON.parse(a.err)).toMatchObject({ seed: 5, prompt_tokens: 4 }); // <s> ▁The ▁c at;
    const c = await cli([...sampled, '--seed', '6']);
    expect(c.out).not.toBe(a.out);
  });

  it('rejects a prompt longer than the context before printing anything', async () => {
    const prompt = 'the dog ran. '.repeat(200);
    const r = await cli(['generate', '--model', out, '--prompt', prompt]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the prompt has \d+ tokens; the model's context is 512/);
    expect(r.out).toBe('');
  });

  it('cuts at --stop and can leave the prompt out', async () => {
    const args = [
      'generate',
      '--model',
      out,
      '--prompt',
      'Once upon a time',
      '--stop',
      'Lily',
      '--no-echo',
    ];
    const r = await cli(args);
    expect(r.out).toBe(', there was a little girl named \n');
    expect(JSON.parse(r.err)).toMatchObject({ finish_reason: 'stop', stopped_by: 'Lily' });
  });
});
