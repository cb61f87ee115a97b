// Types of the training cost model (training-cost.ts): the layer description, op
// counts, traffic categories and the JSON-able report with its totals.
import type { Encoding } from './recorder.js';
import type { TrainingCostConfig } from './training-config.js';

/** How gradients are obtained (src/train). */
export type GradientRule = 'bptt' | 'sltt' | 'sltt-k' | 'ottt' | 'opzo';
export const GRADIENT_RULES: readonly GradientRule[] = ['bptt', 'sltt', 'sltt-k', 'ottt', 'opzo'];

/** Surrogates whose derivative is a box (1-bit σ' mask) or has bounded support. */
export type MaskSurrogate = 'rectangular' | 'triangle' | 'sigmoid' | 'atan';

/** One weight layer as the cost model sees it. Rates are per element, averaged over steps. */
export interface TrainingLayer {
  layer: string;
  /** Input width `C_in`: fan-in of an output, and the address range of an AER spike. */
  in_features: number;
  /** Output width `C_out`. */
  out_features: number;
  /** Output rows per time step `M` (B·N tokens; B·H_out·W_out for a conv). */
  rows: number;
  /** Dense MACs of one step's forward. Default `rows·in_features·out_features` (linear). */
  macs_per_step?: number;
  /** Input elements per step. Default `rows·in_features` (linear). */
  in_elements?: number;
  /** Weights. Default `in_features·out_features` (linear). */
  weights?: number;
  /** Positions an input event can address (AER address bits). Default `in_features`. */
  address_range?: number;
  /** Encoding of the input: spike (0/1), ternary, integer counts (`max_count` sub-steps) or real. */
  input_encoding: Encoding;
  /** `integer` input: the largest count `D`. */
  max_count?: number;
  /** Input spike rate `f_in` (events per binary slot; ignored for real input). */
  f_in: number;
  /** Fraction of the output membranes with a non-zero surrogate derivative (1 without a neuron). */
  g_out: number;
  /** The same fraction of the neurons that produced this layer's input. Default 1. */
  g_in?: number;
  /** Whether δ_in must be computed (false for the network's input layer). Default true. */
  needs_input_grad?: boolean;
  /** Whether spiking neurons follow the layer (state updates, σ' stash). Default true. */
  neuron?: boolean;
  /**
   * Steps this layer runs per iteration. Default: the report's `time_steps`. A real input
   * reported once over all `T·B` rows has 1 (with `rows` counting all of them).
   */
  time_steps?: number;
  /** Surrogate of those neurons (only `rectangular` gives a pure 1-bit σ' mask). Default rectangular. */
  surrogate?: MaskSurrogate;
}

/** Engines and element-wise work a count belongs to. */
export type Engine =
  'fp' | 'bp' | 'wg' | 'neuron_fwd' | 'neuron_bwd' | 'trace' | 'noise' | 'feedback';
/** Op types: spike-driven accumulate, FP16 MAC, FP16 accumulate of ΔW, element-wise add / mul. */
export type OpType = 'ac' | 'mac' | 'acc' | 'add' | 'mul';

/** One op count: what the event-driven engine does (`sparse`, `type`) and a dense engine. */
export interface OpTerm {
  engine: Engine;
  /** What the event-driven engine executes. */
  type: OpType;
  /** What a dense (GPU-style) engine executes: a matmul over spikes is still a MAC there. */
  dense_type: OpType;
  dense: number;
  sparse: number;
}

/** Traffic categories, bytes. */
export interface Traffic {
  weights: number;
  weight_grads: number;
  /** Input tensors in spike/ternary/integer encoding (FP read + stash re-read). */
  spikes: number;
  /** Real-valued input tensors. */
  activations: number;
  traces: number;
  /** U (baseline) or the σ' mask/values (event). */
  surrogate: number;
  /** δ_out, δ_in, OPZO's output error. */
  deltas: number;
  /** OPZO feedback matrices. */
  feedback: number;
  total: number;
}

/** Cost of one layer for one training iteration. */
export interface LayerTrainingCost {
  layer: string;
  input_encoding: Encoding;
  f_in: number;
  g_out: number;
  g_in: number;
  needs_input_grad: boolean;
  neuron: boolean;
  /** Core index of the latency model. */
  core: number;
  /** Event-driven spike storage chosen (`bitmap`/`aer`), null for non-spike input. */
  spike_format: 'bitmap' | 'aer' | null;
  ops: OpTerm[];
  dram_bytes: { baseline: Traffic; event: Traffic };
  /** Bytes kept on chip instead of DRAM (stash, resident weights). */
  sram_bytes: { baseline: number; event: number };
  /** Tensors saved for the backward and held at once (activation memory), bytes. */
  stash_bytes: { baseline: number; event: number };
  stash_on_chip: { baseline: boolean; event: boolean };
  weights_on_chip: boolean;
  energy_pj: { baseline: number; event: number };
}

/** Options of `trainingCost`. */
export interface TrainingCostOptions {
  rule: GradientRule;
  /** Time steps `T` of one iteration. */
  time_steps: number;
  /** `sltt-k`: steps with a backward, 1 ≤ K ≤ T. */
  k?: number;
  /** `opzo`: output width `m` of the feedback matrices. Default: the last layer's `out_features`. */
  outputs?: number;
  config?: Partial<TrainingCostConfig>;
  /** Layer-to-core assignment (every layer, when given). Default: layer i on core i. */
  cores?: Record<string, number>;
  /** Echoed into the report. */
  model?: string;
  step?: number;
  /** Recorded work the model does not price (attention products, norms), listed as is. */
  unmodelled?: UnmodelledWork[];
}

/** Recorded work outside the model (no training counts are derived for it). */
export interface UnmodelledWork {
  layer: string;
  kind: string;
  op?: string;
  /** Forward ops over all steps as if dense. */
  dense_ops: number;
}

/** Totals of a report. */
export interface TrainingCostTotals {
  /** Σ over layers, by engine: dense and sparse counts. */
  ops_by_engine: Record<Engine, { dense: number; sparse: number }>;
  /** Σ of sparse counts by the event type, and of dense counts by the dense type. */
  ops_by_type: { event: Record<OpType, number>; dense: Record<OpType, number> };
  ops: { dense: number; sparse: number };
  dram_bytes: { baseline: Traffic; event: Traffic };
  /** `1 − event / baseline` DRAM bytes (null when the baseline moves nothing). */
  dram_reduction: number | null;
  sram_bytes: { baseline: number; event: number };
  stash_bytes: { baseline: number; event: number };
  energy_pj: {
    baseline: number;
    event: number;
    baseline_compute: number;
    event_compute: number;
    baseline_memory: number;
    event_memory: number;
  };
  energy_mj: { baseline: number; event: number };
  /** Dense-equivalent FLOPs of the engines the rule runs: 2 · Σ dense MACs of FP, BP, WG. */
  useful_flops: number;
  /** `useful_flops / E` in TFLOPS/W (= FLOPs per pJ); `compute` leaves memory energy out. */
  efficiency_tflops_per_w: {
    baseline: number | null;
    event: number | null;
    baseline_compute: number | null;
    event_compute: number | null;
  };
  latency: TrainingLatency;
}

/** Latency model: `max_core(ops_core / core_ops_per_s) + DRAM bytes / bandwidth`. */
export interface TrainingLatency {
  cores: { core: number; layers: string[]; event_ops: number; dense_ops: number }[];
  event: { compute_s: number; transfer_s: number; total_s: number };
  dense: { compute_s: number; transfer_s: number; total_s: number };
}

/** JSON-able training cost of one model at one step. */
export interface TrainingCostReport {
  model: string | null;
  step: number | null;
  rule: GradientRule;
  time_steps: number;
  k: number | null;
  outputs: number | null;
  convention: TrainingCostConfig;
  layers: LayerTrainingCost[];
  unmodelled: UnmodelledWork[];
  totals: TrainingCostTotals;
}
