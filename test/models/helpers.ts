// Helpers of the model tests: a tiny random LLaMA config, paths into
// ../shared/models resolved from this folder, greedy decoding through the KV
// cache, and temporary folders.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CausalLM } from '../../src/generate/types.js';
import { tf } from '../../src/tf.js';

/** `../shared/models/<rel>` seen from the repository. */
export function sharedModel(rel: string): string {
  return path.resolve(import.meta.dirname, '../../../shared/models', rel);
}

/** A tiny LLaMA config.json (GQA 4/2 heads, untied unless overridden). */
export function tinyLlamaConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'llama',
    vocab_size: 40,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    initializer_range: 0.3,
    tie_word_embeddings: false,
    ...over,
  };
}

/** Ids as an int32 `[1, N]` tensor (or `[B, N]` for nested arrays). */
export function idsTensor(ids: number[] | number[][]): tf.Tensor {
  const rows = Array.isArray(ids[0]) ? (ids as number[][]) : [ids as number[]];
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}

/**
 * Greedy decoding as llama2.c does it: feed `prompt`, then the argmax, until
 * `positions` positions have been fed or the model emits `stop`. Returns every id
 * (prompt, then generated; the last one is never fed) and the logits of every
 * fed position `[positions * V]`.
 */
export function greedy(
  model: CausalLM,
  prompt: number[],
  positions: number,
  stop = 1,
): { ids: number[]; logits: Float32Array } {
  const V = model.vocabSize;
  const state = model.initState(1);
  const ids = [...prompt];
  const logits = new Float32Array(positions * V);
  let feed = prompt;
  try {
    for (;;) {
      const x = idsTensor(feed);
      const out = model.decode(x, state);
      const vals = out.dataSync();
      logits.set(vals, (state.length - feed.length) * V);
      tf.dispose([x, out]);
      const last = vals.subarray(vals.length - V);
      const next = last.indexOf(Math.max(...last));
      ids.push(next);
      if (next === stop || state.length >= positions) break;
      feed = [next];
    }
  } finally {
    state.dispose();
  }
  return { ids, logits: logits.subarray(0, (ids.length - 1) * V) };
}

/** A fresh temporary folder and its remover. */
export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'snnlm-models-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
