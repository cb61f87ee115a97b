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
