// The KV ring through the JS API: constant memory far past the capacity, each policy's behaviour
// at the wrap, and snapshots. (Logits past the wrap are held to slow references in
// tests/kv_ring_test.cpp, which runs natively and as wasm.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
const NATIVE = path.join(path.resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');

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

// cacheState says which positions the ring keeps (the page's ring picture draws it): the anchors, then the window
// [windowStart, position), as kv_cache.h defines each policy: 'sinks' slides the window one token at a time,
// 'shift' drops half of it at once, 'stop' never drops and ends full.
test('cacheState: anchors, window and dropped tokens under each policy, token by token', async () => {
  const capacity = 24, anchors = 3;
  const lm = await RingLM.load(model('gqa-q8_0.gguf'), { contextSize: capacity });
  try {
    for (const contextPolicy of ['sinks', 'shift', 'stop']) {
      const o = { ...SAMPLED, seed: 2, maxTokens: 3 * capacity, stopTokens: [], contextPolicy, sinkTokens: anchors, keepTokens: anchors };
      const seen = [];
      for await (const _ of lm.generate([1, 5, 6, 7], o)) seen.push(lm.cacheState);
      seen.push(lm.cacheState);
      for (const s of seen) {
        const what = `${contextPolicy} at position ${s.position}: ${JSON.stringify(s)}`;
        assert.equal(s.policy, contextPolicy);
        assert.equal(s.capacity, capacity);
        assert.equal(s.anchors, contextPolicy === 'stop' ? 0 : anchors, what);
        const window = Math.max(0, s.position - s.windowStart);
        assert.ok(Math.min(s.anchors, s.position) + window <= capacity, what);
        assert.equal(s.dropped, Math.max(0, s.windowStart - s.anchors), what);
        if (contextPolicy === 'sinks') assert.equal(s.windowStart, Math.max(anchors, s.position - capacity + anchors), what);
        if (contextPolicy === 'stop') assert.equal(s.windowStart, 0, what);
      }
      const drops = seen.map((s) => s.dropped).filter((d, i, all) => i === 0 || d !== all[i - 1]).slice(1);
      const last = seen[seen.length - 1];
      if (contextPolicy === 'stop') {
        assert.equal(last.position, capacity, 'stop ends with the ring full');
        assert.deepEqual(drops, []);
      } else {
        assert.ok(last.position > 2 * capacity && last.dropped > capacity, `${contextPolicy}: ${JSON.stringify(last)}`);
        // 'sinks' drops one token per new token; 'shift' the older half of the window at once.
        const step = contextPolicy === 'sinks' ? 1 : Math.floor((capacity - anchors) / 2);
        drops.forEach((d, i) => assert.equal(d, (i + 1) * step, `${contextPolicy}: drops ${drops}`));
      }
    }
  } finally {
    lm.dispose();
  }
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
  assert.throws(() => other.restoreState(state), /RingLM.restoreState: the state was saved with contextSize 48; this model was loaded with contextSize 64/);
  assert.throws(() => other.restoreState(state.subarray(0, 100)), /RingLM.restoreState/);
  other.dispose();
  lm.dispose();
});

test('gpt2 (learned positions): shift by default, re-run after each shift; sinks refused; no position past the table', async () => {
  const capacity = 40;
  const lm = await RingLM.load(model('gpt2-q8_0.gguf'), { contextSize: capacity });
  assert.equal(lm.info.architecture, 'gpt2');
  assert.equal(lm.info.positionEncoding, 'learned');
  // The default policy is 'shift': far past the capacity, in constant memory.
  const it = lm.generate([1, 5, 6, 7], { ...SAMPLED, seed: 4, maxTokens: 5 * capacity });
  await it.next();
  const first = await RingLM.memoryUsage();
  let n = 1;
  for (;;) {
    const { value, done } = await it.next();
    if (done) { assert.equal(value.finishReason, 'length'); break; }
    n++;
  }
  assert.equal(n, 5 * capacity);
  assert.equal((await RingLM.memoryUsage()).heapBytesInUse, first.heapBytesInUse);
  assert.ok(lm.cacheState.dropped > 0 && lm.cacheState.kept <= capacity);
  // A snapshot carries the token ids a later shift runs again.
  const opts = { ...SAMPLED, seed: 9, maxTokens: 30 };
  await lm.complete([1, 30, 40], opts);
  const state = lm.saveState();
  const more = { ...SAMPLED, maxTokens: 3 * capacity, keepCache: true };
  const a = await lm.complete([50], more);
  lm.restoreState(state);
  const b = await lm.complete([50], more);
  assert.deepEqual(b.tokens, a.tokens);
  await assert.rejects(lm.complete([1, 2], { contextPolicy: 'sinks' }), /'sinks' needs rotary positions.*'shift'/);
  const r = await lm.complete([1, 2], { contextPolicy: 'stop', maxTokens: 1000, ...SAMPLED, seed: 1 });
  assert.ok(r.finishReason === 'length' || r.finishReason === 'stop');
  assert.ok(lm.cacheState.position <= capacity);
  lm.dispose();
  // gpt2-q8_0 learned 256 positions: a larger context could not be given its positions.
  await assert.rejects(RingLM.load(model('gpt2-q8_0.gguf'), { contextSize: 257 }),
    /contextSize 257 is larger than the 256 positions this gpt2 model has learned/);
});

test('qwen2 and gpt2: native and wasm sample the same ids through several wraps of the ring', async () => {
  assert.ok(existsSync(NATIVE), `${NATIVE} is missing: build the native CLI`);
  for (const [file, seed] of [['qwen2-q8_0.gguf', 3], ['gpt2-f32.gguf', 5], ['qwen2-tied-f32.gguf', 6]]) {
    const lm = await RingLM.load(model(file), { contextSize: 40 });
    const wasm = await lm.complete([1, 40, 41, 42], { ...SAMPLED, temperature: 0.9, seed, maxTokens: 150 });
    assert.ok(lm.cacheState.dropped > 0, `${file}: the ring wrapped`);
    lm.dispose();
    const out = execFileSync(NATIVE, ['generate', '-m', model(file), '--ctx', '40', '--tokens', '1,40,41,42',
      '--seed', String(seed), '--temp', '0.9', '--top-k', '0', '--top-p', '1', '--min-p', '0', '-n', '150'],
    { encoding: 'utf8' });
    const native = out.trim().split(/\s+/).filter(Boolean).map(Number);
    assert.deepEqual(native, wasm.tokens, `${file} seed ${seed}`);
  }
});
