// Public surface of models/: the registry keyed by `model_type`, the Hugging Face
// folder loader/saver, the checkpoint name tables, and the architectures
// (LLaMA and GPT-2 causal LMs, BERT encoders).
export { MODEL_TYPES, knownModelTypes, modelSpec, buildModel } from './registry.js';
export { loadPretrained, loadCausalLM, savePretrained } from './pretrained.js';
export type { SavePretrainedOptions } from './pretrained.js';
export { loadWeights, checkpointTensors, hfToOurs, oursToHf } from './checkpoint.js';
export type { CheckpointTable, TensorRule, Parameterised } from './checkpoint.js';
export { ConfigReader } from './config.js';
export type { NumberField } from './config.js';
export { isCausalLM } from './types.js';
export type { PretrainedModel, ModelSpec } from './types.js';
export { checkIds, KVDecodeState, checkState, positionsFromMask } from './causal-lm.js';
export { ACTIVATIONS, activate, GatedMLP, DenseMLP } from './blocks.js';
export type { Activation, MLPArgs } from './blocks.js';
export { LlamaForCausalLM, LlamaDecoderLayer, LLAMA_SPEC } from './llama.js';
export type { LlamaForwardOptions } from './llama.js';
export { parseLlamaConfig, llamaCheckpoint } from './llama-config.js';
export type { LlamaConfig } from './llama-config.js';
export { GPT2LMHeadModel, GPT2Block, GPT2_SPEC } from './gpt2.js';
export { parseGPT2Config, gpt2Checkpoint } from './gpt2-config.js';
export type { GPT2Config } from './gpt2-config.js';
export { BertModel, BertLayer, BertMLMHead, BERT_SPEC } from './bert.js';
export type { BertForwardOptions, BertOutput } from './bert.js';
export { BERT_HEADS, bertHead, parseBertConfig, bertCheckpoint } from './bert-config.js';
export type { BertConfig, BertHead } from './bert-config.js';
