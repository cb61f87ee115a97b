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
// Both products are batched over (batch, kv head) and go through the routed
// `matMul` (src/ops): on wasm it runs one product per item from LOOP_MIN_ROWS
// query rows (G*Nq) and one loop call below, so decoding steps and prompts under
// that size sum in the same order (bit for bit); above it `P V` rounds in another
// order (~1 ulp). This replaced a per-item path of this file that unstacked q, k
// and v (wasm copies a whole tensor per slice); measured against it, 1.1-7x faster
// forward and 1.1-3x forward + backward (B x H x N x d from 1x8x256x8 to 4x12x128x64).
// Keys are padded to a multiple of KEY_BLOCK with masked zero keys, so softmax
// rows of a decoding step and of the full forward have the same layout (mask.ts).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ShapeError } from '../errors.js';
import { activeRecorder } from '../energy/recorder.js';
import { matMul } from '../ops/index.js';
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
 * The attention of all (batch, kv head) items, segment by segment. The `Np - Nk`
 * padding keys are zero vectors, so their scores are exact zeros: a zero block
 * joins the scores instead of products with zero keys. Returns output
 * `[B, Hkv, G*Nq, dv]` and the padded probabilities `[B, H, Nq, Np]`.
 */
function attend(qg: Tensor, ks: readonly Tensor[], vs: readonly Tensor[], dims: Dims): Tensor[] {
  const { B, H, Hkv, G, Nq, Nk, Np, scale, bias } = dims;
  const parts = ks.map((k) => matMul(qg, k, false, true)); // each [B, Hkv, G*Nq, Nk_i]
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
    const o = matMul(p, vs[i]); // [B, Hkv, G*Nq, dv]
    out = out ? tf.add(out, o) : o;
    start += n;
  }
  return [out as Tensor, probs];
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
  const [out, padded] = attend(qg, ks, vs, dims); // [B, Hkv, G*Nq, dv], [B, H, Nq, Np]
  if (options.name) {
    report(options.name, 'qk', q, ks[0], B * H * Nq * Nk * d);
    report(options.name, 'av', padded, vs[0], B * H * Nq * Nk * dv);
  }
  const output = tf.reshape(out, [B, H, Nq, dv]); // [B, H, Nq, dv]
  if (!options.returnWeights) return { output };
  return { output, weights: Np > Nk ? tf.slice(padded, [0, 0, 0, 0], [B, H, Nq, Nk]) : padded };
}
