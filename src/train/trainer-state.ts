// `trainer_state.json` of a checkpoint: where training stands (step, epoch),
// what is needed to continue exactly (data cursor, RNG state), the best metric
// so far and the recent log. camelCase in TypeScript, Hugging Face-style
// snake_case in the file (`global_step`, `best_metric`, `log_history`).
import { ConfigError } from '../errors.js';
import type { JsonObject } from '../io/index.js';
import { CheckpointError } from './errors.js';

/** Where training stands; saved beside the weights and optimizer state. */
export interface TrainerState {
  /** Optimizer updates applied so far (the checkpoint's step). */
  step: number;
  /** Epochs done, fractional (e.g. 1.25). */
  epoch: number;
  /** Position in the data, opaque JSON owned by the data loader. @default null */
  dataCursor?: unknown;
  /** RNG state, opaque JSON (e.g. `{ seed, state: rngState(rng) }`). @default null */
  rngState?: unknown;
  /** Best evaluation metric so far, or null. @default null */
  bestMetric?: number | null;
  /** Step of the checkpoint holding the best metric (kept by rotation), or null. @default null */
  bestStep?: number | null;
  /** Recent log events (a tail, not the whole run). @default [] */
  logHistory?: JsonObject[];
}

/** A trainer state read back: every field present. */
export type LoadedTrainerState = Required<TrainerState>;

/** Folder name of the checkpoint at `step`. */
export const checkpointName = (step: number): string => `checkpoint-${step}`;

function checkStep(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ConfigError(`${name} must be an integer >= 0, got ${String(value)}`);
  }
  return value as number;
}

function jsonText(value: unknown, name: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new ConfigError(`${name} is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (text === undefined) throw new ConfigError(`${name} is not JSON-serialisable`);
  return text;
}

/** The file content of a trainer state (checked: steps are integers, metrics finite). */
export function trainerStateJson(state: TrainerState): string {
  checkStep(state.step, 'trainerState.step');
  if (!Number.isFinite(state.epoch) || state.epoch < 0) {
    throw new ConfigError(
      `trainerState.epoch must be a finite number >= 0, got ${String(state.epoch)}`,
    );
  }
  const best = state.bestMetric ?? null;
  if (best !== null && !Number.isFinite(best)) {
    throw new ConfigError(`trainerState.bestMetric must be finite or null, got ${String(best)}`);
  }
  const bestStep = state.bestStep ?? null;
  if (bestStep !== null) checkStep(bestStep, 'trainerState.bestStep');
  const file = {
    global_step: state.step,
    epoch: state.epoch,
    best_metric: best,
    best_step: bestStep,
    best_model_checkpoint: bestStep === null ? null : checkpointName(bestStep),
    data_cursor: JSON.parse(jsonText(state.dataCursor ?? null, 'trainerState.dataCursor')),
    rng_state: JSON.parse(jsonText(state.rngState ?? null, 'trainerState.rngState')),
    log_history: JSON.parse(jsonText(state.logHistory ?? [], 'trainerState.logHistory')),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Parse `trainer_state.json` text; a malformed file is a CheckpointError naming `file`. */
export function parseTrainerState(text: string, file: string): LoadedTrainerState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(file, 'must hold a JSON object');
  }
  const o = raw as JsonObject;
  const fail = (field: string): never => {
    throw new CheckpointError(file, `bad or missing "${field}": ${JSON.stringify(o[field])}`);
  };
  const isStep = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isStep(o.global_step)) fail('global_step');
  if (typeof o.epoch !== 'number' || o.epoch < 0) fail('epoch');
  if (o.best_metric !== null && typeof o.best_metric !== 'number') fail('best_metric');
  if (o.best_step !== null && o.best_step !== undefined && !isStep(o.best_step)) fail('best_step');
  if (o.log_history !== undefined && !Array.isArray(o.log_history)) fail('log_history');
  return {
    step: o.global_step as number,
    epoch: o.epoch as number,
    dataCursor: o.data_cursor ?? null,
    rngState: o.rng_state ?? null,
    bestMetric: (o.best_metric as number | null | undefined) ?? null,
    bestStep: (o.best_step as number | null | undefined) ?? null,
    logHistory: (o.log_history as JsonObject[] | undefined) ?? [],
  };
}
