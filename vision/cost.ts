// The training cost counts (methods-language.md 5, src/energy trainingCost) of one
// training iteration of a vision net, from its shapes and the firing rates measured
// on the test set. g_out (fraction of membranes with a non-zero surrogate
// derivative) is 1: the sigmoid surrogate these nets train with has full support [P].
import { trainingCost } from '../src/energy/index.js';
import type {
  Encoding,
  GradientRule,
  TrainingCostReport,
  TrainingLayer,
} from '../src/energy/index.js';
import type { SpikingVisionNet } from '../models/vision/index.js';

/** The cost report of one iteration at batch `batch` under `rule`. */
export function visionTrainingCost(
  net: SpikingVisionNet,
  rule: GradientRule,
  rates: readonly number[],
  batch: number,
  k: number,
): TrainingCostReport {
  const cfg = net.config;
  let [h, w] = [cfg.inputShape[0], cfg.inputShape[1]];
  const layers: TrainingLayer[] = [];
  const encoding: Encoding = cfg.neuronSpec.neuron === 'asn' ? 'integer' : 'spike';
  const maxCount = cfg.neuronSpec.neuron === 'asn' ? cfg.neuronSpec.params.maxCount : undefined;
  const input = (l: number) => ({
    input_encoding: (l === 0 ? 'real' : encoding) as Encoding,
    f_in: l === 0 ? 1 : rates[l - 1],
    needs_input_grad: l !== 0,
    ...(l !== 0 && maxCount ? { max_count: maxCount } : {}),
  });
  net.blocks.forEach((b, l) => {
    if (b.conv) {
      const kk = b.conv.kernelSize ** 2;
      layers.push({
        layer: `blocks.${l}.conv`,
        in_features: b.conv.inChannels * kk,
        out_features: b.conv.outChannels,
        rows: batch * h * w,
        in_elements: batch * h * w * b.conv.inChannels,
        ...input(l),
        g_out: 1,
        surrogate: 'sigmoid',
      });
      [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    } else {
      const fc = b.fc!;
      layers.push({
        layer: `blocks.${l}.fc`,
        in_features: fc.inFeatures,
        out_features: fc.outFeatures,
        rows: batch,
        ...input(l),
        g_out: 1,
        surrogate: 'sigmoid',
      });
    }
  });
  const L = net.blocks.length;
  layers.push({
    layer: 'readout',
    in_features: net.readout.inFeatures,
    out_features: net.readout.outFeatures,
    rows: batch,
    ...input(L),
    g_out: 1,
    neuron: false,
  });
  return trainingCost(layers, {
    rule,
    time_steps: cfg.timeSteps,
    ...(rule === 'sltt-k' ? { k: Math.min(k, cfg.timeSteps) } : {}),
  });
}
