// The demo page's KV cache switch and Experiment panel in headless Chromium (as tests/web.test.mjs drives the
// page): with the "KV cache" box unticked a generation gives the text Node gives with kvCache: false (and with
// the cache); the panel runs the classic setting (29 prompt tokens, 100 new, greedy) both ways through the
// worker and draws two series of 100 points, with equal texts. Timing is not asserted (a loaded machine can
// make any single run slow). Leaves a screenshot in build/artifacts/web-experiment.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../tools/serve.mjs';
import { RingLM } from '../wasm/ringlm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'build/artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let server, browser;

before(async () => {
  for (const file of ['dist/ringlm.mjs', 'dist/ringlm.wasm']) assert.ok(existsSync(path.join(ROOT, file)), `${file} is missing: npm run build`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`npm run setup\` (or set CHROMIUM_PATH)`);
  server = await startServer({ port: 0, root: ROOT });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the KV cache switch and the Experiment panel', { timeout: 240_000 }, async () => {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  await page.goto(`${server.url}web/`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  const url = await page.$eval('#model-name', (element) => element.dataset.url);
  const lm = await RingLM.load(path.join(ROOT, decodeURIComponent(new URL(url).pathname).slice(1)));
  try {
    // The switch comes from the core's option schema, ticked as its default says.
    assert.equal(await page.isChecked('#sampling [name="kvCache"]'), true);
    const options = { temperature: 0, maxTokens: 24, seed: 1 };
    await page.fill('#prompt', 'And God said');
    for (const [name, value] of Object.entries(options)) await page.fill(`#sampling [name="${name}"]`, String(value));
    await page.uncheck('#sampling [name="kvCache"]');
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
      null, { timeout: 60_000 });
    const shown = await page.$eval('#completion', (element) => element.textContent);
    const uncached = await lm.complete('And God said', { ...options, kvCache: false });
    const cached = await lm.complete('And God said', options);
    assert.equal(shown, uncached.text, 'the page without the cache shows what Node gives without it');
    assert.equal(uncached.text, cached.text);
    await page.check('#sampling [name="kvCache"]');

    // The panel: open it, run the classic setting (its defaults), wait for the chart.
    await page.click('#experiment-title');
    assert.equal(await page.inputValue('#experiment-prompt-tokens'), '29');
    assert.equal(await page.inputValue('#experiment-max-tokens'), '100');
    await page.click('#experiment-run');
    await page.waitForSelector('#experiment-chart svg', { timeout: 200_000 });
    const chart = await page.evaluate(() => ({
      series: [...document.querySelectorAll('#experiment-chart polyline')].map((line) => ({
        name: line.dataset.series, points: line.getAttribute('points').trim().split(/\s+/).length,
      })),
      legend: [...document.querySelectorAll('#experiment-chart .legend text')].map((t) => t.textContent),
      axes: document.querySelectorAll('#experiment-chart .axis').length,
      texts: document.getElementById('experiment-texts').textContent,
      speedup: document.getElementById('experiment-speedup').textContent,
    }));
    assert.deepEqual(chart.series, [{ name: 'KV cache', points: 100 }, { name: 'no cache', points: 100 }]);
    assert.deepEqual(chart.legend, ['KV cache', 'no cache']);
    assert.equal(chart.axes, 2);
    assert.equal(chart.texts, 'equal');
    assert.match(chart.speedup, /^\d+\.\d\d×$/);
    assert.equal(await page.isEnabled('#generate'), true, 'the page is ready again');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('.experiment-card').screenshot({ path: path.join(ARTIFACTS, 'web-experiment.png') });
    assert.deepEqual(problems, []);
  } finally {
    lm.dispose();
    await page.close();
  }
});
