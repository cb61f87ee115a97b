// IDE and SPIDE as `snnlm vision train` methods (methods-vision.md 6, 7): both train
// the feedback SNN of models/vision/feedback.ts (`--arch feedback`, IDE's Fashion-MNIST
// "F400" net by default) from the equilibrium of its average firing rates; IDE solves
// the backward linear system with Broyden's method, SPIDE with ternary spiking neurons.
import { join } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { CONFIG_FILE, loadModelFolder, readTfTensors } from '../src/io/index.js';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import {
  NO_DECAY,
  SGD,
  crossEntropyLoss,
  disposeEquilibriumGradients,
  ideGradients,
  spideGradients,
} from '../src/train/index.js';
import type { EquilibriumGradients } from '../src/train/index.js';
import { FeedbackSNN, ideF400Config, parseFeedbackConfig } from '../models/vision/index.js';
import type { FeedbackSNNConfig } from '../models/vision/index.js';
import { registerVisionMethod } from './methods.js';
import type { BatchReport, MethodSettings, NetRequest, VisionMethod } from './methods.js';

/** The arch name of the feedback SNN. */
export const FEEDBACK_ARCH = 'feedback';

/** Weight decay of both methods' code: 5e-4 [V 6(d), 7(d)]; none on biases and BN [P]. */
const WEIGHT_DECAY = 5e-4;

/** The F400 net of a run: `--hidden` sets the loop widths, `--neuron` if|lif. */
function feedbackConfig(req: NetRequest, overrides: Partial<FeedbackSNNConfig>): FeedbackSNN {
  if (req.channels) {
    throw new ConfigError('--channels applies to --arch cnn only; the feedback net is linear');
  }
  if (req.neuron !== undefined && req.neuron !== 'if' && req.neuron !== 'lif') {
    throw new ConfigError(
      `--neuron must be if or lif for --arch feedback (the equilibrium view needs them), got ${JSON.stringify(req.neuron)}`,
    );
  }
  return new FeedbackSNN(
    ideF400Config({
      ...overrides,
      ...(req.hidden ? { hidden_sizes: req.hidden } : {}),
      ...(req.neuron ? { neuron: req.neuron } : {}),
      time_steps: req.timeSteps,
      seed: req.seed,
    }),
  );
}

/** Load a feedback SNN saved by `snnlm vision train --arch feedback` (returned in eval mode). */
export async function loadFeedbackModel(dir: string): Promise<FeedbackSNN> {
  const folder = await loadModelFolder(dir);
  try {
    let cfg: FeedbackSNNConfig;
    try {
      cfg = parseFeedbackConfig(folder.config as unknown as FeedbackSNNConfig);
    } catch (e) {
      throw new ConfigError(`${join(dir, CONFIG_FILE)}: ${(e as Error).message}`);
    }
    const net = new FeedbackSNN(cfg);
    try {
      const tensors = await readTfTensors(folder.tensors);
      try {
        net.loadState(tensors);
      } finally {
        tf.dispose(Object.values(tensors));
      }
    } catch (e) {
      net.dispose();
      throw e;
    }
    net.eval();
    return net;
  } finally {
    await folder.close();
  }
}

function report(r: EquilibriumGradients): BatchReport {
  // The logits at the average rates: T times smaller than Σ_t o[t], the same argmax.
  const logitsSum = tf.clone(r.logits);
  const firingRates = r.rates.map((a) => tf.tidy(() => tf.mean(a).dataSync()[0]));
  return { loss: r.loss, logitsSum, firingRates };
}

function equilibriumMethod(
  name: string,
  summary: string,
  defaultT: number,
  lr: number,
  netOverrides: Partial<FeedbackSNNConfig>,
  gradients: (net: FeedbackSNN, x: Tensor, y: Tensor) => EquilibriumGradients,
): VisionMethod<FeedbackSNN> {
  return {
    name,
    summary,
    costRule: null,
    defaultT,
    archs: [FEEDBACK_ARCH],
    buildNet: (req) => feedbackConfig(req, netOverrides),
    netDefaults: () => ({}),
    unsupported: () => `it trains the feedback SNN only (--arch ${FEEDBACK_ARCH})`,
    createTrainer(net: FeedbackSNN, s: MethodSettings) {
      const optimizer = new SGD(net.namedParameters(), {
        lr: s.lr ?? lr,
        momentum: 0.9,
        weightDecay: WEIGHT_DECAY,
        groups: [NO_DECAY],
      });
      return {
        optimizer,
        trainBatch: (x, y) => {
          const r = gradients(net, x, y);
          try {
            optimizer.step(r.grads);
            return report(r);
          } finally {
            disposeEquilibriumGradients(r);
          }
        },
        dispose: () => optimizer.dispose(),
      };
    },
  };
}

// IDE on F400: IF, V_th 2, subtract reset, Linear+BN input, spectral-norm feedback,
// T 5, SGD lr 0.05 momentum 0.9, Broyden limit 30 [V 6(d)]. The variational dropout 0.2
// of the code is not in the net.
registerVisionMethod(
  equilibriumMethod(
    'ide',
    'IDE: feedback SNN, implicit differentiation on the rate equilibrium (Broyden backward)',
    5,
    0.05,
    {},
    (net, x, y) => ideGradients(net, x, crossEntropyLoss(y), { timeSteps: net.timeSteps }),
  ),
);

// SPIDE on the same F400 loop with its own neuron: IF, V_th 1, modified reset with
// u_rest = -V_th, T 30, backward by ternary neurons V_b 0.5, T_b 100, kappa 100 [V 7(d)].
// spideGradients returns gradients of the unscaled loss, so the learning rate is the
// ordinary one (0.1, the code's 0.1/kappa on kappa-scaled gradients) and the weight
// decay is applied in full (the code's effective decay is 5e-4/kappa) [P].
registerVisionMethod(
  equilibriumMethod(
    'spide',
    'SPIDE: feedback SNN, IDE backward solved by ternary spiking neurons',
    30,
    0.1,
    { v_threshold: 1, reset: 'modified' },
    (net, x, y) =>
      spideGradients(net, x, crossEntropyLoss(y), {
        timeSteps: net.timeSteps,
        backwardTimeSteps: 100,
        kappa: 100,
      }),
  ),
);
