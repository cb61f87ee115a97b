// The opt-in hook through which layers report their work to an energy count.
// Layers call `activeRecorder()` once per forward; when no count is running it
// returns null and the layer does nothing more, so counting costs nothing when off.
import type { Tensor } from '../tf.js';

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
  /** Multiply-accumulates for ONE time step if the input were dense (`FLOPs_l`). */
  flopsPerStep: number;
  /**
   * How the input is encoded: `spike` (0/1), `ternary` (-1/0/+1), `integer`
   * (counts 0..D: each count is that many binary sub-steps), or `real`.
   */
  encoding: 'spike' | 'ternary' | 'integer' | 'real';
}

/** Receives layer reports while a count is running. */
export interface Recorder {
  record(work: LayerWork): void;
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
