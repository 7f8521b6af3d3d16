// The download cache in a page (Chromium): on by default there, kept in the origin private file system, read
// back with the network off, listed and deleted through RingLM.cache; a download cut off by going offline
// resumes where it stopped; a download whose SHA-256 is not the one asked for leaves nothing behind, while a copy
// verified when it was stored is kept. (Node and the CLI: tests/cache.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ROOT, usePageServer, openHarness } from './browser/chromium.mjs';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const MODEL = 'build/models/cache-test.gguf';

let context, page;

const shared = usePageServer({ harness: true }, async ({ server, browser }) => {
  mkdirSync(path.join(ROOT, 'build/models'), { recursive: true });
  // Large enough (about 2 MB) that a download can be caught half-way.
  const bytes = makeRandomLlama({ seed: 5, dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 4000, ctx: 128, type: 'F32' }).toBuffer();
  writeFileSync(path.join(ROOT, `${MODEL}.tmp`), bytes);
  renameSync(path.join(ROOT, `${MODEL}.tmp`), path.join(ROOT, MODEL));
  context = await browser.newContext();
  page = await context.newPage();
  await openHarness(page, server);
});

/** Load `url` in the page (default options but a small context); its first logits and the progress phases. */
const loadInPage = (url, options = {}) => page.evaluate(async ({ url, options }) => {
  const phases = [];
  try {
    const lm = await window.RingLM.load(url, { contextSize: 32, ...options, onProgress: (p) => phases.push(p.phase) });
    const logits = Array.from(lm.prefill([1, 5, 7]).slice(0, 64));
    lm.dispose();
    return { logits, phases: [...new Set(phases)] };
  } catch (e) {
    return { error: e.message, phases: [...new Set(phases)] };
  }
}, { url, options });

test('a URL is kept in OPFS by default and loads again offline; list and delete', { timeout: 120_000 }, async () => {
  const url = `${shared.server.url}${MODEL}`;
  await page.evaluate(() => window.RingLM.cache.clear());
  const fresh = await loadInPage(url, { cache: false });
  assert.equal(fresh.error, undefined, fresh.error);
  assert.deepEqual(fresh.phases, ['download'], 'without the cache the bytes stream straight into memory');
  assert.deepEqual(await page.evaluate(() => window.RingLM.cache.list()), [], 'cache: false keeps nothing');

  const first = await loadInPage(url);
  assert.equal(first.error, undefined, first.error);
  assert.deepEqual(first.logits, fresh.logits);
  assert.deepEqual(first.phases, ['download', 'read']);
  const listed = await page.evaluate(() => window.RingLM.cache.list());
  assert.equal(listed.length, 1);
  assert.equal(listed[0].url, url);
  assert.equal(listed[0].complete, true);
  assert.ok(listed[0].size > 1e6, JSON.stringify(listed[0]));
  assert.match(await page.evaluate(() => window.RingLM.cache.location()), /origin private file system/);

  await context.setOffline(true);
  try {
    const offline = await loadInPage(url);
    assert.equal(offline.error, undefined, offline.error);
    assert.deepEqual(offline.logits, fresh.logits, 'the stored copy, with the network off');
    assert.deepEqual(offline.phases, ['read']);
    assert.equal(await page.evaluate((url) => window.RingLM.cache.delete(url), url), true);
    const gone = await loadInPage(url);
    assert.match(gone.error ?? '', /RingLM\.load: .*fail/i, 'deleted, and offline: a clear error');
  } finally {
    await context.setOffline(false);
  }
  assert.deepEqual(await page.evaluate(() => window.RingLM.cache.list()), []);
});

test('a download cut off by going offline is kept in part and resumed from there', { timeout: 120_000 }, async () => {
  const url = `${shared.server.url}${MODEL}`;
  await page.evaluate(() => window.RingLM.cache.clear());
  // Throttle the body so that the cut lands mid-way: answer the GET slowly, in pieces.
  const ranges = [];
  await page.route('**/cache-test.gguf', async (route) => {
    const request = route.request();
    // The header read before the download (a Range request for the first bytes) is let through.
    if (request.method() !== 'GET' || /^bytes=0-\d+$/.test(request.headers().range ?? '')) return route.continue();
    ranges.push(request.headers().range ?? null);
    if (ranges.length > 1) return route.continue();
    // The first GET: the server's answer cut after 40 % of the body (as a dropped connection would leave it).
    const response = await route.fetch();
    const body = await response.body();
    await route.fulfill({ response, body: body.subarray(0, Math.floor(body.length * 0.4)),
      headers: { ...response.headers(), 'content-length': String(body.length) } });
  });
  try {
    const result = await loadInPage(url);
    // Either the short body was noticed and resumed at once, or the next load resumes it.
    if (result.error) {
      assert.match(result.error, /stopped after \d+ of \d+ bytes/);
      const [partial] = await page.evaluate(() => window.RingLM.cache.list());
      assert.equal(partial.complete, false);
      const again = await loadInPage(url);
      assert.equal(again.error, undefined, again.error);
    }
    const gets = ranges;
    assert.ok(gets.some((r) => r && /^bytes=\d+-$/.test(r) && Number(/\d+/.exec(r)[0]) > 0),
      `a Range request for the rest was made (${JSON.stringify(gets)})`);
    const [entry] = await page.evaluate(() => window.RingLM.cache.list());
    assert.equal(entry.complete, true);
    const cached = await loadInPage(url, { cache: true });
    const direct = await loadInPage(url, { cache: false });
    assert.deepEqual(cached.logits, direct.logits, 'the resumed file is the file');
  } finally {
    await page.unroute('**/cache-test.gguf');
    await page.evaluate(() => window.RingLM.cache.clear());
  }
});

/** The names in the page's OPFS folder of kept models (what RingLM.cache.list() reads, and any stray file). */
const storedNames = () => page.evaluate(async () => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ringlm-models', { create: true });
  const names = [];
  for await (const name of dir.keys()) names.push(name);
  return names.sort();
});

test('a wrong sha256 leaves nothing of a download cached and keeps a verified copy; the right one loads and is kept', { timeout: 120_000 }, async () => {
  const url = `${shared.server.url}${MODEL}`;
  const right = createHash('sha256').update(readFileSync(path.join(ROOT, MODEL))).digest('hex');
  const wrong = createHash('sha256').update('not the model').digest('hex');
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const refusal = new RegExp(`^${escape(`RingLM.load: ${url} has SHA-256 ${right}, not the ${wrong} asked for (the download was discarded)`)}$`);
  await page.evaluate(() => window.RingLM.cache.clear());
  try {
    const direct = await loadInPage(url, { cache: false });
    assert.equal(direct.error, undefined, direct.error);

    // Nothing kept yet: the download is checked as it arrives and thrown away.
    const refused = await loadInPage(url, { cache: true, sha256: wrong });
    assert.match(refused.error ?? 'loaded', refusal);
    assert.deepEqual(await page.evaluate(() => window.RingLM.cache.list()), [], 'no entry, complete or partial');
    assert.deepEqual(await storedNames(), [], 'no stray bytes in OPFS either');

    // The right hash: downloaded again, loaded, kept with its hash.
    const good = await loadInPage(url, { cache: true, sha256: right.toUpperCase() });
    assert.equal(good.error, undefined, good.error);
    assert.deepEqual(good.logits, direct.logits);
    assert.deepEqual(good.phases, ['download', 'read']);
    const [entry, ...more] = await page.evaluate(() => window.RingLM.cache.list());
    assert.deepEqual(more, []);
    assert.deepEqual({ url: entry.url, complete: entry.complete, sha256: entry.sha256, size: entry.size },
      { url, complete: true, sha256: right, size: readFileSync(path.join(ROOT, MODEL)).length });

    // A copy kept before with its right hash, and a wrong hash asked for now: the copy still hashes to what it
    // was verified against and the server has not changed it, so the load is refused and the copy kept.
    const again = await loadInPage(url, { cache: true, sha256: wrong });
    assert.match(again.error ?? 'loaded', new RegExp(`^${escape(`RingLM.load: the cached copy of ${url} has SHA-256 ${right}, not the ${wrong} asked for; it was verified when stored and the server has not changed it, so it was kept`)}`));
    assert.deepEqual(again.phases, [], 'nothing downloaded or read');
    assert.deepEqual((await page.evaluate(() => window.RingLM.cache.list())).map((e) => [e.url, e.complete, e.sha256]), [[url, true, right]]);

    // And the right one after that works and is kept.
    const last = await loadInPage(url, { cache: true, sha256: right });
    assert.equal(last.error, undefined, last.error);
    assert.deepEqual(last.logits, direct.logits);
    assert.deepEqual((await page.evaluate(() => window.RingLM.cache.list())).map((e) => [e.url, e.complete, e.sha256]), [[url, true, right]]);
  } finally {
    await page.evaluate(() => window.RingLM.cache.clear());
  }
});
