// Fast form of methods-language.md 1(f) check 7 (the full budget is bench/assoc-recall.ts):
// on an easy associative-recall setting (K = 2 pairs over 8 keys / 8 values, so chance is
// 1/8) a hundred AdamW steps of WD-Spikingformer (CWSSA, T 2) must reach a held-out
// accuracy well above chance and well above the same model with its attention replaced by
// zeros, which cannot see the pairs and must stay near chance. Fails if the training
// loop, the WTA surrogate path or the attention itself is broken. Fixed seeds.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import { createRng } from '../../src/generate/rng.js';
import { buildRecallModel, recallBatch, trainRecall } from '../../bench/assoc-recall-task.js';
import type { RecallTask, RecallTrainOptions } from '../../bench/assoc-recall-task.js';
import { setupBackend } from '../helpers.js';

const FULL_MIN = 0.3;
const ZERO_SLACK = 0.1;
const GAP_MIN = 0.15;
const TASK: RecallTask = { pairs: 2, numKeys: 8, numValues: 8 };
const MODEL = { hiddenSize: 32, layers: 2, heads: 2, timeSteps: 2, wtaK: 1 };
const TRAIN: Omit<RecallTrainOptions, 'zeroAttention'> = {
  steps: 100,
  batchSize: 32,
  lr: 3e-3,
  warmupSteps: 20,
  weightDecay: 0.01,
  maxGradNorm: 1,
  seed: 7,
  evalEvery: 0,
  label: null,
};

describe('associative recall (methods-language 1(f) check 7, fast form)', () => {
  beforeAll(async () => {
    await setupBackend();
  });

  it('attention learns the recall; the zero-attention control stays at chance', async () => {
    const chance = 1 / TASK.numValues;
    const heldOut = recallBatch(TASK, 256, createRng(12345));
    const before = tf.memory().numTensors;
    const acc: Record<string, number> = {};
    for (const zeroAttention of [false, true]) {
      const model = buildRecallModel(TASK, MODEL);
      try {
        const run = await trainRecall(model, TASK, heldOut, { ...TRAIN, zeroAttention });
        acc[zeroAttention ? 'zero' : 'full'] = run.finalAccuracy;
      } finally {
        model.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before); // every step tidied, optimiser freed
    tf.dispose([heldOut.ids, heldOut.targets]);
    expect(acc.full).toBeGreaterThan(FULL_MIN);
    expect(acc.zero).toBeLessThan(chance + ZERO_SLACK);
    expect(acc.full - acc.zero).toBeGreaterThan(GAP_MIN);
  });
});
