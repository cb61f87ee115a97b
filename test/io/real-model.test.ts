// Reads the real stories260K checkpoint from ../shared/models (MANIFEST.md:
// 47 float32 tensors, `__metadata__.format = pt`), written by the reference
// (Python/Rust) safetensors writer: header, a tensor's values, tfjs conversion,
// the model folder, and a byte-for-byte re-write by our writer.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadModelFolder,
  openSafetensors,
  readSafetensors,
  serializeSafetensors,
  toTfTensor,
} from '../../src/io/index.js';
import { setupBackend } from '../helpers.js';

const folder = path.resolve(
  import.meta.dirname,
  '../../../shared/models/transformersjs/stories260K',
);
const file = path.join(folder, 'model.safetensors');
const present = existsSync(file);
const skipMessage = `needs ${file} (shared/models, see MANIFEST.md); not present here`;

describe('real safetensors: stories260K', () => {
  if (!present) {
    it.skip(skipMessage, () => undefined);
    return;
  }
  beforeAll(setupBackend);

  it('reads the header and one tensor on demand', async () => {
    const reader = await openSafetensors(file);
    try {
      expect(reader.metadata).toEqual({ format: 'pt' });
      expect(reader.names()).toHaveLength(47);
      expect(reader.header.dataStart % 8).toBe(0);
      const info = await reader.info('model.embed_tokens.weight');
      expect(info).toMatchObject({ dtype: 'F32', shape: [512, 64], begin: 0 });
      const norm = await reader.read('model.norm.weight');
      const t = toTfTensor(norm);
      expect(t.shape).toEqual([64]);
      const v = await t.data();
      expect(v.every((x) => Number.isFinite(x))).toBe(true);
      t.dispose();
    } finally {
      await reader.close();
    }
  });

  it('is re-written byte for byte by our writer', async () => {
    const bytes = await readFile(file);
    const contents = readSafetensors(bytes, { file });
    const again = serializeSafetensors(contents.tensors, { metadata: contents.metadata });
    expect(again.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(again).equals(bytes)).toBe(true);
  });

  it('opens as a model folder', async () => {
    const model = await loadModelFolder(folder);
    expect(model.config.model_type).toBe('llama');
    expect(model.generationConfig).toMatchObject({ eos_token_id: [1, 2] });
    expect(model.files).toEqual(expect.arrayContaining(['tokenizer.json', 'onnx/']));
    await model.close();
  });
});
