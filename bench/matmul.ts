// fp32 matmul throughput on the chosen backend: the ceiling every dense layer
// of ours runs against. GFLOP/s = 2·n³ / time.
import { tf } from '../src/tf.js';
import { round, time } from './timing.js';

export interface MatmulResult {
  n: number;
  median_ms: number;
  gflops: number;
}

/** Time an n×n by n×n float32 matmul, `reps` repetitions (median). */
export async function benchMatmul(n: number, reps = 7): Promise<MatmulResult> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const t = await time(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }, reps);
  tf.dispose([a, b]);
  return { n, median_ms: t.median_ms, gflops: round((2 * n ** 3) / (t.median_ms * 1e6), 2) };
}
