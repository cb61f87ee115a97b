// WD-Spikingformer (arXiv 2604.11321; paper text and code unavailable, so this is the [P]
// design of methods-language.md 1(b)-(d)): a decoder-only spiking LM whose token mixer is
// CWSSA — causal winner-take-all spiking self-attention, k winners per query among the
// positions <= i, no softmax — in Spikingformer blocks with per-token RMSNorm, float
// weights, LIF neurons (tau 2, θ 1), T 4 (`small`). Every switch (neuron, T, k, mixer,
// precision, norm) is a config.json field (student-config.ts); the model is
// `SpikingCausalLM` (student-decoder.ts).
import type { JsonObject } from '../src/io/index.js';
import { SpikingCausalLM } from './student-decoder.js';
import type { StudentOptions } from './student-base.js';
import { studentCheckpoint } from './student-presets.js';
import type { ModelSpec } from './types.js';

/** `WDSpikingformerForCausalLM`: the CWSSA spiking decoder. */
export class WDSpikingformerForCausalLM extends SpikingCausalLM {
  /** Build from a config.json object (validated; errors name `source` and the field). */
  constructor(raw: JsonObject, options: StudentOptions = {}) {
    super(raw, 'wd-spikingformer', options);
  }
}

/** Registry entry of `model_type: "wd-spikingformer"`. */
export const WD_SPIKINGFORMER_SPEC: ModelSpec = {
  description: 'WD-Spikingformer spiking decoder (CWSSA winner-take-all attention)',
  fromConfig: (config, source, o) =>
    new WDSpikingformerForCausalLM(config, { source, seed: o?.seed }),
  checkpoint: studentCheckpoint,
};
