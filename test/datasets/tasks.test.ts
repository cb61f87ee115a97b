// Benchmark readers: bzip2 decoding, every QA/GLUE/SQuAD file of the shared data with
// the row counts of its MANIFEST, malformed lines reported with file and line, missing
// files named with where to get them, and seeded subsets.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bunzip2,
  readArc,
  readBoolq,
  readDataLines,
  readGlue,
  readHellaswag,
  readOpenbookqa,
  readPiqa,
  readSquad,
  readWinogrande,
  takeSubset,
} from '../../datasets/tasks/index.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/datasets');
const haveData = existsSync(path.join(DATA, 'qa'));
if (!haveData) console.warn(`skipping shared-data reader tests: ${DATA} is absent`);

// Two concatenated streams (levels 9 and 1) made by Python's bz2 module: runs of 42 'a'
// and 16 'b' exercise the initial run-length coding, 3 × bytes 0..255 the full alphabet.
const FIXTURE =
  'QlpoOTFBWSZTWRoZ4mEAAKf/////////////////////////////////////////////sAFhQEP/9VVQNDQ0AGiZMAAAAmCYAAAAAGgAAjAEwEwAAAAAAAAAAAARgAABMIwQ2h36qaACYmAEwmmAAAAATEyYAAAADQAABMmjTATIMEwAAAAAABMBNBk0aYAI0yaGTRphJgAJgACYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQUNAQ9EERRJAomiiKoJGIuulqg0LGkCjaOI6jyPpAkKRIRI0kfgkqTPxSdKEpSpMYSAliWpcl6YIWZIomaaJqmybpwnKdJ2niep8n6gPyUFQlDURRX5qMo6kKSpSlqYpqnKeqCoqkqaqKqqyrqwrKtK2riuq8r6wLCsSxrIsqzLOtAOAJQMjiDKCkMAJB7cwaAFA6OoOwDogfFANA7g8ANg8g9CAEvYCQg1WXVdl3XheX6P1Xpe18X1fl/YBgWCfswbCMKwzDsQxL92KYtjGNY5j2QZFkmTZRlWWZdmGZZpm2cZ1nmfaBoWiaNpGlaZp2oalqmraxrWua9sGxbJs20bVtm3bhuW6btvG9b5v3AcFwnDcRxXGcdyHJcpy3Mc1znPdB0XSdN1HVdZ/D+XXdh2Xadt3Hdd533geF4njeR5Xmed6Hpep63sf09r3Pe+D+3+Pi+T5vo+r/X/P/fZDPuLuSKcKEgNDPEwgEJaaDExQVkmU1mEUpCUAAAF0YAAEEAALgOcACAAIgDQ0EDQNAUEvThPHh4u5IpwoSEIpSEo';

describe('bunzip2', () => {
  it('decodes concatenated streams byte-exactly', () => {
    const out = bunzip2(Buffer.from(FIXTURE, 'base64'));
    expect(out.length).toBe(864);
    expect(createHash('sha256').update(out).digest('hex')).toBe(
      '922ff88756989bb8130a2562c6fb07495efca1112a4c97e59cf2f34e90c939d3',
    );
    expect(Buffer.from(out.subarray(0, 18)).toString()).toBe('hello hello hello\n');
  });

  it('rejects a corrupted block with a CRC error naming the file', () => {
    const bytes = Buffer.from(FIXTURE, 'base64');
    bytes[12] ^= 0x01; // inside the stored block CRC
    expect(() => bunzip2(bytes, 'x.bz2')).toThrow(/x\.bz2: .*CRC mismatch/);
  });

  it('rejects data that is not bzip2', () => {
    expect(() => bunzip2(new TextEncoder().encode('plain text'), 'y.bz2')).toThrow(
      /y\.bz2: not a bzip2 file/,
    );
  });
});

describe.skipIf(!haveData)('readers on the shared data (MANIFEST row counts)', () => {
  it('reads the seven QA sets with resolved gold labels', async () => {
    const boolq = await readBoolq(DATA);
    expect(boolq.length).toBe(3270);
    expect(boolq.filter((d) => d.label === 1).length).toBe(2033);
    expect(boolq[0].question).toBe('does ethanol take more energy make that produces');
    const piqa = await readPiqa(DATA);
    expect(piqa.length).toBe(1838);
    expect(piqa.slice(0, 3).map((d) => d.label)).toEqual([0, 1, 1]);
    const easy = await readArc(DATA, 'arc_easy');
    expect(easy.length).toBe(570);
    expect(easy[0].choices[easy[0].label].label).toBe(easy[0].answerKey);
    expect((await readArc(DATA, 'arc_challenge')).length).toBe(299);
    const obqa = await readOpenbookqa(DATA);
    expect(obqa.length).toBe(500);
    expect(obqa[0].question.startsWith('Frilled sharks')).toBe(true);
    expect(obqa[0].label).toBe(0);
    const wino = await readWinogrande(DATA);
    expect(wino.length).toBe(1267);
    const labels = await readDataLines(path.join(DATA, 'qa/winogrande/dev-labels.lst'));
    expect(wino.map((d) => String(d.label + 1))).toEqual(labels.map((l) => l.text.trim()));
  });

  it('reads the HellaSwag bz2 text copy: 10042 items of 4 endings', async () => {
    const hs = await readHellaswag(DATA);
    expect(hs.length).toBe(10042);
    expect(hs[0].query).toBe('Roof shingle removal: A man is sitting on a roof. he');
    expect(hs[0].label).toBe(3);
    expect(hs[0].endings[3]).toBe('starts pulling up roofing on a roof.');
    expect(hs.every((d) => d.endings.length === 4)).toBe(true);
  });

  it('reads the GLUE dev files and SQuAD dev', async () => {
    const counts: Record<string, number> = {
      sst2: 872,
      mrpc: 408,
      rte: 277,
      cola: 1043,
      qnli: 5463,
      stsb: 1500,
    };
    for (const [task, n] of Object.entries(counts)) {
      const docs = await readGlue(DATA, task as 'sst2', 'dev');
      expect(docs.length, task).toBe(n);
    }
    const rte = await readGlue(DATA, 'rte', 'dev');
    expect(rte.filter((d) => d.label === 0).length).toBe(146);
    const mrpc = await readGlue(DATA, 'mrpc', 'dev');
    expect(mrpc[0]).toMatchObject({ label: 1 });
    expect(mrpc[0].sentence2!.startsWith('"The foodservice')).toBe(true); // no quote processing
    const stsb = await readGlue(DATA, 'stsb', 'dev');
    expect(stsb[0]).toEqual({
      sentence1: 'A man with a hard hat is dancing.',
      sentence2: 'A man wearing a hard hat is dancing.',
      label: 5,
    });
    const squad = await readSquad(DATA, 'dev');
    expect(squad.length).toBe(10570);
    for (const ex of squad.slice(0, 50)) {
      const a = ex.answers[0];
      expect(ex.context.slice(a.answer_start, a.answer_start + a.text.length)).toBe(a.text);
    }
  });
});

describe('bad and missing files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'snnlm-tasks-'));
    await mkdir(path.join(dir, 'qa/piqa'), { recursive: true });
    await mkdir(path.join(dir, 'qa/arc_easy'), { recursive: true });
    await mkdir(path.join(dir, 'qa/winogrande'), { recursive: true });
    await mkdir(path.join(dir, 'nlu/sst2'), { recursive: true });
    await mkdir(path.join(dir, 'nlu/stsb'), { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the missing file and where to get it', async () => {
    await expect(readBoolq(dir)).rejects.toThrow(
      /missing data file for BoolQ dev \(validation\): .*qa\/boolq\/dev\.jsonl.*hint: get it from https:\/\/storage\.googleapis\.com\/boolq\/dev\.jsonl/,
    );
    await expect(readBoolq(path.join(dir, 'nope'))).rejects.toThrow(
      /data folder .*nope does not exist/,
    );
  });

  it('reports a line that is not JSON with file and line number', async () => {
    const f = path.join(dir, 'qa/piqa/valid.jsonl');
    await writeFile(f, '{"goal":"a","sol1":"b","sol2":"c"}\n{"goal": "a", oops}\n');
    await writeFile(path.join(dir, 'qa/piqa/valid-labels.lst'), '0\n1\n');
    await expect(readPiqa(dir)).rejects.toThrow(/valid\.jsonl: line 2: not valid JSON/);
  });

  it('reports a missing field and a bad label with their line', async () => {
    await writeFile(
      path.join(dir, 'qa/piqa/valid.jsonl'),
      '{"goal":"a","sol1":"b","sol2":"c"}\n{"goal":"a","sol1":"b"}\n',
    );
    await expect(readPiqa(dir)).rejects.toThrow(
      /line 2: field "sol2" is missing, expected a string/,
    );
    await writeFile(
      path.join(dir, 'qa/piqa/valid.jsonl'),
      '{"goal":"a","sol1":"b","sol2":"c"}\n{"goal":"a","sol1":"b","sol2":"c"}\n',
    );
    await writeFile(path.join(dir, 'qa/piqa/valid-labels.lst'), '0\n2\n');
    await expect(readPiqa(dir)).rejects.toThrow(
      /valid-labels\.lst: line 2: label must be 0 or 1, got "2"/,
    );
    await writeFile(path.join(dir, 'qa/piqa/valid-labels.lst'), '0\n');
    await expect(readPiqa(dir)).rejects.toThrow(/has 1 labels but .* has 2 items/);
  });

  it('rejects an ARC answer key that names no choice, and a WinoGrande line without "_"', async () => {
    await writeFile(
      path.join(dir, 'qa/arc_easy/ARC-Easy-Dev.jsonl'),
      '\n{"id":"q","question":{"stem":"s","choices":[{"text":"x","label":"A"},{"text":"y","label":"B"}]},"answerKey":"C"}\n',
    );
    await expect(readArc(dir, 'arc_easy')).rejects.toThrow(
      /ARC-Easy-Dev\.jsonl: line 2: answerKey "C" is not one of the choice labels A, B/,
    );
    await writeFile(
      path.join(dir, 'qa/winogrande/dev.jsonl'),
      '{"sentence":"no blank","option1":"a","option2":"b","answer":"1"}\n',
    );
    await expect(readWinogrande(dir)).rejects.toThrow(/line 1: sentence must hold exactly one "_"/);
  });

  it('prefers the original HellaSwag JSONL and checks its endings', async () => {
    await mkdir(path.join(dir, 'qa/hellaswag'), { recursive: true });
    const f = path.join(dir, 'qa/hellaswag/hellaswag_val.jsonl');
    const doc = {
      activity_label: 'Roof',
      ctx_a: 'A man climbs.',
      ctx_b: 'he',
      endings: ['a', 'b', 'c', 'd'],
      label: 2,
    };
    await writeFile(
      f,
      JSON.stringify(doc) + '\n' + JSON.stringify({ ...doc, endings: ['a'] }) + '\n',
    );
    await expect(readHellaswag(dir)).rejects.toThrow(
      /hellaswag_val\.jsonl: line 2: "endings" must be a list of 4 strings/,
    );
    await writeFile(f, JSON.stringify(doc) + '\n');
    expect(await readHellaswag(dir)).toEqual([
      {
        query: 'Roof: A man climbs. he',
        activityLabel: 'Roof',
        ctxA: 'A man climbs.',
        ctxB: 'he',
        endings: ['a', 'b', 'c', 'd'],
        label: 2,
      },
    ]);
  });

  it('reports GLUE rows with too few columns and out-of-range scores', async () => {
    await writeFile(path.join(dir, 'nlu/sst2/dev.tsv'), 'sentence\tlabel\ngood .\t1\nbad .\n');
    await expect(readGlue(dir, 'sst2', 'dev')).rejects.toThrow(
      /dev\.tsv: line 3: expected 2 tab-separated columns, got 1/,
    );
    await writeFile(path.join(dir, 'nlu/sst2/dev.tsv'), 'sentence\nfine .\n');
    await expect(readGlue(dir, 'sst2', 'dev')).rejects.toThrow(/header lacks column\(s\) label/);
    const head =
      'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore';
    await writeFile(
      path.join(dir, 'nlu/stsb/dev.tsv'),
      `${head}\n0\tg\tf\ty\to\ts\ts\ta\tb\t7.5\n`,
    );
    await expect(readGlue(dir, 'stsb', 'dev')).rejects.toThrow(
      /line 2: score must be a number in \[0, 5\], got "7.5"/,
    );
  });
});

describe('takeSubset', () => {
  const docs = Array.from({ length: 100 }, (_, i) => `d${i}`);
  it('draws the same sorted subset for the same seed, another for another seed', () => {
    const a = takeSubset(docs, 10);
    const b = takeSubset(docs, 10);
    expect(a).toEqual(b);
    expect(a.docs.length).toBe(10);
    expect(new Set(a.indices).size).toBe(10);
    expect([...a.indices].sort((x, y) => x - y)).toEqual(a.indices);
    expect(a.docs).toEqual(a.indices.map((i) => `d${i}`));
    expect(takeSubset(docs, 10, 7).indices).not.toEqual(a.indices);
  });
  it('keeps everything when the limit covers the set, and rejects a bad limit', () => {
    expect(takeSubset(docs, 500).docs).toEqual(docs);
    expect(takeSubset(docs).indices.length).toBe(100);
    expect(() => takeSubset(docs, 0)).toThrow(/--limit must be a positive integer, got 0/);
    expect(() => takeSubset(docs, 2.5)).toThrow(/--limit must be a positive integer/);
  });
});
