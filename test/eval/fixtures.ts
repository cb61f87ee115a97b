// Fixtures of the eval CLI tests: a tiny LLaMA teacher and a tiny BiSpikCLM student over
// a byte-fallback sentencepiece vocabulary, and a data folder with a few PIQA and
// WinoGrande items in their official layouts.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildModel, savePretrained, studentPreset } from '../../models/index.js';
import { llamaTokenizerFiles } from '../../src/tokenizer/index.js';
import type { VocabPiece } from '../../src/tokenizer/index.js';

const WORDS = ['▁Question', '▁Answer', '▁the', '▁cup', '▁water', '▁a'];
export const VOCAB = 259 + WORDS.length;
export const CONTEXT = 96;

function tokenizerFiles(): Record<string, string> {
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
  return { ...llamaTokenizerFiles(vocab, { modelMaxLength: CONTEXT }) };
}

/** Write a tiny model folder (`llama` teacher or `bispikclm` student) into `dir`. */
export async function writeTinyModel(dir: string, kind: 'llama' | 'bispikclm'): Promise<string> {
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
          initializer_range: 0.3,
          bos_token_id: 1,
          eos_token_id: 2,
        }
      : studentPreset('bispikclm', 'tiny', { vocab_size: VOCAB, max_position_embeddings: CONTEXT });
  const model = buildModel(config);
  try {
    await savePretrained(model, dir, { extraFiles: tokenizerFiles() });
  } finally {
    model.dispose();
  }
  return dir;
}

/** A data folder with 6 PIQA and 4 WinoGrande items. */
export async function writeTinyData(dir: string): Promise<string> {
  await mkdir(path.join(dir, 'qa/piqa'), { recursive: true });
  await mkdir(path.join(dir, 'qa/winogrande'), { recursive: true });
  const piqa = Array.from({ length: 6 }, (_, i) => ({
    goal: `fill the cup ${i}`,
    sol1: 'pour water',
    sol2: `pour the sand ${i}`,
  }));
  await writeFile(
    path.join(dir, 'qa/piqa/valid.jsonl'),
    piqa.map((d) => JSON.stringify(d)).join('\n') + '\n',
  );
  await writeFile(path.join(dir, 'qa/piqa/valid-labels.lst'), '0\n1\n0\n1\n0\n0\n');
  const wino = Array.from({ length: 4 }, (_, i) => ({
    qID: `q${i}`,
    sentence: `Ann gave Bo a cup because _ was thirsty ${i}.`,
    option1: 'Ann',
    option2: 'Bo',
    answer: i % 2 ? '1' : '2',
  }));
  await writeFile(
    path.join(dir, 'qa/winogrande/dev.jsonl'),
    wino.map((d) => JSON.stringify(d)).join('\n') + '\n',
  );
  return dir;
}
