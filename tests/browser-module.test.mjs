// The wasm module in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens tests/browser/module.html from tools/serve.mjs. The page imports
// /wasm/ringlm.js (which imports /dist/ringlm.mjs), fetches the test model, loads it and prefills a
// fixed prompt, on the page and in a module Web Worker. Both results must equal Node's for the
// same call: the same wasm binary computes the same floats in every host.
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).
// Leaves a screenshot in build/artifacts/browser-module.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, CHROMIUM, CHROMIUM_ARGS, assertBuilt, assertChromium, startPageServer, watchPage } from './browser/chromium.mjs';
import { MODEL_PATH, prefillSummary } from './browser/worker.mjs';

const ARTIFACTS = path.join(ROOT, 'build/artifacts');

let server;
let userDataDir;
let context;

before(async () => {
  assertBuilt(['dist/ringlm.mjs', 'dist/ringlm.wasm', MODEL_PATH], 'npm run build && node tools/make-test-models.mjs');
  assertChromium();
  server = await startPageServer({ harness: true });
  userDataDir = mkdtempSync(path.join(tmpdir(), 'ringlm-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the module gives the same logits in a page, a module Web Worker and Node', { timeout: 120_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watchPage(page);  // failed requests are reported (with their URL) by the response handler below
  page.on('response', (response) => {
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
      problems.push(`HTTP ${response.status()} for ${response.url()}`);
    }
  });

  await page.goto(`${server.url}tests/browser/module.html`);
  await page.waitForFunction(() => window.testResult !== undefined, null, { timeout: 30_000 });
  const result = await page.evaluate(() => window.testResult);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'browser-module.png'), fullPage: true });

  assert.ok(result.ok, `the page reported: ${result.error}\n${problems.join('\n')}`);
  assert.deepEqual(problems, []);
  assert.equal(result.crossOriginIsolated, true, 'the server sends COOP/COEP: the page must be isolated');

  const node = await prefillSummary(readFileSync(path.join(ROOT, MODEL_PATH)));
  assert.equal(node.lastLogits.length, node.info.vocabSize);
  assert.ok(node.lastLogits.every(Number.isFinite), 'Node: every logit is finite');

  const plain = (value) => JSON.parse(JSON.stringify(value));
  assert.deepEqual(plain(result.page.info), plain(node.info), 'model info: page vs Node');
  assert.deepEqual(plain(result.worker.info), plain(node.info), 'model info: worker vs Node');
  assert.equal(node.chat, '<user>HI<s>', 'a chat template in Node');
  assert.equal(result.page.chat, node.chat, 'a chat template: page vs Node');
  assert.equal(result.worker.chat, node.chat, 'a chat template: worker vs Node');
  assert.deepEqual(result.page.firstLogits, node.firstLogits, 'first logits: page vs Node');
  assert.deepEqual(result.worker.firstLogits, result.page.firstLogits, 'first logits: worker vs page');
  assert.deepEqual(result.page.lastLogits, node.lastLogits, 'all last-position logits: page vs Node');
  assert.deepEqual(result.worker.lastLogits, node.lastLogits, 'all last-position logits: worker vs Node');
});
