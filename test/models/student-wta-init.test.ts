// Initialisation of the WTA students' Q/K/V norms (`qkvNormGain`, models/student-block.ts):
// with LIF neurons the norms in front of the Q/K/V neurons start at gain τ, so that at
// initialisation most CWSSA/WSSA rows have a winner (a silent row passes no gradient to
// Q, K or V). Measured on the per-step maps of a fresh WD-Spikingformer of the
// associative-recall size (D 64, H 2, T 2) on random ids: with the [P] gain few rows are
// silent; with the norms reset to gain 1 most are — the failure this default removes.
import { beforeAll, describe, expect, it } from 'vitest';
import { qkvNormGain, studentPreset } from '../../models/index.js';
import type { SpikingCausalLM } from '../../models/index.js';
import { tf } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { ids, row, tinyStudent } from './student-helpers.js';

const SIZE = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, time_steps: 2 };

/** Fraction of (step, batch, head, query) rows of every layer's WTA map without a winner. */
function silentRows(m: SpikingCausalLM, rows: number[][]): number {
  const x = ids(rows);
  const out = m.forward(x, { outputSpikeMaps: true });
  const maps = out.spikeMaps ?? [];
  const frac = tf.tidy(() => {
    const silent = maps.map((a) => tf.mean(tf.cast(tf.equal(tf.sum(a, -1), 0), 'float32')));
    return tf.div(tf.addN(silent), maps.length);
  });
  const v = frac.dataSync()[0];
  tf.dispose([x, frac, out.logits, ...maps]);
  return v;
}

describe('WTA students: Q/K/V norm gain at initialisation', () => {
  beforeAll(setupBackend);

  it('τ for LIF under WSSA/CWSSA/SFSA, 1 for other neurons and mixers', () => {
    const gain = (type: 'wd-spikingformer' | 'bispikclm', over: Record<string, unknown>) => {
      const m = tinyStudent(type, over, 1);
      const g = qkvNormGain(m.config, m.parsed.neuron);
      const w = Array.from(m.layers[0].attn.qkv[1].norm.weight?.dataSync() ?? []);
      m.dispose();
      return { g, w: [...new Set(w)] };
    };
    expect(gain('wd-spikingformer', {})).toEqual({ g: 2, w: [2] });
    expect(gain('wd-spikingformer', { tau: 3 })).toEqual({ g: 3, w: [3] });
    expect(gain('wd-spikingformer', { neuron: 'asn', time_steps: 2 })).toEqual({ g: 1, w: [1] });
    expect(gain('wd-spikingformer', { attention_type: 'ssa' })).toEqual({ g: 1, w: [1] });
    expect(gain('bispikclm', {})).toEqual({ g: 2, w: [2] });
    expect(gain('bispikclm', { neuron: 'ilif' })).toEqual({ g: 1, w: [1] });
    // the out and MLP norms keep gain 1
    const m = tinyStudent('wd-spikingformer', {}, 1);
    expect([...new Set(m.layers[0].attn.oNorm.weight?.dataSync())]).toEqual([1]);
    m.dispose();
  });

  it('almost every CWSSA row has a winner at initialisation; with gain 1 most would not', () => {
    const rows = Array.from({ length: 4 }, (_, b) => row(16, b + 1));
    const m = tinyStudent('wd-spikingformer', { ...SIZE, max_position_embeddings: 16 }, 3);
    expect(studentPreset('wd-spikingformer', 'tiny', SIZE).tau).toBe(2);
    const withGain = silentRows(m, rows);
    tf.tidy(() => {
      for (const layer of m.layers)
        for (const p of layer.attn.qkv) p.norm.weight?.assign(tf.ones(p.norm.weight.shape));
    });
    const unitGain = silentRows(m, rows);
    m.dispose();
    expect(withGain).toBeLessThan(0.1);
    expect(unitGain).toBeGreaterThan(0.5);
  });
});
