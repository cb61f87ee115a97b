// Spiking vision nets driven one time step at a time (`SpikingStepNet` of
// src/train/online.ts): a spiking MLP `in → [Linear → norm → neuron]* → readout`
// and a small spiking CNN `[Conv → norm → neuron → pool]* → [Linear → norm → neuron]*
// → readout`. Direct (analog) coding: the same image is the input current of the
// first layer at every step; the readout is a non-spiking Linear `o[t]`, and the
// prediction is argmax Σ_t o[t] (methods-vision.md 0.2).
// Tensor names: `blocks.<l>.{fc|conv}.weight|bias`, `blocks.<l>.gain` (sWS of a fc
// layer), `blocks.<l>.conv.gain` (sWS of a conv), `blocks.<l>.norm.*`,
// `blocks.<l>.neuron.*`, `readout.weight|bias`.
import { tf } from '../../src/tf.js';
import type { Tensor, Variable } from '../../src/tf.js';
import { ShapeError } from '../../src/errors.js';
import {
  Conv2d,
  Linear,
  Module,
  TimeBatchNorm,
  deriveSeed,
  pool2d,
  pooledSize,
  scaledWeightStandardization,
} from '../../src/layers/index.js';
import { matMul, traceMatMul } from '../../src/ops/index.js';
import { detach } from '../../src/neurons/index.js';
import type {
  LayerRecord,
  SpikingStepNet,
  StepOptions,
  StepOutput,
  StepState,
} from '../../src/train/online.js';
import { parseVisionConfig, visionConfigJson } from './config.js';
import type { VisionNetConfig } from './config.js';
import { StepNeuron } from './neuron.js';

/** `x W^T + b` for a fc weight `[out, in]`, with the weight gradient from `trace` when given. */
function dense(x: Tensor, w: Tensor, b: Tensor | null, trace: Tensor | null): Tensor {
  const y = trace ? traceMatMul(x, trace, w) : matMul(x, w, false, true); // [B, out]
  return b ? tf.add(y, b) : y;
}

/** One spiking layer: synapse (fc or conv), optional norm, neuron, and for conv a pooling. */
class VisionBlock extends Module {
  readonly fc: Linear | null = null;
  readonly conv: Conv2d | null = null;
  readonly gain: Variable | null = null;
  readonly norm: TimeBatchNorm | null = null;
  readonly neuron: StepNeuron;

  constructor(
    cfg: VisionNetConfig,
    kind: 'fc' | 'conv',
    inSize: number,
    outSize: number,
    seed: number,
  ) {
    super();
    if (kind === 'fc') {
      this.fc = this.addModule(
        'fc',
        new Linear({ in_features: inSize, out_features: outSize, seed }),
      );
      if (cfg.norm === 'sws') this.gain = this.addParameter('gain', tf.ones([outSize]));
    } else {
      this.conv = this.addModule(
        'conv',
        new Conv2d({
          in_channels: inSize,
          out_channels: outSize,
          kernel_size: cfg.kernelSize,
          padding: (cfg.kernelSize - 1) / 2,
          weight_standardization: cfg.norm === 'sws',
          seed,
        }),
      );
    }
    if (cfg.norm === 'batch')
      this.norm = this.addModule('norm', new TimeBatchNorm({ num_features: outSize }));
    this.neuron = this.addModule('neuron', new StepNeuron(cfg.neuronSpec, outSize, cfg.dsr));
  }

  getConfig(): object {
    return {};
  }

  /** The synaptic current of input x (and its trace, for OTTT). */
  current(x: Tensor, trace: Tensor | null): Tensor {
    let i: Tensor;
    if (this.conv) {
      i = this.conv.forward(x, trace ? { trace } : {}); // [B, H, W, C]
    } else {
      const fc = this.fc as Linear;
      const w = this.gain ? scaledWeightStandardization(fc.weight, this.gain) : fc.weight;
      i = dense(x, w, fc.bias, trace); // [B, out]
    }
    return this.norm ? this.norm.forward(i) : i;
  }
}

/** A spiking MLP or CNN built from a `spiking-vision` config. */
export class SpikingVisionNet extends Module implements SpikingStepNet {
  readonly modelType = 'spiking-vision';
  readonly config: VisionNetConfig;
  readonly blocks: VisionBlock[] = [];
  readonly readout: Linear;
  /** Shape `[B]`-less of each block's current: `[n]` or `[H, W, C]`. */
  private readonly currentShapes: number[][] = [];

  constructor(config: VisionNetConfig | Record<string, unknown>) {
    super();
    const cfg = 'neuronSpec' in config ? (config as VisionNetConfig) : parseVisionConfig(config);
    this.config = cfg;
    const [h0, w0, c0] = cfg.inputShape;
    let [h, w, c] = [h0, w0, c0];
    let idx = 0;
    const seed = (l: string) => deriveSeed(cfg.seed, l);
    if (cfg.arch === 'cnn') {
      for (const ch of cfg.channels) {
        const b = this.addModule(
          `blocks.${idx}`,
          new VisionBlock(cfg, 'conv', c, ch, seed(`blocks.${idx}`)),
        );
        this.blocks.push(b);
        this.currentShapes.push([h, w, ch]);
        [h, w, c] = [pooledSize(h, 2), pooledSize(w, 2), ch];
        if (h < 1 || w < 1) throw new ShapeError(`too many conv blocks for a ${h0}x${w0} input`);
        idx++;
      }
    }
    let n = h * w * c;
    for (const width of cfg.hidden) {
      this.blocks.push(
        this.addModule(
          `blocks.${idx}`,
          new VisionBlock(cfg, 'fc', n, width, seed(`blocks.${idx}`)),
        ),
      );
      this.currentShapes.push([width]);
      n = width;
      idx++;
    }
    if (this.blocks.length === 0)
      throw new ShapeError('a vision net needs at least one spiking layer');
    this.readout = this.addModule(
      'readout',
      new Linear({ in_features: n, out_features: cfg.numClasses, seed: seed('readout') }),
    );
  }

  get timeSteps(): number {
    return this.config.timeSteps;
  }

  get numSpikingLayers(): number {
    return this.blocks.length;
  }

  get neuronKind(): string {
    return this.config.neuronSpec.neuron;
  }

  getConfig(): Record<string, unknown> & { model_type: string } {
    return visionConfigJson(this.config);
  }

  /** Names of the spiking layers' synapses (`blocks.0.conv`, `blocks.1.fc`, ...). */
  layerNames(): string[] {
    return this.blocks.map((b, i) => `blocks.${i}.${b.conv ? 'conv' : 'fc'}`);
  }

  traceDecay(layer: number): number {
    return this.blocks[layer].neuron.decay();
  }

  /** Weight and bias of the synapse feeding spiking layer l (l = L: the readout), for rules without a tape. */
  synapseParams(layer: number): {
    weight: Variable;
    bias: Variable | null;
    weightName: string;
    biasName: string | null;
  } {
    const lin = layer === this.blocks.length ? this.readout : this.blocks[layer].fc;
    if (!lin)
      throw new ShapeError(`layer ${layer} is a convolution, not a fully connected synapse`);
    const prefix = layer === this.blocks.length ? 'readout' : `blocks.${layer}.fc`;
    return {
      weight: lin.weight,
      bias: lin.bias,
      weightName: `${prefix}.weight`,
      biasName: lin.bias ? `${prefix}.bias` : null,
    };
  }

  initState(batch: number): StepState {
    return {
      neurons: this.blocks.map((b, l) => b.neuron.init([batch, ...this.currentShapes[l]])),
      traces: null,
    };
  }

  /** ψ(h − V_th) of spiking layer l's surrogate at charge h (IF/LIF only). */
  surrogateGrad(layer: number, charge: Tensor): Tensor {
    const n = this.blocks[layer].neuron;
    const spec = n.spec;
    if (spec.neuron !== 'if' && spec.neuron !== 'lif') {
      throw new ShapeError(`surrogateGrad needs IF/LIF neurons, layer ${layer} is ${spec.neuron}`);
    }
    return spec.params.surrogate.grad(tf.sub(charge, n.thresholdValue()));
  }

  /** DSR's spike form of the neurons, or null. */
  get dsrSpikes(): { alpha: number; dt: number | null } | null {
    return this.config.dsr;
  }

  /** The threshold of spiking layer l (a number, or its trainable scalar). */
  threshold(layer: number): number | Tensor {
    return this.blocks[layer].neuron.thresholdValue();
  }

  /** The synaptic current of spiking layer l for input `x` (weight gradient from `trace` when given). */
  current(layer: number, x: Tensor, trace: Tensor | null = null): Tensor {
    return this.blocks[layer].current(x, trace);
  }

  /** The readout `o = x W^T + b` (weight gradient from `trace` when given). */
  readoutLogits(x: Tensor, trace: Tensor | null = null): Tensor {
    return dense(x, this.readout.weight, this.readout.bias, trace); // [B, K]
  }

  /** The input of the first synapse: `[B, H, W, C]` for a CNN, `[B, H*W*C]` for an MLP. */
  firstInput(x: Tensor): Tensor {
    const [h, w, c] = this.config.inputShape;
    const b = x.shape[0];
    if (x.size !== b * h * w * c) {
      throw new ShapeError(
        `input must hold [B, ${h}, ${w}, ${c}] images, got shape [${x.shape.join(', ')}]`,
      );
    }
    return this.config.arch === 'cnn' && this.blocks[0].conv
      ? tf.reshape(x, [b, h, w, c])
      : tf.reshape(x, [b, h * w * c]);
  }

  /** What spiking layer l sends on: pooled for a conv block, flattened before a fc synapse. */
  sendOn(l: number, out: Tensor): Tensor {
    let y = this.blocks[l].conv ? pool2d(out, this.config.pool, 2) : out;
    const nextIsConv = l + 1 < this.blocks.length && this.blocks[l + 1].conv !== null;
    if (y.rank > 2 && !nextIsConv) y = tf.reshape(y, [y.shape[0], -1]);
    return y;
  }

  step(x: Tensor, state: StepState, opts: StepOptions = {}): StepOutput {
    const L = this.blocks.length;
    const useTraces = opts.traces ?? false;
    const prevTraces = state.traces;
    const traces: (Tensor | null)[] = [];
    const trace = (k: number, input: Tensor): Tensor | null => {
      if (!useTraces || k === 0) return null;
      const prev = prevTraces?.[k];
      const s = detach(input);
      const lam = this.traceDecay(k - 1);
      return prev ? tf.add(tf.mul(detach(prev), lam), s) : s; // â = λ â + s
    };
    let inp = this.firstInput(x);
    const layers: LayerRecord[] = [];
    const neurons: Record<string, Tensor>[] = [];
    for (let l = 0; l < L; l++) {
      const b = this.blocks[l];
      const tr = trace(l, inp);
      traces.push(tr);
      const i = b.current(inp, tr);
      const n = b.neuron.step(i, state.neurons[l], opts.detachState ?? false);
      neurons.push(n.state);
      const out = opts.perturb ? opts.perturb(l, n.out) : n.out;
      layers.push({
        input: inp,
        trace: tr,
        charge: n.charge,
        spikes: n.out,
        threshold: b.neuron.thresholdValue(),
      });
      inp = this.sendOn(l, out);
    }
    const rTrace = useTraces && (opts.readoutTrace ?? true) ? trace(L, inp) : null;
    if (useTraces) traces.push(rTrace ?? trace(L, inp));
    const logits = this.readoutLogits(inp, rTrace); // [B, K]
    return {
      logits,
      state: { neurons, traces: useTraces ? traces : null },
      layers,
      readoutInput: inp,
      readoutTrace: rTrace,
    };
  }

  /** Σ_t o[t] over T steps without a graph (inference): `[B, K]`. */
  predictLogits(x: Tensor): Tensor {
    return tf.tidy(() => {
      let state = this.initState(x.shape[0]);
      let sum: Tensor | null = null;
      for (let t = 0; t < this.timeSteps; t++) {
        const r = this.step(x, state);
        sum = sum ? tf.add(sum, r.logits) : r.logits;
        state = r.state;
      }
      return sum as Tensor;
    });
  }
}

/** Build a vision net from config.json fields (validated). */
export function buildVisionNet(
  raw: Record<string, unknown>,
  source = 'config.json',
): SpikingVisionNet {
  return new SpikingVisionNet(parseVisionConfig(raw, source));
}
