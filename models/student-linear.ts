// Weight layers of the spiking students on spikes or integer counts (methods-language.md
// 0.5, 2(b), 6.1). Every weight product below the embedding reads spikes (0/1) or spike
// counts only, so it is additions only (an AC per event) — and it reports itself to the
// energy recorder with that encoding:
// - `project`: a bias-free `Linear` on a neuron site's output, per time step. In the
//   `expanded` coding (spike inference of an integer model) each count becomes D binary
//   sub-steps (`expandCounts`), the layer runs on every sub-step and its outputs are
//   summed per step: the integer product up to the float rounding of that sum.
//   An ASN site's step θ is folded into the weight, `W' = W diag(θ)` (threshold folding).
//   In eval mode binary/ternary weights are quantised once and kept (`QuantCache`).
// - `RateHead`: the read-out on the time mean. Its input is the spike COUNT of each unit
//   (Σ over the T steps, integers 0..T·D) and the division by T comes after the product:
//   `logits = (c W'ᵀ) / T + b` equals a head on the mean rate `c / T`, without a
//   real-valued input (OUR choice [P]: a per-step head would cost T products).
// OTTT (student-grads.ts): when a site's output carries a presynaptic trace (stepwise runs
// with traces), both weight products take their weight gradient from the trace
// (`traceMatMul`, src/ops) while the input gradient still reaches the spikes.
import { tf } from '../src/tf.js';
import type { Tensor, Variable } from '../src/tf.js';
import { checkPositiveInt, ConfigError } from '../src/errors.js';
import { activeRecorder } from '../src/energy/index.js';
import type { Encoding } from '../src/energy/index.js';
import { expandCounts } from '../src/neurons/index.js';
import { Module, quantizeWeight } from '../src/layers/index.js';
import { matMul, traceMatMul } from '../src/ops/index.js';
import type { Linear, WeightPrecision } from '../src/layers/index.js';
import type { SpikeCoding, SpikeOut } from './student-neuron.js';

/** The coding of a model and its counts per step D (1 for IF/LIF spikes). */
export interface Coding {
  kind: SpikeCoding;
  levels: number;
}

const WEIGHT_BITS: Record<WeightPrecision, number> = { float: 32, binary: 1, ternary: 2 };

/** `x` `[M, in]` times the transpose of `w` `[out, in]` -> `[M, out]` (routed, src/ops). */
export function weightProduct(x: Tensor, w: Tensor): Tensor {
  return matMul(x, w, false, true); // [M, out]
}

/** Report one weight product to the running energy recorder, if any. */
function record(
  layer: string,
  x: Tensor,
  w: Tensor,
  o: { encoding: Encoding; timeSteps: number; maxCount?: number; bits: number },
): void {
  const rec = activeRecorder();
  if (!rec) return;
  const [out, inF] = w.shape as [number, number];
  rec.record({
    ...{ layer, kind: 'linear', input: x, timeSteps: o.timeSteps, encoding: o.encoding },
    flopsPerStep: (x.size / inF / o.timeSteps) * inF * out,
    ...{ weightCount: inF * out, weightBits: o.bits },
    ...(o.maxCount === undefined ? {} : { maxCount: o.maxCount }),
  });
}

/**
 * Quantised (binary/ternary) weights kept across inference calls, rebuilt when the latent
 * weight changes (`assign` gives a variable new data). Training never uses it: the STE
 * needs the quantiser on the tape. Owned by a model; `dispose()` with it.
 */
export class QuantCache {
  readonly #entries = new Map<object, { id: object; w: Tensor }>();

  /** The cached `make()` for `key`, rebuilt when `source`'s data changed. */
  get(key: object, source: Variable, make: () => Tensor): Tensor {
    const hit = this.#entries.get(key);
    if (hit && hit.id === source.dataId) return hit.w;
    hit?.w.dispose();
    const w = tf.keep(tf.tidy(make));
    this.#entries.set(key, { id: source.dataId, w });
    return w;
  }

  dispose(): void {
    for (const e of this.#entries.values()) e.w.dispose();
    this.#entries.clear();
  }
}

type CallOptions = { encoding: Encoding; timeSteps: number; maxCount?: number };

/**
 * `linear` on `x` `[S, ..., in]` by hand (recorded as `Linear` does): with an ASN step
 * folded into its weight, and/or with a cached quantised weight.
 */
function manualLinear(
  linear: Linear,
  x: Tensor,
  scale: Tensor | null,
  cache: QuantCache | null,
  o: CallOptions,
  trace: Tensor | null = null,
): Tensor {
  let w = cache
    ? cache.get(linear, linear.weight, () => linear.effectiveWeight())
    : linear.effectiveWeight(); // [out, in]
  if (scale) w = tf.mul(w, scale); // [out, in] = W diag(θ)
  record(linear.path, x, w, { ...o, bits: scale ? 32 : WEIGHT_BITS[linear.precision] });
  const x2 = tf.reshape(x, [-1, linear.inFeatures]); // [M, in]
  const y = trace
    ? traceMatMul(x2, tf.reshape(trace, [-1, linear.inFeatures]), w)
    : weightProduct(x2, w); // [M, out]
  return tf.reshape(y, [...x.shape.slice(0, -1), linear.outFeatures]); // [S, ..., out]
}

/**
 * A bias-free `linear` on a neuron site's output `[T, B, ..., in]` -> currents
 * `[T, B, ..., out]` (one per original time step in every coding). `cache` (inference
 * only) keeps quantised weights. Run under a tidy.
 */
export function project(
  linear: Linear,
  inp: SpikeOut,
  coding: Coding,
  cache: QuantCache | null = null,
): Tensor {
  const T = inp.s.shape[0];
  const D = coding.levels;
  const quantCache = linear.precision === 'float' ? null : cache;
  const trace = inp.trace ?? null;
  const run = (x: Tensor, o: CallOptions) =>
    inp.scale || quantCache || trace
      ? manualLinear(linear, x, inp.scale, quantCache, o, trace)
      : linear.forward(x, o);
  if (coding.kind === 'spike') return run(inp.s, { encoding: 'spike', timeSteps: T });
  if (coding.kind === 'integer') {
    return run(inp.s, { encoding: 'integer', timeSteps: T, maxCount: D }); // counts 0..D
  }
  if (trace) throw new ConfigError('project: traces apply to the spike and integer codings only');
  const bits = expandCounts(inp.s, D); // [T*D, B, ..., in] 0/1
  const y = run(bits, { encoding: 'spike', timeSteps: T * D }); // [T*D, B, ..., out]
  const rest = y.shape.slice(1);
  return tf.sum(tf.reshape(y, [T, D, ...rest]), 1); // [T, B, ..., out]
}

/** Constructor arguments of `RateHead`. */
export interface RateHeadArgs {
  in_features: number;
  out_features: number;
  /** Own weight `[out, in]`; false = a tied weight is passed to `forward`. */
  own_weight: boolean;
  bias: boolean;
  weight_precision: WeightPrecision;
  seed: number;
}

/** Linear read-out of spike counts, divided after the product (see the file header). */
export class RateHead extends Module {
  readonly args: RateHeadArgs;
  /** `[out, in]` latent weight (PyTorch `Linear` init), or null when tied. */
  readonly weight: Variable | null;
  /** `[out]` (zeros), or null. */
  readonly bias: Variable | null;

  constructor(args: RateHeadArgs) {
    super();
    checkPositiveInt(args.in_features, 'in_features');
    checkPositiveInt(args.out_features, 'out_features');
    this.args = { ...args };
    const k = 1 / Math.sqrt(args.in_features);
    const shape = [args.out_features, args.in_features];
    this.weight = args.own_weight
      ? this.addParameter('weight', tf.randomUniform(shape, -k, k, 'float32', args.seed))
      : null;
    this.bias = args.bias ? this.addParameter('bias', tf.zeros([args.out_features])) : null;
  }

  getConfig(): RateHeadArgs {
    return { ...this.args };
  }

  /**
   * counts `[M, in]` (integers 0..maxCount) -> logits `[M, out]` =
   * `counts (W diag θ)ᵀ / divisor + b`; `divisor` a number or `[M, 1]`. With `trace`
   * `[M, in]` the weight gradient reads the trace (OTTT).
   */
  forward(
    counts: Tensor,
    o: {
      scale: Tensor | null;
      divisor: number | Tensor;
      maxCount: number;
      tied?: Variable;
      cache?: QuantCache | null;
      trace?: Tensor | null;
    },
  ): Tensor {
    const p = this.args.weight_precision;
    const latent = (this.weight ?? o.tied) as Variable; // [out, in] latent
    const quantise = () => quantizeWeight(latent, p, p === 'binary', 1e-5);
    let w = p === 'float' ? latent : o.cache ? o.cache.get(this, latent, quantise) : quantise();
    if (o.scale) w = tf.mul(w, o.scale); // [out, in] = W diag(θ)
    const bits = o.scale ? 32 : WEIGHT_BITS[p];
    record(this.path, counts, w, { encoding: 'integer', timeSteps: 1, maxCount: o.maxCount, bits });
    const prod = o.trace ? traceMatMul(counts, o.trace, w) : weightProduct(counts, w); // [M, out]
    const y = tf.div(prod, o.divisor); // [M, out]
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
