// BiSpikCLM (arXiv 2605.13859; paper text and code unavailable, so this is the [P] design
// of methods-language.md 3(b)-(d)): a fully binary spiking causal LM — binary weights
// (`α·sign(W)`) in every projection, MLP layer and the untied head, binary spikes, SFSA
// (softmax-free causal linear attention with an integer normaliser and a constant-size
// recurrent state for decoding), RMSNorm as the only float normalisation, T 2. The only
// MAC layer is the real-valued embedding. For SpAD distillation the forward returns the
// time-mean hidden states and the row-normalised maps Â = r(P) / r(Z).
import type { JsonObject } from '../src/io/index.js';
import { SpikingCausalLM } from './student-decoder.js';
import type { StudentOptions } from './student-base.js';
import { studentCheckpoint } from './student-presets.js';
import type { ModelSpec } from './types.js';

/** `BiSpikCLMForCausalLM`: the binary SFSA spiking decoder. */
export class BiSpikCLMForCausalLM extends SpikingCausalLM {
  /** Build from a config.json object (validated; errors name `source` and the field). */
  constructor(raw: JsonObject, options: StudentOptions = {}) {
    super(raw, 'bispikclm', options);
  }
}

/** Registry entry of `model_type: "bispikclm"`. */
export const BISPIKCLM_SPEC: ModelSpec = {
  description: 'BiSpikCLM binary spiking decoder (SFSA, binary weights, MatMul-free)',
  fromConfig: (config, source, o) => new BiSpikCLMForCausalLM(config, { source, seed: o?.seed }),
  checkpoint: studentCheckpoint,
};
