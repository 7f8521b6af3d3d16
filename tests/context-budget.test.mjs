// The context a model gets when load() is given none: the trained one when it fits the memory budget, else the
// largest that does (never more than the trained one), said in lm.info; an explicit size that cannot fit is refused
// with the budget's error, and the module stays usable. (In Chromium through the page, with the full 4 GiB and a
// Qwen3-0.6B-shaped file: tests/web-context.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'build/context-budget');
mkdirSync(DIR, { recursive: true });

function writeModel(file, opts) {
  const p = path.join(DIR, file);
  writeFileSync(p, makeRandomLlama(opts).toBuffer());
  return p;
}
// Qwen 3's trained context with 2 layers of 2 KV heads of 128: 4 KiB of KV ring a token, 160 MiB for all of it.
const LONG = writeModel('long.gguf', { arch: 'qwen3', seed: 41, dim: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 128,
  ffn: 512, vocab: 1000, ctx: 40960, type: 'Q8_0' });
const SHORT = writeModel('short.gguf', { seed: 42, dim: 64, layers: 2, heads: 4, kvHeads: 2, vocab: 300, ctx: 4096, type: 'Q8_0' });
const LIMIT = 64 * 2 ** 20;
const HEADROOM = LIMIT / 16;  // what a picked context leaves to allocations the budget does not count

test('no contextSize, trained context fits: the trained context', async () => {
  const lm = await RingLM.load(SHORT);
  assert.equal(lm.info.contextSize, 4096);
  assert.equal(lm.info.trainedContextSize, 4096);
  assert.equal(lm.info.contextLimitedBy, 'trained');
  assert.equal(lm.info.family, 'Llama (Llama 2, Llama 3.x and other llama-architecture models)');
  lm.dispose();
  const explicit = await RingLM.load(SHORT, { contextSize: 300 });
  assert.equal(explicit.info.contextSize, 300);
  assert.equal(explicit.info.contextLimitedBy, 'option');
  explicit.dispose();
});

test('no contextSize, trained context does not fit: the largest that does, reported, and it runs', async () => {
  const lm = await RingLM.load(LONG, { memoryLimit: LIMIT });
  const i = lm.info;
  assert.equal(i.family, 'Qwen 3');
  assert.equal(i.trainedContextSize, 40960);
  assert.equal(i.contextLimitedBy, 'memory');
  assert.ok(i.contextSize >= 256 && i.contextSize < 40960, `picked ${i.contextSize}`);
  assert.equal(i.contextSize % 256, 0, 'a multiple of 256');
  assert.ok(i.memoryBytes <= LIMIT - HEADROOM, `${i.memoryBytes} bytes planned, more than the limit less its headroom`);
  assert.equal(i.kvBytes, 2 * i.layers * (i.contextSize + 32) * i.kvHeads * i.headSize * 4, 'the ring is the size reported');
  const r = await lm.complete([1, 5, 6, 7], { maxTokens: 8, temperature: 0 });
  assert.equal(r.tokens.length, 8);
  const picked = i.contextSize;
  lm.dispose();

  // The largest: 256 more tokens do not fit under the same limit less its headroom.
  await assert.rejects(RingLM.load(LONG, { memoryLimit: LIMIT - HEADROOM, contextSize: picked + 256 }),
    /more than the memory limit/);
  // Under 1 GiB the same file gets its whole trained context.
  const roomy = await RingLM.load(LONG, { memoryLimit: 2 ** 30 });
  assert.equal(roomy.info.contextSize, 40960);
  assert.equal(roomy.info.contextLimitedBy, 'trained');
  roomy.dispose();
});

test('an explicit contextSize that cannot fit gets the budget error, and the module stays usable', async () => {
  const heap = (await RingLM.memoryUsage()).heapBytesInUse;
  await assert.rejects(RingLM.load(LONG, { memoryLimit: LIMIT, contextSize: 40960 }), (e) => {
    assert.match(e.message, /^RingLM\.load: the model needs [\d.]+ MiB \(file [\d.]+ MiB \+ KV cache 160\.[\d]+ MiB for contextSize 40960 \+ scratch [\d.]+ MiB\), more than the memory limit of 64\.0 MiB; choose a smaller contextSize \((\d+) would fit\)$/);
    return true;
  });
  // Nor does the ring of every context fit when the limit barely holds the file: no size helps.
  await assert.rejects(RingLM.load(LONG, { memoryLimit: statSync(LONG).size + 1000 }),
    /for contextSize 40960 .*even a small contextSize does not fit: use a smaller or more quantized model/);
  assert.equal((await RingLM.memoryUsage()).heapBytesInUse, heap, 'the refusals gave everything back');
  const lm = await RingLM.load(LONG, { memoryLimit: LIMIT });
  assert.equal((await lm.complete([1, 2, 3], { maxTokens: 4, temperature: 0 })).tokens.length, 4);
  lm.dispose();
});

test('the command line names the family and says what set the context', async () => {
  const { spawnSync } = await import('node:child_process');
  const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  const trained = cli('-m', LONG, '-p', 'a', '-n', '1');
  assert.equal(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /^ringlm: Qwen 3 \(qwen3\), 2\.1M parameters, F32\/Q8_0, context 40960 tokens \(the trained context\)$/m);
  const given = cli('-m', LONG, '-p', 'a', '-n', '1', '--ctx', '512');
  assert.match(given.stderr, /^ringlm: Qwen 3 \(qwen3\), .*, context 512 tokens \(--ctx\)$/m);
});
