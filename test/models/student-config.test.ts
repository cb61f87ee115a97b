// Configs of the spiking students: presets round-trip through getConfig / config.json,
// every switch is a field, bad fields are rejected naming the field, the registry builds
// each `model_type`, and a saved folder loads back to identical logits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BiSpikCLMForCausalLM,
  buildModel,
  isCausalLM,
  knownModelTypes,
  loadPretrained,
  parseStudentConfig,
  savePretrained,
  STUDENT_TYPES,
  studentConfigJson,
  studentPreset,
  WDSpikingformerForCausalLM,
  WESpikingformer,
} from '../../models/index.js';
import type { SpikingStudent, StudentType } from '../../models/index.js';
import { ConfigError } from '../../src/errors.js';
import type { JsonObject } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { tempDir } from './helpers.js';
import { disposeAll, ids, row } from './student-helpers.js';

const SIZE = { vocab_size: 64, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2 };
const preset = (type: StudentType, over: Record<string, unknown> = {}) =>
  studentPreset(type, 'tiny', over as JsonObject);

describe('spiking students: configs and presets', () => {
  beforeAll(setupBackend);

  it('small presets follow methods-language.md 1(d) / 3(d): D 256, L 4, H 4, MLP 4D', () => {
    for (const type of STUDENT_TYPES) {
      const c = studentPreset(type, 'small');
      expect(c).toMatchObject({ hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4 });
      expect(c).toMatchObject({ intermediate_size: 1024, neuron: 'lif', tau: 2, v_threshold: 1 });
      expect(c.time_steps).toBe(type === 'bispikclm' ? 2 : 4);
      expect(c.max_position_embeddings).toBe(type === 'we-spikingformer' ? 128 : 512);
    }
    expect(studentPreset('wd-spikingformer', 'small')).toMatchObject({
      attention_type: 'cwssa',
      wta_k: 1,
      norm_type: 'rms',
      weight_precision: 'float',
    });
    expect(studentPreset('bispikclm', 'small')).toMatchObject({
      attention_type: 'sfsa',
      norm_type: 'rms',
      weight_precision: 'binary',
    });
    expect(studentPreset('we-spikingformer', 'small')).toMatchObject({
      attention_type: 'wssa',
      norm_type: 'batch',
      tie_word_embeddings: true,
    });
    expect(studentPreset('bispikclm', 'tiny', { neuron: 'asn' })).toMatchObject({
      time_steps: 1,
      max_count: 4,
      decay: 0.25,
      spike_encoding: 'integer',
    });
  });

  for (const type of STUDENT_TYPES) {
    for (const over of [
      {},
      { neuron: 'asn', max_count: 3, v_threshold: 0.8, spike_encoding: 'binary' },
    ]) {
      it(`${type} ${JSON.stringify(over)}: preset -> model -> getConfig -> config.json is the preset`, () => {
        const cfg = preset(type, { ...over, bos_token_id: 1 });
        expect(cfg.bos_token_id).toBe(1); // unread fields are kept
        const model = buildModel(cfg);
        expect(model.getConfig()).toEqual(cfg);
        const again = JSON.parse(JSON.stringify(model.getConfig())) as JsonObject;
        expect(studentConfigJson(parseStudentConfig(again, type))).toEqual(cfg);
        model.dispose();
      });
    }
  }

  it('every switch is a config field that round-trips', () => {
    const cases: [StudentType, Record<string, unknown>][] = [
      [
        'wd-spikingformer',
        {
          neuron: 'if',
          v_reset: null,
          surrogate: 'atan',
          surrogate_alpha: 3,
          detach_reset: false,
          time_steps: 3,
        },
      ],
      [
        'wd-spikingformer',
        {
          wta_k: 4,
          wta_tau_s: 2,
          attention_threshold: 0.25,
          norm_type: 'layer',
          weight_precision: 'ternary',
        },
      ],
      [
        'bispikclm',
        { neuron: 'ilif', decay: 0.5, max_count: 2, sfsa_decay_shift: 5, norm_eps: 1e-6 },
      ],
      [
        'bispikclm',
        { attention_type: 'softmax_spiking', weight_precision: 'float', tie_word_embeddings: true },
      ],
      [
        'we-spikingformer',
        {
          attention_type: 'ssa',
          norm_type: 'rms',
          tie_word_embeddings: false,
          architectures: ['WESpikingformerForSequenceClassification'],
          num_labels: 3,
          classifier_pooling: 'mean',
        },
      ],
    ];
    for (const [type, over] of cases) {
      const cfg = preset(type, over);
      expect(cfg).toMatchObject(over);
      const model = buildModel(cfg) as unknown as SpikingStudent;
      expect(model.getConfig()).toEqual(cfg);
      model.dispose();
    }
  });

  it('rejects bad fields, naming the field', () => {
    const bad: [StudentType, Record<string, unknown>, RegExp][] = [
      [
        'wd-spikingformer',
        { neuron: 'izhikevich' },
        /"neuron" must be one of "lif", "if", "ilif", "asn"/,
      ],
      ['wd-spikingformer', { wta_k: 0 }, /"wta_k" must be an integer >= 1, got 0/],
      ['bispikclm', { time_steps: 0 }, /"time_steps" must be an integer >= 1, got 0/],
      [
        'wd-spikingformer',
        { attention_type: 'flash' },
        /"attention_type" must be one of "cwssa", "sfsa", "ssa", "softmax_spiking"/,
      ],
      ['wd-spikingformer', { attention_type: 'wssa' }, /"attention_type" must be one of "cwssa"/],
      [
        'we-spikingformer',
        { attention_type: 'sfsa' },
        /"attention_type" must be one of "wssa", "ssa", "softmax_spiking"/,
      ],
      [
        'we-spikingformer',
        { hidden_size: 30, num_attention_heads: 4 },
        /"hidden_size" must be divisible by num_attention_heads \(4\)/,
      ],
      ['bispikclm', { norm_type: 'batch' }, /"norm_type" must be one of "rms", "layer"/],
      [
        'wd-spikingformer',
        { weight_precision: 'int4' },
        /"weight_precision" must be one of "float", "binary", "ternary"/,
      ],
      [
        'bispikclm',
        { tie_word_embeddings: true },
        /"tie_word_embeddings" needs weight_precision "float"/,
      ],
      ['bispikclm', { neuron: 'ilif', tau: 2 }, /"tau" does not apply to neuron "ilif"/],
      ['bispikclm', { wta_k: 2 }, /"wta_k" does not apply to attention_type "sfsa"/],
      [
        'wd-spikingformer',
        { num_labels: 3 },
        /"num_labels" does not apply to model_type "wd-spikingformer"/,
      ],
      [
        'wd-spikingformer',
        { architectures: ['LlamaForCausalLM'] },
        /"architectures" must start with one of WDSpikingformerForCausalLM/,
      ],
      ['wd-spikingformer', { tau: 1 }, /tau must be > 1/],
      ['wd-spikingformer', { v_threshold: -1 }, /v_threshold must be > v_reset/],
      ['bispikclm', { neuron: 'asn', max_count: 0 }, /"max_count" must be an integer >= 1/],
      ['bispikclm', { neuron: 'asn', decay: 1.5 }, /decay_init must be in \(0, 1\)/],
      ['wd-spikingformer', { attention_threshold: 0 }, /"attention_threshold" must be > 0/],
      [
        'wd-spikingformer',
        { neuron: 'asn', max_count: 64, max_position_embeddings: 4096 },
        /"max_position_embeddings" is too long for exact WTA keys/,
      ],
      ['wd-spikingformer', { vocab_size: 'big' }, /"vocab_size" must be an integer/],
    ];
    for (const [type, over, msg] of bad) {
      const raw = { model_type: type, ...SIZE, ...over } as JsonObject;
      expect(() => buildModel(raw), JSON.stringify(over)).toThrow(ConfigError);
      expect(() => buildModel(raw), JSON.stringify(over)).toThrow(msg);
      expect(() => studentPreset(type, 'tiny', over as JsonObject)).toThrow(msg);
    }
    const { hidden_size: _h, ...noWidth } = preset('bispikclm');
    expect(() => buildModel(noWidth)).toThrow(
      /missing required field "hidden_size" \(model_type "bispikclm"\)/,
    );
    expect(() => studentPreset('bispikclm', 'huge' as 'tiny')).toThrow(
      /unknown preset size "huge"; known: tiny, small/,
    );
  });

  it('the registry knows the three students and builds each one', () => {
    for (const t of STUDENT_TYPES) expect(knownModelTypes()).toContain(t);
    expect(() => buildModel({ model_type: 'spikegpt' })).toThrow(
      /unknown model_type "spikegpt"; known: .*bispikclm.*we-spikingformer/,
    );
    const models = STUDENT_TYPES.map((t) => buildModel(preset(t)));
    expect(models[0]).toBeInstanceOf(WESpikingformer);
    expect(models[1]).toBeInstanceOf(WDSpikingformerForCausalLM);
    expect(models[2]).toBeInstanceOf(BiSpikCLMForCausalLM);
    expect(models.map(isCausalLM)).toEqual([false, true, true]);
    models.forEach((m) => m.dispose());
  });
});

describe('spiking students: save and load', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    await setupBackend();
    tmp = await tempDir();
  });
  afterAll(async () => tmp?.remove());

  const CASES: [StudentType, Record<string, unknown>][] = [
    ['wd-spikingformer', {}],
    ['bispikclm', { neuron: 'asn', time_steps: 2 }],
    ['we-spikingformer', {}],
    [
      'we-spikingformer',
      {
        architectures: ['WESpikingformerForSequenceClassification'],
        neuron: 'ilif',
        spike_encoding: 'binary',
      },
    ],
  ];
  CASES.forEach(([type, over], i) => {
    it(`${type} ${JSON.stringify(over)}: save -> load gives identical logits`, async () => {
      const model = buildModel(preset(type, over)) as unknown as SpikingStudent & {
        forward(x: Tensor): { logits?: Tensor };
      };
      const x = ids([row(8, 1), row(8, 2)]);
      disposeAll(model.forward(x)); // training mode: batch norms move their running statistics
      model.eval();
      const dir = `${tmp.dir}/m${i}`;
      await savePretrained(model, dir);
      const back = (await loadPretrained(dir)) as unknown as typeof model;
      expect(back.getConfig()).toEqual(model.getConfig());
      expect(back.namedParameters().map(([n]) => n)).toEqual(
        model.namedParameters().map(([n]) => n),
      );
      const [a, b] = [model.forward(x), back.forward(x)];
      expect(values(b.logits as Tensor)).toEqual(values(a.logits as Tensor));
      [a, b].forEach(disposeAll);
      tf.dispose(x);
      [model, back].forEach((m) => m.dispose());
    });
  });
});
