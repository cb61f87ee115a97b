// Training signal and memory of the spiking students: the loss (next-token CE for the
// decoders, MLM CE — or classification CE — for WE) reaches EVERY trainable parameter
// with a non-zero gradient (surrogate spikes, the WTA softmax-Jacobian surrogate, STE for
// binary/ternary weights and integer counts); the distillation targets (time-mean hidden
// states, attention maps) are differentiable down to Q and K; and repeated forward/backward
// and decoding leave no tensors behind.
// NOTE: the SSA baseline gets a low output threshold: with 0.5 its output neuron is silent
// at init on these tiny shapes, and a silent input gives the output projection an exactly
// zero gradient.
import { beforeAll, describe, expect, it } from 'vitest';
import type {
  SpikingCausalLM,
  SpikingStudent,
  StudentType,
  WESpikingformer,
} from '../../models/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend } from '../helpers.js';
import {
  decodeInChunks,
  disposeAll,
  ids,
  mlmCE,
  nextTokenCE,
  row,
  tinyStudent,
} from './student-helpers.js';

const ROWS = [row(10, 1), row(10, 3)];
const MASKED = [2, 5, 8];

/** The loss of a student on ROWS (MLM positions get token 0 as [MASK]). */
function loss(model: SpikingStudent): Tensor {
  if (model.modelType !== 'we-spikingformer') {
    const x = ids(ROWS);
    return nextTokenCE((model as SpikingCausalLM).forward(x).logits, ROWS);
  }
  const we = model as WESpikingformer;
  const input = ROWS.map((r) => r.map((t, i) => (MASKED.includes(i) ? 0 : t)));
  const logits = we.forward(ids(input)).logits as Tensor;
  if (we.head === 'mlm') return mlmCE(logits, ROWS, MASKED);
  const labels = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), labels), -1)));
}

const CASES: [string, StudentType, Record<string, unknown>][] = [
  ['WD-Spikingformer (cwssa, lif, rms)', 'wd-spikingformer', {}],
  [
    'WD-Spikingformer (asn T=2, k=2, layer norm)',
    'wd-spikingformer',
    { neuron: 'asn', time_steps: 2, wta_k: 2, norm_type: 'layer' },
  ],
  [
    'WD-Spikingformer (softmax_spiking, if, ternary)',
    'wd-spikingformer',
    { attention_type: 'softmax_spiking', neuron: 'if', weight_precision: 'ternary' },
  ],
  ['BiSpikCLM (sfsa, lif, binary)', 'bispikclm', {}],
  ['BiSpikCLM (sfsa, ilif T=1, binary)', 'bispikclm', { neuron: 'ilif' }],
  ['BiSpikCLM (sfsa, asn T=1, binary)', 'bispikclm', { neuron: 'asn' }],
  [
    'WD-Spikingformer (cwssa, nasn T=2, ternary)',
    'wd-spikingformer',
    { neuron: 'nasn', time_steps: 2, weight_precision: 'ternary' },
  ],
  ['WE-Spikingformer MLM (wssa, lif, batch norm, tied)', 'we-spikingformer', {}],
  [
    'WE-Spikingformer MLM (ssa, untied float head)',
    'we-spikingformer',
    { attention_type: 'ssa', attention_threshold: 0.05, tie_word_embeddings: false },
  ],
  [
    'WE-Spikingformer classification (mean pooling)',
    'we-spikingformer',
    { architectures: ['WESpikingformerForSequenceClassification'], classifier_pooling: 'mean' },
  ],
];

describe('spiking students: gradients and memory', () => {
  beforeAll(setupBackend);

  for (const [name, type, over] of CASES) {
    it(`${name}: the loss has a non-zero gradient for every parameter`, () => {
      const model = tinyStudent<SpikingStudent>(type, over, 7);
      const named = model.namedParameters().filter(([, v]) => v.trainable);
      const { value, grads } = tf.variableGrads(
        () => loss(model) as tf.Scalar,
        named.map(([, v]) => v),
      );
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      const zero = named
        .filter(([, v]) => {
          const g = grads[v.name];
          return !g || tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0;
        })
        .map(([n]) => n);
      expect(zero).toEqual([]);
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  }

  for (const [type, over] of [
    ['wd-spikingformer', {}],
    ['bispikclm', {}],
    ['we-spikingformer', { attention_type: 'softmax_spiking' }],
  ] as const) {
    it(`${type} ${JSON.stringify(over)}: distillation targets (time-mean hidden states, maps) carry gradients to Q and K`, () => {
      const model = tinyStudent<
        SpikingStudent & {
          forward(x: Tensor, o: object): { hiddenStates?: Tensor[]; attentions?: Tensor[] };
        }
      >(type, over, 8);
      const q = model.layers[1].attn.qkv[0].proj.weight;
      const k = model.layers[1].attn.qkv[1].proj.weight;
      const up = model.layers[0].mlp.up.weight;
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(ids(ROWS), { outputHiddenStates: true, outputAttentions: true });
        const maps = out.attentions as Tensor[];
        const target = tf.randomUniform(maps[1].shape, 0, 1, 'float32', 3);
        const hid = (out.hiddenStates as Tensor[])[1];
        return tf.add(tf.sum(tf.mul(maps[1], target)), tf.mean(tf.square(hid))) as tf.Scalar;
      }, [q, k, up]);
      for (const v of [q, k, up]) {
        expect(tf.tidy(() => tf.max(tf.abs(grads[v.name])).dataSync()[0])).toBeGreaterThan(0);
      }
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  }

  it('repeated forward/backward and decoding leak no tensors', async () => {
    for (const type of ['bispikclm', 'wd-spikingformer', 'we-spikingformer'] as const) {
      const model = tinyStudent<SpikingStudent>(
        type,
        type === 'wd-spikingformer' ? { neuron: 'asn', time_steps: 2 } : {},
      );
      const step = () => {
        const { value, grads } = tf.variableGrads(
          () => loss(model) as tf.Scalar,
          model.trainableVariables(),
        );
        tf.dispose([value, ...Object.values(grads)]);
        const x = ids(ROWS);
        const all = { outputHiddenStates: true, outputAttentions: true, outputSpikeMaps: true };
        disposeAll((model as unknown as { forward(x: Tensor, o: object): object }).forward(x, all));
        x.dispose();
        if (type !== 'we-spikingformer')
          decodeInChunks(model as SpikingCausalLM, ROWS, [4, 1, 1]).dispose();
      };
      step(); // warm-up
      await expectNoLeak(() => {
        for (let i = 0; i < 3; i++) step();
      });
      model.dispose();
    }
  });
});
