// The data commands of `snnlm`, registered on import (bin/snnlm.js imports this
// file): `tokenizer train`, a byte-level BPE tokenizer trained on a corpus read
// through this folder's readers (files, JSONL, globs, builtin:NAME), written as
// a Hugging Face tokenizer folder. A summary goes to stdout as one JSON line,
// the progress bar to stderr.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { registerCommand } from '../src/cli.js';
import { ConfigError } from '../src/errors.js';
import { ProgressBar } from '../src/progress.js';
import {
  DEFAULT_SPECIAL_TOKENS,
  saveTokenizerFolder,
  trainBpeTokenizer,
} from '../src/tokenizer/index.js';
import { formatCorpusSpec } from './corpus-spec.js';
import { readCorpus } from './read-corpus.js';

const TRAIN_USAGE =
  'snnlm tokenizer train --data SRC [--data SRC]... --vocab-size N --out DIR ' +
  '[--min-frequency 2] [--special-tokens "<unk>,<s>,</s>"] [--bos-token <s>|none] ' +
  '[--eos-token </s>|none] [--max-chars N] [--overwrite]\n' +
  '  SRC: a text file, file.jsonl[:field], a glob, or builtin:moby-dick | builtin:sotu';

/** Parse an integer flag strictly: the whole string must be an integer. */
function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n)) throw new ConfigError(`--${flag} must be an integer, got "${value}"`);
  return n;
}

/** A special-token flag: `none` (or empty) turns it off. */
function tokenFlag(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  return value === '' || value === 'none' ? null : value;
}

async function train(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string', multiple: true },
      'vocab-size': { type: 'string' },
      out: { type: 'string' },
      'min-frequency': { type: 'string' },
      'special-tokens': { type: 'string' },
      'bos-token': { type: 'string' },
      'eos-token': { type: 'string' },
      'max-chars': { type: 'string' },
      overwrite: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const data = values.data ?? [];
  if (data.length === 0) throw new ConfigError('--data is required', TRAIN_USAGE);
  const vocabSize = intFlag(values['vocab-size'], 'vocab-size');
  if (vocabSize === undefined) throw new ConfigError('--vocab-size is required', TRAIN_USAGE);
  const out = values.out;
  if (!out) throw new ConfigError('--out is required', TRAIN_USAGE);
  const specialTokens =
    values['special-tokens'] === undefined
      ? [...DEFAULT_SPECIAL_TOKENS]
      : values['special-tokens'].split(',').filter((t) => t !== '');
  const bosToken = tokenFlag(values['bos-token']);
  const eosToken = tokenFlag(values['eos-token']);
  if (eosToken && !specialTokens.includes(eosToken)) {
    throw new ConfigError(
      `--eos-token ${JSON.stringify(eosToken)} is not one of the special tokens`,
      `--special-tokens: ${specialTokens.join(',')}`,
    );
  }
  const existing = await stat(join(out, 'tokenizer.json')).catch(() => null);
  if (existing && !values.overwrite) {
    throw new ConfigError(
      `${out} already holds a tokenizer.json`,
      'pass --overwrite to replace it',
    );
  }

  const spec = data.length === 1 ? data[0] : data;
  async function* texts(): AsyncGenerator<string> {
    for await (const piece of readCorpus(spec)) yield piece.text;
  }
  let bar: ProgressBar | null = null;
  const started = performance.now();
  const result = await trainBpeTokenizer(texts(), {
    vocabSize,
    minFrequency: intFlag(values['min-frequency'], 'min-frequency'),
    specialTokens,
    bosToken,
    maxChars: intFlag(values['max-chars'], 'max-chars'),
    onProgress: (done, total) => {
      bar ??= new ProgressBar({ total, everySteps: Math.max(1, Math.ceil(total / 10)) });
      bar.update(done);
    },
  });
  (bar as ProgressBar | null)?.close();
  const seconds = (performance.now() - started) / 1000;
  if (result.stopReason) process.stderr.write(`snnlm tokenizer train: ${result.stopReason}\n`);
  const files = await saveTokenizerFolder(out, result.json, {
    bosToken,
    eosToken: eosToken === undefined ? undefined : eosToken,
  });
  const summary = {
    out,
    data: formatCorpusSpec(spec),
    vocab_size: result.vocabSize,
    requested_vocab_size: result.requestedVocabSize,
    merges: result.merges,
    characters: result.chars,
    truncated: result.truncated,
    words: result.words,
    unique_words: result.uniqueWords,
    tokens: result.tokens,
    chars_per_token: result.tokens > 0 ? Number((result.chars / result.tokens).toFixed(3)) : null,
    time_s: Number(seconds.toFixed(3)),
    stop_reason: result.stopReason,
    files,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

registerCommand('tokenizer', {
  summary: 'train a byte-level BPE tokenizer on a corpus (writes a Hugging Face tokenizer folder)',
  usage: TRAIN_USAGE,
  run: async ([action, ...rest]) => {
    if (action !== 'train') {
      throw new ConfigError(
        `unknown tokenizer action ${JSON.stringify(action ?? '')}; known: train`,
        TRAIN_USAGE,
      );
    }
    return train(rest);
  },
});
