// Misuse of the API in a page in Chromium: the cases of tests/browser/misuse.mjs (two generations at once,
// dispose() during a generation, every method after dispose(), foreign snapshots), run through
// tests/browser/harness.html on the models tests/misuse.test.mjs writes. tests/firefox.test.mjs runs them in
// Firefox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer, PAGE_MOUNTS } from '../tools/serve.mjs';
import { misuseCases } from './browser/misuse.mjs';
import { writeMisuseModels } from './robustness/misuse-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server;
let browser;
let page;
const errors = [];
const { model, twin } = writeMisuseModels(ROOT).urls;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`npm run setup\` (or set CHROMIUM_PATH)`);
  server = await startServer({ port: 0, root: ROOT, mounts: [...PAGE_MOUNTS, { url: '/tests/browser/', dir: 'tests/browser' }] });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}tests/browser/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

for (const name of Object.keys(misuseCases)) {
  test(`Chromium: ${name}`, { timeout: 60_000 }, async () => {
    await page.evaluate(({ name, model, twin }) => window.misuseCases[name](window.RingLM, model, twin), { name, model, twin });
    assert.deepEqual(errors, []);
  });
}
