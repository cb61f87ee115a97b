// Module: hierarchical names and paths, state round trip and its errors, two
// instances side by side, the training flag, disposal.
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveSeed, Linear, Module, RMSNorm, TimeBatchNorm } from '../../src/layers/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';

/** A two-level test model: `layers.0.{up,bn}`, `layers.1.{up,bn}`, `norm`. */
class Block extends Module {
  readonly up: Linear;
  readonly bn: TimeBatchNorm;
  constructor(seed: number) {
    super();
    this.up = this.addModule('up', new Linear({ in_features: 3, out_features: 2, seed }));
    this.bn = this.addModule('bn', new TimeBatchNorm({ num_features: 2 }));
  }
  getConfig() {
    return {};
  }
}

class Tiny extends Module {
  readonly blocks: Block[];
  readonly norm: RMSNorm;
  constructor(seed: number) {
    super();
    this.blocks = [0, 1].map((i) =>
      this.addModule(`layers.${i}`, new Block(deriveSeed(seed, `layers.${i}`))),
    );
    this.norm = this.addModule('norm', new RMSNorm({ normalized_shape: 2 }));
  }
  getConfig() {
    return {};
  }
}

const NAMES = [
  'layers.0.up.weight',
  'layers.0.up.bias',
  'layers.0.bn.weight',
  'layers.0.bn.bias',
  'layers.0.bn.running_mean',
  'layers.0.bn.running_var',
  'layers.1.up.weight',
  'layers.1.up.bias',
  'layers.1.bn.weight',
  'layers.1.bn.bias',
  'layers.1.bn.running_mean',
  'layers.1.bn.running_var',
  'norm.weight',
];

function snapshot(m: Module): Record<string, number[]> {
  return Object.fromEntries(m.namedParameters().map(([k, v]) => [k, values(v)]));
}

describe('Module', () => {
  beforeAll(setupBackend);

  it('names parameters with full dotted paths in a stable order, and knows each child path', () => {
    const m = new Tiny(1);
    expect(m.namedParameters().map(([k]) => k)).toEqual(NAMES);
    expect([...m.stateDict().keys()]).toEqual(NAMES);
    expect(m.blocks[1].up.path).toBe('layers.1.up');
    expect(m.blocks[0].namedParameters()[0][0]).toBe('up.weight');
    // running statistics are buffers, not trainable
    expect(m.trainableVariables()).toHaveLength(NAMES.length - 4);
    m.dispose();
  });

  it('round-trips state between instances, which then stay independent', () => {
    const a = new Tiny(1);
    const b = new Tiny(2);
    expect(snapshot(b)['layers.0.up.weight']).not.toEqual(snapshot(a)['layers.0.up.weight']);
    b.loadState(a.stateDict());
    expect(snapshot(b)).toEqual(snapshot(a));
    const before = snapshot(b);
    const zeros = tf.zeros([2, 3]);
    a.blocks[0].up.weight.assign(zeros);
    zeros.dispose();
    a.dispose();
    expect(snapshot(b)).toEqual(before); // b's state survives a's change and disposal
    b.dispose();
  });

  it('loads its own state (and swapped tensors) without losing data', () => {
    const m = new Tiny(7);
    const before = snapshot(m);
    m.loadState(m.stateDict());
    expect(snapshot(m)).toEqual(before);
    const state = m.stateDict();
    const w0 = state.get('layers.0.up.weight') as Tensor;
    state.set('layers.0.up.weight', state.get('layers.1.up.weight') as Tensor);
    state.set('layers.1.up.weight', w0);
    m.loadState(state);
    const after = snapshot(m);
    expect(after['layers.0.up.weight']).toEqual(before['layers.1.up.weight']);
    expect(after['layers.1.up.weight']).toEqual(before['layers.0.up.weight']);
    m.dispose();
  });

  it('two instances coexist: distinct internal variable names, same public names', () => {
    const a = new Tiny(3);
    const b = new Tiny(3);
    const ia = a.namedParameters().map(([, v]) => v.name);
    const ib = b.namedParameters().map(([, v]) => v.name);
    expect(new Set([...ia, ...ib]).size).toBe(2 * NAMES.length);
    expect(b.namedParameters().map(([k]) => k)).toEqual(NAMES);
    expect(snapshot(b)).toEqual(snapshot(a)); // same seed, same init
    a.dispose();
    expect(values(b.blocks[0].up.weight)).toHaveLength(6);
    b.dispose();
  });

  it('rejects missing, unexpected and mis-shaped tensors, naming them, and assigns nothing', () => {
    const m = new Tiny(4);
    const before = snapshot(m);
    const good = Object.fromEntries(
      m.namedParameters().map(([k]) => [k, tf.zeros(m.stateDict().get(k)!.shape)]),
    );
    const { 'norm.weight': _dropped, ...missing } = good;
    expect(() => m.loadState(missing)).toThrow(ConfigError);
    expect(() => m.loadState(missing)).toThrow(/missing: norm\.weight/);
    const extra = tf.zeros([1]);
    expect(() => m.loadState({ ...good, 'head.weight': extra })).toThrow(
      /unexpected: head\.weight/,
    );
    const wrong = tf.zeros([3, 2]);
    const bad = { ...good, 'layers.1.up.weight': wrong };
    expect(() => m.loadState(bad)).toThrow(ShapeError);
    expect(() => m.loadState(bad)).toThrow(/layers\.1\.up\.weight expected \[2, 3\], got \[3, 2\]/);
    const int = tf.zeros([2], 'int32');
    expect(() => m.loadState({ ...good, 'norm.weight': int })).toThrow(
      /expected dtype float32, got int32/,
    );
    expect(snapshot(m)).toEqual(before);
    tf.dispose([...Object.values(good), extra, wrong, int] as Tensor[]);
    m.dispose();
  });

  it('propagates the training flag to every descendant, including children added later', () => {
    const m = new Tiny(5).eval();
    expect(m.training).toBe(false);
    expect(m.blocks.every((b) => !b.training && !b.bn.training && !b.up.training)).toBe(true);
    m.train();
    expect(m.blocks[1].bn.training).toBe(true);
    m.dispose();
  });

  it('frees its variables on dispose and then refuses to list them', () => {
    const before = tf.memory().numTensors;
    const m = new Tiny(6);
    expect(tf.memory().numTensors).toBe(before + NAMES.length);
    m.dispose();
    m.dispose(); // idempotent
    expect(tf.memory().numTensors).toBe(before);
    expect(() => m.namedParameters()).toThrow(/has been disposed/);
  });

  it('derives distinct, deterministic seeds', () => {
    expect(deriveSeed(1, 'a')).toBe(deriveSeed(1, 'a'));
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(1, 'b'));
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(2, 'a'));
  });
});
