// Measuring the training cost model's rates during a real training step: a Recorder
// that keeps, per weight layer, the input spike rate `f_in` (from the input tensor every
// layer already reports) and, from the neuron core's opt-in membrane reports
// (`recordNeuron`, sent by `lifStep` and the fused multi-step kernel), the fraction of
// neuron elements where the surrogate derivative is non-zero.
//
// Attribution by execution order [P]: the neurons reported after a layer's record and
// before the next record belong to that layer's output (`g_out`); the last non-empty such
// group before a layer's record produced its input (`g_in`). `other` records (norms,
// softmax) do not break a group. This holds for feed-forward stacks (Linear → [norm] →
// neuron → Linear, multi-step or step by step); with residual additions or batch norms
// between a layer and its neuron the gradient reaching the layer is dense: override
// `g_out`/`g_in` to 1 for those layers (`layers({ overrides })`). Neurons other than
// IF/LIF (integer, ASN, ternary) do not report: layers they follow get `g_out = 1`.
// NOTE: under OPZO the layers fed by perturbed spikes see real values; measure f_in on a
// step without noise.
import { ConfigError, ShapeError } from '../errors.js';
import { tallyWork } from './counter.js';
import { withRecorder } from './recorder.js';
import type { Encoding, LayerWork, NeuronWork, Recorder } from './recorder.js';
import { addTally, firingRate } from './tally.js';
import type { LayerTally } from './tally.js';
import { trainingCost } from './training-cost.js';
import type {
  MaskSurrogate,
  TrainingCostOptions,
  TrainingCostReport,
  TrainingLayer,
  UnmodelledWork,
} from './training-types.js';

/** Surrogate-active counts of a group of neuron reports. */
interface Site {
  active: number;
  total: number;
  surrogate: MaskSurrogate | null;
}

interface LayerRecord {
  tally: LayerTally;
  encoding: Encoding;
  maxCount?: number;
  firstLayer: boolean;
  inFeatures: number;
  outFeatures: number;
  /** Σ input elements / in_features over calls, and Σ time steps: rows per step = ratio. */
  rowSteps: number;
  steps: number;
  out: Site;
  in: Site;
}

function emptySite(): Site {
  return { active: 0, total: 0, surrogate: null };
}

function addSite(into: Site, from: Site): void {
  into.active += from.active;
  into.total += from.total;
  into.surrogate ??= from.surrogate;
}

/** Elements of a membrane report where the surrogate derivative at `H − θ` is non-zero. */
export function surrogateActive(site: NeuronWork): Site {
  const h = site.charge instanceof Float32Array ? site.charge : site.charge.dataSync();
  const thr =
    typeof site.threshold === 'number' ? [site.threshold] : Array.from(site.threshold.dataSync());
  const C = thr.length;
  let active = 0;
  for (let i = 0; i < h.length; i++) {
    const u = Math.fround(h[i] - thr[C === 1 ? 0 : i % C]); // float32, as the core computes it
    if (site.surrogate.gradAt(u) !== 0) active++;
  }
  return { active, total: h.length, surrogate: site.surrogate.name };
}

/** Options of `TrainingCostCollector.layers`. */
export interface CollectedLayersOptions {
  /** Per layer name, fields that replace the measured ones (e.g. `{ g_out: 1 }` behind a residual). */
  overrides?: Record<string, Partial<TrainingLayer>>;
  /**
   * Recorded `linear` names to leave out of the model (listed as unmodelled), e.g. an
   * element-wise input add that a model reports as a layer for the inference convention.
   */
  exclude?: readonly string[];
}

/** Recorder of f_in and g_out per weight layer during real forward passes (see file header). */
export class TrainingCostCollector implements Recorder {
  private readonly byLayer = new Map<string, LayerRecord>();
  private readonly other = new Map<string, UnmodelledWork>();
  /** Neuron reports since the last weight/attention record, and where they belong. */
  private open: { site: Site; owner: LayerRecord | null } = { site: emptySite(), owner: null };
  private feeding: Site = emptySite();
  private iterationCount = 0;

  /** Training iterations counted (`count` calls plus `addIterations`). */
  get iterations(): number {
    return this.iterationCount;
  }

  /** Run one training iteration `fn` with this collector active. */
  count<T>(fn: () => T): T {
    this.open = { site: emptySite(), owner: null };
    this.feeding = emptySite();
    const result = withRecorder(this, fn);
    this.closeGroup();
    this.open = { site: emptySite(), owner: null };
    this.iterationCount += 1;
    return result;
  }

  /** Add iterations run through `withRecorder(collector, ...)` directly. */
  addIterations(n: number): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new ConfigError(`iterations must be a positive integer, got ${n}`);
    }
    this.iterationCount += n;
  }

  reset(): void {
    this.byLayer.clear();
    this.other.clear();
    this.open = { site: emptySite(), owner: null };
    this.feeding = emptySite();
    this.iterationCount = 0;
  }

  /** Recorder hook: a layer's forward. */
  record(work: LayerWork): void {
    const call = tallyWork(work);
    if (work.kind !== 'linear') {
      const prev = this.other.get(work.layer);
      const dense = prev ? prev.dense_ops + call.dense_ops : call.dense_ops;
      this.other.set(work.layer, {
        layer: work.layer,
        kind: work.kind,
        ...(work.op === undefined ? {} : { op: work.op }),
        dense_ops: dense,
      });
      if (work.kind === 'other') return; // norms etc. do not end a neuron group
      this.closeGroup();
      this.open = { site: emptySite(), owner: null };
      return;
    }
    this.closeGroup();
    const rec = this.layerRecord(work, call);
    addSite(rec.in, this.feeding);
    this.open = { site: emptySite(), owner: rec };
  }

  /** Recorder hook: a neuron site's membrane. */
  recordNeuron(site: NeuronWork): void {
    addSite(this.open.site, surrogateActive(site));
  }

  private closeGroup(): void {
    const { site, owner } = this.open;
    if (site.total === 0) return;
    if (owner) addSite(owner.out, site);
    this.feeding = site;
  }

  private layerRecord(work: LayerWork, call: LayerTally): LayerRecord {
    const where = `training cost: layer '${work.layer}'`;
    const cin = work.input.shape[work.input.rank - 1];
    const rows = work.input.size / cin; // over all steps in this call
    const cout = work.flopsPerStep / ((rows / work.timeSteps) * cin);
    if (!(Number.isInteger(cout) && cout > 0)) {
      throw new ShapeError(
        `${where}: flopsPerStep ${work.flopsPerStep} is not rows·in·out for input [${work.input.shape.join(', ')}]`,
        'the collector reads linear layers; pass other shapes to trainingCost directly',
      );
    }
    let rec = this.byLayer.get(work.layer);
    if (!rec) {
      rec = {
        tally: call,
        encoding: work.encoding,
        ...(work.maxCount === undefined ? {} : { maxCount: work.maxCount }),
        firstLayer: work.firstLayer ?? false,
        inFeatures: cin,
        outFeatures: cout,
        rowSteps: rows,
        steps: work.timeSteps,
        out: emptySite(),
        in: emptySite(),
      };
      this.byLayer.set(work.layer, rec);
      return rec;
    }
    if (rec.inFeatures !== cin || rec.outFeatures !== cout) {
      throw new ShapeError(
        `${where}: reported as ${rec.inFeatures} -> ${rec.outFeatures} and then as ${cin} -> ${cout}`,
      );
    }
    addTally(rec.tally, call);
    rec.rowSteps += rows;
    rec.steps += work.timeSteps;
    return rec;
  }

  /** Time steps per iteration: the most any layer ran (null before a counted iteration). */
  timeSteps(): number | null {
    if (this.byLayer.size === 0 || this.iterationCount === 0) return null;
    return Math.max(...[...this.byLayer.values()].map((r) => r.steps)) / this.iterationCount;
  }

  /** Work recorded but outside the model (attention products, norms), per iteration. */
  unmodelled(exclude: readonly string[] = []): UnmodelledWork[] {
    const k = this.iterationCount > 0 ? 1 / this.iterationCount : 1;
    const left = exclude.flatMap((name) => {
      const r = this.byLayer.get(name);
      return r ? [{ layer: name, kind: 'linear', dense_ops: r.tally.dense_ops }] : [];
    });
    return [...left, ...this.other.values()].map((u) => ({ ...u, dense_ops: u.dense_ops * k }));
  }

  /** The measured layers in first-seen order, ready for `trainingCost`. */
  layers(opts: CollectedLayersOptions = {}): TrainingLayer[] {
    this.closeGroup();
    this.open = { site: emptySite(), owner: this.open.owner };
    const overrides = opts.overrides ?? {};
    const exclude = new Set(opts.exclude ?? []);
    for (const name of [...Object.keys(overrides), ...exclude]) {
      if (!this.byLayer.has(name)) {
        throw new ConfigError(
          `${exclude.has(name) ? 'exclude' : 'overrides'}: unknown layer '${name}'`,
          `recorded layers: ${[...this.byLayer.keys()].join(', ')}`,
        );
      }
    }
    const kept = [...this.byLayer.entries()].filter(([name]) => !exclude.has(name));
    return kept.map(([name, r], i): TrainingLayer => {
      const inputLayer = r.firstLayer || (i === 0 && r.encoding === 'real');
      const layer: TrainingLayer = {
        layer: name,
        in_features: r.inFeatures,
        out_features: r.outFeatures,
        rows: r.rowSteps / r.steps,
        time_steps: r.steps / Math.max(1, this.iterationCount),
        input_encoding: r.encoding,
        ...(r.maxCount === undefined ? {} : { max_count: r.maxCount }),
        f_in: r.encoding === 'real' ? 1 : firingRate(r.tally),
        g_out: r.out.total > 0 ? r.out.active / r.out.total : 1,
        g_in: r.in.total > 0 ? r.in.active / r.in.total : 1,
        needs_input_grad: !inputLayer,
        neuron: r.out.total > 0,
        ...(r.out.surrogate === null ? {} : { surrogate: r.out.surrogate }),
      };
      return { ...layer, ...overrides[name], layer: name };
    });
  }
}

/** Options of `trainingCostReport`: those of `trainingCost` with `time_steps` measured by default. */
export type CollectedCostOptions = Omit<TrainingCostOptions, 'time_steps' | 'unmodelled'> &
  CollectedLayersOptions & { time_steps?: number };

/**
 * The training cost report of what a collector measured (per iteration), for a results
 * JSON: `{ model, step, rule, layers: [...], totals: {...} }`.
 */
export function trainingCostReport(
  collector: TrainingCostCollector,
  opts: CollectedCostOptions,
): TrainingCostReport {
  const { overrides, exclude, time_steps, ...rest } = opts;
  const T = time_steps ?? collector.timeSteps();
  if (T === null || !Number.isInteger(T)) {
    throw new ConfigError(
      `training cost: cannot tell time_steps from the records (got ${String(T)})`,
      'count at least one iteration with collector.count(...), or pass time_steps',
    );
  }
  return trainingCost(collector.layers({ overrides, exclude }), {
    ...rest,
    time_steps: T,
    unmodelled: collector.unmodelled(exclude),
  });
}
