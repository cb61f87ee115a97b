// A body saved with one head, loaded with another (`loadPretrained(dir, { config })`):
// a BERT MLM folder (no pooler, no classifier, as transformers saves BertForMaskedLM) as
// BertForSequenceClassification, and a WE-Spikingformer MLM folder as its classification
// model. The body comes from the checkpoint bit for bit, the new head tensors keep the
// seeded initialisation (equal to a fresh model with that seed, different with another
// seed), one log line lists them with their shapes; a body tensor missing or extra is
// still refused, and a folder whose OWN head is incomplete is refused (no silent init).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BertModel,
  bertCheckpoint,
  checkpointTensors,
  loadPretrained,
  savePretrained,
  studentPreset,
  WESpikingformer,
} from '../../models/index.js';
import { FormatError } from '../../src/errors.js';
import { saveModelFolder } from '../../src/io/index.js';
import { setLogSink } from '../../src/log.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { base } from './bert-reference.js';
import { idsTensor, tempDir } from './helpers.js';

type Loaded = { namedParameters(): [string, tf.Variable][]; dispose(): void };

const params = (m: Loaded) => new Map(m.namedParameters().map(([n, v]) => [n, values(v)]));

/** `loadPretrained` with the log lines it writes. */
async function loadLogged(
  dir: string,
  o: Parameters<typeof loadPretrained>[1],
): Promise<{ model: Loaded; lines: string[] }> {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    return { model: (await loadPretrained(dir, o)) as unknown as Loaded, lines };
  } finally {
    setLogSink(prev);
  }
}

describe('a new task head on a saved body', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    await setupBackend();
    tmp = await tempDir();
  });
  afterAll(async () => {
    await tmp.remove();
  });

  const CLS = { architectures: ['BertForSequenceClassification'], num_labels: 3 };

  it('BERT MLM folder -> sequence classification: body loaded, pooler + classifier seeded and logged', async () => {
    const mlm = new BertModel({ ...base, architectures: ['BertForMaskedLM'] }, { seed: 5 });
    const dir = path.join(tmp.dir, 'bert-mlm');
    await savePretrained(mlm, dir);
    const { model, lines } = await loadLogged(dir, { config: CLS, seed: 7 });
    const cls = model as unknown as BertModel;
    expect(cls.head).toBe('classification');
    const got = params(model);
    const body = params(mlm);
    for (const [n, v] of body) if (!n.startsWith('mlm.')) expect(got.get(n), n).toEqual(v);
    const D = base.hidden_size as number;
    // the new head is the seeded initialisation of a fresh model with seed 7
    const fresh = new BertModel({ ...base, ...CLS }, { seed: 7 });
    const other = new BertModel({ ...base, ...CLS }, { seed: 8 });
    const head = ['pooler.weight', 'pooler.bias', 'classifier.weight', 'classifier.bias'];
    const f = params(fresh);
    for (const n of head) expect(got.get(n), n).toEqual(f.get(n));
    expect(params(other).get('classifier.weight')).not.toEqual(f.get('classifier.weight'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('BertForSequenceClassification head not in the checkpoint');
    expect(lines[0]).toContain('saved as BertForMaskedLM');
    expect(lines[0]).toContain('seed 7');
    for (const t of [
      `pooler.weight [${D}, ${D}]`,
      `pooler.bias [${D}]`,
      `classifier.weight [3, ${D}]`,
      'classifier.bias [3]',
    ])
      expect(lines[0]).toContain(t);
    const x = idsTensor([[2, 11, 4, 8]]);
    const logits = cls.forward(x).logits as Tensor;
    expect(logits.shape).toEqual([1, 3]);
    tf.dispose([x, logits]);
    // loading the folder as saved logs nothing and needs no fresh tensor
    const same = await loadLogged(dir, {});
    expect(same.lines).toEqual([]);
    [mlm, model, fresh, other, same.model].forEach((m) => m.dispose());
  });

  it('BERT: a missing or unexpected body tensor is refused; so is an incomplete own head', async () => {
    const mlm = new BertModel({ ...base, architectures: ['BertForMaskedLM'] }, { seed: 5 });
    const ck = checkpointTensors(mlm, bertCheckpoint(mlm.getConfig()));
    const q0 = 'bert.encoder.layer.0.attention.self.query.weight';
    const missing = { ...ck.tensors };
    delete missing[q0];
    const dirMissing = path.join(tmp.dir, 'bert-missing');
    await saveModelFolder(dirMissing, { config: mlm.getConfig(), tensors: missing });
    const load = (dir: string, o = {}) => loadPretrained(dir, o).catch((e: unknown) => e);
    let err = await load(dirMissing, { config: CLS });
    expect(err).toBeInstanceOf(FormatError);
    expect(String(err)).toMatch(
      /missing tensor "bert\.encoder\.layer\.0\.attention\.self\.query\.weight" \(for layers\.0\.attn\.q\.weight\)/,
    );
    const extraT = tf.zeros([4, 4]);
    const dirExtra = path.join(tmp.dir, 'bert-extra');
    await saveModelFolder(dirExtra, {
      config: mlm.getConfig(),
      tensors: { ...ck.tensors, 'bert.encoder.layer.9.attention.self.query.weight': extraT },
    });
    err = await load(dirExtra, { config: CLS });
    expect(String(err)).toMatch(
      /unexpected tensor "bert\.encoder\.layer\.9\.attention\.self\.query\.weight"/,
    );
    // a classification folder without its classifier: its own head, so no fresh init
    const cls = new BertModel({ ...base, ...CLS }, { seed: 3 });
    const ckc = checkpointTensors(cls, bertCheckpoint(cls.getConfig()));
    const noHead = { ...ckc.tensors };
    delete noHead['classifier.weight'];
    delete noHead['classifier.bias'];
    const dirNoHead = path.join(tmp.dir, 'bert-cls-no-head');
    await saveModelFolder(dirNoHead, { config: cls.getConfig(), tensors: noHead });
    err = await load(dirNoHead);
    expect(String(err)).toMatch(/missing tensor "classifier\.weight"/);
    // a partial new head (pooler weight without its bias) is refused too
    const partial = {
      ...ck.tensors,
      'bert.pooler.dense.weight': ckc.tensors['bert.pooler.dense.weight'],
    };
    const dirPartial = path.join(tmp.dir, 'bert-partial');
    await saveModelFolder(dirPartial, { config: mlm.getConfig(), tensors: partial });
    err = await load(dirPartial, { config: CLS });
    expect(String(err)).toMatch(/missing tensor "bert\.pooler\.dense\.bias"/);
    expect(String(err)).not.toMatch(/classifier/);
    err = await load(dirMissing, { config: { model_type: 'gpt2' } });
    expect(String(err)).toMatch(/may not change model_type/);
    ck.dispose();
    ckc.dispose();
    tf.dispose(extraT);
    [mlm, cls].forEach((m) => m.dispose());
  });

  it('WE-Spikingformer MLM folder -> classification: lm_head skipped, classifier seeded and logged', async () => {
    const mlmCfg = studentPreset('we-spikingformer', 'tiny', { tie_word_embeddings: false });
    const mlm = new WESpikingformer(mlmCfg, { seed: 2 });
    const dir = path.join(tmp.dir, 'we-mlm');
    await savePretrained(mlm, dir);
    const arch = { architectures: ['WESpikingformerForSequenceClassification'], num_labels: 4 };
    const { model, lines } = await loadLogged(dir, { config: arch, seed: 9 });
    const got = params(model);
    for (const [n, v] of params(mlm))
      if (!n.startsWith('lm_head.')) expect(got.get(n), n).toEqual(v);
    expect([...got.keys()].some((n) => n.startsWith('lm_head.'))).toBe(false);
    const fresh = new WESpikingformer({ ...mlmCfg, ...arch }, { seed: 9 });
    const f = params(fresh);
    for (const n of ['classifier.weight', 'classifier.bias'])
      expect(got.get(n), n).toEqual(f.get(n));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WESpikingformerForSequenceClassification head not in the checkpoint/);
    expect(lines[0]).toContain('classifier.weight [4, 32], classifier.bias [4]');
    [mlm, model, fresh].forEach((m) => m.dispose());
  });
});
