// Check 6.3(1) of methods-language.md: reproduce Spikingformer-8-512's published
// ImageNet energy (0.347329512 G MAC, 6.51754094 G AC, 7.4635 mJ) from its layer
// shapes and the per-layer firing rates its energy script logged.
//
// What comes from where:
// - FROM SHAPES (derived here, checked against the logged dense op counts): every
//   layer's FLOPs, i.e. the SPS tokenizer convs (3→64 at 224², 64→128 at 112²,
//   128→256 at 56², 256→512 at 28², 512→512 at 14², 3×3, no bias), the 8 blocks
//   (N = 196 tokens, D = 512, H = 8, d = 64, 1×1 convs; proj/fc1/fc2 carry a bias,
//   whose adds the script counts), the attention base T·H·N·d² and the head
//   512→1000 with bias. The whole MAC term (first conv ×T + head once) is shapes only.
// - FROM LOGGED RATES (fixture): each layer's input firing rate (9 significant
//   digits) and the Q/K/V rates (full precision). The AC term = Σ T·fr·FLOPs plus
//   the attention term; no published total is used as an input.
// The script prices the first layer ×T (`first_layer: 'per-step'`) and uses the
// one-operand attention convention; with rates rounded to 9 digits the AC total
// lands within 2e-10 of the published 6.51754094076244 G.
import { describe, expect, it } from 'vitest';
import {
  conv2dFlops,
  estimateEnergy,
  linearFlops,
  spikformerAttentionAcs,
  spikformerAttentionTallies,
  tallyFromRate,
} from '../../src/energy/index.js';
import type { LayerTally } from '../../src/energy/index.js';
import {
  BLOCK_RATES_PCT,
  DENSE_OPS,
  PUBLISHED,
  QKV_RATES,
  SPS_RATES_PCT,
} from './fixtures/spikingformer-8-512.js';

const T = 4;
const D = 512;
const H = 8;
const N = 14 * 14; // 224 / 16 = 14 patches a side
const d = D / H;

/** Spikingformer-8-512's layer table, in the script's layer names. */
function spikingformerTable(): LayerTally[] {
  const conv = (inC: number, outC: number, side: number): number =>
    conv2dFlops({ inChannels: inC, outChannels: outC, kernel: 3, outHeight: side, outWidth: side });
  const layers: LayerTally[] = [
    tallyFromRate({
      layer: 'patch_embed.proj_conv',
      encoding: 'real',
      firstLayer: true,
      timeSteps: T,
      flops: conv(3, D / 8, 224),
    }),
  ];
  const sps: [keyof typeof SPS_RATES_PCT, number, number, number][] = [
    ['proj_conv1', D / 8, D / 4, 112],
    ['proj_conv2', D / 4, D / 2, 56],
    ['proj_conv3', D / 2, D, 28],
    ['rpe_conv', D, D, 14],
  ];
  for (const [name, inC, outC, side] of sps) {
    const flops = conv(inC, outC, side);
    layers.push(
      tallyFromRate({
        layer: `patch_embed.${name}`,
        timeSteps: T,
        flops,
        firingRate: SPS_RATES_PCT[name] / 100,
      }),
    );
  }
  BLOCK_RATES_PCT.forEach((r, b) => {
    const p = `block[${b}]`;
    for (const x of ['q', 'k', 'v']) {
      const flops = linearFlops(N, D, D);
      layers.push(
        tallyFromRate({
          layer: `${p}.attn.${x}_conv`,
          timeSteps: T,
          flops,
          firingRate: r.qkv_conv / 100,
        }),
      );
    }
    const [frQ, frK, frV] = QKV_RATES[b];
    layers.push(...spikformerAttentionTallies(`${p}.attn`, { T, H, N, d, frQ, frK, frV }));
    const lin: [string, number, number, number][] = [
      ['attn.proj_conv', D, D, r.proj_conv],
      ['mlp.fc1_conv', D, 4 * D, r.fc1_conv],
      ['mlp.fc2_conv', 4 * D, D, r.fc2_conv],
    ];
    for (const [name, inF, outF, pct] of lin) {
      const flops = linearFlops(N, inF, outF, true);
      layers.push(
        tallyFromRate({ layer: `${p}.${name}`, timeSteps: T, flops, firingRate: pct / 100 }),
      );
    }
  });
  // The head reads the time-averaged features once (real values): MAC, no ×T.
  layers.push(
    tallyFromRate({
      layer: 'head',
      encoding: 'real',
      timeSteps: 1,
      flops: linearFlops(1, D, 1000, true),
    }),
  );
  return layers;
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('Spikingformer-8-512 on ImageNet (check 6.3(1))', () => {
  it('derives every layer’s dense op count from its shape, as logged', () => {
    const ops = new Map(spikingformerTable().map((t) => [t.layer, t.dense_ops]));
    expect(ops.get('patch_embed.proj_conv')).toBe(DENSE_OPS.proj_conv); // 3→64 at 224²: 86.7M ×T
    expect(ops.get('patch_embed.proj_conv1')).toBe(DENSE_OPS.proj_conv1);
    expect(ops.get('patch_embed.proj_conv2')).toBe(DENSE_OPS.proj_conv2);
    expect(ops.get('patch_embed.proj_conv3')).toBe(DENSE_OPS.proj_conv3);
    expect(ops.get('patch_embed.rpe_conv')).toBe(DENSE_OPS.rpe_conv);
    expect(ops.get('block[3].attn.k_conv')).toBe(DENSE_OPS.qkv_conv);
    expect(ops.get('block[3].attn.proj_conv')).toBe(DENSE_OPS.attn_proj_conv);
    expect(ops.get('block[7].mlp.fc1_conv')).toBe(DENSE_OPS.fc1_conv);
    expect(ops.get('block[7].mlp.fc2_conv')).toBe(DENSE_OPS.fc2_conv);
    expect(ops.get('head')).toBe(DENSE_OPS.head);
  });

  it('reproduces the MAC term exactly from shapes (first conv ×T + head once)', () => {
    const r = estimateEnergy(spikingformerTable(), { first_layer: 'per-step' });
    expect(r.totals.macs).toBe(PUBLISHED.macs); // 4 · 86,704,128 + 513,000
    expect(r.first_layers).toEqual(['patch_embed.proj_conv']);
    expect(r.convention.first_layer).toBe('per-step');
  });

  it('reproduces the AC total and the energy from the logged per-layer rates', () => {
    const r = estimateEnergy(spikingformerTable(), {
      first_layer: 'per-step',
      attention: 'one-operand',
    });
    expect(relErr(r.totals.acs, PUBLISHED.acs)).toBeLessThan(2e-10);
    expect((r.totals.acs / 1e9).toFixed(8)).toBe('6.51754094');
    expect(relErr(r.totals.energy_mj, PUBLISHED.energy_mj)).toBeLessThan(2e-10);
    expect(r.totals.energy_mj.toFixed(4)).toBe('7.4635');
  });

  it('its attention tallies sum to the script’s SSA formula per block', () => {
    const tallies = spikingformerTable();
    const r = estimateEnergy(tallies);
    QKV_RATES.forEach(([frQ, frK, frV], b) => {
      const acs = r.layers
        .filter((l) => l.layer === `block[${b}].attn.kv` || l.layer === `block[${b}].attn.q_kv`)
        .reduce((s, l) => s + l.acs, 0);
      expect(relErr(acs, spikformerAttentionAcs({ T, H, N, d, frQ, frK, frV }))).toBeLessThan(
        1e-14,
      );
    });
  });

  it('counting the first layer once instead changes only the MAC term, and says so', () => {
    const perStep = estimateEnergy(spikingformerTable(), { first_layer: 'per-step' });
    const once = estimateEnergy(spikingformerTable(), { first_layer: 'once' });
    expect(once.totals.macs).toBe(86704128 + 513000);
    expect(once.totals.acs).toBe(perStep.totals.acs);
    expect(once.convention.first_layer).toBe('once');
  });

  it('prices the published op totals at 4.6 / 0.9 pJ to 7.4635 mJ', () => {
    const r = estimateEnergy([
      tallyFromRate({ layer: 'macs', encoding: 'real', timeSteps: 1, flops: 0.347329512e9 }),
      tallyFromRate({ layer: 'acs', timeSteps: 1, flops: 6.51754094e9, firingRate: 1 }),
    ]);
    expect(r.totals.energy_mj).toBeCloseTo(0.347329512 * 4.6 + 6.51754094 * 0.9, 12);
    expect(r.totals.energy_mj.toFixed(4)).toBe('7.4635');
  });
});
