// Prometheus metrics (prom-client, its own registry per app): llama.cpp's
// counters under the `snnlm:` prefix (conventions.md 1.6), request and
// time-to-first-token latency histograms as vLLM has them, queue depth, and
// the spike accounting: spikes, synaptic operations, energy, and the
// `snnlm:spike_rate` gauge (firing rate of the latest finished job).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from './engine.js';
import type { JobResult } from './types.js';

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The server's metrics. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly ttft: Histogram;
  readonly promptTokens: Counter;
  readonly predictedTokens: Counter;
  readonly spikes: Counter;
  readonly sops: Counter;
  readonly energy: Counter;
  readonly annEnergy: Counter;
  readonly spikeRate: Gauge;

  constructor(engine: Engine) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'snnlm:requests_total',
      help: 'HTTP requests by route and status code.',
      labelNames: ['route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'snnlm:request_duration_seconds',
      help: 'Time from receiving a request to the end of its response.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.ttft = new Histogram({
      name: 'snnlm:time_to_first_token_seconds',
      help: 'Time from receiving a generation request to its first generated token.',
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.promptTokens = new Counter({
      name: 'snnlm:prompt_tokens_total',
      help: 'Prompt tokens fed.',
      registers,
    });
    this.predictedTokens = new Counter({
      name: 'snnlm:tokens_predicted_total',
      help: 'Tokens generated.',
      registers,
    });
    this.spikes = new Counter({
      name: 'snnlm:spikes_total',
      help: 'Spikes entering spiking layers (all time steps).',
      registers,
    });
    this.sops = new Counter({
      name: 'snnlm:synaptic_ops_total',
      help: 'Synaptic operations (accumulates and multiply-accumulates).',
      registers,
    });
    this.energy = new Counter({
      name: 'snnlm:energy_picojoules_total',
      help: 'Estimated energy of generation (45 nm convention), picojoules.',
      registers,
    });
    this.annEnergy = new Counter({
      name: 'snnlm:ann_energy_picojoules_total',
      help: 'Energy an ANN of the same shape would have needed for the same work, picojoules.',
      registers,
    });
    this.spikeRate = new Gauge({
      name: 'snnlm:spike_rate',
      help: 'Mean firing rate of the latest finished job (0 for a model without spikes).',
      registers,
    });
    new Gauge({
      name: 'snnlm:requests_processing',
      help: 'Generation jobs running.',
      registers,
      collect() {
        this.set(engine.running);
      },
    });
    new Gauge({
      name: 'snnlm:requests_deferred',
      help: 'Generation jobs waiting in the queue.',
      registers,
      collect() {
        this.set(engine.queued);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'snnlm_process_' });
  }

  /** Account a finished job. */
  job(r: JobResult): void {
    this.promptTokens.inc(r.prompt_tokens);
    this.predictedTokens.inc(r.completion_tokens);
    this.spikes.inc(r.energy.spikes);
    this.sops.inc(r.energy.sops);
    this.energy.inc(r.energy.energy_pj);
    this.annEnergy.inc(r.energy.ann_energy_pj);
    this.spikeRate.set(r.energy.firing_rate ?? 0);
  }
}
