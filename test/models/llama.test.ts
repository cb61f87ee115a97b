// LLaMA on tiny random configs: causality bit for bit (both attention paths),
// decode equal to forward, GQA equal to MHA with repeated kv rows, left padding,
// outputs on request, untied head, save/load round trip, and no leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LlamaForCausalLM,
  loadPretrained,
  positionsFromMask,
  savePretrained,
} from '../../models/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { idsTensor, tempDir, tinyLlamaConfig } from './helpers.js';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const seq = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7 + seed) % 40);

describe('LLaMA (tiny random config)', () => {
  let model: LlamaForCausalLM;
  beforeAll(async () => {
    await setupBackend();
    model = new LlamaForCausalLM(tinyLlamaConfig(), { seed: 1 });
    model.eval();
  });
  afterAll(() => model?.dispose());

  // 2 query heads per kv head: N = 10 gives 20 query rows (< LOOP_MIN_ROWS), N = 40 gives 80
  // (the routed matMul of src/ops may then run per-item products on wasm).
  for (const N of [10, 40]) {
    it(`changing a future token changes no earlier logits, bit for bit (N=${N})`, () => {
      const a = seq(N, 3);
      const b = a.slice();
      const j = N - 4;
      b[j] = (b[j] + 11) % 40;
      const [la, lb] = [a, b].map((ids) => {
        const x = idsTensor(ids);
        const v = values(model.forward(x).logits);
        x.dispose();
        return v;
      });
      expect(lb.slice(0, j * 40)).toEqual(la.slice(0, j * 40));
      expect(lb.slice(j * 40, (j + 1) * 40)).not.toEqual(la.slice(j * 40, (j + 1) * 40));
    });
  }

  it('decode (prompt, then token by token, batch 2) equals forward within 1e-5', () => {
    const rows = [seq(30, 1), seq(30, 5)];
    const x = idsTensor(rows);
    const full = model.forward(x).logits;
    const st = model.initState(2);
    const parts = [7, ...Array(23).fill(1)].reduce<{ at: number; out: Tensor[] }>(
      (acc, n: number) => {
        const c = idsTensor(rows.map((r) => r.slice(acc.at, acc.at + n)));
        acc.out.push(model.decode(c, st));
        c.dispose();
        return { at: acc.at + n, out: acc.out };
      },
      { at: 0, out: [] },
    ).out;
    const inc = tf.concat(parts, 1);
    expect(st.length).toBe(30);
    expect(maxDiff(values(inc), values(full))).toBeLessThan(1e-5);
    tf.dispose([x, full, inc, ...parts]);
    st.dispose();
  });

  it('GQA equals MHA whose k/v rows repeat each kv head for its query heads', () => {
    const mha = new LlamaForCausalLM(tinyLlamaConfig({ num_key_value_heads: 4 }), { seed: 9 });
    const state = new Map<string, Tensor>();
    for (const [name, v] of model.namedParameters()) {
      if (/attn\.[kv]\.weight$/.test(name)) {
        // [Hkv*d, D] -> [Hkv, 1, d, D] -> [Hkv, G, d, D] -> [H*d, D]
        const r = tf.tidy(() =>
          tf.reshape(tf.tile(tf.reshape(v, [2, 1, 4, 16]), [1, 2, 1, 1]), [16, 16]),
        );
        state.set(name, r);
      } else state.set(name, tf.clone(v));
    }
    mha.loadState(state);
    tf.dispose([...state.values()]);
    const x = idsTensor(seq(12, 2));
    const [a, b] = [model.forward(x).logits, mha.forward(x).logits];
    expect(maxDiff(values(a), values(b))).toBeLessThan(1e-5);
    tf.dispose([x, a, b]);
    mha.dispose();
  });

  it('a left-padded row with attention mask and positions equals the unpadded row', () => {
    const ids = seq(9, 4);
    const padded = idsTensor([[0, 0, 0, ...ids], seq(12, 8)]);
    const mask = tf.tensor2d([[0, 0, 0, ...Array(9).fill(1)], Array(12).fill(1)], [2, 12], 'int32');
    const positionIds = positionsFromMask(mask);
    expect(values(positionIds).slice(0, 12)).toEqual([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const out = model.forward(padded, { attentionMask: mask, positionIds }).logits;
    const plain = idsTensor(ids);
    const ref = model.forward(plain).logits;
    const row0 = tf.tidy(() => tf.slice(out, [0, 3, 0], [1, 9, 40]));
    expect(maxDiff(values(row0), values(ref))).toBeLessThan(1e-5);
    expect(values(out).every(Number.isFinite)).toBe(true);
    tf.dispose([padded, mask, positionIds, out, plain, ref, row0]);
  });

  it('returns L+1 hidden states (the last one normed) and L attention maps on request', () => {
    const x = idsTensor(seq(5, 0));
    const out = model.forward(x, { outputHiddenStates: true, outputAttentions: true });
    const hs = out.hiddenStates as Tensor[];
    expect(hs.map((h) => h.shape)).toEqual(Array(3).fill([1, 5, 16]));
    expect(out.attentions?.map((a) => a.shape)).toEqual(Array(2).fill([1, 4, 5, 5]));
    const head = tf.tidy(() =>
      tf.matMul(tf.reshape(hs[2], [5, 16]), model.lmHead!.weight, false, true),
    );
    expect(maxDiff(values(head), values(out.logits))).toBeLessThan(1e-5);
    tf.dispose([x, out.logits, ...hs, ...(out.attentions ?? [])]);
  });

  it('names parameters in our scheme, untied head included', () => {
    const names = model.namedParameters().map(([n]) => n);
    expect(names.slice(0, 4)).toEqual([
      'embed.weight',
      'layers.0.attn_norm.weight',
      'layers.0.attn.q.weight',
      'layers.0.attn.k.weight',
    ]);
    expect(names).toContain('layers.1.mlp.down.weight');
    expect(names.slice(-2)).toEqual(['norm.weight', 'lm_head.weight']);
  });

  it('saves with Hugging Face names and loads back to identical logits', async () => {
    const tmp = await tempDir();
    try {
      const dir = `${tmp.dir}/tiny`;
      await savePretrained(model, dir, {
        extraFiles: { 'generation_config.json': { bos_token_id: 1 } },
      });
      const back = await loadPretrained(dir);
      const x = idsTensor(seq(8, 1));
      const [a, b] = [model.forward(x).logits, (back as LlamaForCausalLM).forward(x).logits];
      expect(values(b)).toEqual(values(a));
      expect(back.getConfig()).toEqual(model.getConfig());
      tf.dispose([x, a, b]);
      back.dispose();
    } finally {
      await tmp.remove();
    }
  });

  it('leaks no tensors across forward and decode', () => {
    const x = idsTensor(seq(6, 2));
    model.forward(x).logits.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const o = model.forward(x, { outputHiddenStates: true, outputAttentions: true });
      tf.dispose([o.logits, ...(o.hiddenStates ?? []), ...(o.attentions ?? [])]);
      const st = model.initState(1, { blockSize: 4 });
      model.decode(x, st).dispose();
      for (let t = 0; t < 10; t++) {
        const one = idsTensor([t]);
        model.decode(one, st).dispose();
        one.dispose();
      }
      st.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
