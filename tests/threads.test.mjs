// The threaded build in Node: the package picks it by itself, `threads` forces a count (1 = the
// single-threaded build), and 1, 2 or 3 threads give the same bits: every logit of a prefill and
// of a greedy decode, and the greedy ids (also past wraps of the KV ring), on every weight type. A
// process that loads a model, generates and disposes of it must then exit by itself (the threads'
// Workers must not keep it alive). The same equality is checked in C++ by tests/thread_test.cpp,
// natively and in the threaded wasm build.
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RingLM } from '../wasm/ringlm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = (name) => path.join(ROOT, 'build/models', name);
const TYPES = ['f32', 'f16', 'q8_0', 'q4_0'];
const EXIT_TIMEOUT_MS = 60_000;

for (const file of ['dist/ringlm.mjs', 'dist/ringlm-mt.mjs', 'dist/ringlm-mt.worker.js', 'build/models/gqa-q8_0.gguf']) {
  assert.ok(existsSync(path.join(ROOT, file)), `${file} is missing: run \`npm run build && node tools/make-test-models.mjs\` first`);
}

/**
 * Prefill 40 tokens (all logits), then 24 greedy decode steps; then a greedy generation that runs
 * past wraps of the 64-token ring.
 */
async function run(file, threads) {
  const lm = await RingLM.load(model(file), { threads, contextSize: 64 });
  try {
    assert.equal(lm.info.threads, threads, `${file}: info.threads`);
    const vocab = lm.info.vocabSize;
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % vocab);
    const prefill = lm.prefill(prompt, { allLogits: true });
    let last = prefill.subarray(prefill.length - vocab);
    const decode = [];
    const ids = [];
    for (let i = 0; i < 24; i++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (last[v] > last[best]) best = v;
      ids.push(best);
      last = lm.decode(best);
      decode.push(last);
    }
    const contextPolicy = lm.info.positionEncoding === 'learned' ? 'shift' : 'sinks';  // gpt2 cannot keep sinks
    const wrapped = await lm.complete(prompt.slice(0, 20), { temperature: 0, maxTokens: 150, contextPolicy });
    assert.ok(lm.cacheState.dropped > 64, `${file}: the ring wrapped (dropped ${lm.cacheState.dropped})`);
    return { prefill, decode, ids, generated: wrapped.tokens };
  } finally {
    lm.dispose();
  }
}

const bytes = (floats) => Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);

test('1, 2 and 3 threads give the same logits and greedy ids, bit for bit', { timeout: 300_000 }, async () => {
  // The first threaded load decides how many threads exist: 3 here, so that every count below has them.
  const warm = await RingLM.load(model('mha-q8_0.gguf'), { threads: 3 });
  assert.equal(warm.info.threads, 3);
  warm.dispose();
  // Every weight type's product and every architecture's attention splits the same way.
  const files = [
    ...['gqa', 'tied'].flatMap((name) => TYPES.map((type) => `${name}-${type}.gguf`)),
    'qwen2-q8_0.gguf', 'gpt2-q8_0.gguf', 'k256-q4_k.gguf', 'k256-q5_k.gguf', 'k256-q6_k.gguf', 'k256-q5_1.gguf',
    'k256-bf16.gguf', 'mix-q4_k_m.gguf',
  ];
  for (const file of files) {
    const one = await run(file, 1);
    for (const threads of [2, 3]) {
      const many = await run(file, threads);
      assert.ok(bytes(many.prefill).equals(bytes(one.prefill)), `${file}: prefill logits, ${threads} threads vs 1`);
      many.decode.forEach((logits, i) => {
        assert.ok(bytes(logits).equals(bytes(one.decode[i])), `${file}: decode step ${i}, ${threads} threads vs 1`);
      });
      assert.deepEqual(many.ids, one.ids, `${file}: greedy ids, ${threads} threads vs 1`);
      assert.deepEqual(many.generated, one.generated, `${file}: greedy generation past ring wraps, ${threads} threads vs 1`);
    }
  }
});

test('by default a model runs on the threads Node offers (at most 8); threads: 1 is the single build', async () => {
  const expected = Math.min(availableParallelism(), 8);
  const lm = await RingLM.load(model('gqa-q8_0.gguf'));
  const single = await RingLM.load(model('gqa-q8_0.gguf'), { threads: 1 });
  try {
    assert.equal(lm.info.threads, expected);
    assert.equal(single.info.threads, 1);
    const a = await lm.complete('Once upon', { maxTokens: 12, seed: 7 });
    const b = await single.complete('Once upon', { maxTokens: 12, seed: 7 });
    assert.deepEqual(a.tokens, b.tokens, 'the same seed samples the same tokens in both builds');
    const usage = await RingLM.memoryUsage();
    assert.ok(usage.heapBytesInUse > lm.info.fileBytes + single.info.fileBytes, 'memoryUsage counts both builds');
  } finally {
    lm.dispose();
    single.dispose();
  }
});

test('a thread count that is not a positive integer is refused', async () => {
  for (const threads of [0, -1, 1.5, NaN, '2', 65]) {
    await assert.rejects(RingLM.load(model('gqa-q8_0.gguf'), { threads }), RangeError, String(threads));
  }
});

test('a process that loads, generates and disposes on threads exits by itself', { timeout: EXIT_TIMEOUT_MS + 10_000 }, async () => {
  const script = `
    import { RingLM } from ${JSON.stringify(new URL('../wasm/ringlm.js', import.meta.url).href)};
    const lm = await RingLM.load(${JSON.stringify(model('gqa-q8_0.gguf'))}, { threads: 2 });
    const r = await lm.complete('Once upon a time', { maxTokens: 16, seed: 1 });
    process.stdout.write(JSON.stringify({ threads: lm.info.threads, tokens: r.tokens.length }));
    lm.dispose();
  `;
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script],
      { timeout: EXIT_TIMEOUT_MS, killSignal: 'SIGKILL' }));
  } catch (error) {
    if (error.killed) assert.fail(`the process did not exit within ${EXIT_TIMEOUT_MS / 1000} s after dispose()`);
    throw error;
  }
  assert.deepEqual(JSON.parse(stdout), { threads: 2, tokens: 16 });
});
