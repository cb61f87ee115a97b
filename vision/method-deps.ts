// What the built-in methods use from src/train, and the optimiser they share:
// SGD with momentum 0.9 [V, all the methods' code], no weight decay on biases,
// thresholds, norm and sWS gains [P].
import { NO_DECAY, SGD } from '../src/train/index.js';
import type { Optimizer } from '../src/train/index.js';
import type { SpikingVisionNet } from '../models/vision/index.js';

export { Opzo, dsrTrainStep, onlineTrainStep } from '../src/train/index.js';
export type { OnlineRule, Optimizer } from '../src/train/index.js';

/** SGD, momentum 0.9, at learning rate `lr`. */
export function createDefaultOptimizer(net: SpikingVisionNet, lr: number): Optimizer {
  return new SGD(net.namedParameters(), { lr, momentum: 0.9, weightDecay: 0, groups: [NO_DECAY] });
}
