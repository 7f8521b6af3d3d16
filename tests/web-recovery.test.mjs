// The demo page survives failure (Chromium, through the page's ?test-hooks; web/app.js, "the worker"):
//   - the Web Worker ends behind the page's back (as a crash, or the browser ending it for lack of memory, would)
//     while idle and while generating: the page says so, starts a new worker and loads its model again, without
//     a page reload, and then generates what Node generates;
//   - an uncaught error in the worker: the same;
//   - the worker dies while loading another model (as one running out of memory there would): the load's alert
//     names the model and memory, and the model loaded before is back and usable;
//   - a worker that dies each time the model loads: one restart to reload it, then the page stops and says so
//     (no restart loop), and a model loaded afterwards works.
// (A file that fails to load, and one too big for the memory budget, leave the model in use: tests/web.test.mjs.)
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { ROOT, usePageServer, waitForDemo } from './browser/chromium.mjs';
import { RingLM } from '../wasm/ringlm.js';

// A model that practically never ends its text by itself (1 end-of-text token in 32,000): a generation is still
// running whenever the test kills the worker.
const MODEL = 'build/models/vocab32k-q8_0.gguf';
const OTHER = 'build/models/tied-q4_0.gguf';
const PROMPT = 'In the beginning';
const OPTIONS = { temperature: 0.9, maxTokens: 24, seed: 77 };

let lm;  // MODEL in Node: the reference

const shared = usePageServer({
  built: ['dist/ringlm.mjs', MODEL, OTHER],
  howToMake: 'npm run build && node tools/make-test-models.mjs',
}, async () => {
  lm = await RingLM.load(path.join(ROOT, MODEL));
});

after(() => lm?.dispose());

/** The page with its test hooks, on MODEL, ready; `problems` collects page errors. */
async function openPage() {
  const page = await shared.browser.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${shared.server.url}web/?test-hooks&model=/${MODEL}`);
  await waitForDemo(page);
  return { page, problems };
}

const alert = (page, id) => page.evaluate((id) => {
  const box = document.getElementById(id);
  return { hidden: box.hidden, title: box.querySelector('.alert-title').textContent, hint: box.querySelector('.alert-hint')?.textContent ?? '' };
}, id);
const workersStarted = (page) => page.evaluate(() => window.ringlmTest.workersStarted());

/** Generates with OPTIONS (and `more`) and returns the text the page shows. */
async function generate(page, more = {}) {
  await page.fill('#prompt', PROMPT);
  for (const [name, value] of Object.entries({ ...OPTIONS, ...more })) await page.fill(`#sampling [name="${name}"]`, String(value));
  await page.click('#generate');
  if (more.maxTokens > OPTIONS.maxTokens) return null;  // the caller ends it
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
    null, { timeout: 60_000 });
  return page.textContent('#completion');
}

/** After a restart: the alert says what happened, the same model is back, and it generates as Node does. */
async function checkRecovered(page, startedBefore) {
  await page.waitForFunction(() => !document.getElementById('engine-error').hidden, null, { timeout: 30_000 });
  const shown = await alert(page, 'engine-error');
  assert.equal(shown.title, 'The engine stopped, and was restarted');
  assert.equal(shown.hint, `${path.basename(MODEL)} is loaded again; the text generated so far stays on the page.`);
  await waitForDemo(page);
  assert.equal(await workersStarted(page), startedBefore + 1, 'one new worker');
  assert.equal(await page.textContent('#model-name'), path.basename(MODEL));
  assert.equal(await generate(page), (await lm.complete(PROMPT, OPTIONS)).text, 'the page generates as Node does again');
}

test('the worker killed while idle: the page says so, restarts it and reloads the model', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    assert.equal(await generate(page), (await lm.complete(PROMPT, OPTIONS)).text);
    const started = await workersStarted(page);
    await page.evaluate(() => window.ringlmTest.killWorker());
    await checkRecovered(page, started);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the worker killed mid-generation: the generation fails with the reason, its text stays, the model comes back', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    const started = await workersStarted(page);
    await generate(page, { maxTokens: 100_000 });
    await page.waitForFunction(() => document.getElementById('completion').textContent.length > 20, null, { timeout: 60_000 });
    await page.evaluate(() => window.ringlmTest.killWorker());
    await page.waitForFunction(() => !document.getElementById('generate-error').hidden, null, { timeout: 30_000 });
    assert.equal((await alert(page, 'generate-error')).title, 'Generation failed');
    assert.match(await page.textContent('#generate-error .alert-detail'), /Web Worker stopped/);
    const partial = await page.textContent('#completion');
    assert.ok(partial.length > 20, 'the text generated before the crash is still shown');
    await checkRecovered(page, started);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('an uncaught error in the worker: the page restarts it and reloads the model', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    const started = await workersStarted(page);
    await page.evaluate(() => window.ringlmTest.throwInWorker());
    await checkRecovered(page, started);
    assert.match(await page.textContent('#engine-error .alert-detail'), /an uncaught error in the worker/);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the worker dies while loading another model: the load says so, the model before is back and usable', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    const started = await workersStarted(page);
    await page.evaluate(() => window.ringlmTest.dieDuringNextLoad());
    await page.fill('#model-url', `${shared.server.url}${OTHER}`);
    await page.click('#url-form button[type=submit]');
    await page.waitForFunction(() => !document.getElementById('load-error').hidden, null, { timeout: 30_000 });
    const error = await alert(page, 'load-error');
    assert.equal(error.title, `The engine stopped while loading ${path.basename(OTHER)}`);
    assert.match(error.hint, /too big for this browser's memory/);
    await checkRecovered(page, started);
    assert.equal((await alert(page, 'load-error')).hidden, false, 'the load\'s alert stays while the model comes back');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a worker that dies at every load: one restart to reload the model, then the page stops and says so; a later load works', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    const started = await workersStarted(page);
    await page.evaluate(() => {
      window.ringlmTest.everyWorkerDiesDuringLoad(true);
      window.ringlmTest.killWorker();
    });
    await page.waitForFunction(() => document.querySelector('#engine-error .alert-title').textContent === 'The engine stopped',
      null, { timeout: 30_000 });
    assert.equal((await alert(page, 'engine-error')).hint, 'Load a model to go on.');
    assert.equal((await alert(page, 'load-error')).title, `The engine stopped while loading ${path.basename(MODEL)}`);
    await page.waitForFunction(() => document.body.dataset.state === 'no-model', null, { timeout: 30_000 });
    assert.equal(await workersStarted(page), started + 1, 'one restart, for the reload; none after it failed');
    assert.equal(await page.textContent('#model-name'), 'No model loaded');

    await page.evaluate(() => window.ringlmTest.everyWorkerDiesDuringLoad(false));
    await page.fill('#model-url', `${shared.server.url}${MODEL}`);
    await page.click('#url-form button[type=submit]');
    await waitForDemo(page);
    assert.equal(await workersStarted(page), started + 2, 'the load started a worker');
    assert.equal((await alert(page, 'engine-error')).hidden, true, 'a load the person asks for clears the old alert');
    assert.equal(await generate(page), (await lm.complete(PROMPT, OPTIONS)).text);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
