// Energy-estimation conventions (methods-language.md 6.1-6.2): per-op energies,
// the first-layer rule and the attention sparsity convention, validated once.
// Keys are snake_case because the config is echoed verbatim into JSON reports.
import { ConfigError } from '../errors.js';

/** How the real-valued first layer is priced: MAC once (direct encoding), or once per step. */
export type FirstLayerRule = 'once' | 'per-step';
export const FIRST_LAYER_RULES: readonly FirstLayerRule[] = ['once', 'per-step'];

/**
 * Sparsity convention of a product of two spike tensors: `one-operand` skips an op
 * when the sparser operand is zero (`min(fr_a, fr_b)`, Spikingformer's script);
 * `two-operand` needs both non-zero (`fr_a · fr_b`, assumes independence).
 */
export type AttentionConvention = 'one-operand' | 'two-operand';
export const ATTENTION_CONVENTIONS: readonly AttentionConvention[] = ['one-operand', 'two-operand'];

/** The energy convention, as reported. */
export interface EnergyConfig {
  /** Energy of one multiply-accumulate, picojoules. Default 4.6 (FP32, 45 nm). */
  e_mac_pj: number;
  /** Energy of one accumulate, picojoules. Default 0.9 (FP32 add, 45 nm). */
  e_ac_pj: number;
  /** First-layer rule. Default `once` (most papers); Spikingformer's script is `per-step`. */
  first_layer: FirstLayerRule;
  /** Attention convention. Default `one-operand` (Spikingformer's script). */
  attention: AttentionConvention;
}

/** 45 nm CMOS, Horowitz ISSCC 2014: FP32 mult 3.7 pJ + add 0.9 pJ. */
export const DEFAULT_ENERGY_CONFIG: Readonly<EnergyConfig> = Object.freeze({
  e_mac_pj: 4.6,
  e_ac_pj: 0.9,
  first_layer: 'once',
  attention: 'one-operand',
});

const KEYS = Object.keys(DEFAULT_ENERGY_CONFIG) as (keyof EnergyConfig)[];

function checkEnergy(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(
      `${field} must be a finite, non-negative energy in picojoules, got ${String(value)}`,
    );
  }
  return value;
}

function checkChoice<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new ConfigError(
      `${field} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/**
 * Fill defaults into a partial config and validate every field, throwing a
 * ConfigError that names the field and the offending value.
 */
export function resolveEnergyConfig(partial: Partial<EnergyConfig> = {}): EnergyConfig {
  if (partial === null || typeof partial !== 'object') {
    throw new ConfigError(`energy config must be an object, got ${String(partial)}`);
  }
  for (const key of Object.keys(partial)) {
    if (!KEYS.includes(key as keyof EnergyConfig)) {
      throw new ConfigError(
        `unknown energy config field ${JSON.stringify(key)}`,
        `known fields: ${KEYS.join(', ')}`,
      );
    }
  }
  const merged = { ...DEFAULT_ENERGY_CONFIG, ...stripUndefined(partial) };
  return {
    e_mac_pj: checkEnergy(merged.e_mac_pj, 'e_mac_pj'),
    e_ac_pj: checkEnergy(merged.e_ac_pj, 'e_ac_pj'),
    first_layer: checkChoice(merged.first_layer, 'first_layer', FIRST_LAYER_RULES),
    attention: checkChoice(merged.attention, 'attention', ATTENTION_CONVENTIONS),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
