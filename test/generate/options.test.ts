// Generation options: defaults, checks, the defaults a generation_config.json
// implies (transformers semantics) and how request options override them.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_TOKENS,
  generationDefaults,
  mergeOptions,
  resolveGenerateOptions,
} from '../../src/generate/index.js';

describe('generation options', () => {
  it('fills in OpenAI defaults and the tokenizer EOS', () => {
    const o = resolveGenerateOptions({}, 2);
    expect(o).toMatchObject({ max_tokens: DEFAULT_MAX_TOKENS, temperature: 1, top_k: 0, top_p: 1 });
    expect(o).toMatchObject({ stop: [], eos_token_id: [2], repetition_penalty: 1 });
    expect(Number.isSafeInteger(o.seed)).toBe(true);
    expect(resolveGenerateOptions({ seed: -1 }, null).eos_token_id).toEqual([]);
    expect(resolveGenerateOptions({ seed: 7, eos_token_id: 5, stop: 'x' }, 2)).toMatchObject({
      seed: 7,
      eos_token_id: [5],
      stop: ['x'],
    });
  });

  it('reads generation_config.json the way transformers does', () => {
    expect(generationDefaults(null)).toEqual({});
    expect(generationDefaults({ bos_token_id: 1, eos_token_id: [1, 2], max_length: 512 })).toEqual({
      temperature: 0,
      eos_token_id: [1, 2],
    });
    expect(
      generationDefaults({
        do_sample: true,
        top_p: 0.9,
        max_new_tokens: 30,
        repetition_penalty: 1.1,
      }),
    ).toEqual({ temperature: 1, top_k: 50, top_p: 0.9, max_tokens: 30, repetition_penalty: 1.1 });
  });

  it('lets set request fields override the defaults, and only those', () => {
    const merged = mergeOptions(
      { temperature: 0, max_tokens: 256, eos_token_id: [1, 2] },
      { temperature: 0.7, max_tokens: undefined, seed: 3 },
    );
    expect(merged).toEqual({ temperature: 0.7, max_tokens: 256, eos_token_id: [1, 2], seed: 3 });
  });
});
