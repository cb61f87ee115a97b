// Public surface of src/layers: the Module base, linear layers with float, binary
// and ternary weights, embeddings, norms, and the Spikingformer spiking MLP.
export { Module, deriveSeed, optBool } from './module.js';
export type { StateMap } from './module.js';
export { quantizeWeight, binaryValue, ternaryValue, WEIGHT_PRECISIONS } from './quantize.js';
export type { WeightPrecision } from './quantize.js';
export { Linear, INPUT_ENCODINGS } from './linear.js';
export type { LinearArgs, LinearCallOptions, InputEncoding } from './linear.js';
export { Embedding } from './embedding.js';
export type { EmbeddingArgs, TokenIds } from './embedding.js';
export { RMSNorm, LayerNorm } from './norm.js';
export type { RMSNormArgs, LayerNormArgs } from './norm.js';
export { TimeBatchNorm } from './time-batch-norm.js';
export type { TimeBatchNormArgs } from './time-batch-norm.js';
export { SpikingNeuron, SPIKINGFORMER_LIF } from './spiking-neuron.js';
export type { SpikingNeuronArgs } from './spiking-neuron.js';
export { SpikingMLP } from './spiking-mlp.js';
export type { SpikingMLPArgs } from './spiking-mlp.js';
export { Conv2d, conv2dTrace, convOutSize, im2col } from './conv2d.js';
export type { Conv2dArgs, Conv2dCallOptions } from './conv2d.js';
export { POOL_KINDS, checkPoolKind, pool2d, pooledSize } from './pool.js';
export type { PoolKind } from './pool.js';
export { scaledWeightStandardization } from './weight-standardization.js';
