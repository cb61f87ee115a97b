// Plain-text table of an EnergyReport: one row per synaptic layer, the non-AC ops,
// the totals and the convention used (so a printed number says how it was made).
import type { EnergyReport, LayerEnergy } from './estimate.js';

/** Engineering notation with an SI prefix: `1.23 G`, `456.7 M`, `12.0`. */
export function si(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, prefix] of units) {
    if (a >= scale) return `${(x / scale).toPrecision(digits)} ${prefix}`;
  }
  return a === 0 ? '0' : x.toPrecision(digits);
}

const COLUMNS: [string, (l: LayerEnergy) => string][] = [
  ['layer', (l) => l.layer],
  ['op', (l) => l.op_type.toUpperCase() + (l.first_layer ? '*' : '')],
  ['enc', (l) => l.encoding],
  ['T', (l) => String(l.time_steps)],
  ['fr', (l) => rate(l)],
  ['FLOPs', (l) => si(l.flops)],
  ['MACs', (l) => si(l.macs)],
  ['ACs', (l) => si(l.acs)],
  ['E_pJ', (l) => si(l.energy_pj)],
  ['E_ANN_pJ', (l) => si(l.ann_energy_pj)],
];

function rate(l: LayerEnergy): string {
  const fr = l.encoding === 'real' ? '-' : l.firing_rate.toFixed(4);
  return l.firing_rate_other === undefined ? fr : `${fr}/${l.firing_rate_other.toFixed(4)}`;
}

/** Aligned plain-text table lines: first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Format a report as an aligned plain-text table (no trailing newline). */
export function formatEnergyReport(r: EnergyReport): string {
  const c = r.convention;
  const t = r.totals;
  const scope = r.scope === 'per_example' ? `per example (${r.examples} examples)` : 'total';
  const out = [
    `energy ${scope}: E_MAC ${c.e_mac_pj} pJ, E_AC ${c.e_ac_pj} pJ, ` +
      `first layer ${c.first_layer}, attention ${c.attention}`,
    '',
    ...table(
      COLUMNS.map(([h]) => h),
      r.layers.map((l) => COLUMNS.map(([, f]) => f(l))),
    ),
  ];
  if (r.first_layers.length > 0) {
    out.push(`* first layer (${c.first_layer === 'once' ? 'MAC counted once' : 'MAC ×T'})`);
  }
  if (r.other_ops.length > 0) {
    out.push('', 'non-AC ops (not priced):');
    out.push(
      ...table(
        ['layer', 'op', 'ops'],
        r.other_ops.map((o) => [o.layer, o.op, si(o.ops)]),
      ),
    );
  }
  const ratio = t.snn_ann_ratio === null ? '-' : t.snn_ann_ratio.toFixed(4);
  const fr = t.firing_rate === null ? '-' : t.firing_rate.toFixed(4);
  out.push(
    '',
    `MACs ${si(t.macs, 6)}  ACs ${si(t.acs, 6)}  firing rate ${fr}`,
    `E_SNN ${t.energy_mj.toPrecision(6)} mJ  E_ANN ${t.ann_energy_mj.toPrecision(6)} mJ  SNN/ANN ${ratio}`,
  );
  return out.join('\n');
}
