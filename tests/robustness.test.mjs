// Robustness of the JS API: bad input at every entry point (each a clear error or documented behaviour, and
// the module still usable), corrupt snapshots, the memory budget (memoryLimit, contextSize too large), and
// loading a Blob or a URL in chunks with byte progress. Leaks over long runs: tests/long-run.test.mjs; calls
// after dispose() and other misuse: tests/misuse.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, openAsBlob, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'build/robustness');
mkdirSync(DIR, { recursive: true });

// A small model (tokenizer included) and a ~8 MB one for chunked loading.
function writeModel(file, opts) {
  const p = path.join(DIR, file);
  writeFileSync(p, makeRandomLlama(opts).toBuffer());
  return p;
}
const SMALL = writeModel('small.gguf', { seed: 9, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 512, type: 'Q8_0' });
const LARGE = writeModel('large.gguf', { seed: 10, dim: 32, layers: 1, heads: 2, ffn: 32, vocab: 32000, ctx: 128, type: 'F32' });

// ---------------------------------------------------------------------------------------------------------------
// Bad input at the API: each a clear error or documented behaviour, the module still usable

test('bad token ids: out of the vocabulary, not integers, beyond int32 (no silent wrap-around)', async () => {
  const lm = await RingLM.load(SMALL);
  const V = lm.info.vocabSize;
  assert.throws(() => lm.prefill([1, V]), new RegExp(`token id ${V} at index 1 is out of range \\(vocabulary size ${V}\\)`));
  assert.throws(() => lm.prefill([-1]), /token id -1 at index 0 is out of range/);
  assert.throws(() => lm.decode(V), /out of range/);
  assert.throws(() => lm.decode(2 ** 32), { name: 'RangeError', message: /RingLM.decode: token id 4294967296 is out of range/ });
  assert.throws(() => lm.prefill([2 ** 32 + 1]), RangeError);
  assert.throws(() => lm.prefill([1.5]), { name: 'TypeError', message: /token ids must be integers \(got 1.5\)/ });
  assert.throws(() => lm.prefill([NaN]), TypeError);
  assert.throws(() => lm.prefill('123'), TypeError);
  assert.throws(() => lm.prefill([]), /RingLM.prefill: no tokens given/);
  assert.throws(() => lm.detokenize([V + 5]), /out of|outside/);
  assert.throws(() => lm.detokenize([2 ** 40]), RangeError);
  await assert.rejects(lm.complete([1, V]), /RingLM.generate: prompt token id 300 at index 1 is out of range \(vocabulary size 300\)/);
  await assert.rejects(lm.complete([1, 2.5]), TypeError);
  await assert.rejects(lm.complete([2 ** 32]), RangeError);
  await assert.rejects(lm.complete([]), /RingLM.generate: the prompt is empty: give at least one token/);
  // Nothing above changed the cache; the model still generates.
  assert.equal(lm.position, 0);
  assert.equal((await lm.complete([1, 2], { maxTokens: 3, temperature: 0 })).tokens.length, 3);
  lm.dispose();
});

test('bad generate() options: NaN, negative, out of range, wrong types', async () => {
  const lm = await RingLM.load(SMALL);
  const bad = [
    [{ temperature: NaN }, /temperature must be a number in \[0, 1000000\] \(got NaN\)/],
    [{ temperature: -1 }, /temperature/],
    [{ topP: 1.5 }, /topP/], [{ topP: NaN }, /topP/], [{ minP: -0.1 }, /minP/],
    [{ topK: -1 }, /topK must be an integer/], [{ topK: 2.5 }, /topK/],
    [{ maxTokens: -1 }, /maxTokens must be an integer in \[0, 2147483647\] \(got -1\)/], [{ maxTokens: NaN }, /maxTokens/],
    [{ maxTokens: Infinity }, /maxTokens/], [{ repeatPenalty: 0 }, /repeatPenalty/], [{ repeatPenalty: NaN }, /repeatPenalty/],
    [{ presencePenalty: Infinity }, /presencePenalty/], [{ penaltyLastN: -5 }, /penaltyLastN/],
    [{ seed: -1 }, /seed/], [{ seed: 1.5 }, /seed/], [{ prefillChunk: 0 }, /prefillChunk/],
    [{ contextPolicy: 'nope' }, /contextPolicy/], [{ stop: [1] }, /stop must be a string/], [{ signal: 'x' }, /AbortSignal/],
    [{ temperature: '0.5' }, /temperature/],
  ];
  for (const [options, message] of bad) {
    await assert.rejects(lm.complete('hi', options), (e) => {
      assert.ok(e instanceof RangeError || e instanceof TypeError, `${JSON.stringify(options)}: ${e}`);
      assert.match(e.message, message, JSON.stringify(options));
      return true;
    });
  }
  const r = await lm.complete('hi', { maxTokens: 2, temperature: 0 });
  assert.equal(r.tokens.length, 2);
  lm.dispose();
});

test('maxTokens 0 runs only the prompt; an empty string prompt is just BOS', async () => {
  const lm = await RingLM.load(SMALL);
  const r = await lm.complete('hello', { maxTokens: 0 });
  assert.deepEqual([r.text, r.tokens, r.finishReason], ['', [], 'length']);
  assert.equal(lm.position, lm.tokenize('hello').length);
  const e = await lm.complete('', { maxTokens: 3, temperature: 0 });
  assert.equal(e.timings.promptTokens, 1, 'the empty text tokenizes to BOS alone');
  assert.equal(e.tokens.length, 3);
  assert.equal(lm.tokenize('').length, 1);
  assert.equal(lm.tokenize('', { addBos: false }).length, 0);
  lm.dispose();
});

test('lone surrogates read as U+FFFD (as TextEncoder does) and never break tokenize or generate', async () => {
  const lm = await RingLM.load(SMALL);
  for (const s of ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF', 'x\uD83D']) {
    assert.deepEqual(lm.tokenize(s), lm.tokenize(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD')), JSON.stringify(s));
    const r = await lm.complete(s, { maxTokens: 2, temperature: 0 });
    assert.equal(r.tokens.length, 2);
    assert.ok(lm.detokenize(lm.tokenize(s)).includes('\uFFFD'));
  }
  assert.throws(() => lm.tokenize(null), TypeError);
  assert.throws(() => lm.tokenize(42), TypeError);
  lm.dispose();
});

test('a 1 MB prompt: tokenized whole; under contextPolicy "stop" it ends with "length"; under "sinks" it streams and can be aborted', async () => {
  const lm = await RingLM.load(SMALL, { contextSize: 256 });
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(23302).slice(0, 1 << 20);
  assert.equal(text.length, 1 << 20);
  const ids = lm.tokenize(text);
  assert.ok(ids.length > 100_000);
  // Does not fit and the policy is stop: documented to finish with 'length' and no tokens.
  const r = await lm.complete(text, { maxTokens: 5, contextPolicy: 'stop' });
  assert.deepEqual([r.finishReason, r.tokens.length], ['length', 0]);
  // Under sinks the prompt streams through the ring in chunks; an AbortSignal stops it between chunks.
  const controller = new AbortController();
  let chunks = 0;
  await assert.rejects(lm.complete(text, {
    maxTokens: 5, signal: controller.signal,
    onPrefillProgress: ({ done, total }) => { assert.equal(total, ids.length); if (++chunks === 20) controller.abort(); },
  }), { name: 'AbortError' });
  assert.equal(chunks, 20);
  const after = await lm.complete('ok', { maxTokens: 2, temperature: 0 });
  assert.equal(after.tokens.length, 2);
  lm.dispose();
});

test('bad load() input: sources, options, missing files', async () => {
  await assert.rejects(RingLM.load(null), { name: 'TypeError', message: /source must be/ });
  await assert.rejects(RingLM.load(42), TypeError);
  await assert.rejects(RingLM.load(path.join(DIR, 'no-such-file.gguf')), /RingLM.load: cannot read '.*no-such-file.gguf': ENOENT/);
  await assert.rejects(RingLM.load(new Uint8Array(0)), /RingLM.load: the model file is empty/);
  await assert.rejects(RingLM.load(new Uint8Array(3)), /not a GGUF file/);
  for (const contextSize of [-1, 1.5, NaN, '512']) {
    await assert.rejects(RingLM.load(SMALL, { contextSize }), { name: 'RangeError', message: /contextSize must be a positive integer/ });
  }
  for (const memoryLimit of [-1, NaN, 1.5, '1e9']) {
    await assert.rejects(RingLM.load(SMALL, { memoryLimit }), { name: 'RangeError', message: /memoryLimit must be a number of bytes/ });
  }
  await assert.rejects(RingLM.load(SMALL, { onProgress: 'yes' }), TypeError);
  const lm = await RingLM.load(SMALL);
  assert.equal((await lm.complete([1], { maxTokens: 1 })).tokens.length, 1);
  lm.dispose();
});

test('restoreState() refuses corrupt or foreign snapshots, and the model stays usable', async () => {
  const lm = await RingLM.load(SMALL, { contextSize: 64 });
  await lm.complete([1, 2, 3], { maxTokens: 5, seed: 1, keepCache: true });
  const good = lm.saveState();
  const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const patched = (fn) => { const b = good.slice(); fn(view(b), b); return b; };
  // Layout (src/generate/session.cpp): magic, version, fingerprint (u64), layers @16, kv_dim, vocab, slots @28,
  // policy @32, anchors, next_pos @40, shift_start @44, dropped, keys @56, ...
  const keysAt = 56;
  const keysLen = Number(view(good).getBigUint64(keysAt, true));
  const valuesAt = keysAt + 8 + keysLen * 4;
  const tokensAt = valuesAt + 8 + keysLen * 4;  // the token id of every slot
  const logitsAt = tokensAt + 8 + view(good).getInt32(28, true) * 4;
  const paramsAt = logitsAt + 8 + lm.info.vocabSize * 4 + 1;  // after the sampler_ready byte
  const cases = [
    [good.slice(0, 100), /the state is truncated or corrupt/],
    [new Uint8Array(64), /not a ringlm state/],
    [patched((v) => v.setUint32(4, 2, true)), /the state has format version 2; this ringlm reads version 3 only/],
    [patched((v) => v.setInt32(16, 99, true)), /belongs to another model/],
    [patched((v) => v.setUint8(8, v.getUint8(8) ^ 1)), /belongs to another model \(its file's fingerprint differs/],
    [patched((v) => v.setInt32(40, -100, true)), /the state is corrupt: its cache positions do not fit this context/],
    [patched((v) => { v.setInt32(32, 0, true); v.setInt32(40, 1_000_000, true); }), /the state is corrupt/],  // stop: past the capacity
    [patched((v) => { v.setInt32(32, 1, true); v.setInt32(44, -7, true); }), /the state is corrupt/],  // shift: window before the anchors
    [patched((v) => v.setBigUint64(keysAt, 10n ** 12n, true)), /truncated or corrupt/],
    [patched((v) => v.setInt32(paramsAt + 28, 2e9, true)), /penaltyLastN must be an integer in \[0, 1048576\]/],
    [patched((v) => v.setFloat32(paramsAt, NaN, true)), /temperature must be/],
    [patched((v) => v.setInt32(tokensAt + 8, lm.info.vocabSize, true)), /the state is corrupt: token id \d+ in the cache/],
    [patched((v) => v.setInt32(32, 3, true)), /the state is corrupt: context policy 3 does not exist/],
  ];
  for (const [i, [bytes, message]] of cases.entries()) assert.throws(() => lm.restoreState(bytes), message, `case ${i}`);
  assert.throws(() => lm.restoreState([1, 2, 3]), TypeError);
  lm.restoreState(good);
  const a = await lm.complete([4], { maxTokens: 5, keepCache: true, seed: 2 });
  lm.restoreState(good);
  const b = await lm.complete([4], { maxTokens: 5, keepCache: true, seed: 2 });
  assert.deepEqual(a.tokens, b.tokens);
  lm.dispose();
});

// ---------------------------------------------------------------------------------------------------------------
// The memory budget

test('lm.info states the budget, and it is what was allocated', async () => {
  const lm = await RingLM.load(SMALL, { contextSize: 100 });
  const i = lm.info;
  assert.equal(i.fileBytes, statSync(SMALL).size);
  assert.equal(i.kvBytes, 2 * i.layers * (100 + 32) * i.kvHeads * i.headSize * 4, 'KV ring: 2 x layers x (context + batch) x kv_dim floats');
  assert.ok(i.scratchBytes > 0);
  assert.equal(i.memoryBytes, i.fileBytes + i.kvBytes + i.scratchBytes + i.vocabSize * 4, 'the plan matches the allocations');
  lm.dispose();
});

test('a model over memoryLimit is refused before allocating, naming the sizes and a contextSize that fits', async () => {
  const probe = await RingLM.load(SMALL, { contextSize: 4096 });
  const need = probe.info.memoryBytes;
  probe.dispose();
  const heap = (await RingLM.memoryUsage()).heapBytesInUse;
  // One byte short: refused, with every size and a suggestion.
  await assert.rejects(RingLM.load(SMALL, { contextSize: 4096, memoryLimit: need - 1 }), (e) => {
    assert.match(e.message, /^RingLM\.load: the model needs [\d.]+ MiB \(file [\d.]+ MiB \+ KV cache [\d.]+ MiB for contextSize 4096 \+ scratch [\d.]+ MiB\), more than the memory limit of [\d.]+ MiB; choose a smaller contextSize \(\d+ would fit\)$/);
    const fits = Number(e.message.match(/\((\d+) would fit\)/)[1]);
    assert.ok(fits > 0 && fits < 4096);
    return true;
  });
  assert.equal((await RingLM.memoryUsage()).heapBytesInUse, heap, 'the refusal gave everything back');
  // Exactly enough: loads. The suggested contextSize fits under the same limit.
  const exact = await RingLM.load(SMALL, { contextSize: 4096, memoryLimit: need });
  exact.dispose();
  const limit = 600 * 1024;
  const e = await RingLM.load(SMALL, { contextSize: 4096, memoryLimit: limit }).catch((x) => x);
  const fits = Number(e.message.match(/\((\d+) would fit\)/)[1]);
  const ok = await RingLM.load(SMALL, { contextSize: fits, memoryLimit: limit });
  assert.ok(ok.info.memoryBytes <= limit);
  ok.dispose();
  // A file bigger than the limit is refused before its bytes are copied in.
  await assert.rejects(RingLM.load(SMALL, { memoryLimit: 1000 }), /RingLM.load: the file is [\d.]+ MiB, more than the memory limit of 0.0 MiB/);
  // Smaller than the file plus the fixed costs: no contextSize helps.
  await assert.rejects(RingLM.load(SMALL, { memoryLimit: statSync(SMALL).size + 100 }), /even a small contextSize does not fit: use a smaller or more quantized model/);
});

test('a contextSize whose KV cache cannot fit in the 4 GiB address space is refused with a suggestion', async () => {
  // 2 layers x kv_dim 32 x 2 x 4 bytes = 512 bytes a token: 16M tokens need 8 GiB.
  await assert.rejects(RingLM.load(SMALL, { contextSize: 1 << 24 }), (e) => {
    assert.match(e.message, /KV cache 8192\.0 MiB for contextSize 16777216/);
    assert.match(e.message, /more than the memory limit of 4096\.0 MiB; choose a smaller contextSize \(\d+ would fit\)/);
    return true;
  });
  await assert.rejects(RingLM.load(SMALL, { contextSize: (1 << 24) + 1 }), /contextSize 16777217 is too large/);
  const lm = await RingLM.load(SMALL);
  assert.equal((await lm.complete([1], { maxTokens: 1 })).tokens.length, 1);
  lm.dispose();
});

test('allLogits rows that cannot fit wasm memory are refused, naming them; the model stays usable', async () => {
  const lm = await RingLM.load(LARGE);
  // 34,000 rows x 32,000 logits x 4 bytes = 4.35 GB: more than a 32-bit size can hold (it must not wrap around
  // to a small buffer that the rows then overrun).
  const ids = new Int32Array(34000).fill(5);
  assert.throws(() => lm.prefill(ids, { allLogits: true }),
    /^Error: RingLM\.prefill: cannot allocate allLogits' 34000 rows of 32000 logits \(prefill fewer tokens per call\) \(4150\.4 MiB\): the memory is not available$/);
  const rows = lm.prefill([1, 2, 3], { allLogits: true });
  assert.equal(rows.length, 3 * 32000);
  assert.ok(rows.every(Number.isFinite));
  lm.dispose();
});

// ---------------------------------------------------------------------------------------------------------------
// Chunked loading

function checkProgress(reports, total) {
  assert.ok(reports.length > 10, `only ${reports.length} progress reports`);
  for (let i = 0; i < reports.length; i++) {
    assert.equal(reports[i].total, total);
    if (i > 0) assert.ok(reports[i].loaded > reports[i - 1].loaded, 'progress only goes up');
  }
  assert.equal(reports.at(-1).loaded, total);
}

test('a Blob streams into wasm memory chunk by chunk with byte progress', async () => {
  const size = statSync(LARGE).size;
  assert.ok(size > 8_000_000);
  const reports = [];
  const lm = await RingLM.load(await openAsBlob(LARGE), { onProgress: (p) => reports.push(p) });
  checkProgress(reports, size);
  assert.equal(lm.info.fileBytes, size);
  assert.equal(lm.info.vocabSize, 32000);
  // The same model from bytes gives the same logits.
  const fromBytes = await RingLM.load(readFileSync(LARGE));
  assert.deepEqual(lm.prefill([1, 2, 3]), fromBytes.prefill([1, 2, 3]));
  lm.dispose();
  fromBytes.dispose();
});

test('a URL streams with progress (Content-Length), or is gathered first without one; a short body is an error', async () => {
  const bytes = readFileSync(LARGE);
  const server = createServer((req, res) => {
    if (req.url === '/model.gguf') {
      res.writeHead(200, { 'content-length': bytes.length });
      for (let at = 0; at < bytes.length; at += 1 << 20) res.write(bytes.subarray(at, at + (1 << 20)));
      res.end();
    } else if (req.url === '/chunked.gguf') {
      res.writeHead(200);  // no length: chunked transfer encoding
      res.end(bytes);
    } else if (req.url === '/short.gguf') {
      res.writeHead(200, { 'content-length': bytes.length });
      res.end(bytes.subarray(0, 1000));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const reports = [];
    const lm = await RingLM.load(`${base}/model.gguf`, { onProgress: (p) => reports.push(p) });
    checkProgress(reports, bytes.length);
    lm.dispose();
    const chunked = await RingLM.load(new URL(`${base}/chunked.gguf`));
    assert.equal(chunked.info.fileBytes, bytes.length);
    chunked.dispose();
    const heap = (await RingLM.memoryUsage()).heapBytesInUse;
    await assert.rejects(RingLM.load(`${base}/short.gguf`), /RingLM.load: (.* ended after 1000 of \d+ bytes|reading .* failed after 1000 of \d+ bytes: terminated)/);
    assert.equal((await RingLM.memoryUsage()).heapBytesInUse, heap, 'a failed stream frees its buffer');
    await assert.rejects(RingLM.load(`${base}/missing.gguf`), /HTTP 404/);
  } finally {
    server.close();
  }
});
