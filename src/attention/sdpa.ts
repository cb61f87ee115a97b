// Scaled dot-product attention `softmax(Q K^T * scale + bias) V` (Vaswani et al.
// 2017) for multi-head and grouped-query attention (GQA; Ainslie et al. 2023),
// as the ANN teachers use it (HF `eager_attention_forward`, llama2.c `run.c`).
//
// GQA without copying keys: the `G = H / Hkv` query heads that share a kv head are
// stacked along the query axis by a reshape (`[B, H, Nq, d]` -> `[B, Hkv, G*Nq, d]`),
// so each key/value head is used as it is, never repeated. Head `h` uses kv head
// `floor(h / G)`, as HF `repeat_kv`.
//
// Keys and values may come as a list of segments along the key axis (a KV cache
// keeps a long, rarely rebuilt segment and a short growing one, see kv-cache.ts):
// the scores of the segments are concatenated before one softmax, and the outputs
// of the segments summed, so the cache never concatenates its whole history.
//
// Two execution paths for the same formula (see matmul.ts): one batched call per
// product (decoding steps, non-wasm backends), or, on wasm with many query rows,
// one 2-D product per (batch, kv head) item, which reaches XNNPACK (its `P V`
// sums round in another order, ~1 ulp). Keys are padded to a multiple of
// KEY_BLOCK with masked zero keys, so softmax rows of a decoding step and of the
// full forward have the same layout (mask.ts).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ShapeError } from '../errors.js';
import { activeRecorder } from '../energy/recorder.js';
import { preferPerItem } from './matmul.js';
import { KEY_BLOCK, MASK_VALUE, keyPaddingBias, paddedKeys } from './mask.js';

/** Options of `scaledDotProductAttention`. */
export interface SdpaOptions {
  /**
   * Additive float32 bias broadcastable to `[B, H, Nq, Nk]` (`[Nq, Nk]` or
   * `[B, 1, Nq, Nk]`): 0 = may attend, `MASK_VALUE` = masked (mask.ts). Null = none.
   * It may already cover the padded keys (`paddedKeys(Nk)` columns, as
   * `buildAttentionBias({ padKeys: true })` makes it), which saves a copy per call.
   */
  bias?: Tensor | null;
  /** Multiplies the scores. Default `1 / sqrt(d)`. */
  scale?: number;
  /** Also return the attention probabilities `[B, H, Nq, Nk]`. */
  returnWeights?: boolean;
  /** Layer name for energy reports (`layers.0.attn`); reports only when a recorder runs. */
  name?: string;
}

/** Output of an attention call. */
export interface AttentionResult {
  /** `[B, H, Nq, dv]` for `scaledDotProductAttention`, `[B, Nq, D]` for modules. */
  output: Tensor;
  /** `[B, H, Nq, Nk]` attention probabilities, when asked for. */
  weights?: Tensor;
}

const fmt = (t: Tensor) => `[${t.shape.join(', ')}]`;

function checkShapes(q: Tensor, ks: readonly Tensor[], vs: readonly Tensor[]): void {
  if (q.rank !== 4) throw new ShapeError(`attention: q must be [B, H, Nq, d], got ${fmt(q)}`);
  if (ks.length === 0 || ks.length !== vs.length) {
    throw new ShapeError(
      `attention: need as many key as value segments (>= 1), got ${ks.length} and ${vs.length}`,
    );
  }
  const [B, H, , d] = q.shape;
  const [Hkv, dv] = [ks[0].shape[1] as number, vs[0].shape[3] as number];
  ks.forEach((k, i) => {
    const v = vs[i];
    const fits = (t: Tensor, last: number) =>
      t.rank === 4 && t.shape[0] === B && t.shape[1] === Hkv && t.shape[3] === last;
    if (!fits(k, d as number) || !fits(v, dv) || k.shape[2] !== v.shape[2]) {
      throw new ShapeError(
        `attention: segment ${i}: k ${fmt(k)} and v ${fmt(v)} do not fit q ${fmt(q)} (k [B, Hkv, Nk, d], v [B, Hkv, Nk, dv])`,
      );
    }
  });
  if ((H as number) % Hkv !== 0) {
    throw new ShapeError(`attention: ${H} query heads cannot be grouped over ${Hkv} kv heads`);
  }
}

function report(name: string, op: string, a: Tensor, b: Tensor, macs: number): void {
  activeRecorder()?.record({
    layer: `${name}.${op}`,
    kind: 'attention',
    input: a,
    other: b,
    timeSteps: 1,
    flopsPerStep: macs,
    encoding: 'real',
  });
}

/**
 * One batched product per step, over segments. The `Np - Nk` padding keys are
 * zero vectors, so their scores are exact zeros: a zero block joins the scores
 * instead of products with zero keys. Returns output `[B, Hkv, G*Nq, dv]` and the
 * padded probabilities `[B, H, Nq, Np]`.
 */
function batched(qg: Tensor, ks: readonly Tensor[], vs: readonly Tensor[], dims: Dims): Tensor[] {
  const { B, H, Hkv, G, Nq, Nk, Np, scale, bias } = dims;
  const parts = ks.map((k) => tf.matMul(qg, k, false, true)); // each [B, Hkv, G*Nq, Nk_i]
  if (Np > Nk) parts.push(tf.zeros([B, Hkv, G * Nq, Np - Nk])); // scores of the zero keys
  const raw = parts.length === 1 ? parts[0] : tf.concat(parts, 3); // [B, Hkv, G*Nq, Np]
  let scores = tf.mul(tf.reshape(raw, [B, H, Nq, Np]), scale); // [B, H, Nq, Np]
  if (bias) scores = tf.add(scores, bias); // [B, H, Nq, Np]
  const probs = tf.softmax(scores); // [B, H, Nq, Np]
  const pg = tf.reshape(probs, [B, Hkv, G * Nq, Np]); // [B, Hkv, G*Nq, Np]
  let out: Tensor | null = null;
  let start = 0;
  for (let i = 0; i < vs.length; i++) {
    const n = ks[i].shape[2] as number;
    const p = n === Np ? pg : tf.slice(pg, [0, 0, 0, start], [B, Hkv, G * Nq, n]); // [B, Hkv, G*Nq, n]
    const o = tf.matMul(p, vs[i]); // [B, Hkv, G*Nq, dv]
    out = out ? tf.add(out, o) : o;
    start += n;
  }
  return [out as Tensor, probs];
}

/**
 * One 2-D product per (batch, kv head) item (wasm fast path), keys and values
 * joined and padded with zero rows to `Np`. Same results as `batched` up to the
 * summation order of the `P V` product.
 */
function perItem(qg: Tensor, ks: readonly Tensor[], vs: readonly Tensor[], dims: Dims): Tensor[] {
  const { B, H, Hkv, G, Nq, Nk, Np, scale, bias } = dims;
  const [d, dv] = [qg.shape[3] as number, vs[0].shape[3] as number];
  const kl = Np > Nk ? [...ks, tf.zeros([B, Hkv, Np - Nk, d])] : [...ks];
  const vl = Np > Nk ? [...vs, tf.zeros([B, Hkv, Np - Nk, dv])] : [...vs];
  const k = kl.length === 1 ? kl[0] : tf.concat(kl, 2); // [B, Hkv, Np, d]
  const v = vl.length === 1 ? vl[0] : tf.concat(vl, 2); // [B, Hkv, Np, dv]
  const qs = tf.unstack(tf.reshape(qg, [B * Hkv, G * Nq, d])); // items x [G*Nq, d]
  const kts = tf.unstack(tf.transpose(tf.reshape(k, [B * Hkv, Np, d]), [0, 2, 1])); // items x [d, Np]
  const vv = tf.unstack(tf.reshape(v, [B * Hkv, Np, dv])); // items x [Np, dv]
  const outs: Tensor[] = [];
  const probs: Tensor[] = [];
  qs.forEach((q, i) => {
    let s = tf.mul(tf.reshape(tf.matMul(q, kts[i]), [G, Nq, Np]), scale); // [G, Nq, Np]
    if (bias) s = tf.add(s, itemBias(bias, Math.floor(i / Hkv), i % Hkv, G)); // [G, Nq, Np]
    const p = tf.softmax(s); // [G, Nq, Np]
    probs.push(p);
    outs.push(tf.matMul(tf.reshape(p, [G * Nq, Np]), vv[i])); // [G*Nq, dv]
  });
  const out = tf.reshape(tf.stack(outs), [B, Hkv, G * Nq, dv]); // [B, Hkv, G*Nq, dv]
  return [out, tf.reshape(tf.stack(probs), [B, H, Nq, Np])]; // probs [B, H, Nq, Np]
}

/** The part of `bias` (broadcastable to `[B, H, Nq, Nk]`) for batch row `b`, kv head `j`. */
function itemBias(bias: Tensor, b: number, j: number, G: number): Tensor {
  if (bias.rank <= 2) return bias; // [Nq|1, Nk]
  const full = [1, 1, 1, 1].slice(0, 4 - bias.rank).concat(bias.shape as number[]);
  const [Bb, Hb, r, Nk] = full as [number, number, number, number];
  if (Bb === 1 && Hb === 1) return tf.reshape(bias, [1, r, Nk]); // [1, r, Nk]
  const b4 = tf.reshape(bias, full); // [Bb, Hb, r, Nk]
  const heads = Hb === 1 ? 1 : G;
  const part = tf.slice(b4, [Bb === 1 ? 0 : b, Hb === 1 ? 0 : j * G, 0, 0], [1, heads, r, Nk]);
  return tf.reshape(part, [heads, r, Nk]); // [1|G, r, Nk]
}

/** `bias` widened from `Nk` to `Np` key columns (extra columns masked). */
function padBias(bias: Tensor | null, Nk: number, Np: number): Tensor | null {
  if (Np === Nk) return bias;
  if (!bias) return keyPaddingBias(Nk, Np); // [1, Np]
  const last = bias.shape[bias.rank - 1] as number;
  if (last === Np) return bias; // built padded (buildAttentionBias({ padKeys: true }))
  if (last !== Nk) {
    throw new ShapeError(
      `attention: bias covers ${last} keys, expected ${Nk} (or ${Np}, padded to a multiple of ${KEY_BLOCK})`,
    );
  }
  const fill = tf.fill([...(bias.shape.slice(0, -1) as number[]), Np - Nk], MASK_VALUE);
  return tf.concat([bias, fill], bias.rank - 1); // [..., Np]
}

interface Dims {
  B: number;
  H: number;
  Hkv: number;
  G: number;
  Nq: number;
  /** Keys given. */
  Nk: number;
  /** Keys padded to a multiple of KEY_BLOCK. */
  Np: number;
  scale: number;
  bias: Tensor | null;
}

/**
 * Attention of `q` `[B, H, Nq, d]` over keys `k` `[B, Hkv, Nk, d]` and values `v`
 * `[B, Hkv, Nk, dv]` (each a tensor or a list of segments along `Nk`), with
 * `H` a multiple of `Hkv`. Returns `output` `[B, H, Nq, dv]` and, when asked,
 * `weights` `[B, H, Nq, Nk]`. Run under the caller's `tf.tidy`.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor | readonly Tensor[],
  v: Tensor | readonly Tensor[],
  options: SdpaOptions = {},
): AttentionResult {
  const ks = Array.isArray(k) ? (k as readonly Tensor[]) : [k as Tensor];
  const vs = Array.isArray(v) ? (v as readonly Tensor[]) : [v as Tensor];
  checkShapes(q, ks, vs);
  const [B, H, Nq, d] = q.shape as [number, number, number, number];
  const Hkv = ks[0].shape[1] as number;
  const dv = vs[0].shape[3] as number;
  const G = H / Hkv;
  const Nk = ks.reduce((n, s) => n + (s.shape[2] as number), 0);
  // Pad the keys to a multiple of KEY_BLOCK with masked zero keys (see mask.ts).
  const Np = paddedKeys(Nk);
  const dims: Dims = {
    ...{ B, H, Hkv, G, Nq, Nk, Np },
    scale: options.scale ?? 1 / Math.sqrt(d),
    bias: padBias(options.bias ?? null, Nk, Np),
  };
  const qg = tf.reshape(q, [B, Hkv, G * Nq, d]); // [B, Hkv, G*Nq, d]
  const path = preferPerItem(B * Hkv, G * Nq) ? perItem : batched;
  const [out, padded] = path(qg, ks, vs, dims); // [B, Hkv, G*Nq, dv], [B, H, Nq, Np]
  if (options.name) {
    report(options.name, 'qk', q, ks[0], B * H * Nq * Nk * d);
    report(options.name, 'av', padded, vs[0], B * H * Nq * Nk * dv);
  }
  const output = tf.reshape(out, [B, H, Nq, dv]); // [B, H, Nq, dv]
  if (!options.returnWeights) return { output };
  return { output, weights: Np > Nk ? tf.slice(padded, [0, 0, 0, 0], [B, H, Nq, Nk]) : padded };
}
