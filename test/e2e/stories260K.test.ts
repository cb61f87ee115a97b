// End to end on the real stories260K (shared/models): `snnlm convert llama2c`
// then greedy generation from "Once upon a time" for 256 positions reproduces
// the MANIFEST text exactly; the converted folder and the shared one give the
// same logits; and the shared ONNX export run by transformers.js (an outside
// engine) agrees with our logits on a left-padded batch of prompts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCausalLM } from '../../models/index.js';
import '../../models/cli.js';
import { generate } from '../../src/generate/index.js';
import { tf } from '../../src/tf.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { tempFolder } from '../io/fixtures.js';
import {
  SHARED_MODELS,
  STORIES_BIN,
  STORIES_HF,
  TOK512_BIN,
  missing,
} from '../io/llama2c-fixtures.js';
import { cli, setupBackend } from '../helpers.js';

/** MANIFEST.md, section 1: greedy, 256 positions, stopping on BOS. */
const EXPECTED = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.',
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."',
  "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"",
  "Lily didn't want to help her mom, so she said, \"I'm sorry, mom. I didn't know what to do.\" Her mom said, \"Don't worry, Lily. We can help you.",
].join('\n');
const FIRST_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
const PROMPTS = [
  'Once upon a time',
  'The dog',
  'Hello, my dog is cute.',
  'Lily and Tim went to the park. They',
];

/** Our logits `[n, V]` for one prompt from a model folder. */
async function ourLogits(dir: string, ids: number[][]): Promise<Float32Array[]> {
  const model = await loadCausalLM(dir);
  try {
    return ids.map((row) =>
      tf.tidy(
        () =>
          model
            .forward(tf.tensor2d(row, [1, row.length], 'int32'))
            .logits.dataSync() as Float32Array,
      ),
    );
  } finally {
    model.dispose();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('e2e: stories260K', () => {
  const skip = missing(STORIES_BIN, TOK512_BIN, path.join(STORIES_HF, 'onnx/model.onnx'));
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }
  let dir = '';
  let cleanup = async (): Promise<void> => undefined;
  let out = '';
  beforeAll(async () => {
    await setupBackend();
    ({ dir, cleanup } = await tempFolder());
    out = path.join(dir, 'stories260K');
    const r = await cli([
      'convert',
      'llama2c',
      '--model',
      STORIES_BIN,
      '--tokenizer',
      TOK512_BIN,
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      model_type: 'llama',
      tensors: 47,
      parameters: 260_032,
    });
  });
  afterAll(() => cleanup());

  it('converts to the files of the shared folder', async () => {
    for (const file of [
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'model.safetensors',
    ]) {
      const [a, b] = [
        await readFile(path.join(out, file)),
        await readFile(path.join(STORIES_HF, file)),
      ];
      expect(a.equals(b), file).toBe(true);
    }
  });

  it('generates the MANIFEST text greedily (256 positions, stop on BOS)', async () => {
    const model = await loadCausalLM(out);
    const tok = await Tokenizer.fromFolder(out);
    const pieces: string[] = [];
    try {
      const r = await generate(
        model,
        tok,
        'Once upon a time',
        { temperature: 0, max_tokens: 256 - 5 + 1, eos_token_id: [1] },
        (t) => pieces.push(t),
      );
      expect([...r.prompt_ids, ...r.ids].slice(0, FIRST_IDS.length)).toEqual(FIRST_IDS);
      expect('Once upon a time' + r.text).toBe(EXPECTED);
      expect(pieces.join('')).toBe(r.text);
      expect(tok.decode([...r.prompt_ids, ...r.ids], { skipSpecialTokens: true })).toBe(EXPECTED);
      expect(r).toMatchObject({ finish_reason: 'length', completion_tokens: 252 });
    } finally {
      model.dispose();
    }
  });

  it('prints the MANIFEST text from `snnlm generate`', async () => {
    const r = await cli([
      'generate',
      '--model',
      out,
      '--prompt',
      'Once upon a time',
      '--max-new-tokens',
      '252',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`${EXPECTED}\n`);
    expect(JSON.parse(r.err)).toMatchObject({ finish_reason: 'length', completion_tokens: 252 });
  });

  it('gives the logits of the shared folder (within 1e-4)', async () => {
    const tok = await Tokenizer.fromFolder(out);
    const ids = PROMPTS.map((p) => tok.encode(p));
    const [ours, shared] = [await ourLogits(out, ids), await ourLogits(STORIES_HF, ids)];
    ours.forEach((row, i) => expect(maxDiff(row, shared[i])).toBeLessThan(1e-4)); // measured: 0
  });

  it('agrees with the ONNX export run by transformers.js (within 1e-3)', async () => {
    const { env, AutoModelForCausalLM, AutoTokenizer } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = path.join(SHARED_MODELS, 'transformersjs') + path.sep;
    const hfTok = await AutoTokenizer.from_pretrained('stories260K');
    const hfModel = await AutoModelForCausalLM.from_pretrained('stories260K', {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      const inputs = hfTok(PROMPTS, { padding: true }); // left padding (tokenizer_config)
      const { logits } = (await hfModel(inputs)) as {
        logits: { dims: number[]; data: Float32Array };
      };
      const [B, N, V] = logits.dims;
      expect([B, V]).toEqual([PROMPTS.length, 512]);
      const mask = (inputs.attention_mask.tolist() as bigint[][]).map((r) => r.map(Number));
      const hfIds = (inputs.input_ids.tolist() as bigint[][]).map((r) => r.map(Number));
      const tok = await Tokenizer.fromFolder(out);
      const ids = PROMPTS.map((p) => tok.encode(p));
      const ours = await ourLogits(out, ids);
      ids.forEach((row, b) => {
        const pad = N - row.length;
        expect(hfIds[b].slice(pad)).toEqual(row);
        expect(mask[b].indexOf(1)).toBe(pad);
        const theirs = logits.data.subarray((b * N + pad) * V, (b + 1) * N * V);
        expect(maxDiff(ours[b], theirs)).toBeLessThan(1e-3); // measured: about 2.5e-5
      });
    } finally {
      await hfModel.dispose();
    }
  });
});
