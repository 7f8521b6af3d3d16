// Split GGUF files in llama.cpp's gguf-split layout (NAME-00001-of-0000N.gguf; split.no, split.count,
// split.tensors.count): a random model written whole and split in three by our writer gives the same logits, bit
// for bit, natively (ringlm-cli finds the parts by name) and in wasm (a path, URLs with and without the download
// cache, an array of paths, of bytes); llama.cpp (node-llama-cpp) loads the same parts, gives the same values as
// from the whole file, and ringlm agrees with it; Chromium loads the parts through a URL and as Blobs. Parts that
// do not belong together are refused by name, and the module stays usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { byteRange } from '../tools/serve.mjs';
import { launchChromium, openHarness, startPageServer } from './browser/chromium.mjs';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';
import { llamaCppLogprobs, disposeReferenceLlama } from './reference/llamacpp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = path.join(ROOT, 'build/native/ringlm-cli');
const DIR = mkdtempSync(path.join(os.tmpdir(), 'ringlm-split-test-'));
process.env.RINGLM_CACHE_DIR = path.join(DIR, 'cache');  // before the first use: the store is chosen once
const { RingLM } = await import('../wasm/ringlm.js');

const TOKENS = [1, 17, 42, 99, 5, 230, 7, 64];
const shape = { dim: 64, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 128, type: 'F32' };
const writerA = makeRandomLlama({ seed: 11, layers: 2, ...shape });
const writerB = makeRandomLlama({ seed: 12, layers: 3, ...shape });  // another model: more tensors
const partName = (stem, i, n) => `${stem}-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.gguf`;

/** Writes `buffers` as a split set NAME-0000i-of-0000N.gguf in `dir`; returns the parts' paths. */
function writeSet(dir, stem, buffers) {
  mkdirSync(dir, { recursive: true });
  return buffers.map((bytes, i) => {
    const file = path.join(dir, partName(stem, i + 1, buffers.length));
    writeFileSync(file, bytes);
    return file;
  });
}

const WHOLE = path.join(DIR, 'whole.gguf');
writeFileSync(WHOLE, writerA.toBuffer());
const PARTS = writeSet(path.join(DIR, 'a'), 'model', writerA.toSplitBuffers(3));
const OTHER = writeSet(path.join(DIR, 'b'), 'model', writerB.toSplitBuffers(3));
const MISCOUNTED = writeSet(path.join(DIR, 'c'), 'model', writerA.toSplitBuffers(3, { tensorsCount: writerA.tensors.length - 1 }));

/** All positions' logits from ringlm in wasm. */
async function wasmLogits(source, options = {}) {
  const lm = await RingLM.load(source, { contextSize: 64, ...options });
  try {
    return Float32Array.from(lm.prefill(TOKENS, { allLogits: true }));
  } finally {
    lm.dispose();
  }
}

function nativeLogits(model) {
  const out = path.join(DIR, `native-${path.basename(model)}.f32`);
  const r = spawnSync(NATIVE, ['logits', '-m', model, '--ctx', '64', '--tokens', TOKENS.join(','), '-o', out], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, logits: r.status === 0 ? new Float32Array(readFileSync(out).buffer.slice(0)) : null };
}

/** A static server over DIR that answers Range requests; logs each request's path. */
function fileServer() {
  const log = [];
  const server = createServer((req, res) => {
    log.push({ method: req.method, path: req.url, range: req.headers.range ?? null });
    const file = path.join(DIR, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(DIR) || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    const size = statSync(file).size;
    const range = byteRange(req.headers.range, undefined, '"1"', size);
    const headers = { ETag: '"1"', 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (range && range !== 'unsatisfiable') headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
    const ok = range && range !== 'unsatisfiable';
    res.writeHead(ok ? 206 : 200, { ...headers, 'Content-Length': ok ? range.end - range.start + 1 : size });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file, ok ? { start: range.start, end: range.end } : {}).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    log, url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => { server.close(done); server.closeAllConnections(); }),
  })));
}

let reference;  // the whole file's logits in wasm
let srv;
before(async () => {
  reference = await wasmLogits(WHOLE);
  srv = await fileServer();
});
after(async () => {
  await srv?.close();
  await disposeReferenceLlama();
  rmSync(DIR, { recursive: true, force: true });
});

test('the writer splits as gguf-split does: the metadata in the first part, split keys in every part', () => {
  const parts = PARTS.map((p) => readFileSync(p));
  assert.equal(parts.length, 3);
  for (const bytes of parts) assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
  const total = parts.reduce((n, b) => n + b.length, 0);
  assert.ok(total > statSync(WHOLE).size * 0.9, 'the tensors are all there, spread over the parts');
  assert.ok(parts[1].length > 1000 && parts[2].length > 1000, 'the later parts hold tensors too');
});

test('natively, ringlm-cli finds the parts by name and computes the same bits', () => {
  const whole = nativeLogits(WHOLE);
  assert.equal(whole.status, 0, whole.stderr);
  const split = nativeLogits(PARTS[0]);
  assert.equal(split.status, 0, split.stderr);
  assert.deepEqual(split.logits, whole.logits);
  assert.deepEqual(whole.logits, reference, 'native and wasm compute the same bits');

  const middle = nativeLogits(PARTS[1]);
  assert.notEqual(middle.status, 0);
  assert.match(middle.stderr, /this is part 2 of 3 of a split GGUF file: load the first part/);
});

test('in wasm: the first part\'s path, an array of paths, of bytes, of Blobs: the same bits', async () => {
  assert.deepEqual(await wasmLogits(PARTS[0]), reference);
  assert.deepEqual(await wasmLogits(PARTS), reference);
  assert.deepEqual(await wasmLogits(PARTS.map((p) => readFileSync(p))), reference);
  assert.deepEqual(await wasmLogits(PARTS.map((p) => new Blob([readFileSync(p)]))), reference);
  const lm = await RingLM.load(PARTS[0], { contextSize: 64 });
  try {
    assert.equal(lm.info.fileBytes, PARTS.reduce((n, p) => n + statSync(p).size, 0), 'the parts together');
    assert.equal(lm.info.fileParts, 3);
  } finally {
    lm.dispose();
  }
});

test('URLs: the first part\'s URL finds the others, with and without the download cache', async () => {
  const url = `${srv.url}/a/${partName('model', 1, 3)}`;
  const progress = [];
  assert.deepEqual(await wasmLogits(url, { cache: false, onProgress: (p) => progress.push(p) }), reference);
  const total = PARTS.reduce((n, p) => n + statSync(p).size, 0);
  assert.equal(progress.at(-1).loaded, total, 'progress counts the whole set');
  assert.ok(progress.every((p) => p.total === total));

  await RingLM.cache.clear();
  const cached = [];
  assert.deepEqual(await wasmLogits(url, { cache: true, onProgress: (p) => cached.push(p) }), reference);
  const downloads = cached.filter((p) => p.phase === 'download');
  assert.deepEqual([...new Set(downloads.map((p) => `${p.part}/${p.parts}`))], ['0/3', '1/3', '2/3'], 'each part\'s download, in order');
  assert.deepEqual(PARTS.map((file, i) => downloads.filter((p) => p.part === i).at(-1).loaded), PARTS.map((file) => statSync(file).size));
  assert.equal(cached.at(-1).phase, 'read');
  assert.equal(cached.at(-1).loaded, total, 'then the read of the whole set');
  const listed = await RingLM.cache.list();
  assert.deepEqual(listed.map((e) => path.basename(new URL(e.url).pathname)).sort(), [1, 2, 3].map((i) => partName('model', i, 3)));
  assert.ok(listed.every((e) => e.complete));
  srv.log.length = 0;
  assert.deepEqual(await wasmLogits(url, { cache: true }), reference, 'again, from the cache');
  assert.deepEqual([...new Set(srv.log.map((r) => r.method))], ['HEAD'], 'only checked, not downloaded again');
  assert.deepEqual(await wasmLogits([1, 2, 3].map((i) => `${srv.url}/a/${partName('model', i, 3)}`), { cache: false }), reference,
    'an array of URLs');

  // The CLI: `ringlm pull` of the first part keeps the whole set and counts it; `ringlm ls` lists every part.
  await RingLM.cache.clear();
  // Not spawnSync: the test's own server must go on answering while the CLI downloads.
  const cli = (...args) => new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'wasm/cli.js'), ...args], { encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ status: error ? error.code ?? 1 : 0, stdout, stderr }));
  });
  const pulled = await cli('pull', url);
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.match(pulled.stdout, new RegExp(`: ${(total / 1e6).toFixed(1)} MB in 3 parts, llama`));
  const ls = await cli('ls');
  assert.equal(ls.status, 0, ls.stderr);
  for (const i of [1, 2, 3]) assert.ok(ls.stdout.includes(partName('model', i, 3)), ls.stdout);
  assert.match(ls.stdout, /^3 models, /m);
});

test('llama.cpp loads the same parts, agrees with itself on the whole file, and ringlm agrees with it', async () => {
  const fromWhole = await llamaCppLogprobs(WHOLE, TOKENS);
  const fromParts = await llamaCppLogprobs(PARTS[0], TOKENS);
  assert.deepEqual(fromParts, fromWhole, 'llama.cpp computes the same values from the parts');
  const vocab = fromWhole.vocab;
  let maxAbs = 0;
  for (let t = 0; t < TOKENS.length; t++) {
    const row = reference.subarray(t * vocab, (t + 1) * vocab);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const lse = max + Math.log(sum);
    for (let i = 0; i < vocab; i++) maxAbs = Math.max(maxAbs, Math.abs(row[i] - lse - fromParts[t * vocab + i]));
  }
  assert.ok(maxAbs < 1e-3, `max |Δ logprob| ${maxAbs} (F32: within 1e-3, as tests/llamacpp-compare.test.mjs holds it)`);
});

test('parts that do not belong together are refused by name; the module stays usable', async () => {
  const heap = RingLM.memoryUsage().heapBytesInUse;
  const [a1, a2, a3] = PARTS;
  await assert.rejects(RingLM.load(a2), /this is part 2 of 3 of a split GGUF file: load the first part/);
  await assert.rejects(RingLM.load([a1, a3, a2]), new RegExp(`part 2 \\(${escape(a3)}\\) says it is part 3 of 3: the parts are out of order`));
  await assert.rejects(RingLM.load([a1, OTHER[1], a3]),
    new RegExp(`part 2 \\(${escape(OTHER[1])}\\) belongs to another split file: it says it is part 2 of 3 with ${writerB.tensors.length} tensors, ` +
      `the first part says 3 parts with ${writerA.tensors.length} tensors`));
  await assert.rejects(RingLM.load([a1, a2]), /this is part 1 of 3 of a split GGUF file, and 2 parts were given/);
  await assert.rejects(RingLM.load([a1]), /this is part 1 of 3 of a split GGUF file, and only it was given: load the first part by its name \(NAME-00001-of-00003\.gguf\)/);
  await assert.rejects(RingLM.load([a1, a2, a3, a3]), /part 4 \(.*\) was given, but the first part's split\.count says the file has 3 parts/);
  await assert.rejects(RingLM.load([WHOLE, a2]), /part 2 \(.*\) was given, but the first part is not a split GGUF file/);
  await assert.rejects(RingLM.load(MISCOUNTED[0]),
    new RegExp(`the split file's parts hold ${writerA.tensors.length} tensors, but split\\.tensors\\.count is ${writerA.tensors.length - 1}`));
  await assert.rejects(RingLM.load(PARTS.map((p) => readFileSync(p)).reverse()), /the first part given says it is part 3 of 3: the parts are out of order/);

  // A missing part, found by name: the error names it.
  const lonely = writeSet(path.join(DIR, 'd'), 'model', writerA.toSplitBuffers(3));
  rmSync(lonely[1]);
  await assert.rejects(RingLM.load(lonely[0]), new RegExp(`part 2 of 3 \\(${escape(lonely[1])}\\): cannot read .*ENOENT`));
  await assert.rejects(RingLM.load(`${srv.url}/d/${partName('model', 1, 3)}`),
    new RegExp(`part 2 of 3 \\(${escape(`${srv.url}/d/${partName('model', 2, 3)}`)}\\): fetching .* failed: HTTP 404`));

  assert.deepEqual(await wasmLogits(a1), reference, 'the module still loads the set');
  assert.equal(RingLM.memoryUsage().heapBytesInUse, heap, 'nothing left behind by the refusals');
});

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('Chromium loads split parts through the first part\'s URL and as Blobs', { timeout: 120_000 }, async () => {
  const served = path.join(ROOT, 'build/models/split-test');
  const copies = writeSet(served, 'model', PARTS.map((p) => readFileSync(p)));
  const browser = await launchChromium();
  const server = await startPageServer({ harness: true });
  try {
    const page = await (await browser.newContext()).newPage();
    await openHarness(page, server);
    const urls = copies.map((p) => `${server.url}${path.relative(ROOT, p)}`);
    const result = await page.evaluate(async ({ urls, tokens }) => {
      const logits = async (source, options) => {
        const lm = await window.RingLM.load(source, { contextSize: 64, ...options });
        try {
          return Array.from(lm.prefill(tokens, { allLogits: true }));
        } finally {
          lm.dispose();
        }
      };
      try {
        const viaUrl = await logits(urls[0], { cache: false });
        const viaCache = await logits(urls[0], { cache: true });
        const blobs = await Promise.all(urls.map(async (u) => (await fetch(u)).blob()));
        const viaBlobs = await logits(blobs);
        const refused = await window.RingLM.load([blobs[0], blobs[2], blobs[1]]).then(() => 'loaded', (e) => e.message);
        await window.RingLM.cache.clear();
        return { viaUrl, viaCache, viaBlobs, refused };
      } catch (e) {
        return { error: e.message };
      }
    }, { urls, tokens: TOKENS });
    assert.equal(result.error, undefined, result.error);
    const expected = Array.from(reference);
    assert.deepEqual(result.viaUrl, expected, 'the same bits as in Node');
    assert.deepEqual(result.viaCache, expected);
    assert.deepEqual(result.viaBlobs, expected);
    assert.match(result.refused, /part 2 says it is part 3 of 3: the parts are out of order/);
  } finally {
    await browser.close();
    await server.close();
    rmSync(served, { recursive: true, force: true });
  }
});
