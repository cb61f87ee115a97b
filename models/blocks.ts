// Feed-forward blocks of the ANN teachers, named in our scheme:
// - `GatedMLP`: SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer"), as HF
//   `LlamaMLP`: `down(act(gate(x)) * up(x))` with act = SiLU;
// - `DenseMLP`: `down(act(up(x)))`, as GPT-2 (`c_fc`, `gelu_new`, `c_proj`) and
//   BERT (`intermediate.dense`, exact `gelu`, `output.dense`).
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { checkPositiveInt, ConfigError } from '../src/errors.js';
import { deriveSeed, Linear, Module, optBool } from '../src/layers/index.js';

/** Activations of the teachers' MLPs, by their Hugging Face `hidden_act` names. */
export const ACTIVATIONS = ['silu', 'gelu', 'gelu_new', 'relu'] as const;
/** One of `ACTIVATIONS`. */
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * `act(x)` element-wise. `gelu` is the exact erf form (PyTorch `nn.GELU()`),
 * `gelu_new` the tanh approximation of GPT-2 / BERT-original.
 */
export function activate(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'gelu_new': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'relu':
      return tf.relu(x);
    default:
      throw new ConfigError(
        `unknown activation ${JSON.stringify(act)}; use one of ${ACTIVATIONS.join(', ')}`,
      );
  }
}

/** Constructor arguments of `GatedMLP` and `DenseMLP` (also their `getConfig()`). */
export interface MLPArgs {
  /** Model width `D`. */
  hidden_size: number;
  /** Hidden width (`intermediate_size`). */
  intermediate_size: number;
  /** Biases on every projection. Default `false` for `GatedMLP`, `true` for `DenseMLP`. */
  bias?: boolean;
  /** Activation. Default `silu` for `GatedMLP`, `gelu_new` for `DenseMLP`. */
  act?: Activation;
  /** Normal init std; `null` = PyTorch uniform. */
  init_std?: number | null;
  /** Seed of the initialisation. Default `0`. */
  seed?: number;
}

function resolve(args: MLPArgs, bias: boolean, act: Activation): Required<MLPArgs> {
  checkPositiveInt(args.hidden_size, 'hidden_size');
  checkPositiveInt(args.intermediate_size, 'intermediate_size');
  const a = args.act ?? act;
  if (!ACTIVATIONS.includes(a)) {
    throw new ConfigError(`act must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(a)}`);
  }
  return {
    hidden_size: args.hidden_size,
    intermediate_size: args.intermediate_size,
    bias: optBool(args.bias, 'bias', bias),
    act: a,
    init_std: args.init_std ?? null,
    seed: args.seed ?? 0,
  };
}

function makeLinear(a: Required<MLPArgs>, name: string, inF: number, outF: number): Linear {
  return new Linear({
    in_features: inF,
    out_features: outF,
    bias: a.bias,
    init_std: a.init_std,
    seed: deriveSeed(a.seed, name),
  });
}

/** SwiGLU feed-forward `[..., D] -> [..., D]` with `gate`, `up`, `down`. */
export class GatedMLP extends Module {
  private readonly args: Required<MLPArgs>;
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;

  constructor(args: MLPArgs) {
    super();
    this.args = resolve(args, false, 'silu');
    const [D, F] = [this.args.hidden_size, this.args.intermediate_size];
    this.gate = this.addModule('gate', makeLinear(this.args, 'gate', D, F));
    this.up = this.addModule('up', makeLinear(this.args, 'up', D, F));
    this.down = this.addModule('down', makeLinear(this.args, 'down', F, D));
  }

  getConfig(): Required<MLPArgs> {
    return { ...this.args };
  }

  /** x: `[..., D]` -> `[..., D]`. Run under the caller's `tf.tidy`. */
  forward(x: Tensor): Tensor {
    const g = activate(this.gate.forward(x), this.args.act); // [..., F]
    return this.down.forward(tf.mul(g, this.up.forward(x))); // [..., D]
  }
}

/** Two-layer feed-forward `[..., D] -> [..., D]` with `up`, `down`. */
export class DenseMLP extends Module {
  private readonly args: Required<MLPArgs>;
  readonly up: Linear;
  readonly down: Linear;

  constructor(args: MLPArgs) {
    super();
    this.args = resolve(args, true, 'gelu_new');
    const [D, F] = [this.args.hidden_size, this.args.intermediate_size];
    this.up = this.addModule('up', makeLinear(this.args, 'up', D, F));
    this.down = this.addModule('down', makeLinear(this.args, 'down', F, D));
  }

  getConfig(): Required<MLPArgs> {
    return { ...this.args };
  }

  /** x: `[..., D]` -> `[..., D]`. Run under the caller's `tf.tidy`. */
  forward(x: Tensor): Tensor {
    return this.down.forward(activate(this.up.forward(x), this.args.act)); // [..., D]
  }
}
