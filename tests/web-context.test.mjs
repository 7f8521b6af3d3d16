// The done-when check of issue 15: a Qwen3-0.6B-shaped file (its whole 151,936-token vocabulary, 28 layers of 8 KV
// heads of 128, trained context 40,960, a Q4_K_M-like mix; random weights, written here by bench/models.mjs on first
// use and never committed) loads in Chromium through the demo page's file picker, and, with no context size asked
// for, gets the largest context that fits the page's memory budget: its trained context's KV ring alone would take
// 8.75 GiB, more than the 4 GiB of wasm memory. Then it generates.
//
// Writing the file takes a few minutes the first time (bench/models.mjs keeps it in build/bench-models/); loading it
// puts about 3.5 GiB into the page's wasm memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { usePageServer, watchPage } from './browser/chromium.mjs';
import { benchModel, SHAPE_QWEN3_0_6B } from '../bench/models.mjs';

const MODEL = 'qwen3-0.6b-q4_k_m';
// One token of KV ring: keys and values, float32, of every layer's KV heads.
const KV_BYTES_PER_TOKEN = 2 * SHAPE_QWEN3_0_6B.layers * SHAPE_QWEN3_0_6B.kvHeads * SHAPE_QWEN3_0_6B.headDim * 4;

const shared = usePageServer({ built: ['dist/ringlm.wasm'] });

test('a Qwen3-0.6B-shaped file loads through the page with the largest context that fits', { timeout: 900_000 }, async () => {
  const file = benchModel(MODEL, { log: (m) => console.log(m) });
  assert.ok(SHAPE_QWEN3_0_6B.ctx * KV_BYTES_PER_TOKEN > 2 ** 32, 'the trained context must not fit 4 GiB');
  const page = await shared.browser.newPage();
  const problems = watchPage(page);
  try {
    await page.goto(`${shared.server.url}web/?test-hooks`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    await page.setInputFiles('#file-input', file);
    await page.waitForFunction((name) => document.body.dataset.state === 'ready'
      && document.getElementById('model-name').textContent === name, path.basename(file), { timeout: 600_000 });
    const info = await page.evaluate(() => window.ringlmTest.modelInfo());
    const limit = (await page.evaluate(() => window.ringlmTest.memoryLimit())) || 2 ** 32;
    assert.equal(info.architecture, 'qwen3');
    assert.equal(info.vocabSize, 151936);
    assert.equal(info.trainedContextSize, 40960);
    assert.equal(info.contextLimitedBy, 'memory');
    assert.ok(info.contextSize >= 4096 && info.contextSize < 40960 && info.contextSize % 256 === 0, `context ${info.contextSize}`);
    assert.equal(info.kvBytes, (info.contextSize + 32) * KV_BYTES_PER_TOKEN, 'the ring is the size of the context');
    // The largest that fits: within the limit less the headroom a picked context leaves, and 256 tokens more would not be.
    const room = limit - limit / 16;
    assert.ok(info.memoryBytes <= room, `${info.memoryBytes} bytes planned, limit ${limit}`);
    assert.ok(info.memoryBytes + 256 * KV_BYTES_PER_TOKEN > room, 'a larger context would have fit');
    const panel = await page.textContent('#model-info');
    assert.match(panel, /ArchitectureQwen 3 \(qwen3\)/);
    assert.ok(panel.includes(`Context${info.contextSize.toLocaleString('en-US')} tokens (trained 40,960; the largest that fits memory)`), panel);
    assert.match(panel, /Vocabulary151,936/);

    // It runs: a few tokens at the picked context.
    await page.fill('#prompt', 'Hello');
    await page.fill('#sampling [name="maxTokens"]', '4');
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
      null, { timeout: 300_000 });
    assert.equal(await page.$eval('#finish', (element) => element.dataset.reason), 'length');
    assert.deepEqual(problems, []);
    console.log(`# ${path.basename(file)} in Chromium: context ${info.contextSize} of ${info.trainedContextSize} trained, ` +
      `${(info.memoryBytes / 2 ** 30).toFixed(2)} GiB of a ${(limit / 2 ** 30).toFixed(2)} GiB limit`);
  } finally {
    await page.close();
  }
});
