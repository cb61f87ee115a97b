// Public surface of the neuron core (src/neurons/): IF/LIF, I-LIF, ASN, NASN and
// ternary neurons, surrogate gradients, reset rules, multi-step runners (op-by-op
// and fused), integer <-> spike conversion and config parsing.
export * from './types.js';
export {
  SURROGATE_NAMES,
  SURROGATE_DEFAULT_ALPHA,
  surrogate,
  fire,
  heaviside,
} from './surrogate.js';
export type { Surrogate, SurrogateName } from './surrogate.js';
export { detach, resetHard, resetSoft } from './reset.js';
export {
  makeLIFParams,
  makeIFParams,
  validateLIFParams,
  chargeCoefficients,
  spideResetAmount,
  checkThreshold,
  lifCharge,
  lifStep,
  createThreshold,
} from './lif.js';
export type { LIFOptions } from './lif.js';
export { initialLIFState, checkSequence, lifMultiStep, unstackTime } from './functional.js';
export { canFuse, lifMultiStepFused } from './fused.js';
export type { FusedResult } from './fused.js';
export {
  makeILIFParams,
  clipRoundSTE,
  initialILIFState,
  ilifStep,
  ilifMultiStep,
  expandCounts,
  collapseSpikes,
} from './integer.js';
export type { ILIFParams, ILIFState } from './integer.js';
export {
  ASN_THETA_FLOOR,
  validateASNOptions,
  createASNParams,
  asnLambda,
  asnTheta,
  sumToShape,
  asnQuantize,
  initialASNState,
  asnStep,
  asnMultiStep,
  foldThetaIntoWeight,
  asnRatePenalty,
} from './asn.js';
export type { ASNParams, ASNOptions, ASNState } from './asn.js';
export {
  validateNormOptions,
  createNASNNorm,
  nasnBatchNorm,
  nasnRMSNorm,
  foldBatchNormIntoLinear,
  nasnMultiStep,
} from './nasn.js';
export type { NASNNorm, NASNBatchNorm, NASNRMSNorm, RunningStats } from './nasn.js';
export { makeTernaryParams, ternaryStep, ternaryMultiStep } from './ternary.js';
export type { TernaryParams } from './ternary.js';
export {
  NEURON_KINDS,
  NEURON_CONFIG_KEYS,
  parseNeuronConfig,
  neuronSpecToConfig,
} from './config.js';
export type { NeuronKind, NeuronSpec, ASNSettings } from './config.js';
