// config.json of the spiking vision nets (`model_type: "spiking-vision"`): a spiking
// MLP or a small spiking CNN over `[H, W, C]` images, any neuron of the core that
// runs step by step (IF, LIF, ASN), an optional normaliser, and DSR's spike form.
// Keys are snake_case; every field is checked and errors name it.
import { ConfigError, checkPositiveInt } from '../../src/errors.js';
import { NEURON_KINDS, parseNeuronConfig } from '../../src/neurons/index.js';
import type { NeuronSpec } from '../../src/neurons/index.js';
import { checkPoolKind } from '../../src/layers/index.js';
import type { PoolKind } from '../../src/layers/index.js';

export const VISION_MODEL_TYPE = 'spiking-vision';
export const VISION_ARCHS = ['mlp', 'cnn'] as const;
export type VisionArch = (typeof VISION_ARCHS)[number];
/** `batch`: BatchNorm per step (statistics over the batch of one step); `sws`: scaled weight standardisation. */
export const VISION_NORMS = ['none', 'batch', 'sws'] as const;
export type VisionNorm = (typeof VISION_NORMS)[number];
/** Neuron families a vision net can run step by step. */
export const VISION_NEURONS = ['if', 'lif', 'asn'] as const;

/**
 * DSR's spike form (methods-vision.md 2(b)): fire at `alpha * V_th`, subtract `V_th`,
 * spikes carry `V_th` (IF, `dt` null) or `V_th / dt` (LIF).
 */
export interface DsrSpikes {
  alpha: number;
  dt: number | null;
}

/** A validated vision-net config. */
export interface VisionNetConfig {
  arch: VisionArch;
  /** `[H, W, C]`. */
  inputShape: [number, number, number];
  numClasses: number;
  /** MLP hidden widths, or the CNN's fully connected widths after the convolutions. */
  hidden: number[];
  /** CNN only: output channels of each conv block (conv, norm, neuron, pool). */
  channels: number[];
  kernelSize: number;
  pool: PoolKind;
  norm: VisionNorm;
  /** The neuron config as written (snake_case, no time_steps). */
  neuron: Record<string, unknown>;
  /** The parsed neuron. */
  neuronSpec: NeuronSpec;
  timeSteps: number;
  dsr: DsrSpikes | null;
  seed: number;
}

/** The vision LIF of OTTT/SLTT/OPZO's code: lambda 0.5, V_th 1, soft reset detached, sigmoid alpha 4 [V]. */
export const VISION_LIF: Readonly<Record<string, unknown>> = Object.freeze({
  neuron: 'lif',
  decay: 0.5,
  v_threshold: 1,
  v_reset: null,
  detach_reset: true,
  surrogate: 'sigmoid',
  surrogate_alpha: 4,
});

const KEYS = [
  'model_type',
  'arch',
  'input_shape',
  'num_classes',
  'hidden',
  'channels',
  'kernel_size',
  'pool',
  'norm',
  'neuron',
  'time_steps',
  'dsr',
  'seed',
];

function posIntList(v: unknown, field: string, allowEmpty: boolean): number[] {
  if (!Array.isArray(v) || (!allowEmpty && v.length === 0)) {
    throw new ConfigError(
      `${field} must be a${allowEmpty ? 'n' : ' non-empty'} array of positive integers, got ${JSON.stringify(v)}`,
    );
  }
  v.forEach((x, i) => checkPositiveInt(x as number, `${field}[${i}]`));
  return v as number[];
}

/** Parse and check a vision config (a config.json object, or overrides of the defaults). */
export function parseVisionConfig(
  raw: Record<string, unknown>,
  source = 'config.json',
): VisionNetConfig {
  const unknown = Object.keys(raw).filter((k) => !KEYS.includes(k));
  if (unknown.length) {
    throw new ConfigError(
      `${source}: unknown field(s) ${unknown.join(', ')}; known: ${KEYS.join(', ')}`,
    );
  }
  if (raw.model_type !== undefined && raw.model_type !== VISION_MODEL_TYPE) {
    throw new ConfigError(
      `${source}: model_type must be "${VISION_MODEL_TYPE}", got ${JSON.stringify(raw.model_type)}`,
    );
  }
  const arch = raw.arch ?? 'mlp';
  if (!(VISION_ARCHS as readonly unknown[]).includes(arch)) {
    throw new ConfigError(
      `${source}: arch must be one of ${VISION_ARCHS.join(', ')}, got ${JSON.stringify(arch)}`,
    );
  }
  const inputShape = posIntList(raw.input_shape ?? [28, 28, 1], `${source}: input_shape`, false);
  if (inputShape.length !== 3)
    throw new ConfigError(
      `${source}: input_shape must be [H, W, C], got ${JSON.stringify(inputShape)}`,
    );
  const numClasses = (raw.num_classes ?? 10) as number;
  checkPositiveInt(numClasses, 'num_classes');
  const isCnn = arch === 'cnn';
  const hidden = posIntList(raw.hidden ?? (isCnn ? [] : [400]), `${source}: hidden`, isCnn);
  const channels = posIntList(
    raw.channels ?? (isCnn ? [16, 32] : []),
    `${source}: channels`,
    !isCnn,
  );
  if (!isCnn && channels.length)
    throw new ConfigError(`${source}: channels applies to arch "cnn" only`);
  const kernelSize = (raw.kernel_size ?? 3) as number;
  checkPositiveInt(kernelSize, 'kernel_size');
  if (kernelSize % 2 === 0)
    throw new ConfigError(`${source}: kernel_size must be odd (same padding), got ${kernelSize}`);
  const pool = checkPoolKind(raw.pool ?? 'avg', `${source}: pool`);
  const norm = raw.norm ?? 'none';
  if (!(VISION_NORMS as readonly unknown[]).includes(norm)) {
    throw new ConfigError(
      `${source}: norm must be one of ${VISION_NORMS.join(', ')}, got ${JSON.stringify(norm)}`,
    );
  }
  const neuron = (raw.neuron ?? VISION_LIF) as Record<string, unknown>;
  if (typeof neuron !== 'object' || neuron === null || Array.isArray(neuron)) {
    throw new ConfigError(`${source}: neuron must be an object, got ${JSON.stringify(neuron)}`);
  }
  if ('time_steps' in neuron)
    throw new ConfigError(`${source}: set time_steps at the top level, not in neuron`);
  const kind = neuron.neuron ?? 'lif';
  if (!(VISION_NEURONS as readonly unknown[]).includes(kind)) {
    throw new ConfigError(
      `${source}: neuron ${JSON.stringify(kind)} cannot run in a vision net; use one of ${VISION_NEURONS.join(', ')}` +
        ((NEURON_KINDS as readonly unknown[]).includes(kind)
          ? ' (it has no step-by-step form here)'
          : ''),
    );
  }
  const timeSteps = (raw.time_steps ?? 6) as number;
  checkPositiveInt(timeSteps, 'time_steps');
  const neuronSpec = parseNeuronConfig({ ...neuron, time_steps: timeSteps });
  let dsr: DsrSpikes | null = null;
  if (raw.dsr !== undefined && raw.dsr !== null) {
    const d = raw.dsr as Record<string, unknown>;
    const alpha = d.alpha;
    const dt = d.dt ?? null;
    if (typeof alpha !== 'number' || !(alpha > 0 && alpha <= 1)) {
      throw new ConfigError(`${source}: dsr.alpha must be in (0, 1], got ${JSON.stringify(alpha)}`);
    }
    if (dt !== null && !(typeof dt === 'number' && dt > 0)) {
      throw new ConfigError(
        `${source}: dsr.dt must be a number > 0 or null, got ${JSON.stringify(dt)}`,
      );
    }
    if (neuronSpec.neuron !== 'if' && neuronSpec.neuron !== 'lif') {
      throw new ConfigError(`${source}: dsr spikes need an IF or LIF neuron`);
    }
    if (neuronSpec.params.vReset !== null)
      throw new ConfigError(`${source}: dsr spikes need the soft reset (v_reset null)`);
    if ((neuronSpec.neuron === 'lif') !== (dt !== null)) {
      throw new ConfigError(`${source}: dsr.dt must be set for LIF and null for IF`);
    }
    dsr = { alpha, dt: dt as number | null };
  }
  const seed = (raw.seed ?? 0) as number;
  if (!Number.isInteger(seed) || seed < 0)
    throw new ConfigError(`${source}: seed must be an integer >= 0`);
  return {
    arch: arch as VisionArch,
    inputShape: inputShape as [number, number, number],
    numClasses,
    hidden,
    channels,
    kernelSize,
    pool,
    norm: norm as VisionNorm,
    neuron,
    neuronSpec,
    timeSteps,
    dsr,
    seed,
  };
}

/** The config.json object of a parsed config (inverse of `parseVisionConfig`). */
export function visionConfigJson(
  c: VisionNetConfig,
): Record<string, unknown> & { model_type: string } {
  return {
    model_type: VISION_MODEL_TYPE,
    arch: c.arch,
    input_shape: [...c.inputShape],
    num_classes: c.numClasses,
    hidden: [...c.hidden],
    channels: [...c.channels],
    kernel_size: c.kernelSize,
    pool: c.pool,
    norm: c.norm,
    neuron: { ...c.neuron },
    time_steps: c.timeSteps,
    dsr: c.dsr ? { ...c.dsr } : null,
    seed: c.seed,
  };
}
