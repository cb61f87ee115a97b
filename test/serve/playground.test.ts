// The playground in a real browser: Debian's Chromium driven by playwright-core
// opens `/` on a server with a tiny spiking student, types a prompt, presses
// Generate, and sees streamed text, a spike heat map with one column per
// generated token (and lit pixels), and the energy estimate next to the ANN's.
// A screenshot is saved under the OS temp folder. Skips when Chromium is absent.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../serve/server.js';
import type { RunningServer } from '../../serve/server.js';
import { hasChromium, launchBrowser, noteMissingBrowser } from '../browser.js';
import { setupBackend } from '../helpers.js';
import { tempDir, writeTinyModel } from './fixtures.js';

noteMissingBrowser('the playground test');

let tmp: { dir: string; remove(): Promise<void> };
let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>> | null = null;

beforeAll(async () => {
  if (!hasChromium) return;
  await setupBackend();
  tmp = await tempDir();
  const dir = await writeTinyModel(path.join(tmp.dir, 'tiny-bispikclm'), 'bispikclm');
  server = await startServer({ model: dir, port: 0, workers: 0 });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await tmp?.remove();
});

describe('playground', () => {
  it.skipIf(!hasChromium)('streams text, draws the spikes and the energy', async () => {
    const page = await browser!.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url + '/');
    await expect.poll(() => page.textContent('#model-info')).toMatch(/bispikclm/);
    await page.fill('#prompt', 'ab c');
    await page.fill('#max-tokens', '12');
    await page.fill('#seed', '3');
    await page.click('#generate');
    await page.waitForFunction(
      "document.querySelector('#status').textContent.startsWith('finished')",
    );
    const text = await page.textContent('#completion');
    expect(text!.length).toBeGreaterThan(0);
    expect(await page.textContent('#prompt-echo')).toBe('ab c');
    const canvas = (await page.evaluate(`(() => {
      const c = document.querySelector('#spike-canvas');
      return { columns: Number(c.dataset.columns), layers: Number(c.dataset.layers) };
    })()`)) as { columns: number; layers: number };
    expect(canvas.columns).toBeGreaterThan(0);
    expect(canvas.columns).toBeLessThanOrEqual(12);
    expect(canvas.layers).toBeGreaterThan(0);
    // Lit pixels in the plot area (right of the layer labels): spikes were drawn.
    const lit = (await page.evaluate(`(() => {
      const c = document.querySelector('#spike-canvas');
      const img = c.getContext('2d').getImageData(170, 0, c.width - 170, 120).data;
      let n = 0;
      for (let i = 0; i < img.length; i += 4) if (img[i] + img[i + 1] + img[i + 2] > 60) n++;
      return n;
    })()`)) as number;
    expect(lit).toBeGreaterThan(0);
    expect(await page.textContent('#snn-energy')).toMatch(/J$/);
    expect(await page.textContent('#energy-summary')).toMatch(/SNN\/ANN energy \d/);
    const shot = path.join(tmpdir(), 'snnlm-playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    console.log(`playground screenshot: ${shot}`);
    expect(errors).toEqual([]);
  });
});
