// NASN sites of the spiking students (`neuron: "nasn"`, models/student-neuron.ts; the RMS
// variant of methods-language.md 2(b)) against the cheap checks of 2(f):
// - check 6 (invariance): the counts do not change when the input current is multiplied
//   by a positive constant (powers of two, so the scaled currents are exact);
// - with γ = 1 a NASN site equals an ASN site fed the hand-normalised current
//   x / sqrt(mean_c x² + 1e-5) (an independent computation of the normalisation);
// - γ is a trained parameter with a checkpoint name, and the config round-trips.
// Decoding, causality, spike purity, integer = spike mode and the gradient check of NASN
// students run with the other neurons in student-decoder, student-spikes, student-grad.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  oursToHf,
  StudentNeuron,
  studentCheckpoint,
  studentNeuronSetup,
  studentPreset,
} from '../../models/index.js';
import type { NeuronFields } from '../../models/index.js';
import { tf } from '../../src/tf.js';
import { rng, setupBackend, values } from '../helpers.js';
import { tinyStudent } from './student-helpers.js';

const FIELDS: NeuronFields = {
  neuron: 'nasn',
  ...{ tau: 2, v_threshold: 1, v_reset: 0, surrogate: 'sigmoid', surrogate_alpha: 4 },
  ...{ detach_reset: true, max_count: 4, decay: 0.25, spike_encoding: 'integer' },
};
const [T, B, N, C] = [3, 2, 4, 8];

function currents(seed: number): tf.Tensor {
  const r = rng(seed);
  return tf.tensor4d(
    Array.from({ length: T * B * N * C }, () => (r() - 0.3) * 3),
    [T, B, N, C],
  );
}

describe('NASN student neuron (2(f) checks)', () => {
  beforeAll(setupBackend);

  it('counts are invariant to a positive scale of the current (check 6)', () => {
    const site = new StudentNeuron(studentNeuronSetup(FIELDS), C, T);
    const x = currents(1);
    const base = values(site.forward(x).s);
    expect(base.some((v) => v > 0) && base.some((v) => v === 0)).toBe(true);
    for (const c of [0.25, 4, 64]) {
      const xs = tf.mul(x, c);
      expect(values(site.forward(xs).s)).toEqual(base);
      xs.dispose();
    }
    x.dispose();
    site.dispose();
  });

  it('equals ASN on the hand-normalised current; γ scales the normalised current', () => {
    const nasn = new StudentNeuron(studentNeuronSetup(FIELDS), C, T);
    const asn = new StudentNeuron(studentNeuronSetup({ ...FIELDS, neuron: 'asn' }), C, T);
    const x = currents(2);
    const xv = values(x);
    const norm: number[] = [];
    for (let r = 0; r < xv.length / C; r++) {
      const row = xv.slice(r * C, (r + 1) * C);
      const inv = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / C + 1e-5);
      norm.push(...row.map((v) => v * inv));
    }
    const xn = tf.tensor4d(norm, [T, B, N, C]);
    const a = nasn.forward(x);
    const b = asn.forward(xn);
    expect(values(a.s)).toEqual(values(b.s));
    expect(values(a.scale as tf.Tensor)).toEqual(values(b.scale as tf.Tensor));
    // γ = 2 is ASN on twice the normalised current
    (nasn.gamma as tf.Variable).assign(tf.fill([C], 2));
    const x2 = tf.mul(xn, 2);
    expect(values(nasn.forward(x).s)).toEqual(values(asn.forward(x2).s));
    tf.dispose([x, xn, x2]);
    nasn.dispose();
    asn.dispose();
  });

  it('γ is a named, trained parameter of every site; the config round-trips', () => {
    const cfg = studentPreset('wd-spikingformer', 'tiny', { neuron: 'nasn', time_steps: 2 });
    expect(cfg).toMatchObject({ neuron: 'nasn', max_count: 4, decay: 0.25, v_threshold: 1 });
    const m = tinyStudent('wd-spikingformer', { neuron: 'nasn', time_steps: 2 }, 1);
    const names = m.namedParameters().map(([n]) => n);
    for (const n of ['layers.0.attn.q_sn.gamma', 'layers.1.mlp.hidden_sn.gamma', 'final_sn.gamma'])
      expect(names).toContain(n);
    const table = studentCheckpoint(m.getConfig());
    for (const n of names.filter((x) => x.endsWith('.gamma')))
      expect(oursToHf(table, n)?.name).toBe(n);
    expect(m.getConfig()).toEqual(cfg);
    m.dispose();
    // the preset of an integer neuron defaults to one step
    expect(studentPreset('bispikclm', 'tiny', { neuron: 'nasn' }).time_steps).toBe(1);
  });
});
