// The runner with a hand-built bigram LM whose log-likelihoods are known in closed form:
// it must pick the right answers, get acc / acc_norm and their stderr right, score
// WinoGrande partially, follow the harness's tokenisation rules, and give the same
// scores on every scoring path (also for a tiny LLaMA with a KV cache and a tiny
// BiSpikCLM student).
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import type { CausalLM, DecodeState } from '../../src/generate/types.js';
import { buildModel, studentPreset } from '../../models/index.js';
import {
  documentRequests,
  hellaswagPreprocess,
  capitalize,
  CHOICE_TASKS,
} from '../../eval/tasks/index.js';
import type { MultipleChoiceTask } from '../../eval/tasks/index.js';
import { encodePair, truncateRequest } from '../../eval/requests.js';
import type { EvalTokenizer } from '../../eval/requests.js';
import { scoreChoiceDocs } from '../../eval/runner.js';
import { scoreRequests } from '../../eval/score.js';
import { perplexity, rollingWindows } from '../../eval/perplexity.js';
import { expectNoLeak, rng, setupBackend } from '../helpers.js';

// Vocabulary: id 0 is BOS, then one id per character; MERGED adds a " a" piece.
const CHARS = [' ', 'a', 'b', 'c', 'd', 'z', ':'];
const V = CHARS.length + 1;
const id = (c: string) => CHARS.indexOf(c) + 1;

function charTokenizer(pieces: string[] = CHARS): EvalTokenizer {
  return {
    prefixId: 0,
    encode: (text) => {
      const out: number[] = [];
      for (let i = 0; i < text.length;) {
        const p = pieces
          .filter((s) => text.startsWith(s, i))
          .sort((x, y) => y.length - x.length)[0];
        if (!p) throw new Error(`no piece for ${text.slice(i)}`);
        out.push(pieces.indexOf(p) + 1);
        i += p.length;
      }
      return out;
    },
  };
}

/** Logits depend only on the previous token: row `prev` of a fixed table. */
class BigramLM implements CausalLM {
  readonly modelType = 'bigram';
  readonly vocabSize = V;
  constructor(
    readonly table: Tensor,
    readonly maxPositions = 64,
  ) {}
  forward(ids: Tensor) {
    return { logits: tf.gather(this.table, ids) }; // [B, N, V]
  }
  initState(): DecodeState {
    return { length: 0, dispose: () => {} };
  }
  decode(ids: Tensor): Tensor {
    return tf.gather(this.table, ids);
  }
}

// Uniform next-token distribution (1/8) except: after ' ', 'z' has 3x weight (P = .3,
// others .1); after 'c', ' ' has 3x weight (P(' '|'c') = .3).
function table(): Tensor {
  const w = new Float32Array(V * V);
  w[id(' ') * V + id('z')] = Math.log(3);
  w[id('c') * V + id(' ')] = Math.log(3);
  return tf.tensor2d(w, [V, V]);
}

interface Doc {
  text: string;
  choices: string[];
  gold: number;
}
const toyTask: MultipleChoiceTask<Doc> = {
  name: 'toy',
  version: 1,
  dataset: 'in memory',
  metrics: ['acc', 'acc_norm'],
  template: '{{text}}',
  load: () => Promise.reject(new Error('not used')),
  text: (d) => d.text,
  choices: (d) => d.choices,
  gold: (d) => d.gold,
};

const L8 = Math.log(1 / 8);
const L1 = Math.log(0.1);
const L3 = Math.log(0.3);

let model: BigramLM;
beforeAll(async () => {
  await setupBackend();
  model = new BigramLM(table());
});

describe('harness tokenisation rules', () => {
  it('moves trailing context white space onto the continuation and splits the whole encoding', () => {
    const tok = charTokenizer([...CHARS, ' a']);
    // Alone, ": " would encode to [':', ' ']; the rule scores [' a', 'b'] after [':'].
    expect(encodePair(tok, { context: ': ', continuation: 'ab' })).toEqual({
      contextIds: [id(':')],
      continuationIds: [8, id('b')],
    });
    expect(encodePair(tok, { context: '', continuation: 'ab' })).toEqual({
      contextIds: [0],
      continuationIds: [id('a'), id('b')],
    });
  });

  it('truncates from the left to maxPositions + 1 tokens and drops the last as input', () => {
    expect(truncateRequest({ contextIds: [1, 2, 3, 4], continuationIds: [5, 6] }, 3)).toEqual({
      input: [3, 4, 5],
      targets: [5, 6],
    });
    expect(() => truncateRequest({ contextIds: [1], continuationIds: [5, 6, 7, 8] }, 3)).toThrow(
      /continuation of 4 tokens does not fit the model context of 3/,
    );
  });

  it('builds one request per choice with the " " target delimiter', () => {
    expect(documentRequests(toyTask, { text: 'Q:', choices: ['x', 'y'], gold: 0 })).toEqual([
      { context: 'Q:', continuation: ' x' },
      { context: 'Q:', continuation: ' y' },
    ]);
  });
});

describe('runner on a model with known log-likelihoods', () => {
  const docs: Doc[] = [
    { text: ':', choices: ['ab', 'abcd'], gold: 1 },
    { text: ':', choices: ['zd', 'a'], gold: 0 },
    { text: 'dd:', choices: ['z', 'b'], gold: 0 },
  ];

  it('gets every log-likelihood, acc, acc_norm and stderr right', async () => {
    await expectNoLeak(() => {
      const run = scoreChoiceDocs(model, charTokenizer(), toyTask, docs, { batchSize: 2 });
      const expected = [
        [L8 + L1 + L8, L8 + L1 + 2 * L8 + L1], // ' '|':', 'a'|' ', 1/8 each, 'd'|'c' = .1
        [L8 + L3 + L8, L8 + L1],
        [L8 + L3, L8 + L1],
      ];
      run.samples.forEach((s, i) => {
        s.loglikelihoods.forEach((ll, j) => expect(ll).toBeCloseTo(expected[i][j], 5));
      });
      // doc 0: shorter wins acc (wrong), longer wins acc_norm (right); doc 1 likewise; doc 2 both right.
      expect(run.samples.map((s) => s.acc)).toEqual([0, 0, 1]);
      expect(run.samples.map((s) => s.acc_norm)).toEqual([1, 1, 1]);
      expect(run.metrics.acc!.value).toBeCloseTo(1 / 3, 12);
      expect(run.metrics.acc!.stderr).toBeCloseTo(Math.sqrt(1 / 3) / Math.sqrt(3), 12);
      expect(run.metrics.acc_norm!.value).toBe(1);
      expect(run.metrics.acc_norm!.stderr).toBe(0);
      // ' ' after ':' ties with every token and argmax takes the first (BOS): not greedy.
      expect(run.samples[2].is_greedy).toEqual([false, false]);
      expect(run.path).toBe('batched');
    });
  });

  it('scores WinoGrande partially: the option in the context, the rest shared', () => {
    const wino = CHOICE_TASKS.winogrande as MultipleChoiceTask<{
      sentence: string;
      option1: string;
      option2: string;
      label: number;
    }>;
    const doc = { sentence: 'dd _ ab', option1: 'z', option2: 'c', label: 1 };
    expect(documentRequests(wino, doc)).toEqual([
      { context: 'dd z', continuation: ' ab' },
      { context: 'dd c', continuation: ' ab' },
    ]);
    const run = scoreChoiceDocs(model, charTokenizer(), wino, [doc]);
    // Only the continuation is scored: ' '|option, 'a'|' ', 'b'|'a'.
    expect(run.samples[0].loglikelihoods[0]).toBeCloseTo(L8 + L1 + L8, 5);
    expect(run.samples[0].loglikelihoods[1]).toBeCloseTo(L3 + L1 + L8, 5);
    expect(run.samples[0].acc).toBe(1);
    expect(run.metrics.acc_norm).toBeUndefined();
  });

  it('counts energy per document when asked', () => {
    const run = scoreChoiceDocs(model, charTokenizer(), toyTask, docs, { energy: true });
    expect(run.energy).not.toBeNull();
    expect(run.energy!.examples).toBe(3);
  });
});

describe('task definitions', () => {
  it('HellaSwag clean-up and capitalisation follow the harness', () => {
    expect(hellaswagPreprocess(' Roof [title] A man [step] climbs  up. ')).toBe(
      'Roof. A man climbs up.',
    );
    expect(capitalize('the LADY')).toBe('The lady');
    const doc = {
      query: '',
      activityLabel: 'Roof',
      ctxA: 'A man climbs.',
      ctxB: 'he [step] rests',
      endings: [],
      label: 0,
    };
    expect(CHOICE_TASKS.hellaswag.text(doc as never)).toBe('Roof: A man climbs. He rests');
  });

  it('prompts of BoolQ, PIQA, ARC and OpenBookQA', () => {
    const t = CHOICE_TASKS;
    expect(t.boolq.text({ passage: 'P', question: 'is it', title: '', label: 1 } as never)).toBe(
      'P\nQuestion: is it?\nAnswer:',
    );
    expect(t.piqa.text({ goal: 'G' } as never)).toBe('Question: G\nAnswer:');
    expect(t.arc_easy.text({ question: 'S' } as never)).toBe('Question: S\nAnswer:');
    expect(t.openbookqa.text({ question: 'S' } as never)).toBe('S');
    expect(t.boolq.choices({} as never)).toEqual(['no', 'yes']);
  });
});

describe('scoring paths agree', () => {
  function randomRequests(n: number, seed: number) {
    const r = rng(seed);
    const rand = (k: number) => Array.from({ length: k }, () => 1 + Math.floor(r() * 60));
    const out = [];
    for (let q = 0; q < n; q++) {
      const ctx = rand(2 + Math.floor(r() * 6));
      for (let c = 0; c < 3; c++)
        out.push({ contextIds: ctx, continuationIds: rand(1 + Math.floor(r() * 4)) });
    }
    return out;
  }

  it('prefix sharing, batching and single requests give the same scores on a tiny LLaMA', async () => {
    const llama = buildModel({
      model_type: 'llama',
      vocab_size: 64,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      max_position_embeddings: 16,
    }) as unknown as CausalLM & { dispose(): void };
    const reqs = randomRequests(4, 7);
    await expectNoLeak(() => {
      const single = scoreRequests(llama, reqs, { path: 'single' });
      const batched = scoreRequests(llama, reqs, { path: 'batched', batchSize: 5 });
      const prefix = scoreRequests(llama, reqs, { path: 'prefix', batchSize: 2 });
      for (let i = 0; i < reqs.length; i++) {
        expect(batched[i].ll).toBeCloseTo(single[i].ll, 4);
        expect(prefix[i].ll).toBeCloseTo(single[i].ll, 4);
        expect(prefix[i].greedy).toBe(single[i].greedy);
      }
      // Fed positions: single = every request's input; prefix = each context once plus
      // K rows of (longest continuation - 1) per question.
      const s1 = { fedTokens: 0 };
      const s2 = { fedTokens: 0 };
      scoreRequests(llama, reqs, { path: 'single', stats: s1 });
      scoreRequests(llama, reqs, { path: 'prefix', batchSize: 3, stats: s2 });
      expect(s1.fedTokens).toBe(
        reqs.reduce((n, r) => n + r.contextIds.length + r.continuationIds.length - 1, 0),
      );
      let want = 0;
      for (let q = 0; q < reqs.length; q += 3) {
        const group = reqs.slice(q, q + 3);
        want += group[0].contextIds.length;
        const longest = Math.max(...group.map((r) => r.continuationIds.length));
        if (longest > 1) want += 3 * (longest - 1);
      }
      expect(s2.fedTokens).toBe(want);
      // Past the context (16): the prefix path falls back, truncation keeps the scores finite.
      const long = [
        { contextIds: Array.from({ length: 20 }, (_, i) => i + 1), continuationIds: [3, 4] },
      ];
      const a = scoreRequests(llama, long, { path: 'prefix' })[0].ll;
      expect(a).toBeCloseTo(scoreRequests(llama, long, { path: 'single' })[0].ll, 4);
    });
    llama.dispose();
  });

  it('batched padding does not change a BiSpikCLM student’s scores', () => {
    const student = buildModel(studentPreset('bispikclm', 'tiny')) as unknown as CausalLM & {
      dispose(): void;
    };
    const reqs = randomRequests(2, 3);
    const single = scoreRequests(student, reqs, { path: 'single' });
    const batched = scoreRequests(student, reqs, { batchSize: 6 });
    for (let i = 0; i < reqs.length; i++) expect(batched[i].ll).toBeCloseTo(single[i].ll, 4);
    student.dispose();
  });
});

describe('perplexity', () => {
  it('rolling windows predict every token once, as the harness cuts them', () => {
    const toks = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(rollingWindows(toks, 0, 4)).toEqual([
      { contextIds: [0], continuationIds: [1, 2, 3, 4] },
      { contextIds: [4], continuationIds: [5, 6, 7, 8] },
      { contextIds: [6, 7, 8], continuationIds: [9, 10] },
    ]);
    expect(rollingWindows([], 0, 4)).toEqual([]);
  });

  it('token, word and byte perplexity of a hand-worked text', () => {
    const small = new BigramLM(model.table, 2);
    // 'ab ab' with W = 2: a|BOS, b|a, then ' '|b, a|' ' (.1), then b|a.
    const run = perplexity(small, charTokenizer(), 'ab ab');
    const ll = 4 * L8 + L1;
    expect(run.loglikelihood).toBeCloseTo(ll, 5);
    expect(run.tokens).toBe(5);
    expect(run.windows).toBe(3);
    expect(run.token_perplexity).toBeCloseTo(Math.exp(-ll / 5), 4);
    expect(run.word_perplexity).toBeCloseTo(Math.exp(-ll / 2), 3);
    expect(run.byte_perplexity).toBeCloseTo(Math.exp(-ll / 5), 4);
    expect(run.bits_per_byte).toBeCloseTo(-ll / 5 / Math.LN2, 5);
    expect(run.rule).toMatch(/every token predicted once/);
  });
});

describe('zero-shot GLUE tasks', () => {
  it('score MRPC F1 and CoLA MCC over argmax predictions, with harness prompts', () => {
    const t = CHOICE_TASKS;
    expect(t.mrpc.text({ sentence1: 'A', sentence2: 'B', label: 1 } as never)).toBe(
      'Sentence 1: A\nSentence 2: B\nQuestion: Do both sentences mean the same thing?\nAnswer:',
    );
    expect(t.rte.choices({} as never)).toEqual(['True', 'False']);
    expect(t.qnli.choices({} as never)).toEqual(['yes', 'no']);
    // Bigram model: after ':' then ' ', 'z' (P .3) beats 'a'/'b' (P .1), so a choice
    // starting with 'z' is always predicted; gold labels give tp 1, fp 1, fn 0, tn 0.
    const toyGlue: MultipleChoiceTask<Doc> = { ...toyTask, metrics: ['acc', 'f1', 'mcc'] };
    const docs = [
      { text: ':', choices: ['a', 'z'], gold: 1 },
      { text: ':', choices: ['a', 'z'], gold: 0 },
    ];
    const run = scoreChoiceDocs(model, charTokenizer(), toyGlue, docs, { bootstrapIters: 50 });
    expect(run.metrics.acc!.value).toBe(0.5);
    expect(run.metrics.f1!.value).toBeCloseTo(2 / 3, 12); // 2·1 / (2·1 + 1 + 0)
    expect(run.metrics.mcc!.value).toBe(0); // no negative predictions: empty margin
  });
});
