// The softmax self-attention block of the ANN teachers: projections, heads, RoPE,
// mask, KV cache, output projection. Covers LLaMA (GQA, RoPE, no biases; HF
// `LlamaAttention`), GPT-2 (fused `qkv` with biases, learned positions added by the
// model; HF `GPT2Attention`) and BERT (bidirectional, padding mask; HF
// `BertSelfAttention` + `BertSelfOutput.dense`).
// Parameter names: `q`, `k`, `v`, `o` (or `qkv`, `o`), so a model's tensors read
// `layers.3.attn.q.weight` as in architecture.md.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { deriveSeed, Linear, Module, optBool } from '../layers/index.js';
import { mergeHeads, splitHeads } from './heads.js';
import { buildAttentionBias } from './mask.js';
import { applyRotary } from './rope.js';
import type { RopeAngles } from './rope.js';
import { scaledDotProductAttention } from './sdpa.js';
import type { AttentionResult } from './sdpa.js';
import type { KVCacheLayer } from './kv-cache.js';

/** Constructor arguments of `SoftmaxAttention` (also its `getConfig()`). */
export interface SoftmaxAttentionArgs {
  /** Model width `D` (input and output). */
  hidden_size: number;
  /** Query heads `H`. */
  num_heads: number;
  /** Key/value heads `Hkv` (divides `H`); `H` = MHA, fewer = GQA, 1 = MQA. Default `H`. */
  num_kv_heads?: number;
  /** Head width `d`. Default `D / H`. */
  head_dim?: number;
  /** Biases on the q, k, v projections. Default `false`. */
  qkv_bias?: boolean;
  /** Bias on the output projection. Default `false`. */
  out_bias?: boolean;
  /** One `qkv` projection `[(H + 2 Hkv) d, D]` instead of `q`, `k`, `v` (GPT-2). Default `false`. */
  fused_qkv?: boolean;
  /** Causal (decoder) or bidirectional (encoder). Default `true`. */
  causal?: boolean;
  /** Score scale; `null` = `1 / sqrt(d)`. Default `null`. */
  scale?: number | null;
  /** Normal init std of the projections; `null` = PyTorch's uniform. Default `null`. */
  init_std?: number | null;
  /** Seed of the initialisation. Default `0`. */
  seed?: number;
}

/** Per-call options of `SoftmaxAttention.forward`. */
export interface AttentionCallOptions {
  /** Rotary angles of the fed positions (from a `RotaryEmbedding`); none = no RoPE. */
  rotary?: RopeAngles | null;
  /**
   * Additive bias broadcastable to `[B, H, Nq, Nk]` (mask.ts), built once by the
   * model for all layers; when given it replaces `causal` and `attentionMask`.
   */
  bias?: Tensor | null;
  /** `[B, Nk]` 1 = token, 0 = padding, over cached + fed positions. */
  attentionMask?: Tensor | null;
  /** This layer's KV cache: keys/values are appended and attention covers the history. */
  cache?: KVCacheLayer | null;
  /** Return the attention probabilities `[B, H, Nq, Nk]`. */
  outputAttentions?: boolean;
}

/** Multi-head / grouped-query softmax self-attention over `[B, N, D]`. */
export class SoftmaxAttention extends Module {
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly scale: number | null;
  private readonly args: Required<SoftmaxAttentionArgs>;
  readonly q: Linear | null;
  readonly k: Linear | null;
  readonly v: Linear | null;
  readonly qkv: Linear | null;
  readonly o: Linear;

  constructor(args: SoftmaxAttentionArgs) {
    super();
    checkPositiveInt(args.hidden_size, 'hidden_size');
    checkPositiveInt(args.num_heads, 'num_heads');
    const H = args.num_heads;
    const Hkv = args.num_kv_heads ?? H;
    checkPositiveInt(Hkv, 'num_kv_heads');
    if (H % Hkv !== 0) {
      throw new ConfigError(`num_heads (${H}) must be a multiple of num_kv_heads (${Hkv})`);
    }
    if (args.head_dim === undefined && args.hidden_size % H !== 0) {
      throw new ConfigError(
        `hidden_size (${args.hidden_size}) is not divisible by num_heads (${H}); give head_dim`,
      );
    }
    const d = args.head_dim ?? args.hidden_size / H;
    checkPositiveInt(d, 'head_dim');
    if (args.scale !== undefined && args.scale !== null) checkFinite(args.scale, 'scale');
    const seed = args.seed ?? 0;
    checkFinite(seed, 'seed');
    this.args = {
      hidden_size: args.hidden_size,
      num_heads: H,
      num_kv_heads: Hkv,
      head_dim: d,
      qkv_bias: optBool(args.qkv_bias, 'qkv_bias', false),
      out_bias: optBool(args.out_bias, 'out_bias', false),
      fused_qkv: optBool(args.fused_qkv, 'fused_qkv', false),
      causal: optBool(args.causal, 'causal', true),
      scale: args.scale ?? null,
      init_std: args.init_std ?? null,
      seed,
    };
    [this.hiddenSize, this.numHeads, this.numKvHeads, this.headDim] = [args.hidden_size, H, Hkv, d];
    this.causal = this.args.causal;
    this.scale = this.args.scale;
    const D = this.hiddenSize;
    const lin = (name: string, inF: number, outF: number, bias: boolean) =>
      this.addModule(
        name,
        new Linear({
          in_features: inF,
          out_features: outF,
          bias,
          init_std: this.args.init_std,
          seed: deriveSeed(seed, name),
        }),
      );
    const b = this.args.qkv_bias;
    if (this.args.fused_qkv) {
      [this.q, this.k, this.v] = [null, null, null];
      this.qkv = lin('qkv', D, (H + 2 * Hkv) * d, b);
    } else {
      this.q = lin('q', D, H * d, b);
      this.k = lin('k', D, Hkv * d, b);
      this.v = lin('v', D, Hkv * d, b);
      this.qkv = null;
    }
    this.o = lin('o', H * d, D, this.args.out_bias);
  }

  getConfig(): Required<SoftmaxAttentionArgs> {
    return { ...this.args };
  }

  /** Project `x` `[B, N, D]` to q `[B, N, H*d]`, k and v `[B, N, Hkv*d]`. */
  private project(x: Tensor): [Tensor, Tensor, Tensor] {
    if (this.qkv) {
      const [H, Hkv, d] = [this.numHeads, this.numKvHeads, this.headDim];
      const all = this.qkv.forward(x); // [B, N, (H + 2 Hkv) d]
      return tf.split(all, [H * d, Hkv * d, Hkv * d], 2) as [Tensor, Tensor, Tensor];
    }
    const [q, k, v] = [this.q, this.k, this.v] as [Linear, Linear, Linear];
    return [q.forward(x), k.forward(x), v.forward(x)];
  }

  /**
   * x: `[B, N, D]` -> `output` `[B, N, D]` (+ `weights` `[B, H, N, Nk]` when asked).
   * With a cache, `Nk` counts the cached positions too. Run under the caller's `tf.tidy`.
   */
  forward(x: Tensor, opts: AttentionCallOptions = {}): AttentionResult {
    if (x.rank !== 3 || x.shape[2] !== this.hiddenSize) {
      throw new ShapeError(
        `SoftmaxAttention '${this.path}': expected [B, N, ${this.hiddenSize}], got [${x.shape.join(', ')}]`,
      );
    }
    const N = x.shape[1] as number;
    const [H, Hkv, d] = [this.numHeads, this.numKvHeads, this.headDim];
    const [q2, k2, v2] = this.project(x);
    let q = splitHeads(q2, H, d); // [B, H, N, d]
    let k = splitHeads(k2, Hkv, d); // [B, Hkv, N, d]
    const v = splitHeads(v2, Hkv, d); // [B, Hkv, N, d]
    if (opts.rotary) {
      q = applyRotary(q, opts.rotary); // [B, H, N, d]
      k = applyRotary(k, opts.rotary); // [B, Hkv, N, d]
    }
    const past = opts.cache ? opts.cache.length : 0;
    const segs = opts.cache ? opts.cache.append(k, v) : { keys: [k], values: [v] };
    const bias =
      opts.bias !== undefined && opts.bias !== null
        ? opts.bias
        : buildAttentionBias({
            queries: N,
            keys: past + N,
            offset: past,
            causal: this.causal,
            attentionMask: opts.attentionMask ?? null,
            padKeys: true,
          }); // [Nq, Np] | [B, 1, Nq, Np] | [1, Np] | null (keys padded, mask.ts)
    const res = scaledDotProductAttention(q, segs.keys, segs.values, {
      bias,
      scale: this.scale ?? undefined,
      returnWeights: opts.outputAttentions ?? false,
      name: this.path,
    }); // output [B, H, N, d]
    const output = this.o.forward(mergeHeads(res.output)); // [B, N, D]
    return res.weights ? { output, weights: res.weights } : { output };
  }
}
