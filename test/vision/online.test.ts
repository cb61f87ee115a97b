import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { SpikingVisionNet } from '../../models/vision/index.js';
import { onlineGradients, onlineTrainStep, SGD } from '../../src/train/index.js';
import type { OnlineOptions } from '../../src/train/index.js';
import { expectClose, expectNoLeak, rng, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const B = 4;

function toyNet(over: Record<string, unknown> = {}): SpikingVisionNet {
  return new SpikingVisionNet({
    input_shape: [4, 4, 1],
    num_classes: 3,
    hidden: [12, 10],
    time_steps: 4,
    seed: 3,
    ...over,
    neuron: {
      neuron: 'lif',
      decay: 0.5,
      v_threshold: 0.3,
      v_reset: null,
      detach_reset: true,
      ...((over.neuron as object) ?? {}),
    },
  });
}

function toyBatch(seed: number): { x: Tensor; y: Tensor } {
  const r = rng(seed);
  return {
    x: tf.tensor2d(
      Array.from({ length: B * 16 }, () => 3 * r() - 0.5),
      [B, 16],
    ),
    y: tf.tensor1d([0, 1, 2, 1], 'int32'),
  };
}

function grads(net: SpikingVisionNet, o: OnlineOptions, seed = 1): Map<string, number[]> {
  const { x, y } = toyBatch(seed);
  const { grads: g, result } = onlineGradients(net, x, y, o);
  const out = new Map([...g].map(([n, t]) => [n, values(t)]));
  tf.dispose([x, y, result.logitsSum, ...g.values()]);
  return out;
}

const norm = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

describe('SLTT and BPTT (methods-vision 3(f))', () => {
  it('SLTT equals BPTT with the temporal paths cut, and differs from full BPTT when λ > 0', () => {
    const net = toyNet();
    const sltt = grads(net, { rule: 'sltt' });
    const cut = grads(net, { rule: 'bptt', cutTemporal: true });
    const full = grads(net, { rule: 'bptt' });
    expect([...sltt.keys()].sort()).toEqual([...cut.keys()].sort());
    for (const [n, g] of sltt) expectClose(g, cut.get(n) as number[], 1e-6, 1e-4);
    const w = 'blocks.0.fc.weight';
    expect(norm(sltt.get(w) as number[])).toBeGreaterThan(0);
    const diff = (sltt.get(w) as number[]).map((v, i) => v - (full.get(w) as number[])[i]);
    expect(norm(diff)).toBeGreaterThan(1e-4);
    net.dispose();
  });

  it('SLTT equals full BPTT when λ = 0 (no temporal path) and when T = 1', () => {
    for (const over of [{ neuron: { decay: 0 } }, { time_steps: 1 }]) {
      const net = toyNet(over);
      const sltt = grads(net, { rule: 'sltt' });
      const full = grads(net, { rule: 'bptt' });
      for (const [n, g] of full) expectClose(sltt.get(n) as number[], g, 1e-6, 1e-4);
      expect(norm(full.get('blocks.0.fc.weight') as number[])).toBeGreaterThan(0);
      net.dispose();
    }
  });

  it('SLTT-K averaged over all C(T, K) subsets equals (K/T) SLTT', () => {
    const net = toyNet();
    const sltt = grads(net, { rule: 'sltt' });
    const subsets = [
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ];
    const avg = new Map<string, number[]>();
    for (const steps of subsets) {
      for (const [n, g] of grads(net, { rule: 'sltt-k', k: 2, steps })) {
        const a = avg.get(n) ?? new Array(g.length).fill(0);
        avg.set(
          n,
          a.map((v, i) => v + g[i] / subsets.length),
        );
      }
    }
    for (const [n, g] of sltt)
      expectClose(
        avg.get(n) as number[],
        g.map((v) => (v * 2) / 4),
        1e-6,
        1e-4,
      );
    net.dispose();
  });
});

describe('BPTT (methods-vision 1(f))', () => {
  it('with a smooth forward, BPTT is the exact gradient: directional finite differences agree', () => {
    const net = toyNet({ neuron: { spiking: false, detach_reset: false } });
    const { x, y } = toyBatch(5);
    const g = grads(net, { rule: 'bptt' }, 5);
    const r = rng(9);
    const params = net.namedParameters().filter(([, v]) => v.trainable);
    const dirs = params.map(([, v]) =>
      tf.tensor(
        Array.from({ length: v.size }, () => r() - 0.5),
        v.shape,
      ),
    );
    const lossAt = (eps: number) => {
      params.forEach(([, v], i) => v.assign(tf.tidy(() => tf.add(v, tf.mul(dirs[i], eps)))));
      const { grads: gg, result } = onlineGradients(net, x, y, { rule: 'bptt' });
      tf.dispose([...gg.values(), result.logitsSum]);
      params.forEach(([, v], i) => v.assign(tf.tidy(() => tf.sub(v, tf.mul(dirs[i], eps)))));
      return result.loss;
    };
    const eps = 1e-2;
    const fd = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
    const analytic = params.reduce(
      (s, [n], i) => s + values(dirs[i]).reduce((a, d, k) => a + d * (g.get(n) as number[])[k], 0),
      0,
    );
    expect(Math.abs(analytic)).toBeGreaterThan(1e-3);
    expect(Math.abs(fd - analytic)).toBeLessThan(2e-3 * Math.abs(analytic) + 1e-5);
    tf.dispose([x, y, ...dirs]);
    net.dispose();
  });

  it('detaching the reset changes the gradient when spikes occur', () => {
    const a = grads(toyNet({ neuron: { detach_reset: true } }), { rule: 'bptt' });
    const b = grads(toyNet({ neuron: { detach_reset: false } }), { rule: 'bptt' });
    const w = 'blocks.0.fc.weight';
    const d = (a.get(w) as number[]).map((v, i) => v - (b.get(w) as number[])[i]);
    expect(norm(d)).toBeGreaterThan(1e-4 * norm(a.get(w) as number[]));
  });
});

describe('OTTT (methods-vision 4(f))', () => {
  it('equals BPTT for every weight when λ = 0', () => {
    const net = toyNet({ neuron: { decay: 0 } });
    const ottt = grads(net, { rule: 'ottt-a' });
    const bptt = grads(net, { rule: 'bptt' });
    for (const [n, g] of bptt) expectClose(ottt.get(n) as number[], g, 1e-6, 1e-4);
    net.dispose();
  });

  it('the gradient of the weights feeding the last spiking layer equals BPTT with detached reset', () => {
    const net = toyNet();
    const ottt = grads(net, { rule: 'ottt-a' });
    const bptt = grads(net, { rule: 'bptt' });
    const w = 'blocks.1.fc.weight';
    expect(norm(bptt.get(w) as number[])).toBeGreaterThan(1e-4);
    expectClose(ottt.get(w) as number[], bptt.get(w) as number[], 1e-6, 1e-4);
    // Earlier layers differ (cross-layer temporal paths are ignored) but point the same way.
    const a = ottt.get('blocks.0.fc.weight') as number[];
    const b = bptt.get('blocks.0.fc.weight') as number[];
    const cos = a.reduce((s, v, i) => s + v * b[i], 0) / (norm(a) * norm(b));
    expect(cos).toBeGreaterThan(0);
    expect(cos).toBeLessThan(1 - 1e-6);
    net.dispose();
  });

  it('the presynaptic trace equals Σ λ^(t-τ) s[τ] recomputed from the spike train', () => {
    const net = toyNet();
    const { x } = toyBatch(2);
    let state = net.initState(B);
    const spikes: number[][] = [];
    for (let t = 0; t < 4; t++) {
      const r = net.step(x, state, { traces: true, detachState: true });
      spikes.push(values(r.layers[0].spikes));
      const lam = 0.5;
      const expect1 = spikes[0].map((_, i) =>
        spikes.reduce((s, sp, tau) => s + lam ** (t - tau) * sp[i], 0),
      );
      expectClose(values(r.layers[1].trace as Tensor), expect1, 1e-6);
      state = r.state;
    }
    expect(spikes.flat().some((v) => v === 1)).toBe(true);
    tf.dispose(x);
    net.dispose();
  });

  it('OTTT-O with a tiny learning rate moves the weights like OTTT-A; steps leak no tensors', async () => {
    const netA = toyNet();
    const netO = toyNet();
    const { x, y } = toyBatch(4);
    const lr = 1e-3;
    const optA = new SGD(netA.namedParameters(), { lr });
    const optO = new SGD(netO.namedParameters(), { lr });
    const before = values(netA.readout.weight);
    await expectNoLeak(() => {
      onlineTrainStep(netA, optA, x, y, { rule: 'ottt-a' }).logitsSum.dispose();
      onlineTrainStep(netO, optO, x, y, { rule: 'ottt-o' }).logitsSum.dispose();
    });
    const dA = values(netA.readout.weight).map((v, i) => v - before[i]);
    const dO = values(netO.readout.weight).map((v, i) => v - before[i]);
    expect(norm(dA)).toBeGreaterThan(0);
    expectClose(dO, dA, 1e-5 * norm(dA) + 1e-7, 0.05);
    tf.dispose([x, y]);
    optA.dispose();
    optO.dispose();
    netA.dispose();
    netO.dispose();
  });
});
