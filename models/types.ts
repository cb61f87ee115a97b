// Shared shapes of models/: what every architecture exposes to the registry and
// to the folder loader/saver, and the spec the registry keeps per `model_type`.
import type { JsonObject } from '../src/io/index.js';
import type { Module } from '../src/layers/index.js';
import type { CausalLM } from '../src/generate/types.js';
import type { CheckpointTable } from './checkpoint.js';

/** A model built from a config.json: a Module that can say what it is. */
export type PretrainedModel = Omit<Module, 'getConfig'> & {
  /** `model_type` of its config.json. */
  readonly modelType: string;
  /** The config.json that rebuilds it (Hugging Face keys, `model_type` included). */
  getConfig(): JsonObject & { model_type: string };
};

/** What the registry knows about one `model_type`. */
export interface ModelSpec {
  /** One line for listings (`snnlm info`, error messages). */
  readonly description: string;
  /**
   * Build the model with fresh weights from a parsed config.json; invalid or
   * missing fields are ConfigErrors naming `source` and the field.
   */
  fromConfig(config: JsonObject, source: string, options?: { seed?: number }): PretrainedModel;
  /** The name table between its checkpoint and its parameters, for this config. */
  checkpoint(config: JsonObject): CheckpointTable;
  /**
   * Groups of our parameter names forming the task head of this config (e.g. BERT's
   * `pooler` and `classifier`) that a checkpoint saved with ANOTHER head may lack: when
   * `loadPretrained` is asked for a different architecture than the folder's, a group
   * absent from the checkpoint keeps its seeded initialisation (a partial group is an
   * error). Absent: every parameter must come from the checkpoint.
   */
  freshHeads?(config: JsonObject): readonly (readonly string[])[];
}

/** True when `model` can generate (implements the `CausalLM` contract). */
export function isCausalLM(model: unknown): model is CausalLM {
  const m = model as Partial<CausalLM> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.forward === 'function' &&
    typeof m.decode === 'function' &&
    typeof m.initState === 'function'
  );
}
