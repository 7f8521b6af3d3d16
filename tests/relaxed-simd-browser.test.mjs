// The opt-in relaxed-SIMD build in Chromium, which runs relaxed SIMD by default: on
// tests/browser/harness.html, the same logits as the default build, bit for bit, on the K-quant
// and Q4_0 models and a Q8_0 one (tests/browser/relaxed-simd.mjs; tests/relaxed-simd.test.mjs does the same in Node).
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePageServer, openHarness } from './browser/chromium.mjs';

const MODELS = ['k256-q4_k.gguf', 'k256-q5_k.gguf', 'k256-q6_k.gguf', 'mix-q4_k_m.gguf', 'qwen3-q4_k_m.gguf', 'gqa-q4_0.gguf',
  'gqa-q8_0.gguf'];

let page;
const chromium = usePageServer({
  harness: true,
  built: ['dist/ringlm.mjs', 'dist/ringlm-relaxed.mjs', 'dist/ringlm-relaxed.wasm', ...MODELS.map((m) => `build/models/${m}`)],
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
