// config.json neuron keys (snake_case, SpikingJelly names) <-> typed params:
// defaults, every family, round trip, and bad configs rejected naming the field.
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { neuronSpecToConfig, parseNeuronConfig } from '../../src/neurons/index.js';
import { setupBackend } from '../helpers.js';

describe('neuron config', () => {
  beforeAll(setupBackend);

  it('fills SpikingJelly defaults for a bare LIF', () => {
    const s = parseNeuronConfig({ neuron: 'lif' });
    if (s.neuron !== 'lif') throw new Error('expected lif');
    expect(s.timeSteps).toBe(4);
    expect(s.params.charge).toEqual({ form: 'decay_input', tau: 2 });
    expect(s.params.vThreshold).toBe(1);
    expect(s.params.vReset).toBe(0);
    expect([s.params.surrogate.name, s.params.surrogate.alpha]).toEqual(['sigmoid', 4]);
    expect([s.params.detachReset, s.params.detachState, s.params.smooth]).toEqual([
      false,
      false,
      false,
    ]);
    expect([s.trainableThreshold, s.fused]).toEqual(['none', 'auto']);
  });

  it('maps every LIF key to its param', () => {
    const s = parseNeuronConfig({
      neuron: 'lif',
      time_steps: 8,
      tau: 1.1,
      decay_input: false,
      v_threshold: 0.5,
      v_reset: null,
      u_rest: -0.5,
      surrogate: 'triangle',
      surrogate_alpha: 1.5,
      spiking: false,
      detach_reset: true,
      detach_state: true,
      trainable_threshold: 'channel',
      fused: false,
    });
    if (s.neuron !== 'lif') throw new Error('expected lif');
    expect(s.timeSteps).toBe(8);
    expect(s.params.charge).toEqual({ form: 'no_decay_input', tau: 1.1 });
    expect([s.params.vThreshold, s.params.vReset, s.params.resetAmount]).toEqual([0.5, null, 1]);
    expect([s.params.surrogate.name, s.params.surrogate.alpha]).toEqual(['triangle', 1.5]);
    expect([s.params.smooth, s.params.detachReset, s.params.detachState]).toEqual([
      true,
      true,
      true,
    ]);
    expect([s.trainableThreshold, s.fused]).toEqual(['channel', false]);
  });

  it('reads the lambda form from decay (and input_gain), and IF without charge keys', () => {
    const l = parseNeuronConfig({ neuron: 'lif', decay: 0.9, input_gain: 0.1 });
    if (l.neuron !== 'lif') throw new Error('expected lif');
    expect(l.params.charge).toEqual({ form: 'lambda', lambda: 0.9, gain: 0.1 });
    const i = parseNeuronConfig({ neuron: 'if', v_reset: null, trainable_threshold: true });
    if (i.neuron !== 'if') throw new Error('expected if');
    expect(i.params.charge).toEqual({ form: 'if' });
    expect(i.trainableThreshold).toBe('layer');
  });

  it('parses the integer and ternary families with their [P] defaults', () => {
    expect(parseNeuronConfig({ neuron: 'ilif' })).toEqual({
      neuron: 'ilif',
      timeSteps: 1,
      params: { decay: 0.25, maxCount: 4 },
    });
    const asn = parseNeuronConfig({ neuron: 'asn', max_count: 8, theta_grad_scale: 0.5 });
    expect(asn).toMatchObject({
      timeSteps: 1,
      params: { maxCount: 8, lambdaInit: 0.25, gradScale: 0.5 },
    });
    const nasn = parseNeuronConfig({ neuron: 'nasn', norm: 'rms', time_steps: 4 });
    expect(nasn).toMatchObject({ timeSteps: 4, norm: { kind: 'rms', eps: 1e-5, momentum: 0.1 } });
    const t = parseNeuronConfig({ neuron: 'ternary' });
    expect(t).toMatchObject({ params: { vThreshold: 0.5, uRest: -0.5, decay: 1 } });
  });

  it('round-trips through neuronSpecToConfig for every family', () => {
    for (const cfg of [
      { neuron: 'lif', tau: 3, decay_input: false, v_reset: null, u_rest: -1, surrogate: 'atan' },
      { neuron: 'lif', decay: 0.5, input_gain: 1, v_reset: -0.2, detach_state: true },
      { neuron: 'if', v_threshold: 0.7, spiking: false, fused: true },
      { neuron: 'ilif', decay: 0.5, max_count: 2 },
      { neuron: 'asn', adaptive_gamma: 0.5, rate_penalty: 0.01 },
      { neuron: 'nasn', norm: 'batch', norm_momentum: 0.05 },
      { neuron: 'ternary', v_threshold: 0.25, surrogate: 'rectangular' },
    ]) {
      const once = neuronSpecToConfig(parseNeuronConfig(cfg));
      expect(once).toMatchObject(cfg);
      expect(neuronSpecToConfig(parseNeuronConfig(once))).toEqual(once);
    }
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      'unknown neuron',
      { neuron: 'plif' },
      /neuron must be one of if, lif, ilif, asn, nasn, ternary, got "plif"/,
    ],
    [
      'unknown surrogate',
      { surrogate: 'erf' },
      /surrogate must be one of sigmoid, atan, rectangular, triangle, got "erf"/,
    ],
    ['tau <= 1', { tau: 1 }, /tau must be > 1 for the decay_input charge, got 1/],
    [
      'tau <= 1 without decay input',
      { tau: 0.9, decay_input: false },
      /tau must be > 1 for the no_decay_input charge, got 0.9/,
    ],
    ['tau as a string', { tau: '2' }, /tau must be a finite number, got "2"/],
    ['decay_input not boolean', { decay_input: 1 }, /decay_input must be true or false, got 1/],
    [
      'threshold not above reset',
      { v_threshold: -1 },
      /v_threshold must be > v_reset, got v_threshold -1 and v_reset 0/,
    ],
    [
      'misspelt key',
      { v_treshold: 1 },
      /unknown key v_treshold for neuron lif; allowed: .*v_threshold/,
    ],
    ['tau with decay', { tau: 2, decay: 0.5 }, /either decay or tau/],
    ['input_gain without decay', { input_gain: 0.5 }, /input_gain needs decay/],
    ['decay out of range', { decay: 1.5 }, /lambda \(decay\) must be in \[0, 1\], got 1.5/],
    ['u_rest with hard reset', { u_rest: -1 }, /u_rest .* needs the soft reset .*got v_reset 0/],
    ['time_steps 0', { time_steps: 0 }, /time_steps must be a positive integer, got 0/],
    ['surrogate_alpha <= 0', { surrogate_alpha: -1 }, /surrogate_alpha must be > 0, got -1/],
    [
      'trainable_threshold value',
      { trainable_threshold: 'all' },
      /trainable_threshold must be one of none, layer, channel, got "all"/,
    ],
    ['fused value', { fused: 'yes' }, /fused must be true, false or "auto", got "yes"/],
    ['tau on IF', { neuron: 'if', tau: 2 }, /unknown key tau for neuron if/],
    ['ASN decay_init', { neuron: 'asn', decay_init: 1 }, /decay_init must be in \(0, 1\), got 1/],
    [
      'ASN max_count',
      { neuron: 'asn', max_count: 0 },
      /max_count must be a positive integer, got 0/,
    ],
    ['NASN norm', { neuron: 'nasn', norm: 'layer' }, /norm must be one of batch, rms, got "layer"/],
    [
      'NASN momentum',
      { neuron: 'nasn', norm_momentum: 2 },
      /norm_momentum must be in \[0, 1\], got 2/,
    ],
    [
      'ternary threshold',
      { neuron: 'ternary', v_threshold: -0.5 },
      /v_threshold must be > 0 for the ternary neuron, got -0.5/,
    ],
  ];
  for (const [what, cfg, msg] of bad) {
    it(`rejects ${what}`, () => {
      const full = { neuron: 'lif', ...cfg };
      expect(() => parseNeuronConfig(full)).toThrow(ConfigError);
      expect(() => parseNeuronConfig(full)).toThrow(msg);
    });
  }

  it('rejects a non-object, and ignores foreign keys only when not strict', () => {
    expect(() => parseNeuronConfig([1])).toThrow(/neuron config must be an object, got \[1\]/);
    expect(() => parseNeuronConfig({ neuron: 'lif', hidden_size: 64 })).toThrow(/hidden_size/);
    expect(parseNeuronConfig({ neuron: 'lif', hidden_size: 64 }, false).neuron).toBe('lif');
  });
});
