// Adaptive Spiking Neuron (ASN; arXiv 2604.12365, Zhou et al. 2026) as specified in
// methods-language.md 2(b)-(d). The paper's text and code were unavailable: every
// equation and default here is the doc's [P] design built on SpikeYOLO's I-LIF, i.e.
// OUR proposal, not the paper's. Per channel (last axis): leak lambda = sigmoid(a),
// step theta = softplus(b) + 1e-3, integer counts n in {0..D}, output y = theta * n.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkFinite, checkPositiveInt } from '../errors.js';
import { checkSequence, unstackTime } from './functional.js';
import { detach } from './reset.js';

/** Floor added to softplus(b) so theta stays positive [P]. */
export const ASN_THETA_FLOOR = 1e-3;

/** ASN parameters. `a`, `b`: `[C]` (per channel) or scalar, usually tf.Variables. */
export interface ASNParams {
  a: Tensor;
  b: Tensor;
  /** Integer cap D (default 4, I-LIF's). */
  maxCount: number;
  /** Adaptive threshold `theta_t = theta (1 + gamma n_{t-1}/D)`; 0 = off (default) [P]. */
  gamma: number;
  /** Scale of theta's LSQ gradient: `'lsq'` = `1/sqrt(numel * D)` per step [P], or a number. */
  gradScale: number | 'lsq';
}

/** Options of `createASNParams`. Defaults are [P]: lambda 0.25 and D 4 (I-LIF), theta 1. */
export interface ASNOptions {
  lambdaInit?: number;
  thetaInit?: number;
  maxCount?: number;
  gamma?: number;
  gradScale?: number | 'lsq';
  /** Variable name prefix, e.g. `layers.0.mlp.asn` (names become `<prefix>.a`, `<prefix>.b`). */
  name?: string;
}

/** ASN state: last membrane `u`, last counts `n` (detached) and the last reset amount `theta n`. */
export interface ASNState {
  u: Tensor;
  n: Tensor;
  reset: Tensor;
}

/** Check ASN options, throwing ConfigError naming the config field (`decay_init`, ...). */
export function validateASNOptions(o: ASNOptions): void {
  const lambda0 = o.lambdaInit ?? 0.25;
  const theta0 = o.thetaInit ?? 1;
  checkFinite(lambda0, 'decay_init');
  checkFinite(theta0, 'threshold_init');
  if (!(lambda0 > 0 && lambda0 < 1)) {
    throw new ConfigError(`decay_init must be in (0, 1), got ${lambda0}`);
  }
  if (!(theta0 > ASN_THETA_FLOOR)) {
    throw new ConfigError(`threshold_init must be > ${ASN_THETA_FLOOR}, got ${theta0}`);
  }
  checkPositiveInt(o.maxCount ?? 4, 'max_count');
  const gamma = o.gamma ?? 0;
  checkFinite(gamma, 'adaptive_gamma');
  if (gamma < 0) throw new ConfigError(`adaptive_gamma must be >= 0, got ${gamma}`);
  const gs = o.gradScale ?? 'lsq';
  if (gs !== 'lsq') {
    checkFinite(gs, 'theta_grad_scale');
    if (gs <= 0) throw new ConfigError(`theta_grad_scale must be > 0, got ${gs}`);
  }
}

/** Create trainable ASN parameters for `channels` channels (`a`, `b` as `[C]` variables). */
export function createASNParams(channels: number, o: ASNOptions = {}): ASNParams {
  checkPositiveInt(channels, 'channels');
  validateASNOptions(o);
  const lambda0 = o.lambdaInit ?? 0.25;
  const theta0 = o.thetaInit ?? 1;
  const a0 = Math.log(lambda0 / (1 - lambda0)); // sigmoid^-1
  const b0 = Math.log(Math.expm1(theta0 - ASN_THETA_FLOOR)); // softplus^-1
  const a = tf.variable(tf.fill([channels], a0), true, o.name ? `${o.name}.a` : undefined);
  const b = tf.variable(tf.fill([channels], b0), true, o.name ? `${o.name}.b` : undefined);
  return { a, b, maxCount: o.maxCount ?? 4, gamma: o.gamma ?? 0, gradScale: o.gradScale ?? 'lsq' };
}

/** Leak `lambda = sigmoid(a)`, shape of `a`. */
export function asnLambda(p: ASNParams): Tensor {
  return tf.sigmoid(p.a);
}

/** Step `theta = softplus(b) + 1e-3`, shape of `b`. */
export function asnTheta(p: ASNParams): Tensor {
  return tf.add(tf.softplus(p.b), ASN_THETA_FLOOR);
}

/** Sum a broadcast gradient back to `shape` (the shape of the input that was broadcast). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(axes.length ? tf.sum(g, axes) : g, [...shape]);
}

/**
 * Counts `n = clip(round(u/theta), 0, D)` with the ASN training rule [P]:
 * `dn/du = 1/theta` inside `[-0.5 theta, (D + 0.5) theta]`, else 0; and `dn/dtheta`
 * chosen so that `y = theta n` gets the LSQ gradient `dy/dtheta = s * G`, with
 * `G = n - u/theta` inside, 0 below, D above, and `s = gradScale`.
 * u: `[B, ..., C]`; theta broadcasts to u (`[C]`, scalar or `[B, ..., C]`).
 */
export function asnQuantize(u: Tensor, theta: Tensor, maxCount: number, gradScale: number): Tensor {
  return tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [x, th, save] = args as [Tensor, Tensor, tf.GradSaveFunc];
    const r = tf.div(x, th); // [B, ..., C]
    const n = tf.round(tf.clipByValue(r, 0, maxCount)); // [B, ..., C], = clip(round(r)), never -0
    save([r, n, th]);
    return {
      value: n,
      gradFunc: (dy: Tensor, [rs, ns, ths]: Tensor[]) => {
        const inside = tf.logicalAnd(tf.greaterEqual(rs, -0.5), tf.lessEqual(rs, maxCount + 0.5));
        const above = tf.cast(tf.greater(rs, maxCount + 0.5), 'float32');
        const G = tf.where(inside, tf.sub(ns, rs), tf.mul(above, maxCount)); // [B, ..., C]
        const du = tf.div(tf.mul(dy, tf.cast(inside, 'float32')), ths);
        const dTh = tf.div(tf.mul(dy, tf.sub(tf.mul(G, gradScale), ns)), ths);
        return [du, sumToShape(dTh, ths.shape)];
      },
    };
  })(u, theta);
}

/** A fresh ASN state of shape `[B, ..., C]` (all zeros, so that `u_0 = x_0`). */
export function initialASNState(shape: readonly number[]): ASNState {
  return { u: tf.zeros([...shape]), n: tf.zeros([...shape]), reset: tf.zeros([...shape]) };
}

function checkChannels(p: ASNParams, shape: readonly number[]): void {
  const c = shape[shape.length - 1];
  for (const [name, t] of [
    ['a', p.a],
    ['b', p.b],
  ] as const) {
    if (t.rank > 1 || (t.rank === 1 && t.shape[0] !== c)) {
      throw new ShapeError(
        `ASN parameter ${name} must be a scalar or [${c}] (the last input axis), got [${t.shape.join(', ')}]`,
      );
    }
  }
}

/**
 * One ASN step: `u_t = lambda (u_{t-1} - theta_{t-1} n_{t-1}) + x_t` (n detached),
 * `n_t = clip(round(u_t/theta_t), 0, D)`, `y_t = theta_t n_t`. x: `[B, ..., C]`.
 */
export function asnStep(
  x: Tensor,
  state: ASNState,
  p: ASNParams,
): { y: Tensor; counts: Tensor; state: ASNState } {
  checkChannels(p, x.shape);
  return tf.tidy(() => {
    const lambda = asnLambda(p); // [C]
    let theta = asnTheta(p); // [C]
    if (p.gamma !== 0) theta = tf.mul(theta, tf.add(1, tf.mul(state.n, p.gamma / p.maxCount))); // [B, ..., C]
    const u = tf.add(tf.mul(lambda, tf.sub(state.u, state.reset)), x); // [B, ..., C]
    const scale = p.gradScale === 'lsq' ? 1 / Math.sqrt(u.size * p.maxCount) : p.gradScale;
    const n = asnQuantize(u, theta, p.maxCount, scale); // [B, ..., C]
    const y = tf.mul(theta, n); // [B, ..., C]
    const nd = detach(n);
    return { y, counts: n, state: { u, n: nd, reset: tf.mul(theta, nd) } };
  });
}

/** Run ASN over `xSeq: [T, B, ..., C]`: outputs y and counts `[T, B, ..., C]`, membranes, final state. */
export function asnMultiStep(
  xSeq: Tensor,
  p: ASNParams,
  state?: ASNState,
): { y: Tensor; counts: Tensor; uSeq: Tensor; state: ASNState } {
  checkSequence(xSeq);
  checkChannels(p, xSeq.shape);
  const out = tf.tidy(() => {
    let st = state ?? initialASNState(xSeq.shape.slice(1));
    const ys: Tensor[] = [];
    const ns: Tensor[] = [];
    const us: Tensor[] = [];
    for (const x of unstackTime(xSeq)) {
      const r = asnStep(x, st, p);
      ys.push(r.y);
      ns.push(r.counts);
      us.push(r.state.u);
      st = r.state;
    }
    return [tf.stack(ys), tf.stack(ns), tf.stack(us), st.u, st.n, st.reset];
  });
  return {
    y: out[0],
    counts: out[1],
    uSeq: out[2],
    state: { u: out[3], n: out[4], reset: out[5] },
  };
}

/**
 * Spike inference: fold theta into the consumer's weight, `W' = diag(theta) W`, so that
 * `n W' == y W`. theta: `[C]`; weight: `[C, out]` (row-vector convention `y W`).
 */
export function foldThetaIntoWeight(theta: Tensor, weight: Tensor): Tensor {
  if (weight.rank !== 2 || theta.rank !== 1 || theta.shape[0] !== weight.shape[0]) {
    throw new ShapeError(
      `foldThetaIntoWeight needs theta [C] and weight [C, out], got [${theta.shape.join(', ')}] and [${weight.shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => tf.mul(tf.reshape(theta, [-1, 1]), weight)); // [C, out]
}

/** Optional firing-rate penalty `rho * mean(n) / D` (default rho = 0 [P]); counts: any shape. */
export function asnRatePenalty(counts: Tensor, maxCount: number, rho: number): Tensor {
  return tf.tidy(() => tf.mul(tf.mean(counts), rho / maxCount));
}
