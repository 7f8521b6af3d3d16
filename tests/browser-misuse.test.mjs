// Misuse of the API in a page in Chromium: the cases of tests/browser/misuse.mjs (two generations at once,
// dispose() during a generation, every method after dispose(), foreign snapshots), run through
// tests/browser/harness.html on the models tests/misuse.test.mjs writes. tests/firefox.test.mjs runs them in
// Firefox.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ROOT, usePageServer, openHarness } from './browser/chromium.mjs';
import { misuseCases } from './browser/misuse.mjs';
import { writeMisuseModels } from './robustness/misuse-models.mjs';

let page;
const errors = [];
const { model, twin } = writeMisuseModels(ROOT).urls;

usePageServer({ harness: true }, async ({ server, browser }) => {
  page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await openHarness(page, server);
});

for (const name of Object.keys(misuseCases)) {
  test(`Chromium: ${name}`, { timeout: 60_000 }, async () => {
    await page.evaluate(({ name, model, twin }) => window.misuseCases[name](window.RingLM, model, twin), { name, model, twin });
    assert.deepEqual(errors, []);
  });
}
