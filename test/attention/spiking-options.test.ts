// Bad options and shapes of the spiking token mixers are rejected with typed errors whose
// messages name the function and the offending field or shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sfsaParallel, sfsaRecurrent } from '../../src/attention/sfsa.js';
import { softmaxSpikingAttention, spikformerSsa } from '../../src/attention/spiking-baselines.js';
import { cwssa, wssa } from '../../src/attention/wssa.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';

describe('spiking attention option checks', () => {
  let q: Tensor;
  let k: Tensor;
  let v: Tensor;
  beforeAll(async () => {
    await setupBackend();
    q = tf.zeros([1, 2, 2, 4, 3]);
    k = tf.zeros([1, 2, 2, 4, 3]);
    v = tf.zeros([1, 2, 2, 4, 5]);
  });
  afterAll(() => tf.dispose([q, k, v]));

  it('wssa: k must be a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN]) {
      expect(() => wssa(q, k, v, { k: bad })).toThrow(ConfigError);
      expect(() => wssa(q, k, v, { k: bad })).toThrow(/^wssa: k must be a positive integer/);
    }
    expect(() => cwssa(q, k, v, { k: 0 })).toThrow(/^cwssa: k must be a positive integer, got 0/);
  });

  it('thresholds must be finite and > 0 (wssa, sfsa both forms)', () => {
    for (const bad of [0, -0.5]) {
      expect(() => wssa(q, k, v, { threshold: bad })).toThrow(/wssa: threshold must be > 0/);
      expect(() => sfsaParallel(q, k, v, { threshold: bad })).toThrow(
        /sfsa: threshold must be > 0/,
      );
      expect(() => sfsaRecurrent(q, k, v, { threshold: bad })).toThrow(/sfsa: threshold/);
    }
    expect(() => wssa(q, k, v, { threshold: Infinity })).toThrow(
      /threshold must be a finite number/,
    );
  });

  it('tauS, scale, decayShift and offset are checked by name', () => {
    expect(() => wssa(q, k, v, { tauS: 0 })).toThrow(/wssa: tauS must be > 0/);
    expect(() => wssa(q, k, v, { tauS: NaN })).toThrow(/wssa: tauS must be a finite number/);
    expect(() => spikformerSsa(q, k, v, { scale: -1 })).toThrow(/ssa: scale must be > 0/);
    expect(() => softmaxSpikingAttention(q, k, v, { scale: 0 })).toThrow(/softmax_ssa: scale/);
    expect(() => sfsaRecurrent(q, k, v, { decayShift: 0 })).toThrow(
      /sfsa: decayShift must be a positive integer/,
    );
    expect(() => cwssa(q, k, v, { offset: -1 })).toThrow(/cwssa: offset must be an integer >= 0/);
    expect(() => cwssa(q, k, v, { offset: 2 })).toThrow(ShapeError);
    expect(() => cwssa(q, k, v, { offset: 2 })).toThrow(
      /4 queries at offset 2 need at least 6 keys, got 4/,
    );
    expect(() => wssa(q, k, v, { offset: 0 })).toThrow(/offset applies to the causal form only/);
  });

  it('mismatched or wrong-rank q, k, v are rejected, naming the shapes', () => {
    const k4 = tf.zeros([2, 2, 4, 3]);
    const kd = tf.zeros([1, 2, 2, 4, 4]);
    const vn = tf.zeros([1, 2, 2, 5, 5]);
    expect(() => wssa(q, k4, v)).toThrow(
      /wssa: k must be \[T, B, H, N, d\] spikes, got \[2, 2, 4, 3\]/,
    );
    expect(() => wssa(q, kd, v)).toThrow(ShapeError);
    expect(() => wssa(q, kd, v)).toThrow(
      /q \[1, 2, 2, 4, 3\], k \[1, 2, 2, 4, 4\], v \[1, 2, 2, 4, 5\] do not fit/,
    );
    expect(() => spikformerSsa(q, k, vn)).toThrow(/ssa: .* do not fit/);
    expect(() =>
      sfsaParallel(
        q,
        k.slice([0, 0, 0, 0, 0], [1, 2, 2, 3, 3]),
        v.slice([0, 0, 0, 0, 0], [1, 2, 2, 3, 5]),
      ),
    ).toThrow(/sfsa: q and k must cover the same 4 positions, k has 3/);
    tf.dispose([k4, kd, vn]);
  });

  it('attention masks and recurrent states of the wrong shape are rejected', () => {
    const m = tf.ones([3, 4]);
    expect(() => wssa(q, k, v, { attentionMask: m })).toThrow(
      /wssa: attentionMask must be \[B, Nk\] = \[2, 4\], got \[3, 4\]/,
    );
    expect(() => sfsaRecurrent(q, k, v, { attentionMask: m })).toThrow(
      /sfsa: attentionMask must be \[B, N\]/,
    );
    const S = tf.zeros([1, 2, 2, 3, 3]);
    const z = tf.zeros([1, 2, 2, 3]);
    expect(() => sfsaRecurrent(q, k, v, { state: { S, z } })).toThrow(
      /sfsa: state must be S \[1, 2, 2, 3, 5\]/,
    );
    tf.dispose([m, S, z]);
  });
});
