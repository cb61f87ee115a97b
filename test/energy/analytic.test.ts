// Analytic counts from shapes: the per-block FLOPs table and attention formulas of
// methods-language.md 6.1, the spiking Transformer layer table, and check 6.3(2):
// with fr = 1 and T = 1 every layer but the first costs E_AC / E_MAC of its ANN twin.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import {
  EnergyCounter,
  attentionMapEntries,
  conv2dFlops,
  estimateEnergy,
  lmHeadFlops,
  spikformerAttentionAcs,
  spikingTransformerTallies,
  tokenMapAttentionAcs,
  topkComparisons,
  transformerBlockFlops,
  withRecorder,
} from '../../src/energy/index.js';
import type { BlockRates, SpikingLMShape } from '../../src/energy/index.js';
import { setupBackend } from '../helpers.js';
import { denseWeights, toyKv, toyLinear } from './toy.js';

const RATIO = 0.9 / 4.6;
const ones: BlockRates = { attnIn: 1, q: 1, k: 1, v: 1, a: 1, attnOut: 1, mlpIn: 1, hidden: 1 };

describe('analytic FLOPs', () => {
  it('gives the per-block table for N = 128, D = 256, hidden = 4D', () => {
    const f = transformerBlockFlops(128, 256);
    const ND2 = 128 * 256 * 256;
    expect(f).toEqual({
      qkv: 3 * ND2,
      out: ND2,
      mlp_up: 4 * ND2,
      mlp_down: 4 * ND2,
      total: 12 * ND2,
    });
    expect(lmHeadFlops(128, 256, 4096)).toBe(128 * 256 * 4096);
    expect(
      conv2dFlops({ inChannels: 3, outChannels: 64, kernel: 3, outHeight: 224, outWidth: 224 }),
    ).toBe(86704128);
  });

  it('computes Spikingformer attention ACs with min (one-operand) or product (two-operand)', () => {
    const r = { T: 4, H: 8, N: 196, d: 64, frQ: 0.2, frK: 0.05, frV: 0.1 };
    const base = 4 * 8 * 196 * 64 * 64;
    expect(spikformerAttentionAcs(r)).toBeCloseTo(base * (0.05 + 0.2), 6);
    expect(spikformerAttentionAcs(r, 'two-operand')).toBeCloseTo(base * (0.05 * 0.1 + 0.2), 6);
  });

  it('computes token-map attention ACs over N(N+1)/2 entries when causal', () => {
    expect(attentionMapEntries(10, true)).toBe(55);
    expect(attentionMapEntries(10, false)).toBe(100);
    const r = { T: 2, H: 4, N: 10, d: 16, frQ: 0.3, frK: 0.1, frV: 0.2, frA: 0.4 };
    expect(tokenMapAttentionAcs({ ...r, causal: true })).toBeCloseTo(
      2 * 4 * 55 * 16 * (0.1 + 0.2),
      9,
    );
    expect(tokenMapAttentionAcs({ ...r, causal: false }, 'two-operand')).toBeCloseTo(
      2 * 4 * 100 * 16 * (0.3 * 0.1 + 0.4 * 0.2),
      9,
    );
    expect(topkComparisons(2, 4, 10, true)).toBe(2 * 4 * 55);
  });

  it('lays out a spiking LM whose AC total matches the per-term formulas', () => {
    const shape: SpikingLMShape = { T: 4, N: 32, D: 64, H: 4, V: 100, attention: 'spikformer' };
    const r: BlockRates = {
      attnIn: 0.3,
      q: 0.2,
      k: 0.05,
      v: 0.1,
      attnOut: 0.25,
      mlpIn: 0.35,
      hidden: 0.1,
    };
    const report = estimateEnergy(spikingTransformerTallies(shape, [r, r], 0.15));
    const f = transformerBlockFlops(32, 64);
    const perBlock =
      4 * (0.3 * f.qkv + 0.25 * f.out + 0.35 * f.mlp_up + 0.1 * f.mlp_down) +
      spikformerAttentionAcs({ T: 4, H: 4, N: 32, d: 16, frQ: 0.2, frK: 0.05, frV: 0.1 });
    expect(report.totals.acs).toBeCloseTo(2 * perBlock + 4 * 0.15 * 32 * 64 * 100, 3);
    expect(report.totals.macs).toBe(0);
    expect(report.layers.map((l) => l.layer).slice(0, 8)).toEqual([
      'layers.0.attn.q',
      'layers.0.attn.k',
      'layers.0.attn.v',
      'layers.0.attn.kv',
      'layers.0.attn.q_kv',
      'layers.0.attn.o',
      'layers.0.mlp.up',
      'layers.0.mlp.down',
    ]);
  });

  it('lists WTA top-k comparisons as a non-AC op', () => {
    const shape: SpikingLMShape = { T: 2, N: 8, D: 16, H: 2, attention: 'token-map', wtaK: 2 };
    const report = estimateEnergy(spikingTransformerTallies(shape, [{ ...ones, a: 0.25 }]));
    expect(report.other_ops).toEqual([
      { layer: 'layers.0.attn.topk', op: 'topk', calls: 1, ops: 2 * 2 * 36 },
    ]);
  });
});

describe('check 6.3(2): fr = 1, T = 1', () => {
  beforeAll(setupBackend);

  it('gives E_SNN / E_ANN = 0.9 / 4.6 for every analytic layer', () => {
    for (const attention of ['spikformer', 'token-map'] as const) {
      const shape: SpikingLMShape = { T: 1, N: 16, D: 32, H: 4, V: 50, attention };
      for (const convention of ['one-operand', 'two-operand'] as const) {
        const r = estimateEnergy(spikingTransformerTallies(shape, [ones, ones], 1), {
          attention: convention,
        });
        for (const l of r.layers) expect(l.energy_pj / l.ann_energy_pj).toBeCloseTo(RATIO, 12);
        expect(r.totals.snn_ann_ratio).toBeCloseTo(RATIO, 12);
      }
    }
  });

  it('gives 0.9 / 4.6 for every counted layer except the real-valued first layer', () => {
    const [cin, hid, cout] = [6, 8, 5];
    const x = tf.randomNormal([1, 3, cin], 0, 1, 'float32', 21);
    const s1 = tf.ones([1, 3, hid]);
    const kv = tf.ones([1, 3, 4]);
    const w1 = denseWeights(cin, hid, 22);
    const w2 = denseWeights(hid, cout, 23);
    const counter = new EnergyCounter();
    withRecorder(counter, () => {
      tf.dispose([
        toyLinear('enc', x, w1, 'real', 1, { firstLayer: true }),
        toyLinear('fc', s1, w2, 'spike', 1),
        toyKv('kv', kv, kv),
      ]);
    });
    for (const rule of ['once', 'per-step'] as const) {
      const r = counter.report({ first_layer: rule });
      const ratios = r.layers.map((l) => l.energy_pj / l.ann_energy_pj);
      expect(ratios[0]).toBeCloseTo(1, 12);
      for (const q of ratios.slice(1)) expect(q).toBeCloseTo(RATIO, 12);
    }
    tf.dispose([x, s1, kv, w1, w2]);
  });
});
