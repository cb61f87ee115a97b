// Energy estimate from per-layer tallies (methods-language.md 6.1):
//   E_SNN = E_MAC · (MACs of real-input layers) + E_AC · Σ SOPs,  E_ANN = E_MAC · Σ FLOPs.
// A real-input layer is MAC (the first layer once or ×T, as configured; any other
// real-input layer once per application); spike, ternary and integer inputs are ACs.
// Non-AC ops (softmax, norms, top-k comparisons) are listed apart, not priced.
import { resolveEnergyConfig } from './config.js';
import type { EnergyConfig } from './config.js';
import type { Encoding } from './recorder.js';
import { firingRate, otherFiringRate } from './tally.js';
import type { LayerTally } from './tally.js';

/** One synaptic layer's counts and energy (per example when `scope` is `per_example`). */
export interface LayerEnergy {
  layer: string;
  kind: 'linear' | 'attention';
  encoding: Encoding;
  /** `mac` for real-valued input, `ac` for spike/ternary/integer input. */
  op_type: 'mac' | 'ac';
  /** The first-layer rule applied to this layer. */
  first_layer: boolean;
  calls: number;
  /** Effective binary time steps `T · D` of the last call. */
  time_steps: number;
  /** Firing rate of the entering tensor (1 for real input). */
  firing_rate: number;
  /** Attention: firing rate of the second spike operand. */
  firing_rate_other?: number;
  /** ANN-equivalent multiply-accumulates (one step, dense). */
  flops: number;
  /** `flops · time_steps`: every op of every step as if the input were dense. */
  dense_ops: number;
  /** Synaptic operations performed: `macs + acs` (`acs = T · fr · FLOPs` for spiking input). */
  sops: number;
  macs: number;
  acs: number;
  energy_pj: number;
  /** `E_MAC · flops`. */
  ann_energy_pj: number;
  input_bytes_dense: number;
  input_bytes_packed: number;
  weight_bytes: number;
}

/** A non-AC operation, listed apart from the AC/MAC energy. */
export interface OtherOps {
  layer: string;
  op: string;
  calls: number;
  ops: number;
}

/** JSON-serialisable energy report; units are in the field names. */
export interface EnergyReport {
  /** The convention used, echoed so that a number can be traced to how it was made. */
  convention: EnergyConfig;
  /** `per_example` (divided by `examples`) or `total` (no examples were counted). */
  scope: 'per_example' | 'total';
  examples: number;
  /** Layers priced by the first-layer rule. */
  first_layers: string[];
  layers: LayerEnergy[];
  other_ops: OtherOps[];
  totals: {
    macs: number;
    acs: number;
    sops: number;
    /** ANN-equivalent MACs, `Σ FLOPs`. */
    ann_macs: number;
    /**
     * Firing rate over all spiking inputs, Σ events / Σ slots (weighted by input
     * elements; analytic tallies weigh by T). Null when no input spikes.
     */
    firing_rate: number | null;
    energy_pj: number;
    energy_mj: number;
    ann_energy_pj: number;
    ann_energy_mj: number;
    /** `E_SNN / E_ANN` (null when the ANN energy is 0). */
    snn_ann_ratio: number | null;
    other_ops: number;
    input_bytes_dense: number;
    input_bytes_packed: number;
    weight_bytes: number;
  };
}

/** Options of `estimateEnergy`. */
export interface EstimateOptions {
  /** Divide every count by this many examples (0 or absent: report totals). */
  examples?: number;
}

const PJ_PER_MJ = 1e9;

/** Price tallies under a convention; see the file header for the rules. */
export function estimateEnergy(
  tallies: readonly LayerTally[],
  config: Partial<EnergyConfig> = {},
  opts: EstimateOptions = {},
): EnergyReport {
  const c = resolveEnergyConfig(config);
  const examples = opts.examples ?? 0;
  const k = examples > 0 ? 1 / examples : 1;
  const layers: LayerEnergy[] = [];
  const other: OtherOps[] = [];
  let slots = 0;
  let events = 0;
  for (const t of tallies) {
    if (t.kind === 'other') {
      other.push({ layer: t.layer, op: t.op ?? 'other', calls: t.calls, ops: t.dense_ops * k });
      continue;
    }
    const mac = t.encoding === 'real';
    const macs = !mac ? 0 : t.first_layer && c.first_layer === 'once' ? t.flops : t.dense_ops;
    const acs = mac ? 0 : c.attention === 'one-operand' ? t.sops_one_operand : t.sops_two_operand;
    if (!mac) {
      slots += t.slots;
      events += t.events;
    }
    const frOther = otherFiringRate(t);
    layers.push({
      layer: t.layer,
      kind: t.kind,
      encoding: t.encoding,
      op_type: mac ? 'mac' : 'ac',
      first_layer: t.first_layer,
      calls: t.calls,
      time_steps: t.time_steps,
      firing_rate: firingRate(t),
      ...(frOther === undefined ? {} : { firing_rate_other: frOther }),
      flops: t.flops * k,
      dense_ops: t.dense_ops * k,
      sops: (macs + acs) * k,
      macs: macs * k,
      acs: acs * k,
      energy_pj: (c.e_mac_pj * macs + c.e_ac_pj * acs) * k,
      ann_energy_pj: c.e_mac_pj * t.flops * k,
      input_bytes_dense: t.input_bytes_dense * k,
      input_bytes_packed: t.input_bytes_packed * k,
      weight_bytes: t.weight_bytes * k,
    });
  }
  const sum = (f: (l: LayerEnergy) => number): number => layers.reduce((s, l) => s + f(l), 0);
  const energy = sum((l) => l.energy_pj);
  const ann = sum((l) => l.ann_energy_pj);
  return {
    convention: c,
    scope: examples > 0 ? 'per_example' : 'total',
    examples,
    first_layers: layers.filter((l) => l.first_layer).map((l) => l.layer),
    layers,
    other_ops: other,
    totals: {
      macs: sum((l) => l.macs),
      acs: sum((l) => l.acs),
      sops: sum((l) => l.sops),
      ann_macs: sum((l) => l.flops),
      firing_rate: slots > 0 ? events / slots : null,
      energy_pj: energy,
      energy_mj: energy / PJ_PER_MJ,
      ann_energy_pj: ann,
      ann_energy_mj: ann / PJ_PER_MJ,
      snn_ann_ratio: ann > 0 ? energy / ann : null,
      other_ops: other.reduce((s, o) => s + o.ops, 0),
      input_bytes_dense: sum((l) => l.input_bytes_dense),
      input_bytes_packed: sum((l) => l.input_bytes_packed),
      weight_bytes: sum((l) => l.weight_bytes),
    },
  };
}
