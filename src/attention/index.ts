// Public surface of src/attention: the softmax family of the ANN teachers
// (scaled dot-product attention, MHA/GQA, RoPE in both conventions, masks, KV
// cache, the SoftmaxAttention block). The spiking families (WSSA, CWSSA, SFSA)
// join here as their own files, reusing masks.ts (`causalMask`) and heads.ts.
export {
  MASK_VALUE,
  KEY_BLOCK,
  paddedKeys,
  causalMask,
  causalBias,
  keyPaddingBias,
  paddingBias,
  maskToBias,
  buildAttentionBias,
} from './mask.js';
export type { AttentionMaskArgs } from './mask.js';
export { splitHeads, mergeHeads, repeatKvHeads } from './heads.js';
export {
  ROPE_STYLES,
  RotaryEmbedding,
  applyRotary,
  inverseFrequencies,
  ropeRowsToHalf,
  ropeRowsToInterleaved,
} from './rope.js';
export type { RopeStyle, RopeAngles, RotaryEmbeddingArgs } from './rope.js';
export { scaledDotProductAttention } from './sdpa.js';
// The matrix-product helpers moved to src/ops; re-exported for existing importers.
export { LOOP_MIN_ROWS, preferPerItem, TransposeCache, matMulWeightT } from '../ops/index.js';
export type { SdpaOptions, AttentionResult } from './sdpa.js';
export { KVCache, SEGMENT_MIN_ELEMENTS } from './kv-cache.js';
export type { KVCacheArgs, KVCacheLayer, KVSegments } from './kv-cache.js';
export { SoftmaxAttention } from './softmax-attention.js';
export type { SoftmaxAttentionArgs, AttentionCallOptions } from './softmax-attention.js';
// Spiking token mixers (methods-language.md sections 0.5, 1, 3).
export { wssa, cwssa } from './wssa.js';
export type { WssaOptions } from './wssa.js';
export {
  WTA_FLOAT_KEY_LIMIT,
  WTA_KEY_LIMIT,
  wtaHardMap,
  wtaSoftMap,
  wtaMap,
  softmaxJacobianBackward,
} from './wta.js';
export type { WtaMapOptions } from './wta.js';
export { sfsaParallel, sfsaRecurrent, initialSfsaState } from './sfsa.js';
export type { SfsaOptions, SfsaRecurrentOptions, SfsaRecurrentResult, SfsaState } from './sfsa.js';
export {
  spikformerSsa,
  softmaxSpikingAttention,
  spikingformerAttentionLIF,
} from './spiking-baselines.js';
export type { SpikingBaselineOptions } from './spiking-baselines.js';
export { SpikeKVCache } from './spike-cache.js';
export type { SpikeSegments } from './spike-cache.js';
export {
  integerSpikes,
  ratioSpikes,
  normalisedCurrent,
  defaultAttentionSurrogate,
} from './spiking-common.js';
export type { SpikingAttentionResult, SpikeDims } from './spiking-common.js';
