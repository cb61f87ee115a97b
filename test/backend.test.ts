import { beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_ORDER, gatherRows, initBackend } from '../src/backend.js';
import { ConfigError } from '../src/errors.js';
import { tf } from '../src/tf.js';
import { expectNoLeak, setupBackend, values } from './helpers.js';

describe('backend', () => {
  beforeAll(setupBackend);

  it('starts the first backend of the default order that is installed', async () => {
    const info = await initBackend();
    expect(BACKEND_ORDER).toContain(info.backend);
    expect(tf.getBackend()).toBe(info.backend);
    // Every backend skipped before the chosen one comes earlier in the order, with a reason.
    for (const s of info.skipped) {
      expect(BACKEND_ORDER.indexOf(s.backend)).toBeLessThan(BACKEND_ORDER.indexOf(info.backend));
      expect(s.reason.length).toBeGreaterThan(0);
    }
    expect(info.versions['@tensorflow/tfjs-core']).toMatch(/^4\./);
  });

  it('reports SIMD and a single thread for wasm in Node', async () => {
    const info = await initBackend();
    if (info.backend !== 'wasm') return;
    expect(info.wasm_simd).toBe(true);
    expect(info.wasm_threads).toBe(1);
  });

  it('rejects an unknown backend name', async () => {
    await expect(initBackend('gpu')).rejects.toThrow(ConfigError);
    await expect(initBackend('gpu')).rejects.toThrow(
      /not a backend; use one of tensorflow, wasm, cpu/,
    );
  });

  it('registers gradients (tfjs-core alone does not)', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2, 3]));
    expect(values(g)).toEqual([2, -4, 6]);
  });

  it('gatherRows gives the rows forward and sums repeated ids backward', () => {
    const table = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ids = tf.tensor2d(
      [
        [0, 2],
        [2, 2],
      ],
      [2, 2],
      'int32',
    );
    const out = gatherRows(table, ids);
    expect(out.shape).toEqual([2, 2, 2]);
    expect(values(out)).toEqual([1, 2, 5, 6, 5, 6, 5, 6]);
    const w = tf.tensor3d([1, 10, 2, 20, 3, 30, 4, 40], [2, 2, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t, ids), w)))(table);
    // id 0 once (w row 0), id 1 never, id 2 three times (w rows 1, 2, 3).
    expect(values(g)).toEqual([1, 10, 0, 0, 9, 90]);
  });

  it('gatherRows leaves no tensors behind', async () => {
    const table = tf.randomNormal([5, 3]);
    const ids = tf.tensor1d([4, 0, 4], 'int32');
    await expectNoLeak(() => {
      tf.tidy(() => {
        tf.grad((t: tf.Tensor) => tf.sum(gatherRows(t, ids)))(table);
      });
    });
    tf.dispose([table, ids]);
  });
});
