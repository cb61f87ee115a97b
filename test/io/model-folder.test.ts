// Model folders: save -> load round trip in the Hugging Face layout, all-or-nothing
// saving (no half folder after a failure, no leftovers), refusal to clobber, and
// named errors for missing or bad config and weights files.
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  bytesToElements,
  loadModelFolder,
  readTfTensors,
  saveModelFolder,
  serializeSafetensors,
} from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { expectFormatErrorAsync, tempFolder } from './fixtures.js';

const config = { model_type: 'wd-spikingformer', hidden_size: 4, time_steps: 4, v_reset: null };

describe('model folders', () => {
  let root = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    await setupBackend();
    ({ dir: root, cleanup } = await tempFolder());
  });
  afterAll(() => cleanup());

  const hidden = async () => (await fsp.readdir(root)).filter((f) => f.startsWith('.'));

  it('saves and loads config, weights and extra files', async () => {
    const dir = join(root, 'student');
    const w = tf.tensor([
      [1, 2],
      [3, 4.5],
    ]);
    const ids = tf.tensor([7, -1], [2], 'int32');
    await saveModelFolder(dir, {
      config,
      tensors: {
        'layers.0.attn.q.weight': w,
        'layers.0.ids': ids,
        'layers.0.mask': { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      },
      extraFiles: {
        'generation_config.json': { eos_token_id: [1, 2], max_length: 64 },
        'tokenizer.json': '{"model":{}}',
        'onnx/model.onnx': new Uint8Array([1, 2, 3]),
      },
    });
    const folder = await loadModelFolder(dir);
    try {
      expect(folder.config).toEqual(config);
      expect(folder.generationConfig).toEqual({ eos_token_id: [1, 2], max_length: 64 });
      expect(folder.files).toEqual(['onnx/', 'tokenizer.json']);
      expect(folder.tensors.names().sort()).toEqual([
        'layers.0.attn.q.weight',
        'layers.0.ids',
        'layers.0.mask',
      ]);
      const loaded = await readTfTensors(folder.tensors);
      expect(values(loaded['layers.0.attn.q.weight'])).toEqual([1, 2, 3, 4.5]);
      expect(loaded['layers.0.attn.q.weight'].shape).toEqual([2, 2]);
      expect(loaded['layers.0.ids'].dtype).toBe('int32');
      expect(values(loaded['layers.0.ids'])).toEqual([7, -1]);
      expect(loaded['layers.0.mask'].dtype).toBe('bool');
      tf.dispose(Object.values(loaded));
    } finally {
      await folder.close();
    }
    const onDisk = await fsp.readFile(join(dir, 'config.json'), 'utf8');
    expect(JSON.parse(onDisk)).toEqual(config);
    expect(onDisk.endsWith('}\n')).toBe(true);
    expect(await fsp.readFile(join(dir, 'onnx', 'model.onnx'))).toEqual(Buffer.from([1, 2, 3]));
    expect(await hidden()).toEqual([]);
    tf.dispose([w, ids]);
  });

  it('stores float32 tensors as F16 or BF16 on request, with format metadata', async () => {
    const dir = join(root, 'half');
    const w = tf.tensor([1, 0.5, -2]);
    await saveModelFolder(dir, { config, tensors: { w }, floatDtype: 'BF16' });
    const folder = await loadModelFolder(dir);
    const info = await folder.tensors.info('w');
    expect(info.dtype).toBe('BF16');
    expect((folder.tensors as unknown as { metadata: unknown }).metadata).toEqual({ format: 'pt' });
    const t = await folder.tensors.read('w');
    expect(Array.from(bytesToElements('BF16', t.data))).toEqual([0x3f80, 0x3f00, 0xc000]);
    await folder.close();
    w.dispose();
  });

  it('refuses to replace a non-empty folder unless asked, then replaces it whole', async () => {
    const dir = join(root, 'existing');
    await saveModelFolder(dir, { config, tensors: {}, extraFiles: { 'old.txt': 'old' } });
    await expect(saveModelFolder(dir, { config, tensors: {} })).rejects.toThrow(
      /is not empty.*overwrite: true/,
    );
    expect(await fsp.readFile(join(dir, 'old.txt'), 'utf8')).toBe('old');
    await saveModelFolder(dir, {
      config: { ...config, hidden_size: 8 },
      tensors: {},
      overwrite: true,
    });
    expect((await fsp.readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(JSON.parse(await fsp.readFile(join(dir, 'config.json'), 'utf8')).hidden_size).toBe(8);
    expect(await hidden()).toEqual([]);
  });

  it('fills an existing empty folder', async () => {
    const dir = join(root, 'empty');
    await fsp.mkdir(dir);
    await saveModelFolder(dir, { config, tensors: {} });
    expect((await fsp.readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('leaves the old folder untouched and no temporary folder when saving fails midway', async () => {
    const dir = join(root, 'crash');
    await saveModelFolder(dir, { config, tensors: {}, extraFiles: { 'a.txt': 'v1' } });
    const exploding = {
      toJSON: () => {
        throw new Error('disk gone (simulated)');
      },
    };
    await expect(
      saveModelFolder(dir, {
        config,
        tensors: {},
        extraFiles: { 'b.json': exploding },
        overwrite: true,
      }),
    ).rejects.toThrow(/simulated/);
    expect((await fsp.readdir(dir)).sort()).toEqual(['a.txt', 'config.json', 'model.safetensors']);
    expect(await hidden()).toEqual([]);
  });

  it.each<[string, Parameters<typeof saveModelFolder>[1], RegExp]>([
    [
      'a config without model_type',
      { config: { hidden_size: 4 }, tensors: {} },
      /model_type must be a non-empty string/,
    ],
    [
      'an extra file outside the folder',
      { config, tensors: {}, extraFiles: { '../x': 'x' } },
      /not a relative path/,
    ],
    [
      'an extra file named config.json',
      { config, tensors: {}, extraFiles: { 'config.json': {} } },
      /would replace a file/,
    ],
    [
      'a tensor whose data does not fit its shape',
      { config, tensors: { w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } } },
      /needs 12 bytes, data has 8/,
    ],
  ])('refuses %s before writing anything', async (_what, options, problem) => {
    const dir = join(root, 'never');
    await expect(saveModelFolder(dir, options)).rejects.toThrow(ConfigError);
    await expect(saveModelFolder(dir, options)).rejects.toThrow(problem);
    await expect(fsp.stat(dir)).rejects.toThrow();
    expect(await hidden()).toEqual([]);
  });

  it('names a missing folder, config or weights file', async () => {
    const gone = join(root, 'gone');
    await expectFormatErrorAsync(loadModelFolder(gone), gone, /model folder does not exist/);
    const dir = join(root, 'partial');
    await fsp.mkdir(dir);
    const err = await expectFormatErrorAsync(
      loadModelFolder(dir),
      join(dir, 'config.json'),
      /file is missing/,
    );
    expect(err.hint).toMatch(/config.json with "model_type"/);
    await fsp.writeFile(join(dir, 'config.json'), JSON.stringify(config));
    const w = await expectFormatErrorAsync(
      loadModelFolder(dir),
      join(dir, 'model.safetensors'),
      /missing model.safetensors \(and no model.safetensors.index.json\)/,
    );
    expect(w.hint).toMatch(/saveModelFolder/);
    await fsp.writeFile(join(dir, 'pytorch_model.bin'), 'x');
    const torch = await expectFormatErrorAsync(
      loadModelFolder(dir),
      join(dir, 'model.safetensors'),
      /missing/,
    );
    expect(torch.hint).toMatch(/convert it to safetensors/);
  });

  it('names a config that is not JSON, not an object, or has no model_type', async () => {
    const dir = join(root, 'badconfig');
    await fsp.mkdir(dir);
    const path = join(dir, 'config.json');
    for (const [content, problem] of [
      ['{"model_type": ', /not valid JSON/],
      ['[1]', /must hold a JSON object/],
      ['{"hidden_size": 4}', /config has no "model_type" string/],
    ] as const) {
      await fsp.writeFile(path, content);
      await expectFormatErrorAsync(loadModelFolder(dir), path, problem);
    }
  });

  it('caps config.json at MAX_CONFIG_BYTES', async () => {
    const dir = join(root, 'bigconfig');
    await saveModelFolder(dir, { config, tensors: {} });
    const path = join(dir, 'config.json');
    const base = JSON.stringify({ model_type: 'x', pad: '' });
    const atLimit = JSON.stringify({ model_type: 'x', pad: 'p'.repeat(10_000_000 - base.length) });
    await fsp.writeFile(path, atLimit);
    const folder = await loadModelFolder(dir);
    await folder.close();
    await fsp.writeFile(path, `${atLimit} `);
    await expectFormatErrorAsync(
      loadModelFolder(dir),
      path,
      /file is too big: 10000001 bytes \(limit 10000000\)/,
    );
  });

  it('loads a sharded folder through its index', async () => {
    const dir = join(root, 'sharded');
    await fsp.mkdir(dir);
    await fsp.writeFile(join(dir, 'config.json'), JSON.stringify(config));
    const t = { dtype: 'F32', shape: [1], data: new Float32Array([9]) } as const;
    await fsp.writeFile(
      join(dir, 'model-00001-of-00001.safetensors'),
      serializeSafetensors({ a: t }),
    );
    await fsp.writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 4 },
        weight_map: { a: 'model-00001-of-00001.safetensors' },
      }),
    );
    const folder = await loadModelFolder(dir);
    expect(folder.files).toEqual([]);
    expect(Array.from(bytesToElements('F32', (await folder.tensors.read('a')).data))).toEqual([9]);
    await folder.close();
  });
});
