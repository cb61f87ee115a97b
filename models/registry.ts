// The registry: `model_type` (config.json) -> how to build that architecture and
// how its checkpoint names map to ours. A table, not an if/else chain
// (transformers.js `models/registry.js`); adding an architecture is one row.
import { ConfigError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import { BERT_SPEC } from './bert.js';
import { BISPIKCLM_SPEC } from './bispikclm.js';
import { GPT2_SPEC } from './gpt2.js';
import { LLAMA_SPEC } from './llama.js';
import type { ModelSpec, PretrainedModel } from './types.js';
import { WD_SPIKINGFORMER_SPEC } from './wd-spikingformer.js';
import { WE_SPIKINGFORMER_SPEC } from './we-spikingformer.js';

/** Every architecture models/ can build, keyed by `model_type`. */
export const MODEL_TYPES: Readonly<Record<string, ModelSpec>> = Object.freeze({
  bert: BERT_SPEC,
  bispikclm: BISPIKCLM_SPEC,
  gpt2: GPT2_SPEC,
  llama: LLAMA_SPEC,
  'wd-spikingformer': WD_SPIKINGFORMER_SPEC,
  'we-spikingformer': WE_SPIKINGFORMER_SPEC,
});

/** The known `model_type` values, sorted. */
export function knownModelTypes(): string[] {
  return Object.keys(MODEL_TYPES).sort();
}

/**
 * The spec of `modelType`; a ConfigError naming `source` and listing the known
 * types when it is missing or unknown.
 */
export function modelSpec(modelType: unknown, source = 'config.json'): ModelSpec {
  if (typeof modelType !== 'string' || modelType.length === 0) {
    throw new ConfigError(
      `${source}: missing required field "model_type" (one of ${knownModelTypes().join(', ')})`,
    );
  }
  const spec = Object.hasOwn(MODEL_TYPES, modelType) ? MODEL_TYPES[modelType] : undefined;
  if (!spec) {
    throw new ConfigError(
      `${source}: unknown model_type ${JSON.stringify(modelType)}; known: ${knownModelTypes().join(', ')}`,
    );
  }
  return spec;
}

/**
 * Build a model with fresh weights from a parsed config.json (`source` names the
 * file in errors).
 */
export function buildModel(config: JsonObject, source = 'config.json'): PretrainedModel {
  return modelSpec(config.model_type, source).fromConfig(config, source);
}
