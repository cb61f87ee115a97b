// Helpers for the generation tests: a small in-memory sentencepiece-style
// tokenizer (built with our own tokenizer.json converter, so no shared file is
// needed) and a scripted CausalLM whose logits are a function of the position
// and the previous token, with a state that holds a real tensor (leak checks).
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import type { CausalLM, DecodeState } from '../../src/generate/index.js';
import { Tokenizer, llamaTokenizerFiles } from '../../src/tokenizer/index.js';
import type { VocabPiece } from '../../src/tokenizer/index.js';

/** Normal pieces of the test vocabulary, after `<unk>`, `<s>`, `</s>` and the 256 byte pieces. */
export const WORDS = [
  '▁',
  'a',
  'b',
  'c',
  '.',
  '!',
  '▁a',
  '▁b',
  '▁c',
  'ab',
  'bc',
  '▁ab',
  '▁STOP',
  'S',
  'T',
  'O',
  'P',
  '▁S',
];

/** A tokenizer over `WORDS` with byte fallback (ids 3..258), BOS 1, EOS 2. */
export function testTokenizer(): Tokenizer {
  const vocab: VocabPiece[] = [
    { piece: '<unk>', score: 0, kind: 'unknown' },
    { piece: '<s>', score: 0, kind: 'control' },
    { piece: '</s>', score: 0, kind: 'control' },
    ...Array.from({ length: 256 }, (_, b) => ({
      piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
      score: 0,
      kind: 'byte' as const,
    })),
    ...WORDS.map((piece, i) => ({ piece, score: -i, kind: 'normal' as const })),
  ];
  const files = llamaTokenizerFiles(vocab, { modelMaxLength: 64 });
  return new Tokenizer(
    JSON.parse(files['tokenizer.json']),
    JSON.parse(files['tokenizer_config.json']),
  );
}

/** Id of a piece of the test vocabulary. */
export const idOf = (piece: string): number => 259 + WORDS.indexOf(piece);

/** Logits of the position `pos` (0-based) given the token fed there. */
export type LogitsFn = (pos: number, token: number) => ArrayLike<number>;

class ScriptedState implements DecodeState {
  length = 0;
  /** Stands in for a KV cache: replaced (old one disposed) at every decode. */
  cache: Tensor = tf.zeros([1, 0]);
  disposed = false;
  dispose(): void {
    this.cache.dispose();
    this.disposed = true;
  }
}

/** A CausalLM with scripted logits; records the length of every decode call. */
export class ScriptedLM implements CausalLM {
  readonly modelType = 'scripted';
  readonly calls: number[] = [];
  /** Throw on the decode call of this index (0 = prefill), to test clean-up. */
  failAt = -1;
  states: ScriptedState[] = [];

  constructor(
    readonly vocabSize: number,
    readonly maxPositions: number,
    private readonly logitsFn: LogitsFn,
  ) {}

  private rows(tokens: number[], start: number): Tensor {
    const data = new Float32Array(tokens.length * this.vocabSize);
    tokens.forEach((t, i) => data.set(this.logitsFn(start + i, t), i * this.vocabSize));
    return tf.tensor3d(data, [1, tokens.length, this.vocabSize]);
  }

  forward(ids: Tensor): { logits: Tensor } {
    return { logits: this.rows(Array.from(ids.dataSync()), 0) };
  }

  initState(): DecodeState {
    const s = new ScriptedState();
    this.states.push(s);
    return s;
  }

  decode(ids: Tensor, state: DecodeState): Tensor {
    const s = state as ScriptedState;
    if (this.calls.length === this.failAt) throw new Error('scripted failure');
    this.calls.push(ids.shape[1]!);
    const tokens = Array.from(ids.dataSync());
    const logits = this.rows(tokens, s.length);
    const next = tf.tidy(() => tf.concat([s.cache, tf.zeros([1, tokens.length])], 1));
    s.cache.dispose();
    s.cache = next;
    s.length += tokens.length;
    return logits;
  }
}

/** Logits with one large peak at `ids[pos]` (cycling), small deterministic noise elsewhere. */
export function scripted(vocabSize: number, script: number[], offset = 0): LogitsFn {
  return (pos) => {
    const row = new Float32Array(vocabSize);
    for (let i = 0; i < vocabSize; i++) row[i] = ((i * 7919 + pos * 104729) % 1000) / 1000;
    row[script[(pos - offset + script.length * 1000) % script.length]] = 20;
    return row;
  };
}

/** Flat logits with deterministic noise: sampling spreads over many tokens. */
export function noisy(vocabSize: number): LogitsFn {
  return (pos, token) => {
    const row = new Float32Array(vocabSize);
    for (let i = 0; i < vocabSize; i++) row[i] = Math.sin(i * 12.9898 + pos * 78.233 + token) * 0.5;
    return row;
  };
}
