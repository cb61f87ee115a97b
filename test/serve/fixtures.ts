// Fixtures of the server tests: tiny model folders (a random LLaMA teacher and a
// random BiSpikCLM student over the small sentencepiece vocabulary of the
// generation tests) written to a temporary folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildModel, savePretrained, studentPreset } from '../../models/index.js';
import { llamaTokenizerFiles } from '../../src/tokenizer/index.js';
import type { VocabPiece } from '../../src/tokenizer/index.js';
import { WORDS } from '../generate/fixtures.js';

/** Vocabulary size of the fixtures: `<unk> <s> </s>`, 256 bytes, then `WORDS`. */
export const VOCAB = 259 + WORDS.length;
/** Context of the tiny models. */
export const CONTEXT = 64;

/** A Jinja chat template of the kind tokenizer_config.json carries (Zephyr-like). */
export const CHAT_TEMPLATE =
  "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

function tokenizerFiles(chatTemplate?: string): Record<string, string> {
  const vocab: VocabPiece[] = [
    { piece: '<unk>', score: 0, kind: 'unknown' },
    { piece: '<s>', score: 0, kind: 'control' },
    { piece: '</s>', score: 0, kind: 'control' },
    ...Array.from({ length: 256 }, (_, b) => ({
      piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
      score: 0,
      kind: 'byte' as const,
    })),
    ...WORDS.map((piece, i) => ({ piece, score: -i, kind: 'normal' as const })),
  ];
  const files: Record<string, string> = {
    ...llamaTokenizerFiles(vocab, { modelMaxLength: CONTEXT }),
  };
  if (chatTemplate) {
    const config = JSON.parse(files['tokenizer_config.json']) as Record<string, unknown>;
    files['tokenizer_config.json'] = JSON.stringify({ ...config, chat_template: chatTemplate });
  }
  return files;
}

/** Which tiny model to write. */
export type TinyKind = 'llama' | 'bispikclm';

/** Write a tiny model folder of `kind` into `dir`. */
export async function writeTinyModel(
  dir: string,
  kind: TinyKind,
  options: { chatTemplate?: string } = {},
): Promise<string> {
  const config =
    kind === 'llama'
      ? {
          model_type: 'llama',
          vocab_size: VOCAB,
          hidden_size: 16,
          intermediate_size: 24,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          max_position_embeddings: CONTEXT,
          rms_norm_eps: 1e-5,
          initializer_range: 0.3,
          tie_word_embeddings: false,
          bos_token_id: 1,
          eos_token_id: 2,
        }
      : studentPreset('bispikclm', 'tiny', {
          vocab_size: VOCAB,
          max_position_embeddings: CONTEXT,
        });
  const model = buildModel(config);
  try {
    await savePretrained(model, dir, { extraFiles: tokenizerFiles(options.chatTemplate) });
  } finally {
    model.dispose();
  }
  return dir;
}

/** A temporary folder and its remover. */
export async function tempDir(prefix = 'snnlm-serve-'): Promise<{
  dir: string;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A parsed JSON response body (tests index into it freely). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJson = any;

/** The body of `res` as JSON. */
export function json(res: Response): Promise<AnyJson> {
  return res.json() as Promise<AnyJson>;
}
