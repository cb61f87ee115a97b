// Gradients of deep spiking students at initialisation (student-block.ts `normedProjection`
// and `qkvNormGain`). A token whose input neuron site is silent gives a zero row to the
// per-token norm after the projection; with an absolute ε of 1e-5 that norm's Jacobian is
// 1/sqrt(ε) ≈ 316, and with most mixer/MLP rows silent at initialisation every block
// multiplied the gradient reaching its input by 20-40 — about 1e8 at the embedding of a
// 5-layer BiSpikCLM, so under the global norm clip no block learned. Here: the global
// gradient norm of a fresh 5-layer student stays O(1), the embedding's gradient is not
// orders of magnitude above the head's, and a silent row's gradient through the norm is
// bounded by the weight scale (hand-computed).
import { beforeAll, describe, expect, it } from 'vitest';
import type { SpikingCausalLM } from '../../models/index.js';
import { normedProjection } from '../../models/student-block.js';
import { tf } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { ids, row, tinyStudent } from './student-helpers.js';

const DEEP = { num_hidden_layers: 5, max_position_embeddings: 16 };

/** Per-parameter gradient norms of the next-token cross-entropy on fixed rows. */
function gradNorms(m: SpikingCausalLM): Map<string, number> {
  const rows = Array.from({ length: 4 }, (_, b) => row(17, b + 1));
  const x = ids(rows.map((r) => r.slice(0, 16)));
  const y = ids(rows.map((r) => r.slice(1)));
  const named = m.namedParameters().filter(([, v]) => v.trainable);
  const V = m.config.vocab_size;
  const { value, grads } = tf.variableGrads(
    () => {
      const logits = m.forward(x).logits; // [B, N, V]
      const target = tf.oneHot(tf.reshape(y, [-1]), V);
      return tf.losses.softmaxCrossEntropy(target, tf.reshape(logits, [-1, V])) as tf.Scalar;
    },
    named.map(([, v]) => v),
  );
  const out = new Map<string, number>();
  for (const [n, v] of named)
    out.set(
      n,
      tf.tidy(() => tf.norm(grads[v.name]).dataSync()[0]),
    );
  tf.dispose([x, y, value, ...Object.values(grads)]);
  return out;
}

const CASES: [string, 'bispikclm' | 'wd-spikingformer', Record<string, unknown>][] = [
  ['BiSpikCLM (sfsa, lif, binary)', 'bispikclm', {}],
  ['BiSpikCLM (sfsa, lif, float)', 'bispikclm', { weight_precision: 'float' }],
  ['BiSpikCLM (sfsa, ilif, binary)', 'bispikclm', { neuron: 'ilif' }],
  ['WD-Spikingformer (cwssa, lif)', 'wd-spikingformer', {}],
];

describe('deep spiking students: gradients at initialisation', () => {
  beforeAll(setupBackend);

  for (const [name, type, over] of CASES) {
    it(`${name}, 5 layers: the gradient norm stays O(1), embedding not above the head`, () => {
      const m = tinyStudent<SpikingCausalLM>(type, { ...DEEP, ...over }, 3);
      const g = gradNorms(m);
      m.dispose();
      const total = Math.sqrt([...g.values()].reduce((s, v) => s + v * v, 0));
      expect(Number.isFinite(total)).toBe(true);
      expect(total).toBeLessThan(100);
      expect(g.get('embed.weight') ?? Infinity).toBeLessThan(100 * (g.get('lm_head.weight') ?? 0));
    });
  }

  it('a silent row passes gradient 1/σ per unit through the norm, not 1/sqrt(ε)', () => {
    // One block, one token whose MLP hidden neuron never fires: force it by a zero input.
    const m = tinyStudent<SpikingCausalLM>('bispikclm', { num_hidden_layers: 1 }, 3);
    const mlp = m.layers[0].mlp;
    const D = m.config.hidden_size;
    const I = m.config.intermediate_size;
    const s2 = tf.zeros([2, 1, 1, I]); // [T, B, N, I] silent hidden spikes
    const probe = tf.randomNormal([2, 1, 1, D], 0, 1, 'float32', 5); // upstream gradient
    // d/ds2 of <probe, Norm(s2 W'ᵀ / σ)> at s2 = 0 equals (γ ⊙ probe) W' / (σ sqrt(ε)):
    // with ε = 1 (the default) and γ = 1 that is probe W' / σ, entries of size ~sqrt(D).
    const eps = m.config.norm_eps;
    expect(eps).toBe(1);
    const grad = tf.grad((s: tf.Tensor) => {
      const inp = { s, scale: null };
      const y = normedProjection(mlp.downNorm, mlp.down, inp, m.coding, null); // [2, 1, 1, D]
      return tf.sum(tf.mul(y, probe));
    })(s2);
    const expected = tf.tidy(() => {
      const w = mlp.down.effectiveWeight(); // [D, I]
      const sigma = tf.sqrt(tf.mean(tf.square(w)));
      return tf.div(tf.matMul(tf.reshape(probe, [-1, D]), w), tf.mul(sigma, Math.sqrt(eps)));
    });
    const got = Array.from(grad.dataSync());
    const want = Array.from(expected.dataSync());
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 3);
    expect(Math.max(...got.map(Math.abs))).toBeLessThan(4 * Math.sqrt(D));
    tf.dispose([s2, probe, grad, expected]);
    m.dispose();
  });
});
