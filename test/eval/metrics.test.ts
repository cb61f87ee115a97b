// Every metric against hand-computed values, edge cases included.
import { describe, expect, it } from 'vitest';
import {
  accItem,
  accNormItem,
  argmax,
  averageRanks,
  bootstrapStderr,
  byteLength,
  f1Score,
  matthewsCorrelation,
  mean,
  meanStderr,
  normalizeAnswer,
  pearson,
  spearman,
  squadExactMatch,
  squadF1,
  squadScores,
} from '../../eval/metrics.js';
import type { LabelPair } from '../../eval/metrics.js';
import { scoreGlue } from '../../eval/glue.js';

const pairs = (gold: number[], pred: number[]): LabelPair[] => gold.map((g, i) => [g, pred[i]]);

describe('acc and acc_norm', () => {
  it('acc takes the first maximum, as numpy argmax does', () => {
    expect(argmax([-2, -1, -1])).toBe(1);
    expect(accItem([-5, -3, -4], 1)).toBe(1);
    expect(accItem([-5, -3, -4], 2)).toBe(0);
  });

  it('acc_norm divides by the choice length, so a longer choice can win', () => {
    // ll/len: -4/2 = -2 vs -6/6 = -1 -> choice 1; plain acc picks choice 0.
    expect(accItem([-4, -6], 1)).toBe(0);
    expect(accNormItem([-4, -6], ['ab', 'abcdef'], 1)).toBe(1);
  });

  it('acc_norm counts characters; acc_bytes counts UTF-8 bytes', () => {
    // "é" is 1 character, 2 bytes. chars: -3/1 = -3 vs -5/2 = -2.5 -> 1; bytes: -1.5 vs -2.5 -> 0.
    expect(accNormItem([-3, -5], ['é', 'ab'], 1)).toBe(1);
    expect(accNormItem([-3, -5], ['é', 'ab'], 0, byteLength)).toBe(1);
    expect(() => accNormItem([-1], ['a', 'b'], 0)).toThrow(/2 choices but 1 log-likelihoods/);
  });

  it('mean stderr is the sample std over √n', () => {
    // [1,0,1,1]: mean .75, sample var (3·.0625 + .5625)/3 = .25, std .5, /√4 = .25.
    expect(mean([1, 0, 1, 1])).toBe(0.75);
    expect(meanStderr([1, 0, 1, 1])).toBeCloseTo(0.25, 12);
    expect(meanStderr([1])).toBeNaN();
  });
});

describe('F1 and Matthews correlation', () => {
  it('F1 of the positive class', () => {
    // tp 2, fp 1, fn 1 -> 4 / 6.
    expect(f1Score(pairs([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]))).toBeCloseTo(2 / 3, 12);
    expect(f1Score(pairs([1, 1], [1, 1]))).toBe(1);
  });

  it('F1 edge cases: no positives anywhere is 0, all-positive predictions', () => {
    expect(f1Score(pairs([0, 0, 0], [0, 0, 0]))).toBe(0);
    expect(f1Score(pairs([1, 1], [0, 0]))).toBe(0);
    // gold [1,0,0,0], all predicted 1: tp 1, fp 3 -> 2/(2+3).
    expect(f1Score(pairs([1, 0, 0, 0], [1, 1, 1, 1]))).toBeCloseTo(0.4, 12);
  });

  it('MCC matches the closed form, ±1 for perfect/inverted', () => {
    // tp 2, tn 1, fp 1, fn 1: (2·1 − 1·1)/√(3·3·2·2) = 1/6.
    expect(matthewsCorrelation(pairs([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]))).toBeCloseTo(1 / 6, 12);
    expect(matthewsCorrelation(pairs([1, 0, 1, 0], [1, 0, 1, 0]))).toBeCloseTo(1, 12);
    expect(matthewsCorrelation(pairs([1, 0, 1, 0], [0, 1, 0, 1]))).toBeCloseTo(-1, 12);
  });

  it('MCC is 0 when a margin is empty (constant predictions or labels)', () => {
    expect(matthewsCorrelation(pairs([1, 0, 1], [1, 1, 1]))).toBe(0);
    expect(matthewsCorrelation(pairs([0, 0, 0], [1, 0, 1]))).toBe(0);
  });
});

describe('Pearson and Spearman', () => {
  it('Pearson of a hand-worked example', () => {
    // dx = [-1,0,1], dy = [-7/3,-1/3,8/3]: sxy 5, sxx 2, syy 114/9 -> 5/√(228/9).
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(5 / Math.sqrt(228 / 9), 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it('average ranks share tied positions', () => {
    expect(averageRanks([10, 20, 20, 30])).toEqual([1, 2.5, 2.5, 4]);
    expect(averageRanks([3, 1, 3, 3])).toEqual([3, 1, 3, 3]);
  });

  it('Spearman with ties (scipy gives 0.9486832980505138)', () => {
    // ranks x [1,2.5,2.5,4], y [1,3,2,4]: sxy 4.5, sxx 4.5, syy 5 -> 4.5/√22.5.
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(spearman([1, 2, 3], [10, 100, 1000])).toBeCloseTo(1, 12);
  });
});

describe('bootstrap stderr', () => {
  it('is reproducible and close to the analytic stderr of a mean', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i % 2); // population std .5 -> stderr .05
    const a = bootstrapStderr(mean, xs, 2000);
    expect(bootstrapStderr(mean, xs, 2000)).toBe(a);
    expect(a).toBeGreaterThan(0.045);
    expect(a).toBeLessThan(0.055);
    expect(bootstrapStderr(mean, [1, 1, 1], 100)).toBe(0);
    expect(bootstrapStderr(mean, [1], 100)).toBeNaN();
  });
});

describe('SQuAD v1.1 exact match and F1', () => {
  it('normalises case, punctuation, articles and white space', () => {
    expect(normalizeAnswer('The  Quick, brown-fox!')).toBe('quick brownfox');
    expect(normalizeAnswer('An apple a day')).toBe('apple day');
    expect(normalizeAnswer('theory')).toBe('theory');
  });

  it('EM and token F1 of hand-worked pairs', () => {
    expect(squadExactMatch('the Denver Broncos', 'Denver Broncos.')).toBe(1);
    // p [cat, sat], r [cat, sat, down]: precision 1, recall 2/3 -> F1 .8.
    expect(squadF1('the cat sat', 'a cat sat down')).toBeCloseTo(0.8, 12);
    expect(squadF1('dog', 'cat')).toBe(0);
    // Repeated tokens count once per match: p [a1,a1], r [a1]: common 1, P .5, R 1 -> 2/3.
    expect(squadF1('x x', 'x')).toBeCloseTo(2 / 3, 12);
  });

  it('takes the best reference and reports percent', () => {
    const s = squadScores([
      { prediction: 'Denver Broncos', references: ['Broncos', 'Denver Broncos'] },
      { prediction: 'the cat sat', references: ['a cat sat down'] },
    ]);
    expect(s.exact_match).toBeCloseTo(50, 10);
    expect(s.f1).toBeCloseTo(90, 10);
  });
});

describe('GLUE scoring', () => {
  it('reports each task’s metrics with hand-checked values', () => {
    const mrpc = scoreGlue('mrpc', [1, 1, 0, 0, 1], [1, 0, 1, 0, 1], 200);
    expect(Object.keys(mrpc)).toEqual(['accuracy', 'f1']);
    expect(mrpc.accuracy.value).toBeCloseTo(0.6, 12);
    expect(mrpc.f1.value).toBeCloseTo(2 / 3, 12);
    expect(mrpc.f1.stderr).toBeGreaterThan(0);
    const cola = scoreGlue('cola', [1, 1, 0, 0, 1], [1, 0, 1, 0, 1], 200);
    expect(cola.matthews_correlation.value).toBeCloseTo(1 / 6, 12);
    const stsb = scoreGlue('stsb', [1, 3, 2, 4], [1, 2, 2, 3], 200);
    expect(stsb.spearmanr.value).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(() => scoreGlue('sst2', [1, 0], [1])).toThrow(/sst2: 1 predictions for 2 gold labels/);
  });
});
