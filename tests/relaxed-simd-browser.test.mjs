// The opt-in relaxed-SIMD builds in Chromium, which runs relaxed SIMD by default: on
// tests/browser/harness.html (cross-origin isolated, so the threaded builds run too), the same logits
// as the default builds, bit for bit, on the K-quant and Q4_0 models and a Q8_0 one, on one thread and
// on two (tests/browser/relaxed-simd.mjs; tests/relaxed-simd.test.mjs does the same in Node).
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePageServer, openHarness } from './browser/chromium.mjs';

const MODELS = ['k256-q4_k.gguf', 'k256-q5_k.gguf', 'k256-q6_k.gguf', 'mix-q4_k_m.gguf', 'qwen3-q4_k_m.gguf', 'gqa-q4_0.gguf',
  'gqa-q8_0.gguf'];
const THREADED_MODELS = ['mix-q4_k_m.gguf', 'k256-q5_k.gguf', 'gqa-q4_0.gguf'];

let page;
const chromium = usePageServer({
  harness: true,
  built: ['dist/ringlm.mjs', 'dist/ringlm-relaxed.mjs', 'dist/ringlm-relaxed.wasm', 'dist/ringlm-relaxed-mt.mjs',
    'dist/ringlm-relaxed-mt.wasm', ...MODELS.map((m) => `build/models/${m}`)],
  howToMake: 'npm run build && node tools/make-test-models.mjs',
}, async ({ server, browser }) => {
  page = await browser.newPage();
  await openHarness(page, server);
});

test('in Chromium the relaxed-SIMD build gives the default build\'s logits, bit for bit', { timeout: 300_000 }, async () => {
  assert.ok(chromium.browser);
  const { validates, results } = await page.evaluate(async (models) => {
    const { compareBuilds } = await import('/tests/browser/relaxed-simd.mjs');
    const wasm = await (await fetch('/dist/ringlm-relaxed.wasm')).arrayBuffer();
    return {
      validates: WebAssembly.validate(wasm),
      results: await compareBuilds(window.RingLM, models.map((m) => `/build/models/${m}`), { cache: false }),
    };
  }, MODELS);
  assert.equal(validates, true, 'Chromium validates dist/ringlm-relaxed.wasm');
  results.forEach(({ steps, vocab, compared, firstDiff }, i) => {
    assert.ok(steps === 25 && vocab > 0 && compared === steps * vocab, `${MODELS[i]}: compared ${compared} logits`);
    assert.equal(firstDiff, null, `${MODELS[i]}: first logit that differs: ${JSON.stringify(firstDiff)}`);
  });
});

test('in Chromium the threaded relaxed-SIMD build gives the threaded default build\'s logits on two threads', { timeout: 300_000 }, async () => {
  assert.ok(chromium.browser);
  const { isolated, validates, results } = await page.evaluate(async (models) => {
    const { compareBuilds } = await import('/tests/browser/relaxed-simd.mjs');
    const wasm = await (await fetch('/dist/ringlm-relaxed-mt.wasm')).arrayBuffer();
    return {
      isolated: globalThis.crossOriginIsolated,
      validates: WebAssembly.validate(wasm),
      results: await compareBuilds(window.RingLM, models.map((m) => `/build/models/${m}`), { cache: false, threads: 2 }),
    };
  }, THREADED_MODELS);
  assert.equal(isolated, true, 'the harness page is cross-origin isolated (threads need it)');
  assert.equal(validates, true, 'Chromium validates dist/ringlm-relaxed-mt.wasm');
  results.forEach(({ steps, vocab, compared, firstDiff }, i) => {
    assert.ok(steps === 25 && vocab > 0 && compared === steps * vocab, `${THREADED_MODELS[i]}: compared ${compared} logits`);
    assert.equal(firstDiff, null, `${THREADED_MODELS[i]}: first logit that differs: ${JSON.stringify(firstDiff)}`);
  });
});
