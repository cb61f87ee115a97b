// Tiny fixtures for the distillation tests: a generated corpus, a byte-level BPE
// tokenizer trained on it, and a tiny LLaMA teacher folder with that tokenizer.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LlamaForCausalLM, savePretrained } from '../../models/index.js';
import { saveTokenizerFolder, trainBpeTokenizer } from '../../src/tokenizer/index.js';
import { defaultRunConfig } from '../../distill/config.js';
import type { RunConfig } from '../../distill/config.js';
import { rng } from '../helpers.js';

const WORDS = ['the', 'cat', 'dog', 'sat', 'ran', 'on', 'a', 'mat', 'and', 'saw', 'big', 'red'];

/** About `chars` characters of seeded pseudo-sentences. */
export function corpusText(chars: number, seed = 1): string {
  const r = rng(seed);
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    const len = 4 + Math.floor(r() * 6);
    const s = Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
    const line = `${s[0].toUpperCase()}${s.slice(1)}.`;
    out.push(line);
    n += line.length + 1;
  }
  return out.join('\n');
}

/** Paths of a prepared fixture folder. */
export interface DistillFixture {
  root: string;
  corpus: string;
  tokenizerDir: string;
  teacherDir: string;
  vocabSize: number;
}

/** Write corpus, tokenizer (vocab 280) and a tiny LLaMA teacher (D 16, L 2) under `root`. */
export async function makeFixture(root: string): Promise<DistillFixture> {
  const corpus = path.join(root, 'corpus.txt');
  const text = corpusText(12_000);
  await mkdir(root, { recursive: true });
  await writeFile(corpus, text);
  const bpe = await trainBpeTokenizer([text], { vocabSize: 280 });
  const tokenizerDir = path.join(root, 'tokenizer');
  await saveTokenizerFolder(tokenizerDir, bpe.json, { modelMaxLength: 64 });
  const teacherDir = path.join(root, 'teacher');
  const teacher = new LlamaForCausalLM(
    {
      model_type: 'llama',
      vocab_size: bpe.vocabSize,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    },
    { seed: 3 },
  );
  await savePretrained(teacher, teacherDir);
  teacher.dispose();
  await saveTokenizerFolder(teacherDir, bpe.json, { modelMaxLength: 64 });
  return { root, corpus, tokenizerDir, teacherDir, vocabSize: bpe.vocabSize };
}

/** A fast run config: seq 16, batch 4, `steps` steps (default 4), checkpoints every 2. */
export function tinyRunConfig(root: string, steps = 4): RunConfig {
  const c = defaultRunConfig();
  c.data.seq_len = 16;
  c.data.batch_size = 4;
  c.data.cache_dir = path.join(root, 'cache');
  c.train.steps = steps;
  c.train.lr = 3e-3;
  c.eval.every = 0;
  c.eval.max_batches = 2;
  c.eval.batch_size = 4;
  c.checkpoint.every = 2;
  c.checkpoint.keep_last = 2;
  c.log.every = 1;
  return c;
}
