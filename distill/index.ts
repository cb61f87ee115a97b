// Public surface of distill/: teacher adapters, the SpAD losses, the run config, the
// training loop with checkpoints and resume, the distill/train jobs, the energy-per-token
// report and the quickstart. The CLI commands register from cli.ts.
export {
  NativeTeacher,
  TransformersJsTeacher,
  checkTokenizerMatch,
  disposeFeatures,
  loadTeacher,
} from './teacher.js';
export type { FeatureRequest, Teacher, TeacherFeatures } from './teacher.js';
export {
  ATTENTION_LOG_FLOOR,
  DEFAULT_SPAD_WEIGHTS,
  SPAD_TERMS,
  SpadProjections,
  attentionKL,
  crossEntropy,
  layerMap,
  logitKL,
  mse,
  rmsNormalize,
  spadLoss,
} from './spad.js';
export type { SpadOptions, SpadResult, SpadTerm, SpadWeights, StudentFeatures } from './spad.js';
export {
  FIELDS,
  canonicalKey,
  defaultRunConfig,
  nearestKey,
  readConfigFile,
  resolveRunConfig,
  splitOverrides,
  warmupSteps,
} from './config.js';
export type { Override, RunConfig } from './config.js';
export {
  FINAL_MODEL_DIR,
  RUN_CONFIG_FILE,
  RUN_LOG_FILE,
  TrainingDivergedError,
  perplexity,
  prepareRunDir,
  runTraining,
} from './loop.js';
export type { TrainingJob, TrainingResult } from './loop.js';
export { DISTILL_CONFIG_FILE, PROJECTIONS_FILE, saveFinalModel } from './final-model.js';
export type { FinalModelOptions } from './final-model.js';
export {
  CAUSAL_STUDENTS,
  LLAMA_PRESETS,
  instantiate,
  prepareRunData,
  resolveModelSource,
  teacherShape,
} from './setup.js';
export type { ModelSource, RunData } from './setup.js';
export { distillJob, trainJob } from './jobs.js';
export type { DistillOptions, JobOptions, JobResult, TrainOptions } from './jobs.js';
export { energyPerToken } from './energy.js';
export type { TokenEnergy } from './energy.js';
export { QUICKSTART_USAGE, runQuickstart } from './quickstart.js';
export type { QuickstartOptions, QuickstartSummary } from './quickstart.js';
