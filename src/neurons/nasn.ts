// Normalized ASN (NASN; arXiv 2604.12365) as specified in methods-language.md 2(b):
// normalise the input current, then run ASN. The paper's equations were unavailable;
// both variants are the doc's [P] designs: BatchNorm-style running statistics that
// fold into the preceding linear layer (encoders, vision), and RMSNorm-style
// per-token statistics over channels (causal LMs, no future leakage).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkFinite } from '../errors.js';
import { asnMultiStep } from './asn.js';
import type { ASNParams, ASNState } from './asn.js';

/** Running per-channel statistics of the BatchNorm-style NASN, `[C]` each. */
export interface RunningStats {
  mean: Tensor;
  variance: Tensor;
}

/** BatchNorm-style NASN normalisation: affine `gamma`, `beta` `[C]`; defaults eps 1e-5, momentum 0.1 [P]. */
export interface NASNBatchNorm {
  kind: 'batch';
  gamma: Tensor;
  beta: Tensor;
  running: RunningStats;
  eps: number;
  momentum: number;
}

/** RMS-style NASN normalisation: per-token over channels, gain `gamma` `[C]`, eps 1e-5 [P]. */
export interface NASNRMSNorm {
  kind: 'rms';
  gamma: Tensor;
  eps: number;
}

/** Either NASN normalisation. */
export type NASNNorm = NASNBatchNorm | NASNRMSNorm;

/** Check NASN normalisation options (`norm_eps` >= 0, `norm_momentum` in [0, 1]). */
export function validateNormOptions(eps: number, momentum: number): void {
  checkFinite(eps, 'norm_eps');
  if (eps < 0) throw new ConfigError(`norm_eps must be >= 0, got ${eps}`);
  checkFinite(momentum, 'norm_momentum');
  if (momentum < 0 || momentum > 1) {
    throw new ConfigError(`norm_momentum must be in [0, 1], got ${momentum}`);
  }
}

/** Create a NASN normalisation for `channels` channels (gamma = 1, beta = 0, running mean 0, var 1). */
export function createNASNNorm(
  kind: 'batch' | 'rms',
  channels: number,
  o: { eps?: number; momentum?: number; name?: string } = {},
): NASNNorm {
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  validateNormOptions(eps, momentum);
  const name = (s: string): string | undefined => (o.name ? `${o.name}.${s}` : undefined);
  const gamma = tf.variable(tf.ones([channels]), true, name('gamma'));
  if (kind === 'rms') return { kind, gamma, eps };
  const beta = tf.variable(tf.zeros([channels]), true, name('beta'));
  return {
    kind,
    gamma,
    beta,
    eps,
    momentum,
    running: { mean: tf.zeros([channels]), variance: tf.ones([channels]) },
  };
}

/**
 * BatchNorm-style normalisation over every axis but the last. In training mode it uses
 * the batch statistics and returns updated running statistics (PyTorch convention:
 * biased variance to normalise, unbiased variance in the running average); in eval mode
 * it uses the running statistics and returns them unchanged. x: `[..., C]`.
 */
export function nasnBatchNorm(
  x: Tensor,
  norm: NASNBatchNorm,
  training: boolean,
): { out: Tensor; running: RunningStats } {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const r = tf.tidy(() => {
    let mean = norm.running.mean; // [C]
    let variance = norm.running.variance; // [C]
    let running = norm.running;
    if (training) {
      const m = tf.moments(x, axes); // [C] each
      mean = m.mean;
      variance = m.variance;
      const count = x.size / x.shape[x.rank - 1];
      const unbiased = tf.mul(variance, count > 1 ? count / (count - 1) : 1);
      const k = norm.momentum;
      running = {
        mean: tf.add(tf.mul(norm.running.mean, 1 - k), tf.mul(mean, k)),
        variance: tf.add(tf.mul(norm.running.variance, 1 - k), tf.mul(unbiased, k)),
      };
    }
    const scale = tf.mul(norm.gamma, tf.rsqrt(tf.add(variance, norm.eps))); // [C]
    const out = tf.add(tf.mul(tf.sub(x, mean), scale), norm.beta); // [..., C]
    return [out, running.mean, running.variance];
  });
  return { out: r[0], running: { mean: r[1], variance: r[2] } };
}

/** RMS-style normalisation per token: `gamma x / sqrt(mean_c(x^2) + eps)`. x: `[..., C]`. */
export function nasnRMSNorm(x: Tensor, norm: NASNRMSNorm): Tensor {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, norm.eps))), norm.gamma); // [..., C]
  });
}

/**
 * Fold eval-mode BatchNorm-style NASN into the preceding linear layer `x = h W + bias`:
 * returns `W' = W diag(s)`, `bias' = (bias - mu) s + beta` with `s = gamma / sqrt(var + eps)`,
 * so that `h W' + bias'` equals the normalised current. weight: `[in, C]`, bias: `[C]` or null.
 */
export function foldBatchNormIntoLinear(
  weight: Tensor,
  bias: Tensor | null,
  norm: NASNBatchNorm,
): { weight: Tensor; bias: Tensor } {
  const c = norm.gamma.shape[0];
  if (weight.rank !== 2 || weight.shape[1] !== c) {
    throw new ShapeError(`weight must be [in, ${c}], got [${weight.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const s = tf.mul(norm.gamma, tf.rsqrt(tf.add(norm.running.variance, norm.eps))); // [C]
    const b0 = bias ?? tf.zeros([c]);
    return {
      weight: tf.mul(weight, s), // [in, C]
      bias: tf.add(tf.mul(tf.sub(b0, norm.running.mean), s), norm.beta), // [C]
    };
  });
}

/**
 * NASN over `xSeq: [T, B, ..., C]`: normalise the current, then run ASN. Returns ASN's
 * outputs plus, for the BatchNorm variant, the running statistics: new tensors in training
 * mode (the caller stores them), the norm's own tensors in eval mode.
 */
export function nasnMultiStep(
  xSeq: Tensor,
  norm: NASNNorm,
  asn: ASNParams,
  o: { training?: boolean; state?: ASNState } = {},
): ReturnType<typeof asnMultiStep> & { running?: RunningStats } {
  if (norm.kind === 'rms') {
    const xn = nasnRMSNorm(xSeq, norm); // [T, B, ..., C]
    const r = asnMultiStep(xn, asn, o.state);
    xn.dispose();
    return r;
  }
  const { out, running } = nasnBatchNorm(xSeq, norm, o.training ?? false);
  const r = asnMultiStep(out, asn, o.state);
  out.dispose();
  return { ...r, running };
}
