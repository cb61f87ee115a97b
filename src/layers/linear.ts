// Linear layer `y = x W^T + b` with float, binary or ternary weights.
// Layout follows PyTorch/HF `nn.Linear`: weight `[out, in]`, bias `[out]`, default
// init U(-1/sqrt(in), 1/sqrt(in)) for both (PyTorch's kaiming_uniform(a=sqrt(5))).
// Quantisers and their straight-through estimators are in `quantize.ts`.
// Energy: when a recorder is active (src/energy/recorder.ts) each forward reports
// `{ kind: 'linear', flopsPerStep = tokens per step * in * out, encoding }`.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { matMul } from '../ops/index.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { activeRecorder } from '../energy/recorder.js';
import type { LayerWork } from '../energy/recorder.js';
import { deriveSeed, Module, optBool } from './module.js';
import { quantizeWeight, WEIGHT_PRECISIONS } from './quantize.js';
import type { WeightPrecision } from './quantize.js';

/** How a layer's input is encoded, as reported to the energy recorder. */
export type InputEncoding = LayerWork['encoding'];

export const INPUT_ENCODINGS: readonly InputEncoding[] = ['spike', 'ternary', 'integer', 'real'];

/** Constructor arguments of `Linear` (also its `getConfig()`). */
export interface LinearArgs {
  /** Input width (last axis of the input). Positive integer. */
  in_features: number;
  /** Output width. Positive integer. */
  out_features: number;
  /** Add a learned bias `[out]`. Default `true`. */
  bias?: boolean;
  /** `float` (default), `binary` (`alpha_o * sign(W)`) or `ternary` (BitNet b1.58 absmean). */
  weight_precision?: WeightPrecision;
  /**
   * Straight-through estimator clipping: pass the gradient to the latent weight
   * only where `|W| <= 1`. Default `true` for binary (our choice, as in
   * BinaryConnect/Bi-Real), `false` for ternary (BitNet's plain STE); ignored for float.
   */
  ste_clip?: boolean;
  /** `eps` in the ternary quantiser `round(W / (gamma + eps))`. Default `1e-5`. */
  ternary_eps?: number;
  /**
   * Encoding reported to the energy recorder when a call does not say:
   * `spike` for a layer fed by spiking neurons, else `real`. Default `real`.
   */
  input_encoding?: InputEncoding;
  /** Init std of a normal weight init (bias zero); `null` (default) = PyTorch uniform. */
  init_std?: number | null;
  /** Seed of the initialisation. Default `0`. */
  seed?: number;
}

/** Per-call options of `Linear.forward`. */
export interface LinearCallOptions {
  /** Override the layer's `input_encoding` for this call. */
  encoding?: InputEncoding;
  /**
   * Time steps folded into the input's FIRST axis (time-first `[T, B, ...]`).
   * Default: `x.shape[0]` for `spike` input, else 1.
   */
  timeSteps?: number;
  /** Mark this layer as the network's real-valued first layer (energy `first_layer` rule). */
  firstLayer?: boolean;
  /** `integer` encoding: the largest spike count `D` of the input. */
  maxCount?: number;
}

const WEIGHT_BITS: Record<WeightPrecision, number> = { float: 32, binary: 1, ternary: 2 };

/** A dense layer over the last axis of an input of any rank. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly precision: WeightPrecision;
  readonly steClip: boolean;
  readonly ternaryEps: number;
  readonly inputEncoding: InputEncoding;
  private readonly initStd: number | null;
  private readonly seed: number;
  /** Latent (full-precision) weight `[out, in]`. */
  readonly weight: Variable;
  /** Bias `[out]`, or null. */
  readonly bias: Variable | null;

  constructor(args: LinearArgs) {
    super();
    checkPositiveInt(args.in_features, 'in_features');
    checkPositiveInt(args.out_features, 'out_features');
    this.precision = args.weight_precision ?? 'float';
    if (!WEIGHT_PRECISIONS.includes(this.precision)) {
      throw new ConfigError(
        `weight_precision must be one of ${WEIGHT_PRECISIONS.join(', ')}, got ${JSON.stringify(this.precision)}`,
      );
    }
    this.inputEncoding = args.input_encoding ?? 'real';
    if (!INPUT_ENCODINGS.includes(this.inputEncoding)) {
      throw new ConfigError(
        `input_encoding must be one of ${INPUT_ENCODINGS.join(', ')}, got ${JSON.stringify(this.inputEncoding)}`,
      );
    }
    this.ternaryEps = args.ternary_eps ?? 1e-5;
    checkFinite(this.ternaryEps, 'ternary_eps');
    if (this.ternaryEps < 0)
      throw new ConfigError(`ternary_eps must be >= 0, got ${this.ternaryEps}`);
    this.initStd = args.init_std ?? null;
    if (this.initStd !== null && !(this.initStd > 0 && Number.isFinite(this.initStd))) {
      throw new ConfigError(
        `init_std must be a positive number or null, got ${String(args.init_std)}`,
      );
    }
    this.seed = args.seed ?? 0;
    checkFinite(this.seed, 'seed');
    this.inFeatures = args.in_features;
    this.outFeatures = args.out_features;
    this.steClip = optBool(args.ste_clip, 'ste_clip', this.precision === 'binary');
    const hasBias = optBool(args.bias, 'bias', true);

    const [o, i] = [this.outFeatures, this.inFeatures];
    const k = 1 / Math.sqrt(i);
    const bSeed = deriveSeed(this.seed, 'bias');
    this.weight = this.addParameter(
      'weight',
      this.initStd === null
        ? tf.randomUniform([o, i], -k, k, 'float32', this.seed)
        : tf.randomNormal([o, i], 0, this.initStd, 'float32', this.seed),
    );
    this.bias = !hasBias
      ? null
      : this.addParameter(
          'bias',
          this.initStd === null ? tf.randomUniform([o], -k, k, 'float32', bSeed) : tf.zeros([o]),
        );
  }

  getConfig(): Required<LinearArgs> {
    return {
      in_features: this.inFeatures,
      out_features: this.outFeatures,
      bias: this.bias !== null,
      weight_precision: this.precision,
      ste_clip: this.steClip,
      ternary_eps: this.ternaryEps,
      input_encoding: this.inputEncoding,
      init_std: this.initStd,
      seed: this.seed,
    };
  }

  /**
   * The weight the forward uses, `[out, in]`: the latent weight for `float`, else
   * its quantised value (differentiable w.r.t. the latent weight via the STE).
   * Caller owns the result (dispose it, or call under `tf.tidy`).
   */
  effectiveWeight(): Tensor {
    const w = quantizeWeight(this.weight, this.precision, this.steClip, this.ternaryEps);
    return w === this.weight ? tf.clone(w) : w;
  }

  /** x: [..., in] -> [..., out]. Run under the caller's `tf.tidy`. */
  forward(x: Tensor, opts: LinearCallOptions = {}): Tensor {
    const lead = x.shape.slice(0, -1);
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(
        `Linear '${this.path}': input last axis must be ${this.inFeatures}, got shape [${x.shape.join(', ')}]`,
      );
    }
    const rec = activeRecorder();
    if (rec) rec.record(this.work(x, opts));
    const w = quantizeWeight(this.weight, this.precision, this.steClip, this.ternaryEps); // [out, in]
    const x2 = tf.reshape(x, [-1, this.inFeatures]); // [M, in]
    let y = matMul(x2, w, false, true); // [M, out], routed (src/ops)
    if (this.bias) y = tf.add(y, this.bias); // [M, out]
    return tf.reshape(y, [...lead, this.outFeatures]); // [..., out]
  }

  /** The energy report for one forward of `x`. */
  private work(x: Tensor, opts: LinearCallOptions): LayerWork {
    const encoding = opts.encoding ?? this.inputEncoding;
    if (!INPUT_ENCODINGS.includes(encoding)) {
      throw new ConfigError(
        `encoding must be one of ${INPUT_ENCODINGS.join(', ')}, got ${String(encoding)}`,
      );
    }
    const timeSteps = opts.timeSteps ?? (encoding === 'spike' && x.rank >= 2 ? x.shape[0] : 1);
    checkPositiveInt(timeSteps, 'timeSteps');
    if (timeSteps > 1 && (x.rank < 2 || x.shape[0] !== timeSteps)) {
      throw new ShapeError(
        `Linear '${this.path}': timeSteps ${timeSteps} must be the first axis of the input, got shape [${x.shape.join(', ')}]`,
      );
    }
    const tokensPerStep = x.size / this.inFeatures / timeSteps;
    const work: LayerWork = {
      layer: this.path,
      kind: 'linear',
      input: x,
      timeSteps,
      flopsPerStep: tokensPerStep * this.inFeatures * this.outFeatures,
      encoding,
      weightCount: this.inFeatures * this.outFeatures,
      weightBits: WEIGHT_BITS[this.precision],
    };
    if (opts.firstLayer) work.firstLayer = true;
    if (opts.maxCount !== undefined) work.maxCount = opts.maxCount;
    return work;
  }
}
