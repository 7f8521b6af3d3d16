// The demo page (web/) in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens /web/ from tools/serve.mjs. Texts are checked against RingLM in this Node process.
//
//   - at start the page loads the built-in default model, or the test model while models/ has none; it
//     generates with a fixed seed, streaming (many DOM updates before the end), and the text equals what
//     Node produces for the same model, prompt and options;
//   - Stop (button and Esc) ends a generation, and Generate (button and Ctrl+Enter) works again (on a
//     test model named with ?model= that practically never ends its text by itself);
//   - a corrupt file, a truncated one, an unsupported one, a model too big for memory and a missing URL each
//     show their error, and the page keeps its model and keeps working;
//   - a model loads from a URL (the progress bar counts its bytes) and from a dropped file;
//   - a model with a chat template offers a Chat switch: two turns, each reply as Node gives it;
//   - text the model emits (a stubbed worker reply, through the ?test-hooks hook in app.js) and file names
//     are shown as text: no element is created, no handler runs;
//   - served with COOP/COEP (as `npm start` does) the page is cross-origin isolated and its model runs on
//     threads (the threaded build: the page shows lm.info.threads); without those headers (a plain static
//     host) the page works too, single-threaded.
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both). Leaves
// screenshots in build/artifacts/web-demo.png (desktop) and web-demo-phone.png (390 px wide).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, usePageServer, waitForDemo, watchPage } from './browser/chromium.mjs';
import { startServer } from '../tools/serve.mjs';
import { RingLM } from '../wasm/ringlm.js';
import { GgufWriter } from '../tools/gguf/writer.mjs';
import { makeChatModels } from '../tools/gguf/chat-models.mjs';

const ARTIFACTS = path.join(ROOT, 'build/artifacts');
const FALLBACK_MODEL = 'build/models/gqa-q8_0.gguf';  // as FALLBACK_MODEL_URL in web/app.js

const PROMPT = 'In the beginning';
const OPTIONS = { temperature: 0.9, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 48, seed: 1234, contextPolicy: 'sinks' };

let plainServer;  // without COOP/COEP, as any static host (shared.server sends them, as `npm start` does)
let contexts;     // one browser context per server, shared by the tests (each opens its own page)
const models = new Map();  // file -> RingLM, the Node reference

const shared = usePageServer({
  built: ['dist/ringlm.mjs', 'dist/ringlm.wasm', FALLBACK_MODEL, 'build/models/vocab32k-q8_0.gguf', 'build/models/tied-q4_0.gguf'],
  howToMake: 'npm run build && node tools/make-test-models.mjs',
}, async ({ server, browser }) => {
  plainServer = await startServer({ port: 0, root: ROOT, isolation: false });
  contexts = new Map();
  for (const { url } of [server, plainServer]) contexts.set(url, await browser.newContext({ viewport: { width: 1280, height: 900 } }));
});

after(async () => {
  await plainServer?.close();
  for (const lm of models.values()) lm.dispose();
});

// ---- helpers ------------------------------------------------------------------------------------------

/**
 * Opens the page and waits until a model is loaded. `problems` collects page errors, console errors and
 * failed requests, except a 404 for the default model in models/ (expected while there is none yet) and
 * `allow`ed URLs.
 */
async function openPage({ base = shared.server.url, query = '', allow = [] } = {}) {
  const page = await contexts.get(base).newPage();
  const problems = watchPage(page);
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    dialog.dismiss();
  });
  page.on('response', (response) => {
    const url = response.url();
    const expected = /^\/models\/[^/]+\.gguf$/.test(new URL(url).pathname) || allow.some((a) => url.endsWith(a));
    if (response.status() >= 400 && !expected) problems.push(`HTTP ${response.status()} for ${url}`);
  });
  await page.goto(`${base}web/${query}`);
  await waitForDemo(page);
  return { page, problems, close: () => page.close() };
}

/** Fills the sampling form; the option names are the inputs' names. */
async function setOptions(page, options) {
  for (const [name, value] of Object.entries(options)) {
    const selector = `#sampling [name="${name}"]`;
    if (name === 'contextPolicy') await page.selectOption(selector, value);
    else await page.fill(selector, String(value));
  }
}

/** Waits for the generation that is running (or about to) to end; returns what the page shows. */
async function waitForFinish(page) {
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
    null, { timeout: 30_000 });
  return page.evaluate(() => ({
    text: document.getElementById('completion').textContent,
    reason: document.getElementById('finish').dataset.reason,
    finish: document.getElementById('finish').textContent,
    tokens: document.getElementById('stat-tokens').textContent,
    prefill: document.getElementById('stat-prefill').textContent,
    decode: document.getElementById('stat-decode').textContent,
    kv: document.getElementById('stat-kv').textContent,
  }));
}

async function generate(page, options) {
  await setOptions(page, options);
  await page.click('#generate');
  return waitForFinish(page);
}

/** The file the page loaded its model from, and that model in Node. */
async function referenceModel(page) {
  const url = await page.$eval('#model-name', (element) => element.dataset.url);
  assert.ok(url, 'the page names the URL of its model');
  return nodeModel(decodeURIComponent(new URL(url).pathname).slice(1));
}

/** The model in `file` (relative to the repository) loaded in Node, once. */
async function nodeModel(file) {
  const absolute = path.join(ROOT, file);
  if (!models.has(absolute)) models.set(absolute, await RingLM.load(absolute));
  return models.get(absolute);
}

const visibleAlert = (page, id) => page.waitForFunction((id) => !document.getElementById(id).hidden, id, { timeout: 30_000 });
const alertText = (page, id) => page.$eval(`#${id}`, (box) => ({
  title: box.querySelector('.alert-title').textContent,
  detail: box.querySelector('.alert-detail').textContent,
}));

/** Deterministic pseudo-random bytes (a 32-bit LCG). */
function noise(length, seed) {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    bytes[i] = x >>> 24;
  }
  return Buffer.from(bytes);
}

/**
 * The parameter count the page should show for a test model, from the shapes it was written with
 * (build/models/models.json), formatted as the page does.
 */
function testModelParameters(file) {
  const { models: written } = JSON.parse(readFileSync(path.join(ROOT, 'build/models/models.json'), 'utf8'));
  const { dim, layers, heads, kvHeads, ffn, vocab, tiedOutput } = written.find((m) => m.file === path.basename(file)).params;
  const kv = (dim / heads) * kvHeads;
  const perLayer = 2 * dim * dim + 2 * dim * kv + 3 * dim * ffn + 2 * dim;  // wq, wo, wk, wv, gate/up/down, 2 norms
  const n = vocab * dim * (tiedOutput ? 1 : 2) + layers * perLayer + dim;
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${(n / 1e3).toFixed(1)} K`;
}

// ---- tests --------------------------------------------------------------------------------------------

test('the page loads the model, streams a seeded generation, and shows what Node generates', { timeout: 90_000 }, async () => {
  const { page, problems, close } = await openPage();
  try {
    const kind = await page.$eval('#model-badge', (element) => element.dataset.kind);
    assert.ok(['default', 'fallback'].includes(kind), `loaded at start: the default or the test model (got ${kind})`);
    const lm = await referenceModel(page);
    const info = await page.$eval('#model-info', (element) => element.textContent);
    assert.match(info, new RegExp(lm.info.architecture));
    assert.match(info, new RegExp(`${lm.info.contextSize} tokens`));
    for (const type of lm.info.tensorTypes) assert.match(info, new RegExp(type));
    if (kind === 'fallback') assert.match(info, new RegExp(`Parameters${testModelParameters(FALLBACK_MODEL)}Tensor`));
    else assert.match(info, /Parameters\d/);
    assert.equal(await page.evaluate(() => typeof window.ringlmTest), 'undefined', 'no test hook without ?test-hooks');
    // COOP/COEP: the page is cross-origin isolated, so its worker runs the threaded build (the model info
    // shows lm.info.threads); the worker's module and the threads' Workers all loaded under COEP.
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    const threads = Number(/Threads(\d+)/.exec(info)?.[1]);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(threads, Math.min(cores, 8), `the page uses the threaded build (model info: ${info})`);
    assert.ok(cores < 2 || threads > 1, 'more than one thread where the machine has more than one core');

    // Every change to the output text, and whether the generation was still running when it happened.
    await page.evaluate(() => {
      window.updates = [];
      const completion = document.getElementById('completion');
      new MutationObserver(() => window.updates.push({ state: document.body.dataset.state, length: completion.textContent.length }))
        .observe(completion, { characterData: true, childList: true, subtree: true });
    });
    await page.fill('#prompt', PROMPT);
    const shown = await generate(page, OPTIONS);
    const expected = await lm.complete(PROMPT, OPTIONS);

    assert.equal(shown.text, expected.text, 'the page shows the text Node generates');
    assert.equal(shown.reason, expected.finishReason);
    assert.ok(expected.tokens.length >= 8, `a long enough generation to see streaming (${expected.tokens.length} tokens)`);
    const updates = await page.evaluate(() => window.updates);
    const whileRunning = new Set(updates.filter((u) => u.state === 'generating' && u.length > 0).map((u) => u.length));
    assert.ok(whileRunning.size >= 5, `the text grew in steps while generating (${whileRunning.size} distinct updates)`);

    assert.equal(shown.tokens, `${expected.tokens.length} / ${OPTIONS.maxTokens}`);
    assert.match(shown.prefill, /^[\d,.]+$/);
    assert.match(shown.decode, /^[\d,.]+$/);
    assert.equal(shown.kv, `${lm.cacheState.kept} / ${lm.cacheState.capacity}`, 'KV ring fill as lm.cacheState says');
    assert.match(shown.finish, /seed 1234/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-demo.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling on a phone');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-demo-phone.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('Stop and Esc end a generation; Generate and Ctrl+Enter work again afterwards', { timeout: 90_000 }, async () => {
  // A model that practically never ends its text (1 end-of-text token in a 32,000-token vocabulary), named
  // with ?model=: each generation runs until stopped, however slowly the test gets to press Stop.
  const file = 'build/models/vocab32k-q8_0.gguf';
  const { page, problems, close } = await openPage({ query: `?model=/${file}` });
  try {
    assert.equal(await page.textContent('#model-name'), path.basename(file));
    const lm = await nodeModel(file);
    await page.fill('#prompt', PROMPT);
    const long = { ...OPTIONS, maxTokens: 1_000_000, seed: 7 };
    await setOptions(page, long);

    const stopAfterSomeText = async (how) => {
      await page.waitForFunction(() => document.getElementById('completion').textContent.length >= 4, null, { timeout: 30_000, polling: 10 });
      await how();
      const shown = await waitForFinish(page);
      assert.equal(shown.reason, 'aborted', shown.finish);
      const generated = Number(shown.tokens.split(' / ')[0].replace(/,/g, ''));
      assert.ok(generated > 0 && generated < long.maxTokens, `stopped early (${shown.tokens})`);
      // What was shown is the start of what Node generates with the same seed.
      const expected = await lm.complete(PROMPT, { ...long, maxTokens: generated + 8 });
      assert.ok(expected.text.startsWith(shown.text), 'the stopped text is a prefix of Node\'s');
      assert.equal(await page.isDisabled('#generate'), false, 'Generate is enabled again');
      assert.equal(await page.isDisabled('#stop'), true);
    };

    await page.click('#generate');
    await stopAfterSomeText(() => page.click('#stop'));

    await page.focus('#prompt');
    await page.keyboard.press('Control+Enter');
    await stopAfterSomeText(() => page.keyboard.press('Escape'));

    const options = { ...OPTIONS, maxTokens: 16, seed: 99 };
    const shown = await generate(page, options);
    assert.equal(shown.text, (await lm.complete(PROMPT, options)).text, 'after stopping, a new generation is as Node\'s');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('bad files and URLs show clear errors, and the loaded model keeps working', { timeout: 90_000 }, async () => {
  const { page, problems, close } = await openPage({ allow: ['/build/models/no-such-model.gguf'] });
  try {
    const lm = await referenceModel(page);
    const modelName = await page.textContent('#model-name');
    const stillLoaded = async () => {
      await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 30_000 });
      assert.equal(await page.textContent('#model-name'), modelName, 'the model loaded before is still the one in use');
    };
    const upload = async (name, buffer) => {
      await page.evaluate(() => { document.getElementById('load-error').hidden = true; });
      await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer });
      await visibleAlert(page, 'load-error');
      await stillLoaded();
      return alertText(page, 'load-error');
    };

    // Random bytes, under a file name that is HTML: shown as text, never parsed.
    const htmlName = '<img src=x onerror="window.pwned=1">.gguf';
    let error = await upload(htmlName, noise(4096, 5));
    assert.equal(error.title, `${htmlName} is not a model ringlm can read`);
    assert.match(error.detail, /not a GGUF file/);
    assert.equal(await page.$('#load-error img'), null);

    // A real model cut short.
    const modelBytes = readFileSync(path.join(ROOT, FALLBACK_MODEL));
    error = await upload('cut.gguf', modelBytes.subarray(0, Math.floor(modelBytes.length / 2)));
    assert.equal(error.title, 'cut.gguf is not a model ringlm can read');
    assert.match(error.detail, /past the end of the file|cannot fit|ended/);

    // A well-formed GGUF file of an architecture ringlm does not run.
    const unsupported = new GgufWriter();
    unsupported.addString('general.architecture', 'no-such-architecture');
    error = await upload('other.gguf', Buffer.from(unsupported.toBuffer()));
    assert.equal(error.title, 'other.gguf is not a model ringlm can read');
    assert.match(error.detail, /no-such-architecture/);

    // A context too large for a 4 GiB address space: the memory error.
    await page.fill('#context-size', String(1 << 24));
    error = await upload('huge-context.gguf', modelBytes);
    assert.equal(error.title, 'huge-context.gguf is too big for this browser\'s memory');
    assert.match(error.detail, /memory limit|address space/);
    await page.fill('#context-size', '');

    // A URL that is not there.
    await page.evaluate(() => { document.getElementById('load-error').hidden = true; });
    await page.fill('#model-url', `${shared.server.url}build/models/no-such-model.gguf`);
    await page.click('#url-form button[type=submit]');
    await visibleAlert(page, 'load-error');
    await stillLoaded();
    error = await alertText(page, 'load-error');
    assert.equal(error.title, 'Could not download no-such-model.gguf');
    assert.match(error.detail, /HTTP 404/);

    await page.fill('#prompt', PROMPT);
    const shown = await generate(page, OPTIONS);
    assert.equal(shown.text, (await lm.complete(PROMPT, OPTIONS)).text, 'the page still generates as Node does');
    assert.equal(await page.evaluate(() => window.pwned), undefined, 'no handler from a file name ran');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('a model loads from a URL with a progress bar, and from a dropped file', { timeout: 60_000 }, async () => {
  const { page, problems, close } = await openPage();
  try {
    await page.evaluate(() => {
      window.progress = [];
      const text = document.getElementById('progress-text');
      new MutationObserver(() => window.progress.push(text.textContent)).observe(text, { childList: true, characterData: true, subtree: true });
    });
    const file = 'build/models/vocab32k-q8_0.gguf';  // 5 MB: many chunks
    const bytes = readFileSync(path.join(ROOT, file));
    await page.fill('#model-url', `${shared.server.url}${file}`);
    await page.click('#url-form button[type=submit]');
    await page.waitForFunction(() => document.body.dataset.state === 'ready'
      && document.getElementById('model-name').textContent === 'vocab32k-q8_0.gguf', null, { timeout: 30_000 });
    assert.equal(await page.$eval('#model-badge', (element) => element.textContent), 'from a URL');
    assert.match(await page.textContent('#model-info'), /Vocabulary32,000/);
    const progress = await page.evaluate(() => window.progress);
    const total = `${(bytes.length / 2 ** 20).toFixed(1)} MiB`;
    // In a page a URL goes through the download cache: a download counting up (unless an earlier test of this
    // browser context stored the file already), then the read from the cache (tests/cache-browser.test.mjs).
    const downloaded = progress.some((text) => text.includes(': downloading '));
    for (const doing of downloaded ? ['downloading', 'reading'] : ['reading']) {
      assert.ok(progress.some((text) => text === `vocab32k-q8_0.gguf: ${doing} ${total} of ${total} · 100%`),
        `the progress bar counted up to the whole file (${doing}):\n${progress.join('\n')}`);
    }
    assert.equal(await page.isHidden('#progress'), true, 'the progress bar is gone once loaded');

    // Drag and drop: a drop event carrying a test model's bytes as a file (one with tied embeddings and
    // Q4_0 weights: the hardest case for the page's parameter count).
    const dropped = 'build/models/tied-q4_0.gguf';
    const base64 = readFileSync(path.join(ROOT, dropped)).toString('base64');
    await page.evaluate((base64) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'dropped.gguf'));
      document.getElementById('output').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, base64);
    await page.waitForFunction(() => document.body.dataset.state === 'ready'
      && document.getElementById('model-name').textContent === 'dropped.gguf', null, { timeout: 30_000 });
    assert.equal(await page.$eval('#model-badge', (element) => element.textContent), 'your file');
    assert.match(await page.textContent('#model-info'), new RegExp(`Parameters${testModelParameters(dropped)}Tensor`));

    await page.fill('#prompt', PROMPT);
    const options = { ...OPTIONS, maxTokens: 16, seed: 3 };
    const shown = await generate(page, options);
    assert.equal(shown.text, (await (await nodeModel(dropped)).complete(PROMPT, options)).text);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('a model with a chat template offers Chat: each reply ends at the end of turn and joins the conversation', { timeout: 60_000 }, async () => {
  // Greedy, it answers every turn "Hello, world" and then <|im_end|> (tools/gguf/chat-models.mjs).
  const file = path.relative(ROOT, makeChatModels(path.join(ROOT, 'build/models')).chatml);
  const { page, problems, close } = await openPage({ query: `?model=/${file}` });
  try {
    assert.equal(await page.isVisible('#chat-toggle'), true, 'Chat is offered');
    await page.check('#chat-mode');
    assert.equal(await page.textContent('#prompt-label'), 'Message');
    await page.fill('#prompt', 'Hi there');
    const first = await generate(page, { temperature: 0 });
    assert.equal(first.text, 'Hello, world');
    assert.equal(first.reason, 'stop');
    assert.equal(await page.textContent('#echo'), 'You: Hi there\n\nAssistant: ');
    assert.equal(await page.inputValue('#prompt'), '', 'the message box is emptied for the next one');

    await page.fill('#prompt', 'How are you?');
    const second = await generate(page, { temperature: 0 });
    assert.equal(second.text, 'Hello, world');
    assert.equal(await page.textContent('#echo'), 'You: Hi there\n\nAssistant: Hello, world\n\nYou: How are you?\n\nAssistant: ');
    const lm = await nodeModel(file);
    const messages = [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello, world' }, { role: 'user', content: 'How are you?' }];
    let text = '';
    for await (const t of lm.chat(messages, { temperature: 0 })) text += t.text;
    assert.equal(second.text, text, 'the page answers as Node does');

    // A model without a template: no Chat switch, and Generate continues text again.
    await page.fill('#model-url', `${shared.server.url}${FALLBACK_MODEL}`);
    await page.click('#url-form button[type=submit]');
    await page.waitForFunction(() => document.body.dataset.state === 'ready'
      && document.getElementById('model-name').textContent === 'gqa-q8_0.gguf', null, { timeout: 30_000 });
    assert.equal(await page.isHidden('#chat-toggle'), true);
    assert.equal(await page.textContent('#prompt-label'), 'Prompt');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('model output that looks like HTML is shown as text and never runs', { timeout: 60_000 }, async () => {
  const { page, problems, close } = await openPage({ query: '?test-hooks' });
  try {
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    const texts = [
      'Before ',
      '<script>window.pwned = "script"</script>',
      '<img src=x onerror="window.pwned = \'img\'">',
      '<svg onload="window.pwned = \'svg\'"></svg>',
      '<b id="injected">bold</b> &amp; &lt;',
      '<iframe src="javascript:parent.pwned=\'iframe\'"></iframe> after',
    ];
    await page.evaluate((texts) => window.ringlmTest.fakeGeneration(texts), texts);
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason);
    await page.waitForTimeout(300);  // time for an injected handler to fire, if there were one

    const result = await page.evaluate(() => {
      const completion = document.getElementById('completion');
      return {
        text: completion.textContent,
        elements: completion.querySelectorAll('*').length,
        injected: document.querySelectorAll('#injected, #output img, #output script, #output svg, #output iframe, #output b').length,
        pwned: window.pwned,
      };
    });
    assert.equal(result.text, texts.join(''), 'the text is shown exactly as emitted');
    assert.equal(result.elements, 0, 'the output holds text only');
    assert.equal(result.injected, 0, 'no element was created from the output');
    assert.equal(result.pwned, undefined, 'no injected script or handler ran');
    assert.deepEqual(requests.filter((url) => /\/x$/.test(url)), [], 'the <img> was never requested');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('without COOP/COEP headers the page works too (not cross-origin isolated)', { timeout: 60_000 }, async () => {
  const { page, problems, close } = await openPage({ base: plainServer.url });
  try {
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
    assert.match(await page.textContent('#model-info'), /Threads1 \(page not cross-origin isolated\)/,
      'without isolation the single-threaded build runs');
    const lm = await referenceModel(page);
    await page.fill('#prompt', PROMPT);
    const options = { ...OPTIONS, maxTokens: 24, seed: 5 };
    const shown = await generate(page, options);
    assert.equal(shown.text, (await lm.complete(PROMPT, options)).text);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
