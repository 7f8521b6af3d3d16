// The demo page's live KV ring picture (web/ring-view.js) in headless Chromium: the built-in model loaded with a
// ring of 32 slots generates well past it under 'sinks', 'shift' and 'stop'. The picture's figures must be those
// of lm.cacheState after the same generation in Node (capacity, the anchors kept, dropped tokens, the position),
// they must change while tokens stream (not only at the end; checked on the long 'sinks' and 'shift' runs: the
// 28 tokens 'stop' allows may take fewer frames than that), and each policy must show itself: tokens dropped
// under 'sinks' and 'shift' with the anchors kept, a full ring and a stop at the capacity under 'stop'.
// Leaves a screenshot per policy in build/artifacts/web-ring-<policy>.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, openDemo, usePageServer, watchPage } from './browser/chromium.mjs';
import { RingLM } from '../wasm/ringlm.js';

const ARTIFACTS = path.join(ROOT, 'build/artifacts');
const CAPACITY = 32;
const PROMPT = 'And God said';

const shared = usePageServer({ built: ['dist/ringlm.mjs', 'dist/ringlm.wasm'] });

/** The picture's text figures, by their data-figure names, and what its SVG draws. */
const readRing = (page) => page.evaluate(() => {
  const figures = Object.fromEntries([...document.querySelectorAll('#ring-view [data-figure]')].map((dd) => [dd.dataset.figure, dd.textContent]));
  const width = (selector) => Number(document.querySelector(`#ring-view ${selector}`).getAttribute('width'));
  return {
    figures,
    title: document.querySelector('#ring-view svg title').textContent,
    caption: document.querySelector('#ring-view .ring-caption').textContent,
    labels: [...document.querySelectorAll('#ring-view .ticks text')].map((t) => t.textContent),
    drawn: { anchors: width("[data-part=ring-anchors]"), window: width("[data-part=ring-window]"), dropped: width("[data-part=stream-dropped]") },
  };
});

test('the KV ring picture follows a generation past the context under sinks, shift and stop', { timeout: 240_000 }, async () => {
  const page = await (await shared.browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  const problems = watchPage(page);
  await openDemo(page, shared.server);
  const url = await page.$eval('#model-name', (element) => element.dataset.url);
  // Load the same model again with a small ring.
  await page.fill('#context-size', String(CAPACITY));
  await page.fill('#model-url', url);
  await page.click('#url-form button[type=submit]');
  await page.waitForFunction((capacity) => document.body.dataset.state === 'ready'
    && document.querySelector('#ring-view [data-figure="capacity"]')?.textContent === String(capacity), CAPACITY, { timeout: 60_000 });

  const lm = await RingLM.load(path.join(ROOT, decodeURIComponent(new URL(url).pathname).slice(1)), { contextSize: CAPACITY });
  try {
    for (const contextPolicy of ['sinks', 'shift', 'stop']) {
      // 'sinks' and 'shift' run long enough (about a second here) for many animation frames; 'stop' ends at 32.
      const options = { temperature: 0.8, seed: 7, maxTokens: 12 * CAPACITY };
      for (const [name, value] of Object.entries(options)) await page.fill(`#sampling [name="${name}"]`, String(value));
      await page.selectOption('#sampling [name="contextPolicy"]', contextPolicy);
      // Every position the picture shows while the tokens stream.
      await page.evaluate(() => {
        const position = document.querySelector('#ring-view [data-figure="position"]');
        window.ringPositions = [];
        new MutationObserver(() => {
          if (document.body.dataset.state === 'generating') window.ringPositions.push(position.textContent);
        }).observe(position, { childList: true, characterData: true, subtree: true });
      });
      await page.fill('#prompt', PROMPT);
      await page.click('#generate');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
        null, { timeout: 120_000 });
      const shown = await readRing(page);
      const live = await page.evaluate(() => new Set(window.ringPositions).size);
      const reason = await page.$eval('#finish', (element) => element.dataset.reason);

      const node = await lm.complete(PROMPT, { ...options, contextPolicy });
      const want = lm.cacheState;
      assert.equal(await page.$eval('#completion', (element) => element.textContent), node.text, `${contextPolicy}: the page's text is Node's`);
      assert.equal(reason, node.finishReason, contextPolicy);
      const f = shown.figures;
      const what = `${contextPolicy}: ${JSON.stringify(shown)} against ${JSON.stringify(want)}`;
      assert.equal(f.policy, contextPolicy, what);
      assert.equal(f.capacity, String(CAPACITY), what);
      assert.equal(f.position, String(want.position), what);
      assert.equal(f.dropped, String(want.dropped), what);
      assert.equal(f.anchors, String(Math.min(want.anchors, want.position)), what);
      assert.equal(f.window, `${want.position - want.windowStart} (${want.windowStart}–${want.position - 1})`, what);
      assert.ok(shown.drawn.window > 0, what);
      assert.match(shown.title, new RegExp(`KV ring of ${CAPACITY} slots under '${contextPolicy}'`));
      if (contextPolicy === 'stop') {
        assert.equal(reason, 'length', 'stop ends when the ring is full');
        assert.equal(f.position, String(CAPACITY), 'stop ends at the capacity');
        assert.equal(f.dropped, '0');
        assert.equal(f.held, `${CAPACITY} / ${CAPACITY}`);
        assert.ok(shown.labels.some((l) => l.startsWith('full: stopped')), what);
        assert.match(shown.caption, /the generation stopped/);
      } else {
        assert.ok(Number(f.position) > 2 * CAPACITY, `${contextPolicy}: the generation ran well past the ring: ${what}`);
        assert.ok(live >= 3, `${contextPolicy}: the picture moved while the tokens streamed (${live} positions shown)`);
        assert.ok(Number(f.dropped) > 0, `${contextPolicy}: tokens were dropped: ${what}`);
        assert.equal(f.anchors, '4', `${contextPolicy}: the first 4 tokens are kept (sinkTokens / keepTokens default)`);
        assert.ok(shown.drawn.anchors > 0 && shown.drawn.dropped > 0, what);
        assert.ok(shown.labels.includes(`4 ${contextPolicy === 'sinks' ? 'sinks' : 'kept'}`), what);
        if (contextPolicy === 'sinks') assert.equal(f.held, `${CAPACITY} / ${CAPACITY}`, 'the sinks window is always full');
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.locator('.ring-card').screenshot({ path: path.join(ARTIFACTS, `web-ring-${contextPolicy}.png`) });
    }
    assert.deepEqual(problems, []);
  } finally {
    lm.dispose();
    await page.close();
  }
});
