// Neuron settings as users write them in config.json (snake_case, SpikingJelly's
// names: `tau`, `decay_input`, `v_threshold`, `v_reset`, `surrogate`, `detach_reset`,
// ...) <-> the typed camelCase parameters of the neuron core. Every field is
// validated; errors name the field and the offending value.
import { ConfigError } from '../errors.js';
import { makeLIFParams, spideResetAmount } from './lif.js';
import { makeILIFParams } from './integer.js';
import type { ILIFParams } from './integer.js';
import { makeTernaryParams } from './ternary.js';
import type { TernaryParams } from './ternary.js';
import { SURROGATE_NAMES, surrogate } from './surrogate.js';
import { validateASNOptions } from './asn.js';
import { validateNormOptions } from './nasn.js';
import { Fields } from './fields.js';
import type { Charge, LIFParams } from './types.js';

/** Neuron families a config can name. */
export const NEURON_KINDS = ['if', 'lif', 'ilif', 'asn', 'nasn', 'ternary'] as const;
/** One of `NEURON_KINDS`. */
export type NeuronKind = (typeof NEURON_KINDS)[number];

const SPIKING_KEYS = [
  'v_threshold',
  'v_reset',
  'u_rest',
  'surrogate',
  'surrogate_alpha',
  'spiking',
  'detach_reset',
  'detach_state',
  'trainable_threshold',
  'fused',
];
const ASN_KEYS = [
  'max_count',
  'decay_init',
  'threshold_init',
  'adaptive_gamma',
  'rate_penalty',
  'theta_grad_scale',
];

/** The config keys each neuron family accepts (besides `neuron` and `time_steps`). */
export const NEURON_CONFIG_KEYS: Readonly<Record<NeuronKind, readonly string[]>> = {
  if: SPIKING_KEYS,
  lif: [...SPIKING_KEYS, 'tau', 'decay_input', 'decay', 'input_gain'],
  ilif: ['decay', 'max_count'],
  asn: ASN_KEYS,
  nasn: [...ASN_KEYS, 'norm', 'norm_eps', 'norm_momentum'],
  ternary: ['v_threshold', 'u_rest', 'decay', 'surrogate', 'surrogate_alpha', 'spiking'],
};

/** ASN settings from a config ([P] defaults: D 4, lambda 0.25, theta 1, gamma 0, rho 0, 'lsq'). */
export interface ASNSettings {
  maxCount: number;
  lambdaInit: number;
  thetaInit: number;
  gamma: number;
  ratePenalty: number;
  gradScale: number | 'lsq';
}

/** A parsed, validated neuron config. */
export type NeuronSpec =
  | {
      neuron: 'if' | 'lif';
      timeSteps: number;
      params: LIFParams;
      /** Make v_threshold a trainable scalar (`layer`) or vector over channels (`channel`). */
      trainableThreshold: 'none' | 'layer' | 'channel';
      fused: boolean | 'auto';
    }
  | { neuron: 'ilif'; timeSteps: number; params: ILIFParams }
  | { neuron: 'asn'; timeSteps: number; params: ASNSettings }
  | {
      neuron: 'nasn';
      timeSteps: number;
      params: ASNSettings;
      norm: { kind: 'batch' | 'rms'; eps: number; momentum: number };
    }
  | { neuron: 'ternary'; timeSteps: number; params: TernaryParams };

function parseLIF(f: Fields, neuron: 'if' | 'lif'): LIFParams {
  let charge: Charge = { form: 'if' };
  if (neuron === 'lif') {
    if (f.has('decay')) {
      if (f.has('tau') || f.has('decay_input')) {
        throw new ConfigError(
          'neuron config: give either decay or tau (with decay_input), not both',
        );
      }
      charge = { form: 'lambda', lambda: f.num('decay', 0.5), gain: f.num('input_gain', 1) };
    } else {
      if (f.has('input_gain')) {
        throw new ConfigError('neuron config: input_gain needs decay (the lambda charge form)');
      }
      const tau = f.num('tau', 2);
      charge = f.bool('decay_input', true)
        ? { form: 'decay_input', tau }
        : { form: 'no_decay_input', tau };
    }
  }
  const vThreshold = f.num('v_threshold', 1);
  const vReset = f.numOrNull('v_reset', 0);
  let resetAmount: number | null = null;
  if (f.has('u_rest') && f.get('u_rest') !== null) {
    if (vReset !== null) {
      throw new ConfigError(
        `neuron config: u_rest (SPIDE's modified reset) needs the soft reset (v_reset null), got v_reset ${vReset}`,
      );
    }
    resetAmount = spideResetAmount(vThreshold, f.num('u_rest', -vThreshold));
    if (!(resetAmount > 0)) {
      throw new ConfigError(`neuron config: u_rest must be < v_threshold, got ${f.get('u_rest')}`);
    }
  }
  return makeLIFParams({
    charge,
    vThreshold,
    vReset,
    resetAmount,
    surrogate: surrogate(
      f.oneOf('surrogate', SURROGATE_NAMES, 'sigmoid'),
      f.optNum('surrogate_alpha'),
    ),
    smooth: !f.bool('spiking', true),
    detachReset: f.bool('detach_reset', false),
    detachState: f.bool('detach_state', false),
  });
}

function parseFused(v: unknown): boolean {
  if (typeof v !== 'boolean') {
    throw new ConfigError(
      `neuron config: fused must be true, false or "auto", got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function parseASN(f: Fields): ASNSettings {
  const gs = f.get('theta_grad_scale');
  const p: ASNSettings = {
    maxCount: f.posInt('max_count', 4),
    lambdaInit: f.num('decay_init', 0.25),
    thetaInit: f.num('threshold_init', 1),
    gamma: f.num('adaptive_gamma', 0),
    ratePenalty: f.num('rate_penalty', 0),
    gradScale: gs === undefined || gs === 'lsq' ? 'lsq' : f.num('theta_grad_scale', 0),
  };
  validateASNOptions(p);
  if (p.ratePenalty < 0) throw new ConfigError(`rate_penalty must be >= 0, got ${p.ratePenalty}`);
  return p;
}

/**
 * Parse and validate the neuron part of a config.json (an object with `neuron`,
 * `time_steps` and that family's keys; see `NEURON_CONFIG_KEYS`). Unknown keys are an
 * error unless `strict` is false (when the neuron keys sit among other model keys).
 */
export function parseNeuronConfig(cfg: unknown, strict = true): NeuronSpec {
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new ConfigError(`neuron config must be an object, got ${JSON.stringify(cfg)}`);
  }
  const f = new Fields(cfg as Record<string, unknown>);
  const neuron = f.oneOf('neuron', NEURON_KINDS, 'lif');
  if (strict) f.rejectUnknown(['neuron', 'time_steps', ...NEURON_CONFIG_KEYS[neuron]], neuron);
  const integer = neuron === 'ilif' || neuron === 'asn' || neuron === 'nasn';
  const timeSteps = f.posInt('time_steps', integer ? 1 : 4); // [P] defaults
  switch (neuron) {
    case 'if':
    case 'lif': {
      const tt = f.get('trainable_threshold');
      const trainable =
        tt === undefined || tt === false ? 'none' : tt === true ? 'layer' : undefined;
      const fusedRaw = f.get('fused');
      return {
        neuron,
        timeSteps,
        params: parseLIF(f, neuron),
        trainableThreshold:
          trainable ??
          f.oneOf('trainable_threshold', ['none', 'layer', 'channel'] as const, 'none'),
        fused: fusedRaw === undefined || fusedRaw === 'auto' ? 'auto' : parseFused(fusedRaw),
      };
    }
    case 'ilif':
      return {
        neuron,
        timeSteps,
        params: makeILIFParams({ decay: f.num('decay', 0.25), maxCount: f.posInt('max_count', 4) }),
      };
    case 'asn':
      return { neuron, timeSteps, params: parseASN(f) };
    case 'nasn': {
      const norm = {
        kind: f.oneOf('norm', ['batch', 'rms'] as const, 'batch'),
        eps: f.num('norm_eps', 1e-5),
        momentum: f.num('norm_momentum', 0.1),
      };
      validateNormOptions(norm.eps, norm.momentum);
      return { neuron, timeSteps, params: parseASN(f), norm };
    }
    case 'ternary': {
      const vThreshold = f.num('v_threshold', 0.5);
      return {
        neuron,
        timeSteps,
        params: makeTernaryParams({
          vThreshold,
          uRest: f.num('u_rest', -vThreshold),
          decay: f.num('decay', 1),
          surrogate: surrogate(
            f.oneOf('surrogate', SURROGATE_NAMES, 'sigmoid'),
            f.optNum('surrogate_alpha'),
          ),
          smooth: !f.bool('spiking', true),
        }),
      };
    }
  }
}

function lifToConfig(p: LIFParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const c = p.charge;
  if (c.form === 'decay_input' || c.form === 'no_decay_input') {
    out.tau = c.tau;
    out.decay_input = c.form === 'decay_input';
  } else if (c.form === 'lambda') {
    out.decay = c.lambda;
    out.input_gain = c.gain;
  }
  if (typeof p.vThreshold !== 'number') {
    throw new ConfigError(
      'a tensor v_threshold cannot be written to a config; save it as a weight',
    );
  }
  out.v_threshold = p.vThreshold;
  out.v_reset = p.vReset;
  if (p.resetAmount !== null) out.u_rest = p.vThreshold - p.resetAmount;
  out.surrogate = p.surrogate.name;
  out.surrogate_alpha = p.surrogate.alpha;
  out.spiking = !p.smooth;
  out.detach_reset = p.detachReset;
  out.detach_state = p.detachState;
  return out;
}

/** The snake_case config object of a neuron spec (every field explicit); inverse of `parseNeuronConfig`. */
export function neuronSpecToConfig(spec: NeuronSpec): Record<string, unknown> {
  const head = { neuron: spec.neuron, time_steps: spec.timeSteps };
  switch (spec.neuron) {
    case 'if':
    case 'lif':
      return {
        ...head,
        ...lifToConfig(spec.params),
        trainable_threshold: spec.trainableThreshold,
        fused: spec.fused,
      };
    case 'ilif':
      return { ...head, decay: spec.params.decay, max_count: spec.params.maxCount };
    case 'asn':
    case 'nasn': {
      const p = spec.params;
      const asn = {
        max_count: p.maxCount,
        decay_init: p.lambdaInit,
        threshold_init: p.thetaInit,
        adaptive_gamma: p.gamma,
        rate_penalty: p.ratePenalty,
        theta_grad_scale: p.gradScale,
      };
      if (spec.neuron === 'asn') return { ...head, ...asn };
      const n = spec.norm;
      return { ...head, ...asn, norm: n.kind, norm_eps: n.eps, norm_momentum: n.momentum };
    }
    case 'ternary': {
      const p = spec.params;
      return {
        ...head,
        v_threshold: p.vThreshold,
        u_rest: p.uRest,
        decay: p.decay,
        surrogate: p.surrogate.name,
        surrogate_alpha: p.surrogate.alpha,
        spiking: !p.smooth,
      };
    }
  }
}
