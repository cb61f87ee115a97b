// The spiking decoders (WD-Spikingformer, BiSpikCLM) as causal LMs, for every causal mixer:
// changing future tokens changes no earlier logits bit for bit; incremental decoding
// (prompt chunk, then one token at a time, batch 2) equals the full forward; SFSA's
// recurrent decode equals its parallel forward; outputs for distillation on request.
import { beforeAll, describe, expect, it } from 'vitest';
import type { SpikingCausalLM } from '../../models/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { decodeInChunks, disposeAll, ids, row, tinyStudent } from './student-helpers.js';

const N = 12;
const V = 64;

const CASES: [string, 'wd-spikingformer' | 'bispikclm', Record<string, unknown>][] = [
  ['WD cwssa k=1 (lif)', 'wd-spikingformer', {}],
  ['WD cwssa k=2 (asn, T=2)', 'wd-spikingformer', { wta_k: 2, neuron: 'asn', time_steps: 2 }],
  ['WD ssa baseline', 'wd-spikingformer', { attention_type: 'ssa', attention_threshold: 0.1 }],
  ['WD softmax_spiking baseline', 'wd-spikingformer', { attention_type: 'softmax_spiking' }],
  ['BiSpikCLM sfsa (lif, binary)', 'bispikclm', {}],
  [
    'BiSpikCLM sfsa (ilif, ternary, layer norm)',
    'bispikclm',
    { neuron: 'ilif', weight_precision: 'ternary', norm_type: 'layer' },
  ],
  ['BiSpikCLM sfsa with state decay', 'bispikclm', { sfsa_decay_shift: 2 }],
  ['BiSpikCLM cwssa', 'bispikclm', { attention_type: 'cwssa', wta_k: 3 }],
  ['WD cwssa (nasn, T=2)', 'wd-spikingformer', { neuron: 'nasn', time_steps: 2 }],
];

describe('spiking decoders as causal LMs', () => {
  beforeAll(setupBackend);

  for (const [name, type, over] of CASES) {
    describe(name, () => {
      let model: SpikingCausalLM;
      beforeAll(() => {
        model = tinyStudent(type, over, 3);
        model.eval();
      });

      it('changing future tokens changes no earlier logits, bit for bit', () => {
        const a = row(N, 1);
        const b = a.slice();
        const j = 7;
        for (let i = j; i < N; i++) b[i] = (b[i] + 17 + i) % V;
        const [la, lb] = [a, b].map((r) => {
          const x = ids([r]);
          const l = values(model.forward(x).logits);
          x.dispose();
          return l;
        });
        expect(lb.slice(0, j * V)).toEqual(la.slice(0, j * V));
        expect(lb.slice(j * V)).not.toEqual(la.slice(j * V));
      });

      it('decode (prompt of 5, then one token at a time, batch 2) equals forward', () => {
        const rows = [row(N, 2), row(N, 5)];
        const x = ids(rows);
        const full = model.forward(x).logits;
        const inc = decodeInChunks(model, rows, [5, ...Array(N - 5).fill(1)]);
        expect(values(inc)).toEqual(values(full));
        tf.dispose([x, full, inc]);
      });
    });
  }

  it('returns L+1 time-mean hidden states and L maps; CWSSA maps have at most k winners per row and step', () => {
    const model = tinyStudent('wd-spikingformer', { wta_k: 2 }, 4);
    const x = ids([row(N, 1), row(N, 9)]);
    const out = model.forward(x, {
      outputHiddenStates: true,
      outputAttentions: true,
      outputSpikeMaps: true,
    });
    expect(out.hiddenStates?.map((h) => h.shape)).toEqual(Array(3).fill([2, N, 32]));
    expect(out.attentions?.map((a) => a.shape)).toEqual(Array(2).fill([2, 2, N, N]));
    expect(out.spikeMaps?.map((a) => a.shape)).toEqual(Array(2).fill([2, 2, 2, N, N]));
    let winners = 0;
    for (const m of out.spikeMaps as Tensor[]) {
      const v = values(m);
      expect(v.every((e) => e === 0 || e === 1)).toBe(true);
      for (let r = 0; r < v.length / N; r++) {
        const rowSum = v.slice(r * N, (r + 1) * N).reduce((s, e) => s + e, 0);
        expect(rowSum).toBeLessThanOrEqual(2);
        winners += rowSum;
        const i = r % N; // query position: no winner after it (causal)
        expect(v.slice(r * N + i + 1, (r + 1) * N).every((e) => e === 0)).toBe(true);
      }
    }
    expect(winners).toBeGreaterThan(0);
    // the time mean of the binary maps is what `attentions` returns
    const mean = tf.tidy(() => tf.mean((out.spikeMaps as Tensor[])[1], 0));
    expect(values(mean)).toEqual(values((out.attentions as Tensor[])[1]));
    // the embedding's hidden state is token + position embedding
    const emb = tf.tidy(() =>
      tf.add(tf.gather(model.embed.weight, x), tf.slice(model.posEmbed.weight, [0, 0], [N, 32])),
    );
    expect(values((out.hiddenStates as Tensor[])[0])).toEqual(values(emb));
    tf.dispose([x, mean, emb]);
    disposeAll(out);
    model.dispose();
  });

  it('SFSA maps are the row-normalised Â = r(P) / r(Z): causal, rows sum to 1 or 0', () => {
    const model = tinyStudent('bispikclm', { time_steps: 3 }, 5);
    const x = ids([row(N, 3)]);
    const out = model.forward(x, { outputAttentions: true, outputSpikeMaps: true });
    for (let l = 0; l < 2; l++) {
      const a = values((out.attentions as Tensor[])[l]);
      const p = values((out.spikeMaps as Tensor[])[l]); // [T, 1, H, N, N] integer P
      expect(p.every((e) => Number.isInteger(e) && e >= 0)).toBe(true);
      for (let r = 0; r < a.length / N; r++) {
        const s = a.slice(r * N, (r + 1) * N).reduce((acc, e) => acc + e, 0);
        expect(s < 1e-6 || Math.abs(s - 1) < 1e-5).toBe(true);
        expect(a.slice(r * N + (r % N) + 1, (r + 1) * N).every((e) => e === 0)).toBe(true);
      }
    }
    disposeAll(out);
    x.dispose();
    model.dispose();
  });

  it('rejects a foreign state, a wrong batch and overlong input', () => {
    const a = tinyStudent('bispikclm');
    const b = tinyStudent('bispikclm');
    const st = b.initState(1);
    const x = ids([row(3, 1)]);
    expect(() => a.decode(x, st)).toThrow(/not made by this model/);
    const st2 = a.initState(2);
    expect(() => a.decode(x, st2)).toThrow(/holds 2 sequences, ids have 1/);
    const long = ids([row(33, 1)]);
    expect(() => a.forward(long)).toThrow(/exceed the model context of 32/);
    tf.dispose([x, long]);
    [st, st2].forEach((s) => s.dispose());
    [a, b].forEach((m) => m.dispose());
  });
});

describe('spiking decoders: inference weight cache', () => {
  beforeAll(setupBackend);

  it('eval mode (cached quantised weights) matches training mode and follows loadState', () => {
    const [a, b] = [tinyStudent('bispikclm', {}, 1), tinyStudent('bispikclm', {}, 2)];
    const x = ids([row(N, 1), row(N, 2)]);
    const trained = a.forward(x).logits;
    const train = values(trained);
    a.eval();
    const first = a.forward(x).logits;
    expect(values(first)).toEqual(train);
    a.loadState(b.stateDict()); // new weight data: the cache must rebuild
    b.eval();
    const [after, ref] = [a.forward(x).logits, b.forward(x).logits];
    expect(values(after)).toEqual(values(ref));
    expect(values(after)).not.toEqual(train);
    tf.dispose([x, trained, first, after, ref]);
    [a, b].forEach((m) => m.dispose());
  });
});
