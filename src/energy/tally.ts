// Per-layer operation tallies: what the counter accumulates from layer reports and
// what the analytic helpers build from shapes plus firing rates. One record type for
// both, so the energy estimate (estimate.ts) has one code path. Conventions follow
// methods-language.md 0.2 (firing rate) and 6.1 (SOPs = T · fr · FLOPs).
import { ConfigError } from '../errors.js';
import type { Encoding, LayerWork } from './recorder.js';

/**
 * Raw, un-normalised counts of one layer summed over every recorded call.
 * `firing_rate = events / slots`; `sops_* = T_eff · fr · flops` per call, where
 * `T_eff = T · D` (D = max count for `integer` input, else 1).
 */
export interface LayerTally {
  layer: string;
  kind: LayerWork['kind'];
  encoding: Encoding;
  /** `kind: 'other'`: the operation's name (softmax, norm, topk, ...). */
  op?: string;
  /** Priced by the first-layer rule (real-valued direct-encoded input). */
  first_layer: boolean;
  /** Number of calls recorded. */
  calls: number;
  /** Effective binary time steps `T · D` of the last call (`T` for real input). */
  time_steps: number;
  /** Binary slots behind the firing rate: Σ input elements (all steps) × D. */
  slots: number;
  /** Input events: non-zeros (spike, ternary `|±1|`) or Σ counts (integer); `slots` for real. */
  events: number;
  /** Attention only: slots and events of the second operand (0 when it is dense). */
  other_slots: number;
  other_events: number;
  /** Σ FLOPs per step: the ANN-equivalent multiply-accumulates (`kind: 'other'`: ops per step). */
  flops: number;
  /** Σ FLOPs · T_eff: every op of every step as if the input were dense. */
  dense_ops: number;
  /** Synaptic ops under the one-operand convention (`min(fr_a, fr_b)` for two spike operands). */
  sops_one_operand: number;
  /** Synaptic ops under the two-operand convention (`fr_a · fr_b`). */
  sops_two_operand: number;
  /** Input traffic if every element were an FP32 value, bytes. */
  input_bytes_dense: number;
  /** Input traffic at the encoding's width (1 bit spike, 2 bits ternary, ...), bytes. */
  input_bytes_packed: number;
  /** Weight reads, bytes (0 when the layer did not report `weightCount`). */
  weight_bytes: number;
}

/** A tally with every count at zero. */
export function emptyTally(
  layer: string,
  kind: LayerTally['kind'],
  encoding: Encoding,
  firstLayer = false,
  op?: string,
): LayerTally {
  return {
    layer,
    kind,
    encoding,
    ...(op === undefined ? {} : { op }),
    first_layer: firstLayer,
    calls: 0,
    time_steps: 0,
    slots: 0,
    events: 0,
    other_slots: 0,
    other_events: 0,
    flops: 0,
    dense_ops: 0,
    sops_one_operand: 0,
    sops_two_operand: 0,
    input_bytes_dense: 0,
    input_bytes_packed: 0,
    weight_bytes: 0,
  };
}

const SUMMED = [
  'calls',
  'slots',
  'events',
  'other_slots',
  'other_events',
  'flops',
  'dense_ops',
  'sops_one_operand',
  'sops_two_operand',
  'input_bytes_dense',
  'input_bytes_packed',
  'weight_bytes',
] as const;

/**
 * Add `from` into `into` (same layer). Throws when the two disagree on what the
 * layer is: a layer name must keep its kind and encoding across calls.
 */
export function addTally(into: LayerTally, from: LayerTally): void {
  if (into.kind !== from.kind || into.encoding !== from.encoding) {
    throw new ConfigError(
      `layer '${from.layer}' was reported as ${into.kind}/${into.encoding} and then as ${from.kind}/${from.encoding}`,
      'give each layer a unique name',
    );
  }
  for (const key of SUMMED) into[key] += from[key];
  into.time_steps = from.time_steps;
  into.first_layer = into.first_layer || from.first_layer;
}

/** Firing rate of the layer's input (1 for real input, 0 for a layer never called). */
export function firingRate(t: LayerTally): number {
  return t.slots > 0 ? t.events / t.slots : 0;
}

/** Firing rate of the attention's second operand, or undefined when it is dense. */
export function otherFiringRate(t: LayerTally): number | undefined {
  return t.other_slots > 0 ? t.other_events / t.other_slots : undefined;
}

/** Bits per stored input element for an encoding (`integer`: enough for 0..D, else 8). */
export function bitsPerElement(encoding: Encoding, maxCount?: number): number {
  switch (encoding) {
    case 'spike':
      return 1;
    case 'ternary':
      return 2;
    case 'integer':
      return maxCount === undefined ? 8 : Math.max(1, Math.ceil(Math.log2(maxCount + 1)));
    case 'real':
      return 32;
  }
}
