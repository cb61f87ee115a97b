// Public surface of text generation: the CausalLM contract models implement,
// the generation loop, sampling, the seeded generator and stop strings.
export type {
  CausalLM,
  DecodeCallOptions,
  DecodeState,
  ForwardOptions,
  LMOutput,
} from './types.js';
export { generate } from './generate.js';
export type {
  GenerateControl,
  GenerateResult,
  GenerateTokenizer,
  OnToken,
  FinishReason,
} from './generate.js';
export {
  DEFAULT_MAX_TOKENS,
  resolveGenerateOptions,
  generationDefaults,
  mergeOptions,
} from './options.js';
export type { GenerateOptions, ResolvedGenerateOptions } from './options.js';
export {
  resolveSampling,
  argmax,
  applyRepetitionPenalty,
  candidates,
  drawIndex,
  sampleToken,
} from './sampling.js';
export type { SamplingOptions, ResolvedSampling, Candidates } from './sampling.js';
export { createRng, rngFromState, rngState, randomSeed, checkSeed, MAX_SEED } from './rng.js';
export type { Rng } from './rng.js';
export { StopMatcher, resolveStop } from './stop.js';
export type { StopStep } from './stop.js';
