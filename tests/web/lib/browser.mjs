// Headless Debian chromium through playwright-core, and numbered screenshots kept as test
// artifacts under $ARTIFACTS_DIR (default <repo>/artifacts/web).

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR || join(repoRoot, 'artifacts', 'web');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launches chromium; resolves to { browser, page }. `options` go to the context (e.g. a
 * `timezoneId`). */
export async function openBrowser(options = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ARGS,
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 1400 }, locale: 'en-US', ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  // Page errors fail the test at the end instead of passing silently.
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // Refused requests (401/403/4xx the test provokes) log "Failed to load resource"; the page
  // shows those itself, so only other console errors count.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return { browser, page, errors };
}

/** Saves a full-page screenshot as `<prefix>-NN-<name>.png`. */
export function screenshotter(page, prefix) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  // Screenshots of an earlier run would mix with this run's numbering.
  for (const f of readdirSync(ARTIFACTS_DIR)) {
    if (f.startsWith(`${prefix}-`) && f.endsWith('.png')) rmSync(join(ARTIFACTS_DIR, f));
  }
  let n = 0;
  return async (name) => {
    n += 1;
    const file = join(ARTIFACTS_DIR, `${prefix}-${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}

/** Retries `check` (which throws while not yet true) until it passes or `ms` elapse. */
export async function eventually(check, ms = 8_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
