// What a server thread reads besides the model: tokenizer_config.json (for the
// chat template), and the description of a loaded model for /v1/models and /props.
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { PretrainedModel } from '../models/index.js';
import { FormatError } from '../src/errors.js';
import type { CausalLM } from '../src/generate/index.js';
import type { ModelInfo } from './types.js';

/** The model id clients see: the folder's name. */
export function modelId(dir: string): string {
  return basename(resolve(dir));
}

/** What /v1/models says about a loaded model. */
export function describeModel(model: PretrainedModel & CausalLM, dir: string): ModelInfo {
  const config = model.getConfig();
  const t = config.time_steps;
  return {
    id: modelId(dir),
    model_type: model.modelType,
    context_length: model.maxPositions,
    vocab_size: model.vocabSize,
    time_steps: typeof t === 'number' ? t : null,
    n_params: model.namedParameters().reduce((n, [, v]) => n + v.size, 0),
  };
}

/** `tokenizer_config.json` of the folder as an object ({} when absent). */
export async function readTokenizerConfig(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, 'tokenizer_config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch (e) {
    throw new FormatError(file, `not valid JSON: ${(e as Error).message}`);
  }
  throw new FormatError(file, 'must hold a JSON object');
}
