// Estimated inference energy per token of a causal LM (methods-language.md 6.1 through
// src/energy): one forward pass over a batch of real sequences with the energy counter
// active, divided by the number of tokens. Spiking students count ACs at their measured
// firing rates; ANN teachers count MACs. Used to report a student's energy against its
// teacher's (the `snn_ann_ratio` of the paper's "fraction of the computational cost").
import { EnergyCounter } from '../src/energy/index.js';
import { tf } from '../src/tf.js';
import type { CausalLM } from '../src/generate/index.js';
import type { Module } from '../src/layers/index.js';
import { readBatch } from '../datasets/index.js';
import type { SequenceSource } from '../datasets/index.js';

/** Energy per token of a model, from one counted forward pass. */
export interface TokenEnergy {
  /** Estimated energy per token, picojoules. */
  energy_pj_per_token: number;
  /** The ANN-equivalent energy per token (E_MAC · FLOPs), picojoules. */
  ann_energy_pj_per_token: number;
  /** Mean firing rate of spiking inputs (null for an ANN). */
  firing_rate: number | null;
  tokens: number;
}

/** Count one forward pass (eval mode) over the first `rows` sequences of `source`. */
export async function energyPerToken(
  model: CausalLM & Pick<Module, 'eval' | 'train' | 'training'>,
  source: SequenceSource,
  rows = 4,
): Promise<TokenEnergy> {
  const n = Math.min(rows, source.numSequences);
  const batch = await readBatch(
    source,
    Uint32Array.from({ length: n }, (_, i) => i),
  );
  const ids = tf.tensor2d(batch.inputs, batch.shape, 'int32'); // [B, N]
  const counter = new EnergyCounter();
  const wasTraining = model.training;
  model.eval();
  try {
    const tokens = batch.shape[0] * batch.shape[1];
    const out = counter.count(tokens, () => model.forward(ids));
    tf.dispose([out.logits, ...(out.hiddenStates ?? []), ...(out.attentions ?? [])]);
    const t = counter.report().totals;
    return {
      energy_pj_per_token: t.energy_pj,
      ann_energy_pj_per_token: t.ann_energy_pj,
      firing_rate: t.firing_rate,
      tokens,
    };
  } finally {
    ids.dispose();
    model.train(wasTraining);
  }
}
