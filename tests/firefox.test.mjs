// A second browser engine: Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi; Debian
// has no geckodriver package, and BiDi needs none). The same checks as in Chromium:
//   - the package's browser test (tests/browser/module.html): the module gives Node's logits, bit for bit, in a
//     page and in a module Web Worker;
//   - the demo page: it loads its model, a seeded generation shows the text Node generates, Stop ends a
//     generation, a missing URL shows its error and the model in use stays usable;
//   - the misuse cases of tests/browser/misuse.mjs;
//   - the download cache in the origin private file system (tests/cache-browser.test.mjs has more in Chromium).
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both), and firefox-esr
// (`npm run setup` installs it). Leaves a screenshot in build/artifacts/firefox-demo.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

import { startServer, PAGE_MOUNTS } from '../tools/serve.mjs';
import { RingLM } from '../wasm/ringlm.js';
import { MODEL_PATH, prefillSummary } from './browser/worker.mjs';
import { misuseCases } from './browser/misuse.mjs';
import { writeMisuseModels } from './robustness/misuse-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const ARTIFACTS = path.join(ROOT, 'build/artifacts');
const PROMPT = 'In the beginning';
const OPTIONS = { temperature: 0.9, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 48, seed: 1234 };

let server;
let browser;
const models = new Map();  // file -> RingLM in this process, the reference
const misuseModels = writeMisuseModels(ROOT).urls;

before(async () => {
  for (const file of ['dist/ringlm.mjs', 'dist/ringlm.wasm', MODEL_PATH]) {
    assert.ok(existsSync(path.join(ROOT, file)), `${file} is missing: run \`npm run build && node tools/make-test-models.mjs\` first`);
  }
  assert.ok(existsSync(FIREFOX), `${FIREFOX} is missing: run \`npm run setup\` (it installs firefox-esr), or set FIREFOX_PATH`);
  server = await startServer({ port: 0, root: ROOT, mounts: [...PAGE_MOUNTS, { url: '/tests/browser/', dir: 'tests/browser' }] });
  browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, protocol: 'webDriverBiDi' });
});

after(async () => {
  await browser?.close();
  await server?.close();
  for (const lm of models.values()) lm.dispose();
});

async function nodeModel(file) {
  if (!models.has(file)) models.set(file, await RingLM.load(path.join(ROOT, file)));
  return models.get(file);
}

/** A new tab on `url`; `problems` collects uncaught errors and console errors. */
async function open(url) {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource|HTTP 404/.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

const state = (page) => page.evaluate(() => document.body.dataset.state);
// Generous: the first load compiles the wasm and the model in a fresh Firefox, which on a loaded machine
// took over a minute once. A timeout says where the page was.
async function waitForState(page, wanted) {
  try {
    await page.waitForFunction((wanted) => document.body.dataset.state === wanted, { timeout: 150_000 }, wanted);
  } catch (error) {
    const where = await page.evaluate(() => `state '${document.body.dataset.state}', status '${document.getElementById('status')?.textContent}'`)
      .catch(() => 'the page did not answer');
    throw new Error(`waiting for state '${wanted}': ${error.message} (${where})`);
  }
}

/** Sets the sampling form's fields (named as generate()'s options) and the prompt, as a person typing would. */
async function fillForm(page, prompt, options) {
  await page.evaluate((prompt, options) => {
    const set = (element, value) => {
      element.value = String(value);
      element.dispatchEvent(new Event('input', { bubbles: true }));
      element.dispatchEvent(new Event('change', { bubbles: true }));
    };
    set(document.getElementById('prompt'), prompt);
    for (const [name, value] of Object.entries(options)) set(document.querySelector(`#sampling [name="${name}"]`), value);
  }, prompt, options);
}

test('Firefox: the module gives the same logits in a page, a module Web Worker and Node', { timeout: 120_000 }, async () => {
  const { page, problems } = await open(`${server.url}tests/browser/module.html`);
  try {
    await page.waitForFunction(() => window.testResult !== undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => window.testResult);
    assert.ok(result.ok, `the page reported: ${result.error}\n${problems.join('\n')}`);
    assert.equal(result.crossOriginIsolated, true, 'COOP/COEP make the page cross-origin isolated in Firefox too');
    const node = await prefillSummary(readFileSync(path.join(ROOT, MODEL_PATH)));
    const plain = (value) => JSON.parse(JSON.stringify(value));
    assert.deepEqual(plain(result.page.info), plain(node.info), 'model info: page vs Node');
    assert.equal(result.page.chat, node.chat, 'a chat template: page vs Node');
    assert.equal(result.worker.chat, node.chat, 'a chat template: worker vs Node');
    assert.deepEqual(result.page.firstLogits, node.firstLogits, 'first logits: page vs Node');
    assert.deepEqual(result.page.lastLogits, node.lastLogits, 'all last-position logits: page vs Node');
    assert.deepEqual(result.worker.lastLogits, node.lastLogits, 'all last-position logits: worker vs Node');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('Firefox: the demo page generates what Node generates, stops, and survives a bad URL', { timeout: 300_000 }, async () => {
  const { page, problems } = await open(`${server.url}web/`);
  try {
    await waitForState(page, 'ready');
    const url = await page.$eval('#model-name', (element) => element.dataset.url);
    const file = decodeURIComponent(new URL(url).pathname).slice(1);
    const lm = await nodeModel(file);

    await fillForm(page, PROMPT, OPTIONS);
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
      { timeout: 60_000 });
    const shown = await page.$eval('#completion', (element) => element.textContent);
    const expected = await lm.complete(PROMPT, OPTIONS);
    assert.equal(shown, expected.text, 'the page shows the text Node generates');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'firefox-demo.png'), fullPage: true });

    // Stop: a long generation ends at once with 'aborted'. On a model that practically never ends its text by
    // itself (1 end-of-text token in 32,000), so that it is still running however late the click comes.
    await page.goto(`${server.url}web/?model=/build/models/vocab32k-q8_0.gguf`);
    await waitForState(page, 'ready');
    await fillForm(page, PROMPT, { ...OPTIONS, maxTokens: 100_000 });
    await page.click('#generate');
    await page.waitForFunction(() => document.getElementById('completion').textContent.length > 0, { timeout: 60_000 });
    await page.click('#stop');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
      { timeout: 60_000 });
    assert.equal(await page.$eval('#finish', (element) => element.dataset.reason), 'aborted');

    // A URL that is not there: its error, and the model stays in use.
    const name = await page.$eval('#model-name', (element) => element.textContent);
    await page.evaluate((href) => {
      document.getElementById('model-url').value = href;
      document.querySelector('#url-form button[type=submit]').click();
    }, `${server.url}build/models/no-such-model.gguf`);
    await page.waitForFunction(() => !document.getElementById('load-error').hidden, { timeout: 60_000 });
    await waitForState(page, 'ready');
    assert.equal(await page.$eval('#load-error .alert-title', (element) => element.textContent), 'Could not download no-such-model.gguf');
    assert.equal(await page.$eval('#model-name', (element) => element.textContent), name);
    await fillForm(page, PROMPT, OPTIONS);
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
      { timeout: 60_000 });
    const again = await (await nodeModel('build/models/vocab32k-q8_0.gguf')).complete(PROMPT, OPTIONS);
    assert.equal(await page.$eval('#completion', (element) => element.textContent), again.text, 'the model still generates as Node does');
    assert.deepEqual(problems, []);
    assert.equal(await state(page), 'ready');
  } finally {
    await page.close();
  }
});

test('Firefox: misuse of the API (tests/browser/misuse.mjs)', { timeout: 180_000 }, async (t) => {
  const { page, problems } = await open(`${server.url}tests/browser/harness.html`);
  try {
    await page.waitForFunction(() => window.harnessReady === true, { timeout: 60_000 });
    for (const name of Object.keys(misuseCases)) {
      await t.test(name, () => page.evaluate((name, model, twin) => window.misuseCases[name](window.RingLM, model, twin),
        name, misuseModels.model, misuseModels.twin));
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('Firefox: a URL is kept in the origin private file system, loads from it, and is listed and deleted', { timeout: 120_000 }, async () => {
  const { page, problems } = await open(`${server.url}tests/browser/harness.html`);
  try {
    await page.waitForFunction(() => window.harnessReady === true, { timeout: 60_000 });
    const r = await page.evaluate(async (url) => {
      const { RingLM } = window;
      await RingLM.cache.clear();
      const run = async () => {
        const phases = new Set();
        const lm = await RingLM.load(url, { contextSize: 32, onProgress: (p) => phases.add(p.phase) });
        const logits = Array.from(lm.prefill([1, 5, 7]).slice(0, 32));
        lm.dispose();
        return { logits, phases: [...phases] };
      };
      const first = await run();
      const second = await run();
      const listed = await RingLM.cache.list();
      const deleted = await RingLM.cache.delete(url);
      return { first, second, listed, deleted, after: await RingLM.cache.list(), where: await RingLM.cache.location() };
    }, `${server.url}${MODEL_PATH}`);
    assert.deepEqual(r.first.phases, ['download', 'read'], 'downloaded into the store, then read from it');
    assert.deepEqual(r.second.phases, ['read'], 'the second load reads the stored copy');
    assert.deepEqual(r.second.logits, r.first.logits);
    const node = await nodeModel(MODEL_PATH);
    node.reset();
    assert.deepEqual(r.first.logits, Array.from(node.prefill([1, 5, 7]).slice(0, 32)), 'the stored bytes are the file');
    node.reset();
    assert.deepEqual(r.listed.map((e) => [e.url, e.complete, e.size]),
      [[`${server.url}${MODEL_PATH}`, true, readFileSync(path.join(ROOT, MODEL_PATH)).length]]);
    assert.equal(r.deleted, true);
    assert.deepEqual(r.after, []);
    assert.match(r.where, /origin private file system/);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
