// The KV ring through the JS API: constant memory far past the capacity, each policy's behaviour
// at the wrap, and snapshots. (Logits past the wrap are held to slow references in
// tests/kv_ring_test.cpp, which runs natively and as wasm.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = (name) => {
  const p = path.join(ROOT, 'build/models', name);
  assert.ok(existsSync(p), `${p} is missing: run node tools/make-test-models.mjs`);
  return p;
};
const SAMPLED = { temperature: 1.0, topK: 0, topP: 1, minP: 0 };

test('memory stays constant while generating 10x the capacity', async () => {
  const capacity = 37;
  const lm = await RingLM.load(model('gqa-q8_0.gguf'), { contextSize: capacity });
  for (const contextPolicy of ['sinks', 'shift']) {
    const it = lm.generate([1, 5, 6, 7], { ...SAMPLED, seed: 3, maxTokens: 10 * capacity, contextPolicy });
    await it.next();  // the first token
    const first = await RingLM.memoryUsage();
    let n = 1;
    let result;
    for (;;) {
      const { value, done } = await it.next();
      if (done) { result = value; break; }
      n++;
    }
    const last = await RingLM.memoryUsage();
    assert.ok(n > 3 * capacity || result.finishReason === 'stop', `${contextPolicy}: generated ${n}`);
    assert.equal(last.heapBytesInUse, first.heapBytesInUse, `${contextPolicy}: heap in use after ${n} tokens`);
    assert.equal(last.memoryBytes, first.memoryBytes, `${contextPolicy}: wasm memory size`);
    assert.ok(lm.cacheState.kept <= capacity);
    assert.equal(lm.cacheState.capacity, capacity);
    if (n > capacity) assert.ok(lm.cacheState.dropped > 0);
  }
  lm.dispose();
});

test('the stop policy ends with "length" exactly when the ring is full', async () => {
  const capacity = 29;
  const lm = await RingLM.load(model('mha-f32.gguf'), { contextSize: capacity });
  const r = await lm.complete([1, 5, 6, 7], { ...SAMPLED, seed: 8, maxTokens: 1000, contextPolicy: 'stop' });
  if (r.finishReason === 'length') {
    assert.equal(lm.cacheState.position, capacity);
    assert.equal(r.tokens.length, capacity - 4 + 1, 'every slot used, plus the last sampled token');
  } else {
    assert.equal(r.finishReason, 'stop');  // EOS came first
  }
  // A prompt longer than the capacity under 'stop': documented as "length" with no tokens.
  const long = Array.from({ length: 40 }, (_, i) => 3 + i);
  const r2 = await lm.complete(long, { contextPolicy: 'stop' });
  assert.equal(r2.finishReason, 'length');
  assert.deepEqual(r2.tokens, []);
  // The same long prompt under 'sinks' and 'shift' just works.
  for (const contextPolicy of ['sinks', 'shift']) {
    const r3 = await lm.complete(long, { contextPolicy, maxTokens: 5, temperature: 0 });
    assert.ok(r3.tokens.length > 0, contextPolicy);
  }
  lm.dispose();
});

test('saveState/restoreState: the continuation after a restore equals the uninterrupted one', async () => {
  const lm = await RingLM.load(model('gqa-f32.gguf'), { contextSize: 48 });
  const opts = { ...SAMPLED, seed: 12, repeatPenalty: 1.2, maxTokens: 12 };
  await lm.complete([1, 30, 40], opts);
  const state = lm.saveState();
  assert.ok(state instanceof Uint8Array && state.length > 1000);
  const more = { ...SAMPLED, repeatPenalty: 1.2, maxTokens: 60, keepCache: true };  // no seed: the stream goes on
  const a = await lm.complete([50], more);
  const cacheA = lm.cacheState;
  lm.restoreState(state);
  const b = await lm.complete([50], more);
  assert.deepEqual(b.tokens, a.tokens);
  assert.equal(b.text, a.text);
  assert.deepEqual(lm.cacheState, cacheA);
  // Restoring into another context size is refused, clearly.
  const other = await RingLM.load(model('gqa-f32.gguf'), { contextSize: 64 });
  assert.throws(() => other.restoreState(state), /another model or context size/);
  assert.throws(() => other.restoreState(state.subarray(0, 100)), /RingLM.restoreState/);
  other.dispose();
  lm.dispose();
});
