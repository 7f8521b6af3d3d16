// The demo page's KV cache switch and Experiment panel in headless Chromium (as tests/web.test.mjs drives the
// page): with the "KV cache" box unticked a generation gives the text Node gives with kvCache: false (and with
// the cache); the panel runs the classic setting (29 prompt tokens, 100 new, greedy) both ways through the
// worker and draws two series of 100 points, with equal texts (Node's greedy text) and a speed-up above 1. Only that
// much of the timing is asserted: without the cache the run does about 60 times the work, which no load on the
// machine hides, while any finer figure could be. Leaves a screenshot in build/artifacts/web-experiment.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, openDemo, usePageServer, watchPage } from './browser/chromium.mjs';
import { RingLM } from '../wasm/ringlm.js';
import { experimentPrompt } from '../wasm/lib/experiment.js';

const ARTIFACTS = path.join(ROOT, 'build/artifacts');

const shared = usePageServer({ built: ['dist/ringlm.mjs', 'dist/ringlm.wasm'] });

test('the KV cache switch and the Experiment panel', { timeout: 240_000 }, async () => {
  const page = await (await shared.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const problems = watchPage(page);
  await openDemo(page, shared.server);
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
      text: document.getElementById('experiment-text').textContent,
      speedup: document.getElementById('experiment-speedup').textContent,
      totals: [...document.querySelectorAll('#experiment-summary dd')].map((dd) => dd.textContent)
        .flatMap((t) => /^100 tokens in ([\d,.]+) ms/.exec(t)?.[1].replaceAll(',', '') ?? []).map(Number),
      values: [...document.querySelectorAll('#experiment-chart polyline')].map((line) =>
        line.getAttribute('points').trim().split(/\s+/).map((p) => p.split(',').map(Number))),
    }));
    assert.deepEqual(chart.series, [{ name: 'KV cache', points: 100 }, { name: 'no cache', points: 100 }]);
    assert.deepEqual(chart.legend, ['KV cache', 'no cache']);
    assert.equal(chart.axes, 2);
    assert.equal(chart.texts, 'equal');
    // The text both runs gave is the greedy text Node gives for the same 29-token prompt, with the cache and without.
    const ids = experimentPrompt(lm, { promptTokens: 29 });
    assert.equal(ids.length, 29);
    for (const kvCache of [true, false]) {
      const want = await lm.complete(ids, { temperature: 0, maxTokens: 100, contextPolicy: 'stop', seed: 0, kvCache });
      assert.equal(want.tokens.length, 100);
      assert.equal(chart.text, want.text, `the page's text is Node's greedy text (kvCache ${kvCache})`);
    }
    // Every point is a number inside the plot; the factor is the ratio of the totals shown, and above 1: without
    // the cache the 100 tokens re-run 29 to 128 tokens each (the work of about 7,800 tokens against 129).
    for (const line of chart.values) assert.ok(line.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && y >= 0), 'points');
    assert.match(chart.speedup, /^\d+\.\d\d×$/);
    const speedup = Number(chart.speedup.slice(0, -1));
    assert.ok(speedup > 1, `the KV cache is faster: ${chart.speedup}`);
    assert.equal(chart.totals.length, 2, `two totals: ${chart.totals}`);
    assert.ok(Math.abs(chart.totals[1] / chart.totals[0] - speedup) <= 0.02 * speedup, `${chart.totals} against ${speedup}`);
    assert.equal(await page.isEnabled('#generate'), true, 'the page is ready again');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('.experiment-card').screenshot({ path: path.join(ARTIFACTS, 'web-experiment.png') });
    assert.deepEqual(problems, []);
  } finally {
    lm.dispose();
    await page.close();
  }
});
