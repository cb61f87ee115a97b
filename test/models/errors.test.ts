// Bad input to the registry, the loader and the LLaMA model: every error names
// the field, the tensor and the file at fault (messages are part of the contract).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LlamaForCausalLM,
  buildModel,
  checkpointTensors,
  knownModelTypes,
  llamaCheckpoint,
  loadCausalLM,
  loadPretrained,
} from '../../models/index.js';
import { ConfigError, FormatError, ShapeError } from '../../src/errors.js';
import { saveModelFolder } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { idsTensor, tempDir, tinyLlamaConfig } from './helpers.js';

describe('models: bad input', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  let tiny: LlamaForCausalLM;
  beforeAll(async () => {
    await setupBackend();
    tmp = await tempDir();
    tiny = new LlamaForCausalLM(tinyLlamaConfig({ max_position_embeddings: 8 }));
  });
  afterAll(async () => {
    tiny?.dispose();
    await tmp?.remove();
  });

  /** Save the tiny model's checkpoint tensors after `edit` as folder `name`. */
  async function folderWith(
    name: string,
    edit: (t: Record<string, Tensor>) => void,
    cfg = tiny.getConfig(),
  ) {
    const dir = path.join(tmp.dir, name);
    const ckpt = checkpointTensors(tiny, llamaCheckpoint(tiny.getConfig())); // untied: has lm_head
    const tensors = { ...ckpt.tensors };
    edit(tensors);
    await saveModelFolder(dir, { config: cfg, tensors });
    ckpt.dispose();
    return dir;
  }

  it('unknown model_type lists the known ones', async () => {
    expect(knownModelTypes()).toContain('llama');
    expect(() => buildModel({ model_type: 'mamba' })).toThrow(ConfigError);
    expect(() => buildModel({ model_type: 'mamba' })).toThrow(
      /config\.json: unknown model_type "mamba"; known: .*llama/,
    );
    expect(() => buildModel({})).toThrow(/missing required field "model_type"/);
    const dir = await folderWith('unknown', () => undefined, {
      ...tiny.getConfig(),
      model_type: 'mamba',
    });
    await expect(loadPretrained(dir)).rejects.toThrow(
      new RegExp(
        `${path.join(dir, 'config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: unknown model_type "mamba"`,
      ),
    );
  });

  it('a missing or invalid config field is named, with the file', () => {
    const { hidden_size: _drop, ...noHidden } = tinyLlamaConfig();
    expect(() => buildModel(noHidden, 'x/config.json')).toThrow(
      'x/config.json: missing required field "hidden_size" (model_type "llama")',
    );
    const bad: [Record<string, unknown>, RegExp][] = [
      [
        { num_key_value_heads: 3 },
        /"num_key_value_heads" must divide num_attention_heads \(4\), got 3/,
      ],
      [{ vocab_size: '40' }, /"vocab_size" must be an integer >= 1, got "40"/],
      [{ head_dim: 5 }, /"head_dim" must be even/],
      [{ rms_norm_eps: -1 }, /"rms_norm_eps" must be > 0/],
      [{ rope_scaling: { type: 'linear', factor: 2 } }, /"rope_scaling" is not supported/],
      [{ hidden_act: 'swish' }, /"hidden_act" must be one of "silu", "gelu", "gelu_new", "relu"/],
      [{ tie_word_embeddings: 'yes' }, /"tie_word_embeddings" must be true or false/],
    ];
    for (const [over, msg] of bad) {
      expect(() => buildModel(tinyLlamaConfig(over))).toThrow(ConfigError);
      expect(() => buildModel(tinyLlamaConfig(over))).toThrow(msg);
    }
  });

  it('a mis-shaped tensor is named with its file and the expected shape', async () => {
    const dir = await folderWith('shape', (t) => {
      t['model.norm.weight'] = tf.zeros([17]);
    });
    const file = path.join(dir, 'model.safetensors');
    const err = await loadPretrained(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toContain(
      `tensor "model.norm.weight" in ${file} has shape [17], expected [16] (for norm.weight)`,
    );
  });

  it('a misnamed tensor is reported as unexpected and the real one as missing', async () => {
    const dir = await folderWith('names', (t) => {
      t['model.layers.0.mlp.upp_proj.weight'] = t['model.layers.0.mlp.up_proj.weight'];
      delete t['model.layers.0.mlp.up_proj.weight'];
      t['model.layers.7.input_layernorm.weight'] = t['model.norm.weight'];
    });
    const file = path.join(dir, 'model.safetensors');
    const msg = String(await loadPretrained(dir).catch((e: unknown) => (e as Error).message));
    expect(msg).toContain(
      `unexpected tensor "model.layers.0.mlp.upp_proj.weight" in ${file} (no rule maps it)`,
    );
    expect(msg).toContain(
      `unexpected tensor "model.layers.7.input_layernorm.weight" in ${file} (the model has no parameter layers.7.attn_norm.weight)`,
    );
    expect(msg).toContain(
      `missing tensor "model.layers.0.mlp.up_proj.weight" (for layers.0.mlp.up.weight) in ${file}`,
    );
  });

  it('an integer tensor where weights belong is refused', async () => {
    const dir = await folderWith('dtype', (t) => {
      t['model.norm.weight'] = tf.zeros([16], 'int32');
    });
    await expect(loadPretrained(dir)).rejects.toThrow(
      /"model\.norm\.weight" .* has dtype I32, expected a float dtype/,
    );
  });

  it('a tied checkpoint may carry a copy of lm_head; an untied one must have it', async () => {
    const untied = await folderWith('untied', (t) => {
      delete t['lm_head.weight'];
    });
    await expect(loadPretrained(untied)).rejects.toThrow(/missing tensor "lm_head\.weight"/);
    const tiedCfg = { ...tiny.getConfig(), tie_word_embeddings: true };
    const tied = await folderWith('tied', () => undefined, tiedCfg); // still holds lm_head.weight
    const m = await loadCausalLM(tied);
    expect(m.namedParameters().some(([n]) => n === 'lm_head.weight')).toBe(false);
    m.dispose();
  });

  it('a prompt longer than the context is refused, in forward and in decode', () => {
    const long = idsTensor([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => tiny.forward(long)).toThrow(ConfigError);
    expect(() => tiny.forward(long)).toThrow(
      /llama forward: 9 tokens = 9 positions exceed the model context of 8 \(max_position_embeddings\)/,
    );
    const st = tiny.initState(1);
    expect(() => tiny.decode(long, st)).toThrow(/exceed the model context of 8/);
    const five = idsTensor([1, 2, 3, 4, 5]);
    tiny.decode(five, st).dispose();
    const four = idsTensor([1, 2, 3, 4]);
    expect(() => tiny.decode(four, st)).toThrow(
      /5 cached \+ 4 tokens = 9 positions exceed the model context of 8/,
    );
    expect(st.length).toBe(5);
    tf.dispose([long, five, four]);
    st.dispose();
  });

  it('decode refuses a state of another model or batch, and bad ids', () => {
    const other = new LlamaForCausalLM(tinyLlamaConfig());
    const x = idsTensor([1, 2]);
    const foreign = other.initState(1);
    expect(() => tiny.decode(x, foreign)).toThrow(/not made by this model/);
    const two = tiny.initState(2);
    expect(() => tiny.decode(x, two)).toThrow(ShapeError);
    const f = tf.tensor2d([[1, 2]], [1, 2], 'float32');
    expect(() => tiny.forward(f)).toThrow(/ids must be int32 \[B, N\], got float32 \[1, 2\]/);
    const oov = idsTensor([1, 99]);
    expect(() => tiny.forward(oov)).toThrow(/token id 99 is not an integer in \[0, 40\)/);
    tf.dispose([x, f, oov]);
    foreign.dispose();
    two.dispose();
    other.dispose();
  });

  it('a folder without config.json or weights says which file is missing', async () => {
    const empty = path.join(tmp.dir, 'empty');
    await mkdir(empty);
    await expect(loadPretrained(empty)).rejects.toThrow(/config\.json: file is missing/);
    await writeFile(path.join(empty, 'config.json'), JSON.stringify(tinyLlamaConfig()));
    await expect(loadPretrained(empty)).rejects.toThrow(
      /model\.safetensors: missing model\.safetensors/,
    );
  });
});
