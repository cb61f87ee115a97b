// Training byte-level BPE tokenizers: merges worked out by hand, the same merges
// as a naive trainer that recounts every pair at every step, the trainer's own
// token count equal to what the saved tokenizer encodes, loading through
// Tokenizers.js (our Tokenizer) and transformers.js with equal ids and exact
// round trips, determinism, the vocabulary size, and bad options.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  GPT2_SPLIT_PATTERN,
  Tokenizer,
  saveTokenizerFolder,
  tokenizerFolderFiles,
  trainBpeTokenizer,
} from '../../src/tokenizer/index.js';
import type { TrainBpeResult } from '../../src/tokenizer/index.js';
import { rng } from '../helpers.js';

type Model = { vocab: Record<string, number>; merges: [string, string][] };
const model = (r: TrainBpeResult): Model => r.json.model as Model;

/**
 * A pseudo-random corpus: made-up words of 1-3 syllables (so there are many
 * distinct words and many merges to make), fixed words with apostrophes,
 * digits and non-Latin scripts, punctuation and odd spacing.
 */
function corpus(seed: number, documents: number): string[] {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const syllables = [
    'th',
    'e',
    'wha',
    'le',
    'sea',
    'shi',
    'p',
    'ca',
    'pt',
    'ain',
    'wh',
    'ite',
    'wa',
    'ter',
    'n',
    're',
    'ou',
    'gh',
    'har',
    'po',
    'on',
    'an',
    'd',
    'of',
    'in',
    'at',
    'his',
    'he',
    'A',
    'S',
    'é',
    'ï',
    'ζε',
    '東',
    '京',
    'ing',
    'ed',
    'st',
  ];
  const fixed = ["it's", "don't", 'café', '🐋', '2024', '3.14', '—', 'Ζεύς', 'the', 'and'];
  const punct = ['', '', '', ',', '.', ';', '!', '?', ' —'];
  const spaces = [' ', ' ', ' ', ' ', '  ', '\n', '\t', '\n\n'];
  const word = (): string => {
    if (next() < 0.3) return pick(fixed);
    const n = 1 + Math.floor(next() * 3);
    return Array.from({ length: n }, () => pick(syllables)).join('');
  };
  return Array.from({ length: documents }, () => {
    const n = 20 + Math.floor(next() * 60);
    let text = '';
    for (let i = 0; i < n; i++) text += word() + pick(punct) + pick(spaces);
    return text;
  });
}

/** GPT-2's byte → printable character table, written out independently of the trainer. */
function gpt2ByteTable(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = [];
  bs.forEach((b, i) => (table[b] = String.fromCharCode(cs[i])));
  return table;
}

/**
 * The naive trainer: at every step count every adjacent pair over all words from
 * scratch, take the largest count (ties: smaller left id, then smaller right id,
 * ids in vocabulary order), merge it everywhere. Returns the merges as strings.
 */
function naiveMerges(texts: readonly string[], merges: number, minFrequency: number): string[][] {
  const table = gpt2ByteTable();
  const ids = new Map<string, number>();
  [...table].sort().forEach((s, i) => ids.set(s, i)); // all single UTF-16 units below 0x200
  const counts = new Map<string, number>();
  for (const t of texts) {
    for (const m of t.matchAll(GPT2_SPLIT_PATTERN)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  let words = [...counts].map(([w, f]) => ({
    symbols: Array.from(new TextEncoder().encode(w), (b) => table[b]),
    f,
  }));
  const out: string[][] = [];
  while (out.length < merges) {
    const pairs = new Map<string, { l: string; r: string; n: number }>();
    for (const { symbols, f } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        const p = pairs.get(key) ?? { l: symbols[i], r: symbols[i + 1], n: 0 };
        p.n += f;
        pairs.set(key, p);
      }
    }
    let best: { l: string; r: string; n: number } | null = null;
    for (const p of pairs.values()) {
      const better =
        best === null ||
        p.n > best.n ||
        (p.n === best.n &&
          (ids.get(p.l)! < ids.get(best.l)! ||
            (p.l === best.l && ids.get(p.r)! < ids.get(best.r)!)));
      if (better) best = p;
    }
    if (best === null || best.n < minFrequency) break;
    const { l, r } = best;
    ids.set(l + r, ids.size);
    out.push([l, r]);
    words = words.map(({ symbols, f }) => {
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === l && symbols[i + 1] === r) {
          merged.push(l + r);
          i++;
        } else merged.push(symbols[i]);
      }
      return { symbols: merged, f };
    });
  }
  return out;
}

const STRINGS = [
  '',
  ' ',
  'the whale',
  'Call me Ishmael. Some years ago—never mind how long precisely—',
  'Zoë … café 🦀 ζ',
  '🐋🐋 emoji 👩‍👩‍👧 family',
  'double  spaces   and    more',
  '  leading and trailing  ',
  'tab\there\nnew line\r\n',
  '\n\n\n',
  "it's don't we'll THEY'RE",
  'Digits 12345 and 3.14',
  '中文字符 and Ελληνικά',
  'never seen: qzxv jjjj ȸȹ',
];

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'snnlm-bpe-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('trainBpeTokenizer', () => {
  it('makes the merges worked out by hand', async () => {
    // Words (GPT-2 split): "low" ×1, " low" ×2, " lower" ×1, " lowest" ×1; space is Ġ.
    // Pair counts: (l,o) 5, (o,w) 5, (Ġ,l) 4, (w,e) 2, (e,r) (e,s) (s,t) 1.
    // 1. (l,o) and (o,w) tie at 5: 'l' (id 75) is left of 'o' (id 78) → "lo".
    // 2. (lo,w) 5 → "low".  3. (Ġ,low) 4 → "Ġlow".  4. (Ġlow,e) 2 → "Ġlowe".
    // Then every pair occurs once: (Ġlowe,r), (Ġlowe,s), (s,t). With minFrequency 1
    // the tie goes to the smallest left id: 5. (s,t) → "st"; then left ids are equal
    // and 'r' (id 81) < "st" (id 260): 6. (Ġlowe,r); 7. (Ġlowe,st). All words are
    // then one token each: 5 tokens for 5 words.
    const texts = ['low low low lower lowest'];
    const r = await trainBpeTokenizer(texts, {
      vocabSize: 256 + 7,
      minFrequency: 1,
      specialTokens: [],
    });
    expect(model(r).merges).toEqual([
      ['l', 'o'],
      ['lo', 'w'],
      ['Ġ', 'low'],
      ['Ġlow', 'e'],
      ['s', 't'],
      ['Ġlowe', 'r'],
      ['Ġlowe', 'st'],
    ]);
    expect(r).toMatchObject({ vocabSize: 263, merges: 7, stopReason: null, words: 5, tokens: 5 });
    expect(model(r).vocab).toMatchObject({ l: 75, o: 78, r: 81, st: 260, Ġlowest: 262 });

    // The default minFrequency (2) stops after merge 4 and says why.
    const short = await trainBpeTokenizer(texts, { vocabSize: 300, specialTokens: [] });
    expect(short.merges).toBe(4);
    expect(short.vocabSize).toBe(260);
    expect(short.stopReason).toMatch(/no pair occurs 2 times or more after 4 merges/);
    expect(short.stopReason).toMatch(/260 of the 300 entries/);
    // Asking for more merges than the words allow stops when every word is one token.
    const all = await trainBpeTokenizer(texts, {
      vocabSize: 300,
      minFrequency: 1,
      specialTokens: [],
    });
    expect(all.vocabSize).toBe(263);
    expect(all.stopReason).toMatch(/every word of the corpus is a single token after 7 merges/);
  });

  it('makes the same merges as a trainer that recounts every pair at every step', async () => {
    const texts = corpus(7, 30);
    const r = await trainBpeTokenizer(texts, { vocabSize: 3 + 256 + 150 });
    expect(r.merges).toBe(150);
    expect(model(r).merges).toEqual(naiveMerges(texts, 150, 2));
  });

  it('counts exactly the tokens Tokenizers.js encodes the corpus to', async () => {
    const texts = corpus(11, 40);
    const r = await trainBpeTokenizer(texts, { vocabSize: 500 });
    const tok = new Tokenizer(r.json);
    const encoded = texts.reduce(
      (n, t) => n + tok.encode(t, { addSpecialTokens: false }).length,
      0,
    );
    expect(encoded).toBe(r.tokens);
    expect(r.tokens).toBeLessThan(new TextEncoder().encode(texts.join('')).length / 2);
  });

  it('is deterministic: two runs (array and async stream) give byte-identical files', async () => {
    const texts = corpus(3, 20);
    async function* stream(): AsyncGenerator<string> {
      for (const t of texts) yield t;
    }
    const a = await trainBpeTokenizer(texts, { vocabSize: 400 });
    const b = await trainBpeTokenizer(stream(), { vocabSize: 400 });
    expect(tokenizerFolderFiles(b.json)).toEqual(tokenizerFolderFiles(a.json));
    expect(JSON.stringify(b.json)).toBe(JSON.stringify(a.json));
  });

  it('gives exactly the vocabulary size asked for, specials first, bytes always present', async () => {
    const r = await trainBpeTokenizer(corpus(5, 150), { vocabSize: 700 });
    expect(r.vocabSize).toBe(700);
    const vocab = model(r).vocab;
    expect(Object.keys(vocab)).toHaveLength(700);
    expect(new Set(Object.values(vocab)).size).toBe(700);
    expect(Math.max(...Object.values(vocab))).toBe(699);
    expect([vocab['<unk>'], vocab['<s>'], vocab['</s>']]).toEqual([0, 1, 2]);
    for (const ch of gpt2ByteTable()) expect(vocab[ch]).toBeGreaterThanOrEqual(3);
    expect(vocab['!']).toBe(3); // the first byte symbol in GPT-2 order
    const tok = new Tokenizer(r.json, {});
    expect(tok.vocabSize).toBe(700);
  });

  it('honours maxChars and cuts special tokens out of the text', async () => {
    const r = await trainBpeTokenizer(['abcd'.repeat(100), 'more text'], {
      vocabSize: 300,
      maxChars: 50,
    });
    expect(r).toMatchObject({ chars: 50, truncated: true, words: 1 });
    // '</s>' in the text is the special token, not "</" + "s" + ">".
    const s = await trainBpeTokenizer(['a</s>b '.repeat(10)], {
      vocabSize: 300,
      minFrequency: 1,
    });
    expect(model(s).merges.flat().join('')).not.toMatch(/[<>/]/);
    expect(new Tokenizer(s.json).encode('a</s>b', { addSpecialTokens: false })).toContain(2);
  });

  it('never makes a merged token that would duplicate a special token', async () => {
    // 'Ġthe' is what " the" becomes at byte level; as a special token it must keep its id.
    const r = await trainBpeTokenizer([' the'.repeat(50)], {
      vocabSize: 270,
      minFrequency: 1,
      specialTokens: ['Ġthe'],
      bosToken: null,
    });
    const vocab = model(r).vocab;
    expect(vocab['Ġthe']).toBe(0);
    expect(Object.keys(vocab)).toHaveLength(r.vocabSize);
    expect(model(r).merges).not.toContainEqual(['Ġth', 'e']);
  });

  it('rejects bad options with messages that name them', async () => {
    const t = ['some text'];
    const bad = (options: Parameters<typeof trainBpeTokenizer>[1]) => trainBpeTokenizer(t, options);
    await expect(bad({ vocabSize: 258 })).rejects.toThrow(
      /vocabSize must be in \[259, 1048576\], got 258.*3 special tokens and the 256 byte symbols/,
    );
    await expect(bad({ vocabSize: 255, specialTokens: [] })).rejects.toThrow(/\[256, /);
    await expect(bad({ vocabSize: 300.5 })).rejects.toThrow(
      'vocabSize must be an integer, got 300.5',
    );
    await expect(bad({ vocabSize: NaN })).rejects.toThrow('vocabSize must be an integer');
    await expect(bad({ vocabSize: '300' as unknown as number })).rejects.toThrow(ConfigError);
    await expect(bad({ vocabSize: 300, minFrequency: 0 })).rejects.toThrow(
      'minFrequency must be a positive integer, got 0',
    );
    await expect(bad({ vocabSize: 300, maxChars: -1 })).rejects.toThrow('maxChars must be');
    await expect(bad({ vocabSize: 300, specialTokens: ['<s>', '<s>'] })).rejects.toThrow(
      'specialTokens: "<s>" is listed twice',
    );
    await expect(bad({ vocabSize: 300, specialTokens: ['a'] })).rejects.toThrow(
      'specialTokens: "a" is one of the 256 byte symbols',
    );
    await expect(bad({ vocabSize: 300, specialTokens: [''] })).rejects.toThrow(
      'specialTokens: each must be a non-empty string',
    );
    await expect(bad({ vocabSize: 300, bosToken: '<bos>' })).rejects.toThrow(
      'bosToken "<bos>" is not one of the special tokens',
    );
    await expect(trainBpeTokenizer([42 as unknown as string], { vocabSize: 300 })).rejects.toThrow(
      'texts must yield strings, got number',
    );
  });
});

describe('a trained tokenizer folder', () => {
  let dir: string;
  let trained: TrainBpeResult;

  beforeAll(async () => {
    trained = await trainBpeTokenizer(corpus(1, 60), { vocabSize: 600 });
    dir = await tempDir();
    await saveTokenizerFolder(dir, trained.json, { modelMaxLength: 256 });
  });

  it('holds the three files, with BOS/EOS/UNK in the config', async () => {
    expect((await readdir(dir)).sort()).toEqual([
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({
      add_bos_token: true,
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      pad_token: null,
      model_max_length: 256,
      tokenizer_class: 'PreTrainedTokenizerFast',
    });
    const map = JSON.parse(await readFile(path.join(dir, 'special_tokens_map.json'), 'utf8'));
    expect(map).toEqual({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
    const text = await readFile(path.join(dir, 'tokenizer.json'), 'utf8');
    expect(text).toBe(tokenizerFolderFiles(trained.json)['tokenizer.json']);
  });

  it('loads through Tokenizer.fromFolder and round-trips every string exactly', async () => {
    const tok = await Tokenizer.fromFolder(dir);
    expect([tok.vocabSize, tok.bosId, tok.eosId, tok.unkId, tok.modelMaxLength]).toEqual([
      600, 1, 2, 0, 256,
    ]);
    for (const s of STRINGS) {
      const ids = tok.encode(s, { addSpecialTokens: false });
      expect(ids).not.toContain(0); // never <unk>
      expect(tok.decode(ids)).toBe(s);
      const withBos = tok.encode(s);
      expect(withBos).toEqual([1, ...ids]);
      expect(tok.decode(withBos, { skipSpecialTokens: true })).toBe(s);
    }
    expect(tok.encode('')).toEqual([1]);
    expect(tok.tokenize(' the and')).toEqual(['Ġthe', 'Ġand']);
  });

  it('encodes like transformers.js AutoTokenizer loaded from the folder', async () => {
    const { env, AutoTokenizer } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    const hf = await AutoTokenizer.from_pretrained(dir);
    const tok = await Tokenizer.fromFolder(dir);
    for (const s of STRINGS) {
      const theirs = hf.encode(s);
      expect(theirs).toEqual(tok.encode(s));
      expect(hf.encode(s, { add_special_tokens: false })).toEqual(
        tok.encode(s, { addSpecialTokens: false }),
      );
      expect(hf.decode(theirs, { skip_special_tokens: true })).toBe(s);
    }
  });

  it('rejects config tokens that the tokenizer does not have', async () => {
    expect(() => tokenizerFolderFiles(trained.json, { eosToken: '<eos>' })).toThrow(
      /eosToken "<eos>" is not an added token of the tokenizer/,
    );
    expect(() => tokenizerFolderFiles(trained.json, { modelMaxLength: 0 })).toThrow(
      'modelMaxLength must be a positive integer, got 0',
    );
  });

  it('without BOS adds nothing on encode (GPT-2 style)', async () => {
    const r = await trainBpeTokenizer(corpus(2, 10), { vocabSize: 300, bosToken: null });
    const out = await tempDir();
    await saveTokenizerFolder(out, r.json);
    const tok = await Tokenizer.fromFolder(out);
    expect(tok.encode('the sea')).toEqual(tok.encode('the sea', { addSpecialTokens: false }));
    expect(tok.decode(tok.encode('the sea'))).toBe('the sea');
    const config = JSON.parse(await readFile(path.join(out, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({ add_bos_token: false, bos_token: '<s>', eos_token: '</s>' });
  });
});
