// Plain-text table of a TrainingCostReport: one row per layer with its rates, the
// dense/sparse FP, BP and WG counts and the DRAM traffic of both schemes, then the
// totals, the energy, the efficiency, the latency and the convention used.
import { si, table } from './format.js';
import type { Engine, LayerTrainingCost, TrainingCostReport } from './training-types.js';

function engineOps(l: LayerTrainingCost, engine: Engine): string {
  let dense = 0;
  let sparse = 0;
  for (const o of l.ops) {
    if (o.engine !== engine) continue;
    dense += o.dense;
    sparse += o.sparse;
  }
  return dense === 0 ? '-' : `${si(sparse)}/${si(dense)}`;
}

function pct(x: number | null): string {
  return x === null ? '-' : `${(100 * x).toFixed(1)}%`;
}

function num(x: number | null, digits = 4): string {
  return x === null ? '-' : x.toPrecision(digits);
}

const COLUMNS: [string, (l: LayerTrainingCost) => string][] = [
  ['layer', (l) => l.layer],
  ['enc', (l) => l.input_encoding + (l.spike_format === 'aer' ? '(aer)' : '')],
  ['f_in', (l) => (l.input_encoding === 'real' ? '-' : l.f_in.toFixed(4))],
  ['g_out', (l) => (l.neuron ? l.g_out.toFixed(4) : '-')],
  ['FP s/d', (l) => engineOps(l, 'fp')],
  ['BP s/d', (l) => engineOps(l, 'bp')],
  ['WG s/d', (l) => engineOps(l, 'wg')],
  ['DRAM_B base', (l) => si(l.dram_bytes.baseline.total)],
  ['DRAM_B event', (l) => si(l.dram_bytes.event.total)],
  ['E_pJ event', (l) => si(l.energy_pj.event)],
];

/** Format a training cost report as aligned text (no trailing newline). */
export function formatTrainingCost(r: TrainingCostReport): string {
  const t = r.totals;
  const c = r.convention;
  const rule =
    r.rule + (r.k === null ? '' : ` K=${r.k}`) + (r.outputs === null ? '' : ` m=${r.outputs}`);
  const head = [r.model, r.step === null ? null : `step ${r.step}`].filter((x) => x !== null);
  const e = t.efficiency_tflops_per_w;
  const out = [
    `training cost per iteration${head.length > 0 ? ` (${head.join(', ')})` : ''}: rule ${rule}, T=${r.time_steps}`,
    '',
    ...table(
      COLUMNS.map(([h]) => h),
      r.layers.map((l) => COLUMNS.map(([, f]) => f(l))),
    ),
    '',
    `ops sparse ${si(t.ops.sparse, 4)} / dense ${si(t.ops.dense, 4)} ` +
      `(FP ${si(t.ops_by_engine.fp.sparse)}, BP ${si(t.ops_by_engine.bp.sparse)}, WG ${si(t.ops_by_engine.wg.sparse)})`,
    `DRAM baseline ${si(t.dram_bytes.baseline.total, 4)}B  event ${si(t.dram_bytes.event.total, 4)}B  ` +
      `reduction ${pct(t.dram_reduction)}`,
    `E baseline ${num(t.energy_mj.baseline)} mJ  event ${num(t.energy_mj.event)} mJ  ` +
      `(compute ${num(t.energy_pj.event_compute / 1e9)} mJ, memory ${num(t.energy_pj.event_memory / 1e9)} mJ)`,
    `efficiency event ${num(e.event)} TFLOPS/W (compute only ${num(e.event_compute)}), ` +
      `baseline ${num(e.baseline)} (compute only ${num(e.baseline_compute)})`,
    `latency event ${num(t.latency.event.total_s)} s  dense ${num(t.latency.dense.total_s)} s ` +
      `on ${t.latency.cores.length} core(s)`,
    `convention: add ${c.e_add_pj} pJ, mul ${c.e_mul_pj} pJ, DRAM ${c.e_dram_pj_per_byte} pJ/B, ` +
      `SRAM ${c.e_sram_pj_per_byte} pJ/B, b_w ${c.weight_bytes} B, b_g ${c.grad_bytes} B, ` +
      `on-chip ${c.on_chip_bytes} B, spikes ${c.spike_format}`,
  ];
  if (r.unmodelled.length > 0) {
    out.push(
      `not modelled: ${r.unmodelled.map((u) => `${u.layer} (${u.op ?? u.kind})`).join(', ')}`,
    );
  }
  return out.join('\n');
}
