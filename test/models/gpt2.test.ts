// GPT-2 on tiny random configs, checked against a float64 forward written here
// from the Hugging Face description (it reads the checkpoint-layout tensors:
// `transformer.h.i.attn.c_attn.weight` as Conv1D `[in, out]`), so it also checks
// the name table and its transposes. Plus decode = forward, causality, loading
// the prefix-less openai-community layout with its mask buffers, and errors.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GPT2LMHeadModel,
  checkpointTensors,
  gpt2Checkpoint,
  loadCausalLM,
  savePretrained,
} from '../../models/index.js';
import { saveModelFolder, openSafetensors } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { idsTensor, tempDir } from './helpers.js';

const cfg = {
  model_type: 'gpt2',
  vocab_size: 30,
  n_positions: 32,
  n_embd: 12,
  n_layer: 2,
  n_head: 3,
  initializer_range: 0.3,
};

type W = Record<string, number[]>;

function layerNorm(x: number[], g: number[], b: number[], eps = 1e-5): number[] {
  const m = x.reduce((a, v) => a + v, 0) / x.length;
  const v = x.reduce((a, t) => a + (t - m) ** 2, 0) / x.length;
  return x.map((t, i) => ((t - m) / Math.sqrt(v + eps)) * g[i] + b[i]);
}

/** `x [in] · W [in, out] + b` (Conv1D layout). */
function conv1d(x: number[], w: number[], b: number[]): number[] {
  const out = b.length;
  return b.map((bj, j) => x.reduce((a, xi, i) => a + xi * w[i * out + j], bj));
}

const geluNew = (x: number) =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Float64 GPT-2 logits `[N][V]` from checkpoint-named tensors. */
function gpt2Ref(w: W, ids: number[]): number[][] {
  const [D, H, V] = [cfg.n_embd, cfg.n_head, cfg.vocab_size];
  const d = D / H;
  const g = (n: string) => w[`transformer.${n}`];
  let x = ids.map((t, p) =>
    Array.from({ length: D }, (_, j) => g('wte.weight')[t * D + j] + g('wpe.weight')[p * D + j]),
  );
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = (n: string) => g(`h.${l}.${n}`);
    const qkv = x.map((r) =>
      conv1d(
        layerNorm(r, p('ln_1.weight'), p('ln_1.bias')),
        p('attn.c_attn.weight'),
        p('attn.c_attn.bias'),
      ),
    );
    const att = qkv.map((qi, i) =>
      Array.from({ length: H }, (_, h) => {
        const s = qkv.slice(0, i + 1).map((kj) => {
          let dot = 0;
          for (let t = 0; t < d; t++) dot += qi[h * d + t] * kj[D + h * d + t];
          return dot / Math.sqrt(d);
        });
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        return Array.from({ length: d }, (_, t) =>
          e.reduce((a, ej, j) => a + (ej / z) * qkv[j][2 * D + h * d + t], 0),
        );
      }).flat(),
    );
    x = x.map((r, i) =>
      conv1d(att[i], p('attn.c_proj.weight'), p('attn.c_proj.bias')).map((v, j) => r[j] + v),
    );
    x = x.map((r) => {
      const hdn = conv1d(
        layerNorm(r, p('ln_2.weight'), p('ln_2.bias')),
        p('mlp.c_fc.weight'),
        p('mlp.c_fc.bias'),
      ).map(geluNew);
      return conv1d(hdn, p('mlp.c_proj.weight'), p('mlp.c_proj.bias')).map((v, j) => r[j] + v);
    });
  }
  return x.map((r) => {
    const n = layerNorm(r, g('ln_f.weight'), g('ln_f.bias'));
    return Array.from({ length: V }, (_, t) =>
      n.reduce((a, v, j) => a + v * g('wte.weight')[t * D + j], 0),
    );
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('GPT-2 (tiny random config)', () => {
  let model: GPT2LMHeadModel;
  let tmp: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    await setupBackend();
    model = new GPT2LMHeadModel(cfg, { seed: 2 });
    model.eval();
    tmp = await tempDir();
  });
  afterAll(async () => {
    model?.dispose();
    await tmp?.remove();
  });

  it('matches a float64 GPT-2 on the checkpoint-layout tensors within 1e-5', () => {
    const ck = checkpointTensors(model, gpt2Checkpoint(model.getConfig()));
    expect(ck.tensors['transformer.h.0.attn.c_attn.weight'].shape).toEqual([12, 36]); // Conv1D [in, out]
    const w: W = Object.fromEntries(Object.entries(ck.tensors).map(([n, t]) => [n, values(t)]));
    ck.dispose();
    for (const ids of [[3], [1, 5, 29, 7, 7, 0, 12, 4, 9, 22]]) {
      const x = idsTensor(ids);
      const out = model.forward(x).logits;
      expect(maxDiff(values(out), gpt2Ref(w, ids).flat())).toBeLessThan(1e-5);
      tf.dispose([x, out]);
    }
  });

  it('decoding equals the forward (bit for bit on short inputs); causality holds bit for bit', () => {
    const ids = [4, 8, 15, 16, 23, 2, 9, 1, 0, 5, 11, 3];
    const x = idsTensor(ids);
    const logits = model.forward(x).logits;
    const st = model.initState(1);
    const parts: Tensor[] = [];
    for (const c of [ids.slice(0, 4), ...ids.slice(4).map((t) => [t])]) {
      const t = idsTensor(c);
      parts.push(model.decode(t, st));
      t.dispose();
    }
    const inc = tf.concat(parts, 1);
    expect(values(inc)).toEqual(values(logits));
    const changed = idsTensor([...ids.slice(0, 9), 7, ...ids.slice(10)]);
    const other = model.forward(changed).logits;
    expect(values(other).slice(0, 9 * 30)).toEqual(values(logits).slice(0, 9 * 30));
    tf.dispose([x, logits, inc, changed, other, ...parts]);
    st.dispose();
  });

  it('loads the prefix-less openai-community layout with its mask buffers; saves with the prefix', async () => {
    const ck = checkpointTensors(model, gpt2Checkpoint(model.getConfig()));
    const bare: Record<string, Tensor> = {};
    for (const [n, t] of Object.entries(ck.tensors)) bare[n.replace(/^transformer\./, '')] = t;
    const mask = tf.ones([1, 1, 32, 32]);
    bare['h.0.attn.bias'] = mask;
    bare['h.1.attn.bias'] = mask;
    const dir = path.join(tmp.dir, 'bare');
    await saveModelFolder(dir, { config: model.getConfig(), tensors: bare });
    ck.dispose();
    mask.dispose();
    const back = (await loadCausalLM(dir)) as GPT2LMHeadModel;
    const x = idsTensor([1, 2, 3, 4]);
    const [a, b] = [model.forward(x).logits, back.forward(x).logits];
    expect(values(b)).toEqual(values(a));
    const out = path.join(tmp.dir, 'saved');
    await savePretrained(back, out);
    const reader = await openSafetensors(path.join(out, 'model.safetensors'));
    expect(reader.names()).toContain('transformer.h.1.mlp.c_fc.weight');
    expect((await reader.info('transformer.h.1.mlp.c_fc.weight')).shape).toEqual([12, 48]);
    expect(reader.names()).not.toContain('lm_head.weight');
    await reader.close();
    tf.dispose([x, a, b]);
    back.dispose();
  });

  it('refuses prompts past n_positions and bad config fields, naming them', () => {
    const x = idsTensor(Array.from({ length: 33 }, () => 1));
    expect(() => model.forward(x)).toThrow(/33 positions exceed the model context of 32/);
    x.dispose();
    expect(() => new GPT2LMHeadModel({ ...cfg, n_head: 5 })).toThrow(
      /config\.json: "n_embd" must be divisible by n_head \(5\), got 12/,
    );
    expect(() => new GPT2LMHeadModel({ ...cfg, activation_function: 'swiglu' })).toThrow(
      /"activation_function" must be one of/,
    );
    const { n_layer: _n, ...noLayers } = cfg;
    expect(() => new GPT2LMHeadModel(noLayers)).toThrow(
      /missing required field "n_layer" \(model_type "gpt2"\)/,
    );
  });
});
