// Masks and additive biases: causal with an offset (cached positions), padding,
// their combination, the no-mask cases, and shape errors.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MASK_VALUE,
  buildAttentionBias,
  causalBias,
  causalMask,
  maskToBias,
  paddingBias,
} from '../../src/attention/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';

const M = MASK_VALUE;

describe('attention masks', () => {
  beforeAll(setupBackend);

  it('causalMask: query i at offset o sees keys j <= o + i', () => {
    const m = causalMask(2, 4);
    expect(m.dtype).toBe('bool');
    expect(values(m)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
    const full = causalMask(3, 3);
    expect(values(full)).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
    tf.dispose([m, full]);
  });

  it('causalBias is 0 where allowed and MASK_VALUE elsewhere; maskToBias agrees', () => {
    const b = causalBias(2, 3, 0);
    expect(values(b)).toEqual([0, M, M, 0, 0, M].map(Math.fround));
    const m = causalMask(2, 3, 0);
    const b2 = maskToBias(m);
    expect(values(b2)).toEqual(values(b));
    expect(() => maskToBias(b)).toThrow(ConfigError);
    tf.dispose([b, m, b2]);
  });

  it('adding MASK_VALUE to any ordinary score gives exactly MASK_VALUE', () => {
    const s = tf.tensor1d([-1e6, -3.5, 0, 2.25, 1e6]);
    const r = tf.add(s, MASK_VALUE);
    expect(new Set(values(r))).toEqual(new Set([Math.fround(M)]));
    tf.dispose([s, r]);
  });

  it('paddingBias masks the padded keys of each row', () => {
    const p = paddingBias(tf.tensor2d([0, 1, 1, 1, 1, 0], [2, 3], 'int32'));
    expect(p.shape).toEqual([2, 1, 1, 3]);
    expect(values(p)).toEqual([M, 0, 0, 0, 0, M].map(Math.fround));
    expect(() => paddingBias(tf.tensor1d([1, 1]))).toThrow(/\[B, Nk\]/);
    p.dispose();
  });

  it('buildAttentionBias combines causal and padding, or returns null when nothing is masked', () => {
    expect(buildAttentionBias({ queries: 1, keys: 5, causal: true })).toBeNull();
    expect(buildAttentionBias({ queries: 4, keys: 4, causal: false })).toBeNull();
    const c = buildAttentionBias({ queries: 1, keys: 5, offset: 2, causal: true }) as tf.Tensor;
    expect(values(c)).toEqual([0, 0, 0, M, M].map(Math.fround));
    const mask = tf.tensor2d([0, 1, 1], [1, 3], 'int32');
    const both = buildAttentionBias({ queries: 3, keys: 3, causal: true, attentionMask: mask });
    expect(both?.shape).toEqual([1, 1, 3, 3]);
    expect(values(both as tf.Tensor)).toEqual([M, M, M, M, 0, M, M, 0, 0].map(Math.fround));
    expect(() =>
      buildAttentionBias({ queries: 2, keys: 4, causal: true, attentionMask: mask }),
    ).toThrow(/attention_mask must be \[B, 4\]/);
    expect(() => buildAttentionBias({ queries: 3, keys: 2, causal: true })).toThrow(ShapeError);
    tf.dispose([c, mask, both as tf.Tensor]);
  });
});
