// Sums of the training cost model: traffic helpers, the per-op energy, the layer-to-core
// assignment and the report totals (energy, efficiency, latency) over the per-layer rows.
import { ConfigError } from '../errors.js';
import type { TrainingCostConfig } from './training-config.js';
import type {
  Engine,
  LayerTrainingCost,
  OpType,
  Traffic,
  TrainingCostTotals,
  TrainingLayer,
} from './training-types.js';

const ENGINES: readonly Engine[] = [
  'fp',
  'bp',
  'wg',
  'neuron_fwd',
  'neuron_bwd',
  'trace',
  'noise',
  'feedback',
];
const OP_TYPES: readonly OpType[] = ['ac', 'mac', 'acc', 'add', 'mul'];

/** Traffic with every category at zero. */
export function emptyTraffic(): Traffic {
  return {
    weights: 0,
    weight_grads: 0,
    spikes: 0,
    activations: 0,
    traces: 0,
    surrogate: 0,
    deltas: 0,
    feedback: 0,
    total: 0,
  };
}

/** Set `total` to the sum of the categories. */
export function withTotal(t: Traffic): Traffic {
  const { total: _, ...parts } = t;
  t.total = Object.values(parts).reduce((s, v) => s + v, 0);
  return t;
}

/** Energy of one op of a type under a convention (a MAC is an add plus a mul). */
export function opEnergyPj(type: OpType, c: TrainingCostConfig): number {
  switch (type) {
    case 'ac':
    case 'acc':
    case 'add':
      return c.e_add_pj;
    case 'mul':
      return c.e_mul_pj;
    case 'mac':
      return c.e_add_pj + c.e_mul_pj;
  }
}

/** Core index of each layer: `cores[layer]` for every layer, or layer i on core i. */
export function assignCores(
  layers: readonly TrainingLayer[],
  cores?: Record<string, number>,
): number[] {
  if (cores === undefined) return layers.map((_, i) => i);
  const known = new Set(layers.map((l) => l.layer));
  for (const name of Object.keys(cores)) {
    if (!known.has(name)) {
      throw new ConfigError(`cores: unknown layer '${name}'`, `layers: ${[...known].join(', ')}`);
    }
  }
  return layers.map((l) => {
    const core = cores[l.layer];
    if (core === undefined) throw new ConfigError(`cores: layer '${l.layer}' has no core`);
    if (!Number.isInteger(core) || core < 0) {
      throw new ConfigError(`cores: core of '${l.layer}' must be an integer >= 0, got ${core}`);
    }
    return core;
  });
}

function sumTraffic(ts: Traffic[]): Traffic {
  const out = emptyTraffic();
  for (const t of ts) for (const k of Object.keys(out) as (keyof Traffic)[]) out[k] += t[k];
  return out;
}

function zeroTypes(): Record<OpType, number> {
  return Object.fromEntries(OP_TYPES.map((t) => [t, 0])) as Record<OpType, number>;
}

/** Totals of the per-layer rows under a convention. */
export function totalsOf(rows: LayerTrainingCost[], c: TrainingCostConfig): TrainingCostTotals {
  const byEngine = Object.fromEntries(ENGINES.map((e) => [e, { dense: 0, sparse: 0 }])) as Record<
    Engine,
    { dense: number; sparse: number }
  >;
  const evTypes = zeroTypes();
  const denseTypes = zeroTypes();
  const cores = new Map<number, { layers: string[]; event_ops: number; dense_ops: number }>();
  for (const r of rows) {
    const core = cores.get(r.core) ?? { layers: [], event_ops: 0, dense_ops: 0 };
    core.layers.push(r.layer);
    for (const o of r.ops) {
      byEngine[o.engine].dense += o.dense;
      byEngine[o.engine].sparse += o.sparse;
      evTypes[o.type] += o.sparse;
      denseTypes[o.dense_type] += o.dense;
      core.event_ops += o.sparse;
      core.dense_ops += o.dense;
    }
    cores.set(r.core, core);
  }
  const sum = (f: (r: LayerTrainingCost) => number) => rows.reduce((s, r) => s + f(r), 0);
  const baseDram = sumTraffic(rows.map((r) => r.dram_bytes.baseline));
  const evDram = sumTraffic(rows.map((r) => r.dram_bytes.event));
  const sram = {
    baseline: sum((r) => r.sram_bytes.baseline),
    event: sum((r) => r.sram_bytes.event),
  };
  const price = (types: Record<OpType, number>) =>
    OP_TYPES.reduce((s, t) => s + types[t] * opEnergyPj(t, c), 0);
  const baselineCompute = price(denseTypes);
  const eventCompute = price(evTypes);
  const baselineMemory =
    baseDram.total * c.e_dram_pj_per_byte + sram.baseline * c.e_sram_pj_per_byte;
  const eventMemory = evDram.total * c.e_dram_pj_per_byte + sram.event * c.e_sram_pj_per_byte;
  const useful = 2 * (byEngine.fp.dense + byEngine.bp.dense + byEngine.wg.dense);
  const eff = (e: number) => (e > 0 ? useful / e : null); // FLOPs per pJ = TFLOPS/W
  const coreList = [...cores.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([core, v]) => ({ core, ...v }));
  const latency = (key: 'event_ops' | 'dense_ops', bytes: number) => {
    const compute = Math.max(...coreList.map((k) => k[key] / c.core_ops_per_s));
    const transfer = bytes / c.dram_bytes_per_s;
    return { compute_s: compute, transfer_s: transfer, total_s: compute + transfer };
  };
  const allDense = ENGINES.reduce((s, e) => s + byEngine[e].dense, 0);
  const allSparse = ENGINES.reduce((s, e) => s + byEngine[e].sparse, 0);
  const PJ_PER_MJ = 1e9;
  return {
    ops_by_engine: byEngine,
    ops_by_type: { event: evTypes, dense: denseTypes },
    ops: { dense: allDense, sparse: allSparse },
    dram_bytes: { baseline: baseDram, event: evDram },
    dram_reduction: baseDram.total > 0 ? 1 - evDram.total / baseDram.total : null,
    sram_bytes: sram,
    stash_bytes: {
      baseline: sum((r) => r.stash_bytes.baseline),
      event: sum((r) => r.stash_bytes.event),
    },
    energy_pj: {
      baseline: baselineCompute + baselineMemory,
      event: eventCompute + eventMemory,
      baseline_compute: baselineCompute,
      event_compute: eventCompute,
      baseline_memory: baselineMemory,
      event_memory: eventMemory,
    },
    energy_mj: {
      baseline: (baselineCompute + baselineMemory) / PJ_PER_MJ,
      event: (eventCompute + eventMemory) / PJ_PER_MJ,
    },
    useful_flops: useful,
    efficiency_tflops_per_w: {
      baseline: eff(baselineCompute + baselineMemory),
      event: eff(eventCompute + eventMemory),
      baseline_compute: eff(baselineCompute),
      event_compute: eff(eventCompute),
    },
    latency: {
      cores: coreList,
      event: latency('event_ops', evDram.total),
      dense: latency('dense_ops', baseDram.total),
    },
  };
}
