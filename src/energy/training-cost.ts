// Training cost model (methods-language.md 5(b), after the multi-core training
// architecture of arXiv 2412.05302; a software model, not the paper's simulator):
// per layer and per training iteration, the forward (FP), backward (BP) and
// weight-gradient (WG) operation counts, dense and event-driven, the neuron-state
// updates, the DRAM traffic of a GPU-style baseline and of the event-driven scheme,
// the energy `E = Σ ops·e_op + Σ bytes·e_mem` (6.2 costs, training-config.ts), the
// efficiency `dense-equivalent FLOPs / E` and a latency model over a layer-to-core
// assignment. How the gradients are obtained is a parameter (`rule`).
//
// Usage:
//   const c = new TrainingCostCollector();               // training-collect.ts
//   c.count(() => trainStep(batch));                      // one real training step (student
//                                                         // only: not a teacher's forward)
//   const r = trainingCostReport(c, { rule: 'bptt', model, step }); // T as recorded
//   results.training_cost = r;                            // JSON-able
//   log(formatTrainingCost(r));                           // training-format.ts
// or, from shapes and rates alone: `trainingCost([{ layer, in_features, out_features,
// rows, input_encoding: 'spike', f_in, g_out }], { rule: 'sltt', time_steps: 6 })`, with
// `conv2dTrainingLayer(rates, shape)` for convolutions. Types: training-types.ts; sums,
// energy, efficiency and latency: training-totals.ts. Layers report through the recorder
// (src/layers Linear does); the IF/LIF neuron core reports its membranes to a recorder
// that implements `recordNeuron`.
//
// Per linear layer `C_in → C_out`, `M` rows per step, `F = M·C_in·C_out` dense MACs
// per step, `X_in = M·C_in`, `X_out = M·C_out`, input spike rate `f_in`, fraction
// `g_out` of output membranes where the surrogate derivative is non-zero, and `g_in`
// the same fraction of the neurons that produced the input:
//   FP  dense T·F            sparse f_in·T·F          AC (MAC for real input)
//   BP  dense T_bp·F         sparse g_out·T_bp·F      FP16 MAC      (skipped for the input layer)
//   WG  dense T_wg·F         sparse f_in·g_out·T_wg·F FP16 accumulate (MAC for real or trace input)
//   neuron forward 3·T·X_out (charge MAC, compare, reset); backward per step of T_bp: surrogate,
//   gate δ·σ' (sparse g_out) and, for BPTT only, the membrane recurrence through T (MAC).
// Rules [P, our accounting of methods-vision.md 1, 3, 4, 5]:
//   bptt   T_bp = T_wg = T; one FP and one BP pass over all T steps; the tensors saved for
//          the backward (the stash) are held for all T steps.
//   sltt   same op counts per step, no recurrence; the backward follows each step, so the
//          stash of ONE step is held, and weights are read once per step-pass.
//   sltt-k backward (BP, WG, surrogate) at K of the T steps only.
//   ottt   as sltt, plus the presynaptic trace update (T·X_in MACs); WG reads the real-valued
//          trace instead of the spikes (FP16 MAC), sparse in g_out and in the trace's non-zero
//          fraction `traceDensity(f_in, T)` (independent spikes assumed [I]).
//   opzo   no BP through layers; per hidden layer and step the node perturbation (T·X_out
//          mul + add), the top-down signal `g = e·Mᵀ` (T·X_out·m MACs), the feedback update
//          `M ← λM + c·Σ z⊗õ` (T·X_out·m MACs + T·C_out·m mul and MAC), δ = g ⊙ σ' (gate);
//          WG from the trace as OTTT; the readout's WG is its exact local gradient. With
//          `opzo_noise: 'post'` (the toolkit's rule) a layer fed by perturbed spikes sees a
//          real-valued input: its FP is T·F MACs in both schemes. `pre` keeps spikes binary.
// DRAM traffic (5(b)); each inter-layer tensor is counted once, where it is read:
//   baseline: every tensor dense at b_g bytes/element; FP reads W and the input, writes U;
//             BP/WG re-read W, the input, U and δ_out, write δ_in and ΔW.
//   event:    spikes 1 bit/element (`bitmap`) or ceil(log2 C_in) bits per event (`aer`),
//             σ' a 1-bit mask for the rectangular surrogate (else the mask plus b_g bytes for
//             the g_out fraction, or dense values when smaller), δ_out only for the g_out
//             fraction, δ_in only for the g_in fraction (the upstream surrogate masks the rest).
//   Stash (input or trace, U or σ') and weights with their gradient stay on chip when they fit
//   `on_chip_bytes` (then priced at SRAM cost); else weights are re-read per pass and ΔW is
//   read-modified-written per WG pass.
// NOTE: a batch norm with batch statistics between a layer and its neuron makes δ dense;
// set `g_out = 1` for such layers (the collector cannot see it). Binary weights are
// stored at `weight_bytes` like any other (no packing is modelled for them).
import { ConfigError, checkPositiveInt } from '../errors.js';
import { checkRate, conv2dFlops } from './flops.js';
import type { Conv2dShape } from './flops.js';
import type { Encoding } from './recorder.js';
import { bitsPerElement } from './tally.js';
import { resolveTrainingCostConfig } from './training-config.js';
import type { TrainingCostConfig } from './training-config.js';
import { assignCores, emptyTraffic, opEnergyPj, totalsOf, withTotal } from './training-totals.js';
import { GRADIENT_RULES } from './training-types.js';
import type {
  Engine,
  GradientRule,
  LayerTrainingCost,
  MaskSurrogate,
  OpTerm,
  OpType,
  Traffic,
  TrainingCostOptions,
  TrainingCostReport,
  TrainingLayer,
} from './training-types.js';

const ENCODINGS: readonly Encoding[] = ['spike', 'ternary', 'integer', 'real'];
const SURROGATES: readonly MaskSurrogate[] = ['rectangular', 'triangle', 'sigmoid', 'atan'];

/** Steps and passes of a rule: which steps run a backward, and how many weight passes. */
interface Schedule {
  /** Steps with a BP (δ_in) and a surrogate backward. */
  bp: number;
  /** Steps with a WG. */
  wg: number;
  /** Steps whose stash is held at once. */
  held: number;
  /** Weight-read passes of FP / BP, ΔW passes of WG. */
  fpPasses: number;
  bpPasses: number;
  wgPasses: number;
  recurrence: boolean;
  trace: boolean;
}

function schedule(rule: GradientRule, T: number, K: number): Schedule {
  switch (rule) {
    case 'bptt':
      return {
        bp: T,
        wg: T,
        held: T,
        fpPasses: 1,
        bpPasses: 1,
        wgPasses: 1,
        recurrence: true,
        trace: false,
      };
    case 'sltt':
      return {
        bp: T,
        wg: T,
        held: 1,
        fpPasses: T,
        bpPasses: T,
        wgPasses: T,
        recurrence: false,
        trace: false,
      };
    case 'sltt-k':
      return {
        bp: K,
        wg: K,
        held: 1,
        fpPasses: T,
        bpPasses: K,
        wgPasses: K,
        recurrence: false,
        trace: false,
      };
    case 'ottt':
      return {
        bp: T,
        wg: T,
        held: 1,
        fpPasses: T,
        bpPasses: T,
        wgPasses: T,
        recurrence: false,
        trace: true,
      };
    case 'opzo':
      return {
        bp: 0,
        wg: T,
        held: 1,
        fpPasses: T,
        bpPasses: 0,
        wgPasses: T,
        recurrence: false,
        trace: true,
      };
  }
}

/** Bits per element of an event-driven spike tensor, and the format chosen. */
export function eventSpikeBits(
  encoding: Encoding,
  fIn: number,
  inFeatures: number,
  c: Pick<TrainingCostConfig, 'spike_format' | 'grad_bytes'>,
  maxCount?: number,
): { bits: number; format: 'bitmap' | 'aer' | null } {
  if (encoding === 'real') return { bits: 8 * c.grad_bytes, format: null };
  if (encoding === 'integer') return { bits: bitsPerElement('integer', maxCount), format: null };
  const flag = encoding === 'ternary' ? 1 : 0; // a sign bit per ternary event
  const bitmap = 1 + flag;
  const aer = fIn * (Math.max(1, Math.ceil(Math.log2(inFeatures))) + flag);
  const useAer = c.spike_format === 'aer' || (c.spike_format === 'auto' && aer < bitmap);
  return useAer ? { bits: aer, format: 'aer' } : { bits: bitmap, format: 'bitmap' };
}

/** The shape fields `conv2dTrainingLayer` fills in. */
type ShapeFields =
  | 'in_features'
  | 'out_features'
  | 'rows'
  | 'macs_per_step'
  | 'in_elements'
  | 'weights'
  | 'address_range';

/**
 * A 2-D convolution as a cost-model layer: fan-in `C_in/groups·k²` as `in_features`,
 * rows `B·H_out·W_out`, MACs `B·conv2dFlops`, input elements `B·C_in·H_in·W_in` (also
 * the AER address range) and `C_out·C_in/groups·k²` weights.
 */
export function conv2dTrainingLayer(
  rates: Omit<TrainingLayer, ShapeFields>,
  shape: Conv2dShape & { batch: number; inHeight: number; inWidth: number },
): TrainingLayer {
  checkPositiveInt(shape.batch, 'batch');
  checkPositiveInt(shape.inHeight, 'inHeight');
  checkPositiveInt(shape.inWidth, 'inWidth');
  const macs = conv2dFlops(shape); // per image; validates the shape
  const fanIn = (shape.inChannels / (shape.groups ?? 1)) * shape.kernel * shape.kernel;
  const inPerImage = shape.inChannels * shape.inHeight * shape.inWidth;
  return {
    ...rates,
    in_features: fanIn,
    out_features: shape.outChannels,
    rows: shape.batch * shape.outHeight * shape.outWidth,
    macs_per_step: shape.batch * macs,
    in_elements: shape.batch * inPerImage,
    weights: shape.outChannels * fanIn,
    address_range: inPerImage,
  };
}

/**
 * Fraction of non-zero entries of a presynaptic trace `â[t] = λ·â[t−1] + s[t]` over T steps
 * when each spike is an independent Bernoulli(f): `1 − (1/T)·Σ_{t=1..T} (1 − f)^t` [I].
 * 1 at f = 1, 0 at f = 0.
 */
export function traceDensity(f: number, T: number): number {
  let zero = 0;
  for (let t = 1; t <= T; t++) zero += (1 - f) ** t;
  return 1 - zero / T;
}

function checkLayer(l: TrainingLayer): void {
  const where = `training cost layer '${String(l.layer)}'`;
  if (typeof l.layer !== 'string' || l.layer.length === 0) {
    throw new ConfigError(`layer must be a non-empty name, got ${JSON.stringify(l.layer)}`);
  }
  checkPositiveInt(l.in_features, `${where}: in_features`);
  checkPositiveInt(l.out_features, `${where}: out_features`);
  if (!(Number.isFinite(l.rows) && l.rows > 0)) {
    throw new ConfigError(`${where}: rows must be a finite number > 0, got ${String(l.rows)}`);
  }
  if (l.address_range !== undefined) checkPositiveInt(l.address_range, `${where}: address_range`);
  for (const key of ['macs_per_step', 'in_elements', 'weights'] as const) {
    const v = l[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw new ConfigError(`${where}: ${key} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (!ENCODINGS.includes(l.input_encoding)) {
    throw new ConfigError(
      `${where}: input_encoding must be one of ${ENCODINGS.join(', ')}, got ${JSON.stringify(l.input_encoding)}`,
    );
  }
  if (l.max_count !== undefined) checkPositiveInt(l.max_count, `${where}: max_count`);
  if (l.time_steps !== undefined) checkPositiveInt(l.time_steps, `${where}: time_steps`);
  checkRate(l.f_in, `${where}: f_in`);
  checkRate(l.g_out, `${where}: g_out`);
  if (l.g_in !== undefined) checkRate(l.g_in, `${where}: g_in`);
  if (l.surrogate !== undefined && !SURROGATES.includes(l.surrogate)) {
    throw new ConfigError(
      `${where}: surrogate must be one of ${SURROGATES.join(', ')}, got ${JSON.stringify(l.surrogate)}`,
    );
  }
}

interface Ctx {
  rule: GradientRule;
  T: number;
  s: Schedule;
  m: number;
  c: TrainingCostConfig;
}

/** Op counts of one layer under a rule (see the file header). */
function layerOps(l: TrainingLayer, x: Ctx): OpTerm[] {
  const { T, s, c } = x;
  const F = l.macs_per_step ?? l.rows * l.in_features * l.out_features;
  const xIn = l.in_elements ?? l.rows * l.in_features;
  const xOut = l.rows * l.out_features;
  const spikeIn = l.input_encoding !== 'real';
  const D = l.input_encoding === 'integer' ? (l.max_count ?? 1) : 1;
  const perturbedIn = x.rule === 'opzo' && c.opzo_noise === 'post' && spikeIn;
  const fIn = spikeIn ? l.f_in : 1;
  const g = l.g_out;
  const ops: OpTerm[] = [];
  const add = (engine: Engine, type: OpType, dense: number, sparse: number, denseType = type) => {
    ops.push({ engine, type, dense_type: denseType, dense, sparse });
  };
  // FP: U = S_in W.
  if (perturbedIn) add('fp', 'mac', T * F, T * F);
  else if (spikeIn) add('fp', 'ac', T * D * F, fIn * T * D * F, 'mac');
  else add('fp', 'mac', T * F, T * F);
  // BP: δ_in = (δ_out ⊙ σ') Wᵀ.
  if (s.bp > 0 && (l.needs_input_grad ?? true)) add('bp', 'mac', s.bp * F, g * s.bp * F);
  // WG: ΔW = Σ_t input_tᵀ (δ_out ⊙ σ').
  const traceIn = s.trace && spikeIn;
  if (traceIn) add('wg', 'mac', s.wg * F, traceDensity(Math.min(1, fIn * D), T) * g * s.wg * F);
  else if (!spikeIn) add('wg', 'mac', s.wg * F, g * s.wg * F);
  else if (l.input_encoding === 'integer') {
    // NOTE: the non-zero fraction of counts is bounded by the mean count f_in·D.
    add('wg', 'mac', s.wg * F, Math.min(1, fIn * D) * g * s.wg * F);
  } else add('wg', 'acc', s.wg * F, fIn * g * s.wg * F, 'mac');
  if (traceIn) add('trace', 'mac', T * xIn, T * xIn); // â = λâ + s
  if (l.neuron ?? true) {
    add('neuron_fwd', 'mac', T * xOut, T * xOut); // charge
    add('neuron_fwd', 'add', 2 * T * xOut, 2 * T * xOut); // compare, reset
    const bwd = x.rule === 'opzo' ? T : s.bp;
    add('neuron_bwd', 'add', bwd * xOut, bwd * xOut); // surrogate σ'(H − θ)
    add('neuron_bwd', 'mul', bwd * xOut, g * bwd * xOut); // δ ⊙ σ'
    if (s.recurrence) add('neuron_bwd', 'mac', T * xOut, T * xOut); // ε[t] += λ ε[t+1]
    if (x.rule === 'opzo') {
      add('noise', 'mul', T * xOut, T * xOut); // α·z
      add('noise', 'add', T * xOut, T * xOut); // s + α·z (or u + α·z)
      add('feedback', 'mac', 2 * T * xOut * x.m, 2 * T * xOut * x.m); // e·Mᵀ and Σ_b z⊗õ
      add('feedback', 'mul', T * l.out_features * x.m, T * l.out_features * x.m); // λ·M
      add('feedback', 'mac', T * l.out_features * x.m, T * l.out_features * x.m); // + c·update
    }
  }
  return ops;
}

interface LayerTraffic {
  dram: Traffic;
  sram: number;
  stash: number;
  stashOnChip: boolean;
}

/** DRAM traffic of one layer in one scheme (see the file header). */
function layerTraffic(
  l: TrainingLayer,
  x: Ctx,
  scheme: 'baseline' | 'event',
  inBits: number,
  weightsOnChip: boolean,
): LayerTraffic {
  const { T, s, c } = x;
  const bg = c.grad_bytes;
  const xIn = l.in_elements ?? l.rows * l.in_features;
  const xOut = l.rows * l.out_features;
  const W = l.weights ?? l.in_features * l.out_features;
  const neuron = l.neuron ?? true;
  const needsIn = l.needs_input_grad ?? true;
  const spikeIn = l.input_encoding !== 'real';
  const perturbedIn = x.rule === 'opzo' && x.c.opzo_noise === 'post' && spikeIn;
  const traceIn = s.trace && spikeIn;
  const event = scheme === 'event';
  const g = l.g_out;
  const t = emptyTraffic();
  let sram = 0;
  // Input read by the FP at every step (the previous layer's output).
  const inCat = spikeIn && !perturbedIn ? 'spikes' : 'activations';
  t[inCat] += (T * xIn * inBits) / 8;
  // Stash: the WG operand (input or trace) and U / σ' of the steps with a backward.
  const wgBits = traceIn ? 8 * bg : inBits;
  const sigBits = !neuron
    ? 0
    : !event
      ? 8 * bg
      : l.surrogate === 'rectangular' || l.surrogate === undefined
        ? 1
        : Math.min(1 + g * 8 * bg, 8 * bg); // mask + values, or dense values
  const stepStash = (xIn * wgBits + xOut * sigBits) / 8;
  const stash = s.held * stepStash;
  const stashOnChip = stash <= c.on_chip_bytes;
  const stashMoves = {
    operand: (s.wg * xIn * wgBits) / 8 + (traceIn ? (s.wg * xIn * wgBits) / 8 : 0), // trace written too
    sigma: (2 * s.wg * xOut * sigBits) / 8, // written in FP, read in BP/WG
  };
  if (stashOnChip) sram += stashMoves.operand + stashMoves.sigma;
  else {
    t[traceIn ? 'traces' : inCat] += stashMoves.operand;
    t.surrogate += stashMoves.sigma;
  }
  // Deltas: δ_out read at the WG steps (OPZO: the output error e instead), δ_in written.
  if (x.rule === 'opzo') {
    t.deltas += T * l.rows * x.m * bg; // e[t], for g = e·Mᵀ (hidden) or the readout's own WG
  } else {
    t.deltas += s.wg * xOut * (event && neuron ? g : 1) * bg;
  }
  if (needsIn && s.bp > 0) t.deltas += s.bp * xIn * (event ? (l.g_in ?? 1) : 1) * bg;
  // Weights and their gradient.
  const bpPasses = needsIn ? s.bpPasses : 0;
  if (weightsOnChip) {
    t.weights += W * c.weight_bytes;
    t.weight_grads += W * bg;
    sram += (s.fpPasses + bpPasses - 1) * W * c.weight_bytes + (2 * s.wgPasses - 2) * W * bg;
  } else {
    t.weights += (s.fpPasses + bpPasses) * W * c.weight_bytes;
    t.weight_grads += (2 * s.wgPasses - 1) * W * bg; // first write, then read-modify-write
  }
  if (x.rule === 'opzo' && neuron) t.feedback += 2 * l.out_features * x.m * bg; // M read + write
  return { dram: withTotal(t), sram, stash, stashOnChip };
}

/**
 * The training cost of `layers` (in forward order) for one iteration under `opts.rule`;
 * a JSON-able report with per-layer rows and totals. Throws ConfigError naming a bad field.
 */
export function trainingCost(
  layers: readonly TrainingLayer[],
  opts: TrainingCostOptions,
): TrainingCostReport {
  if (!GRADIENT_RULES.includes(opts.rule)) {
    throw new ConfigError(
      `rule must be one of ${GRADIENT_RULES.join(', ')}, got ${JSON.stringify(opts.rule)}`,
    );
  }
  checkPositiveInt(opts.time_steps, 'time_steps');
  const T = opts.time_steps;
  let K = T;
  if (opts.rule === 'sltt-k') {
    if (opts.k === undefined) throw new ConfigError('rule sltt-k needs k (steps with a backward)');
    checkPositiveInt(opts.k, 'k');
    if (opts.k > T) throw new ConfigError(`k must be <= time_steps ${T}, got ${opts.k}`);
    K = opts.k;
  }
  if (layers.length === 0) throw new ConfigError('training cost needs at least one layer');
  const names = new Set<string>();
  for (const l of layers) {
    checkLayer(l);
    if (names.has(l.layer)) throw new ConfigError(`layer '${l.layer}' is listed twice`);
    names.add(l.layer);
  }
  const m = opts.outputs ?? layers[layers.length - 1].out_features;
  checkPositiveInt(m, 'outputs');
  const c = resolveTrainingCostConfig(opts.config);
  // A layer may run fewer steps than T (a real input reported once over T·B rows): its
  // backward steps under sltt-k are the same fraction K/T of its own steps.
  const ctx = (l: TrainingLayer): Ctx => {
    const Tl = l.time_steps ?? T;
    return { rule: opts.rule, T: Tl, s: schedule(opts.rule, Tl, (K * Tl) / T), m, c };
  };
  const cores = assignCores(layers, opts.cores);

  const rows = layers.map((l, i): LayerTrainingCost => {
    const x = ctx(l);
    const ops = layerOps(l, x);
    const W = l.weights ?? l.in_features * l.out_features;
    const weightsOnChip = W * (c.weight_bytes + c.grad_bytes) <= c.on_chip_bytes;
    const baseBits = 8 * c.grad_bytes;
    const perturbedIn = x.rule === 'opzo' && c.opzo_noise === 'post' && l.input_encoding !== 'real';
    const ev = perturbedIn
      ? { bits: baseBits, format: null }
      : eventSpikeBits(l.input_encoding, l.f_in, l.address_range ?? l.in_features, c, l.max_count);
    const base = layerTraffic(l, x, 'baseline', baseBits, weightsOnChip);
    const evt = layerTraffic(l, x, 'event', ev.bits, weightsOnChip);
    const opE = (sparse: boolean) =>
      ops.reduce(
        (sum, o) =>
          sum + (sparse ? o.sparse * opEnergyPj(o.type, c) : o.dense * opEnergyPj(o.dense_type, c)),
        0,
      );
    const memE = (t: LayerTraffic) =>
      t.dram.total * c.e_dram_pj_per_byte + t.sram * c.e_sram_pj_per_byte;
    return {
      layer: l.layer,
      input_encoding: l.input_encoding,
      f_in: l.input_encoding === 'real' ? 1 : l.f_in,
      g_out: l.g_out,
      g_in: l.g_in ?? 1,
      needs_input_grad: l.needs_input_grad ?? true,
      neuron: l.neuron ?? true,
      core: cores[i],
      spike_format: ev.format,
      ops,
      dram_bytes: { baseline: base.dram, event: evt.dram },
      sram_bytes: { baseline: base.sram, event: evt.sram },
      stash_bytes: { baseline: base.stash, event: evt.stash },
      stash_on_chip: { baseline: base.stashOnChip, event: evt.stashOnChip },
      weights_on_chip: weightsOnChip,
      energy_pj: { baseline: opE(false) + memE(base), event: opE(true) + memE(evt) },
    };
  });
  return {
    model: opts.model ?? null,
    step: opts.step ?? null,
    rule: opts.rule,
    time_steps: T,
    k: opts.rule === 'sltt-k' ? K : null,
    outputs: opts.rule === 'opzo' ? m : null,
    convention: c,
    layers: rows,
    unmodelled: [...(opts.unmodelled ?? [])],
    totals: totalsOf(rows, c),
  };
}
