// Batched decoding of left-padded prompts (`decode(ids, state, { attentionMask })`, the
// CausalLM contract in src/generate/types.ts): for the teachers (LLaMA with RoPE, GPT-2
// with learned positions) and the spiking decoders (WD-Spikingformer with cached CWSSA
// spikes, BiSpikCLM with the recurrent SFSA state), greedy generation of a batch of
// prompts of different lengths, left-padded, gives each row the same tokens as the row
// generated alone, and the logits at the real positions agree (the spiking decoders bit
// for bit: integer attention and per-token neurons). Without a mask the padding would be
// read as tokens and shift the positions, so the comparison fails for a wrong mask path;
// a mask of the wrong shape is refused before the state changes.
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT2LMHeadModel, LlamaForCausalLM } from '../../models/index.js';
import type { CausalLM, DecodeState } from '../../src/generate/types.js';
import { ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { tinyLlamaConfig } from './helpers.js';
import { tinyStudent } from './student-helpers.js';

const PROMPTS = [
  [5, 9, 2, 17, 30, 4],
  [11, 3],
  [7, 22, 13, 1],
];
const NEW_TOKENS = 5;
const PAD = 0;

/** Greedy tokens of one prompt alone and the logits `[V]` of each step. */
function alone(model: CausalLM, prompt: number[]): { ids: number[]; logits: number[][] } {
  const state = model.initState(1);
  try {
    const out = { ids: [] as number[], logits: [] as number[][] };
    let feed = prompt;
    for (let s = 0; s < NEW_TOKENS; s++) {
      const x = tf.tensor2d([feed], [1, feed.length], 'int32');
      const y = model.decode(x, state);
      const V = model.vocabSize;
      const last = Array.from(y.dataSync().subarray((feed.length - 1) * V));
      tf.dispose([x, y]);
      const next = last.indexOf(Math.max(...last));
      out.ids.push(next);
      out.logits.push(last);
      feed = [next];
    }
    return out;
  } finally {
    state.dispose();
  }
}

/** Greedy tokens of every prompt in one left-padded batch (mask on the prompt call only). */
function batched(
  model: CausalLM,
  prompts: number[][],
  useMask = true,
): { ids: number[][]; logits: number[][][] } {
  const width = Math.max(...prompts.map((p) => p.length));
  const rows = prompts.map((p) => [...new Array<number>(width - p.length).fill(PAD), ...p]);
  const mask = prompts.map((p) => rows[0].map((_, j) => (j < width - p.length ? 0 : 1)));
  const B = prompts.length;
  const V = model.vocabSize;
  const state: DecodeState = model.initState(B);
  const out = {
    ids: prompts.map(() => [] as number[]),
    logits: prompts.map(() => [] as number[][]),
  };
  try {
    let x = tf.tensor2d(rows, [B, width], 'int32');
    const m = tf.tensor2d(mask, [B, width], 'int32');
    let y = model.decode(x, state, useMask ? { attentionMask: m } : {});
    m.dispose();
    for (let s = 0; s < NEW_TOKENS; s++) {
      const n = y.shape[1] as number;
      const v = y.dataSync();
      const next = prompts.map((_, b) => {
        const last = Array.from(v.subarray((b * n + n - 1) * V, (b * n + n) * V));
        out.logits[b].push(last);
        return last.indexOf(Math.max(...last));
      });
      next.forEach((id, b) => out.ids[b].push(id));
      tf.dispose([x, y]);
      if (s === NEW_TOKENS - 1) break;
      x = tf.tensor2d(
        next.map((id) => [id]),
        [B, 1],
        'int32',
      );
      y = model.decode(x, state); // no mask: real tokens, the state remembers the padding
    }
    return out;
  } finally {
    state.dispose();
  }
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

const MODELS: [string, () => CausalLM, number][] = [
  ['llama', () => new LlamaForCausalLM(tinyLlamaConfig(), { seed: 3 }), 1e-4],
  [
    'gpt2',
    () =>
      new GPT2LMHeadModel(
        {
          model_type: 'gpt2',
          ...{ vocab_size: 40, n_embd: 16, n_layer: 2, n_head: 2, n_positions: 32 },
          initializer_range: 0.3,
        },
        { seed: 4 },
      ),
    1e-4,
  ],
  ['wd-spikingformer', () => tinyStudent('wd-spikingformer', { wta_k: 2 }, 5), 0],
  ['bispikclm', () => tinyStudent('bispikclm', {}, 6), 0],
  ['bispikclm (sfsa decay)', () => tinyStudent('bispikclm', { sfsa_decay_shift: 3 }, 7), 0],
];

describe('left-padded batched decoding', () => {
  beforeAll(async () => {
    await setupBackend();
  });

  for (const [name, make, tol] of MODELS) {
    it(`${name}: every padded row generates what it generates alone`, () => {
      const model = make() as CausalLM & { eval(): unknown; dispose(): void };
      model.eval();
      try {
        const solo = PROMPTS.map((p) => alone(model, p));
        const before = tf.memory().numTensors; // after eval-mode caches (quantised weights) are made
        const batch = batched(model, PROMPTS);
        PROMPTS.forEach((_, b) => {
          expect(batch.ids[b]).toEqual(solo[b].ids);
          solo[b].logits.forEach((l, s) => {
            const d = maxDiff(batch.logits[b][s], l);
            if (!(d <= tol)) expect.fail(`row ${b} step ${s}: logits differ by ${d} > ${tol}`);
          });
        });
        // the longest prompt has no padding: unmasked it is unchanged; the others move
        const unmasked = batched(model, PROMPTS, false);
        expect(maxDiff(unmasked.logits[0][0], solo[0].logits[0])).toBeLessThanOrEqual(tol);
        const moved = [1, 2].some((b) => maxDiff(unmasked.logits[b][0], solo[b].logits[0]) > 1e-3);
        expect(moved).toBe(true);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        model.dispose();
      }
    });
  }

  it('a mask of the wrong shape is refused before the state changes', () => {
    for (const model of [
      new LlamaForCausalLM(tinyLlamaConfig(), { seed: 3 }),
      tinyStudent('wd-spikingformer', {}, 5),
    ]) {
      const state = model.initState(2);
      const x = tf.tensor2d(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        [2, 3],
        'int32',
      );
      const m = tf.ones([2, 2], 'int32');
      expect(() => model.decode(x, state, { attentionMask: m })).toThrow(ShapeError);
      expect(() => model.decode(x, state, { attentionMask: m })).toThrow(
        /attentionMask must be \[B, n\] = \[2, 3\] \(the fed ids\), got \[2, 2\]/,
      );
      expect(state.length).toBe(0);
      tf.dispose([x, m]);
      state.dispose();
      model.dispose();
    }
  });
});
