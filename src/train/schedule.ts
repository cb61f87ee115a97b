// Learning-rate schedules: linear warm-up, then constant, linear or cosine decay
// to `minLr` (nanoGPT's `get_lr`; Loshchilov & Hutter's SGDR cosine without
// restarts). A schedule maps the 0-based index of the update about to be applied
// (`optimizer.stepCount`) to a learning rate:
//   step < W:        lr · (step + 1) / W        (the first update is not wasted at 0)
//   W ≤ step ≤ T:    decay from lr (at W) to minLr (at T)
//   step > T:        minLr
import { ConfigError, unreachable } from '../errors.js';

/** Learning rate of the update with 0-based index `step`. */
export type LrSchedule = (step: number) => number;

interface Common {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Steps of linear warm-up. @default 0 */
  warmupSteps?: number;
}

/** A schedule as it appears in a run config. */
export type ScheduleConfig =
  | (Common & { kind: 'constant' })
  | (Common & {
      kind: 'linear' | 'cosine';
      /** Step at which the decay reaches `minLr` (usually the total number of steps). */
      totalSteps: number;
      /** Final learning rate. @default 0 */
      minLr?: number;
    });

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function nonNegativeInt(value: unknown, name: string): number {
  const n = nonNegative(value, name);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got ${n}`);
  return n;
}

/** Build a schedule from its config; every field is checked once, here. */
export function makeSchedule(config: ScheduleConfig): LrSchedule {
  const f = scheduleFunction(config);
  return (step) => f(nonNegativeInt(step, 'schedule step'));
}

function scheduleFunction(config: ScheduleConfig): LrSchedule {
  const lr = nonNegative(config.lr, 'lr');
  const warmup = nonNegativeInt(config.warmupSteps ?? 0, 'warmupSteps');
  const warm = (step: number): number | null => (step < warmup ? (lr * (step + 1)) / warmup : null);
  const kind = config.kind;
  switch (kind) {
    case 'constant':
      return (step) => warm(step) ?? lr;
    case 'linear':
    case 'cosine': {
      const total = nonNegativeInt(config.totalSteps, 'totalSteps');
      const minLr = nonNegative(config.minLr ?? 0, 'minLr');
      if (total <= warmup) {
        throw new ConfigError(`totalSteps (${total}) must be greater than warmupSteps (${warmup})`);
      }
      if (minLr > lr) throw new ConfigError(`minLr (${minLr}) must not exceed lr (${lr})`);
      const shape =
        kind === 'linear'
          ? (progress: number) => 1 - progress
          : (progress: number) => 0.5 * (1 + Math.cos(Math.PI * progress));
      return (step) => {
        const w = warm(step);
        if (w !== null) return w;
        if (step >= total) return minLr;
        return minLr + (lr - minLr) * shape((step - warmup) / (total - warmup));
      };
    }
    default:
      return unreachable(kind, 'schedule kind');
  }
}

/** A constant learning rate after `warmupSteps` of linear warm-up. */
export const constantSchedule = (lr: number, warmupSteps = 0): LrSchedule =>
  makeSchedule({ kind: 'constant', lr, warmupSteps });

/** Warm-up, then linear decay to `minLr` at `totalSteps`. */
export const linearSchedule = (
  lr: number,
  totalSteps: number,
  options: { warmupSteps?: number; minLr?: number } = {},
): LrSchedule => makeSchedule({ kind: 'linear', lr, totalSteps, ...options });

/** Warm-up, then half-cosine decay to `minLr` at `totalSteps`. */
export const cosineSchedule = (
  lr: number,
  totalSteps: number,
  options: { warmupSteps?: number; minLr?: number } = {},
): LrSchedule => makeSchedule({ kind: 'cosine', lr, totalSteps, ...options });
