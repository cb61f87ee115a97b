// Optimizer state through safetensors: tensor names (`step`, `<name>/m`,
// `<name>/v`), bit-identical continued training after a save/load into fresh
// variables and a fresh optimizer, and refusal of state that does not fit.
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/io/index.js';
import { AdamW, SGD } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { loadRng, makeToy, saveRng, trainSteps, weightBytes } from './toy.js';

beforeAll(async () => {
  await setupBackend();
});

describe('optimizer state', () => {
  it('is saved under public names: step, <name>/m, <name>/v', async () => {
    const toy = makeToy();
    await trainSteps(toy, 2);
    const file = readSafetensors(await toy.opt.saveState());
    expect([...file.tensors.keys()].sort()).toEqual([
      'proj.bias/m',
      'proj.bias/v',
      'proj.weight/m',
      'proj.weight/v',
      'step',
    ]);
    expect(file.metadata).toMatchObject({ optimizer: 'adamw' });
    expect(file.tensors.get('proj.weight/m')!.shape).toEqual([4, 3]);
    toy.dispose();
  });

  it('round-trips to bit-identical continued training (5 + 5 == 10 steps)', async () => {
    const straight = makeToy();
    const lossesStraight = await trainSteps(straight, 10);

    const first = makeToy();
    const lossesA = await trainSteps(first, 5);
    const state = await first.opt.saveState();
    const weights = await Promise.all(first.params.map(async ([, v]) => v.data()));
    const [rng, cursor] = [JSON.parse(JSON.stringify(saveRng(first.rng))) as unknown, first.cursor];
    first.dispose();

    const resumed = makeToy('zeros');
    resumed.params.forEach(([, v], i) => v.assign(tf.tensor(weights[i], v.shape)));
    resumed.opt.loadState(state);
    resumed.rng = loadRng(rng);
    resumed.cursor = cursor;
    expect(resumed.opt.stepCount).toBe(5);
    const lossesB = await trainSteps(resumed, 5);

    expect([...lossesA, ...lossesB]).toEqual(lossesStraight);
    const [a, b] = [await weightBytes(resumed), await weightBytes(straight)];
    a.forEach((bytes, i) => expect(bytes.equals(b[i])).toBe(true));
    straight.dispose();
    resumed.dispose();
  });

  it('would not be bit-identical without the optimizer state (the test can fail)', async () => {
    const straight = makeToy();
    await trainSteps(straight, 10);
    const first = makeToy();
    await trainSteps(first, 5);
    const weights = await Promise.all(first.params.map(async ([, v]) => v.data()));
    const [rng, cursor] = [saveRng(first.rng), first.cursor];
    const resumed = makeToy('zeros');
    resumed.params.forEach(([, v], i) => v.assign(tf.tensor(weights[i], v.shape)));
    resumed.rng = loadRng(rng);
    resumed.cursor = cursor; // optimizer state deliberately not restored
    await trainSteps(resumed, 5);
    const [a, b] = [await weightBytes(resumed), await weightBytes(straight)];
    expect(a[0].equals(b[0])).toBe(false);
    for (const t of [straight, first, resumed]) t.dispose();
  });

  it('refuses state of another optimizer, missing or extra names, and changes nothing', async () => {
    const toy = makeToy();
    await trainSteps(toy, 1);
    const good = await toy.opt.saveState();
    const sgd = new SGD(toy.params, { momentum: 0.9 });
    expect(() => sgd.loadState(good, 'opt.safetensors')).toThrow(
      /opt\.safetensors: optimizer state is for "adamw", this optimizer is sgd/,
    );
    const other = tf.variable(tf.zeros([2]));
    const bigger = new AdamW([...toy.params, ['extra.weight', other]]);
    expect(() => bigger.loadState(good)).toThrow(/missing: extra\.weight\/m, extra\.weight\/v/);
    const smaller = new AdamW([toy.params[0]]);
    expect(() => smaller.loadState(good)).toThrow(/unexpected: proj\.bias\/m/);
    expect(smaller.stepCount).toBe(0);
    for (const o of [sgd, bigger, smaller]) o.dispose();
    other.dispose();
    toy.dispose();
  });
});
