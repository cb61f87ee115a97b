// The model commands of `snnlm`, registered on import (bin/snnlm.js imports this
// file): `convert llama2c` (a llama2.c checkpoint + tokenizer to a Hugging Face
// LLaMA folder) and `generate` (text from a model folder, streamed to stdout,
// statistics as one JSON line on stderr). Flags use the Hugging Face / OpenAI
// spellings users know (conventions.md 1.2 and 4).
import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { registerCommand } from '../src/cli.js';
import { ConfigError, FormatError } from '../src/errors.js';
import { generate, generationDefaults, mergeOptions } from '../src/generate/index.js';
import type { GenerateOptions } from '../src/generate/index.js';
import {
  loadModelFolder,
  readLlama2cCheckpoint,
  readLlama2cTokenizer,
  saveLlama2cAsHf,
} from '../src/io/index.js';
import {
  Tokenizer,
  llamaTokenizerFiles,
  parseSentencePieceModel,
  vocabFromLlama2c,
} from '../src/tokenizer/index.js';
import type { VocabPiece } from '../src/tokenizer/index.js';
import { loadCausalLM } from './index.js';

/** Default number of new tokens of `snnlm generate` (llama2.c's `-n 256`). */
const DEFAULT_NEW_TOKENS = 256;

/** Parse a numeric flag strictly: the whole string must be a number (an integer if asked). */
function numberFlag(value: string | undefined, flag: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new ConfigError(
      `--${flag} must be ${integer ? 'an integer' : 'a number'}, got "${value}"`,
    );
  }
  return n;
}

function required(value: string | undefined, flag: string, usage: string): string {
  if (!value) throw new ConfigError(`--${flag} is required`, usage);
  return value;
}

/** A tokenizer file as a sentencepiece vocabulary: a `.model` protobuf or a llama2.c `.bin`. */
async function readVocab(path: string, vocabSize: number): Promise<VocabPiece[]> {
  if (path.endsWith('.model')) {
    const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new FormatError(path, `cannot read the tokenizer (${e.code ?? e.message})`);
    });
    const vocab = parseSentencePieceModel(bytes, path);
    if (vocab.length !== vocabSize) {
      throw new FormatError(path, `has ${vocab.length} pieces, the model has ${vocabSize}`);
    }
    return vocab;
  }
  const { pieces, scores } = await readLlama2cTokenizer(path, vocabSize);
  return vocabFromLlama2c(pieces, scores);
}

const CONVERT_USAGE =
  'snnlm convert llama2c --model model.bin [--tokenizer tok512.bin|tokenizer.model] --out DIR [--overwrite]';

async function convertLlama2c(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      out: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const modelPath = required(values.model, 'model', CONVERT_USAGE);
  const out = required(values.out, 'out', CONVERT_USAGE);
  const checkpoint = await readLlama2cCheckpoint(modelPath);
  const c = checkpoint.config;
  let extraFiles: Record<string, string> = {};
  if (values.tokenizer) {
    const vocab = await readVocab(values.tokenizer, c.vocabSize);
    extraFiles = { ...llamaTokenizerFiles(vocab, { modelMaxLength: c.seqLen }) };
  } else {
    process.stderr.write('snnlm convert: no --tokenizer given; the folder has no tokenizer.json\n');
  }
  const model = await saveLlama2cAsHf(out, checkpoint, { extraFiles, overwrite: values.overwrite });
  const summary = {
    out,
    source: basename(modelPath),
    model_type: model.config.model_type,
    llama2c_version: c.version,
    tensors: Object.keys(model.tensors).length,
    parameters: Object.values(model.tensors).reduce((n, t) => n + t.data.length, 0),
    files: [
      'config.json',
      'generation_config.json',
      'model.safetensors',
      ...Object.keys(extraFiles),
    ],
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

registerCommand('convert', {
  summary: 'convert a llama2.c checkpoint (and tokenizer) to a Hugging Face LLaMA folder',
  usage: CONVERT_USAGE,
  run: async ([format, ...rest]) => {
    if (format !== 'llama2c') {
      throw new ConfigError(
        `unknown source format ${JSON.stringify(format ?? '')}; known: llama2c`,
        CONVERT_USAGE,
      );
    }
    return convertLlama2c(rest);
  },
});

const GENERATE_USAGE =
  'snnlm generate --model DIR [--prompt TEXT] [--max-new-tokens N] [--temperature T] ' +
  '[--top-k K] [--top-p P] [--seed S] [--stop STR]... [--repetition-penalty R] [--no-echo] ' +
  '[--backend tensorflow|wasm|cpu]';

/** The request options the flags set (unset flags stay undefined). */
function generateFlags(
  values: Record<string, string | boolean | string[] | undefined>,
): GenerateOptions {
  const s = (k: string): string | undefined => values[k] as string | undefined;
  return {
    max_tokens: numberFlag(s('max-new-tokens'), 'max-new-tokens', true),
    temperature: numberFlag(s('temperature'), 'temperature'),
    top_k: numberFlag(s('top-k'), 'top-k', true),
    top_p: numberFlag(s('top-p'), 'top-p'),
    seed: numberFlag(s('seed'), 'seed', true),
    repetition_penalty: numberFlag(s('repetition-penalty'), 'repetition-penalty'),
    stop: (values.stop as string[] | undefined) ?? undefined,
  };
}

registerCommand('generate', {
  summary: 'generate text from a model folder (streamed to stdout, statistics to stderr)',
  usage: GENERATE_USAGE,
  run: async (args) => {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        prompt: { type: 'string', default: '' },
        'max-new-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-k': { type: 'string' },
        'top-p': { type: 'string' },
        seed: { type: 'string' },
        stop: { type: 'string', multiple: true },
        'repetition-penalty': { type: 'string' },
        'no-echo': { type: 'boolean', default: false },
        backend: { type: 'string' },
      },
      strict: true,
    });
    const dir = required(values.model, 'model', GENERATE_USAGE);
    const flags = generateFlags(values);
    await initBackend(values.backend);
    // Folder problems (missing folder, config, weights) surface here with the path.
    const folder = await loadModelFolder(dir);
    await folder.close();
    const tokenizer = await Tokenizer.fromFolder(dir);
    const defaults = mergeOptions(
      { max_tokens: DEFAULT_NEW_TOKENS },
      generationDefaults(folder.generationConfig),
    );
    const options = mergeOptions(defaults, flags);
    const model = await loadCausalLM(dir);
    // The prompt is echoed with the first output, so an error before generation
    // starts (a prompt longer than the context) leaves stdout empty.
    let echoed = Boolean(values['no-echo']);
    const write = (text: string): void => {
      if (!echoed) process.stdout.write(values.prompt);
      echoed = true;
      if (text) process.stdout.write(text);
    };
    try {
      const result = await generate(model, tokenizer, values.prompt, options, write);
      write('\n');
      const { prompt_ids: _p, ids: _i, text: _t, ...stats } = result;
      process.stderr.write(`${JSON.stringify({ model: dir, ...stats })}\n`);
    } finally {
      model.dispose();
    }
    return 0;
  },
});
