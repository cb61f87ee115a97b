// The opt-in hook through which layers report their work to an energy count.
// Layers call `activeRecorder()` once per forward; when no count is running it
// returns null and the layer does nothing more, so counting costs nothing when off.
// The fields after `encoding` are optional extensions (methods-language.md 6.1):
// a layer that does not set them is counted exactly as before.
import type { Tensor } from '../tf.js';
import type { Surrogate } from '../neurons/surrogate.js';

/** How a tensor entering a layer is encoded. */
export type Encoding = 'spike' | 'ternary' | 'integer' | 'real';

/** One synaptic layer's work in one forward pass, as a layer reports it. */
export interface LayerWork {
  /** Layer name in the model's tensor-name scheme, e.g. `layers.0.mlp.up`. */
  layer: string;
  /** What kind of op: a weight layer, a spiking attention product, or other. */
  kind: 'linear' | 'attention' | 'other';
  /**
   * The tensor that enters the layer, time-first `[T, B, ...]` for spiking input
   * (`T = 1` for a real-valued input or an integer-count input).
   */
  input: Tensor;
  /** Time steps folded into `input`'s first axis (1 when the input has no time axis). */
  timeSteps: number;
  /**
   * Multiply-accumulates for ONE time step if the input were dense (`FLOPs_l`),
   * over the whole batch in `input`. For `kind: 'other'`: element-wise ops per step.
   */
  flopsPerStep: number;
  /**
   * How the input is encoded: `spike` (0/1), `ternary` (-1/0/+1), `integer`
   * (counts 0..D: each count is that many binary sub-steps), or `real`.
   */
  encoding: Encoding;
  /**
   * The real-valued input of the network's first synaptic layer (direct encoding).
   * It is priced as MAC once or `×T` by the `first_layer` rule of the energy config.
   */
  firstLayer?: boolean;
  /**
   * `kind: 'attention'` only: the second spiking operand of the product (e.g. `V`
   * in `Kᵀ V`, `K` in `Q Kᵀ`). Omit it when the second operand is dense (e.g. the
   * integer matrix `Kᵀ V` multiplied by `Q`): then only `input` is sparse.
   */
  other?: Tensor;
  /** Encoding of `other` (default: the same as `encoding`). */
  otherEncoding?: Encoding;
  /** `integer` encoding: the largest count `D` (each step expands into `D` binary sub-steps). */
  maxCount?: number;
  /** `kind: 'other'`: the operation's name, e.g. `softmax`, `norm`, `topk`. */
  op?: string;
  /** Number of weights the layer reads per forward (for memory traffic), if known. */
  weightCount?: number;
  /** Bits per stored weight (32 float, 1 binary, 2 ternary). Default 32. */
  weightBits?: number;
}

/**
 * One neuron site's membrane before firing, as the neuron core reports it to a recorder
 * that asks for it (`recordNeuron`): the training cost model reads the fraction of
 * elements where the surrogate derivative at `H - threshold` is non-zero.
 */
export interface NeuronWork {
  /** Charge `H` before firing over `timeSteps` steps (a flat float32 array from the fused kernel). */
  charge: Tensor | Float32Array;
  /** Firing threshold: a number, or a scalar / per-channel `[C]` tensor over the last axis. */
  threshold: number | Tensor;
  /** The surrogate whose derivative gates the backward. */
  surrogate: Surrogate;
  /** Time steps folded into `charge`. */
  timeSteps: number;
}

/** Receives layer reports while a count is running. */
export interface Recorder {
  record(work: LayerWork): void;
  /** Optional: neuron sites report their pre-fire membrane here (training cost collector). */
  recordNeuron?(site: NeuronWork): void;
}

let active: Recorder | null = null;

/** The running recorder, or null (the common case: counting is off). */
export function activeRecorder(): Recorder | null {
  return active;
}

/**
 * Run `fn` with `recorder` receiving every layer report; restores the previous
 * recorder afterwards (counts nest). Synchronous, like `tf.tidy`.
 */
export function withRecorder<T>(recorder: Recorder, fn: () => T): T {
  const prev = active;
  active = recorder;
  try {
    return fn();
  } finally {
    active = prev;
  }
}
