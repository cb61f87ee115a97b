// BERT on tiny random configs, checked against a float64 forward written here
// from the Hugging Face description on the checkpoint-named tensors (so the name
// table is checked too): MLM logits with padding, the classification head,
// bidirectionality, loading TF-era LayerNorm names and MLM files with extra heads,
// and config errors.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BertModel,
  bertCheckpoint,
  checkpointTensors,
  loadPretrained,
  savePretrained,
} from '../../models/index.js';
import { saveModelFolder } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { idsTensor, tempDir } from './helpers.js';
import { base, bertRef, dense, gelu, ln } from './bert-reference.js';
import type { W } from './bert-reference.js';

function weights(m: BertModel): W {
  const ck = checkpointTensors(m, bertCheckpoint(m.getConfig()));
  const w = Object.fromEntries(Object.entries(ck.tensors).map(([n, t]) => [n, values(t)]));
  ck.dispose();
  return w;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('BERT (tiny random configs)', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    await setupBackend();
    tmp = await tempDir();
  });
  afterAll(async () => tmp?.remove());

  it('MLM logits match float64 within 1e-5, padding included', () => {
    const m = new BertModel({ ...base, architectures: ['BertForMaskedLM'] }, { seed: 3 });
    const w = weights(m);
    const rows = [
      [2, 7, 7, 24, 1, 0],
      [5, 3, 9, 0, 0, 0],
    ];
    const masks = [
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0, 0],
    ];
    const x = idsTensor(rows);
    const am = tf.tensor2d(masks, [2, 6], 'int32');
    const out = m.forward(x, {
      attentionMask: am,
      outputHiddenStates: true,
      outputAttentions: true,
    });
    expect(out.logits?.shape).toEqual([2, 6, 25]);
    expect(out.hiddenStates).toHaveLength(3);
    expect(out.attentions?.map((a) => a.shape)).toEqual(Array(2).fill([2, 2, 6, 6]));
    const got = values(out.logits as Tensor);
    rows.forEach((ids, b) => {
      const h = bertRef(w, ids, masks[b]);
      const logits = h.map((r) => {
        const t = ln(
          dense(
            r,
            w['cls.predictions.transform.dense.weight'],
            w['cls.predictions.transform.dense.bias'],
          ).map(gelu),
          w['cls.predictions.transform.LayerNorm.weight'],
          w['cls.predictions.transform.LayerNorm.bias'],
        );
        return Array.from({ length: 25 }, (_, v) =>
          t.reduce(
            (a, z, j) => a + z * w['bert.embeddings.word_embeddings.weight'][v * 8 + j],
            w['cls.predictions.bias'][v],
          ),
        );
      });
      const n = masks[b].reduce((a, c) => a + c, 0); // padded positions are not compared
      expect(maxDiff(got.slice(b * 150, b * 150 + n * 25), logits.slice(0, n).flat())).toBeLessThan(
        1e-5,
      );
    });
    tf.dispose([
      x,
      am,
      out.logits as Tensor,
      ...(out.hiddenStates ?? []),
      ...(out.attentions ?? []),
    ]);
    m.dispose();
  });

  it('classification logits match float64 (pooler + classifier) and attention is bidirectional', () => {
    const cfg = {
      ...base,
      architectures: ['BertForSequenceClassification'],
      id2label: { 0: 'neg', 1: 'pos', 2: 'mixed' },
    };
    const m = new BertModel(cfg, { seed: 4 });
    expect(m.config.num_labels).toBe(3);
    const w = weights(m);
    const ids = [2, 11, 4, 8, 3];
    const x = idsTensor(ids);
    const out = m.forward(x);
    const h = bertRef(w, ids, [1, 1, 1, 1, 1]);
    const pooled = dense(h[0], w['bert.pooler.dense.weight'], w['bert.pooler.dense.bias']).map(
      Math.tanh,
    );
    const logits = dense(pooled, w['classifier.weight'], w['classifier.bias']);
    expect(maxDiff(values(out.logits as Tensor), logits)).toBeLessThan(1e-5);
    const later = idsTensor([2, 11, 4, 8, 9]); // changing the last token moves the first position too
    const o2 = m.forward(later);
    expect(values(o2.lastHiddenState).slice(0, 8)).not.toEqual(
      values(out.lastHiddenState).slice(0, 8),
    );
    tf.dispose([
      x,
      later,
      out.logits as Tensor,
      out.lastHiddenState,
      out.pooled as Tensor,
      o2.lastHiddenState,
      o2.logits as Tensor,
      o2.pooled as Tensor,
    ]);
    m.dispose();
  });

  it('loads TF-era gamma/beta names and MLM files that carry pooler and NSP tensors; saves HF names', async () => {
    const m = new BertModel({ ...base, architectures: ['BertForMaskedLM'] }, { seed: 5 });
    const ck = checkpointTensors(m, bertCheckpoint(m.getConfig()));
    const t: Record<string, Tensor> = {};
    for (const [n, v] of Object.entries(ck.tensors))
      t[
        n
          .replace(/LayerNorm\.weight$/, 'LayerNorm.gamma')
          .replace(/LayerNorm\.bias$/, 'LayerNorm.beta')
      ] = v;
    const extra = [tf.zeros([8, 8]), tf.zeros([8]), tf.zeros([2, 8]), tf.zeros([2])];
    [
      t['bert.pooler.dense.weight'],
      t['bert.pooler.dense.bias'],
      t['cls.seq_relationship.weight'],
      t['cls.seq_relationship.bias'],
    ] = extra;
    t['cls.predictions.decoder.weight'] = ck.tensors['bert.embeddings.word_embeddings.weight'];
    const dir = path.join(tmp.dir, 'tf-names');
    await saveModelFolder(dir, { config: m.getConfig(), tensors: t });
    ck.dispose();
    tf.dispose(extra);
    const back = (await loadPretrained(dir)) as unknown as BertModel;
    const x = idsTensor([1, 2, 3]);
    const [a, b] = [m.forward(x).logits as Tensor, back.forward(x).logits as Tensor];
    expect(values(b)).toEqual(values(a));
    await savePretrained(back, path.join(tmp.dir, 'saved'));
    const again = (await loadPretrained(path.join(tmp.dir, 'saved'))) as unknown as BertModel;
    expect(again.getConfig()).toEqual(m.getConfig());
    tf.dispose([x, a, b]);
    [m, back, again].forEach((z) => z.dispose());
  });

  it('leaks no tensors across forwards', () => {
    const m = new BertModel({ ...base, architectures: ['BertForMaskedLM'] });
    m.eval();
    const x = idsTensor([
      [1, 2, 3],
      [4, 5, 0],
    ]);
    const am = tf.tensor2d([1, 1, 1, 1, 1, 0], [2, 3], 'int32');
    const run = () => {
      const o = m.forward(x, {
        attentionMask: am,
        outputHiddenStates: true,
        outputAttentions: true,
      });
      tf.dispose([
        o.lastHiddenState,
        o.logits as Tensor,
        ...(o.hiddenStates ?? []),
        ...(o.attentions ?? []),
      ]);
    };
    run(); // builds the stored decoder transpose
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, am]);
    m.dispose();
  });

  it('rejects unsupported configs, naming the field', () => {
    expect(() => new BertModel({ ...base, architectures: ['BertForQuestionAnswering'] })).toThrow(
      /"architectures" "BertForQuestionAnswering" is not supported for bert; use one of BertModel/,
    );
    expect(() => new BertModel({ ...base, position_embedding_type: 'relative_key' })).toThrow(
      /"position_embedding_type" must be one of "absolute"/,
    );
    expect(() => new BertModel({ ...base, is_decoder: true })).toThrow(
      /"is_decoder" must be false/,
    );
    const m = new BertModel(base);
    const x = idsTensor(Array.from({ length: 17 }, () => 1));
    expect(() => m.forward(x)).toThrow(/17 positions exceed the model context of 16/);
    x.dispose();
    m.dispose();
  });
});
