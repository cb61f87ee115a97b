// Gradient rules for training the spiking causal students on a loss of their time-mean
// features (SpAD, methods-language.md 3(c)): `bptt`, `sltt`, `sltt-k`, `ottt`
// (methods-vision.md 1, 3, 4). The design below is OURS [P]; the rules' gradients are the
// papers' (3(c), 4(c)) specialised to a loss on time means.
// - `bptt`: one forward with a graph over all T steps, the loss on `forward`'s features
//   (logits, hidden states, attention maps), gradients of everything. Memory grows with T.
// - `sltt`, `sltt-k`, `ottt` [P]: every feature the loss reads is a time mean of per-step
//   quantities: logits = mean_t(s[t] W'ᵀ + b) (the head is linear in the final spikes),
//   hidden states = mean_t of the per-step residual streams, and the maps a fixed function
//   (`mapFromMean`) of the mean per-step raw map. So, by the chain rule,
//     ∇θ L = Σ_t Σ_f <∂L/∂f̄, ∂f[t]/∂θ> / T           (f̄ = mean_t f[t]).
//   Pass 1 runs the T steps one at a time (`SpikingCausalLM.timeStep`; each neuron site
//   keeps its membrane in a stepwise `NeuronContext`) with no graph and sums the features;
//   the loss on the means gives the value, the cotangents ∂L/∂f̄ and the gradients of the
//   loss's own parameters (exact: they only see the means). Pass 2 runs the steps again;
//   at each selected step t it builds the graph of that step only — the state entering it
//   is a constant, which cuts every temporal edge (leak and reset) as SLTT does — and adds
//   the gradient of Σ_f <∂L/∂f̄, f[t]> / T; the graph is freed after each step. Memory is
//   one step's graph plus the states: flat in T; compute is two forwards + T one-step
//   backwards. The value equals `bptt`'s up to float rounding of the means.
// - `sltt-k` [P]: k distinct steps per call (partial Fisher-Yates on `random`, or `steps`)
//   get a graph; the others only advance the state. The 1/T factor stays, so the expected
//   student gradient is (k/T)·sltt (3(c)); the loss parameters still get their exact
//   gradient.
// - `ottt` [P]: as `sltt`, but each weight product reading a neuron site's output takes its
//   weight gradient from the site's presynaptic trace â[t] = λ·â[t−1] + s[t] (`traceMatMul`,
//   src/ops; λ = 1 − 1/τ for LIF, 1 for IF, `decay` for I-LIF, sigmoid(a) for ASN); the
//   input gradient still reaches s[t]. The head on the final neuron uses its trace too (the
//   reference code does, 4(f)1). Products on the mixer's output spikes (stateless per
//   step) and the real-valued embedding use no trace.
// Refused for the stepwise rules (`checkStepwise`): batch norm in training (statistics over
// T), mixers with an output neuron over T (the ssa / softmax baselines), and the spike-
// inference coding. Stepwise, the fused LIF kernel runs one step per call with the carried
// membrane as its initial state, and the integer neurons their one-step functions (no
// `unstack`, so T = 1 needs no special case); with T = 1 every rule gives `bptt`'s gradient.
import { tf } from '../src/tf.js';
import type { Scalar, Tensor, Variable } from '../src/tf.js';
import { ConfigError } from '../src/errors.js';
import { valueAndGrads } from '../src/train/index.js';
import type { NamedVariables } from '../src/train/index.js';
import type { SpikingStudent } from './student-base.js';
import type { SpikingCausalLM, StudentStepOutput } from './student-decoder.js';
import { mapFromMean, mixesAcrossTime } from './student-mixers.js';
import { NeuronContext, withNeuronContext } from './student-neuron.js';

/** The gradient rules a student can be trained with. */
export type GradientRule = 'bptt' | 'sltt' | 'sltt-k' | 'ottt';
export const GRADIENT_RULES: readonly GradientRule[] = ['bptt', 'sltt', 'sltt-k', 'ottt'];

/** Student features the loss sees: all are TIME MEANS over the T steps. */
export interface StudentFeatures {
  /** `[B, N, V]`. */
  logits: Tensor;
  /** `L + 1` tensors `[B, N, D]`: the embedding output first, then each block's residual stream. */
  hidden?: Tensor[];
  /** `L` maps `[B, H, N, N]`, as `forward({ outputAttentions })` returns them. */
  attentions?: Tensor[];
}

/** Options of `studentValueAndGrads`. */
export interface StudentGradOptions {
  rule: GradientRule;
  /** `sltt-k`: steps with a graph per call, `1 <= k <= T` (the other rules ignore it). */
  k?: number;
  /** `sltt-k`: a seeded uniform `[0, 1)` source for the step choice. */
  random?: () => number;
  /** `sltt-k`: the steps (0-based, distinct) to use instead of a random draw. */
  steps?: readonly number[];
  /** The loss reads `features.hidden`. */
  hidden?: boolean;
  /** The loss reads `features.attentions`. */
  attentions?: boolean;
  /** Trainables owned by the loss (e.g. learned projections); they get gradients too. */
  lossParams?: NamedVariables;
}

/** Loss value and gradients of one call. */
export interface StudentGradResult {
  value: number;
  /** Student parameters and `lossParams`, by name (owned by the caller). */
  grads: Map<string, Tensor>;
  /** Mean output of the student's neuron sites per unit and step (counts / levels). */
  firingRate?: number;
}

/**
 * Loss and gradients of a student on `ids` `[B, N]` int32 under `options.rule` (see the file
 * header). The student must be in training mode: eval mode runs the inference forms (the
 * integer WTA/SFSA comparisons without a surrogate, the quantised-weight cache), which give
 * zero or missing gradients, so it is refused with a ConfigError rather than switched
 * silently (a switch would also change batch-norm statistics behind the caller's back).
 */
export function studentValueAndGrads(
  student: SpikingCausalLM,
  ids: Tensor,
  loss: (f: StudentFeatures) => Scalar,
  options: StudentGradOptions,
): StudentGradResult {
  const rule = options.rule;
  if (!GRADIENT_RULES.includes(rule)) {
    throw new ConfigError(
      `gradient rule must be one of ${GRADIENT_RULES.join(', ')}, got ${JSON.stringify(rule)}`,
    );
  }
  if (!student.training) {
    throw new ConfigError(
      `studentValueAndGrads: the student is in eval mode, whose integer mixers and cached ` +
        `quantised weights pass no gradients to Q, K or the weights; call student.train() first`,
    );
  }
  const T = student.config.time_steps;
  const steps = rule === 'sltt-k' ? chooseSteps(T, options) : null;
  if (rule !== 'sltt-k' && options.steps !== undefined) {
    throw new ConfigError(`options.steps applies to the sltt-k rule only, got rule ${rule}`);
  }
  if (rule !== 'bptt') checkStepwise(student, rule);
  const lossParams = trainable(options.lossParams ?? []);
  const studentParams = trainable(student.namedParameters());
  const names = new Set(studentParams.map(([n]) => n));
  for (const [n] of lossParams) {
    if (names.has(n)) throw new ConfigError(`lossParams: "${n}" is also a student parameter name`);
  }
  if (rule === 'bptt') return bptt(student, ids, loss, options, [...studentParams, ...lossParams]);
  return stepwise(student, ids, loss, options, {
    ...{ steps: steps ?? allSteps(T), traces: rule === 'ottt' },
    ...{ studentParams, lossParams },
  });
}

type Named = [string, Variable][];

function trainable(params: NamedVariables): Named {
  return [...params].filter(([, v]) => v.trainable).map(([n, v]) => [n, v]);
}

const allSteps = (T: number) => Array.from({ length: T }, (_, t) => t);

/** The sltt-k steps: `options.steps` (checked) or k distinct draws from `options.random`. */
function chooseSteps(T: number, o: StudentGradOptions): number[] {
  const k = o.k;
  if (k === undefined || !Number.isInteger(k) || k < 1 || k > T) {
    throw new ConfigError(`sltt-k: k must be an integer in [1, T = ${T}], got ${String(k)}`);
  }
  if (o.steps !== undefined) {
    const ok =
      o.steps.length === k &&
      new Set(o.steps).size === k &&
      o.steps.every((t) => Number.isInteger(t) && t >= 0 && t < T);
    if (!ok) {
      throw new ConfigError(
        `sltt-k: steps must be ${k} distinct integers in [0, ${T - 1}], got [${o.steps.join(', ')}]`,
      );
    }
    return [...o.steps].sort((a, b) => a - b);
  }
  if (!o.random) {
    throw new ConfigError('sltt-k: pass options.random (a seeded uniform [0, 1) source)');
  }
  const idx = allSteps(T);
  for (let i = 0; i < k; i++) {
    // partial Fisher-Yates: a uniform k-subset
    const j = i + Math.min(T - i - 1, Math.floor(o.random() * (T - i)));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

/**
 * Refuse a stepwise rule (`sltt`, `sltt-k`, `ottt`) where running one time step at a time
 * is not the same forward: batch norm in training (statistics across T), a mixer with an
 * output neuron over T, the spike-inference coding. Throws ConfigError.
 */
export function checkStepwise(student: SpikingStudent, rule: GradientRule): void {
  const c = student.config;
  const what = `gradient rule ${rule} (one time step at a time)`;
  if (student.training && c.norm_type === 'batch') {
    throw new ConfigError(
      `${what}: norm_type "batch" takes statistics across the T steps in training; use "rms" or "layer", or bptt`,
    );
  }
  if (mixesAcrossTime(c.attention_type)) {
    throw new ConfigError(
      `${what}: attention_type "${c.attention_type}" runs its output neuron across the T steps; use bptt`,
    );
  }
  if (student.coding.kind === 'expanded') {
    throw new ConfigError(
      `${what}: spike_encoding "binary" is the spike-inference form; train the integer model`,
    );
  }
}

/** One graph over all T steps: `valueAndGrads` of the loss on `forward`'s features. */
function bptt(
  student: SpikingCausalLM,
  ids: Tensor,
  loss: (f: StudentFeatures) => Scalar,
  o: StudentGradOptions,
  params: Named,
): StudentGradResult {
  const ctx = new NeuronContext({ rates: true });
  try {
    const r = withNeuronContext(ctx, () =>
      valueAndGrads(() => {
        const out = student.forward(ids, {
          ...{ outputHiddenStates: o.hidden ?? false, outputAttentions: o.attentions ?? false },
        });
        const f: StudentFeatures = { logits: out.logits };
        if (out.hiddenStates) f.hidden = out.hiddenStates;
        if (out.attentions) f.attentions = out.attentions;
        return loss(f);
      }, params),
    );
    const value = r.loss.dataSync()[0];
    r.loss.dispose();
    return withRate({ value, grads: r.grads }, ctx);
  } finally {
    ctx.dispose();
  }
}

function withRate(r: StudentGradResult, ctx: NeuronContext): StudentGradResult {
  const rate = ctx.firingRate();
  if (rate !== null) r.firingRate = rate;
  return r;
}

/** Time means of pass 1 (kept tensors). */
interface Means {
  counts: Tensor | null;
  scale: Tensor | null;
  hidden: Tensor[];
  maps: Tensor[];
}

function disposeMeans(m: Means): void {
  tf.dispose([m.counts, m.scale, ...m.hidden, ...m.maps].filter((t): t is Tensor => t !== null));
}

/** Pass 1: all T steps without a graph; sums of the per-step features, then means. */
function meanFeatures(
  student: SpikingCausalLM,
  ids: Tensor,
  o: StudentGradOptions,
  ctx: NeuronContext,
): Means {
  const T = student.config.time_steps;
  const want = { hidden: o.hidden ?? false, maps: o.attentions ?? false };
  let m: Means = { counts: null, scale: null, hidden: [], maps: [] };
  try {
    for (let t = 0; t < T; t++) {
      const next = tf.tidy(() => {
        const r = withNeuronContext(ctx, () => student.timeStep(ids, want));
        const add = (a: Tensor | undefined, b: Tensor) => (a ? tf.add(a, b) : b);
        const hidden = r.hidden.map((h, i) => (i === 0 ? (m.hidden[0] ?? h) : add(m.hidden[i], h)));
        return {
          ...{ counts: add(m.counts ?? undefined, r.counts), scale: r.scale },
          ...{ hidden, maps: r.rawMaps.map((p, i) => add(m.maps[i], p)) },
        } as unknown as tf.TensorContainer;
      }) as unknown as Means;
      ctx.endStep();
      // keep hidden[0] (the embedding, the same at every step): free everything else
      tf.dispose(
        [m.counts, m.scale, ...m.hidden.slice(1), ...m.maps].filter((x): x is Tensor => x !== null),
      );
      m = next;
    }
    const means = tf.tidy(() => ({
      hidden: m.hidden.map((h, i) => (i === 0 ? tf.clone(h) : tf.div(h, T))),
      maps: m.maps.map((p) => tf.div(p, T)),
    }));
    tf.dispose([...m.hidden, ...m.maps]);
    m = { ...m, hidden: means.hidden, maps: means.maps };
    return m;
  } catch (e) {
    disposeMeans(m);
    throw e;
  }
}

/** Cotangents of the loss w.r.t. the mean features (null where the loss does not read one). */
interface Cotangents {
  logits: Tensor | null;
  hidden: (Tensor | null)[];
  maps: (Tensor | null)[];
}

/** The loss on the pass-1 means: its value, the cotangents and the loss parameters' grads. */
function lossCotangents(
  student: SpikingCausalLM,
  m: Means,
  loss: (f: StudentFeatures) => Scalar,
  o: StudentGradOptions,
  lossParams: Named,
): { value: number; cot: Cotangents; lossGrads: Map<string, Tensor> } {
  const kind = student.config.attention_type;
  const logits = tf.tidy(() => student.logitsFromCounts(m.counts as Tensor, m.scale)); // [B, N, V]
  // the means as variables, so that one tape gives their cotangents and the loss params' grads
  const feats = [logits, ...m.hidden, ...m.maps].map((t) => tf.variable(t, true));
  logits.dispose();
  const L = m.maps.length;
  const H = m.hidden.length;
  try {
    const r = tf.variableGrads(() => {
      const f: StudentFeatures = { logits: feats[0] };
      if (o.hidden) f.hidden = feats.slice(1, 1 + H);
      if (o.attentions) f.attentions = feats.slice(1 + H).map((p) => mapFromMean(kind, p));
      return loss(f);
    }, [...feats, ...lossParams.map(([, v]) => v)]);
    const g = (v: Variable) => r.grads[v.name] ?? null;
    const cot: Cotangents = {
      logits: g(feats[0]),
      hidden: feats.slice(1, 1 + H).map(g),
      maps: feats.slice(1 + H, 1 + H + L).map(g),
    };
    const lossGrads = new Map<string, Tensor>();
    for (const [n, v] of lossParams) if (r.grads[v.name]) lossGrads.set(n, r.grads[v.name]);
    const value = r.value.dataSync()[0];
    r.value.dispose();
    return { value, cot, lossGrads };
  } finally {
    tf.dispose(feats);
  }
}

/** `Σ_f <cotangent_f, feature_f[t]> / T` of one step's outputs. */
function stepScalar(r: StudentStepOutput, cot: Cotangents, T: number): Scalar {
  const terms: Tensor[] = [];
  const dot = (g: Tensor | null, x: Tensor | undefined) => {
    if (g && x) terms.push(tf.sum(tf.mul(g, x)));
  };
  dot(cot.logits, r.logits);
  cot.hidden.forEach((g, i) => dot(g, r.hidden[i]));
  cot.maps.forEach((g, i) => dot(g, r.rawMaps[i]));
  return tf.div(terms.length === 1 ? terms[0] : tf.addN(terms), T) as Scalar;
}

/** Add `grads` into `acc` (both maps by name; `grads` is consumed). */
function accumulate(acc: Map<string, Tensor>, grads: Map<string, Tensor>): void {
  for (const [n, g] of grads) {
    const prev = acc.get(n);
    if (prev) {
      acc.set(n, tf.add(prev, g));
      tf.dispose([prev, g]);
    } else acc.set(n, g);
  }
}

/**
 * SLTT / SLTT-K / OTTT: pass 1 without a graph gives the mean features, the loss and its
 * cotangents; pass 2 runs the steps again, one graph per selected step with the state
 * entering it constant, and sums the gradients of the per-step scalars.
 */
function stepwise(
  student: SpikingCausalLM,
  ids: Tensor,
  loss: (f: StudentFeatures) => Scalar,
  o: StudentGradOptions,
  run: { steps: number[]; traces: boolean; studentParams: Named; lossParams: Named },
): StudentGradResult {
  const T = student.config.time_steps;
  const ctx1 = new NeuronContext({ stepwise: true, rates: true });
  let m: Means | null = null;
  let cot: Cotangents | null = null;
  const acc = new Map<string, Tensor>();
  const ctx2 = new NeuronContext({ stepwise: true, traces: run.traces });
  try {
    m = meanFeatures(student, ids, o, ctx1);
    const c = lossCotangents(student, m, loss, o, run.lossParams);
    cot = c.cot;
    disposeMeans(m);
    m = null;
    accumulate(acc, c.lossGrads);
    const want = {
      logits: cot.logits !== null,
      hidden: cot.hidden.some((g) => g !== null),
      maps: cot.maps.some((g) => g !== null),
    };
    const live = want.logits || want.hidden || want.maps;
    const selected = new Set(run.steps);
    const cots = cot;
    for (let t = 0; t < T; t++) {
      if (live && selected.has(t)) {
        const r = withNeuronContext(ctx2, () =>
          valueAndGrads(() => stepScalar(student.timeStep(ids, want), cots, T), run.studentParams),
        );
        r.loss.dispose();
        accumulate(acc, r.grads);
      } else {
        tf.tidy(() => {
          withNeuronContext(ctx2, () => student.timeStep(ids)); // advance the state only
        });
      }
      ctx2.endStep();
    }
    return withRate({ value: c.value, grads: acc }, ctx1);
  } catch (e) {
    tf.dispose([...acc.values()]);
    throw e;
  } finally {
    if (m) disposeMeans(m);
    if (cot)
      tf.dispose([cot.logits, ...cot.hidden, ...cot.maps].filter((x): x is Tensor => x !== null));
    ctx1.dispose();
    ctx2.dispose();
  }
}
