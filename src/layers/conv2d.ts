// 2-D convolution over NHWC feature maps, `y = conv(pad(x), W) + b`, with the weight
// in PyTorch's `[out, in, kH, kW]` layout (so model files match `nn.Conv2d`), default
// init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like `Linear`, and optional scaled weight
// standardisation (OTTT's sWS, weight-standardization.ts) with a gain `[out]`.
//
// The product is `conv2dTrace`, a custom-gradient op:
//   forward  y  = conv2d(x, W)                       (tf.conv2d, valid padding)
//   backward dx = conv2dTranspose(dy, W)             (Conv2DBackpropInput)
//            dW = im2col(â)ᵀ · dy                     (routed matMul)
// where â is the input itself, or a presynaptic trace for OTTT (methods-vision.md 4(c);
// the convolutional twin of src/ops traceMatMul). NOTE: the weight gradient is built
// from patches and a matrix product because tfjs-backend-wasm 4.22 has no
// `Conv2DBackpropFilter` kernel, so tf.conv2d cannot be trained there otherwise.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { matMul } from '../ops/index.js';
import { deriveSeed, Module, optBool } from './module.js';
import { scaledWeightStandardization } from './weight-standardization.js';

const shp = (t: Tensor) => `[${t.shape.join(', ')}]`;

/** Output side of a valid convolution: `floor((n - k) / s) + 1`. */
export function convOutSize(n: number, kernel: number, stride: number, padding = 0): number {
  return Math.floor((n + 2 * padding - kernel) / stride) + 1;
}

/**
 * Patches of `x` `[B, H, W, C]` for a `k x k` kernel at stride `s` (valid):
 * `[B * oH * oW, k * k * C]`, columns ordered (kh, kw, c) like a `[k, k, C, out]` filter.
 */
export function im2col(x: Tensor, k: number, s: number): Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const oh = convOutSize(h, k, s);
  const ow = convOutSize(w, k, s);
  const cols: Tensor[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const end = [b, i + s * (oh - 1) + 1, j + s * (ow - 1) + 1, c];
      cols.push(tf.stridedSlice(x, [0, i, j, 0], end, [1, s, s, 1])); // [B, oH, oW, C]
    }
  }
  const p = cols.length === 1 ? tf.expandDims(cols[0], 3) : tf.stack(cols, 3); // [B, oH, oW, k*k, C]
  return tf.reshape(p, [b * oh * ow, k * k * c]);
}

/**
 * Valid convolution of x `[B, H, W, Cin]` with filter `[k, k, Cin, Cout]` at `stride`,
 * whose filter gradient reads `trace` (same shape as x; default: x itself). Gradients:
 * x (through the transposed convolution) and the filter; the trace is a constant.
 */
export function conv2dTrace(x: Tensor, filter: Tensor, stride: number, trace?: Tensor): Tensor {
  if (x.rank !== 4 || filter.rank !== 4 || x.shape[3] !== filter.shape[2]) {
    throw new ShapeError(
      `conv2dTrace: x must be [B, H, W, Cin], filter [k, k, Cin, Cout]; got ${shp(x)} and ${shp(filter)}`,
    );
  }
  if (trace && trace.shape.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(
      `conv2dTrace: trace must have the shape of x ${shp(x)}, got ${shp(trace)}`,
    );
  }
  const k = filter.shape[0];
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [xi, ti, fi, save] = args as [Tensor, Tensor, Tensor, tf.GradSaveFunc];
    save([ti, fi]);
    return {
      value: tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, stride, 'valid'), // [B, oH, oW, Cout]
      gradFunc: (dy: Tensor, [ts, fs]: Tensor[]) => {
        const dy4 = dy as tf.Tensor4D;
        const dx = tf.conv2dTranspose(
          dy4,
          fs as tf.Tensor4D,
          ts.shape as [number, number, number, number],
          stride,
          'valid',
        ); // [B, H, W, Cin]
        const cout = dy.shape[3] as number;
        const dyf = tf.reshape(dy, [-1, cout]); // [B*oH*oW, Cout]
        const df = matMul(im2col(ts, k, stride), dyf, true, false); // [k*k*Cin, Cout]
        return [dx, tf.zerosLike(ts), tf.reshape(df, fs.shape)];
      },
    };
  });
  return op(x, trace ?? x, filter);
}

/** Constructor arguments of `Conv2d` (also its `getConfig()`). */
export interface Conv2dArgs {
  in_channels: number;
  out_channels: number;
  /** Square kernel side. */
  kernel_size: number;
  /** @default 1 */
  stride?: number;
  /** Zero padding on each side. @default 0 */
  padding?: number;
  /** @default true */
  bias?: boolean;
  /** Scaled weight standardisation with a learnable gain `[out]` (OTTT's sWS). @default false */
  weight_standardization?: boolean;
  /** @default 0 */
  seed?: number;
}

/** Per-call options of `Conv2d.forward`. */
export interface Conv2dCallOptions {
  /** Presynaptic trace of the input (OTTT): the weight gradient reads it instead of x. */
  trace?: Tensor;
}

/** A 2-D convolution layer over NHWC input. */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly standardize: boolean;
  private readonly seed: number;
  /** `[out, in, k, k]` (PyTorch layout). */
  readonly weight: Variable;
  readonly bias: Variable | null;
  /** sWS gain `[out]` (init 1), or null. */
  readonly gain: Variable | null;

  constructor(args: Conv2dArgs) {
    super();
    checkPositiveInt(args.in_channels, 'in_channels');
    checkPositiveInt(args.out_channels, 'out_channels');
    checkPositiveInt(args.kernel_size, 'kernel_size');
    this.stride = args.stride ?? 1;
    checkPositiveInt(this.stride, 'stride');
    this.padding = args.padding ?? 0;
    if (!Number.isInteger(this.padding) || this.padding < 0) {
      throw new ConfigError(`padding must be an integer >= 0, got ${String(args.padding)}`);
    }
    this.seed = args.seed ?? 0;
    checkFinite(this.seed, 'seed');
    this.inChannels = args.in_channels;
    this.outChannels = args.out_channels;
    this.kernelSize = args.kernel_size;
    this.standardize = optBool(args.weight_standardization, 'weight_standardization', false);
    const fanIn = this.inChannels * this.kernelSize ** 2;
    const b = 1 / Math.sqrt(fanIn);
    const [o, i, k] = [this.outChannels, this.inChannels, this.kernelSize];
    this.weight = this.addParameter(
      'weight',
      tf.randomUniform([o, i, k, k], -b, b, 'float32', this.seed),
    );
    this.bias = optBool(args.bias, 'bias', true)
      ? this.addParameter(
          'bias',
          tf.randomUniform([o], -b, b, 'float32', deriveSeed(this.seed, 'bias')),
        )
      : null;
    this.gain = this.standardize ? this.addParameter('gain', tf.ones([o])) : null;
  }

  getConfig(): Required<Conv2dArgs> {
    return {
      in_channels: this.inChannels,
      out_channels: this.outChannels,
      kernel_size: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      bias: this.bias !== null,
      weight_standardization: this.standardize,
      seed: this.seed,
    };
  }

  /** Output `[oH, oW]` for an input `[H, W]`. */
  outputSize(h: number, w: number): [number, number] {
    const f = (n: number) => convOutSize(n, this.kernelSize, this.stride, this.padding);
    return [f(h), f(w)];
  }

  /** The filter the forward uses, `[k, k, in, out]` (sWS applied when on). */
  filter(): Tensor {
    const w = this.gain ? scaledWeightStandardization(this.weight, this.gain) : this.weight;
    return tf.transpose(w, [2, 3, 1, 0]); // [k, k, in, out]
  }

  /** x `[B, H, W, in]` -> `[B, oH, oW, out]`. Run under the caller's tidy. */
  forward(x: Tensor, opts: Conv2dCallOptions = {}): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new ShapeError(
        `Conv2d '${this.path}': input must be [B, H, W, ${this.inChannels}], got ${shp(x)}`,
      );
    }
    const p = this.padding;
    const pad = (t: Tensor) =>
      p === 0
        ? t
        : tf.pad(t, [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ]);
    const xp = pad(x); // [B, H+2p, W+2p, in]
    const [, hp, wp] = xp.shape as number[];
    if (hp < this.kernelSize || wp < this.kernelSize) {
      throw new ShapeError(
        `Conv2d '${this.path}': input ${shp(x)} is smaller than the ${this.kernelSize}x${this.kernelSize} kernel`,
      );
    }
    const y = conv2dTrace(xp, this.filter(), this.stride, opts.trace ? pad(opts.trace) : undefined);
    return this.bias ? tf.add(y, this.bias) : y; // [B, oH, oW, out]
  }
}
