// SpAD terms (methods-language.md 3(c), 3(f) 5): each alignment term is 0 for a student
// whose features equal the teacher's and positive otherwise; gradients match central
// finite differences; the logit term's τ² keeps its gradient scale τ-independent; the
// layer map is one-to-one, uniform, or as configured.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SPAD_WEIGHTS,
  SpadProjections,
  attentionKL,
  crossEntropy,
  layerMap,
  logitKL,
  spadLoss,
} from '../../distill/spad.js';
import type { StudentFeatures } from '../../distill/spad.js';
import type { TeacherFeatures } from '../../distill/teacher.js';
import { tf } from '../../src/tf.js';
import type { Scalar, Tensor } from '../../src/tf.js';
import { expectNoLeak, rng, setupBackend } from '../helpers.js';

const [B, N, V, D, H, L] = [2, 4, 6, 5, 2, 2];

function randn(shape: number[], r: () => number, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  return tf.tensor(data, shape);
}

/** Causal softmax maps [B, H, N, N] (rows sum to 1 over j <= i). */
function causalMaps(r: () => number, heads = H): Tensor {
  return tf.tidy(() => {
    const scores = randn([B, heads, N, N], r, 2);
    const mask = tf.linalg.bandPart(tf.ones([N, N]), -1, 0);
    const masked = tf.add(scores, tf.mul(tf.sub(1, mask), -1e9));
    return tf.softmax(masked);
  });
}

function teacherFeatures(seed: number, width = D): TeacherFeatures {
  const r = rng(seed);
  const hidden = Array.from({ length: L + 1 }, () => randn([B, N, width], r));
  return {
    logits: randn([B, N, V], r, 2),
    hidden,
    embeddings: hidden[0],
    attentions: Array.from({ length: L }, () => causalMaps(r)),
  };
}

const targets = () => tf.tensor2d([0, 1, 2, 3, 4, 5, 0, 1], [B, N], 'int32');
const scalar = (t: Scalar) => t.dataSync()[0];

beforeAll(async () => {
  await setupBackend();
});

describe('SpAD terms', () => {
  it('are 0 when the student equals the teacher and > 0 otherwise', () => {
    tf.tidy(() => {
      const t = teacherFeatures(1);
      const same: StudentFeatures = {
        logits: t.logits,
        hidden: t.hidden,
        attentions: t.attentions,
      };
      const r = spadLoss(same, t, targets(), { weights: { ...DEFAULT_SPAD_WEIGHTS } });
      expect(Object.keys(r.terms).sort()).toEqual([
        'attention',
        'ce',
        'embedding',
        'hidden',
        'logits',
      ]);
      expect(scalar(r.terms.embedding!)).toBe(0);
      expect(scalar(r.terms.hidden!)).toBe(0);
      expect(Math.abs(scalar(r.terms.logits!))).toBeLessThan(1e-6);
      expect(Math.abs(scalar(r.terms.attention!))).toBeLessThan(1e-4);
      const o = teacherFeatures(2);
      const other: StudentFeatures = {
        logits: o.logits,
        hidden: o.hidden,
        attentions: o.attentions,
      };
      const q = spadLoss(other, t, targets(), { weights: { ...DEFAULT_SPAD_WEIGHTS } });
      for (const k of ['embedding', 'hidden', 'logits', 'attention'] as const) {
        expect(scalar(q.terms[k]!), k).toBeGreaterThan(1e-3);
      }
      // total = Σ λ·term
      const w = { ...DEFAULT_SPAD_WEIGHTS, ce: 0.5, hidden: 2, attention: 0.25 };
      const z = spadLoss(other, t, targets(), { weights: w });
      const expected =
        0.5 * scalar(z.terms.ce!) +
        scalar(z.terms.embedding!) +
        2 * scalar(z.terms.hidden!) +
        scalar(z.terms.logits!) +
        0.25 * scalar(z.terms.attention!);
      expect(scalar(z.total)).toBeCloseTo(expected, 4);
    });
  });

  it('cross-entropy matches a hand computation', () => {
    tf.tidy(() => {
      const logits = tf.tensor3d([[[0, Math.log(3)]]]); // p = [1/4, 3/4]
      const ce = crossEntropy(logits, tf.tensor2d([[1]], [1, 1], 'int32'));
      expect(scalar(ce)).toBeCloseTo(-Math.log(0.75), 6);
    });
  });

  it('attention KL ignores entries above the diagonal and empty rows stay finite', () => {
    tf.tidy(() => {
      const t = causalMaps(rng(3));
      const noise = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([N, N]), -1, 0)), 5); // j > i only
      expect(scalar(attentionKL(tf.add(t, noise), t))).toBeLessThan(1e-4);
      const empty = attentionKL(tf.zeros([B, H, N, N]), t);
      expect(Number.isFinite(scalar(empty))).toBe(true);
      expect(scalar(empty)).toBeGreaterThan(1);
      // different head counts: averaged over heads
      const one = tf.mean(t, 1, true);
      expect(scalar(attentionKL(one, t))).toBeLessThan(1e-4);
    });
  });

  it('only the computed terms appear; the ONNX-style teacher (logits only) gives ce + logits', () => {
    tf.tidy(() => {
      const t = teacherFeatures(4);
      const s: StudentFeatures = { logits: teacherFeatures(5).logits, hidden: t.hidden };
      const r = spadLoss(s, { logits: t.logits }, targets(), {
        weights: { ...DEFAULT_SPAD_WEIGHTS },
      });
      expect(Object.keys(r.terms).sort()).toEqual(['ce', 'logits']);
      const none = { ...DEFAULT_SPAD_WEIGHTS, ce: 0, logits: 0 };
      expect(() => spadLoss(s, { logits: t.logits }, targets(), { weights: none })).toThrow(
        /every loss term is switched off/,
      );
    });
  });

  it('keeps only the total when run in a scope', async () => {
    const t = teacherFeatures(6);
    const s = teacherFeatures(7);
    const y = targets();
    await expectNoLeak(() => {
      const total = tf.tidy(
        () => spadLoss(s, t, y, { weights: { ...DEFAULT_SPAD_WEIGHTS } }).total,
      );
      expect(total.shape).toEqual([]);
      total.dispose();
    });
    tf.dispose([
      t.logits,
      ...t.hidden!,
      ...t.attentions!,
      s.logits,
      ...s.hidden!,
      ...s.attentions!,
      y,
    ]);
  });
});

describe('SpAD gradients', () => {
  /** Compare tf.grads with central differences on a few coordinates of each input. */
  function checkGrads(inputs: Tensor[], f: (...xs: Tensor[]) => Scalar, coords = 6): void {
    const grads = tf.grads(f)(inputs);
    const r = rng(11);
    inputs.forEach((x, k) => {
      const g = grads[k].dataSync();
      const base = x.dataSync().slice() as Float32Array;
      for (let c = 0; c < coords; c++) {
        const i = Math.floor(r() * base.length);
        const h = 1e-2;
        const at = (delta: number) =>
          tf.tidy(() => {
            const d = base.slice();
            d[i] += delta;
            const xs = inputs.map((y, j) => (j === k ? tf.tensor(d, x.shape) : y));
            return f(...xs).dataSync()[0];
          });
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[i] - fd), `input ${k} coord ${i}: ${g[i]} vs ${fd}`).toBeLessThan(
          2e-3 + 2e-2 * Math.abs(fd),
        );
      }
    });
    tf.dispose(grads);
  }

  it('logit KL, CE and the hidden/embedding terms match finite differences', () => {
    tf.tidy(() => {
      const t = teacherFeatures(8);
      const r = rng(9);
      const logits = randn([B, N, V], r, 2);
      const h = Array.from({ length: L + 1 }, () => randn([B, N, D], r));
      const y = targets();
      const w = { ...DEFAULT_SPAD_WEIGHTS, attention: 0, temperature: 2 };
      checkGrads(
        [logits, ...h],
        (z, ...hs) => spadLoss({ logits: z, hidden: hs }, t, y, { weights: w }).total,
      );
    });
  });

  it('attention KL gives no gradient (and no overflow) through an empty student row', () => {
    tf.tidy(() => {
      const t = causalMaps(rng(18));
      const rows = tf.add(tf.mul(randn([B, H, N, N], rng(19)), 0.2), 0.5);
      const rowMask = tf.tensor([1, 0, 1, 1], [1, 1, N, 1]); // row 1 is empty
      const s = tf.mul(rows, rowMask);
      const g = tf.grad((x: Tensor) => attentionKL(x, t))(s);
      const values = g.dataSync();
      expect(values.every(Number.isFinite)).toBe(true);
      const emptyRow = tf.slice(g, [0, 0, 1, 0], [B, H, 1, N]);
      expect(tf.max(tf.abs(emptyRow)).dataSync()[0]).toBe(0);
      expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    });
  });

  it('attention KL matches finite differences', () => {
    tf.tidy(() => {
      const t = causalMaps(rng(10));
      const s = tf.add(tf.mul(randn([B, H, N, N], rng(12)), 0.2), 0.5); // positive rates
      checkGrads([s], (x) => attentionKL(x, t), 10);
    });
  });

  it('projections (student width 3 -> teacher 5) get gradients that match finite differences', () => {
    tf.tidy(() => {
      const t = teacherFeatures(13);
      const proj = new SpadProjections(3, D, L, 1);
      expect(proj.named().map(([n]) => n)).toEqual([
        'spad.proj.0.weight',
        'spad.proj.1.weight',
        'spad.proj.2.weight',
      ]);
      const r = rng(14);
      const h = Array.from({ length: L + 1 }, () => randn([B, N, 3], r));
      const w = { ...DEFAULT_SPAD_WEIGHTS, ce: 0, logits: 0, attention: 0 };
      const ws = proj.named().map(([, v]) => tf.clone(v));
      const f = (...p: Tensor[]) =>
        tf.tidy(() => {
          proj.named().forEach(([, v], i) => v.assign(p[i]));
          return spadLoss({ logits: t.logits, hidden: h }, t, targets(), {
            weights: w,
            projections: proj,
          }).total;
        });
      // gradients with respect to the projection variables themselves
      const { grads } = tf.variableGrads(
        () =>
          spadLoss({ logits: t.logits, hidden: h }, t, targets(), { weights: w, projections: proj })
            .total,
        proj.named().map(([, v]) => v),
      );
      const gvals = proj.named().map(([, v]) => grads[v.name].dataSync());
      const rr = rng(15);
      for (let k = 0; k < ws.length; k++) {
        const base = ws[k].dataSync().slice() as Float32Array;
        for (let c = 0; c < 4; c++) {
          const i = Math.floor(rr() * base.length);
          const at = (delta: number) => {
            const d = base.slice();
            d[i] += delta;
            const p = ws.map((x, j) => (j === k ? tf.tensor(d, x.shape) : x));
            return f(...p).dataSync()[0];
          };
          const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
          expect(Math.abs(gvals[k][i] - fd)).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
        }
        proj.named()[k][1].assign(ws[k]);
      }
      proj.dispose();
    });
  });

  it('the τ² factor keeps the logit gradient scale τ-independent (3(f) 5)', () => {
    tf.tidy(() => {
      const r = rng(16);
      const s = randn([4, 8, 32], r, 0.5);
      const t = randn([4, 8, 32], r, 0.5);
      const gradNorm = (tau: number, scaled: boolean) =>
        tf.tidy(() => {
          const g = tf.grad((x: Tensor) => {
            const kl = logitKL(x, t, tau);
            return scaled ? kl : tf.div(kl, tau * tau);
          })(s);
          return tf.norm(g).dataSync()[0];
        });
      const withScale = gradNorm(2, true) / gradNorm(1, true);
      const without = gradNorm(2, false) / gradNorm(1, false);
      expect(withScale).toBeGreaterThan(0.75);
      expect(withScale).toBeLessThan(1.33);
      expect(without).toBeLessThan(0.33); // ~1/τ² without the factor
    });
  });
});

describe('layer map', () => {
  it('is one-to-one at equal depth and uniform otherwise', () => {
    expect(layerMap(4, 4)).toEqual([1, 2, 3, 4]);
    expect(layerMap(2, 4)).toEqual([2, 4]);
    expect(layerMap(3, 5)).toEqual([2, 3, 5]);
    expect(layerMap(4, 2)).toEqual([1, 1, 2, 2]);
  });

  it('takes an override from the config and checks it', () => {
    expect(layerMap(2, 5, [1, 5])).toEqual([1, 5]);
    expect(() => layerMap(2, 5, [1])).toThrow(/layer_map has 1 entries, the student has 2 layers/);
    expect(() => layerMap(2, 5, [1, 6])).toThrow(
      /layer_map\[1\] = 6 is not a teacher layer \(1..5\)/,
    );
  });

  it('aligns student layer l with teacher layer map[l] in the hidden and attention terms', () => {
    tf.tidy(() => {
      const r = rng(17);
      const th = Array.from({ length: 5 }, () => randn([B, N, D], r)); // teacher L = 4
      const ta = Array.from({ length: 4 }, () => causalMaps(r));
      const t: TeacherFeatures = { logits: randn([B, N, V], r), hidden: th, attentions: ta };
      // student layer 1 equals teacher layer 3, student layer 2 equals teacher layer 4
      const s: StudentFeatures = {
        logits: t.logits,
        hidden: [th[0], th[3], th[4]],
        attentions: [ta[2], ta[3]],
      };
      const w = { ...DEFAULT_SPAD_WEIGHTS, ce: 0 };
      const good = spadLoss(s, t, targets(), { weights: w, layerMap: [3, 4] });
      expect(scalar(good.terms.hidden!)).toBe(0);
      expect(scalar(good.terms.attention!)).toBeLessThan(1e-4);
      const uniform = spadLoss(s, t, targets(), { weights: w }); // [2, 4]
      expect(scalar(uniform.terms.hidden!)).toBeGreaterThan(1e-2);
      expect(scalar(uniform.terms.attention!)).toBeGreaterThan(1e-3);
    });
  });
});
