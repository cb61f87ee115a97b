// SpAD, spike-aware alignment distillation (methods-language.md 3(c), arXiv 2605.13859;
// structure from the abstract, weights ours [P]):
//   L = λ_ce · CE(z_s, next token)
//     + λ_e · MSE(r(E_s), E_t)                                   embedding outputs
//     + λ_a · Σ_l mean_{b,h,i} KL(A_t^{m(l)}[i,:] || Â_s^l[i,:])   attention maps, j ≤ i only
//     + λ_f · Σ_l MSE(RMSNorm(P_l r(H_s^l)), RMSNorm(H_t^{m(l)}))   block outputs
//     + λ_z · τ² · KL(softmax(z_t/τ) || softmax(z_s/τ))            logits
// r(·) is the mean over the T steps, which the students already return (hidden states
// are time means, maps are Â = r(P)/r(Z)). P_l is a learned projection student width ->
// teacher width when the widths differ (trainable, saved with the run); m maps student
// layers to teacher layers (one-to-one at equal depth, else uniform, or from the config).
import { ConfigError, ShapeError } from '../src/errors.js';
import { tf } from '../src/tf.js';
import type { Scalar, Tensor, Variable } from '../src/tf.js';
import type { TeacherFeatures } from './teacher.js';

/** Names of the loss terms, as logged. */
export const SPAD_TERMS = ['ce', 'embedding', 'attention', 'hidden', 'logits'] as const;
export type SpadTerm = (typeof SPAD_TERMS)[number];

/** Weights λ of each term and the logit temperature τ. Defaults [P]: all 1, τ = 1. */
export interface SpadWeights {
  ce: number;
  embedding: number;
  attention: number;
  hidden: number;
  logits: number;
  temperature: number;
}

export const DEFAULT_SPAD_WEIGHTS: Readonly<SpadWeights> = Object.freeze({
  ce: 1,
  embedding: 1,
  attention: 1,
  hidden: 1,
  logits: 1,
  temperature: 1,
});

/** What the student gives (see `studentValueAndGrads` in models/). */
export interface StudentFeatures {
  /** `[B, N, V]`. */
  logits: Tensor;
  /** `L + 1` time means `[B, N, D]`, the embedding first. */
  hidden?: Tensor[];
  /** `L` maps `[B, H, N, N]`. */
  attentions?: Tensor[];
}

/** Added inside logs and to row sums so that empty rows stay finite (3(c): 1e-6). */
const EPS = 1e-6;

/**
 * Teacher layer (1-based, 1..teacherLayers) for each student layer 1..studentLayers:
 * the same layer when depths match, else uniform `round(l · Lt / Ls)`; `override`
 * (from the config) is checked and used as given.
 */
export function layerMap(
  studentLayers: number,
  teacherLayers: number,
  override?: readonly number[] | null,
): number[] {
  if (override) {
    if (override.length !== studentLayers) {
      throw new ConfigError(
        `loss.layer_map has ${override.length} entries, the student has ${studentLayers} layers`,
        `give one teacher layer (1..${teacherLayers}) per student layer`,
      );
    }
    override.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 1 || t > teacherLayers) {
        throw new ConfigError(
          `loss.layer_map[${i}] = ${String(t)} is not a teacher layer (1..${teacherLayers})`,
        );
      }
    });
    return [...override];
  }
  return Array.from({ length: studentLayers }, (_, i) =>
    Math.min(teacherLayers, Math.max(1, Math.round(((i + 1) * teacherLayers) / studentLayers))),
  );
}

/**
 * The learned projections student width -> teacher width, one per aligned hidden state
 * (index 0 the embedding, then one per student layer); none when the widths match.
 * Parameter names: `spad.proj.<i>.weight`, shape `[D_t, D_s]`.
 */
export class SpadProjections {
  readonly params: Map<string, Variable> = new Map();

  constructor(
    readonly studentWidth: number,
    readonly teacherWidth: number,
    studentLayers: number,
    seed = 0,
  ) {
    if (studentWidth === teacherWidth) return;
    for (let i = 0; i <= studentLayers; i++) {
      const init = tf.randomNormal(
        [teacherWidth, studentWidth],
        0,
        1 / Math.sqrt(studentWidth),
        'float32',
        seed + 7919 * (i + 1),
      ); // [Dt, Ds]
      this.params.set(`spad.proj.${i}.weight`, tf.variable(init, true));
      init.dispose();
    }
  }

  get active(): boolean {
    return this.params.size > 0;
  }

  /** `x` `[B, N, Ds]` of hidden state `index` -> `[B, N, Dt]`. */
  project(x: Tensor, index: number): Tensor {
    if (!this.active) return x;
    const w = this.params.get(`spad.proj.${index}.weight`);
    if (!w) throw new ConfigError(`no projection for hidden state ${index}`);
    const [B, N, D] = x.shape as [number, number, number];
    const y = tf.matMul(tf.reshape(x, [B * N, D]), w, false, true); // [B*N, Dt]
    return tf.reshape(y, [B, N, this.teacherWidth]); // [B, N, Dt]
  }

  /** Parameters as `[name, variable]` pairs (for the optimizer). */
  named(): [string, Variable][] {
    return [...this.params];
  }

  /** Replace the values from tensors by name (resume); names and shapes are checked. */
  load(tensors: ReadonlyMap<string, Tensor>): void {
    for (const [name, v] of this.params) {
      const t = tensors.get(name);
      if (!t) throw new ConfigError(`projection ${name} is missing from the saved run`);
      if (t.shape.join() !== v.shape.join()) {
        throw new ShapeError(`projection ${name}: saved [${t.shape}] vs [${v.shape}]`);
      }
    }
    for (const [name, v] of this.params) v.assign(tensors.get(name) as Tensor);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/** Mean next-token cross-entropy of logits `[B, N, V]` against targets `[B, N]` int32. */
export function crossEntropy(logits: Tensor, targets: Tensor): Scalar {
  return tf.tidy(() => {
    const V = logits.shape[2] as number;
    const logp = tf.logSoftmax(tf.reshape(logits, [-1, V])); // [B*N, V]
    const onehot = tf.oneHot(tf.reshape(targets, [-1]), V); // [B*N, V]
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as Scalar;
  });
}

/** τ² · mean over positions of KL(softmax(t/τ) || softmax(s/τ)); logits `[B, N, V]`. */
export function logitKL(student: Tensor, teacher: Tensor, temperature: number): Scalar {
  if (!(temperature > 0)) throw new ConfigError(`loss.temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    const V = student.shape[2] as number;
    const s = tf.logSoftmax(tf.div(tf.reshape(student, [-1, V]), temperature)); // [B*N, V]
    const t = tf.logSoftmax(tf.div(tf.reshape(teacher, [-1, V]), temperature)); // [B*N, V]
    const kl = tf.sum(tf.mul(tf.exp(t), tf.sub(t, s)), 1); // [B*N]
    return tf.mul(tf.mean(kl), temperature * temperature) as Scalar;
  });
}

/** Root-mean-square normalisation over the last axis, without a gain. */
export function rmsNormalize(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), EPS))));
}

/** Mean squared error. */
export function mse(a: Tensor, b: Tensor): Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(a, b)) as Scalar);
}

/**
 * Floor added to both distributions inside the attention KL's logarithms [P]. The
 * spec's 1e-6 (3(c)) makes the gradient at an empty student entry 1e6 times the
 * teacher's probability, and it compounds with the student's own 1/(Z + 1e-6) row
 * normalisation into float32 overflow; 1e-3 bounds it while keeping the value 0 for
 * equal maps.
 */
export const ATTENTION_LOG_FLOOR = 1e-3;

/**
 * mean over (b, h, i) of KL(A_t[i,:] || Â_s[i,:]) over the allowed entries j ≤ i, with
 * `ATTENTION_LOG_FLOOR` inside the logarithms. Maps `[B, H, N, N]`. Student rows are
 * renormalised over the allowed entries, so the term is a proper KL also for maps whose
 * rows do not sum to 1 (WTA with k > 1) [P]. A student row with no mass at all (SFSA:
 * Z = 0) adds its constant penalty but no gradient: its direction is undefined and the
 * 1/ε factors would swamp every other gradient [P]. When the head counts differ, both
 * maps are averaged over heads first [P].
 */
export function attentionKL(student: Tensor, teacher: Tensor): Scalar {
  return tf.tidy(() => {
    let [s, t] = [student, teacher];
    if (s.shape[1] !== t.shape[1]) {
      s = tf.mean(s, 1, true); // [B, 1, N, N]
      t = tf.mean(t, 1, true); // [B, 1, N, N]
    }
    const N = s.shape[3] as number;
    const allowed = tf.linalg.bandPart(tf.ones([N, N]), -1, 0); // [N, N] j ≤ i
    const sm = tf.mul(s, allowed); // [B, H, N, N]
    const rowSum = tf.sum(sm, -1, true); // [B, H, N, 1]
    const hasMass = tf.step(rowSum); // 1 where the row has mass; zero gradient
    const safeSum = tf.add(tf.mul(rowSum, hasMass), tf.sub(1, hasMass)); // 1 in empty rows
    const q = tf.mul(tf.div(sm, safeSum), hasMass); // [B, H, N, N], 0 in empty rows
    const p = tf.mul(t, allowed);
    const logp = tf.log(tf.add(p, ATTENTION_LOG_FLOOR));
    const logq = tf.log(tf.add(q, ATTENTION_LOG_FLOOR));
    const rowKl = tf.sum(tf.mul(p, tf.sub(logp, logq)), -1); // [B, H, N]
    return tf.mean(rowKl) as Scalar;
  });
}

/** Everything `spadLoss` needs besides the features. */
export interface SpadOptions {
  weights: SpadWeights;
  /** Teacher layer (1-based) of each student layer (`layerMap`). */
  layerMap?: readonly number[];
  projections?: SpadProjections | null;
}

/** The total loss and each unweighted term that was computed (for logs). */
export interface SpadResult {
  total: Scalar;
  terms: Partial<Record<SpadTerm, Scalar>>;
}

/**
 * The SpAD loss of student features against teacher features (constants) and next-token
 * targets `[B, N]`. Terms whose weight is 0 or whose features are missing are skipped.
 * Call inside a gradient tape; the returned tensors belong to the caller.
 */
export function spadLoss(
  student: StudentFeatures,
  teacher: TeacherFeatures | null,
  targets: Tensor,
  options: SpadOptions,
): SpadResult {
  const w = options.weights;
  const terms: Partial<Record<SpadTerm, Scalar>> = {};
  const parts: Tensor[] = [];
  const add = (name: SpadTerm, weight: number, value: Scalar): void => {
    terms[name] = value;
    parts.push(tf.mul(value, weight));
  };
  if (w.ce > 0) add('ce', w.ce, crossEntropy(student.logits, targets));
  if (teacher) {
    if (w.logits > 0)
      add('logits', w.logits, logitKL(student.logits, teacher.logits, w.temperature));
    const proj = options.projections ?? null;
    const projected = (x: Tensor, i: number): Tensor => (proj ? proj.project(x, i) : x);
    const sh = student.hidden;
    const temb = teacher.embeddings ?? teacher.hidden?.[0];
    if (w.embedding > 0 && sh && temb) {
      add(
        'embedding',
        w.embedding,
        tf.tidy(() => mse(projected(sh[0], 0), temb)),
      );
    }
    const th = teacher.hidden;
    if (w.hidden > 0 && sh && th) {
      const map = options.layerMap ?? layerMap(sh.length - 1, th.length - 1);
      const value = tf.tidy(() =>
        tf.addN(
          map.map((m, l) => mse(rmsNormalize(projected(sh[l + 1], l + 1)), rmsNormalize(th[m]))),
        ),
      ) as Scalar;
      add('hidden', w.hidden, value);
    }
    const sa = student.attentions;
    const ta = teacher.attentions;
    if (w.attention > 0 && sa && ta && sa.length > 0) {
      const map = options.layerMap ?? layerMap(sa.length, ta.length);
      const value = tf.tidy(() =>
        tf.addN(map.map((m, l) => attentionKL(sa[l], ta[m - 1]))),
      ) as Scalar;
      add('attention', w.attention, value);
    }
  }
  if (parts.length === 0) {
    throw new ConfigError('every loss term is switched off (all weights 0 or features missing)');
  }
  // NOTE: the weighted parts are not disposed here: under a gradient tape the backward
  // pass may still need them; the caller's scope (tidy / variableGrads) frees them.
  const total = (parts.length === 1 ? parts[0] : tf.addN(parts)) as Scalar;
  return { total, terms };
}
