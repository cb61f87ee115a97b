// Public surface of the spiking vision nets: config, step neuron, MLP/CNN, model folders.
export {
  VISION_ARCHS,
  VISION_LIF,
  VISION_MODEL_TYPE,
  VISION_NEURONS,
  VISION_NORMS,
  parseVisionConfig,
  visionConfigJson,
} from './config.js';
export type { DsrSpikes, VisionArch, VisionNetConfig, VisionNorm } from './config.js';
export { StepNeuron } from './neuron.js';
export type { NeuronStep } from './neuron.js';
export { SpikingVisionNet, buildVisionNet } from './net.js';
export { loadVisionModel, saveVisionModel } from './pretrained.js';
export type { SavableNet } from './pretrained.js';
export {
  FEEDBACK_NEURONS,
  FEEDBACK_RESETS,
  FeedbackSNN,
  feedbackNeuronParams,
  ideF400Config,
  parseFeedbackConfig,
  rateClamp,
  rateMask,
  resetAmountOf,
} from './feedback.js';
export type {
  FeedbackNeuron,
  FeedbackReset,
  FeedbackSNNConfig,
  ResolvedFeedbackConfig,
} from './feedback.js';
