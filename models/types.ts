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
  fromConfig(config: JsonObject, source: string): PretrainedModel;
  /** The name table between its checkpoint and its parameters, for this config. */
  checkpoint(config: JsonObject): CheckpointTable;
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
