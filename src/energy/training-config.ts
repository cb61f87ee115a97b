// Conventions of the training cost model (methods-language.md 5(b), 6.2): per-op and
// per-byte energies, storage widths, the on-chip buffer, the spike storage format and
// the latency model's throughputs, validated once. Keys are snake_case because the
// config is echoed verbatim into JSON reports.
//
// Sources. The op and memory energies are the 45 nm values of Horowitz, ISSCC 2014, as
// listed in methods-language.md 6.2. They are widely cited values RECALLED from the
// literature, not re-read from the paper: re-check them before publishing a number.
// Everything marked [P] is our proposed default, not a value of any paper.
import { ConfigError } from '../errors.js';

/** How spike tensors are stored by the event-driven scheme. */
export type SpikeFormat = 'auto' | 'bitmap' | 'aer';
export const SPIKE_FORMATS: readonly SpikeFormat[] = ['auto', 'bitmap', 'aer'];

/** Where OPZO adds its noise: to the spikes sent on (`post`) or to the membrane (`pre`). */
export type OpzoNoise = 'post' | 'pre';
export const OPZO_NOISES: readonly OpzoNoise[] = ['post', 'pre'];

/** The training cost convention, as reported. */
export interface TrainingCostConfig {
  /** FP16 add (an accumulate, a compare), picojoules. 0.4 (45 nm, recalled, re-check). */
  e_add_pj: number;
  /** FP16 multiply, picojoules. 1.1 (45 nm, recalled, re-check). A MAC costs add + mul. */
  e_mul_pj: number;
  /**
   * DRAM access per byte, picojoules. 6.2 lists 1.3-2.6 nJ per 64-bit read (recalled,
   * re-check); default [P] the midpoint 1.95 nJ / 8 B = 243.75 pJ/B. Writes cost as reads.
   */
  e_dram_pj_per_byte: number;
  /** On-chip SRAM access per byte, picojoules. 20 pJ per 64-bit read of a 32 KB SRAM (recalled) = 2.5. */
  e_sram_pj_per_byte: number;
  /** Bytes per stored weight `b_w`. Default 2 (FP16 training). */
  weight_bytes: number;
  /** Bytes per stored activation or gradient element `b_g` (dense tensors, δ, ΔW). Default 2 (FP16). */
  grad_bytes: number;
  /**
   * On-chip buffer per layer, bytes [P]. Tensors saved for the backward (the stash) and the
   * weights with their gradient stay on chip when they fit, else they go through DRAM.
   * Default 0: every tensor goes through DRAM, the traffic list of 5(b) as written.
   */
  on_chip_bytes: number;
  /**
   * Event-driven spike storage: `bitmap` (1 bit/element), `aer` (an address of
   * ceil(log2 C_in) bits per event), or `auto` (default): AER when it is smaller, i.e.
   * when `f_in < 1 / ceil(log2 C_in)` (5(b)).
   */
  spike_format: SpikeFormat;
  /** OPZO noise position [P]. Default `post`, as the toolkit's OPZO rule perturbs spikes sent on. */
  opzo_noise: OpzoNoise;
  /** Latency model: synaptic/element-wise ops per second of one core [P, a placeholder; set yours]. */
  core_ops_per_s: number;
  /** Latency model: DRAM bandwidth, bytes per second [P, one DDR4-3200 channel, 25.6 GB/s]. */
  dram_bytes_per_s: number;
}

export const DEFAULT_TRAINING_COST_CONFIG: Readonly<TrainingCostConfig> = Object.freeze({
  e_add_pj: 0.4,
  e_mul_pj: 1.1,
  e_dram_pj_per_byte: 1950 / 8,
  e_sram_pj_per_byte: 20 / 8,
  weight_bytes: 2,
  grad_bytes: 2,
  on_chip_bytes: 0,
  spike_format: 'auto',
  opzo_noise: 'post',
  core_ops_per_s: 1e11,
  dram_bytes_per_s: 25.6e9,
});

const KEYS = Object.keys(DEFAULT_TRAINING_COST_CONFIG) as (keyof TrainingCostConfig)[];

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${field} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function positive(value: unknown, field: string): number {
  if (nonNegative(value, field) === 0) throw new ConfigError(`${field} must be > 0, got 0`);
  return value as number;
}

function choice<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new ConfigError(
      `${field} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/**
 * Fill defaults into a partial config and validate every field, throwing a ConfigError
 * that names the field and the offending value.
 */
export function resolveTrainingCostConfig(
  partial: Partial<TrainingCostConfig> = {},
): TrainingCostConfig {
  if (partial === null || typeof partial !== 'object') {
    throw new ConfigError(`training cost config must be an object, got ${String(partial)}`);
  }
  for (const key of Object.keys(partial)) {
    if (!KEYS.includes(key as keyof TrainingCostConfig)) {
      throw new ConfigError(
        `unknown training cost config field ${JSON.stringify(key)}`,
        `known fields: ${KEYS.join(', ')}`,
      );
    }
  }
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const m = { ...DEFAULT_TRAINING_COST_CONFIG, ...given } as TrainingCostConfig;
  return {
    e_add_pj: nonNegative(m.e_add_pj, 'e_add_pj'),
    e_mul_pj: nonNegative(m.e_mul_pj, 'e_mul_pj'),
    e_dram_pj_per_byte: nonNegative(m.e_dram_pj_per_byte, 'e_dram_pj_per_byte'),
    e_sram_pj_per_byte: nonNegative(m.e_sram_pj_per_byte, 'e_sram_pj_per_byte'),
    weight_bytes: positive(m.weight_bytes, 'weight_bytes'),
    grad_bytes: positive(m.grad_bytes, 'grad_bytes'),
    on_chip_bytes: nonNegative(m.on_chip_bytes, 'on_chip_bytes'),
    spike_format: choice(m.spike_format, 'spike_format', SPIKE_FORMATS),
    opzo_noise: choice(m.opzo_noise, 'opzo_noise', OPZO_NOISES),
    core_ops_per_s: positive(m.core_ops_per_s, 'core_ops_per_s'),
    dram_bytes_per_s: positive(m.dram_bytes_per_s, 'dram_bytes_per_s'),
  };
}
