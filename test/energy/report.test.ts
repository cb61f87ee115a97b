// Energy config validation (bad values are rejected naming the field) and the
// report: JSON round trip, unit-named fields, and the plain-text table.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  DEFAULT_ENERGY_CONFIG,
  EnergyCounter,
  estimateEnergy,
  formatEnergyReport,
  otherOpTally,
  resolveEnergyConfig,
  tallyFromRate,
} from '../../src/energy/index.js';
import type { EnergyConfig } from '../../src/energy/index.js';

function table() {
  return [
    tallyFromRate({ layer: 'enc', encoding: 'real', firstLayer: true, timeSteps: 4, flops: 1000 }),
    tallyFromRate({ layer: 'layers.0.mlp.up', timeSteps: 4, flops: 2000, firingRate: 0.25 }),
    tallyFromRate({
      layer: 'layers.0.attn.kv',
      kind: 'attention',
      timeSteps: 4,
      flops: 500,
      firingRate: 0.1,
      otherRate: 0.5,
    }),
    otherOpTally('layers.0.norm', 'norm', 640),
  ];
}

describe('energy config', () => {
  it('defaults to 4.6 / 0.9 pJ, first layer once, one-operand attention', () => {
    expect(resolveEnergyConfig()).toEqual({
      e_mac_pj: 4.6,
      e_ac_pj: 0.9,
      first_layer: 'once',
      attention: 'one-operand',
    });
    expect(resolveEnergyConfig({ e_ac_pj: 0.1 }).e_ac_pj).toBe(0.1);
    expect(DEFAULT_ENERGY_CONFIG.e_mac_pj).toBe(4.6);
  });

  it('rejects a negative or non-finite energy, naming the field', () => {
    expect(() => resolveEnergyConfig({ e_mac_pj: -1 })).toThrow(ConfigError);
    expect(() => resolveEnergyConfig({ e_mac_pj: -1 })).toThrow(/e_mac_pj .*non-negative.* got -1/);
    expect(() => resolveEnergyConfig({ e_ac_pj: Number.NaN })).toThrow(/e_ac_pj .* got NaN/);
  });

  it('rejects an unknown convention or rule, naming the field', () => {
    const bad = (c: object) => () => resolveEnergyConfig(c as Partial<EnergyConfig>);
    expect(bad({ attention: 'both' })).toThrow(
      /attention must be one of one-operand, two-operand, got "both"/,
    );
    expect(bad({ first_layer: 'twice' })).toThrow(
      /first_layer must be one of once, per-step, got "twice"/,
    );
    expect(bad({ e_mac: 4.6 })).toThrow(/unknown energy config field "e_mac"/);
    expect(() => new EnergyCounter().report({ e_ac_pj: -0.9 })).toThrow(/e_ac_pj/);
  });

  it('rejects a firing rate outside [0, 1], naming the layer', () => {
    expect(() => tallyFromRate({ layer: 'x', timeSteps: 1, flops: 1, firingRate: 1.5 })).toThrow(
      /x: firingRate must be a firing rate in \[0, 1\], got 1.5/,
    );
  });
});

describe('energy report', () => {
  it('prices layers by the convention and survives a JSON round trip', () => {
    const r = estimateEnergy(table(), { first_layer: 'per-step' });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.layers.map((l) => [l.layer, l.op_type, l.macs, l.acs])).toEqual([
      ['enc', 'mac', 4000, 0],
      ['layers.0.mlp.up', 'ac', 0, 2000],
      ['layers.0.attn.kv', 'ac', 0, 200],
    ]);
    expect(r.totals.energy_pj).toBeCloseTo(4.6 * 4000 + 0.9 * 2200, 9);
    expect(r.totals.energy_mj).toBeCloseTo(r.totals.energy_pj * 1e-9, 18);
    expect(r.totals.ann_energy_pj).toBeCloseTo(4.6 * 3500, 9);
    expect(r.totals.snn_ann_ratio).toBeCloseTo(r.totals.energy_pj / r.totals.ann_energy_pj, 12);
    expect(r.totals.other_ops).toBe(640);
    expect(r.scope).toBe('total');
  });

  it('divides every count by the number of examples', () => {
    const total = estimateEnergy(table());
    const per = estimateEnergy(table(), {}, { examples: 4 });
    expect(per.scope).toBe('per_example');
    expect(per.totals.acs).toBeCloseTo(total.totals.acs / 4, 9);
    expect(per.totals.energy_mj).toBeCloseTo(total.totals.energy_mj / 4, 18);
    expect(per.layers[1].firing_rate).toBe(total.layers[1].firing_rate);
  });

  it('formats a table with every layer, the convention and the totals', () => {
    const text = formatEnergyReport(estimateEnergy(table(), { attention: 'two-operand' }));
    for (const s of [
      'layers.0.mlp.up',
      'layers.0.attn.kv',
      'MAC*',
      'first layer once',
      'attention two-operand',
    ]) {
      expect(text).toContain(s);
    }
    expect(text).toContain('non-AC ops (not priced)');
    expect(text).toMatch(/E_SNN \S+ mJ {2}E_ANN \S+ mJ {2}SNN\/ANN 0\.\d{4}/);
    expect(text).toContain('0.1000/0.5000');
  });
});
