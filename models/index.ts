// Public surface of models/: the registry keyed by `model_type`, the Hugging Face
// folder loader/saver, the checkpoint name tables, and the architectures
// (LLaMA and GPT-2 causal LMs, BERT encoders; the spiking students WE-/WD-Spikingformer
// and BiSpikCLM, with their gradient rules bptt / sltt / sltt-k / ottt).
export { MODEL_TYPES, knownModelTypes, modelSpec, buildModel } from './registry.js';
export { loadPretrained, loadCausalLM, savePretrained } from './pretrained.js';
export type { LoadPretrainedOptions, SavePretrainedOptions } from './pretrained.js';
export { loadWeights, checkpointTensors, hfToOurs, oursToHf } from './checkpoint.js';
export type {
  CheckpointTable,
  LoadWeightsOptions,
  TensorRule,
  Parameterised,
} from './checkpoint.js';
export { ConfigReader } from './config.js';
export type { NumberField } from './config.js';
export { isCausalLM } from './types.js';
export type { PretrainedModel, ModelSpec } from './types.js';
export {
  checkIds,
  KVDecodeState,
  KVCacheCausalLM,
  checkState,
  positionsFromMask,
} from './causal-lm.js';
export type { CausalForwardOptions } from './causal-lm.js';
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
export {
  STUDENT_TYPES,
  STUDENT_ATTENTIONS,
  STUDENT_NORMS,
  CLASSIFIER_POOLINGS,
  parseStudentConfig,
  studentConfigJson,
} from './student-config.js';
export type {
  StudentType,
  StudentAttention,
  StudentNorm,
  StudentHead,
  StudentConfig,
  ParsedStudent,
} from './student-config.js';
export {
  STUDENT_NEURONS,
  NEURON_FIELDS,
  StudentNeuron,
  NeuronContext,
  NASN_EPS,
  activeNeuronContext,
  studentNeuronSetup,
  withNeuronContext,
} from './student-neuron.js';
export type {
  NeuronFields,
  StudentNeuronKind,
  StudentNeuronSetup,
  SpikeCoding,
  SpikeOut,
  NeuronContextOptions,
} from './student-neuron.js';
export {
  STUDENT_SIZES,
  studentPreset,
  studentCheckpoint,
  studentHeadOf,
} from './student-presets.js';
export type { StudentSize } from './student-presets.js';
export { SpikingStudent } from './student-base.js';
export type { StudentOptions } from './student-base.js';
export { StudentBlock, StudentAttentionBlock, StudentMLP } from './student-block.js';
export { RateHead, project } from './student-linear.js';
export { SpikingCausalLM, StudentDecodeState } from './student-decoder.js';
export type {
  StudentForwardOptions,
  StudentLMOutput,
  StudentStepOutput,
} from './student-decoder.js';
export { WDSpikingformerForCausalLM, WD_SPIKINGFORMER_SPEC } from './wd-spikingformer.js';
export { BiSpikCLMForCausalLM, BISPIKCLM_SPEC } from './bispikclm.js';
export { WESpikingformer, WE_SPIKINGFORMER_SPEC } from './we-spikingformer.js';
export type { WEForwardOptions, WEOutput } from './we-spikingformer.js';
export { GRADIENT_RULES, checkStepwise, studentValueAndGrads } from './student-grads.js';
export { qkvNormGain } from './student-block.js';
export type {
  GradientRule,
  StudentFeatures,
  StudentGradOptions,
  StudentGradResult,
} from './student-grads.js';
