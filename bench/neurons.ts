// Multi-step LIF forward+backward against ReLU in its place, at the shapes of
// shared/docs/performance.md: [T=4, B=32, N=4096] and [T=16, B=32, N=1024].
// One "step" is: run the layer over the whole [T, B, N] input, reduce with a
// fixed random weighting, and take the gradient with respect to the input
// (BPTT through T for LIF). ReLU, measured in the same run, is the baseline.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { lifMultiStep, makeLIFParams } from '../src/neurons/index.js';
import { round, time } from './timing.js';

/** SpikingJelly's figures on this kind of machine (performance.md; not measured in this run). */
const SPIKINGJELLY_MS: Record<string, { threads1: number; threads2: number }> = {
  '4x32x4096': { threads1: 17.2, threads2: 11.3 },
  '16x32x1024': { threads1: 39, threads2: 34 },
};

function fwdBwd(layer: (x: Tensor) => Tensor, x: Tensor, w: Tensor): void {
  tf.tidy(() => {
    const g = tf.grad((t: Tensor) => tf.sum(tf.mul(layer(t), w)))(x);
    g.dataSync();
  });
}

/** Time LIF (fused and op by op) and ReLU fwd+bwd at both shapes. */
export async function benchNeurons(reps: number): Promise<Record<string, unknown>> {
  const shapes: [number, number, number][] = [
    [4, 32, 4096],
    [16, 32, 1024],
  ];
  // SpikingJelly's LIFNode defaults: tau 2, decay_input, hard reset to 0, sigmoid(4).
  const params = makeLIFParams({ charge: { form: 'decay_input', tau: 2 } });
  const out: Record<string, unknown> = {};
  for (const [T, B, N] of shapes) {
    const x = tf.randomUniform([T, B, N], -0.5, 1.5, 'float32', 1);
    const w = tf.randomUniform([T, B, N], 0, 1, 'float32', 2);
    const fused = await time(
      () => fwdBwd((t) => lifMultiStep(t, params, { fused: true }).spikes, x, w),
      reps,
    );
    const opByOp = await time(
      () => fwdBwd((t) => lifMultiStep(t, params, { fused: false }).spikes, x, w),
      reps,
    );
    const relu = await time(() => fwdBwd((t) => tf.relu(t), x, w), reps);
    tf.dispose([x, w]);
    const key = `${T}x${B}x${N}`;
    const sj = SPIKINGJELLY_MS[key];
    out[key] = {
      shape: { T, B, N },
      lif_fused_ms: fused.median_ms,
      lif_op_by_op_ms: opByOp.median_ms,
      relu_ms: relu.median_ms,
      lif_fused_over_relu: round(fused.median_ms / relu.median_ms, 2),
      lif_op_by_op_over_relu: round(opByOp.median_ms / relu.median_ms, 2),
      lif_op_by_op_over_fused: round(opByOp.median_ms / fused.median_ms, 2),
      // Reference only: SpikingJelly (torch, 1 thread) measured on this machine kind, not in this run.
      spikingjelly_1thread_ms_reference: sj.threads1,
      lif_fused_over_spikingjelly_reference: round(fused.median_ms / sj.threads1, 2),
    };
  }
  return out;
}
