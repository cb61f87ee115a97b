// The `Module` base every layer builds on: named parameters under Hugging Face
// style dotted names (`mlp.up.weight`), child modules, state load/save with
// shape checks, a training/eval flag, and seeded initialisation. Modelled on
// PyTorch's `nn.Module` (named_parameters, state_dict, load_state_dict,
// train/eval), reduced to what tfjs needs.
//
// NOTE: tfjs variable names are global to the engine and a duplicate name throws,
// so every variable gets an internal name unique to its module instance
// (`snnlm/<uid>/<local name>`); the public names returned by `namedParameters()`
// and `stateDict()` stay clean and are what files and optimiser state should use.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { ConfigError, ShapeError } from '../errors.js';

let nextUid = 0;

const NAME = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/**
 * A 32-bit seed derived from a parent seed and a label (FNV-1a over
 * `"<seed>:<label>"`), so that sibling layers built from one model seed get
 * unrelated random streams.
 */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}:${label}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `value` when it is a boolean, `def` when undefined; anything else is a ConfigError. */
export function optBool(value: unknown, name: string, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') {
    throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A tensor map accepted by `loadState`: a `Map` or a plain object. */
export type StateMap = Map<string, Tensor> | Record<string, Tensor>;

/** Base of every layer: owns variables and child modules. */
export abstract class Module {
  // ES private fields, so subclasses may use any of these names for their own members.
  /** Instance id; makes internal tfjs variable names unique. */
  readonly #uid = nextUid++;
  readonly #params = new Map<string, Variable>();
  readonly #children = new Map<string, Module>();
  #path = '';
  #training = true;
  #disposed = false;

  /** Full dotted path of this module from its root (`''` for a root), e.g. `layers.0.mlp.up`. */
  get path(): string {
    return this.#path;
  }

  /** True in training mode (the default), false after `eval()`. */
  get training(): boolean {
    return this.#training;
  }

  /** Set training mode on this module and every descendant. Returns `this`. */
  train(on = true): this {
    this.#training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }

  /** Switch to eval mode (running statistics, no state updates). Returns `this`. */
  eval(): this {
    return this.train(false);
  }

  /** The constructor arguments that rebuild this module (snake_case keys). */
  abstract getConfig(): object;

  /**
   * Register a parameter under a local name, initialised from `init` (which this
   * call takes over and disposes). Non-trainable parameters are buffers (running
   * statistics): saved and loaded, never given to optimisers.
   */
  protected addParameter(name: string, init: Tensor, trainable = true): Variable {
    this.#checkName(name);
    const v = tf.variable(init, trainable, `snnlm/${this.#uid}/${name}`);
    init.dispose();
    this.#params.set(name, v);
    return v;
  }

  /** Register a child module under a local name (dots allowed: `layers.0`). */
  protected addModule<M extends Module>(name: string, child: M): M {
    this.#checkName(name);
    this.#children.set(name, child);
    child.#setPath(this.#path ? `${this.#path}.${name}` : name);
    child.train(this.#training);
    return child;
  }

  #checkName(name: string): void {
    if (!NAME.test(name))
      throw new ConfigError(`invalid parameter/module name ${JSON.stringify(name)}`);
    if (this.#params.has(name) || this.#children.has(name)) {
      throw new ConfigError(`duplicate name ${JSON.stringify(name)} in module '${this.#path}'`);
    }
  }

  #setPath(p: string): void {
    this.#path = p;
    for (const [n, c] of this.#children) c.#setPath(`${p}.${n}`);
  }

  /**
   * Every parameter and buffer as `[name, variable]`, names relative to this
   * module (`up.weight`), own parameters first in registration order, then each
   * child's in registration order. Buffers have `variable.trainable === false`.
   */
  namedParameters(): [string, Variable][] {
    this.#checkAlive();
    const out: [string, Variable][] = [...this.#params];
    for (const [cn, c] of this.#children) {
      for (const [n, v] of c.namedParameters()) out.push([`${cn}.${n}`, v]);
    }
    return out;
  }

  /** The trainable variables, in `namedParameters()` order (for optimisers). */
  trainableVariables(): Variable[] {
    return this.namedParameters()
      .filter(([, v]) => v.trainable)
      .map(([, v]) => v);
  }

  /** Name -> tensor for every parameter and buffer. The tensors are the live variables: do not dispose. */
  stateDict(): Map<string, Tensor> {
    return new Map<string, Tensor>(this.namedParameters());
  }

  /**
   * Assign every parameter and buffer from `state` (float32 tensors keyed by
   * `namedParameters()` names). All names and shapes are checked before anything
   * is assigned; missing and unexpected names raise a ConfigError, wrong shapes a
   * ShapeError, each listing every offending name. The caller keeps ownership of
   * `state`.
   */
  loadState(state: StateMap): void {
    const entries = state instanceof Map ? [...state] : Object.entries(state);
    const given = new Map(entries);
    const own = this.namedParameters();
    const ownNames = new Set(own.map(([n]) => n));
    const missing = own.map(([n]) => n).filter((n) => !given.has(n));
    const unexpected = [...given.keys()].filter((n) => !ownNames.has(n));
    if (missing.length || unexpected.length) {
      const parts = [];
      if (missing.length) parts.push(`missing: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected: ${unexpected.join(', ')}`);
      throw new ConfigError(`loadState: ${parts.join('; ')}`);
    }
    const bad: string[] = [];
    for (const [n, v] of own) {
      const t = given.get(n) as Tensor;
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        bad.push(`${n} expected [${v.shape.join(', ')}], got [${t.shape.join(', ')}]`);
      } else if (t.dtype !== v.dtype) {
        bad.push(`${n} expected dtype ${v.dtype}, got ${t.dtype}`);
      }
    }
    if (bad.length) throw new ShapeError(`loadState: ${bad.join('; ')}`);
    // NOTE: `Variable.assign` drops the variable's own data before taking the new
    // data, so assigning a variable to itself (`m.loadState(m.stateDict())`) or
    // swapping two would free live data. Holding a clone (a second reference to the
    // same data) of every source first makes every assignment safe.
    const sources = own.map(([n]) => tf.clone(given.get(n) as Tensor));
    own.forEach(([, v], i) => v.assign(sources[i]));
    tf.dispose(sources);
  }

  /** Free every variable of this module and its children. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    for (const v of this.#params.values()) v.dispose();
    for (const c of this.#children.values()) c.dispose();
    this.#disposed = true;
  }

  #checkAlive(): void {
    if (this.#disposed) throw new ConfigError(`module '${this.#path}' has been disposed`);
  }
}
