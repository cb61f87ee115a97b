import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import {
  Conv2d,
  conv2dTrace,
  pool2d,
  scaledWeightStandardization,
} from '../../src/layers/index.js';
import { expectClose, expectNoLeak, rng, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

/** Plain-JS valid convolution, x [B,H,W,C], f [k,k,C,O], stride s. */
function refConv(x: number[], xs: number[], f: number[], k: number, o: number, s: number) {
  const [B, H, W, C] = xs;
  const oh = Math.floor((H - k) / s) + 1;
  const ow = Math.floor((W - k) / s) + 1;
  const y = new Array(B * oh * ow * o).fill(0);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let q = 0; q < o; q++) {
          let acc = 0;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++)
              for (let c = 0; c < C; c++)
                acc +=
                  x[((b * H + i * s + u) * W + j * s + v) * C + c] *
                  f[((u * k + v) * C + c) * o + q];
          y[((b * oh + i) * ow + j) * o + q] = acc;
        }
  return { y, oh, ow };
}

describe('conv2dTrace', () => {
  it('forward and both gradients match a plain-JS convolution (stride 1 and 2)', () => {
    const r = rng(3);
    for (const s of [1, 2]) {
      const xs = [2, 6, 5, 3];
      const [k, o] = [3, 4];
      const x = Array.from({ length: 2 * 6 * 5 * 3 }, () => r() - 0.5);
      const f = Array.from({ length: k * k * 3 * o }, () => r() - 0.5);
      const { y, oh, ow } = refConv(x, xs, f, k, o, s);
      const g = Array.from({ length: y.length }, () => r() - 0.5); // upstream gradient
      const xt = tf.tensor4d(x, xs as [number, number, number, number]);
      const ft = tf.tensor4d(f, [k, k, 3, o]);
      const gt = tf.tensor4d(g, [2, oh, ow, o]);
      expectClose(values(conv2dTrace(xt, ft, s)), y, 1e-5, 1e-4);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2dTrace(a, b, s), gt)),
      )([xt, ft]);
      // d/dx of sum(conv(x, f) * g) by finite structure: reference by linearity, column by column
      const refDf = new Array(f.length).fill(0);
      const refDx = new Array(x.length).fill(0);
      for (let n = 0; n < f.length; n++) {
        const e = new Array(f.length).fill(0);
        e[n] = 1;
        refDf[n] = refConv(x, xs, e, k, o, s).y.reduce((a, v, i) => a + v * g[i], 0);
      }
      for (let n = 0; n < x.length; n++) {
        const e = new Array(x.length).fill(0);
        e[n] = 1;
        refDx[n] = refConv(e, xs, f, k, o, s).y.reduce((a, v, i) => a + v * g[i], 0);
      }
      expectClose(values(df), refDf, 1e-4, 1e-4);
      expectClose(values(dx), refDx, 1e-4, 1e-4);
      tf.dispose([xt, ft, gt, dx, df]);
    }
  });

  it('the filter gradient reads the trace while the input gradient is unchanged', () => {
    const r = rng(5);
    const x = tf.tensor4d(
      Array.from({ length: 50 }, () => (r() < 0.3 ? 1 : 0)),
      [2, 5, 5, 1],
    );
    const tr = tf.tensor4d(
      Array.from({ length: 50 }, () => r()),
      [2, 5, 5, 1],
    );
    const f = tf.tensor4d(
      Array.from({ length: 18 }, () => r() - 0.5),
      [3, 3, 1, 2],
    );
    const loss = (a: tf.Tensor, b: tf.Tensor, t?: tf.Tensor) =>
      tf.sum(tf.square(conv2dTrace(a, b, 1, t)));
    const [dxT, dfT] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b, tr))([x, f]);
    const [dx] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b))([x, f]);
    // With the trace: dF = im2col(trace)^T dy, dy = 2 conv(x, f): equals the x-gradient formula with x -> trace.
    const dy = tf.mul(2, conv2dTrace(x, f, 1));
    const [, dfRef] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv2dTrace(a, b, 1), dy)),
    )([tr, f]);
    expectClose(values(dxT), values(dx), 1e-5);
    expectClose(values(dfT), values(dfRef), 1e-5);
    tf.dispose([x, tr, f, dxT, dfT, dx, dy, dfRef]);
  });
});

describe('Conv2d layer', () => {
  it('pads, shapes, saves its config, trains on this backend and leaks nothing', async () => {
    const conv = new Conv2d({
      in_channels: 1,
      out_channels: 3,
      kernel_size: 3,
      padding: 1,
      seed: 1,
    });
    expect(conv.getConfig()).toMatchObject({ kernel_size: 3, padding: 1, stride: 1, bias: true });
    expect(conv.weight.shape).toEqual([3, 1, 3, 3]);
    const x = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 2);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(conv.forward(x))),
        conv.trainableVariables(),
      );
      expect(Object.keys(grads).length).toBe(2);
      for (const g of Object.values(grads)) expect(values(g).every(Number.isFinite)).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const y = tf.tidy(() => conv.forward(x));
    expect(y.shape).toEqual([2, 4, 4, 3]);
    expect(() => conv.forward(tf.zeros([2, 4, 4, 2]))).toThrow(/input must be \[B, H, W, 1\]/);
    tf.dispose([x, y]);
    conv.dispose();
  });

  it('sWS rows have zero mean and norm gain (unit std times sqrt(fan_in)); pooling halves', () => {
    const w = tf.randomNormal([4, 2, 3, 3], 0.3, 2, 'float32', 9);
    const g = tf.tensor1d([1, 2, 3, 4]);
    const s = scaledWeightStandardization(w, g, 0);
    const rows = tf.reshape(s, [4, 18]);
    const m = tf.moments(rows, 1);
    expectClose(values(m.mean), [0, 0, 0, 0], 1e-5);
    expectClose(
      values(m.variance),
      [1, 4, 9, 16].map((v) => v / 18),
      1e-4,
      1e-3,
    );
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
    expect(values(pool2d(x, 'avg', 2))).toEqual([3.5, 5.5, 11.5, 13.5]);
    expect(values(pool2d(x, 'max', 2))).toEqual([6, 8, 14, 16]);
    tf.dispose([w, g, s, rows, m.mean, m.variance, x]);
  });
});
