// No tensor leaks: repeated tidy'd forward + backward steps of every neuron family
// leave tf.memory().numTensors unchanged (conventions.md 5.4).
import { beforeAll, describe, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor, Variable } from '../../src/tf.js';
import {
  asnMultiStep,
  createASNParams,
  createNASNNorm,
  createThreshold,
  ilifMultiStep,
  lifMultiStep,
  makeILIFParams,
  makeLIFParams,
  nasnMultiStep,
  ternaryMultiStep,
  makeTernaryParams,
} from '../../src/neurons/index.js';
import { expectNoLeak, setupBackend } from '../helpers.js';

/** Warm up once, then assert three more tidy'd steps leak nothing. */
async function noLeak(step: () => void): Promise<void> {
  step();
  await expectNoLeak(() => {
    for (let i = 0; i < 3; i++) step();
  });
}

describe('tensor lifetimes', () => {
  beforeAll(setupBackend);
  const x = () => tf.randomUniform([4, 2, 3], -0.5, 1.5);

  for (const fused of [false, true]) {
    for (const returnV of [false, true]) {
      it(`LIF forward + backward (${fused ? 'fused' : 'op by op'}, returnV ${returnV})`, async () => {
        const p = makeLIFParams({ vReset: null, detachReset: true });
        await noLeak(() =>
          tf.tidy(() => {
            tf.grad((t: Tensor) => {
              const o = lifMultiStep(t, p, { fused, returnV });
              return tf.add(tf.sum(o.spikes), tf.sum(o.state.v));
            })(x());
          }),
        );
      });
    }
  }

  it('LIF with a trainable threshold, variableGrads', async () => {
    const thr = createThreshold(1, 3);
    const p = makeLIFParams({ vThreshold: thr, detachState: true });
    await noLeak(() =>
      tf.tidy(() => {
        tf.variableGrads(() => tf.sum(lifMultiStep(x(), p).spikes) as tf.Scalar, [thr]);
      }),
    );
    thr.dispose();
  });

  it('I-LIF, ASN, NASN and ternary forward + backward', async () => {
    const asn = createASNParams(3);
    const bn = createNASNNorm('batch', 3);
    const rms = createNASNNorm('rms', 3);
    const vars = [asn.a, asn.b] as Variable[];
    await noLeak(() =>
      tf.tidy(() => {
        tf.grad((t: Tensor) => tf.sum(ilifMultiStep(t, makeILIFParams()).counts))(x());
        tf.variableGrads(() => tf.sum(asnMultiStep(x(), asn).y) as tf.Scalar, vars);
        tf.variableGrads(
          () => tf.sum(nasnMultiStep(x(), bn, asn, { training: true }).y) as tf.Scalar,
          vars,
        );
        tf.variableGrads(() => tf.sum(nasnMultiStep(x(), rms, asn).y) as tf.Scalar, vars);
        tf.grad((t: Tensor) => tf.sum(ternaryMultiStep(t, makeTernaryParams()).spikes))(x());
      }),
    );
  });

  it('forward without a tape leaks nothing either (no saved tensors, no kept state)', async () => {
    const p = makeLIFParams();
    await noLeak(() => {
      const input = x();
      const o = lifMultiStep(input, p, { returnV: true });
      tf.dispose([input, o.spikes, o.vSeq!, o.state.v]);
    });
  });
});
