// The demo page's model picker, its offline copy and the chat it keeps across reloads, in headless Chromium
// (playwright-core) against tools/serve.mjs. No real network: the "suggested" files are small random test models
// written here and served locally, handed to the page with ?test-hooks&suggestions=<JSON> (web/app.js).
//
//   - the picker lists each suggested file with its size and whether this browser keeps it; Load downloads it
//     (the page's text then equals Node's for that file), Delete removes the kept copy; a URL typed in is
//     listed under "Also kept in this browser"; the model chosen last loads at the next visit when it is kept,
//     and is offered when it is not; a dropped file loads;
//   - the parts of a split GGUF file dropped together, in any order, load as one model (the page's text is Node's
//     for the file written whole); an incomplete set is refused with the part that is missing named, and the model
//     loaded before keeps running;
//   - with the server stopped after a first visit, a reload opens the page from its service worker's copies and
//     runs the built-in model, and a URL model from the download cache, with the text Node gives;
//   - a chat reloaded continues with the same tokens as Node's uninterrupted conversation, running only the new
//     turn's tokens (the KV state came back); "New chat" forgets it; a state saved with another file at the
//     same URL is refused and the page says so.
//
// Screenshots: build/artifacts/web-models.png, web-models-phone.png (390 px wide), web-models-chat.png,
// web-models-chat-phone.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ROOT, assertBuilt, launchChromium, startPageServer, waitForDemo, watchPage } from './browser/chromium.mjs';
import { RingLM } from '../wasm/ringlm.js';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';
import { addGpt2Tokenizer, END_OF_TEXT, TOKEN_TYPE } from '../tools/gguf/vocab-gpt2.mjs';
import { TEMPLATES } from '../tools/gguf/chat-models.mjs';

const ARTIFACTS = path.join(ROOT, 'build/artifacts');
const DIR = 'build/models/web-models';  // served under /build/models/
const GREEDY = { temperature: 0, maxTokens: 12, seed: 1 };

let browser;
const models = new Map();  // file -> RingLM in Node, the reference

/** Writes `bytes` to DIR/name through a rename (a reader never sees half a file); returns the repo path. */
function writeModel(name, bytes) {
  mkdirSync(path.join(ROOT, DIR), { recursive: true });
  const file = path.join(ROOT, DIR, name);
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return `${DIR}/${name}`;
}

/** A small random llama with the model's own noise for text (the built-in model's vocabulary is not needed). */
const plainWriter = (seed) => makeRandomLlama({ seed, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 512, ctx: 128, type: 'Q8_0' });
const plainModel = (seed) => plainWriter(seed).toBuffer();

/** Words the noisy chat model writes: each a whole GPT-2 token with its space, so a reply's text tokenizes back to
 *  the very tokens sampled, and chat() can continue from the cache after it. */
const WORDS = ['Ġthe', 'Ġcat', 'Ġdog', 'Ġand', 'Ġsat', 'Ġon', 'Ġa', 'Ġmat', 'Ġred', 'Ġblue', 'Ġsun', 'Ġmoon', 'Ġsea', 'Ġtree', 'Ġhouse', 'Ġbird'];

/**
 * A chat model whose replies are its random weights' noise over WORDS: unlike tools/gguf/chat-models.mjs's, whose
 * planted replies barely depend on the context, every word here depends on the whole KV cache, so a wrong
 * restored state shows as other words. ChatML template, GPT-2 vocabulary with <|im_start|> / <|im_end|>; every
 * output row but the WORDS' is zero, and theirs are scaled up, so the greedy pick is always one of them.
 */
function noisyChatModel(seed) {
  const w = makeRandomLlama({ seed, dim: 32, layers: 2, heads: 2, kvHeads: 2, ffn: 64, vocab: 50259, ctx: 256, name: `web-models-chat-${seed}` });
  for (const key of [...w.metadata.keys()]) if (key.startsWith('tokenizer.')) w.metadata.delete(key);
  addGpt2Tokenizer(w, { pre: 'qwen2', bos: END_OF_TEXT, eos: END_OF_TEXT,
    extra: [{ text: '<|im_start|>', type: TOKEN_TYPE.CONTROL }, { text: '<|im_end|>', type: TOKEN_TYPE.CONTROL }] });
  w.addString('tokenizer.chat_template', TEMPLATES.chatml);
  const tokens = w.metadata.get('tokenizer.ggml.tokens').value;
  const keep = new Set(WORDS.map((word) => {
    const id = tokens.indexOf(word);
    assert.ok(id >= 0, `no token ${word}`);
    return id;
  }));
  const t = w.tensors.find((x) => x.name === 'output.weight');
  const output = new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
  const dim = output.length / tokens.length;
  for (let id = 0; id < tokens.length; id++) {
    for (let i = 0; i < dim; i++) output[id * dim + i] = keep.has(id) ? 8 * output[id * dim + i] : 0;
  }
  return w.toBuffer();
}

const FILES = {};
before(async () => {
  assertBuilt(['dist/ringlm.mjs', 'dist/ringlm.wasm', 'models/ringlm-kjv-3.7m.gguf']);
  FILES.a = writeModel('picker-a.gguf', plainModel(101));
  FILES.b = writeModel('picker-b.gguf', plainModel(102));
  FILES.custom = writeModel('custom.gguf', plainModel(103));
  FILES.chat = writeModel('chat.gguf', noisyChatModel(104));
  FILES.splitWhole = writeModel('split-whole.gguf', plainWriter(106).toBuffer());
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const lm of models.values()) lm.dispose();
});

// ---- helpers ------------------------------------------------------------------------------------------

/** `file` (relative to the repository) loaded in Node, once; `reload` loads it afresh (the file changed). */
async function nodeModel(file, { reload = false } = {}) {
  if (reload) models.get(file)?.dispose();
  if (reload || !models.has(file)) models.set(file, await RingLM.load(path.join(ROOT, file)));
  return models.get(file);
}

const fileSize = (file) => statSync(path.join(ROOT, file)).size;

/** The page's query: the test hook and the suggested files (name, quant, listed size, URL on `server`). */
function pageQuery(server, files) {
  const suggestions = files.map((file) => ({ family: 'test', name: path.basename(file, '.gguf'), quant: '', size: fileSize(file), url: `${server.url}${file}` }));
  return `?test-hooks&suggestions=${encodeURIComponent(JSON.stringify(suggestions))}`;
}

/** Opens the page and waits until a model is loaded; `problems` collects page errors and console errors. */
async function openPage(context, url) {
  const page = await context.newPage();
  // Failed fetches are expected here (a model not kept yet is checked with HEAD; the server stopped).
  const problems = watchPage(page, /^Failed to load resource|net::ERR_/);
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    dialog.dismiss();
  });
  await page.goto(url);
  await waitForDemo(page);
  return { page, problems };
}


/** Waits until `name` is the loaded model and the page is ready. */
const loaded = (page, name) => page.waitForFunction((name) => document.body.dataset.state === 'ready'
  && document.getElementById('model-name').textContent === name, name, { timeout: 60_000 });

/** The picker's row for `url`: its status, the text under its name, and whether Load / Delete can be pressed. */
const row = (page, url) => page.evaluate((url) => {
  const li = [...document.querySelectorAll('.model-row')].find((r) => r.dataset.url === url);
  if (!li) return null;
  return {
    status: li.dataset.status,
    meta: li.querySelector('.model-row-meta').textContent,
    current: li.getAttribute('aria-current') === 'true',
    canLoad: !li.querySelector('[data-action=load]').disabled,
    canDelete: !li.querySelector('[data-action=delete]').disabled,
    list: li.parentElement.id,
  };
}, url);

const clickRow = (page, url, action) => page.click(`.model-row[data-url="${url}"] [data-action=${action}]`);

async function setOptions(page, options) {
  for (const [name, value] of Object.entries(options)) await page.fill(`#sampling [name="${name}"]`, String(value));
}

/** Generates with `options` (prompt or chat message already typed); resolves to the text and the finish line. */
async function generate(page, options) {
  await setOptions(page, options);
  await page.click('#generate');
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('finish').dataset.reason,
    null, { timeout: 60_000 });
  return page.evaluate(() => ({
    text: document.getElementById('completion').textContent,
    finish: document.getElementById('finish').textContent,
  }));
}

/** Drops `files` ({ name, bytes }) on the page together, as a file manager would hand them over. */
const dropFiles = (page, files) => page.evaluate((files) => {
  const transfer = new DataTransfer();
  for (const { name, base64 } of files) transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
  document.getElementById('output').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
}, files.map(({ name, bytes }) => ({ name, base64: Buffer.from(bytes).toString('base64') })));

/** The page's load error: its title, detail and hint, or null when none shows. */
const loadError = (page) => page.evaluate(() => {
  const box = document.getElementById('load-error');
  if (box.hidden) return null;
  const text = (selector) => box.querySelector(selector)?.textContent ?? '';
  return { title: text('.alert-title'), detail: text('.alert-detail'), hint: text('.alert-hint') };
});

/** The conversations the page keeps in IndexedDB, by key: their messages' texts. */
const savedChats = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('ringlm-page', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('chats');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const store = open.result.transaction('chats').objectStore('chats');
    const out = {};
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c) {
        open.result.close();
        resolve(out);
        return;
      }
      out[c.key] = c.value.messages.map((m) => m.content);
      c.continue();
    };
  };
}));

/** Waits (up to 30 s) until savedChats() is `expected`: saving follows a reply, a little after it shows. */
async function waitForSavedChats(page, expected) {
  let saved;
  for (const end = Date.now() + 30_000; Date.now() < end;) {
    saved = await savedChats(page);
    if (JSON.stringify(saved) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(saved, expected, 'the conversations kept in IndexedDB');
}

// ---- tests --------------------------------------------------------------------------------------------

test('the picker: sizes, kept or not, Load and Delete; a typed URL; the last model at the next visit; a dropped file', { timeout: 240_000 }, async () => {
  const server = await startPageServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const url = (file) => `${server.url}${file}`;
  try {
    const address = `${server.url}web/${pageQuery(server, [FILES.a, FILES.b])}`;
    const { page, problems } = await openPage(context, address);
    assert.equal(await page.$eval('#model-badge', (e) => e.dataset.kind), 'default', 'a first visit starts with the built-in model');
    const builtIn = await page.$eval('#model-name', (e) => e.dataset.url);
    await page.waitForFunction((u) => document.querySelector(`.model-row[data-url="${u}"]`)?.dataset.status === 'cached', builtIn);
    assert.deepEqual(await row(page, builtIn), { status: 'cached', meta: '3.8 MiB · in this browser · loaded', current: true,
      canLoad: false, canDelete: true, list: 'model-list' }, 'the built-in model is the first row, kept by its first load');
    assert.deepEqual(await row(page, url(FILES.a)), { status: 'remote', meta: `≈ ${Math.round(fileSize(FILES.a) / 1e3)} kB · downloads once`,
      current: false, canLoad: true, canDelete: false, list: 'model-list' });

    // Load: downloads and keeps it; the page runs that file (its text is Node's for it).
    await clickRow(page, url(FILES.a), 'load');
    await loaded(page, 'picker-a.gguf');
    await page.waitForFunction((u) => document.querySelector(`.model-row[data-url="${u}"]`)?.dataset.status === 'cached', url(FILES.a));
    const a = await row(page, url(FILES.a));
    assert.equal(a.current, true);
    assert.equal(a.meta, `${(fileSize(FILES.a) / 1024).toFixed(1)} KiB · in this browser · loaded`, 'the size kept, exactly');
    await page.fill('#prompt', 'the');
    const shown = await generate(page, GREEDY);
    assert.equal(shown.text, (await (await nodeModel(FILES.a)).complete('the', GREEDY)).text);

    // A URL typed in: loaded, kept, and listed apart from the suggestions.
    await page.fill('#model-url', url(FILES.custom));
    await page.click('#url-form button[type=submit]');
    await loaded(page, 'custom.gguf');
    await page.waitForFunction((u) => document.querySelector(`.model-row[data-url="${u}"]`)?.dataset.status === 'cached', url(FILES.custom));
    assert.equal((await row(page, url(FILES.custom))).list, 'model-others');
    assert.equal(await page.isVisible('#model-others-title'), true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-models.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling on a phone');
    await page.locator('.loader').screenshot({ path: path.join(ARTIFACTS, 'web-models-phone.png') });
    await page.setViewportSize({ width: 1280, height: 900 });

    // The next visit starts with the model chosen last (custom.gguf), from the download cache.
    await page.reload();
    await loaded(page, 'custom.gguf');
    assert.equal(await page.$eval('#model-badge', (e) => e.dataset.kind), 'url');

    // Delete: the copy goes; the next visit offers the model instead of downloading it unasked.
    await clickRow(page, url(FILES.custom), 'delete');
    await page.waitForFunction((u) => !document.querySelector(`.model-row[data-url="${u}"]`), url(FILES.custom));
    assert.equal(await page.isHidden('#model-others-title'), true, 'nothing else is kept');
    assert.equal((await page.evaluate(() => window.ringlmTest.modelInfo())).architecture, 'llama', 'the loaded model stays loaded');
    await page.reload();
    await waitForDemo(page);
    assert.equal(await page.$eval('#model-badge', (e) => e.dataset.kind), 'default');
    assert.match(await page.textContent('#last-model'), /^Last time: custom\.gguf \(not kept in this browser: it downloads again\)/);
    await page.click('#last-model button');
    await loaded(page, 'custom.gguf');
    assert.equal(await page.isHidden('#last-model'), true);

    // A file dropped on the page loads (several at once, the parts of a split file: the next test).
    const bytes = [...plainModel(102)];
    await page.evaluate((bytes) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(bytes)], 'dropped.gguf'));
      document.getElementById('output').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await loaded(page, 'dropped.gguf');
    assert.equal(await page.$eval('#model-badge', (e) => e.dataset.kind), 'file');
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('ringlm.lastModel')).file), 'dropped.gguf');
    await page.reload();
    await waitForDemo(page);
    assert.match(await page.textContent('#last-model'), /dropped\.gguf, a file from this device: choose or drop it again/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.close();
  }
});

test('split files dropped together load as one model; an incomplete set is refused by name and the page goes on', { timeout: 240_000 }, async () => {
  const server = await startPageServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const parts = plainWriter(106).toSplitBuffers(3).map((bytes, i) => ({ name: `split-0000${i + 1}-of-00003.gguf`, bytes }));
  try {
    const { page, problems } = await openPage(context, `${server.url}web/${pageQuery(server, [FILES.a])}`);
    const whole = await (await nodeModel(FILES.splitWhole)).complete('the', GREEDY);

    // Dropped out of order (as a file manager may list them): the page puts them in their names' order.
    await dropFiles(page, [parts[2], parts[0], parts[1]]);
    await loaded(page, 'split-00001-of-00003.gguf (+2 more parts)');
    assert.equal(await loadError(page), null);
    assert.equal(await page.$eval('#model-badge', (e) => e.dataset.kind), 'file');
    await page.fill('#prompt', 'the');
    assert.equal((await generate(page, GREEDY)).text, whole.text, 'the parts run as the file written whole does in Node');
    const other = await (await nodeModel(FILES.a)).complete('the', GREEDY);
    assert.notEqual(whole.text, other.text, 'the check tells models apart');

    // Part 2 left out: refused, naming it; the model loaded before is still there and still answers.
    await dropFiles(page, [parts[2], parts[0]]);
    await page.waitForFunction(() => !document.getElementById('load-error').hidden && document.body.dataset.state === 'ready',
      null, { timeout: 60_000 });
    assert.deepEqual(await loadError(page), {
      title: 'The parts of split-00001-of-00003.gguf (+1 more part) do not make one model',
      detail: 'part 2 (split-00003-of-00003.gguf) says it is part 3 of 3: the parts are out of order, or part 2 of 3 is missing',
      hint: 'A split GGUF file (NAME-00001-of-0000N.gguf, NAME-00002-of-0000N.gguf, ...) loads when all N parts of '
        + 'the same set are chosen or dropped together.',
    });
    assert.equal(await page.textContent('#model-name'), 'split-00001-of-00003.gguf (+2 more parts)');
    assert.equal((await generate(page, GREEDY)).text, whole.text, 'the model loaded before still runs');

    // The last part left out: refused too, naming it.
    await dropFiles(page, [parts[1], parts[0]]);
    await page.waitForFunction(() => /^this is part/.test(document.querySelector('#load-error .alert-detail').textContent)
      && !document.getElementById('load-error').hidden && document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    assert.match((await loadError(page)).detail, /^this is part 1 of 3 of a split GGUF file, and 2 parts were given: .*, or give every part \(part 3 of 3 is missing\)$/);
    // The first part left out.
    await dropFiles(page, [parts[2], parts[1]]);
    await page.waitForFunction(() => /^the first part/.test(document.querySelector('#load-error .alert-detail').textContent)
      && !document.getElementById('load-error').hidden && document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    assert.equal((await loadError(page)).detail, 'the first part given says it is part 2 of 3: the parts are out of order, or part 1 of 3 is missing');
    assert.equal(await page.textContent('#model-name'), 'split-00001-of-00003.gguf (+2 more parts)');
    await page.click(`.model-row[data-url="${server.url}${FILES.a}"] [data-action=load]`);
    await loaded(page, 'picker-a.gguf');  // and a model from the picker loads; the error goes
    assert.equal(await loadError(page), null, 'a load that works clears the error');
    assert.equal((await generate(page, GREEDY)).text, other.text);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.close();
  }
});

test('offline: with the server stopped, a reload runs the built-in model and a URL model kept in the browser', { timeout: 240_000 }, async () => {
  const server = await startPageServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  let stopped = false;
  try {
    const address = `${server.url}web/${pageQuery(server, [FILES.b])}`;
    const { page, problems } = await openPage(context, address);
    const scope = await page.evaluate(() => window.ringlmTest.offlineReady());
    assert.equal(scope, server.url, 'the service worker covers the whole origin (the threaded build\'s workers are in /dist/)');
    const threads = await page.evaluate(() => window.ringlmTest.modelInfo().threads);
    // Keep model B, then go back to the built-in model: it is the one the next visit starts with.
    await clickRow(page, `${server.url}${FILES.b}`, 'load');
    await loaded(page, 'picker-b.gguf');
    const builtIn = await page.evaluate(() => document.querySelector('.model-row').dataset.url);
    await clickRow(page, builtIn, 'load');
    await loaded(page, 'ringlm-kjv-3.7m.gguf');

    await server.close();
    stopped = true;
    assert.equal(await page.evaluate((u) => fetch(u).then(() => 'up', () => 'down'), `${server.url}models/ringlm-kjv-3.7m.gguf`), 'down');

    await page.reload();
    await loaded(page, 'ringlm-kjv-3.7m.gguf');
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'the copies keep their COOP/COEP headers');
    assert.equal(await page.evaluate(() => window.ringlmTest.modelInfo().threads), threads, 'the threaded build starts offline too');
    await page.fill('#prompt', 'And God said');
    const kjv = await generate(page, GREEDY);
    assert.equal(kjv.text, (await (await nodeModel('models/ringlm-kjv-3.7m.gguf')).complete('And God said', GREEDY)).text);

    // Model B comes from the download cache, offline; and, chosen last, it is the one the next reload starts with.
    await clickRow(page, `${server.url}${FILES.b}`, 'load');
    await loaded(page, 'picker-b.gguf');
    await page.reload();
    await loaded(page, 'picker-b.gguf');
    await page.fill('#prompt', 'the');
    const b = await generate(page, GREEDY);
    assert.equal(b.text, (await (await nodeModel(FILES.b)).complete('the', GREEDY)).text);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    if (!stopped) await server.close();
  }
});

test('a chat reloaded goes on with the same tokens as without the reload; New chat forgets it; another file\'s state is refused', { timeout: 300_000 }, async () => {
  const server = await startPageServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const chatUrl = `${server.url}${FILES.chat}`;
  const key = `url:${chatUrl}`;
  try {
    // The reference: the whole conversation in Node, never interrupted.
    const lm = await nodeModel(FILES.chat, { reload: true });
    const first = [{ role: 'user', content: 'Hi there' }];
    let reply1 = '';
    for await (const t of lm.chat(first, GREEDY)) reply1 += t.text;
    const second = [...first, { role: 'assistant', content: reply1 }, { role: 'user', content: 'And then?' }];
    let reply2 = '';
    for await (const t of lm.chat(second, GREEDY)) reply2 += t.text;
    const newTokens = lm.lastResult.timings.promptTokens;
    const fullPrompt = lm.applyChatTemplate(second);
    assert.ok(reply1.length > 0 && reply2.length > 0 && reply1 !== reply2, `noise replies (${JSON.stringify([reply1, reply2])})`);
    assert.ok(newTokens < lm.tokenize(fullPrompt, { special: true }).length, 'Node ran only the second turn\'s new tokens');

    const { page, problems } = await openPage(context, `${server.url}web/${pageQuery(server, [FILES.chat])}`);
    await clickRow(page, chatUrl, 'load');
    await loaded(page, 'chat.gguf');
    await page.check('#chat-mode');
    assert.equal(await page.isVisible('#new-chat'), true);
    await page.fill('#prompt', 'Hi there');
    assert.equal((await generate(page, GREEDY)).text, reply1);
    await waitForSavedChats(page, { [key]: ['Hi there', reply1] });

    // Reload: the conversation and the KV state come back; the next turn runs only its own tokens.
    await page.reload();
    await loaded(page, 'chat.gguf');
    await page.waitForSelector('#chat-note[data-kind=restored]');
    assert.equal(await page.isChecked('#chat-mode'), true);
    assert.equal(await page.textContent('#echo'), 'You: Hi there\n\nAssistant: ');
    assert.equal(await page.textContent('#completion'), reply1);
    await page.fill('#prompt', 'And then?');
    const continued = await generate(page, GREEDY);
    assert.equal(continued.text, reply2, 'the same tokens as the uninterrupted conversation');
    assert.match(continued.finish, new RegExp(` ${newTokens} prompt \\+ `), 'only the new turn ran: the KV cache was restored');
    assert.equal(await page.textContent('#stat-kv'), `${lm.cacheState.kept} / ${lm.cacheState.capacity}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-models-chat.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling on a phone');
    await page.locator('.compose').screenshot({ path: path.join(ARTIFACTS, 'web-models-chat-phone.png') });
    await page.setViewportSize({ width: 1280, height: 900 });

    // New chat: forgotten here and in the store; the next visit starts empty.
    await page.click('#new-chat');
    await page.waitForFunction(() => document.getElementById('completion').textContent === '');
    await waitForSavedChats(page, {});
    await page.reload();
    await loaded(page, 'chat.gguf');
    assert.equal(await page.isHidden('#chat-note'), true);
    assert.equal(await page.textContent('#completion'), '');

    // A chat saved, then another model file put at the same URL: its state is refused, the page says so.
    await page.check('#chat-mode');
    await page.fill('#prompt', 'Hi there');
    await generate(page, GREEDY);
    await waitForSavedChats(page, { [key]: ['Hi there', reply1] });
    writeModel('chat.gguf', noisyChatModel(105));
    await page.reload();
    await loaded(page, 'chat.gguf');
    await page.waitForSelector('#chat-note[data-kind=refused]');
    assert.equal(await page.textContent('#chat-note'), 'A conversation saved with chat.gguf was not restored: the state belongs to ' +
      'another model (its file\'s fingerprint differs from this one\'s). This is a new chat; the next reply replaces the saved one.');
    assert.equal(await page.textContent('#completion'), '', 'nothing of the old conversation is shown');
    await page.check('#chat-mode');
    await page.fill('#prompt', 'Hi there');
    const other = await nodeModel(FILES.chat, { reload: true });
    let fresh = '';
    for await (const t of other.chat(first, GREEDY)) fresh += t.text;
    assert.equal((await generate(page, GREEDY)).text, fresh, 'the new file answers from an empty cache');

    // The same file loaded with another context size: its saved state is refused too.
    await waitForSavedChats(page, { [key]: ['Hi there', fresh] });
    await page.fill('#context-size', '64');
    await page.fill('#model-url', chatUrl);
    await page.click('#url-form button[type=submit]');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.getElementById('stat-kv').textContent === '0 / 64');
    assert.match(await page.textContent('#chat-note'), /^A conversation saved with chat\.gguf was not restored: the state was saved with contextSize 256/);
    assert.equal(await page.textContent('#stat-kv'), '0 / 64', 'nothing of it reached the KV ring');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.close();
    writeModel('chat.gguf', noisyChatModel(104));
  }
});
