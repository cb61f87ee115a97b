// Fused multi-step IF/LIF kernel: the whole T loop as ONE tf.customGrad whose
// forward and BPTT backward are plain loops over Float32Arrays (the idea of
// SpikingJelly's cupy/triton multi-step kernels, written anew for the CPU). The
// op-by-op path in functional.ts is the reference; tests prove the two equal.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError } from '../errors.js';
import { chargeCoefficients } from './lif.js';
import { activeRecorder } from '../energy/recorder.js';
import type { LIFParams } from './types.js';

const f32 = Math.fround;

/** Whether the fused kernel can run these parameters (it needs a fixed numeric threshold). */
export function canFuse(p: LIFParams): boolean {
  return typeof p.vThreshold === 'number';
}

/** Outputs of the fused kernel. */
export interface FusedResult {
  spikes: Tensor; // [T, B, ...]
  vSeq?: Tensor; // [T, B, ...]
  vLast: Tensor; // [B, ...]
}

/** Loop-invariant settings of one fused call (coefficients already rounded to float32). */
interface Plan {
  T: number;
  M: number;
  lam: number;
  gain: number;
  bias: number;
  thr: number;
  hard: boolean;
  vr: number;
  amount: number;
  smooth: boolean;
  detachReset: boolean;
  detachState: boolean;
  returnV: boolean;
  primitive: (x: number) => number;
}

/**
 * Forward over T steps, mirroring `lifStep`'s float32 operation order. Writes H per step
 * (kept for the backward) and the packed output `[spikes; vSeq]` or `[spikes; vLast]`.
 */
function forwardLoop(
  p: Plan,
  x: Float32Array,
  v: Float32Array,
  hAll: Float32Array,
  out: Float32Array,
): void {
  const { T, M, lam, gain, bias, thr, hard, vr, amount, smooth, returnV } = p;
  for (let t = 0; t < T; t++) {
    const base = t * M;
    const vBase = (T + t) * M;
    for (let i = 0; i < M; i++) {
      const xi = x[base + i];
      let h = lam === 1 ? v[i] : f32(v[i] * lam);
      h = f32(h + (gain === 1 ? xi : f32(xi * gain)));
      if (bias !== 0) h = f32(h + bias);
      const u = f32(h - thr);
      const s = smooth ? f32(p.primitive(u)) : u >= 0 ? 1 : 0;
      let vn: number;
      if (hard) {
        vn = f32(h * f32(1 - s));
        if (vr !== 0) vn = f32(vn + f32(s * vr));
      } else {
        vn = f32(h - f32(s * amount));
      }
      v[i] = vn;
      hAll[base + i] = h;
      out[base + i] = s;
      if (returnV) out[vBase + i] = vn;
    }
  }
  if (!returnV) out.set(v, T * M);
}

/**
 * BPTT over T steps (float64 arithmetic). g: upstream gradient of the packed output;
 * psi: surrogate derivative at `H - V_th` per step. Writes dL/dX into dx and returns
 * dL/dV_0 in `carry`.
 */
function backwardLoop(
  p: Plan,
  g: Float32Array,
  hAll: Float32Array,
  sAll: Float32Array,
  psiAll: Float32Array,
  dx: Float32Array,
  carry: Float64Array,
): void {
  const { T, M, lam, gain, hard, vr, amount, detachReset, detachState, returnV } = p;
  for (let t = T - 1; t >= 0; t--) {
    const base = t * M;
    const vRow = returnV ? (T + t) * M : t === T - 1 ? T * M : -1;
    for (let i = 0; i < M; i++) {
      const s = sAll[base + i];
      const psi = psiAll[base + i];
      const dv = vRow >= 0 ? carry[i] + g[vRow + i] : carry[i];
      let dvdh: number;
      if (hard) dvdh = detachReset ? 1 - s : 1 - s + (vr - hAll[base + i]) * psi;
      else dvdh = detachReset ? 1 : 1 - amount * psi;
      const dh = g[base + i] * psi + dv * dvdh;
      dx[base + i] = gain * dh;
      carry[i] = detachState ? 0 : lam * dh;
    }
  }
}

/**
 * Run T IF/LIF steps as one kernel. xSeq: `[T, B, ...]`, v0: `[B, ...]`.
 * Gradients flow to xSeq and v0 (BPTT with the surrogate), from spikes, the
 * membrane sequence and the final membrane alike.
 *
 * NOTE: each forward operation is rounded to float32 in the same order as the op-by-op
 * path (`lifStep`), so spikes and membranes match it bit for bit; the surrogate
 * derivative is evaluated with the same tf ops as the op path (one vectorised call over
 * all steps), and the recurrence runs in float64.
 */
export function lifMultiStepFused(
  xSeq: Tensor,
  v0: Tensor,
  p: LIFParams,
  returnV: boolean,
): FusedResult {
  if (typeof p.vThreshold !== 'number') {
    throw new ConfigError('the fused kernel needs a fixed numeric v_threshold, got a tensor');
  }
  const [T, ...rest] = xSeq.shape;
  const M = rest.reduce((a, b) => a * b, 1);
  const rows = returnV ? 2 * T : T + 1;
  const k = chargeCoefficients(p.charge, p.vReset);
  const sg = p.surrogate;
  const plan: Plan = {
    T,
    M,
    lam: f32(k.lambda),
    gain: f32(k.gain),
    bias: f32(k.bias),
    thr: f32(p.vThreshold),
    hard: p.vReset !== null,
    vr: f32(p.vReset ?? 0),
    amount: f32(p.resetAmount ?? p.vThreshold),
    smooth: p.smooth,
    detachReset: p.detachReset,
    detachState: p.detachState,
    returnV,
    primitive: (u) => sg.primitiveAt(u),
  };

  const kernel = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const x = (args[0] as Tensor).dataSync() as Float32Array; // [T*M]
    const v = Float32Array.from((args[1] as Tensor).dataSync()); // [M], updated in place
    const hAll = new Float32Array(T * M); // H per step, kept for the backward
    const out = new Float32Array(rows * M); // [spikes; vSeq] or [spikes; vLast]
    const sAll = out.subarray(0, T * M); // the spikes, also read by the backward
    forwardLoop(plan, x, v, hAll, out);
    // Opt-in: a recorder that asks for membranes (training cost) sees H; nothing otherwise.
    activeRecorder()?.recordNeuron?.({
      charge: hAll,
      threshold: plan.thr,
      surrogate: sg,
      timeSteps: T,
    });

    const gradFunc = (dy: Tensor): Tensor[] => {
      const g = dy.dataSync() as Float32Array; // [rows*M]
      // NOTE: the tidy returns the tensor, not its data: tidy walks every element of a
      // returned typed array looking for tensors, which costs ~0.5 us per element.
      const psiT = tf.tidy(() => sg.grad(tf.sub(tf.tensor(hAll, [T * M], 'float32'), plan.thr)));
      const psi = psiT.dataSync() as Float32Array; // [T*M]
      psiT.dispose();
      const dx = new Float32Array(T * M);
      const carry = new Float64Array(M); // dL/dV_t arriving from step t+1; ends as dL/dV_0
      backwardLoop(plan, g, hAll, sAll, psi, dx, carry);
      return [
        tf.tensor(dx, xSeq.shape, 'float32'), // [T, B, ...]
        tf.tensor(Float32Array.from(carry), v0.shape, 'float32'), // [B, ...]
      ];
    };
    return { value: tf.tensor(out, [rows, ...rest], 'float32'), gradFunc };
  });

  return tf.tidy(() => {
    const packed = kernel(xSeq, v0); // [rows, B, ...]
    const spikes = tf.slice(packed, [0], [T]); // [T, B, ...]
    if (returnV) {
      const vSeq = tf.slice(packed, [T], [T]); // [T, B, ...]
      const vLast = tf.reshape(tf.slice(packed, [2 * T - 1], [1]), rest); // [B, ...]
      return { spikes, vSeq, vLast };
    }
    const vLast = tf.reshape(tf.slice(packed, [T], [1]), rest); // [B, ...]
    return { spikes, vLast };
  });
}
