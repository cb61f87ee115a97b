// IDE: implicit differentiation on the equilibrium of a feedback SNN (Xiao et al.,
// NeurIPS 2021, arXiv 2109.14247, github.com/pkuxmq/IDE-FSNN; methods-vision.md 6).
//
// Forward: simulate the SNN for T steps without a graph; the (weighted) average rates
// a[T] approximate the fixed point a* = f(a*, x). Backward: with J = df/da at a[T],
// solve (I - J^T) gamma = dL/da (Broyden [V code], or the damped fixed point
// gamma <- (gamma + J^T gamma + dL/da) / 2 [V code alternative]), then one
// vector-Jacobian product through f gives every parameter gradient:
// dL/dtheta = gamma . df(a, x; theta)/dtheta. Memory does not depend on T.
//
// Networks plug in through `EquilibriumNetwork` (models/vision/feedback.ts implements it).
// The solvers run in float64 on flat vectors; the products J^T v run in tf (float32).
import { tf } from '../tf.js';
import type { Scalar, Tensor, Variable } from '../tf.js';
import { ConfigError, checkFinite, checkPositiveInt } from '../errors.js';
import { valueAndGrads } from './gradients.js';

/** The operator `v -> J^T v` of the equilibrium map at fixed rates. */
export interface LinearizedEquilibrium {
  /** Per-layer derivative masks `1[0 < z_l < 1]`, when the network exposes them. */
  readonly masks?: readonly Tensor[];
  /** `J^T v`, one tensor per layer (new tensors, owned by the caller). */
  vjp(v: readonly Tensor[]): Tensor[];
  /** Free what the operator holds. */
  dispose(): void;
}

/**
 * A network whose average firing rates converge to the fixed point of a map `f`
 * (methods-vision.md 6(b), 7(b)). Rates are one `[B, n_l]` tensor per layer.
 */
export interface EquilibriumNetwork {
  /** Width `n_l` of every loop layer. */
  readonly layerSizes: readonly number[];
  /** Input current of the loop for a batch `x` (BN running statistics kept when `updateStats` is false). */
  inputCurrent(x: Tensor, updateStats?: boolean): Tensor;
  /** T spiking steps from rest without a graph: the average rate of every layer (caller owns them). */
  simulate(current: Tensor, timeSteps: number): Tensor[];
  /** `f(a)` per layer, differentiable w.r.t. the rates and the parameters. */
  equilibrium(current: Tensor, rates: readonly Tensor[]): Tensor[];
  /** A hand-written `J^T v` at the rates; when absent, autodiff of `equilibrium` is used. */
  linearize?(current: Tensor, rates: readonly Tensor[]): LinearizedEquilibrium;
  /** Logits from the rates. */
  readoutLogits(rates: readonly Tensor[]): Tensor;
  /** Parameters by public name (trainable ones receive gradients). */
  namedParameters(): [string, Variable][];
}

/** Backward solvers: Broyden's method [V code default] or the damped fixed point [V code alternative]. */
export const IMPLICIT_SOLVERS = ['broyden', 'fixed-point'] as const;
export type ImplicitSolver = (typeof IMPLICIT_SOLVERS)[number];

/** Options of the backward linear-system solve. */
export interface ImplicitSolveOptions {
  /** Default `broyden` [V]. */
  solver?: ImplicitSolver;
  /** Iteration limit. Default 30 [V]. */
  maxIter?: number;
  /** Stop when `||G(gamma)||_2 < tol`; default `2e-10 sqrt(dim)` [V]. */
  tol?: number;
}

/** Result of a backward solve. */
export interface ImplicitSolveResult {
  x: Float64Array;
  /** `||(I - J^T) x - rhs||_2 / ||rhs||_2` of the returned x (0 when rhs is 0). */
  relResidual: number;
  /** Products `J^T v` evaluated. */
  iterations: number;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm2(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function checkSolveOptions(o: ImplicitSolveOptions): {
  solver: ImplicitSolver;
  maxIter: number;
  tol: number | null;
} {
  const solver = o.solver ?? 'broyden';
  if (!IMPLICIT_SOLVERS.includes(solver)) {
    throw new ConfigError(
      `solver must be one of ${IMPLICIT_SOLVERS.join(', ')}, got ${JSON.stringify(solver)}`,
    );
  }
  const maxIter = o.maxIter ?? 30;
  checkPositiveInt(maxIter, 'maxIter');
  if (o.tol !== undefined) {
    checkFinite(o.tol, 'tol');
    if (o.tol < 0) throw new ConfigError(`tol must be >= 0, got ${o.tol}`);
  }
  return { solver, maxIter, tol: o.tol ?? null };
}

/**
 * Solve `(I - J^T) x = rhs` given the product `jt(v) = J^T v` on flat float64 vectors.
 * Broyden keeps a low-rank inverse-Jacobian estimate `B = -I + sum u_i v_i^T` of
 * `G(x) = J^T x - x + rhs` (good Broyden, full steps, the lowest-residual iterate
 * returned, as in the DEQ code IDE uses); the fixed point iterates
 * `x <- (x + J^T x + rhs) / 2`. Both start from x = 0.
 */
export function solveImplicit(
  jt: (v: Float64Array) => Float64Array,
  rhs: Float64Array,
  options: ImplicitSolveOptions = {},
): ImplicitSolveResult {
  const o = checkSolveOptions(options);
  const n = rhs.length;
  const tol = o.tol ?? 2e-10 * Math.sqrt(n);
  const rhsNorm = norm2(rhs);
  const G = (x: Float64Array): Float64Array => {
    const j = jt(x);
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) g[i] = j[i] - x[i] + rhs[i];
    return g;
  };
  let x: Float64Array = new Float64Array(n);
  let gx: Float64Array = Float64Array.from(rhs); // G(0)
  let best: { x: Float64Array; norm: number } = { x, norm: rhsNorm };
  let iterations = 0;
  const rel = (r: number): number => (rhsNorm === 0 ? 0 : r / rhsNorm);
  if (rhsNorm <= tol) return { x, relResidual: rel(rhsNorm), iterations };

  if (o.solver === 'fixed-point') {
    while (iterations < o.maxIter) {
      const xn = new Float64Array(n);
      for (let i = 0; i < n; i++) xn[i] = x[i] + 0.5 * gx[i];
      x = xn;
      gx = G(x);
      iterations++;
      const r = norm2(gx);
      if (r < best.norm) best = { x, norm: r };
      if (r < tol) break;
    }
    return { x: best.x, relResidual: rel(best.norm), iterations };
  }

  const us: Float64Array[] = [];
  const vs: Float64Array[] = [];
  // B y = -y + sum u_i (v_i . y);  y^T B = -y^T + sum (y . u_i) v_i^T
  const applyB = (y: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = -y[i];
    for (let k = 0; k < us.length; k++) {
      const c = dot(vs[k], y);
      const u = us[k];
      for (let i = 0; i < n; i++) out[i] += c * u[i];
    }
    return out;
  };
  const applyBT = (y: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = -y[i];
    for (let k = 0; k < us.length; k++) {
      const c = dot(us[k], y);
      const v = vs[k];
      for (let i = 0; i < n; i++) out[i] += c * v[i];
    }
    return out;
  };
  let update: Float64Array = applyB(gx).map((t) => -t); // -B G = G initially
  while (iterations < o.maxIter) {
    const xn = new Float64Array(n);
    for (let i = 0; i < n; i++) xn[i] = x[i] + update[i];
    const gn = G(xn);
    iterations++;
    const r = norm2(gn);
    if (r < best.norm) best = { x: xn, norm: r };
    if (r < tol) break;
    const dx = new Float64Array(n);
    const dg = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      dx[i] = xn[i] - x[i];
      dg[i] = gn[i] - gx[i];
    }
    const bdg = applyB(dg);
    const denom = dot(dx, bdg);
    x = xn;
    gx = gn;
    if (denom === 0 || !Number.isFinite(denom)) {
      update = applyB(gx).map((t) => -t);
      continue;
    }
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) u[i] = (dx[i] - bdg[i]) / denom;
    const vNew = applyBT(dx); // dx^T B with the old B
    us.push(u);
    vs.push(vNew);
    update = applyB(gx).map((t) => -t);
  }
  return { x: best.x, relResidual: rel(best.norm), iterations };
}

/** Flatten a list of tensors into one float64 vector (and back to their shapes). */
class FlatLayout {
  readonly shapes: number[][];
  readonly size: number;

  constructor(ts: readonly Tensor[]) {
    this.shapes = ts.map((t) => [...t.shape]);
    this.size = ts.reduce((s, t) => s + t.size, 0);
  }

  toFlat(ts: readonly Tensor[]): Float64Array {
    const out = new Float64Array(this.size);
    let o = 0;
    for (const t of ts) {
      out.set(t.dataSync(), o);
      o += t.size;
    }
    return out;
  }

  fromFlat(f: Float64Array): Tensor[] {
    let o = 0;
    return this.shapes.map((s) => {
      const n = s.reduce((a, b) => a * b, 1);
      const t = tf.tensor(Float32Array.from(f.subarray(o, o + n)), s, 'float32');
      o += n;
      return t;
    });
  }
}

/** `J^T v` by autodiff of `net.equilibrium` at the rates (the generic fallback of `linearize`). */
export function autodiffLinearization(
  net: EquilibriumNetwork,
  current: Tensor,
  rates: readonly Tensor[],
): LinearizedEquilibrium {
  return {
    vjp: (v) =>
      tf.tidy(() => {
        const f = (...as: Tensor[]): Tensor =>
          tf.addN(net.equilibrium(current, as).map((fl, l) => tf.sum(tf.mul(fl, v[l]))));
        return tf.grads(f)([...rates]);
      }),
    dispose: () => undefined,
  };
}

/** The network's `linearize`, or the autodiff fallback. */
export function linearizeEquilibrium(
  net: EquilibriumNetwork,
  current: Tensor,
  rates: readonly Tensor[],
): LinearizedEquilibrium {
  return net.linearize ? net.linearize(current, rates) : autodiffLinearization(net, current, rates);
}

/**
 * Solve `(I - J^T) gamma = rhs` with the tensor operator `lin`; rhs: one `[B, n_l]`
 * tensor per layer. Returns gamma (caller owns it) and the solve statistics.
 */
export function solveBackward(
  lin: LinearizedEquilibrium,
  rhs: readonly Tensor[],
  options: ImplicitSolveOptions = {},
): { gamma: Tensor[]; relResidual: number; iterations: number } {
  const layout = new FlatLayout(rhs);
  const jt = (v: Float64Array): Float64Array => {
    const vt = layout.fromFlat(v);
    const out = lin.vjp(vt);
    const f = layout.toFlat(out);
    tf.dispose([...vt, ...out]);
    return f;
  };
  const r = solveImplicit(jt, layout.toFlat(rhs), options);
  return { gamma: layout.fromFlat(r.x), relResidual: r.relResidual, iterations: r.iterations };
}

/**
 * The ANN equilibrium by plain iteration `a <- f(a)` from a = 0 (`iters` times), for
 * oracles and diagnostics. Caller owns the rates.
 */
export function fixedPointEquilibrium(
  net: EquilibriumNetwork,
  current: Tensor,
  iters: number,
): Tensor[] {
  checkPositiveInt(iters, 'iters');
  const b = current.shape[0];
  let a: Tensor[] = net.layerSizes.map((n) => tf.zeros([b, n]));
  for (let i = 0; i < iters; i++) {
    const next = tf.tidy(() => net.equilibrium(current, a));
    tf.dispose(a);
    a = next;
  }
  return a;
}

/** Fixed-point residual `max |a - f(a)|` over every layer (methods-vision.md 6(f) 1). */
export function equilibriumResidual(
  net: EquilibriumNetwork,
  current: Tensor,
  rates: readonly Tensor[],
): number {
  return tf.tidy(() => {
    const f = net.equilibrium(current, rates);
    const m = f.map((fl, l) => tf.max(tf.abs(tf.sub(fl, rates[l]))));
    return tf.max(tf.stack(m)).dataSync()[0];
  });
}

/** A loss on logits, e.g. `crossEntropyLoss(labels)`. */
export type LogitLoss = (logits: Tensor) => Scalar;

/** Mean softmax cross-entropy against integer labels `[B]`. */
export function crossEntropyLoss(labels: Tensor): LogitLoss {
  return (logits: Tensor): Scalar =>
    tf.tidy(() => {
      const k = logits.shape[logits.rank - 1];
      const onehot = tf.oneHot(tf.cast(labels, 'int32'), k); // [B, K]
      return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as Scalar;
    });
}

/** The loss at the rates and its gradient w.r.t. every layer's rate (zeros but the last). */
export function lossAndRateGradient(
  net: EquilibriumNetwork,
  rates: readonly Tensor[],
  loss: LogitLoss,
): { loss: number; dLda: Tensor[] } {
  const L = rates.length;
  const out = tf.tidy(() => {
    const f = (aL: Tensor): Scalar => loss(net.readoutLogits([...rates.slice(0, L - 1), aL]));
    const { value, grad } = tf.valueAndGrad(f)(rates[L - 1]);
    return [value, ...rates.slice(0, L - 1).map((r) => tf.zerosLike(r)), grad];
  });
  const value = out[0].dataSync()[0];
  out[0].dispose();
  return { loss: value, dLda: out.slice(1) };
}

/**
 * Every parameter gradient from the backward solution gamma: the readout by ordinary
 * gradient of the loss at the rates, the loop parameters by `gamma . df/dtheta` at
 * the (constant) rates. Recomputes the input current with `updateStats` (so a BN
 * updates its running statistics once per step). Caller owns the map.
 */
export function implicitParameterGradients(
  net: EquilibriumNetwork,
  x: Tensor,
  rates: readonly Tensor[],
  gamma: readonly Tensor[],
  loss: LogitLoss,
): Map<string, Tensor> {
  const { loss: total, grads } = valueAndGrads(() => {
    const cur = net.inputCurrent(x, true);
    const f = net.equilibrium(cur, rates);
    const terms = f.map((fl, l) => tf.sum(tf.mul(fl, gamma[l])));
    return tf.addN([loss(net.readoutLogits(rates)), ...terms]) as Scalar;
  }, net.namedParameters());
  total.dispose();
  return grads;
}

/** Options of `ideGradients`. */
export interface IDEOptions extends ImplicitSolveOptions {
  /** Forward spiking steps T (IDE code: 5 for F400, 30 for conv nets) [V]. */
  timeSteps: number;
}

/** What one IDE/SPIDE gradient evaluation returns (tensors owned by the caller). */
export interface EquilibriumGradients {
  /** Loss at the simulated rates. */
  loss: number;
  /** `[B, classes]` logits at the simulated rates. */
  logits: Tensor;
  /** Average firing rate of every loop layer, `[B, n_l]`. */
  rates: Tensor[];
  /** Gradients by public parameter name. */
  grads: Map<string, Tensor>;
  /** `max |a[T] - f(a[T])|`. */
  forwardResidual: number;
  /** Backward statistics: relative residual of the linear system and iterations (or steps). */
  backward: { relResidual: number; iterations: number };
}

/**
 * One IDE gradient evaluation: spiking forward for `timeSteps`, implicit backward.
 * Does not step an optimizer; pass `result.grads` to one and dispose the result's tensors.
 */
export function ideGradients(
  net: EquilibriumNetwork,
  x: Tensor,
  loss: LogitLoss,
  options: IDEOptions,
): EquilibriumGradients {
  checkPositiveInt(options.timeSteps, 'timeSteps');
  const current = tf.tidy(() => net.inputCurrent(x, false));
  const rates = net.simulate(current, options.timeSteps);
  const { loss: value, dLda } = lossAndRateGradient(net, rates, loss);
  const lin = linearizeEquilibrium(net, current, rates);
  const solved = solveBackward(lin, dLda, options);
  lin.dispose();
  const grads = implicitParameterGradients(net, x, rates, solved.gamma, loss);
  const forwardResidual = equilibriumResidual(net, current, rates);
  const logits = tf.tidy(() => net.readoutLogits(rates));
  tf.dispose([current, ...dLda, ...solved.gamma]);
  return {
    loss: value,
    logits,
    rates,
    grads,
    forwardResidual,
    backward: { relResidual: solved.relResidual, iterations: solved.iterations },
  };
}

/** Dispose every tensor of an `EquilibriumGradients`. */
export function disposeEquilibriumGradients(r: EquilibriumGradients): void {
  tf.dispose([r.logits, ...r.rates, ...r.grads.values()]);
}
