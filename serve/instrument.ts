// A CausalLM seen through the eyes of the server: every `decode` call is
// counted by an EnergyCounter (firing rates, spikes, synaptic operations,
// energy against an ANN of the same shape; src/energy), and, when logprobs are
// asked for, the log-softmax of every fed position is kept. Decoding itself is
// the wrapped model's, unchanged.
import { EnergyCounter, estimateEnergy } from '../src/energy/index.js';
import type { LayerTally } from '../src/energy/index.js';
import type { CausalLM, DecodeState, ForwardOptions, LMOutput } from '../src/generate/index.js';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import type { EnergyTotals, StepStats } from './types.js';

/** A spiking layer's input: counted by spikes (everything but real-valued inputs). */
const spiking = (t: LayerTally): boolean => t.kind !== 'other' && t.encoding !== 'real';

/** Wraps a model for one job (see the file header). */
export class InstrumentedLM implements CausalLM {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly maxPositions: number;
  /** Spiking layer names in first-seen order (rows of `firing_rates`). */
  readonly layers: string[] = [];
  /** Statistics of the latest decode call. */
  last: StepStats | null = null;
  /** Log-softmax rows of every fed position, in order (only with `keepLogprobs`). */
  readonly rows: Float32Array[] = [];
  private readonly totals = { spikes: 0, slots: 0, sops: 0, energy_pj: 0, ann_energy_pj: 0 };

  constructor(
    private readonly inner: CausalLM,
    private readonly options: { countEnergy: boolean; keepLogprobs: boolean },
  ) {
    this.modelType = inner.modelType;
    this.vocabSize = inner.vocabSize;
    this.maxPositions = inner.maxPositions;
  }

  forward(ids: Tensor, options?: ForwardOptions): LMOutput {
    return this.inner.forward(ids, options);
  }

  initState(batch: number): DecodeState {
    return this.inner.initState(batch);
  }

  decode(ids: Tensor, state: DecodeState): Tensor {
    let logits: Tensor;
    if (this.options.countEnergy) {
      const counter = new EnergyCounter();
      logits = counter.count(1, () => this.inner.decode(ids, state));
      this.account(counter.tallies());
    } else {
      logits = this.inner.decode(ids, state);
    }
    if (this.options.keepLogprobs) this.keepRows(logits);
    return logits;
  }

  /** Totals over every decode call so far. */
  energy(): EnergyTotals {
    const t = this.totals;
    return {
      spikes: t.spikes,
      sops: t.sops,
      energy_pj: t.energy_pj,
      ann_energy_pj: t.ann_energy_pj,
      firing_rate: t.slots > 0 ? t.spikes / t.slots : null,
    };
  }

  private account(tallies: LayerTally[]): void {
    const report = estimateEnergy(tallies);
    const rates = new Map<string, number>();
    let spikes = 0;
    let slots = 0;
    for (const t of tallies.filter(spiking)) {
      if (!this.layers.includes(t.layer)) this.layers.push(t.layer);
      rates.set(t.layer, t.slots > 0 ? t.events / t.slots : 0);
      spikes += t.events;
      slots += t.slots;
    }
    this.last = {
      firing_rates: this.layers.map((l) => rates.get(l) ?? 0),
      spikes,
      sops: report.totals.sops,
      energy_pj: report.totals.energy_pj,
      ann_energy_pj: report.totals.ann_energy_pj,
    };
    this.totals.spikes += spikes;
    this.totals.slots += slots;
    this.totals.sops += report.totals.sops;
    this.totals.energy_pj += report.totals.energy_pj;
    this.totals.ann_energy_pj += report.totals.ann_energy_pj;
  }

  private keepRows(logits: Tensor): void {
    const V = this.vocabSize;
    const lp = tf.tidy(() => tf.logSoftmax(tf.reshape(logits, [-1, V]))); // [n, V]
    const data = lp.dataSync() as Float32Array;
    lp.dispose();
    for (let i = 0; i < data.length; i += V) this.rows.push(data.slice(i, i + V));
  }
}
