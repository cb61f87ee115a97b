// Oracle traces from SpikingJelly (shared/refs/neurons-spikingjelly.json): spikes,
// membrane after reset, and the BPTT input gradient of sum(spikes * loss_weights),
// on the op-by-op path and on the fused kernel.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { lifMultiStep, makeIFParams, makeLIFParams, surrogate } from '../../src/neurons/index.js';
import type { LIFParams } from '../../src/neurons/index.js';
import { expectClose, setupBackend, values } from '../helpers.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../../shared/refs/neurons-spikingjelly.json');

interface Case {
  name: string;
  T: number;
  N: number;
  input: number[][];
  loss_weights: number[][];
  spikes: number[][];
  v_after_reset: number[][];
  grad_input: number[][];
}

/** The settings each case name stands for (see the fixture's README and `conventions`). */
const SETTINGS: Record<string, () => LIFParams> = {
  lif_tau2_decayinput_hard_sigmoid4: () =>
    makeLIFParams({
      charge: { form: 'decay_input', tau: 2 },
      vReset: 0,
      surrogate: surrogate('sigmoid', 4),
    }),
  lif_tau2_nodecayinput_soft_atan2: () =>
    makeLIFParams({
      charge: { form: 'no_decay_input', tau: 2 },
      vReset: null,
      surrogate: surrogate('atan', 2),
    }),
  if_hard_detach_sigmoid4: () =>
    makeIFParams({ vReset: 0, detachReset: true, surrogate: surrogate('sigmoid', 4) }),
  if_soft_atan2: () => makeIFParams({ vReset: null, surrogate: surrogate('atan', 2) }),
};

const cases: Case[] = existsSync(FIXTURE)
  ? (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: Case[] }).cases
  : [];

describe('SpikingJelly oracle traces', () => {
  beforeAll(setupBackend);

  if (cases.length === 0) {
    it.skip(`needs ${FIXTURE} (shared reference fixtures are absent on this machine)`, () => {});
    return;
  }

  it('the fixture holds exactly the known cases', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  for (const c of cases) {
    for (const fused of [false, true]) {
      it(`${c.name} (${fused ? 'fused' : 'op by op'})`, () => {
        const make = SETTINGS[c.name];
        expect(make, `unknown case ${c.name}`).toBeDefined();
        const p = make();
        const x = tf.tensor2d(c.input); // [T, N]
        const w = tf.tensor2d(c.loss_weights); // [T, N]
        const r = lifMultiStep(x, p, { returnV: true, fused });
        expect(values(r.spikes)).toEqual(c.spikes.flat());
        expectClose(values(r.vSeq!), c.v_after_reset.flat(), 1e-6, 1e-6);
        const g = tf.grad((t: Tensor) => tf.sum(tf.mul(lifMultiStep(t, p, { fused }).spikes, w)))(
          x,
        );
        expectClose(values(g), c.grad_input.flat(), 1e-6, 1e-5);
        tf.dispose([x, w, g, r.spikes, r.vSeq!, r.state.v]);
      });
    }
  }
});
