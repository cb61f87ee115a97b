// Plain-JS float64 reference of the feedback SNN (models/vision/feedback.ts) for the
// IDE/SPIDE tests: the spiking loop, the equilibrium map f, its fixed point and the loss
// at the fixed point as a function of the parameters (for finite differences).
import type { FeedbackSNN } from '../../models/vision/feedback.js';
import { resetAmountOf } from '../../models/vision/feedback.js';
import { tf } from '../../src/tf.js';

export type Mat = number[][];
/** Parameter values by public name, flat row-major, with their shapes. */
export type ParamValues = Map<string, { shape: number[]; data: Float64Array }>;

export function readParams(net: FeedbackSNN): ParamValues {
  const out: ParamValues = new Map();
  for (const [name, v] of net.namedParameters()) {
    out.set(name, { shape: [...v.shape], data: Float64Array.from(v.dataSync()) });
  }
  return out;
}

function mat(p: ParamValues, name: string): Mat {
  const e = p.get(name);
  if (!e) throw new Error(`missing ${name}`);
  const [r, c] = e.shape;
  return Array.from({ length: r }, (_, i) => Array.from(e.data.subarray(i * c, (i + 1) * c)));
}

function vec(p: ParamValues, name: string): number[] | null {
  const e = p.get(name);
  return e ? Array.from(e.data) : null;
}

/** rows [B, in] times W^T ([out, in]) plus bias. */
export function affine(x: Mat, w: Mat, b: number[] | null): Mat {
  return x.map((row) => w.map((wr, o) => wr.reduce((s, wi, i) => s + wi * row[i], b ? b[o] : 0)));
}

/** The effective weights of the loop, as the model builds them (spectral norm with stored u, v). */
export interface RefWeights {
  c: number;
  F: Mat;
  Fb: number[] | null;
  layers: { w: Mat; b: number[] | null }[];
  fb: Mat;
  R: Mat;
  Rb: number[] | null;
}

export function refWeights(net: FeedbackSNN, p: ParamValues = readParams(net)): RefWeights {
  const L = net.layerSizes.length;
  let fb = mat(p, 'feedback.weight');
  const g = vec(p, 'feedback_scale');
  if (g) {
    const u = vec(p, 'feedback_u') as number[];
    const v = vec(p, 'feedback_v') as number[];
    let sigma = 0;
    fb.forEach((r, i) => r.forEach((w, j) => (sigma += u[i] * w * v[j])));
    const s = Math.min(1, Math.max(-1, g[0])) / sigma;
    fb = fb.map((r) => r.map((w) => w * s));
  }
  return {
    c: net.rateScale,
    F: mat(p, 'input.weight'),
    Fb: vec(p, 'input.bias'),
    layers: Array.from({ length: L - 1 }, (_, i) => ({
      w: mat(p, `layers.${i}.weight`),
      b: vec(p, `layers.${i}.bias`),
    })),
    fb,
    R: mat(p, 'readout.weight'),
    Rb: vec(p, 'readout.bias'),
  };
}

const clamp01 = (z: number): number => Math.min(1, Math.max(0, z));

/** f(a) per layer. */
export function refEquilibrium(w: RefWeights, cur: Mat, a: Mat[]): Mat[] {
  const L = a.length;
  const out: Mat[] = [];
  const fbIn = affine(a[L - 1], w.fb, null);
  out.push(cur.map((r, bi) => r.map((v, j) => clamp01(w.c * (v + fbIn[bi][j])))));
  for (let l = 1; l < L; l++) {
    const z = affine(a[l - 1], w.layers[l - 1].w, w.layers[l - 1].b);
    out.push(z.map((r) => r.map((v) => clamp01(w.c * v))));
  }
  return out;
}

export function refFixedPoint(
  w: RefWeights,
  cur: Mat,
  sizes: readonly number[],
  iters: number,
): Mat[] {
  let a: Mat[] = sizes.map((n) => cur.map(() => new Array<number>(n).fill(0)));
  for (let i = 0; i < iters; i++) a = refEquilibrium(w, cur, a);
  return a;
}

/** The spiking loop (same step order as the model: layer 1 sees the last layer's previous spikes). */
export function refSimulate(
  w: RefWeights,
  cur: Mat,
  sizes: readonly number[],
  T: number,
  neuron: { vth: number; amount: number; leak: number },
): { rates: Mat[]; potentials: number[] } {
  const L = sizes.length;
  const B = cur.length;
  const v = sizes.map((n) => Array.from({ length: B }, () => new Array<number>(n).fill(0)));
  let s = sizes.map((n) => Array.from({ length: B }, () => new Array<number>(n).fill(0)));
  const sums = sizes.map((n) => Array.from({ length: B }, () => new Array<number>(n).fill(0)));
  const potentials: number[] = [];
  let norm = 0;
  for (let t = 0; t < T; t++) {
    const ns: Mat[] = [];
    for (let l = 0; l < L; l++) {
      let inp: Mat;
      if (l === 0) {
        const fbIn = affine(s[L - 1], w.fb, null);
        inp = cur.map((r, bi) => r.map((x, j) => x + fbIn[bi][j]));
      } else {
        inp = affine(ns[l - 1], w.layers[l - 1].w, w.layers[l - 1].b);
      }
      const sl = inp.map((r, bi) =>
        r.map((x, j) => {
          const h = neuron.leak * v[l][bi][j] + x;
          const spike = h >= neuron.vth ? 1 : 0;
          v[l][bi][j] = h - neuron.amount * spike;
          if (spike) potentials.push(v[l][bi][j]);
          return spike;
        }),
      );
      ns.push(sl);
    }
    s = ns;
    for (let l = 0; l < L; l++)
      for (let bi = 0; bi < B; bi++)
        for (let j = 0; j < sizes[l]; j++)
          sums[l][bi][j] = neuron.leak * sums[l][bi][j] + s[l][bi][j];
    norm = neuron.leak * norm + 1;
  }
  return { rates: sums.map((m) => m.map((r) => r.map((x) => x / norm))), potentials };
}

export function refNeuron(net: FeedbackSNN): { vth: number; amount: number; leak: number } {
  const c = net.config;
  return { vth: c.v_threshold, amount: resetAmountOf(c), leak: c.neuron === 'lif' ? c.leak : 1 };
}

/** Mean softmax cross-entropy of logits against labels. */
export function refCrossEntropy(logits: Mat, labels: number[]): number {
  let s = 0;
  logits.forEach((r, i) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((a, z) => a + Math.exp(z - m), 0));
    s += lse - r[labels[i]];
  });
  return s / logits.length;
}

/** Loss at the ANN fixed point (no input BN) for parameter values p. */
export function refEquilibriumLoss(
  net: FeedbackSNN,
  p: ParamValues,
  x: Mat,
  labels: number[],
  iters = 500,
): number {
  const w = refWeights(net, p);
  const cur = affine(x, w.F, w.Fb);
  const a = refFixedPoint(w, cur, net.layerSizes, iters);
  return refCrossEntropy(affine(a[a.length - 1], w.R, w.Rb), labels);
}

/** Central finite differences of `loss` w.r.t. every trainable parameter element. */
export function finiteDifferences(
  p: ParamValues,
  trainable: readonly string[],
  loss: (p: ParamValues) => number,
  h = 1e-5,
): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const name of trainable) {
    const e = p.get(name) as { shape: number[]; data: Float64Array };
    const g = new Float64Array(e.data.length);
    for (let i = 0; i < e.data.length; i++) {
      const keep = e.data[i];
      e.data[i] = keep + h;
      const up = loss(p);
      e.data[i] = keep - h;
      const down = loss(p);
      e.data[i] = keep;
      g[i] = (up - down) / (2 * h);
    }
    out.set(name, g);
  }
  return out;
}

/** A seeded standard-normal matrix as nested arrays (for inputs). */
export function randn(rows: number, cols: number, seed: number, scale = 1): Mat {
  const t = tf.randomNormal([rows, cols], 0, scale, 'float32', seed);
  const d = t.arraySync() as Mat;
  t.dispose();
  return d;
}

/** Largest singular value of a matrix by power iteration on W^T W. */
export function sigmaMax(w: Mat, iters = 300): number {
  const n = w[0].length;
  let v = Array.from({ length: n }, (_, i) => 1 + 0.1 * i);
  let s = 0;
  for (let k = 0; k < iters; k++) {
    const wv = w.map((r) => r.reduce((a, x, j) => a + x * v[j], 0));
    const wtwv = v.map((_, j) => w.reduce((a, r, i) => a + r[j] * wv[i], 0));
    const nrm = Math.sqrt(wtwv.reduce((a, x) => a + x * x, 0));
    v = wtwv.map((x) => x / nrm);
    s = Math.sqrt(nrm);
  }
  return s;
}
