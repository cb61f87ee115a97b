// Spike purity and integer <-> spike equivalence of the spiking students
// (methods-language.md 1(f) check 5, 2(f) checks 1 and 4): every weight layer but the
// embedding reads spikes (0/1) or integer spike counts — the heads read each unit's count
// over the T steps —, the energy count has MACs in the embedding only, and an integer
// (ILIF/ASN) model converted with `toSpikeMode()` (D binary sub-steps per count, ASN
// steps folded into the weights) gives the integer model's logits.
import { beforeAll, describe, expect, it } from 'vitest';
import type { SpikingStudent, StudentType } from '../../models/index.js';
import { EnergyCounter, withRecorder } from '../../src/energy/index.js';
import type { LayerWork } from '../../src/energy/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { disposeAll, ids, row, tinyStudent } from './student-helpers.js';

type Forward = { forward(x: Tensor): object };

/** Every layer report of one forward, with what entered the layer checked. */
function checkInputs(model: SpikingStudent & Forward, x: Tensor): LayerWork[] {
  const seen: LayerWork[] = [];
  const problems: string[] = [];
  const out = withRecorder(
    {
      record(w: LayerWork) {
        seen.push({ ...w, input: w.input }); // checked at once: the input dies with the tidy
        if (w.kind === 'other') return;
        const v = values(w.input);
        if (w.layer === 'embed') {
          if (!(w.firstLayer && w.encoding === 'real'))
            problems.push('embed must be the real first layer');
          return;
        }
        const ok =
          w.kind === 'linear' && w.encoding === 'spike'
            ? v.every((e) => e === 0 || e === 1)
            : w.encoding === 'integer'
              ? v.every((e) => Number.isInteger(e) && e >= 0 && e <= (w.maxCount ?? 1))
              : w.kind === 'attention' &&
                w.encoding === 'spike' &&
                v.every((e) => Number.isInteger(e) && e >= 0);
        if (!ok || w.firstLayer) problems.push(`${w.layer} (${w.kind}, ${w.encoding})`);
      },
    },
    () => model.forward(x),
  );
  disposeAll(out);
  expect(problems).toEqual([]);
  return seen;
}

const PURE: [string, StudentType, Record<string, unknown>][] = [
  ['WD-Spikingformer (lif)', 'wd-spikingformer', {}],
  ['BiSpikCLM (lif, binary)', 'bispikclm', {}],
  ['WE-Spikingformer MLM (lif)', 'we-spikingformer', {}],
  [
    'WE-Spikingformer classification (mean pooling)',
    'we-spikingformer',
    { architectures: ['WESpikingformerForSequenceClassification'], classifier_pooling: 'mean' },
  ],
  ['WD softmax_spiking baseline', 'wd-spikingformer', { attention_type: 'softmax_spiking' }],
  ['BiSpikCLM (asn, integer counts)', 'bispikclm', { neuron: 'asn' }],
  ['BiSpikCLM (asn, spike mode)', 'bispikclm', { neuron: 'asn', spike_encoding: 'binary' }],
  ['BiSpikCLM (nasn, spike mode)', 'bispikclm', { neuron: 'nasn', spike_encoding: 'binary' }],
  [
    'WE-Spikingformer (ilif, spike mode)',
    'we-spikingformer',
    { neuron: 'ilif', spike_encoding: 'binary' },
  ],
];

describe('spiking students: spike purity', () => {
  beforeAll(setupBackend);

  for (const [name, type, over] of PURE) {
    it(`${name}: weight layers read spikes or counts only, MACs only in the embedding`, () => {
      const model = tinyStudent<SpikingStudent & Forward>(type, over, 2);
      const x = ids([row(9, 1), row(9, 4)]);
      const seen = checkInputs(model, x);
      const linears = seen.filter((w) => w.kind === 'linear').map((w) => w.layer);
      expect(linears).toContain('layers.1.mlp.down');
      const coding = model.coding.kind;
      const binaryLinears = seen.filter(
        (w) => w.kind === 'linear' && w.encoding === 'spike',
      ).length;
      // spike coding: every projection sees 0/1 (only embed and the head do not)
      if (coding !== 'integer') expect(binaryLinears).toBe(linears.length - 2);
      const counter = new EnergyCounter();
      disposeAll(counter.count(2, () => model.forward(x)));
      const report = counter.report();
      expect(report.layers.filter((l) => l.op_type === 'mac').map((l) => l.layer)).toEqual([
        'embed',
      ]);
      expect(report.totals.macs).toBe(9 * 32); // per example: N·D adds of token + position
      expect(report.totals.acs).toBeGreaterThan(0);
      x.dispose();
      model.dispose();
    });
  }
});

/** Give every ASN site per-channel steps θ in about [0.6, 1.6] (they start at 1). */
function spreadSteps(model: SpikingStudent): void {
  model.namedParameters().forEach(([name, v], i) => {
    if (name.endsWith('_sn.b'))
      v.assign(tf.tidy(() => tf.add(v, tf.randomUniform(v.shape, -0.5, 0.6, 'float32', i))));
  });
}

const EQUIV: [string, StudentType, Record<string, unknown>][] = [
  ['WD-Spikingformer, ilif', 'wd-spikingformer', { neuron: 'ilif' }],
  [
    'WD-Spikingformer, asn T=2, k=2',
    'wd-spikingformer',
    { neuron: 'asn', time_steps: 2, wta_k: 2 },
  ],
  ['BiSpikCLM, asn (binary weights)', 'bispikclm', { neuron: 'asn', max_count: 3 }],
  [
    'BiSpikCLM, ilif, ssa baseline',
    'bispikclm',
    { neuron: 'ilif', attention_type: 'ssa', attention_threshold: 0.2 },
  ],
  ['WE-Spikingformer, asn, tied MLM head', 'we-spikingformer', { neuron: 'asn' }],
  ['WD-Spikingformer, nasn T=2', 'wd-spikingformer', { neuron: 'nasn', time_steps: 2 }],
  ['BiSpikCLM, nasn (binary weights)', 'bispikclm', { neuron: 'nasn', max_count: 3 }],
];

describe('spiking students: integer mode equals spike mode', () => {
  beforeAll(setupBackend);

  for (const [name, type, over] of EQUIV) {
    it(`${name}: toSpikeMode() gives the same logits`, () => {
      const model = tinyStudent<SpikingStudent & Forward>(type, over, 6).eval();
      spreadSteps(model);
      const spiking = model.toSpikeMode();
      expect(spiking.coding).toEqual({ kind: 'expanded', levels: model.config.max_count });
      expect(spiking.getConfig()).toEqual({ ...model.getConfig(), spike_encoding: 'binary' });
      const x = ids([row(10, 2), row(10, 7)]);
      const a = model.forward(x) as { logits: Tensor };
      const b = spiking.forward(x) as { logits: Tensor };
      const [va, vb] = [values(a.logits), values(b.logits)];
      const diff = va.reduce((m, e, i) => Math.max(m, Math.abs(e - vb[i])), 0);
      expect(diff).toBeLessThan(1e-4);
      expect(new Set(va).size).toBeGreaterThan(1);
      disposeAll(a);
      disposeAll(b);
      x.dispose();
      [model, spiking].forEach((m) => m.dispose());
    });
  }

  it('a spiking (lif) model has no integer mode to convert', () => {
    const model = tinyStudent('wd-spikingformer');
    expect(() => model.toSpikeMode()).toThrow(/already emits binary spikes/);
    model.dispose();
  });
});
