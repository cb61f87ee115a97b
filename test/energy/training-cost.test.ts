// The training cost model (methods-language.md 5(b)-(c)): hand-computed counts and
// traffic of one linear layer under every gradient rule, the cheap checks of 5(c), the
// on-chip stash rule, energy and latency arithmetic, and bad input.
import { describe, expect, it } from 'vitest';
import {
  conv2dTrainingLayer,
  DEFAULT_TRAINING_COST_CONFIG,
  formatTrainingCost,
  GRADIENT_RULES,
  opEnergyPj,
  resolveTrainingCostConfig,
  traceDensity,
  trainingCost,
} from '../../src/energy/index.js';
import type {
  GradientRule,
  LayerTrainingCost,
  OpType,
  TrainingCostOptions,
  TrainingLayer,
} from '../../src/energy/index.js';

// C_in 4 -> C_out 3, 2 rows per step: F = 24 MACs/step, X_in = 8, X_out = 6, W = 12.
const ONE: TrainingLayer = {
  layer: 'fc',
  in_features: 4,
  out_features: 3,
  rows: 2,
  input_encoding: 'spike',
  f_in: 0.25,
  g_out: 0.5,
  g_in: 0.5,
  surrogate: 'rectangular',
};
const T = 4;
const BITMAP = { spike_format: 'bitmap' as const };

/** `engine/type` -> [dense, sparse], summed. */
function opsOf(l: LayerTrainingCost): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const o of l.ops) {
    const key = `${o.engine}/${o.type}`;
    const [d, s] = out[key] ?? [0, 0];
    out[key] = [d + o.dense, s + o.sparse];
  }
  return out;
}

function one(rule: GradientRule, extra: Partial<TrainingCostOptions> = {}, layer = ONE) {
  return trainingCost([layer], { rule, time_steps: T, config: BITMAP, ...extra }).layers[0];
}

describe('op counts of one linear layer, by hand', () => {
  it('bptt: FP f_in·T·F AC, BP g·T·F MAC, WG f·g·T·F accumulate, neuron 3+3 ops', () => {
    expect(opsOf(one('bptt'))).toEqual({
      'fp/ac': [96, 24],
      'bp/mac': [96, 48],
      'wg/acc': [96, 12],
      'neuron_fwd/mac': [24, 24],
      'neuron_fwd/add': [48, 48],
      'neuron_bwd/add': [24, 24],
      'neuron_bwd/mul': [24, 12],
      'neuron_bwd/mac': [24, 24],
    });
  });

  it('sltt: the same per-step counts without the membrane recurrence', () => {
    expect(opsOf(one('sltt'))).toEqual({
      'fp/ac': [96, 24],
      'bp/mac': [96, 48],
      'wg/acc': [96, 12],
      'neuron_fwd/mac': [24, 24],
      'neuron_fwd/add': [48, 48],
      'neuron_bwd/add': [24, 24],
      'neuron_bwd/mul': [24, 12],
    });
  });

  it('sltt-k: forward at all T steps, backward at K = 2 only', () => {
    expect(opsOf(one('sltt-k', { k: 2 }))).toEqual({
      'fp/ac': [96, 24],
      'bp/mac': [48, 24],
      'wg/acc': [48, 6],
      'neuron_fwd/mac': [24, 24],
      'neuron_fwd/add': [48, 48],
      'neuron_bwd/add': [12, 12],
      'neuron_bwd/mul': [12, 6],
    });
  });

  it('ottt: trace updates T·X_in, WG from the trace (density·g·T·F MAC)', () => {
    // Trace non-zero fraction at f = 1/4, T = 4: 1 − (3/4 + 9/16 + 27/64 + 81/256)/4 = 499/1024.
    expect(traceDensity(0.25, 4)).toBeCloseTo(499 / 1024, 15);
    expect(opsOf(one('ottt'))).toEqual({
      'fp/ac': [96, 24],
      'bp/mac': [96, 48],
      'wg/mac': [96, (499 / 1024) * 48],
      'trace/mac': [32, 32],
      'neuron_fwd/mac': [24, 24],
      'neuron_fwd/add': [48, 48],
      'neuron_bwd/add': [24, 24],
      'neuron_bwd/mul': [24, 12],
    });
  });

  it('opzo (post noise, m = 3): no BP; noise, feedback and trace ops; dense FP on perturbed input', () => {
    expect(opsOf(one('opzo'))).toEqual({
      'fp/mac': [96, 96],
      'wg/mac': [96, (499 / 1024) * 48],
      'trace/mac': [32, 32],
      'neuron_fwd/mac': [24, 24],
      'neuron_fwd/add': [48, 48],
      'neuron_bwd/add': [24, 24],
      'neuron_bwd/mul': [24, 12],
      'noise/mul': [24, 24],
      'noise/add': [24, 24],
      // e·Mᵀ and Σ z⊗õ: 2·T·X_out·m = 144; momentum blend T·C_out·m = 36 mul + 36 MAC.
      'feedback/mac': [180, 180],
      'feedback/mul': [36, 36],
    });
  });

  it('opzo with pre-neuron noise keeps the spike-driven FP', () => {
    const l = one('opzo', { config: { ...BITMAP, opzo_noise: 'pre' } });
    expect(opsOf(l)['fp/ac']).toEqual([96, 24]);
  });

  it('the input layer (no δ_in) has no BP; real input is MAC in FP and WG', () => {
    const l = one('bptt', {}, { ...ONE, input_encoding: 'real', needs_input_grad: false });
    const ops = opsOf(l);
    expect(ops['bp/mac']).toBeUndefined();
    expect(ops['fp/mac']).toEqual([96, 96]);
    expect(ops['wg/mac']).toEqual([96, 48]);
  });
});

describe('a convolution as a cost-model layer', () => {
  it('B 2, C_in 2, 4x4, k 3, pad 1, C_out 3: counts and traffic by hand', () => {
    const l = conv2dTrainingLayer(
      { layer: 'conv', input_encoding: 'spike', f_in: 0.25, g_out: 0.5 },
      {
        batch: 2,
        inChannels: 2,
        outChannels: 3,
        kernel: 3,
        outHeight: 4,
        outWidth: 4,
        inHeight: 4,
        inWidth: 4,
      },
    );
    expect(l).toMatchObject({
      in_features: 18,
      out_features: 3,
      rows: 32,
      macs_per_step: 1728, // 2 · 4·4·3·(2·9)
      in_elements: 64,
      weights: 54,
      address_range: 32,
    });
    const r = trainingCost([l], { rule: 'bptt', time_steps: 2, config: { spike_format: 'aer' } });
    const ops = opsOf(r.layers[0]);
    expect(ops['fp/ac']).toEqual([2 * 1728, 0.25 * 2 * 1728]);
    // Spikes: FP read + WG re-read of 2 steps · 64 elements; AER 0.25 · 5 bits (32 positions).
    expect(r.layers[0].dram_bytes.baseline.spikes).toBe(2 * 2 * 64 * 2);
    expect(r.layers[0].dram_bytes.event.spikes).toBeCloseTo((2 * 2 * 64 * 0.25 * 5) / 8, 12);
    // Neuron state updates are per output element: 2 steps · 32 rows · 3 channels.
    expect(ops['neuron_fwd/mac']).toEqual([192, 192]);
  });
});

describe('DRAM traffic of one linear layer, by hand (b_w = b_g = 2, bitmap spikes)', () => {
  it('bptt baseline and event-driven, per category', () => {
    const l = one('bptt');
    // Baseline: spikes FP read 4·8·2 + WG re-read 4·8·2; U write + re-read 2·4·6·2;
    // δ_out 4·6·2 + δ_in 4·8·2; W read in FP and BP 2·12·2; ΔW 12·2.
    expect(l.dram_bytes.baseline).toMatchObject({
      spikes: 128,
      surrogate: 96,
      deltas: 112,
      weights: 48,
      weight_grads: 24,
      total: 408,
    });
    // Event: spikes 1 bit (4 + 4 B), σ' mask 1 bit (3 + 3 B), δ_out for g_out, δ_in for g_in.
    expect(l.dram_bytes.event).toMatchObject({
      spikes: 8,
      surrogate: 6,
      deltas: 24 + 32,
      weights: 48,
      weight_grads: 24,
      total: 142,
    });
  });

  it('online rules re-read W per step pass and read-modify-write ΔW when nothing fits on chip', () => {
    const l = one('sltt');
    expect(l.dram_bytes.baseline.weights).toBe((4 + 4) * 24);
    expect(l.dram_bytes.baseline.weight_grads).toBe((2 * 4 - 1) * 24);
  });

  it('sltt holds one step of stash: on chip where bptt (T steps) spills', () => {
    // Baseline stash per step (8 + 6)·2 B = 28 B; T steps 112 B; W·(b_w + b_g) = 48 B.
    const config = { ...BITMAP, on_chip_bytes: 50 };
    const b = one('bptt', { config });
    const s = one('sltt', { config });
    expect(b.stash_bytes.baseline).toBe(112);
    expect(s.stash_bytes.baseline).toBe(28);
    expect(b.stash_on_chip.baseline).toBe(false);
    expect(s.stash_on_chip.baseline).toBe(true);
    expect(b.weights_on_chip && s.weights_on_chip).toBe(true);
    expect(b.dram_bytes.baseline.total).toBe(24 + 24 + 128 + 96 + 112);
    expect(s.dram_bytes.baseline.total).toBe(24 + 24 + 64 + 112);
    // The moved bytes are priced as SRAM traffic: stash 64 + 96 and weight passes 7·24 + 6·24.
    expect(s.sram_bytes.baseline).toBe(64 + 96 + 7 * 24 + 6 * 24);
  });

  it('AER spikes when f_in < 1/ceil(log2 C_in): f_in·ceil(log2 C_in) bits per element', () => {
    const sparse = { ...ONE, in_features: 256, rows: 2, f_in: 0.05 };
    const l = trainingCost([sparse], { rule: 'bptt', time_steps: T }).layers[0];
    expect(l.spike_format).toBe('aer');
    expect(l.dram_bytes.event.spikes).toBeCloseTo((2 * T * 512 * 0.05 * 8) / 8, 9);
    const dense = trainingCost([{ ...sparse, f_in: 0.2 }], { rule: 'bptt', time_steps: T });
    expect(dense.layers[0].spike_format).toBe('bitmap');
  });

  it('non-rectangular surrogate stores the mask plus b_g bytes for the g_out fraction', () => {
    const l = one('bptt', {}, { ...ONE, surrogate: 'triangle' });
    expect(l.dram_bytes.event.surrogate).toBe((2 * 4 * 6 * (1 + 0.5 * 16)) / 8);
    // With g_out = 1 (a sigmoid surrogate is never exactly 0) the dense values are smaller.
    const dense = one('bptt', {}, { ...ONE, surrogate: 'sigmoid', g_out: 1 });
    expect(dense.dram_bytes.event.surrogate).toBe(dense.dram_bytes.baseline.surrogate);
  });
});

describe('cheap checks of methods-language 5(c)', () => {
  it.each(GRADIENT_RULES)(
    '%s: f_in = g_out = 1 makes every sparse count equal the dense one',
    (rule) => {
      const l = one(rule, { k: 2 }, { ...ONE, f_in: 1, g_out: 1, g_in: 1 });
      for (const o of l.ops) expect(o.sparse).toBe(o.dense);
    },
  );

  it.each(GRADIENT_RULES.filter((r) => r !== 'opzo'))(
    '%s: an all-zero input zeroes FP and WG, BP unchanged',
    (rule) => {
      const zero = opsOf(one(rule, { k: 2 }, { ...ONE, f_in: 0 }));
      const some = opsOf(one(rule, { k: 2 }, ONE));
      const wgKey = Object.keys(zero).find((k) => k.startsWith('wg/')) as string;
      expect(zero['fp/ac'][1]).toBe(0);
      expect(zero[wgKey][1]).toBe(0);
      expect(some[wgKey][1]).toBeGreaterThan(0);
      expect(zero['bp/mac']).toEqual(some['bp/mac']);
    },
  );

  it('bit-packing spikes alone cuts spike-tensor traffic by exactly 8·b_g (16 for FP16, 32 for FP32)', () => {
    for (const grad_bytes of [2, 4]) {
      for (const rule of GRADIENT_RULES.filter((r) => r !== 'ottt' && r !== 'opzo')) {
        const l = trainingCost([{ ...ONE, f_in: 0.37 }], {
          rule,
          time_steps: T,
          k: 3,
          config: { spike_format: 'bitmap', grad_bytes },
        }).layers[0];
        expect(l.dram_bytes.baseline.spikes / l.dram_bytes.event.spikes).toBe(8 * grad_bytes);
      }
    }
  });

  it('4-layer MLP SNN, f_in in [0.1, 0.3], g_out in [0.2, 0.5]: DRAM reduction inside 50-90%', () => {
    const widths = [784, 512, 512, 512, 10];
    const f = [0.2, 0.1, 0.3, 0.15];
    const g = [0.3, 0.2, 0.5, 0.4];
    const layers: TrainingLayer[] = f.map((fi, i) => ({
      layer: `fc${i}`,
      in_features: widths[i],
      out_features: widths[i + 1],
      rows: 128,
      input_encoding: 'spike',
      f_in: fi,
      g_out: g[i],
      g_in: i === 0 ? 1 : g[i - 1],
      needs_input_grad: i > 0,
    }));
    const r = trainingCost(layers, { rule: 'bptt', time_steps: 4 });
    const red = r.totals.dram_reduction as number;
    console.log(`4-layer MLP, bptt T=4 B=128: modelled DRAM reduction ${(100 * red).toFixed(1)}%`);
    expect(red).toBeGreaterThan(0.5);
    expect(red).toBeLessThan(0.9);
  });
});

describe('energy, efficiency and latency arithmetic', () => {
  it('E = Σ ops·e_op + Σ bytes·e_mem with the 6.2 constants, per layer and in the totals', () => {
    const r = trainingCost([ONE], { rule: 'bptt', time_steps: T, config: BITMAP });
    const c = DEFAULT_TRAINING_COST_CONFIG;
    const [add, mul, mac] = [0.4, 1.1, 1.5];
    // Sparse ops: FP 24 AC, BP 48 MAC, WG 12 acc, neuron 24 MAC + 48 add, 24 add + 12 mul + 24 MAC.
    const eventOps =
      24 * add + 48 * mac + 12 * add + 24 * mac + 48 * add + 24 * add + 12 * mul + 24 * mac;
    // Dense: FP, BP, WG 96 MACs each; neuron 24 MAC + 48 add, 24 add + 24 mul + 24 MAC.
    const denseOps = 3 * 96 * mac + 24 * mac + 48 * add + 24 * add + 24 * mul + 24 * mac;
    expect(r.layers[0].energy_pj.event).toBeCloseTo(eventOps + 142 * c.e_dram_pj_per_byte, 6);
    expect(r.layers[0].energy_pj.baseline).toBeCloseTo(denseOps + 408 * c.e_dram_pj_per_byte, 6);
    expect(r.totals.energy_pj.event).toBeCloseTo(r.layers[0].energy_pj.event, 6);
    expect(r.totals.energy_pj.event_compute).toBeCloseTo(eventOps, 9);
    expect(c.e_dram_pj_per_byte).toBe(243.75);
    expect(opEnergyPj('mac', c)).toBeCloseTo(mac, 12);
    // Useful FLOPs: 2 · (FP + BP + WG dense MACs); efficiency = FLOPs / pJ = TFLOPS/W.
    expect(r.totals.useful_flops).toBe(2 * 3 * 96);
    expect(r.totals.efficiency_tflops_per_w.event_compute).toBeCloseTo(576 / eventOps, 12);
    expect(r.totals.dram_reduction).toBeCloseTo(1 - 142 / 408, 12);
  });

  it('ops by type sum to the op totals', () => {
    const r = trainingCost([ONE, { ...ONE, layer: 'fc2' }], { rule: 'ottt', time_steps: T });
    const types = Object.keys(r.totals.ops_by_type.event) as OpType[];
    const sumEv = types.reduce((s, t) => s + r.totals.ops_by_type.event[t], 0);
    const sumDense = types.reduce((s, t) => s + r.totals.ops_by_type.dense[t], 0);
    expect(sumEv).toBe(r.totals.ops.sparse);
    expect(sumDense).toBe(r.totals.ops.dense);
  });

  it('latency = max over cores of ops / throughput + DRAM bytes / bandwidth', () => {
    const a = { ...ONE, layer: 'a' };
    const b = { ...ONE, layer: 'b', rows: 6 }; // 3× the work of `a`
    const config = { ...BITMAP, core_ops_per_s: 100, dram_bytes_per_s: 1000 };
    const split = trainingCost([a, b], { rule: 'bptt', time_steps: T, config });
    const shared = trainingCost([a, b], {
      rule: 'bptt',
      time_steps: T,
      config,
      cores: { a: 0, b: 0 },
    });
    const [ca, cb] = split.totals.latency.cores;
    expect(split.totals.latency.event.compute_s).toBeCloseTo(
      Math.max(ca.event_ops, cb.event_ops) / 100,
      12,
    );
    expect(shared.totals.latency.cores).toHaveLength(1);
    expect(shared.totals.latency.event.compute_s).toBeCloseTo(
      (ca.event_ops + cb.event_ops) / 100,
      12,
    );
    expect(split.totals.latency.event.transfer_s).toBeCloseTo(
      split.totals.dram_bytes.event.total / 1000,
      12,
    );
    expect(split.totals.latency.dense.compute_s).toBeCloseTo(cb.dense_ops / 100, 12);
  });
});

describe('report and bad input', () => {
  it('is JSON-able and the formatter prints every layer and the convention', () => {
    const r = trainingCost([ONE], { rule: 'sltt-k', k: 2, time_steps: T, model: 'toy', step: 3 });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    const text = formatTrainingCost(r);
    expect(text).toContain('rule sltt-k K=2, T=4');
    expect(text).toContain('toy, step 3');
    expect(text).toMatch(/^fc\s/m);
    expect(text).toContain('reduction');
  });

  it('rejects unknown rules, missing k, bad rates and unknown config fields', () => {
    const opts = { rule: 'bptt' as GradientRule, time_steps: T };
    expect(() => trainingCost([ONE], { ...opts, rule: 'dfa' as GradientRule })).toThrow(
      /rule must be one of bptt, sltt, sltt-k, ottt, opzo, got "dfa"/,
    );
    expect(() => trainingCost([ONE], { ...opts, rule: 'sltt-k' })).toThrow(/sltt-k needs k/);
    expect(() => trainingCost([ONE], { ...opts, rule: 'sltt-k', k: 5 })).toThrow(
      /k must be <= time_steps 4/,
    );
    expect(() => trainingCost([{ ...ONE, g_out: 1.5 }], opts)).toThrow(
      /layer 'fc': g_out must be a firing rate/,
    );
    expect(() => trainingCost([ONE, ONE], opts)).toThrow(/'fc' is listed twice/);
    expect(() => trainingCost([ONE], { ...opts, cores: { fc: 0, nope: 1 } })).toThrow(
      /unknown layer 'nope'/,
    );
    expect(() => resolveTrainingCostConfig({ e_dram_pj: 1 } as never)).toThrow(
      /unknown training cost config field "e_dram_pj"/,
    );
    expect(() => resolveTrainingCostConfig({ grad_bytes: 0 })).toThrow(/grad_bytes must be > 0/);
    expect(() => resolveTrainingCostConfig({ spike_format: 'csr' as never })).toThrow(
      /spike_format must be one of auto, bitmap, aer/,
    );
  });
});
