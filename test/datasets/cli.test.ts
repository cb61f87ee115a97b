// `snnlm tokenizer train` in-process: trains on a built-in corpus and a JSONL
// file, writes a tokenizer folder that loads and round-trips, reports a short
// vocabulary instead of padding it, and rejects bad flags with usage errors.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../datasets/cli.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { cli } from '../helpers.js';
import { tempDir } from './fixtures.js';

describe('snnlm tokenizer train', () => {
  it('trains on builtin:sotu into a folder that loads and round-trips', async () => {
    const out = path.join(await tempDir(), 'tok');
    const r = await cli([
      'tokenizer',
      'train',
      '--data',
      'builtin:sotu',
      '--vocab-size',
      '400',
      '--max-chars',
      '200000',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({
      data: 'builtin:sotu',
      vocab_size: 400,
      requested_vocab_size: 400,
      merges: 400 - 3 - 256,
      characters: 200000,
      truncated: true,
      stop_reason: null,
      files: ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'],
    });
    expect(r.err).toMatch(/step 141\/141/); // the progress bar's last line
    const tok = await Tokenizer.fromFolder(out);
    expect([tok.vocabSize, tok.bosId, tok.eosId]).toEqual([400, 1, 2]);
    const text = 'Fellow-Citizens of the Senate and House of Representatives: 1790 → 2021 ✓';
    expect(tok.decode(tok.encode(text), { skipSpecialTokens: true })).toBe(text);
    // The first 200,000 characters are the first addresses; ' the' is a token.
    expect(tok.tokenize(' the')).toEqual(['Ġthe']);

    // A second run into the same folder needs --overwrite.
    const again = ['tokenizer', 'train', '--data', 'builtin:sotu', '--vocab-size', '300'];
    const refused = await cli([...again, '--max-chars', '1000', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/already holds a tokenizer.json.*--overwrite/);
  });

  it('reads JSONL fields and says when the corpus is too small for the vocabulary', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'tiny.jsonl');
    await writeFile(file, ['{"body":"low lower"}', '{"body":"lowest low"}'].join('\n'));
    const out = path.join(dir, 'tok');
    const r = await cli([
      'tokenizer',
      'train',
      '--data',
      `${file}:body`,
      '--vocab-size',
      '1000',
      '--special-tokens',
      '<|endoftext|>',
      '--bos-token',
      'none',
      '--eos-token',
      '<|endoftext|>',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.vocab_size).toBeLessThan(1000);
    expect(summary.stop_reason).toMatch(/no pair occurs 2 times or more/);
    expect(r.err).toMatch(/of the 1000 entries asked for/);
    const config = JSON.parse(await readFile(path.join(out, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({ add_bos_token: false, bos_token: null });
    expect(config.eos_token).toBe('<|endoftext|>');
    const tok = await Tokenizer.fromFolder(out);
    expect(tok.vocabSize).toBe(summary.vocab_size);
    expect(tok.encode('low')).toEqual(tok.encode('low', { addSpecialTokens: false }));
  });

  it('rejects missing and bad flags with the usage', async () => {
    const dir = await tempDir();
    const base = ['tokenizer', 'train', '--data', 'builtin:sotu', '--out', dir];
    const cases: [string[], RegExp][] = [
      [['tokenizer'], /unknown tokenizer action ""; known: train/],
      [['tokenizer', 'fit'], /unknown tokenizer action "fit"/],
      [['tokenizer', 'train', '--vocab-size', '300', '--out', dir], /--data is required/],
      [base, /--vocab-size is required/],
      [[...base, '--vocab-size', '3e2x'], /--vocab-size must be an integer, got "3e2x"/],
      [[...base, '--vocab-size', '100'], /vocabSize must be in \[259, /],
      [[...base, '--vocab-size', '300', '--max-chars', '0'], /maxChars must be a positive/],
      [[...base, '--vocab-size', '300', '--eos-token', '<eos>'], /--eos-token "<eos>" is not/],
      [
        ['tokenizer', 'train', '--data', 'builtin:nope', '--vocab-size', '300', '--out', dir],
        /unknown built-in corpus "nope"/,
      ],
      [[...base, '--vocab-size', '300', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });
});
