// Teacher adapters: the native teacher (stories260K converted from llama2.c) and the
// transformers.js teacher (the shared ONNX export of the same model) give the same
// logits; the ONNX teacher switches hidden/attention terms off with a warning; a
// tokenizer mismatch is a clear error.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../models/cli.js';
import { checkTokenizerMatch, disposeFeatures, loadTeacher } from '../../distill/teacher.js';
import type { NativeTeacher, TransformersJsTeacher } from '../../distill/teacher.js';
import { log } from '../../src/log.js';
import { tf } from '../../src/tf.js';
import { cli, setupBackend } from '../helpers.js';
import { tempFolder } from '../io/fixtures.js';

const SHARED = path.resolve(import.meta.dirname, '../../../shared/models');
const ONNX_DIR = path.join(SHARED, 'transformersjs/stories260K');
const BIN = path.join(SHARED, 'llama2c/stories260K.bin');
const TOK = path.join(SHARED, 'llama2c/tok512.bin');
const present = [path.join(ONNX_DIR, 'onnx/model.onnx'), BIN, TOK].every((f) => existsSync(f));

describe('teachers on stories260K', () => {
  if (!present) {
    console.warn(`skipping teacher tests: ${ONNX_DIR} or ${BIN} is absent (shared models)`);
    it.skip('needs the shared stories260K files', () => undefined);
    return;
  }
  let dir = '';
  let cleanup = async (): Promise<void> => undefined;
  let native: NativeTeacher;
  let onnx: TransformersJsTeacher;

  beforeAll(async () => {
    await setupBackend();
    ({ dir, cleanup } = await tempFolder());
    const out = path.join(dir, 'teacher');
    const r = await cli(['convert', 'llama2c', '--model', BIN, '--tokenizer', TOK, '--out', out]);
    expect(r.code, r.err).toBe(0);
    native = (await loadTeacher(out)) as NativeTeacher;
    onnx = (await loadTeacher(ONNX_DIR, 'transformersjs')) as TransformersJsTeacher;
  });
  afterAll(async () => {
    await native?.dispose();
    await onnx?.dispose();
    await cleanup();
  });

  it('picks the adapter from the folder', () => {
    expect(native.kind).toBe('native');
    expect(onnx.kind).toBe('transformersjs');
    expect(native.vocabSize).toBe(512);
    expect(onnx.vocabSize).toBe(512);
    expect(onnx.tokenizerHash).toBe(native.tokenizerHash); // same tokenizer files
  });

  it('gives the same logits from both adapters (within 1e-3)', async () => {
    const rows = [
      [1, 403, 407, 261, 378, 432],
      [1, 76, 300, 12, 9, 411],
    ];
    const ids = tf.tensor2d(rows, [2, 6], 'int32');
    const a = await native.features(ids);
    const b = await onnx.features(ids);
    expect(b.logits.shape).toEqual([2, 6, 512]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a.logits, b.logits))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-3);
    // the logits are not trivially equal: they vary across positions
    const spread = tf.tidy(() => tf.moments(a.logits).variance.dataSync()[0]);
    expect(spread).toBeGreaterThan(0.1);
    disposeFeatures(a);
    disposeFeatures(b);
    ids.dispose();
  });

  it('native teacher gives hidden states, maps and embeddings', async () => {
    const ids = tf.tensor2d([[1, 403, 407, 261]], [1, 4], 'int32');
    const f = await native.features(ids, { hidden: true, attentions: true, embeddings: true });
    expect(f.hidden).toHaveLength(6); // L + 1 for the 5-layer model
    expect(f.attentions).toHaveLength(5);
    expect(f.attentions![0].shape).toEqual([1, 8, 4, 4]);
    expect(f.embeddings!.shape).toEqual([1, 4, 64]);
    disposeFeatures(f);
    ids.dispose();
  });

  it('ONNX teacher warns once and gives logits only when asked for more', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const ids = tf.tensor2d([[1, 403, 407]], [1, 3], 'int32');
    const f = await onnx.features(ids, { hidden: true, attentions: true });
    const again = await onnx.features(ids, { hidden: true });
    expect(f.hidden).toBeUndefined();
    expect(f.attentions).toBeUndefined();
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages.filter((m) => /hidden alignment term is switched off/.test(m))).toHaveLength(1);
    expect(messages.some((m) => /attentions alignment term is switched off/.test(m))).toBe(true);
    warn.mockRestore();
    disposeFeatures(f);
    disposeFeatures(again);
    ids.dispose();
  });
});

describe('tokenizer match', () => {
  const teacher = { dir: 'runs/teacher', vocabSize: 512, tokenizerHash: 'sha256:aaaa' };
  it('refuses a different vocabulary size', () => {
    expect(() => checkTokenizerMatch(teacher, { what: 'the student', vocabSize: 4096 })).toThrow(
      /tokenizer mismatch: the teacher runs\/teacher has a vocabulary of 512, the student has 4096/,
    );
  });
  it('refuses different tokenizer files of the same size', () => {
    expect(() =>
      checkTokenizerMatch(teacher, {
        what: 'the data tokenizer',
        vocabSize: 512,
        tokenizerHash: 'sha256:bbbb',
      }),
    ).toThrow(/tokenizer files of the data tokenizer differ/);
  });
  it('accepts the same tokenizer', () => {
    expect(() =>
      checkTokenizerMatch(teacher, { what: 'x', vocabSize: 512, tokenizerHash: 'sha256:aaaa' }),
    ).not.toThrow();
  });
  it('refuses a missing teacher folder', async () => {
    await expect(loadTeacher('/nonexistent/teacher-folder')).rejects.toThrow(/does not exist/);
  });
});
