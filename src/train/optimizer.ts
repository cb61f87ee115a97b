// The optimizer base shared by AdamW and SGD: parameters held by public name
// (`Module.namedParameters()` names, never tfjs-internal variable names, which
// change from run to run), per-parameter groups, in-place updates of the
// `tf.Variable`s under one `tf.tidy`, and state export/import through
// safetensors as `<name>/<slot>` tensors plus a `step` scalar (conventions.md 3.6).
import { ConfigError, ShapeError } from '../errors.js';
import {
  decodeToFloat32,
  decodeToInt32,
  readSafetensors,
  serializeSafetensors,
} from '../io/index.js';
import type { SafetensorsContents, TensorData } from '../io/index.js';
import { log } from '../log.js';
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { checkGroups, resolveGroup } from './param-groups.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

/** Parameters by public name, e.g. `module.namedParameters()`; non-trainable ones are skipped. */
export type NamedVariables = Iterable<readonly [string, Variable]>;

/** Gradients by public parameter name. */
export type GradMap = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** Options every optimizer takes. */
export interface OptimizerOptions {
  /** Learning rate; a schedule sets `optimizer.lr` before each step. */
  lr?: number;
  /** Weight decay of parameters no group rule matches. */
  weightDecay?: number;
  /** Group rules, first match wins (e.g. `[NO_DECAY]`). @default [] */
  groups?: readonly ParamGroup[];
}

/** One parameter the optimizer updates, with its state slots (e.g. `m`, `v`). */
export interface ParamState {
  readonly name: string;
  readonly variable: Variable;
  readonly group: ResolvedGroup;
  /** State tensors in `slotNames` order, same shape as the parameter. */
  readonly slots: readonly Variable[];
}

/** Name of the step-count tensor in saved optimizer state. */
export const STEP_KEY = 'step';

/** Entries of a GradMap, whatever its form. */
export function gradEntries(grads: GradMap): [string, Tensor][] {
  return grads instanceof Map ? [...grads] : Object.entries(grads as Record<string, Tensor>);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Base class: subclasses define the slots and the per-parameter update. */
export abstract class Optimizer {
  /** Short name saved in the state file (`adamw`, `sgd`); loading checks it. */
  abstract readonly kind: string;
  /** Base learning rate of the next step (times each group's `lrScale`). */
  lr: number;
  readonly #params = new Map<string, ParamState>();
  #step = 0;
  #disposed = false;

  protected constructor(
    params: NamedVariables,
    options: OptimizerOptions,
    defaults: { lr: number; weightDecay: number },
    slotNames: readonly string[],
  ) {
    this.lr = options.lr ?? defaults.lr;
    this.checkLr(this.lr);
    const wd = options.weightDecay ?? defaults.weightDecay;
    if (!Number.isFinite(wd) || wd < 0) {
      throw new ConfigError(`weightDecay must be a finite number >= 0, got ${String(wd)}`);
    }
    const groups = options.groups ?? [];
    checkGroups(groups);
    this.slotNames = slotNames;
    for (const [name, variable] of params) {
      if (!variable.trainable) continue; // buffers (running statistics) are not optimised
      if (this.#params.has(name)) throw new ConfigError(`duplicate parameter name ${name}`);
      if (variable.dtype !== 'float32') {
        throw new ConfigError(
          `parameter ${name} is ${variable.dtype}; only float32 can be optimised`,
        );
      }
      const slots = slotNames.map(() => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
      this.#params.set(name, { name, variable, group: resolveGroup(name, groups, wd), slots });
    }
    if (this.#params.size === 0)
      throw new ConfigError('the optimizer was given no trainable parameters');
  }

  /** Names of the per-parameter state slots, e.g. `['m', 'v']`. */
  readonly slotNames: readonly string[];

  /** Number of updates applied so far (restored by `loadState`). */
  get stepCount(): number {
    return this.#step;
  }

  /** The parameters, in the order given. */
  params(): readonly ParamState[] {
    return [...this.#params.values()];
  }

  /** Hyper-parameters saved beside the state (the learning rate is the schedule's, not saved). */
  abstract hyperparameters(): Record<string, number | boolean>;

  /**
   * Update parameter `p` in place from gradient `g`. Runs inside `tf.tidy`;
   * `step` is the 1-based number of this update, `lr` already group-scaled.
   */
  protected abstract update(
    p: Variable,
    g: Tensor,
    slots: readonly Variable[],
    lr: number,
    weightDecay: number,
    step: number,
  ): void;

  /**
   * Apply one update. Every gradient name and shape is checked before anything
   * changes; parameters without a gradient are left as they are (PyTorch's
   * `grad is None`). The gradients stay owned by the caller.
   */
  step(grads: GradMap): void {
    this.#checkAlive();
    this.checkLr(this.lr);
    const given = gradEntries(grads);
    const unknown = given.filter(([n]) => !this.#params.has(n)).map(([n]) => n);
    if (unknown.length) {
      throw new ConfigError(`gradient for unknown parameter(s): ${unknown.join(', ')}`);
    }
    const bad = given
      .filter(([n, g]) => !sameShape(g.shape, (this.#params.get(n) as ParamState).variable.shape))
      .map(([n, g]) => `${n} [${g.shape.join(', ')}]`);
    if (bad.length)
      throw new ShapeError(`gradient shape differs from parameter: ${bad.join('; ')}`);
    const step = this.#step + 1;
    tf.tidy(() => {
      for (const [name, g] of given) {
        const p = this.#params.get(name) as ParamState;
        this.update(p.variable, g, p.slots, this.lr * p.group.lrScale, p.group.weightDecay, step);
      }
    });
    this.#step = step;
  }

  /** State as tensors: `<name>/<slot>` (F32) for every parameter, and `step` (I32 scalar). */
  async exportState(): Promise<Map<string, TensorData>> {
    this.#checkAlive();
    const out = new Map<string, TensorData>();
    out.set(STEP_KEY, { dtype: 'I32', shape: [], data: Int32Array.of(this.#step) });
    for (const p of this.#params.values()) {
      for (let i = 0; i < this.slotNames.length; i++) {
        const data = (await p.slots[i].data()) as Float32Array;
        out.set(`${p.name}/${this.slotNames[i]}`, { dtype: 'F32', shape: p.variable.shape, data });
      }
    }
    return out;
  }

  /** The state as a safetensors file (what `optimizer.safetensors` of a checkpoint holds). */
  async saveState(): Promise<Uint8Array> {
    const metadata = {
      format: 'snnlm',
      optimizer: this.kind,
      hyperparameters: JSON.stringify(this.hyperparameters()),
    };
    return serializeSafetensors(await this.exportState(), { metadata });
  }

  /**
   * Restore state saved by `saveState` (bytes or a parsed file). Everything is
   * checked first — optimizer kind, every `<name>/<slot>` present with the
   * parameter's shape, no unexpected tensor — so a failed load changes nothing.
   */
  loadState(source: Uint8Array | SafetensorsContents, file = '<optimizer state>'): void {
    this.#checkAlive();
    const contents = source instanceof Uint8Array ? readSafetensors(source, { file }) : source;
    const where = contents.file;
    const kind = contents.metadata?.optimizer;
    if (kind !== this.kind) {
      throw new ConfigError(
        `${where}: optimizer state is for ${JSON.stringify(kind ?? null)}, this optimizer is ${this.kind}`,
      );
    }
    const saved = contents.metadata?.hyperparameters;
    const now = JSON.stringify(this.hyperparameters());
    if (saved !== undefined && saved !== now) {
      log.warn(`${where}: optimizer hyper-parameters changed from ${saved} to ${now}`);
    }
    const stepTensor = contents.tensors.get(STEP_KEY);
    if (!stepTensor || stepTensor.shape.length !== 0) {
      throw new ConfigError(`${where}: missing scalar "${STEP_KEY}" tensor`);
    }
    const wanted = new Map<string, [Variable, readonly number[]]>();
    for (const p of this.#params.values()) {
      p.slots.forEach((s, i) =>
        wanted.set(`${p.name}/${this.slotNames[i]}`, [s, p.variable.shape]),
      );
    }
    const missing = [...wanted.keys()].filter((k) => !contents.tensors.has(k));
    const unexpected = [...contents.tensors.keys()].filter((k) => k !== STEP_KEY && !wanted.has(k));
    const wrong = [...wanted]
      .filter(
        ([k, [, shape]]) =>
          contents.tensors.has(k) && !sameShape(contents.tensors.get(k)!.shape, shape),
      )
      .map(([k]) => k);
    if (missing.length || unexpected.length || wrong.length) {
      const parts = [
        missing.length ? `missing: ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
        wrong.length ? `wrong shape: ${wrong.join(', ')}` : '',
      ].filter(Boolean);
      throw new ConfigError(
        `${where}: optimizer state does not fit the parameters (${parts.join('; ')})`,
      );
    }
    const step = decodeToInt32(stepTensor)[0];
    if (step < 0) throw new ConfigError(`${where}: step must be >= 0, got ${step}`);
    const values = [...wanted].map(
      ([k, [slot]]) => [slot, decodeToFloat32(contents.tensors.get(k)!)] as const,
    );
    for (const [slot, data] of values) {
      tf.tidy(() => slot.assign(tf.tensor(data, slot.shape, 'float32')));
    }
    this.#step = step;
  }

  /** Free the state tensors (the parameters belong to the caller). Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    for (const p of this.#params.values()) for (const s of p.slots) s.dispose();
    this.#disposed = true;
  }

  protected checkLr(lr: number): void {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new ConfigError(`learning rate must be a finite number >= 0, got ${String(lr)}`);
    }
  }

  #checkAlive(): void {
    if (this.#disposed) throw new ConfigError(`${this.kind} optimizer has been disposed`);
  }
}
