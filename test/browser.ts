// Headless Chromium for the browser tests (the serving playground, the eval HTML report):
// Debian's chromium driven by playwright-core, with a fresh profile directory per launch
// that `close()` removes. Tests skip (with a note) where the browser is not installed.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Print why a browser test is skipped (call at module level). */
export function noteMissingBrowser(what: string): void {
  if (!hasChromium) console.warn(`${what} skipped: no browser at ${CHROMIUM}`);
}

/** A browser context on a fresh profile; `close()` also removes the profile. */
export async function launchBrowser(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = await mkdtemp(path.join(tmpdir(), 'snnlm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
