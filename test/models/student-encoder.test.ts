// WE-Spikingformer's heads and masks: the MLM head reads the time mean of the final spikes
// (tied to the embedding, with its bias), padded keys never win and padding changes no
// real token's output (eval mode: running batch-norm statistics), mean pooling skips
// padding, and WSSA maps keep at most k winners per row and step.
import { beforeAll, describe, expect, it } from 'vitest';
import type { WESpikingformer } from '../../models/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectClose, setupBackend, values } from '../helpers.js';
import { disposeAll, ids, row, tinyEncoder } from './student-helpers.js';

const N = 10;
const CLS = ['WESpikingformerForSequenceClassification'];

/** Move the batch norms' running statistics towards the data (20 training passes, momentum 0.1), then eval. */
function calibrated(model: WESpikingformer): WESpikingformer {
  const x = ids([row(N, 7), row(N, 8), row(N, 9)]);
  for (let i = 0; i < 20; i++) disposeAll(model.forward(x));
  x.dispose();
  return model.eval();
}

describe('WE-Spikingformer', () => {
  beforeAll(setupBackend);

  it('the tied MLM head is the time-mean rates times the embedding, plus the bias', () => {
    const model = tinyEncoder({}, 2);
    model.lmHead?.bias?.assign(tf.linspace(-1, 1, 64));
    const x = ids([row(N, 1)]);
    const out = model.forward(x);
    const ref = tf.tidy(() =>
      tf.add(
        tf.matMul(tf.reshape(out.lastHiddenState, [N, 32]), model.embed.weight, false, true),
        model.lmHead?.bias as Tensor,
      ),
    );
    expectClose(values(out.logits as Tensor), values(ref), 1e-5);
    expect(values(out.lastHiddenState).every((r) => [0, 0.5, 1].includes(r))).toBe(true); // T = 2 rates
    tf.dispose([x, ref]);
    disposeAll(out);
    model.dispose();
  });

  for (const [name, over] of [
    ['MLM, k=2, ilif', { wta_k: 2, neuron: 'ilif' }],
    ['classification, mean pooling', { architectures: CLS, classifier_pooling: 'mean' }],
    [
      'classification, cls pooling, untied ssa',
      { architectures: CLS, attention_type: 'ssa', attention_threshold: 0.05 },
    ],
  ] as const) {
    it(`${name}: padding tokens change no output of the real tokens (eval)`, () => {
      const model = calibrated(tinyEncoder(over, 3));
      const base = row(N, 4);
      const pad = [...base.slice(0, 6), 0, 0, 0, 0];
      const other = [...base.slice(0, 6), 9, 17, 33, 41];
      const mask = tf.tensor2d(
        [[1, 1, 1, 1, 1, 1, 0, 0, 0, 0]].flatMap((r) => [r, r]),
        [2, N],
        'int32',
      );
      const x = ids([pad, other]);
      const out = model.forward(x, { attentionMask: mask });
      const v = values(out.logits as Tensor);
      const width = v.length / 2;
      const keep = model.head === 'mlm' ? 6 * 64 : width; // MLM: the 6 real positions
      expect(v.slice(width, width + keep)).toEqual(v.slice(0, keep));
      const full = model.forward(ids([other])); // without the mask the padding counts
      if (model.head === 'mlm')
        expect(values(full.logits as Tensor).slice(0, keep)).not.toEqual(v.slice(0, keep));
      [out, full].forEach(disposeAll);
      tf.dispose([x, mask]);
      model.dispose();
    });
  }

  it('returns L+1 hidden states and WSSA maps with at most k winners, never a padded key', () => {
    const model = tinyEncoder({ wta_k: 3, norm_type: 'rms' }, 5).eval();
    const mask = tf.tensor2d([Array(N).fill(1), [...Array(7).fill(1), 0, 0, 0]], [2, N], 'int32');
    const x = ids([row(N, 1), row(N, 6)]);
    const out = model.forward(x, {
      attentionMask: mask,
      outputHiddenStates: true,
      outputAttentions: true,
      outputSpikeMaps: true,
    });
    expect(out.hiddenStates?.map((h) => h.shape)).toEqual(Array(3).fill([2, N, 32]));
    expect(out.attentions?.map((a) => a.shape)).toEqual(Array(2).fill([2, 2, N, N]));
    let winners = 0;
    for (const m of out.spikeMaps as Tensor[]) {
      const v = values(m); // [T, B, H, N, N]
      for (let r = 0; r < v.length / N; r++) {
        const cells = v.slice(r * N, (r + 1) * N);
        expect(cells.every((e) => e === 0 || e === 1)).toBe(true);
        expect(cells.reduce((s, e) => s + e, 0)).toBeLessThanOrEqual(3);
        winners += cells.reduce((s, e) => s + e, 0);
        const b = Math.floor(r / (2 * N)) % 2;
        if (b === 1) expect(cells.slice(7)).toEqual([0, 0, 0]);
      }
    }
    expect(winners).toBeGreaterThan(0);
    disposeAll(out);
    tf.dispose([x, mask]);
    model.dispose();
  });
});
