// Public surface of src/energy: the recorder hook layers call, the counter, the
// analytic helpers (FLOPs and attention formulas from shapes), the energy estimate
// and its report formatter (methods-language.md 6).
export { activeRecorder, withRecorder } from './recorder.js';
export type { Encoding, LayerWork, NeuronWork, Recorder } from './recorder.js';
export {
  ATTENTION_CONVENTIONS,
  DEFAULT_ENERGY_CONFIG,
  FIRST_LAYER_RULES,
  resolveEnergyConfig,
} from './config.js';
export type { AttentionConvention, EnergyConfig, FirstLayerRule } from './config.js';
export { addTally, bitsPerElement, emptyTally, firingRate, otherFiringRate } from './tally.js';
export type { LayerTally } from './tally.js';
export { EnergyCounter, countEvents, tallyWork } from './counter.js';
export {
  attentionMapEntries,
  checkRate,
  combineRates,
  conv2dFlops,
  linearFlops,
  lmHeadFlops,
  spikformerAttentionAcs,
  tokenMapAttentionAcs,
  topkComparisons,
  transformerBlockFlops,
} from './flops.js';
export type { AttentionRates, BlockFlops, Conv2dShape, TokenMapRates } from './flops.js';
export {
  otherOpTally,
  spikformerAttentionTallies,
  spikingTransformerTallies,
  tallyFromRate,
  tokenMapAttentionTallies,
} from './analytic.js';
export type { BlockRates, RateSpec, SpikingLMShape } from './analytic.js';
export { estimateEnergy } from './estimate.js';
export type { EnergyReport, EstimateOptions, LayerEnergy, OtherOps } from './estimate.js';
export { formatEnergyReport, si } from './format.js';
export {
  DEFAULT_TRAINING_COST_CONFIG,
  OPZO_NOISES,
  SPIKE_FORMATS,
  resolveTrainingCostConfig,
} from './training-config.js';
export type { OpzoNoise, SpikeFormat, TrainingCostConfig } from './training-config.js';
export {
  conv2dTrainingLayer,
  eventSpikeBits,
  traceDensity,
  trainingCost,
} from './training-cost.js';
export { opEnergyPj } from './training-totals.js';
export { GRADIENT_RULES } from './training-types.js';
export type {
  Engine,
  GradientRule,
  LayerTrainingCost,
  MaskSurrogate,
  OpTerm,
  OpType,
  Traffic,
  TrainingCostOptions,
  TrainingCostReport,
  TrainingCostTotals,
  TrainingLatency,
  TrainingLayer,
  UnmodelledWork,
} from './training-types.js';
export { TrainingCostCollector, surrogateActive, trainingCostReport } from './training-collect.js';
export type { CollectedCostOptions, CollectedLayersOptions } from './training-collect.js';
export { formatTrainingCost } from './training-format.js';
