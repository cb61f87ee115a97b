// 2-D pooling of NHWC feature maps for spiking CNNs: average pooling (linear, so a
// presynaptic trace or a firing rate commutes with it, as OTTT and DSR need) and max
// pooling. Both have backward kernels on every backend snnlm uses (wasm included).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkPositiveInt } from '../errors.js';

export const POOL_KINDS = ['avg', 'max'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

/** Check a pooling kind named by a config field. */
export function checkPoolKind(kind: unknown, field = 'pool'): PoolKind {
  if (!(POOL_KINDS as readonly unknown[]).includes(kind)) {
    throw new ConfigError(
      `${field} must be one of ${POOL_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
    );
  }
  return kind as PoolKind;
}

/** Non-overlapping `size x size` pooling: x `[B, H, W, C]` -> `[B, H/size, W/size, C]` (floor). */
export function pool2d(x: Tensor, kind: PoolKind, size: number): Tensor {
  checkPositiveInt(size, 'pool size');
  if (x.rank !== 4)
    throw new ShapeError(`pool2d: input must be [B, H, W, C], got [${x.shape.join(', ')}]`);
  const [, h, w] = x.shape as number[];
  if (h < size || w < size) {
    throw new ShapeError(
      `pool2d: ${size}x${size} pooling needs H, W >= ${size}, got [${x.shape.join(', ')}]`,
    );
  }
  const x4 = x as tf.Tensor4D;
  return kind === 'avg' ? tf.avgPool(x4, size, size, 'valid') : tf.maxPool(x4, size, size, 'valid');
}

/** Output side of `pool2d` for an input side `n`. */
export function pooledSize(n: number, size: number): number {
  return Math.floor(n / size);
}
