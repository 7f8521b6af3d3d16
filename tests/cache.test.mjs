// The download cache (wasm/lib/cache.js) in Node and through the CLI: a model fetched once loads again with
// the server gone; a connection that drops mid-body resumes with a Range request, automatically or at the
// next load; sizes, SHA-256 and a file changed on the server are checked; a file over the memory limit is
// refused before its body is asked for; list / delete / clear and `ringlm pull / ls / rm`.
// The browser side (OPFS) is in tests/cache-browser.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { byteRange } from '../tools/serve.mjs';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE_DIR = mkdtempSync(path.join(os.tmpdir(), 'ringlm-cache-test-'));
process.env.RINGLM_CACHE_DIR = CACHE_DIR;  // before the first use: the store is chosen once
const { RingLM } = await import('../wasm/ringlm.js');

/** The bytes of model files in the cache folder so far (a download in progress included). */
function storedBytes() {
  return readdirSync(CACHE_DIR, { recursive: true }).filter((f) => String(f).endsWith('.gguf'))
    .reduce((sum, f) => sum + statSync(path.join(CACHE_DIR, String(f))).size, 0);
}

const modelBytes = (seed) => makeRandomLlama({ seed, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 128, type: 'Q8_0' }).toBuffer();
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A Range request for a file's first bytes: the header read before a download (wasm/lib/preflight.js). */
const headerRead = (range) => /^bytes=0-\d+$/.test(range ?? '');

/**
 * A file server whose file, and its misbehaviour, the test sets: `cutAfter` bytes into a body the connection
 * drops (for the next `cuts` responses but header reads); `noRange` ignores Range headers (the whole file, 200); every request is
 * logged with its method and Range header.
 */
function fileServer(port = 0) {
  const state = { file: Buffer.alloc(0), etag: '"0"', cuts: 0, cutAfter: 0, noRange: false, log: [] };
  const server = createServer((req, res) => {
    state.log.push({ method: req.method, range: req.headers.range ?? null, ifRange: req.headers['if-range'] ?? null });
    const range = state.noRange ? null : byteRange(req.headers.range, req.headers['if-range'], state.etag, state.file.length);
    const headers = { ETag: state.etag, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${state.file.length}` });
      return res.end();
    }
    const body = range ? state.file.subarray(range.start, range.end + 1) : state.file;
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${state.file.length}`;
    res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': body.length });
    if (req.method === 'HEAD') return res.end();
    if (state.cuts > 0 && !headerRead(req.headers.range)) {
      state.cuts--;
      // Drop the connection once the client has stored some of what was sent (on a loaded machine it may not
      // have read a byte 20 ms later, and a resumption needs something to resume from); give up waiting after 10 s.
      const before = storedBytes();
      const started = Date.now();
      res.write(body.subarray(0, state.cutAfter), () => {
        const poll = setInterval(() => {
          if (storedBytes() > before || Date.now() - started > 10_000) {
            clearInterval(poll);
            res.destroy();
          }
        }, 5);
      });
      return;
    }
    res.end(body);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}/models/tiny.gguf`;
    resolve({
      state, url, setFile(bytes, etag) { state.file = Buffer.from(bytes); state.etag = etag; },
      close: () => new Promise((done) => { server.close(done); server.closeAllConnections(); }),
    });
  }));
}

const A = modelBytes(1), B = modelBytes(2);
let srv;
let reference;  // logits of A loaded from bytes

async function logitsOf(source, options = {}) {
  const progress = [];
  const lm = await RingLM.load(source, { contextSize: 32, onProgress: (p) => progress.push(p), ...options });
  try {
    return { logits: Array.from(lm.prefill([1, 5, 7])), progress };
  } finally {
    lm.dispose();
  }
}

before(async () => {
  srv = await fileServer();
  srv.setFile(A, '"a1"');
  reference = (await logitsOf(A)).logits;
});
after(async () => {
  await srv.close();
  rmSync(CACHE_DIR, { recursive: true, force: true });
});

test('a URL is downloaded once, into the cache directory, and loads again with the server gone', async () => {
  await RingLM.cache.clear();
  srv.state.log.length = 0;
  const first = await logitsOf(srv.url, { cache: true });
  assert.deepEqual(first.logits, reference, 'the cached copy holds the same bytes');
  const phases = [...new Set(first.progress.map((p) => p.phase))];
  assert.deepEqual(phases, ['download', 'read'], 'download progress, then the read from the cache');
  assert.equal(first.progress.filter((p) => p.phase === 'download').at(-1).loaded, A.length);
  assert.equal(await RingLM.cache.location(), CACHE_DIR);
  assert.ok(readdirSync(CACHE_DIR).some((name) => name.endsWith('.gguf')), 'the file is under RINGLM_CACHE_DIR');
  const [entry, ...rest] = await RingLM.cache.list();
  assert.equal(rest.length, 0);
  assert.deepEqual({ url: entry.url, size: entry.size, complete: entry.complete }, { url: srv.url, size: A.length, complete: true });

  srv.state.log.length = 0;
  const again = await logitsOf(srv.url, { cache: true });
  assert.deepEqual(again.logits, reference);
  assert.deepEqual(srv.state.log.map((r) => r.method), ['HEAD'], 'a second load only checks the file is unchanged');
  assert.deepEqual([...new Set(again.progress.map((p) => p.phase))], ['read']);

  // Offline: nothing answers at the URL any more.
  const port = new URL(srv.url).port;
  await srv.close();
  try {
    const offline = await logitsOf(srv.url, { cache: true });
    assert.deepEqual(offline.logits, reference);
    await assert.rejects(logitsOf(srv.url, { cache: false }), /fetch failed|ECONNREFUSED/, 'without the cache it needs the network');
  } finally {
    srv = await fileServer(Number(port));  // the same URL again, for the tests below
  }
});

test('a connection dropped mid-download resumes with a Range request, and the result is the same file', async () => {
  srv.setFile(A, '"a1"');
  await RingLM.cache.clear();
  srv.state.log.length = 0;
  srv.state.cuts = 1;
  srv.state.cutAfter = Math.floor(A.length * 0.4);
  const r = await logitsOf(srv.url, { cache: true });
  assert.deepEqual(r.logits, reference);
  const gets = srv.state.log.filter((q) => q.method === 'GET' && !headerRead(q.range));
  assert.equal(gets.length, 2, JSON.stringify(srv.state.log));
  assert.equal(gets[0].range, null);
  assert.match(gets[1].range, /^bytes=(\d+)-$/, JSON.stringify(srv.state.log));
  assert.ok(Number(/\d+/.exec(gets[1].range)[0]) > 0, 'the second request starts after what had arrived');
  assert.equal(gets[1].ifRange, '"a1"', 'guarded by the ETag');
});

test('a download that keeps failing is left partial, listed, and the next load resumes it', async () => {
  srv.setFile(A, '"a1"');
  await RingLM.cache.clear();
  srv.state.cuts = 100;
  srv.state.cutAfter = 1000;
  await assert.rejects(logitsOf(srv.url, { cache: true }), /RingLM\.load: downloading .* stopped after \d+ of \d+ bytes/);
  const [partial] = await RingLM.cache.list();
  assert.equal(partial.complete, false);
  assert.ok(partial.size > 0 && partial.size < A.length, JSON.stringify(partial));
  assert.equal(partial.expectedSize, A.length);

  srv.state.cuts = 0;
  srv.state.log.length = 0;
  const r = await logitsOf(srv.url, { cache: true, sha256: sha(A) });
  assert.deepEqual(r.logits, reference);
  const get = srv.state.log.find((q) => q.method === 'GET' && !headerRead(q.range));
  assert.equal(get.range, `bytes=${partial.size}-`, 'it asked only for the rest');
  assert.ok(r.progress.find((p) => p.phase === 'download').loaded >= partial.size, 'progress counts the stored part');
  assert.equal((await RingLM.cache.list())[0].complete, true);
});

test('a file changed on the server is downloaded again, also when a partial download is resumed', async () => {
  srv.setFile(A, '"a1"');
  await RingLM.cache.clear();
  await logitsOf(srv.url, { cache: true });
  srv.setFile(B, '"b1"');
  const changed = await logitsOf(srv.url, { cache: true });
  assert.deepEqual(changed.logits, (await logitsOf(B)).logits, 'the new file, not the stored old one');

  // A partial copy of B, then the server has A again: If-Range no longer matches, the server sends all of A.
  await RingLM.cache.clear();
  srv.state.cuts = 100;
  srv.state.cutAfter = 2000;
  await assert.rejects(logitsOf(srv.url, { cache: true }), /stopped after/);
  srv.state.cuts = 0;
  srv.setFile(A, '"a2"');
  assert.deepEqual((await logitsOf(srv.url, { cache: true })).logits, reference);
});

test('SHA-256 and the memory limit are checked; a refused file is not kept; the module stays usable', async () => {
  srv.setFile(A, '"a1"');
  await RingLM.cache.clear();
  const wrong = sha(B);
  await assert.rejects(logitsOf(srv.url, { cache: true, sha256: wrong }), new RegExp(`has SHA-256 ${sha(A)}, not the ${wrong}`));
  assert.deepEqual(await RingLM.cache.list(), [], 'the download was discarded');
  await assert.rejects(logitsOf(srv.url, { cache: true, sha256: 'abc' }), /sha256 must be 64 hexadecimal digits/);

  // A copy stored under its right hash, then a wrong hash asked for: the copy still hashes to what it was verified
  // against and the server has not changed it, so the load is refused without a download and the copy is kept.
  assert.deepEqual((await logitsOf(srv.url, { cache: true, sha256: sha(A) })).logits, reference);
  srv.state.log.length = 0;
  await assert.rejects(logitsOf(srv.url, { cache: true, sha256: wrong }), new RegExp(
    `^Error: RingLM\\.load: the cached copy of ${srv.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has SHA-256 ${sha(A)}, ` +
    `not the ${wrong} asked for; it was verified when stored and the server has not changed it, so it was kept`));
  assert.deepEqual(srv.state.log.filter((r) => r.method === 'GET'), [], 'nothing downloaded');
  assert.deepEqual((await RingLM.cache.list()).map((e) => [e.complete, e.sha256]), [[true, sha(A)]], 'the copy is kept');
  // Damaged on disk (no longer its recorded hash): not trusted, fetched again, and the wrong hash refuses the download.
  const [{ size }] = await RingLM.cache.list();
  const stored = readdirSync(CACHE_DIR, { recursive: true }).map(String).find((f) => f.endsWith('.gguf'));
  const damaged = readFileSync(path.join(CACHE_DIR, stored));
  damaged[size - 1] ^= 1;
  writeFileSync(path.join(CACHE_DIR, stored), damaged);
  await assert.rejects(logitsOf(srv.url, { cache: true, sha256: wrong }), /\(the download was discarded\)$/);
  assert.deepEqual(await RingLM.cache.list(), []);

  // Without the cache (bytes, a path), the bytes are checked once they are in memory.
  const file = path.join(CACHE_DIR, '..', `ringlm-cache-test-${process.pid}.gguf`);
  writeFileSync(file, A);
  try {
    assert.deepEqual((await logitsOf(file, { sha256: sha(A).toUpperCase() })).logits, reference);
    await assert.rejects(logitsOf(file, { sha256: wrong }), /the file has SHA-256/);
  } finally {
    rmSync(file, { force: true });
  }

  // Over the limit: refused from the file's first bytes (a Range request), before its body is asked for.
  srv.state.log.length = 0;
  await assert.rejects(logitsOf(srv.url, { cache: true, memoryLimit: 4096 }),
    /tiny\.gguf: the model needs [\d.]+ MiB .*more than the memory limit of 0\.0 MiB.*nothing was downloaded/);
  assert.deepEqual(srv.state.log.map((r) => `${r.method} ${r.range}`), ['GET bytes=0-1048575']);

  assert.deepEqual((await logitsOf(srv.url, { cache: true })).logits, reference, 'and the next load works');
  await assert.rejects(RingLM.load(srv.url, { cache: 'yes' }), /cache must be true or false/);
  await assert.rejects(RingLM.load(srv.url, { cahce: true }), /unknown option 'cahce' \(did you mean 'cache'\?\)/);
});

test('list, delete and clear', async () => {
  srv.setFile(A, '"a1"');
  await RingLM.cache.clear();
  await logitsOf(srv.url, { cache: true });
  await logitsOf(`${srv.url}?copy=2`, { cache: true });
  const listed = await RingLM.cache.list();
  assert.equal(listed.length, 2);
  assert.ok(listed.every((e) => e.size === A.length && e.complete));
  assert.equal(await RingLM.cache.delete(`${srv.url}?copy=2`), true);
  assert.equal(await RingLM.cache.delete(`${srv.url}?copy=2`), false, 'nothing left to delete');
  assert.deepEqual((await RingLM.cache.list()).map((e) => e.url), [srv.url]);
  assert.deepEqual(await RingLM.cache.clear(), { entries: 1, bytes: A.length });
  assert.deepEqual(readdirSync(CACHE_DIR), []);
});

const cli = (...args) => new Promise((resolve) => {
  execFile(process.execPath, [path.join(ROOT, 'wasm/cli.js'), ...args],
    { env: { ...process.env, RINGLM_CACHE_DIR: CACHE_DIR }, encoding: 'utf8' },
    (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
});

test('ringlm pull, ls, rm and -m URL', async () => {
  srv.setFile(A, '"a1"');
  await RingLM.cache.clear();
  const pulled = await cli('pull', srv.url, '--sha256', sha(A));
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stdout, /tiny\.gguf: [\d.]+ MB, llama, .*cached/);
  const ls = await cli('ls');
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`${(A.length / 1e6).toFixed(1)} MB  ${srv.url.replace(/[.?]/g, '\\$&')}\\n1 model, [\\d.]+ MB in ${CACHE_DIR}`));

  srv.state.log.length = 0;
  const run = await cli('-m', srv.url, '-p', 'ab', '-n', '3', '--seed', '1');
  assert.equal(run.code, 0, run.stderr);
  assert.ok(srv.state.log.every((r) => r.method === 'HEAD'), 'generation used the pulled copy');

  assert.match((await cli('pull', 'not-a-url')).stderr, /pull needs an http\(s\) URL/);
  assert.match((await cli('rm', `${srv.url}x`)).stderr, /is not in the cache/);
  const rm = await cli('rm', srv.url);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match((await cli('ls')).stdout, /^0 models, 0\.0 MB in /);
});

// ---------------------------------------------------------------------------------------------------------------
// The memory check before a download (wasm/lib/preflight.js): the GGUF header, read with Range requests, sized by
// the engine's own budget rule.

// A model whose file is most of its budget (a large vocabulary), with a header that needs no second request.
const LARGE = makeRandomLlama({ seed: 4, dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 4000, ctx: 128, type: 'F32' }).toBuffer();

/** The error a load gives, as text (null if it loads). */
const refusal = (source, options) => RingLM.load(source, options).then((lm) => { lm.dispose(); return null; }, (e) => e.message);

test('a model that cannot fit is refused from its header before the download, with the load\'s own message', async () => {
  srv.setFile(A, '"a1"');
  for (const cache of [true, false]) {
    await RingLM.cache.clear();
    srv.state.log.length = 0;
    // Too large a context for the limit: the same words a load of the bytes gives, with the context that fits.
    const options = { contextSize: 200_000, memoryLimit: 8 << 20, cache };
    const local = await refusal(A, options);
    assert.match(local, /^RingLM\.load: the model needs .* for contextSize 200000 .*; choose a smaller contextSize \(\d+ would fit\)$/);
    const remote = await refusal(srv.url, options);
    assert.equal(remote, `RingLM.load: ${srv.url}: ${local.slice('RingLM.load: '.length)} (read from the file's first bytes: nothing was downloaded)`);
    assert.deepEqual(srv.state.log.map((r) => `${r.method} ${r.range}`), ['GET bytes=0-1048575'], 'only the first bytes were asked for');
    assert.deepEqual(await RingLM.cache.list(), []);

    // A file too large for any context: the size of one that would fit (a model whose file is most of its budget).
    srv.setFile(LARGE, '"large"');
    const tight = await refusal(srv.url, { memoryLimit: LARGE.length + (64 << 10), cache });
    srv.setFile(A, '"a1"');
    const m = /even a small contextSize does not fit: use a smaller or more quantized model \(a file of at most ([\d.]+) MiB would fit with contextSize 128\).*nothing was downloaded/.exec(tight);
    assert.ok(m, tight);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < LARGE.length / 2 ** 20, 'smaller than this file: the KV ring and scratch need the rest');
    assert.equal(tight.replace(/ \(read from.*$/, '').replace(`${srv.url}: `, ''), await refusal(LARGE, { memoryLimit: LARGE.length + (64 << 10) }));
    assert.ok(srv.state.log.every((r) => r.range === 'bytes=0-1048575'), 'still nothing but first bytes');
  }
  // Within the limit, the context picked from the header is the one the load gets.
  const memoryLimit = A.length + (1 << 20);
  const local = await RingLM.load(A, { memoryLimit });
  const remote = await RingLM.load(srv.url, { memoryLimit, cache: false });
  assert.equal(remote.info.contextSize, local.info.contextSize);
  assert.equal(remote.info.contextLimitedBy, local.info.contextLimitedBy);
  local.dispose();
  remote.dispose();
});

test('a header larger than the first request is read in growing Range requests', async () => {
  const w = makeRandomLlama({ seed: 3, dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 4000, ctx: 128, type: 'F32' });
  w.addString('general.description', 'a long description. '.repeat(150_000));  // 3 MB of metadata, 4 MB of weights
  const big = w.toBuffer();
  srv.setFile(big, '"big"');
  try {
    srv.state.log.length = 0;
    const r = await refusal(srv.url, { contextSize: 1 << 20, memoryLimit: big.length + (1 << 20), cache: false });
    assert.match(r, /choose a smaller contextSize \(\d+ would fit\).*nothing was downloaded/);
    const ranges = srv.state.log.map((q) => q.range);
    assert.ok(ranges.length >= 2 && ranges.every((q) => /^bytes=0-\d+$/.test(q)), JSON.stringify(ranges));
    assert.ok(Number(/-(\d+)/.exec(ranges.at(-1))[1]) + 1 >= 3_000_000, 'the last request reaches past the metadata');
    assert.ok(Number(/-(\d+)/.exec(ranges.at(-1))[1]) + 1 < big.length, 'and not the whole file');

    srv.state.log.length = 0;
    const lm = await RingLM.load(srv.url, { contextSize: 64, cache: false });
    lm.dispose();
    assert.equal(srv.state.log.at(-1).range, null, 'then the file is downloaded');
  } finally {
    srv.setFile(A, '"a1"');
  }
});

test('a server without Range requests: the size alone is checked, before the download', async () => {
  srv.setFile(A, '"a1"');
  srv.state.noRange = true;
  try {
    for (const cache of [true, false]) {
      await RingLM.cache.clear();
      await assert.rejects(RingLM.load(srv.url, { memoryLimit: 4096, cache }),
        /tiny\.gguf is [\d.]+ MiB, more than the memory limit of 0\.0 MiB: it was not downloaded/);
      assert.deepEqual(await RingLM.cache.list(), []);
      // The header could not be read first: a context too large is found by the load, after the download.
      const late = await refusal(srv.url, { contextSize: 200_000, memoryLimit: 8 << 20, cache });
      assert.match(late, /^RingLM\.load: the model needs .* for contextSize 200000 .*would fit\)$/);
      assert.deepEqual((await logitsOf(srv.url, { cache })).logits, reference, 'and a model that fits loads');
    }
  } finally {
    srv.state.noRange = false;
  }
});
