// Public surface of the training machinery: gradients by public parameter name,
// AdamW and SGD over tf.Variables, parameter groups, global-norm clipping with
// non-finite detection, learning-rate schedules, gradient accumulation,
// checkpoints with exact resume (atomic folders, manifest, rotation) and the
// graceful-stop helper. Progress bars and JSONL run logs live in src/progress.ts.
export { Optimizer, STEP_KEY, gradEntries } from './optimizer.js';
export type { NamedVariables, GradMap, OptimizerOptions, ParamState } from './optimizer.js';
export { AdamW } from './adamw.js';
export type { AdamWOptions } from './adamw.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { NO_DECAY, isNoDecayName, resolveGroup } from './param-groups.js';
export type { ParamGroup, ResolvedGroup } from './param-groups.js';
export { clipGradNorm, gradNorms, optimizerStep } from './clip.js';
export type {
  ClipResult,
  NonFinitePolicy,
  OptimizerStepOptions,
  OptimizerStepResult,
} from './clip.js';
export { makeSchedule, constantSchedule, linearSchedule, cosineSchedule } from './schedule.js';
export type { LrSchedule, ScheduleConfig } from './schedule.js';
export { valueAndGrads, GradientAccumulator } from './gradients.js';
export type { ValueAndGrads } from './gradients.js';
export { NonFiniteGradientError, CheckpointError } from './errors.js';
export { checkpointName, parseTrainerState, trainerStateJson } from './trainer-state.js';
export type { TrainerState, LoadedTrainerState } from './trainer-state.js';
export {
  MANIFEST_FILE,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
  CHECKPOINT_FILES,
  verifyCheckpoint,
} from './checkpoint-manifest.js';
export type { CheckpointManifest, ManifestEntry, VerifyMode } from './checkpoint-manifest.js';
export { saveCheckpoint, listCheckpoints, rotateCheckpoints } from './checkpoint.js';
export type { SaveCheckpointOptions, CheckpointModel, CheckpointEntry } from './checkpoint.js';
export { findLatestCheckpoint, loadCheckpoint, checkpointTensors } from './checkpoint-load.js';
export type { LoadedCheckpoint } from './checkpoint-load.js';
export { installStopSignal } from './stop-signal.js';
export type { StopSignal, StopSignalOptions, SignalTarget } from './stop-signal.js';
export {
  IMPLICIT_SOLVERS,
  solveImplicit,
  solveBackward,
  autodiffLinearization,
  linearizeEquilibrium,
  fixedPointEquilibrium,
  equilibriumResidual,
  crossEntropyLoss,
  lossAndRateGradient,
  implicitParameterGradients,
  ideGradients,
  disposeEquilibriumGradients,
} from './ide.js';
export type {
  LinearizedEquilibrium,
  EquilibriumNetwork,
  ImplicitSolver,
  ImplicitSolveOptions,
  ImplicitSolveResult,
  LogitLoss,
  IDEOptions,
  EquilibriumGradients,
} from './ide.js';
export {
  DataParallelEngine,
  DataParallelError,
  paramLayout,
  shardSeed,
  splitTokenBatch,
} from './data-parallel.js';
export type {
  DataParallelOptions,
  DataParallelResult,
  DataParallelTask,
  ParamSlot,
  ShardContext,
  ShardGrads,
  ShardReport,
  TaskInfo,
  TaskSetup,
  TokenBatch,
} from './data-parallel.js';
export { spikingSolve, spideGradients, linearResidual } from './spide.js';
export type {
  SpikingSolveOptions,
  SpikingSolveResult,
  SPIDEOptions,
  SPIDEGradients,
} from './spide.js';
export {
  ONLINE_RULES,
  chooseSteps,
  detachState,
  disposeState,
  onlineBatch,
  onlineGradients,
  onlineTrainStep,
  stateTensors,
  stepLoss,
  stepLossGrad,
} from './online.js';
export type {
  LayerRecord,
  OnlineOptions,
  OnlineResult,
  OnlineRule,
  SpikingStepNet,
  StepLossOptions,
  StepOptions,
  StepOutput,
  StepState,
} from './online.js';
export { HebbianSubspace, HLOP, continualMetrics } from './hlop.js';
export type { HebbianSubspaceOptions, ContinualMetrics } from './hlop.js';
export { clampThresholds, dsrGradients, dsrRate, dsrTrainStep } from './dsr.js';
export type { DsrMapping, DsrOptions, DsrResult, LayeredStepNet } from './dsr.js';
export {
  SEI_DEFAULT_NEURON,
  SEI_BINARY_NO_DECAY,
  SEIBinarySNN,
  distillationLoss,
} from './sei-bwsnn.js';
export type { SEIBinarySNNConfig, SEIForward, DistillationOptions } from './sei-bwsnn.js';
export { Opzo, feedbackUpdate } from './opzo.js';
export type { FcStepNet, OpzoOptions } from './opzo.js';
