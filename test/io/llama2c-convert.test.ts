// Conversion of a llama2.c checkpoint to a Hugging Face LLaMA folder: the real
// stories260K gives tensors bit-identical to the shared transformers.js folder
// (same names, shapes and bytes) and the same config; the RoPE row reordering
// and the unshared-classifier case on synthetic data.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  llama2cToHf,
  openSafetensors,
  parseLlama2cCheckpoint,
  permuteRopeRows,
  readLlama2cCheckpoint,
  saveLlama2cAsHf,
} from '../../src/io/index.js';
import { tempFolder } from './fixtures.js';
import { STORIES_BIN, STORIES_HF, TINY, missing, tinyCheckpoint } from './llama2c-fixtures.js';

describe('llama2.c to Hugging Face: stories260K', () => {
  const skip = missing(STORIES_BIN, path.join(STORIES_HF, 'model.safetensors'));
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }
  let dir = '';
  let cleanup = async (): Promise<void> => undefined;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempFolder());
    await saveLlama2cAsHf(path.join(dir, 'out'), await readLlama2cCheckpoint(STORIES_BIN));
  });
  afterAll(() => cleanup());

  it('writes every tensor bit-identical to the shared model.safetensors', async () => {
    const ours = await openSafetensors(path.join(dir, 'out', 'model.safetensors'));
    const ref = await openSafetensors(path.join(STORIES_HF, 'model.safetensors'));
    try {
      expect(ours.names().sort()).toEqual(ref.names().sort());
      expect(ours.names()).toHaveLength(47);
      for (const name of ref.names()) {
        const [a, b] = [await ours.read(name), await ref.read(name)];
        expect([a.dtype, a.shape], name).toEqual([b.dtype, b.shape]);
        expect(Buffer.from(a.data).equals(Buffer.from(b.data)), name).toBe(true);
      }
      expect(ours.metadata).toEqual({ format: 'pt' });
    } finally {
      await ours.close();
      await ref.close();
    }
  });

  it('writes the same file, byte for byte', async () => {
    const ours = await readFile(path.join(dir, 'out', 'model.safetensors'));
    const ref = await readFile(path.join(STORIES_HF, 'model.safetensors'));
    expect(ours.equals(ref)).toBe(true);
  });

  it('writes config.json and generation_config.json with the shared fields', async () => {
    for (const file of ['config.json', 'generation_config.json']) {
      const ours = JSON.parse(await readFile(path.join(dir, 'out', file), 'utf8'));
      const ref = JSON.parse(await readFile(path.join(STORIES_HF, file), 'utf8'));
      expect(ours, file).toEqual(ref);
      expect(Object.keys(ours), file).toEqual(Object.keys(ref));
    }
  });
});

describe('llama2.c to Hugging Face: weights', () => {
  it('reorders rows inside each head to even rows first, then odd', () => {
    // 2 heads of size 4, 1 input feature: row r holds the value r.
    const w = Float32Array.from({ length: 8 }, (_, r) => r);
    expect(Array.from(permuteRopeRows(w, 2, 4, 1))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    const wide = Float32Array.from({ length: 8 }, (_, i) => i); // 2 rows of 4 features
    expect(Array.from(permuteRopeRows(wide, 1, 2, 4))).toEqual(Array.from(wide));
  });

  it('permutes q and k, copies everything else, ties embeddings', () => {
    const ckpt = parseLlama2cCheckpoint(tinyCheckpoint(TINY, 0));
    const { tensors, config } = llama2cToHf(ckpt);
    expect(config.tie_word_embeddings).toBe(true);
    expect(tensors['lm_head.weight']).toBeUndefined();
    const q = tensors['model.layers.1.self_attn.q_proj.weight'];
    expect(q.shape).toEqual([8, 8]);
    const D = 8;
    const row = (data: ArrayLike<number>, r: number) => Array.from(data).slice(r * D, (r + 1) * D);
    const layer1 = ckpt.weights.wq.subarray(64, 128);
    expect(row(q.data as Float32Array, 1)).toEqual(row(layer1, 2));
    expect(row(q.data as Float32Array, 2)).toEqual(row(layer1, 1));
    expect(tensors['model.layers.0.self_attn.k_proj.weight'].shape).toEqual([4, 8]);
    expect(tensors['model.layers.1.mlp.down_proj.weight'].data).toEqual(
      ckpt.weights.w2.subarray(96, 192),
    );
  });

  it('writes lm_head.weight for an unshared classifier', () => {
    const ckpt = parseLlama2cCheckpoint(tinyCheckpoint({ ...TINY, shared: false }, 1));
    const { tensors, config, generationConfig } = llama2cToHf(ckpt);
    expect(config.tie_word_embeddings).toBe(false);
    expect(tensors['lm_head.weight'].shape).toEqual([10, 8]);
    expect(tensors['lm_head.weight'].data).toEqual(ckpt.weights.classifier);
    expect(generationConfig).toEqual({ bos_token_id: 1, eos_token_id: [1, 2], max_length: 4 });
  });
});
