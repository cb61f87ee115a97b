// HLOP: Hebbian learning based orthogonal projection for continual learning (Xiao et
// al., ICLR 2024, arXiv 2402.11984, github.com/pkuxmq/HLOP-SNN; methods-vision.md 8).
//
// Per layer, k lateral neurons with weights Hm [k, n] read the presynaptic activity x
// [B, n] (y = x Hm^T) and feed back x_hat = y Hm. An Oja-type subspace rule (Hebbian
// y x^T, anti-Hebbian -y y^T Hm through the recurrence) drives the rows of Hm to an
// orthonormal basis of the principal subspace of the activity. Weight updates of a new
// task use the presynaptic activity projected on the orthogonal complement of the
// subspaces of old tasks: for a linear layer `dW = delta^T x_perp = dW (I - Hf^T Hf)`
// with Hf the frozen rows, so the projection acts directly on any host rule's
// gradient map (BPTT, SLTT, OTTT, DSR, ...). Old-task responses then barely change.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkFinite, checkPositiveInt } from '../errors.js';
import { matMul } from '../ops/index.js';
import { gradEntries } from './optimizer.js';
import type { GradMap } from './optimizer.js';

/** Options of one layer's lateral circuit. Defaults are the HLOP PMNIST code's [V] unless marked. */
export interface HebbianSubspaceOptions {
  /** Presynaptic width n. */
  inFeatures: number;
  /** Hebbian learning rate eta_H. Default 0.01 (hidden layers; the code uses 0.001 on the input layer) [V]. */
  lr?: number;
  /** Momentum of the update: `V <- m V + (1 - m) dHm`. Default 0.9 [V]. */
  momentum?: number;
  /** Hebbian iterations per `learn` call (per batch). Default 5 [V]. */
  iterations?: number;
  /** Element-wise clip of dHm. Default 10 [V]. */
  clip?: number;
  /**
   * Spiking lateral neurons: `y <- round(clamp(y, -S, S) / S * T_h) * S / T_h`
   * (S = 20, T_h = 40 in the examples [V]); null (default) for real-valued y.
   */
  spiking?: { scale: number; steps: number } | null;
  /** Seed of the initialisation of new neurons. Default 0. */
  seed?: number;
}

/** Orthonormalise the rows of `fresh` [m, n] against `basis` [k, n] and among themselves (Gram-Schmidt, float64). */
function orthonormalRows(basis: Float64Array[], fresh: Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  const all = [...basis];
  for (const r of fresh) {
    const v = Float64Array.from(r);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of all) {
        let d = 0;
        for (let i = 0; i < v.length; i++) d += v[i] * b[i];
        for (let i = 0; i < v.length; i++) v[i] -= d * b[i];
      }
    }
    let nrm = 0;
    for (let i = 0; i < v.length; i++) nrm += v[i] * v[i];
    nrm = Math.sqrt(nrm);
    if (nrm < 1e-8)
      throw new ConfigError('HLOP: cannot add more lateral neurons than the layer width');
    for (let i = 0; i < v.length; i++) v[i] /= nrm;
    out.push(v);
    all.push(v);
  }
  return out;
}

/** One layer's lateral subspace neurons. */
export class HebbianSubspace {
  readonly inFeatures: number;
  readonly lr: number;
  readonly momentum: number;
  readonly iterations: number;
  readonly clip: number;
  readonly spiking: { scale: number; steps: number } | null;
  #seed: number;
  /** Lateral weights Hm [k, n] (k may be 0: then null). */
  #weights: Tensor | null = null;
  #velocity: Tensor | null = null;
  #frozen = 0;

  constructor(o: HebbianSubspaceOptions) {
    checkPositiveInt(o.inFeatures, 'inFeatures');
    this.inFeatures = o.inFeatures;
    this.lr = o.lr ?? 0.01;
    checkFinite(this.lr, 'lr');
    if (this.lr <= 0) throw new ConfigError(`HLOP lr must be > 0, got ${this.lr}`);
    this.momentum = o.momentum ?? 0.9;
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new ConfigError(`HLOP momentum must be in [0, 1), got ${String(o.momentum)}`);
    }
    this.iterations = o.iterations ?? 5;
    checkPositiveInt(this.iterations, 'iterations');
    this.clip = o.clip ?? 10;
    checkFinite(this.clip, 'clip');
    if (this.clip <= 0) throw new ConfigError(`HLOP clip must be > 0, got ${this.clip}`);
    this.spiking = o.spiking ?? null;
    if (this.spiking) {
      checkFinite(this.spiking.scale, 'spiking.scale');
      if (this.spiking.scale <= 0) {
        throw new ConfigError(`HLOP spiking.scale must be > 0, got ${this.spiking.scale}`);
      }
      checkPositiveInt(this.spiking.steps, 'spiking.steps');
    }
    this.#seed = o.seed ?? 0;
  }

  /** Number of lateral neurons k. */
  get size(): number {
    return this.#weights ? this.#weights.shape[0] : 0;
  }

  /** Rows of old tasks' subspaces (frozen, used by the projection). */
  get frozen(): number {
    return this.#frozen;
  }

  /** A copy of the lateral weights [k, n] (caller owns it), or null when k = 0. */
  weights(): Tensor | null {
    return this.#weights ? tf.clone(this.#weights) : null;
  }

  /** Replace all lateral weights (e.g. when loading a checkpoint); the caller keeps `w`. */
  setWeights(w: Tensor, frozen: number): void {
    if (w.rank !== 2 || w.shape[1] !== this.inFeatures) {
      throw new ShapeError(
        `HLOP weights must be [k, ${this.inFeatures}], got [${w.shape.join(', ')}]`,
      );
    }
    if (!Number.isInteger(frozen) || frozen < 0 || frozen > w.shape[0]) {
      throw new ConfigError(`HLOP frozen rows must be in [0, ${w.shape[0]}], got ${frozen}`);
    }
    tf.dispose([this.#weights, this.#velocity].filter((t): t is Tensor => t !== null));
    this.#weights = tf.clone(w);
    this.#velocity = tf.zerosLike(w);
    this.#frozen = frozen;
  }

  /** Add `count` lateral neurons, initialised as unit rows orthogonal to the existing ones [P]. */
  addNeurons(count: number): void {
    checkPositiveInt(count, 'count');
    if (this.size + count > this.inFeatures) {
      throw new ConfigError(
        `HLOP: ${this.size} + ${count} lateral neurons exceed the layer width ${this.inFeatures}`,
      );
    }
    const n = this.inFeatures;
    const old = this.#weights ? (this.#weights.arraySync() as number[][]) : [];
    const r = tf.randomNormal([count, n], 0, 1, 'float32', this.#seed++);
    const freshArr = r.arraySync() as number[][];
    r.dispose();
    const rows = orthonormalRows(
      old.map((row) => Float64Array.from(row)),
      freshArr.map((row) => Float64Array.from(row)),
    );
    const add = tf.tensor2d(
      rows.map((row) => Array.from(row)),
      [count, n],
    );
    const w = this.#weights ? tf.concat([this.#weights, add]) : tf.clone(add);
    const vel = this.#velocity ? tf.concat([this.#velocity, tf.zerosLike(add)]) : tf.zerosLike(add);
    tf.dispose([add, this.#weights, this.#velocity].filter((t): t is Tensor => t !== null));
    this.#weights = w;
    this.#velocity = vel;
  }

  /** Freeze every current row: they become part of the old-task subspace (end of a task). */
  freeze(): void {
    this.#frozen = this.size;
  }

  /** Lateral responses y = x Hm^T [B, k], quantised in the spiking variant. */
  respond(x: Tensor): Tensor {
    if (!this.#weights) throw new ConfigError('HLOP: no lateral neurons yet (call addNeurons)');
    this.checkInput(x, 'x');
    const w = this.#weights;
    return tf.tidy(() => {
      const y = matMul(x, w, false, true); // [B, k]
      if (!this.spiking) return y;
      const { scale: S, steps } = this.spiking;
      return tf.mul(tf.round(tf.mul(tf.clipByValue(y, -S, S), steps / S)), S / steps);
    });
  }

  /**
   * `iterations` steps of the subspace rule on activity x [B, n]:
   * `dHm = clamp(y^T (x - y Hm) / B, -clip, clip)` with frozen rows masked,
   * `V <- m V + (1 - m) dHm`, `Hm <- Hm + lr V`.
   */
  learn(x: Tensor): void {
    if (!this.#weights || !this.#velocity) {
      throw new ConfigError('HLOP: no lateral neurons yet (call addNeurons)');
    }
    this.checkInput(x, 'x');
    const k = this.size;
    if (this.#frozen === k) return;
    const B = x.shape[0];
    const mask = tf.tidy(() =>
      tf.concat([tf.zeros([this.#frozen, 1]), tf.ones([k - this.#frozen, 1])]),
    ); // [k, 1]
    for (let it = 0; it < this.iterations; it++) {
      const w: Tensor = this.#weights;
      const vel: Tensor = this.#velocity;
      const [nw, nv] = tf.tidy((): Tensor[] => {
        const y = this.respond(x); // [B, k]
        const xhat = matMul(y, w); // [B, n]
        const dh = tf.clipByValue(
          tf.div(matMul(y, tf.sub(x, xhat), true, false), B),
          -this.clip,
          this.clip,
        ); // [k, n]
        // Frozen rows: no update and no leftover momentum.
        const v2 = tf.mul(tf.add(tf.mul(vel, this.momentum), tf.mul(dh, 1 - this.momentum)), mask);
        return [tf.add(w, tf.mul(v2, this.lr)), v2];
      });
      tf.dispose([w, vel]);
      this.#weights = nw;
      this.#velocity = nv;
    }
    mask.dispose();
  }

  /** x (I - Hf^T Hf) with Hf the frozen rows, [..., n]; x itself (cloned) when nothing is frozen. */
  project(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(
        `HLOP projection: last axis must be ${this.inFeatures}, got shape [${x.shape.join(', ')}]`,
      );
    }
    if (!this.#weights || this.#frozen === 0) return tf.clone(x);
    const w = this.#weights;
    const f = this.#frozen;
    return tf.tidy(() => {
      const hf = f === w.shape[0] ? w : tf.slice(w, [0, 0], [f, this.inFeatures]); // [f, n]
      const x2 = tf.reshape(x, [-1, this.inFeatures]); // [M, n]
      const p = tf.sub(x2, matMul(matMul(x2, hf, false, true), hf)); // [M, n]
      return tf.reshape(p, x.shape);
    });
  }

  dispose(): void {
    tf.dispose([this.#weights, this.#velocity].filter((t): t is Tensor => t !== null));
    this.#weights = null;
    this.#velocity = null;
  }

  private checkInput(x: Tensor, what: string): void {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ShapeError(
        `HLOP ${what} must be [B, ${this.inFeatures}], got shape [${x.shape.join(', ')}]`,
      );
    }
  }
}

/**
 * HLOP over a network: one `HebbianSubspace` per weight, keyed by the weight's public
 * parameter name (`layers.0.weight`, shape `[out, n]`). Task protocol (methods-vision 8(c)):
 * `beginTask(counts)` adds lateral neurons; during the task `learn(activities)` trains the
 * new neurons on the presynaptic activity and `project(grads)` filters the host rule's
 * gradients; `endTask()` freezes the learned rows.
 */
export class HLOP {
  readonly #layers = new Map<string, HebbianSubspace>();

  constructor(layers: Readonly<Record<string, HebbianSubspaceOptions>>) {
    for (const [name, o] of Object.entries(layers)) this.#layers.set(name, new HebbianSubspace(o));
    if (this.#layers.size === 0) throw new ConfigError('HLOP: no layers given');
  }

  /** The weight names HLOP handles. */
  get names(): string[] {
    return [...this.#layers.keys()];
  }

  subspace(name: string): HebbianSubspace {
    const s = this.#layers.get(name);
    if (!s) {
      throw new ConfigError(
        `HLOP: unknown weight ${JSON.stringify(name)}; known: ${this.names.join(', ')}`,
      );
    }
    return s;
  }

  /** Add lateral neurons at the start of a task (a count per weight name, or one for all). */
  beginTask(counts: number | Readonly<Record<string, number>>): void {
    for (const name of this.names) {
      const c = typeof counts === 'number' ? counts : counts[name];
      if (c === undefined) throw new ConfigError(`HLOP beginTask: no neuron count for ${name}`);
      if (c > 0) this.subspace(name).addNeurons(c);
    }
  }

  /** Hebbian learning on each weight's presynaptic activity [B, n]. */
  learn(activities: Readonly<Record<string, Tensor>>): void {
    for (const [name, x] of Object.entries(activities)) this.subspace(name).learn(x);
  }

  /**
   * The projected gradient map: each handled weight's gradient `[out, n]` times
   * `(I - Hf^T Hf)`; other entries (biases, thresholds, the readout when not handled)
   * are passed through as clones. New tensors, owned by the caller.
   */
  project(grads: GradMap): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, g] of gradEntries(grads)) {
      const s = this.#layers.get(name);
      if (!s) {
        out.set(name, tf.clone(g));
        continue;
      }
      if (g.rank !== 2) {
        throw new ShapeError(
          `HLOP: gradient of ${name} must be [out, ${s.inFeatures}], got [${g.shape.join(', ')}]`,
        );
      }
      out.set(name, s.project(g));
    }
    return out;
  }

  /** Freeze the rows learned during the task. */
  endTask(): void {
    for (const s of this.#layers.values()) s.freeze();
  }

  dispose(): void {
    for (const s of this.#layers.values()) s.dispose();
  }
}

/** Continual-learning summary of an accuracy matrix (methods-vision.md 8(e)). */
export interface ContinualMetrics {
  /** Mean accuracy over all tasks after the last task. */
  acc: number;
  /** Mean change of each earlier task's accuracy from just after learning it to the end (0 for one task). */
  bwt: number;
}

/**
 * ACC and BWT from `R[i][j]` = accuracy on task j after training task i (K x K; entries
 * with j > i are not used): `ACC = mean_j R[K-1][j]`,
 * `BWT = mean_{j < K-1} (R[K-1][j] - R[j][j])` [V code].
 */
export function continualMetrics(R: readonly (readonly number[])[]): ContinualMetrics {
  const K = R.length;
  if (K === 0) throw new ConfigError('continualMetrics: empty accuracy matrix');
  R.forEach((row, i) => {
    if (row.length !== K) {
      throw new ShapeError(`continualMetrics: row ${i} has ${row.length} entries, expected ${K}`);
    }
    for (let j = 0; j <= i; j++) checkFinite(row[j], `R[${i}][${j}]`);
  });
  const last = R[K - 1];
  const acc = last.reduce((s, a) => s + a, 0) / K;
  let bwt = 0;
  for (let j = 0; j < K - 1; j++) bwt += last[j] - R[j][j];
  return { acc, bwt: K > 1 ? bwt / (K - 1) : 0 };
}
