// Tallies made from shapes plus firing rates, without running a model: one layer
// from (T, FLOPs, fr), the spiking attention products, and a whole spiking
// Transformer LM laid out as in the per-block table of methods-language.md 6.1.
import { ConfigError, checkFinite, checkPositiveInt } from '../errors.js';
import { attentionMapEntries, checkRate, topkComparisons, transformerBlockFlops } from './flops.js';
import type { Encoding } from './recorder.js';
import { emptyTally } from './tally.js';
import type { LayerTally } from './tally.js';

/** One layer given by its FLOPs per step and the firing rate of its input. */
export interface RateSpec {
  layer: string;
  /** Default `linear`. */
  kind?: 'linear' | 'attention';
  /** Default `spike`; `real` input is priced as MAC and needs no rate. */
  encoding?: Encoding;
  /** Effective binary time steps `T` (`T · D` for an integer-count input). */
  timeSteps: number;
  /** FLOPs for one time step as if the input were dense. */
  flops: number;
  /** Firing rate of the entering tensor (fraction of ones over the `timeSteps` binary steps). */
  firingRate?: number;
  /** Attention with two spike operands: the second operand's rate. */
  otherRate?: number;
  /** Real-valued first layer (priced by the first-layer rule). */
  firstLayer?: boolean;
}

/**
 * A tally for one forward of one layer, from its rate: `SOPs = T · fr · FLOPs`
 * (with two operands `T · c(fr_a, fr_b) · FLOPs`). The slot/event fields are
 * notional (`slots = T`, `events = fr · T`) so that `firing_rate` reads back `fr`.
 */
export function tallyFromRate(spec: RateSpec): LayerTally {
  const encoding = spec.encoding ?? 'spike';
  const T = spec.timeSteps;
  checkPositiveInt(T, `${spec.layer}: timeSteps`);
  checkFinite(spec.flops, `${spec.layer}: flops`);
  if (spec.flops < 0) throw new ConfigError(`${spec.layer}: flops must be >= 0, got ${spec.flops}`);
  const t = emptyTally(spec.layer, spec.kind ?? 'linear', encoding, spec.firstLayer ?? false);
  t.calls = 1;
  t.time_steps = T;
  t.flops = spec.flops;
  t.dense_ops = spec.flops * T;
  t.slots = T;
  if (encoding === 'real') {
    t.events = T;
    return t;
  }
  if (spec.firingRate === undefined) {
    throw new ConfigError(`${spec.layer}: firingRate is required for ${encoding} input`);
  }
  checkRate(spec.firingRate, `${spec.layer}: firingRate`);
  const fr = spec.firingRate;
  t.events = fr * T;
  if (spec.otherRate === undefined) {
    t.sops_one_operand = t.sops_two_operand = T * fr * spec.flops;
  } else {
    checkRate(spec.otherRate, `${spec.layer}: otherRate`);
    t.other_slots = T;
    t.other_events = spec.otherRate * T;
    t.sops_one_operand = T * Math.min(fr, spec.otherRate) * spec.flops;
    t.sops_two_operand = T * fr * spec.otherRate * spec.flops;
  }
  return t;
}

/** A non-AC operation (softmax, norm, top-k comparisons), listed apart from the energy. */
export function otherOpTally(layer: string, op: string, ops: number): LayerTally {
  checkFinite(ops, `${layer}: ops`);
  const t = emptyTally(layer, 'other', 'real', false, op);
  t.calls = 1;
  t.time_steps = 1;
  t.flops = t.dense_ops = ops;
  return t;
}

/** Spikingformer SSA as two products: `Kᵀ V` (both operands spikes) then `Q (Kᵀ V)`. */
export function spikformerAttentionTallies(
  prefix: string,
  r: { T: number; H: number; N: number; d: number; frQ: number; frK: number; frV: number },
): LayerTally[] {
  const flops = r.H * r.N * r.d * r.d;
  const base = { kind: 'attention' as const, timeSteps: r.T, flops };
  return [
    tallyFromRate({ ...base, layer: `${prefix}.kv`, firingRate: r.frK, otherRate: r.frV }),
    tallyFromRate({ ...base, layer: `${prefix}.q_kv`, firingRate: r.frQ }),
  ];
}

/** Token-map attention as `Q Kᵀ` and `A V`, each over `M` map entries (causal: `N(N+1)/2`). */
export function tokenMapAttentionTallies(
  prefix: string,
  r: {
    T: number;
    H: number;
    N: number;
    d: number;
    frQ: number;
    frK: number;
    frV: number;
    frA: number;
  },
  causal: boolean,
): LayerTally[] {
  const flops = r.H * attentionMapEntries(r.N, causal) * r.d;
  const base = { kind: 'attention' as const, timeSteps: r.T, flops };
  return [
    tallyFromRate({ ...base, layer: `${prefix}.qk`, firingRate: r.frQ, otherRate: r.frK }),
    tallyFromRate({ ...base, layer: `${prefix}.av`, firingRate: r.frA, otherRate: r.frV }),
  ];
}

/** Shapes of a spiking Transformer LM. */
export interface SpikingLMShape {
  T: number;
  N: number;
  D: number;
  H: number;
  /** MLP hidden width. Default `4 · D`. */
  hidden?: number;
  /** Vocabulary size; omit for no LM head. */
  V?: number;
  /** `spikformer` (`Kᵀ V` first, linear in N) or `token-map` (WSSA/CWSSA/SFSA). */
  attention: 'spikformer' | 'token-map';
  /** Causal token map (`N(N+1)/2` entries). Default `true` for `token-map`. */
  causal?: boolean;
  /** k of a k-WTA map: adds the top-k comparisons as a non-AC op. */
  wtaK?: number;
}

/** Firing rates of the tensors entering each sub-layer of one block (6.1 table). */
export interface BlockRates {
  /** `SN(X)` feeding Q/K/V. */
  attnIn: number;
  q: number;
  k: number;
  v: number;
  /** Token-map density over its allowed entries (`token-map` only). */
  a?: number;
  /** Attention-output spikes feeding the output projection. */
  attnOut: number;
  /** `SN(X)` feeding the MLP. */
  mlpIn: number;
  /** Hidden spikes feeding the MLP down projection. */
  hidden: number;
}

/**
 * The layer table of a spiking Transformer LM from shapes and rates; the embedding
 * lookup is a table read (0 FLOPs). `head`: rate of the final spikes feeding the
 * LM head (`T` steps), or `real` for a head that reads real values once (MAC).
 */
export function spikingTransformerTallies(
  shape: SpikingLMShape,
  blocks: BlockRates[],
  head?: number | 'real',
): LayerTally[] {
  const { T, N, D, H } = shape;
  checkPositiveInt(H, 'H');
  if (D % H !== 0) throw new ConfigError(`D ${D} is not divisible by H ${H}`);
  const d = D / H;
  const f = transformerBlockFlops(N, D, shape.hidden);
  const causal = shape.causal ?? shape.attention === 'token-map';
  const out: LayerTally[] = [];
  blocks.forEach((r, i) => {
    const p = `layers.${i}`;
    for (const name of ['q', 'k', 'v']) {
      out.push(
        tallyFromRate({
          layer: `${p}.attn.${name}`,
          timeSteps: T,
          flops: f.qkv / 3,
          firingRate: r.attnIn,
        }),
      );
    }
    const rates = { T, H, N, d, frQ: r.q, frK: r.k, frV: r.v };
    if (shape.attention === 'spikformer') {
      out.push(...spikformerAttentionTallies(`${p}.attn`, rates));
    } else {
      if (r.a === undefined)
        throw new ConfigError(
          `layers.${i}: rate a (map density) is required for token-map attention`,
        );
      out.push(...tokenMapAttentionTallies(`${p}.attn`, { ...rates, frA: r.a }, causal));
      if (shape.wtaK !== undefined) {
        out.push(otherOpTally(`${p}.attn.topk`, 'topk', topkComparisons(T, H, N, causal)));
      }
    }
    out.push(
      tallyFromRate({ layer: `${p}.attn.o`, timeSteps: T, flops: f.out, firingRate: r.attnOut }),
    );
    out.push(
      tallyFromRate({ layer: `${p}.mlp.up`, timeSteps: T, flops: f.mlp_up, firingRate: r.mlpIn }),
    );
    out.push(
      tallyFromRate({
        layer: `${p}.mlp.down`,
        timeSteps: T,
        flops: f.mlp_down,
        firingRate: r.hidden,
      }),
    );
  });
  if (shape.V !== undefined && head !== undefined) {
    const flops = N * D * shape.V;
    out.push(
      head === 'real'
        ? tallyFromRate({ layer: 'lm_head', encoding: 'real', timeSteps: 1, flops })
        : tallyFromRate({ layer: 'lm_head', timeSteps: T, flops, firingRate: head }),
    );
  }
  return out;
}
