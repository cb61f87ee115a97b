// The run config: defaults, then the file, then dotted overrides; unknown keys name the
// nearest valid key; type mismatches name the key and the expected type.
import { describe, expect, it } from 'vitest';
import {
  canonicalKey,
  defaultRunConfig,
  nearestKey,
  resolveRunConfig,
  splitOverrides,
  warmupSteps,
} from '../../distill/config.js';

describe('run config', () => {
  it('applies the file, then the overrides in order', () => {
    const c = resolveRunConfig(
      { train: { lr: 1e-3, steps: 50 }, 'loss.hidden': 0.5, model: { time_steps: 4 } },
      [
        { key: 'train.lr', text: '3e-4' },
        { key: 'loss.layer_map', text: '1,3' },
        { key: 'model.neuron', text: 'asn' },
        { key: 'train.rule', text: 'sltt' },
        { key: 'train.warmup_steps', text: 'null' },
      ],
    );
    expect(c.train).toMatchObject({ lr: 3e-4, steps: 50, rule: 'sltt', warmup_steps: null });
    expect(c.loss).toMatchObject({ hidden: 0.5, layer_map: [1, 3] });
    expect(c.model).toEqual({ time_steps: 4, neuron: 'asn' });
    expect(c.data).toEqual(defaultRunConfig().data);
  });

  it('names the nearest key for an unknown one', () => {
    expect(() => resolveRunConfig({ train: { lrr: 1 } }, [], 'run.json')).toThrow(
      'run.json: unknown config key "train.lrr"; did you mean "train.lr"?',
    );
    expect(() => resolveRunConfig(null, [{ key: 'eval.evry', text: '5' }])).toThrow(
      /unknown config key "eval.evry"; did you mean "eval.every"\?/,
    );
    expect(nearestKey('stpes', ['train.steps', 'seed', 'data.seq_len'])).toBe('train.steps');
  });

  it('rejects a value of the wrong type, naming the key and the type', () => {
    expect(() => resolveRunConfig({ train: { steps: '100' } }, [], 'run.json')).toThrow(
      'run.json: "train.steps" must be an integer >= 1, got "100"',
    );
    expect(() => resolveRunConfig(null, [{ key: 'train.lr', text: 'fast' }])).toThrow(
      /"train.lr" must be a number >= 0, got "fast"/,
    );
    expect(() => resolveRunConfig(null, [{ key: 'train.rule', text: 'rtrl' }])).toThrow(
      /"train.rule" must be one of bptt, sltt, sltt-k, ottt/,
    );
    expect(() => resolveRunConfig(null, [{ key: 'loss.temperature', text: '0' }])).toThrow(
      /"loss.temperature" must be a number > 0/,
    );
  });

  it('takes a unique last segment as a short flag and refuses an ambiguous one', () => {
    expect(canonicalKey('lr')).toBe('train.lr');
    expect(resolveRunConfig(null, [{ key: 'steps', text: '7' }]).train.steps).toBe(7);
    expect(() => canonicalKey('every')).toThrow(/--every is ambiguous: write one of --eval.every/);
  });

  it('splits the command flags from the overrides', () => {
    const { rest, overrides } = splitOverrides(
      ['--teacher', 'T', '--train.lr=3e-4', '--model.time_steps', '4', '--overwrite'],
      ['teacher', 'overwrite'],
    );
    expect(rest).toEqual(['--teacher', 'T', '--overwrite']);
    expect(overrides).toEqual([
      { key: 'train.lr', text: '3e-4' },
      { key: 'model.time_steps', text: '4' },
    ]);
    expect(() => splitOverrides(['--train.lr'], [])).toThrow(/--train.lr needs a value/);
  });

  it('warms up for 1 % of the steps unless told', () => {
    const c = defaultRunConfig();
    c.train.steps = 1000;
    expect(warmupSteps(c)).toBe(10);
    c.train.warmup_steps = 3;
    expect(warmupSteps(c)).toBe(3);
  });
});
