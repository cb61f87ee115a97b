// PIQA scoring throughput with the stories260K teacher (examples/s): the shared-prefix
// path (context decoded once into a KV cache, choices decoded from a copy) and the
// batched path (length-sorted, right-padded forwards of 16 rows), each against the
// baseline measured in the same run: one forward per (context, choice) request, no
// batching and no sharing. Needs ../shared (the llama2.c checkpoint and PIQA); without
// it the workload reports `skipped` with the reason.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLlama2cCheckpoint, readLlama2cTokenizer, saveLlama2cAsHf } from '../src/io/index.js';
import { llamaTokenizerFiles, Tokenizer, vocabFromLlama2c } from '../src/tokenizer/index.js';
import type { CausalLM } from '../src/generate/types.js';
import { loadCausalLM } from '../models/index.js';
import { readPiqa } from '../datasets/tasks/index.js';
import { evalTokenizer, scoreChoiceDocs, CHOICE_TASKS } from '../eval/index.js';
import type { ScoringPath } from '../eval/index.js';
import { round, time } from './timing.js';

const SHARED = path.resolve(import.meta.dirname, '../../shared');
export const STORIES_BIN = path.join(SHARED, 'models/llama2c/stories260K.bin');
export const STORIES_TOK = path.join(SHARED, 'models/llama2c/tok512.bin');
export const DATA_DIR = path.join(SHARED, 'datasets');

/** Convert stories260K + tok512 to a model folder in `dir` (what `snnlm convert llama2c` does). */
export async function convertStories260K(dir: string): Promise<void> {
  const ckpt = await readLlama2cCheckpoint(STORIES_BIN);
  const { pieces, scores } = await readLlama2cTokenizer(STORIES_TOK, ckpt.config.vocabSize);
  const extraFiles = {
    ...llamaTokenizerFiles(vocabFromLlama2c(pieces, scores), {
      modelMaxLength: ckpt.config.seqLen,
    }),
  };
  await saveLlama2cAsHf(dir, ckpt, { extraFiles, overwrite: true });
}

/** PIQA examples per second on each scoring path vs the unbatched baseline. */
export async function benchEvalPiqa(reps: number, docsPerRep = 48): Promise<unknown> {
  if (!existsSync(STORIES_BIN) || !existsSync(path.join(DATA_DIR, 'qa/piqa/valid.jsonl'))) {
    return { skipped: `needs ${STORIES_BIN} and ${DATA_DIR}/qa/piqa` };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'snnlm-bench-eval-'));
  try {
    await convertStories260K(dir);
    const model = (await loadCausalLM(dir)) as unknown as CausalLM & { dispose(): void };
    const tok = evalTokenizer(await Tokenizer.fromFolder(dir));
    const docs = (await readPiqa(DATA_DIR)).slice(0, docsPerRep);
    const task = CHOICE_TASKS.piqa;
    const rate = async (p: ScoringPath, batchSize = 16) => {
      const t = await time(
        () => void scoreChoiceDocs(model, tok, task, docs, { path: p, batchSize }),
        reps,
        1,
      );
      return { ...t, examples_per_s: round((docs.length * 1000) / t.median_ms, 2) };
    };
    const baseline = await rate('single', 1);
    const batched = await rate('batched');
    const prefix = await rate('prefix');
    model.dispose();
    return {
      model: 'stories260K (llama2.c, D 64, L 5, V 512)',
      examples: docs.length,
      baseline_single: baseline,
      batched_16: batched,
      prefix_shared: prefix,
      ratio_batched: round(batched.examples_per_s / baseline.examples_per_s, 2),
      ratio_prefix: round(prefix.examples_per_s / baseline.examples_per_s, 2),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
