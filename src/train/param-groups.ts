// Parameter groups: per-parameter learning-rate scale and weight decay chosen by
// the parameter's public name (`layers.0.attn_norm.weight`), the PyTorch
// `param_groups` idea reduced to rules. The usual rule — no weight decay on
// biases, norm gains, embeddings and neuron thresholds — is `NO_DECAY`.
import { ConfigError } from '../errors.js';

/** A rule selecting parameters by public name, with the options they get. */
export interface ParamGroup {
  /** Which parameters the group holds: a pattern tested on the name, or a predicate. */
  match: RegExp | ((name: string) => boolean);
  /** Weight decay of the group. @default the optimizer's `weightDecay` */
  weightDecay?: number;
  /** Multiplier of the optimizer's (scheduled) learning rate. @default 1 */
  lrScale?: number;
}

/** The options one parameter resolved to. */
export interface ResolvedGroup {
  /** Index of the first matching rule in `groups`, or -1 for the defaults. */
  readonly group: number;
  readonly weightDecay: number;
  readonly lrScale: number;
}

// A module whose parameters should not be decayed: norms (`attn_norm`, `ln_f`,
// `up_bn`, `LayerNorm`) and embeddings (`embed`, `wte`, `wpe`).
const NO_DECAY_OWNER = /norm|^ln(_|\d|$)|(^|_)bn\d*$|embed|^wte$|^wpe$/i;
// Parameters never decayed whatever their module: biases and neuron thresholds.
const NO_DECAY_LEAF = /^(bias|v_threshold)$/;

/**
 * True for a bias, a neuron threshold, or a parameter of a norm or embedding
 * module, judged by the last two segments of the dotted name:
 * `layers.0.mlp.up.bias`, `layers.0.attn_norm.weight`, `embed.weight` → true;
 * `layers.0.mlp.up.weight`, `lm_head.weight` → false.
 */
export function isNoDecayName(name: string): boolean {
  const segments = name.split('.');
  const leaf = segments[segments.length - 1];
  const owner = segments.length > 1 ? segments[segments.length - 2] : '';
  return NO_DECAY_LEAF.test(leaf) || NO_DECAY_OWNER.test(owner);
}

/** The usual group: no weight decay on biases, norms, embeddings and thresholds. */
export const NO_DECAY: ParamGroup = Object.freeze({ match: isNoDecayName, weightDecay: 0 });

function checkNonNegative(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${what} must be a finite number >= 0, got ${String(value)}`);
  }
}

/** Check a list of group rules once, naming the bad field. */
export function checkGroups(groups: readonly ParamGroup[]): void {
  groups.forEach((g, i) => {
    if (!(g.match instanceof RegExp) && typeof g.match !== 'function') {
      throw new ConfigError(`groups[${i}].match must be a RegExp or a function of the name`);
    }
    if (g.weightDecay !== undefined) checkNonNegative(g.weightDecay, `groups[${i}].weightDecay`);
    if (g.lrScale !== undefined) checkNonNegative(g.lrScale, `groups[${i}].lrScale`);
  });
}

/** The options of parameter `name`: the first matching rule wins, else the defaults. */
export function resolveGroup(
  name: string,
  groups: readonly ParamGroup[],
  defaultWeightDecay: number,
): ResolvedGroup {
  for (let i = 0; i < groups.length; i++) {
    const { match } = groups[i];
    // A fresh test per call: a /g or /y RegExp keeps `lastIndex` between calls.
    const hit =
      match instanceof RegExp ? new RegExp(match.source, match.flags).test(name) : match(name);
    if (hit) {
      return {
        group: i,
        weightDecay: groups[i].weightDecay ?? defaultWeightDecay,
        lrScale: groups[i].lrScale ?? 1,
      };
    }
  }
  return { group: -1, weightDecay: defaultWeightDecay, lrScale: 1 };
}
