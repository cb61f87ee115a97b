// Gradient rules of the spiking causal students (models/student-grads.ts), on tiny
// WD-Spikingformer and BiSpikCLM students with a loss on every feature (logits, hidden
// states, attention maps) and a learned loss parameter:
// - bptt is exactly `valueAndGrads` over `forward`;
// - the loss value is the same under every rule (one forward);
// - exactness (methods-vision.md 3(f)1): with T = 1, or I-LIF with decay 0 (no temporal
//   path), sltt == bptt; with a leak sltt != bptt, and sltt == bptt run with every LIF's
//   `detachState` (path ablation, 3(f)2);
// - sltt-k: the mean over all C(T, k) step subsets is (k/T)·sltt (3(f)4); the random draw;
// - ottt: each site's trace is Σ λ^{t−τ} s[τ] of its spike train (4(f)2) and the stepwise
//   spikes equal the full-T forward; λ = 0 gives ottt == sltt; with a leak only the weights
//   of products reading LIF spikes change; the 4(f)1 exactness is shown on the op level
//   (test/ops/trace-matmul.test.ts): on a student every spiking layer's input passes a
//   norm, so no weight feeds a spiking layer linearly;
// - ASN and I-LIF students run every rule (same value and parameter set);
// - the peak of live tensor bytes over a call does not change with T for sltt and ottt;
// - no leaks; bad options, non-stepwise configs and a student in eval mode are refused.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkStepwise,
  GRADIENT_RULES,
  NeuronContext,
  StudentNeuron,
  studentValueAndGrads,
  withNeuronContext,
} from '../../models/index.js';
import type {
  GradientRule,
  SpikingCausalLM,
  StudentFeatures,
  StudentGradOptions,
  StudentGradResult,
} from '../../models/index.js';
import { ConfigError } from '../../src/errors.js';
import { valueAndGrads } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Scalar, Tensor, Variable } from '../../src/tf.js';
import { expectClose, expectNoLeak, rng, setupBackend, values } from '../helpers.js';
import { ids, nextTokenCE, row, tinyEncoder, tinyStudent } from './student-helpers.js';

const ROWS = [row(6, 1), row(6, 2)];
type Type = 'wd-spikingformer' | 'bispikclm';
const TYPES: Type[] = ['wd-spikingformer', 'bispikclm'];

/** A learned projection of the loss (a SpAD-style feature projection). */
let proj: Variable;

/** CE plus terms on every feature (hidden through `proj`), so every cotangent matters. */
function lossOf(f: StudentFeatures): Scalar {
  let l = nextTokenCE(f.logits, ROWS);
  for (const h of f.hidden ?? []) {
    const [B, N, D] = h.shape;
    const p = tf.matMul(tf.reshape(h, [B * N, D]), proj); // [B*N, 4]
    l = tf.add(l, tf.mul(tf.mean(tf.square(tf.sub(p, 0.5))), 0.1));
  }
  for (const a of f.attentions ?? []) l = tf.add(l, tf.mean(tf.square(tf.sub(a, 0.3))));
  return l as Scalar;
}

const FULL = { hidden: true, attentions: true };

function run(
  m: SpikingCausalLM,
  rule: GradientRule,
  more: Partial<StudentGradOptions> = {},
): StudentGradResult {
  const x = ids(ROWS);
  try {
    return studentValueAndGrads(m, x, lossOf, {
      rule,
      ...FULL,
      lossParams: [['proj', proj]],
      ...more,
    });
  } finally {
    x.dispose();
  }
}

/** Gradient values by name, disposing the result's tensors. */
function take(r: StudentGradResult): Map<string, number[]> {
  const out = new Map([...r.grads].map(([n, t]) => [n, values(t)]));
  tf.dispose([...r.grads.values()]);
  return out;
}

/** Largest |a − b| of a gradient relative to its largest |b|. */
function relDiff(a: number[], b: number[]): number {
  const scale = Math.max(...b.map(Math.abs), 1e-30);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale;
}

/** Every gradient of `a` equals `b`'s (same names) to `tol` relative to its scale. */
function expectSameGrads(a: Map<string, number[]>, b: Map<string, number[]>, tol = 1e-5): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [n, g] of b) {
    const d = relDiff(a.get(n) as number[], g);
    if (!(d <= tol)) expect.fail(`${n}: relative difference ${d} > ${tol}`);
  }
}

/** The largest relative difference over all gradients. */
function maxRelDiff(a: Map<string, number[]>, b: Map<string, number[]>): number {
  return Math.max(...[...b].map(([n, g]) => relDiff(a.get(n) as number[], g)));
}

function neurons(m: SpikingCausalLM): StudentNeuron[] {
  const out: StudentNeuron[] = [];
  const walk = (o: object, seen: Set<object>) => {
    if (seen.has(o)) return;
    seen.add(o);
    if (o instanceof StudentNeuron) out.push(o);
    for (const v of Object.values(o)) {
      if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) walk(v as object, seen);
    }
  };
  walk(m, new Set());
  return out;
}

describe('studentValueAndGrads', () => {
  beforeAll(async () => {
    await setupBackend();
    const r = rng(5);
    proj = tf.variable(
      tf.tensor2d(
        Array.from({ length: 32 * 4 }, () => r() - 0.5),
        [32, 4],
      ),
      true,
      'test_proj',
    );
  });

  it('lists the rules', () => {
    expect(GRADIENT_RULES).toEqual(['bptt', 'sltt', 'sltt-k', 'ottt']);
  });

  for (const type of TYPES) {
    describe(type, () => {
      it('bptt equals valueAndGrads over forward, with a firing rate', async () => {
        const m = tinyStudent<SpikingCausalLM>(type, {}, 2);
        const x = ids(ROWS);
        await expectNoLeak(() => {
          const r = studentValueAndGrads(m, x, lossOf, {
            rule: 'bptt',
            ...FULL,
            lossParams: [['proj', proj]],
          });
          const ref = valueAndGrads(() => {
            const o = m.forward(x, { outputHiddenStates: true, outputAttentions: true });
            return lossOf({
              logits: o.logits,
              hidden: o.hiddenStates as Tensor[],
              attentions: o.attentions as Tensor[],
            });
          }, [...m.namedParameters(), ['proj', proj] as [string, Variable]]);
          expect(r.value).toBe(ref.loss.dataSync()[0]);
          expect(r.firingRate).toBeGreaterThan(0);
          expect(r.firingRate).toBeLessThan(1);
          const refGrads = new Map([...ref.grads].map(([n, t]) => [n, values(t)]));
          const got = take(r);
          expect([...got.keys()].sort()).toEqual([...refGrads.keys()].sort());
          for (const [n, g] of refGrads) expectClose(got.get(n) as number[], g, 0, 0);
          tf.dispose([...ref.grads.values(), ref.loss]);
        });
        x.dispose();
        m.dispose();
      });

      it('T = 1: every rule equals bptt (no temporal path), no leaks', async () => {
        const m = tinyStudent<SpikingCausalLM>(type, { time_steps: 1 }, 3);
        await expectNoLeak(() => {
          const b = run(m, 'bptt');
          const bg = take(b);
          for (const rule of ['sltt', 'ottt', 'sltt-k'] as const) {
            const r = run(m, rule, { k: 1, random: () => 0.5 });
            expect(r.value).toBe(b.value);
            expect(r.firingRate).toBe(b.firingRate);
            expectSameGrads(take(r), bg);
          }
        });
        m.dispose();
      });

      it('I-LIF with decay 0, T = 3: sltt == bptt and ottt == sltt (λ = 0)', () => {
        const m = tinyStudent<SpikingCausalLM>(
          type,
          { neuron: 'ilif', decay: 0, time_steps: 3 },
          4,
        );
        const b = run(m, 'bptt');
        const s = run(m, 'sltt');
        const o = run(m, 'ottt');
        expect(s.value).toBeCloseTo(b.value, 5);
        expect(o.value).toBe(s.value);
        const sg = take(s);
        expectSameGrads(sg, take(b));
        expectSameGrads(take(o), sg, 1e-6);
        m.dispose();
      });

      it('LIF tau 2, T = 3: sltt == bptt with detached states, != plain bptt', () => {
        const m = tinyStudent<SpikingCausalLM>(type, { time_steps: 3 }, 5);
        const plain = run(m, 'bptt');
        const s = run(m, 'sltt');
        expect(s.value).toBeCloseTo(plain.value, 5);
        const sg = take(s);
        const pg = take(plain);
        expect(maxRelDiff(sg, pg)).toBeGreaterThan(0.05);
        const sites = neurons(m);
        expect(sites.length).toBe(2 * 6 + 1);
        for (const n of sites) {
          const st = n.setup;
          if (st.kind === 'lif') st.lif = { ...st.lif, detachState: true };
        }
        expectSameGrads(sg, take(run(m, 'bptt')));
        m.dispose();
      });

      it('sltt-k: mean over all C(3, 2) subsets is (2/3)·sltt; k = T is sltt', () => {
        const m = tinyStudent<SpikingCausalLM>(type, { time_steps: 3 }, 6);
        const sg = take(run(m, 'sltt'));
        const subsets = [
          [0, 1],
          [0, 2],
          [1, 2],
        ];
        const mean = new Map<string, number[]>();
        const bySubset = subsets.map((steps) => take(run(m, 'sltt-k', { k: 2, steps })));
        for (const grads of bySubset) {
          for (const [n, g] of grads) {
            const acc = mean.get(n) ?? g.map(() => 0);
            mean.set(
              n,
              acc.map((v, i) => v + g[i] / subsets.length),
            );
          }
        }
        // the loss's own parameters see the full loss on the means: never scaled
        const scaled = new Map(
          [...sg].map(([n, g]) => [n, n === 'proj' ? g : g.map((v) => (v * 2) / 3)]),
        );
        expectSameGrads(mean, scaled);
        expectSameGrads(take(run(m, 'sltt-k', { k: 3, random: () => 0.3 })), sg, 1e-6);
        // the draw: random 0 takes steps {0, 1}; 0.999 takes {0, 2} (partial Fisher-Yates)
        const k0 = take(run(m, 'sltt-k', { k: 2, random: () => 0 }));
        expectSameGrads(k0, bySubset[0], 0);
        const k1 = take(run(m, 'sltt-k', { k: 2, random: () => 0.999 }));
        expectSameGrads(k1, bySubset[1], 0);
        expect(maxRelDiff(k0, k1)).toBeGreaterThan(1e-3);
        m.dispose();
      });

      it('ottt with a leak changes exactly the weights of products reading LIF spikes', () => {
        const m = tinyStudent<SpikingCausalLM>(type, { time_steps: 3 }, 7);
        const s = run(m, 'sltt');
        const o = run(m, 'ottt');
        expect(o.value).toBe(s.value);
        const [sg, og] = [take(s), take(o)];
        expect([...og.keys()].sort()).toEqual([...sg.keys()].sort());
        // products on LIF outputs: q, k, v, up, down and the head (the tied embedding when
        // tied); `o` reads the mixer's output spikes, which carry no state over T.
        const head = m.config.tie_word_embeddings ? 'embed.weight' : 'lm_head.weight';
        const traced = (n: string) => /\.(q|k|v|up|down)\.weight$/.test(n) || n === head;
        let changed = 0;
        for (const [n, g] of sg) {
          const d = relDiff(og.get(n) as number[], g);
          if (traced(n)) changed += d > 1e-3 ? 1 : 0;
          else if (!(d <= 1e-6)) expect.fail(`${n} should not change under ottt, differs by ${d}`);
        }
        expect(changed).toBeGreaterThanOrEqual(8);
        m.dispose();
      });
    });
  }

  it('ASN and I-LIF students: every rule gives the same value and parameter set, no leaks', async () => {
    const cases: [Type, Record<string, unknown>][] = [
      ['wd-spikingformer', { neuron: 'asn', time_steps: 2, norm_type: 'layer' }],
      ['bispikclm', { neuron: 'ilif', time_steps: 2 }],
    ];
    for (const [type, over] of cases) {
      const m = tinyStudent<SpikingCausalLM>(type, over, 10);
      await expectNoLeak(() => {
        const b = run(m, 'bptt');
        const names = [...b.grads.keys()].sort();
        expect(names.filter((n) => /_sn\.(a|b)$/.test(n)).length).toBe(
          over.neuron === 'asn' ? 2 * 13 : 0,
        );
        take(b);
        for (const rule of ['sltt', 'sltt-k', 'ottt'] as const) {
          const r = run(m, rule, { k: 1, random: () => 0.7 });
          expect(r.value).toBeCloseTo(b.value, 5);
          expect(r.firingRate).toBeCloseTo(b.firingRate as number, 6);
          const g = take(r);
          expect([...g.keys()].sort()).toEqual(names);
          expect([...g.values()].every((v) => v.every(Number.isFinite))).toBe(true);
        }
      });
      m.dispose();
    }
  });

  it('peak tensor bytes: flat in T for sltt and ottt, growing for bptt (3(f)3)', async () => {
    const peak = async (rule: GradientRule, T: number) => {
      const m = tinyStudent<SpikingCausalLM>('bispikclm', { time_steps: T }, 11);
      const info = await tf.profile(() => {
        take(run(m, rule));
      });
      m.dispose();
      return info.peakBytes;
    };
    for (const rule of ['sltt', 'ottt'] as const) {
      expect(await peak(rule, 4)).toBe(await peak(rule, 2));
    }
    expect(await peak('bptt', 4)).toBeGreaterThan(1.3 * (await peak('bptt', 2)));
  });

  it('traces are Σ λ^{t−τ} s[τ] and stepwise spikes equal the full-T forward', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['lif', { time_steps: 4 }],
      ['if', { neuron: 'if', time_steps: 4 }],
      ['ilif', { neuron: 'ilif', time_steps: 4 }],
      ['asn', { neuron: 'asn', time_steps: 4 }],
    ];
    for (const [name, over] of cases) {
      const m = tinyStudent<SpikingCausalLM>('wd-spikingformer', over, 8);
      const site = m.layers[0].mlp.hiddenSn;
      const T = 4;
      const r = rng(9);
      const shape = [T, 2, 3, site.channels];
      const n = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(
        Array.from({ length: n }, () => 3 * r() - 0.5),
        shape,
      );
      const full = tf.tidy(() => site.forward(x).s);
      const ctx = new NeuronContext({ stepwise: true, traces: true });
      const steps: number[][] = [];
      const traces: number[][] = [];
      const xs = tf.unstack(x);
      for (const xt of xs) {
        tf.tidy(() => {
          const out = withNeuronContext(ctx, () => site.forward(tf.expandDims(xt, 0)));
          steps.push(values(out.s));
          traces.push(values(out.trace as Tensor));
        });
        ctx.endStep();
      }
      ctx.dispose();
      const C = site.channels;
      const lambda = name === 'lif' ? 0.5 : name === 'if' ? 1 : name === 'ilif' ? 0.25 : null; // asn: per channel
      const lam = (i: number) =>
        lambda ?? 1 / (1 + Math.exp(-(values(site.a as Variable)[i % C] as number)));
      const fullV = values(full);
      const per = n / T;
      for (let t = 0; t < T; t++) {
        expect(steps[t]).toEqual(fullV.slice(t * per, (t + 1) * per));
        const expected = steps[t].map((_, i) => {
          let acc = 0;
          for (let u = 0; u <= t; u++) acc += lam(i) ** (t - u) * steps[u][i];
          return acc;
        });
        expectClose(traces[t], expected, 1e-5, 1e-5);
      }
      expect(steps.flat().some((v) => v > 0)).toBe(true);
      tf.dispose([x, full, ...xs]);
      m.dispose();
    }
  });

  it('rejects bad options and configs that are not stepwise', () => {
    const m = tinyStudent<SpikingCausalLM>('wd-spikingformer', { time_steps: 3 }, 9);
    const x = ids(ROWS);
    const call = (o: Omit<Partial<StudentGradOptions>, 'rule'> & { rule: string }) => () =>
      studentValueAndGrads(m, x, lossOf, o as StudentGradOptions);
    const before = tf.memory().numTensors;
    expect(call({ rule: 'rtrl' })).toThrow(/gradient rule must be one of bptt, sltt, sltt-k, ottt/);
    expect(call({ rule: 'sltt-k', k: 0, random: Math.random })).toThrow(
      /k must be an integer in \[1, T = 3\]/,
    );
    expect(call({ rule: 'sltt-k', k: 4, random: Math.random })).toThrow(ConfigError);
    expect(call({ rule: 'sltt-k', k: 1.5, random: Math.random })).toThrow(ConfigError);
    expect(call({ rule: 'sltt-k', k: 2 })).toThrow(/options.random/);
    expect(call({ rule: 'sltt-k', k: 2, steps: [1, 1] })).toThrow(
      /2 distinct integers in \[0, 2\]/,
    );
    expect(call({ rule: 'sltt', steps: [1] })).toThrow(/sltt-k rule only/);
    expect(call({ rule: 'bptt', lossParams: [['embed.weight', proj]] })).toThrow(
      /also a student parameter/,
    );
    expect(tf.memory().numTensors).toBe(before);
    // eval mode (inference mixers, quantised-weight cache): refused for every rule, not
    // switched; after train() the same call runs
    m.eval();
    for (const rule of GRADIENT_RULES) {
      expect(call({ rule, k: 1, random: () => 0.5 })).toThrow(
        /studentValueAndGrads: the student is in eval mode.*call student.train\(\) first/,
      );
    }
    expect(m.training).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    m.train();
    const ok = studentValueAndGrads(m, x, lossOf, { rule: 'bptt' });
    expect(Number.isFinite(ok.value)).toBe(true);
    tf.dispose([...ok.grads.values()]);
    x.dispose();
    m.dispose();
    const ssa = tinyStudent<SpikingCausalLM>('wd-spikingformer', { attention_type: 'ssa' }, 1);
    expect(() => checkStepwise(ssa, 'sltt')).toThrow(/attention_type "ssa" runs its output neuron/);
    ssa.dispose();
    const spikeMode = tinyStudent<SpikingCausalLM>(
      'bispikclm',
      { neuron: 'ilif', spike_encoding: 'binary' },
      1,
    );
    expect(() => checkStepwise(spikeMode, 'sltt-k')).toThrow(/spike-inference form/);
    spikeMode.dispose();
    const enc = tinyEncoder({}, 1); // norm_type batch
    expect(() => checkStepwise(enc, 'ottt')).toThrow(/norm_type "batch"/);
    enc.eval();
    expect(() => checkStepwise(enc, 'ottt')).not.toThrow(); // running statistics: per step
    enc.dispose();
  });
});
