// Progress bar and run log (src/progress.ts): the bar's text, redraw in place
// and throttling on a fake TTY, plain lines every N steps off a TTY, smoothed
// rates and ETA from a fake clock, and JSONL lines that parse.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Ema,
  ProgressBar,
  RunLog,
  formatCount,
  formatDuration,
  formatMetric,
  readRunLog,
} from '../../src/progress.js';
import { setLogSink } from '../../src/log.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 200, write: (s: string) => chunks.push(s) } };
}

function fakeClock() {
  const clock = { t: 0, now: () => clock.t };
  return clock;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snnlm-progress-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('formatting', () => {
  it('formats durations, counts and metrics', () => {
    expect([
      formatDuration(62),
      formatDuration(1990),
      formatDuration(3725),
      formatDuration(NaN),
    ]).toEqual(['01:02', '33:10', '1:02:05', '?']);
    expect([980, 9800, 12_345, 1.5e6, 4.8].map(formatCount)).toEqual([
      '980',
      '9.8k',
      '12k',
      '1.5M',
      '4.8',
    ]);
    expect([2.3149, 3e-4, 0.84, NaN].map(formatMetric)).toEqual(['2.31', '3.00e-4', '0.84', 'NaN']);
  });

  it('bias-corrects the EMA (a constant input is reproduced from the first value)', () => {
    const e = new Ema(0.9);
    expect(e.value).toBeNaN();
    e.update(5);
    expect(e.value).toBeCloseTo(5, 12);
    e.update(5);
    expect(e.value).toBeCloseTo(5, 12);
  });
});

describe('ProgressBar', () => {
  it('redraws one line in place on a TTY, throttled, and ends it on close', () => {
    const { chunks, stream } = fakeStream(true);
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 10, stream, now: clock.now, minIntervalMs: 500 });
    for (let s = 1; s <= 3; s++) {
      clock.t += 1000;
      bar.update(s, { tokens: 2000, metrics: { loss: 2.31, lr: 3e-4 } });
    }
    expect(chunks.at(-1)).toBe(
      '\rstep 3/10 [00:03<00:07, 1.0 it/s, 2.0k tok/s] loss 2.31 lr 3.00e-4\x1b[K',
    );
    expect(chunks.join('')).not.toContain('\n');
    const drawn = chunks.length;
    clock.t += 100; // within the throttle interval: no redraw
    bar.update(4, { tokens: 2000 });
    expect(chunks.length).toBe(drawn);
    bar.log('eval loss 2.0');
    expect(chunks.slice(drawn)).toEqual([
      '\r\x1b[Keval loss 2.0\n',
      expect.stringMatching(/^\rstep 4\/10/),
    ]);
    bar.close();
    expect(chunks.at(-1)).toBe('\n');
  });

  it('prints plain lines every N steps off a TTY, never carriage returns', () => {
    const { chunks, stream } = fakeStream(false);
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 7, stream, now: clock.now, everySteps: 3 });
    for (let s = 1; s <= 7; s++) {
      clock.t += 500;
      bar.update(s, { tokens: 100 });
    }
    bar.close();
    expect(chunks).toEqual([
      'step 3/7 [00:02<00:02, 2.0 it/s, 200 tok/s]\n',
      'step 6/7 [00:03<00:00, 2.0 it/s, 200 tok/s]\n',
      'step 7/7 [00:04<00:00, 2.0 it/s, 200 tok/s]\n',
    ]);
  });

  it('smooths rates, shows s/it when slow, and counts only this run after a resume', () => {
    const { stream } = fakeStream(false);
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 100, initialStep: 50, stream, now: clock.now });
    clock.t += 4000;
    bar.update(52, { tokens: 1000 }); // 2 steps in 4 s
    expect(bar.stepsPerSecond).toBeCloseTo(0.5, 9);
    expect(bar.tokensPerSecond).toBeCloseTo(250, 9);
    expect(bar.etaSeconds).toBeCloseTo(96, 9);
    expect(bar.render()).toBe('step 52/100 [00:04<01:36, 2.0 s/it, 250 tok/s]');
    clock.t += 1000;
    bar.update(53); // a faster step pulls the average, but only partly
    expect(bar.stepsPerSecond).toBeGreaterThan(0.5);
    expect(bar.stepsPerSecond).toBeLessThan(1);
  });
});

describe('RunLog', () => {
  it('appends one JSON object per line with time_s, across reopenings', async () => {
    const path = join(dir, 'sub', 'log.jsonl');
    const clock = fakeClock();
    const a = new RunLog(path, { now: clock.now });
    clock.t = 62_100;
    a.write({ step: 300, loss: 2.31, lr: 3e-4, grad_norm: 1.1, tok_per_s: 9800 });
    a.write({ step: 300, split: 'val', loss: NaN });
    a.flush();
    a.close();
    const b = new RunLog(path, { now: clock.now, tailSize: 1 });
    b.write({ step: 301, loss: 2.3 });
    b.write({ step: 302, loss: 2.2 });
    expect(b.tail()).toEqual([{ time_s: 0, step: 302, loss: 2.2 }]);
    b.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { time_s: 62.1, step: 300, loss: 2.31, lr: 3e-4, grad_norm: 1.1, tok_per_s: 9800 },
      { time_s: 62.1, step: 300, split: 'val', loss: null },
      { time_s: 0, step: 301, loss: 2.3 },
      { time_s: 0, step: 302, loss: 2.2 },
    ]);
    expect(() => b.write({ step: 1 })).toThrow(/closed/);
  });

  it('reads a log back, skipping a torn last line with a warning', async () => {
    const path = join(dir, 'torn.jsonl');
    await writeFile(path, '{"step":1}\n{"step":2}\n{"step":3,"lo');
    const warned: string[] = [];
    const prev = setLogSink((l) => warned.push(l));
    try {
      expect(readRunLog(path)).toEqual([{ step: 1 }, { step: 2 }]);
    } finally {
      setLogSink(prev);
    }
    expect(warned.join()).toMatch(/torn last line/);
    await writeFile(path, '{"step":1}\nnot json\n{"step":3}\n');
    expect(() => readRunLog(path)).toThrow(/torn\.jsonl:2: not a JSON object/);
  });
});
