// Generation through the JS API: seeds, greedy vs llama.cpp, stop strings, EOS, maxTokens, abort,
// one generation at a time, keepCache, and the same ids from the native build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { llamaCppLogprobs } from './reference/llamacpp.mjs';
import { top2 } from './reference/compare.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = path.join(ROOT, 'build/models');
const NATIVE = path.join(process.env.RINGLM_NATIVE_BUILD ?? path.join(ROOT, 'build/native'), 'ringlm-cli');
const model = (name) => {
  const p = path.join(MODELS, name);
  assert.ok(existsSync(p), `${p} is missing: run node tools/make-test-models.mjs`);
  return p;
};

const SAMPLED = { temperature: 1.0, topK: 0, topP: 1, minP: 0 };

test('the same seed gives the same tokens; another seed does not', async () => {
  const lm = await RingLM.load(model('gqa-f32.gguf'));
  const a = await lm.complete([1, 20, 30], { ...SAMPLED, seed: 7, maxTokens: 40 });
  const b = await lm.complete([1, 20, 30], { ...SAMPLED, seed: 7, maxTokens: 40 });
  const c = await lm.complete([1, 20, 30], { ...SAMPLED, seed: 8, maxTokens: 40 });
  assert.deepEqual(a.tokens, b.tokens);
  assert.equal(a.text, b.text);
  assert.notDeepEqual(a.tokens, c.tokens);
  assert.equal(a.seed, 7);
  lm.dispose();
});

test('native and wasm sample the same ids for the same seed', async () => {
  assert.ok(existsSync(NATIVE), `${NATIVE} is missing: build the native CLI`);
  for (const [file, seed] of [['gqa-f32.gguf', 3], ['mha-q8_0.gguf', 11], ['tied-f16.gguf', 5], ['mix-q4_k_m.gguf', 13],
    ['k256-q5_k.gguf', 17], ['tied-q5_1.gguf', 19], ['k256-bf16.gguf', 23]]) {
    const lm = await RingLM.load(model(file));
    const wasm = await lm.complete([1, 40, 41, 42], { ...SAMPLED, temperature: 0.9, seed, maxTokens: 48 });
    lm.dispose();
    const out = execFileSync(NATIVE, ['generate', '-m', model(file), '--tokens', '1,40,41,42', '--seed', String(seed),
      '--temp', '0.9', '--top-k', '0', '--top-p', '1', '--min-p', '0', '-n', '48'], { encoding: 'utf8' });
    const native = out.trim().split(/\s+/).filter(Boolean).map(Number);
    assert.deepEqual(native, wasm.tokens, `${file} seed ${seed}`);
  }
});

test('greedy generation picks llama.cpp\'s top token wherever its margin is clear', async () => {
  for (const [file, tol] of [['gqa-f32.gguf', 1e-3], ['vocab32k-q8_0.gguf', 0.3], ['mha-f16.gguf', 0.05],
    ['qwen2-q8_0.gguf', 0.3], ['gpt2-q8_0.gguf', 0.3]]) {
    const lm = await RingLM.load(model(file));
    const prompt = [1, 100, 200, 300];
    const r = await lm.complete(prompt, { temperature: 0, maxTokens: 40 });
    lm.dispose();
    const seq = [...prompt, ...r.tokens];
    const ref = await llamaCppLogprobs(model(file), seq);
    const V = ref.vocab;
    let checked = 0;
    for (let i = 0; i < r.tokens.length; i++) {
      const { index, gap } = top2(ref, V, prompt.length - 1 + i);
      if (gap > tol) {
        assert.equal(r.tokens[i], index, `${file}: step ${i}`);
        checked++;
      }
    }
    assert.ok(checked >= r.tokens.length / 2, `${file}: too few clear margins (${checked})`);
  }
});

test('maxTokens is exact, 0 runs only the prompt, and EOS ends generation unemitted', async () => {
  const lm = await RingLM.load(model('mha-f32.gguf'));
  for (const n of [1, 7, 33]) {
    const r = await lm.complete([1, 5, 6], { ...SAMPLED, seed: 1, maxTokens: n });
    if (r.finishReason === 'length') assert.equal(r.tokens.length, n);
    else assert.equal(r.finishReason, 'stop');
  }
  const zero = await lm.complete([1, 5, 6], { maxTokens: 0 });
  assert.deepEqual(zero.tokens, []);
  assert.equal(zero.finishReason, 'length');
  assert.equal(zero.timings.promptTokens, 3);
  // Hunt for a seed whose sample hits EOS (id 2) at a high temperature.
  let sawEos = false;
  for (let seed = 0; seed < 300 && !sawEos; seed++) {
    const r = await lm.complete([1], { ...SAMPLED, temperature: 4, seed, maxTokens: 30 });
    if (r.finishReason === 'stop') {
      sawEos = true;
      assert.ok(!r.tokens.includes(2));
    }
  }
  assert.ok(sawEos, 'some seed should reach EOS');
  lm.dispose();
});

test('stop strings end generation and never appear, even across tokens', async () => {
  const lm = await RingLM.load(model('gqa-f32.gguf'));
  const free = await lm.complete([1, 9, 10], { ...SAMPLED, seed: 21, maxTokens: 60 });
  assert.ok(free.text.length > 10);
  // Stop strings taken from the middle of the free text, of several lengths.
  for (const len of [1, 2, 5, 9]) {
    const at = Math.floor(free.text.length / 2);
    const stop = free.text.slice(at, at + len);
    const r = await lm.complete([1, 9, 10], { ...SAMPLED, seed: 21, maxTokens: 60, stop: ['\u0000never', stop] });
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.text, free.text.slice(0, free.text.indexOf(stop)));
    assert.ok(!r.text.includes(stop));
  }
  lm.dispose();
});

test('streamed pieces concatenate to the whole text, and each is whole characters', async () => {
  const lm = await RingLM.load(model('tied-q8_0.gguf'));
  let text = '';
  let pieces = 0;
  for await (const t of lm.generate([1, 3, 4], { ...SAMPLED, seed: 2, maxTokens: 50 })) {
    assert.ok(!t.text.includes('\uFFFD') || t.text === t.text.normalize(), 'valid text');
    assert.equal(Buffer.from(t.text, 'utf8').toString('utf8'), t.text);
    text += t.text;
    pieces++;
  }
  const all = await lm.complete([1, 3, 4], { ...SAMPLED, seed: 2, maxTokens: 50 });
  assert.equal(text, all.text);
  assert.ok(pieces > 1);
  lm.dispose();
});

test('an AbortSignal ends the iterator with an AbortError mid-prefill and mid-decode; the model stays usable', async () => {
  const lm = await RingLM.load(model('gqa-q8_0.gguf'));
  const prompt = Array.from({ length: 200 }, (_, i) => 3 + ((i * 7) % 500));
  const opts = { ...SAMPLED, seed: 4, maxTokens: 30, prefillChunk: 16 };
  const fresh = await lm.complete(prompt, opts);
  // Mid-prefill: abort on the first progress report.
  const c1 = new AbortController();
  await assert.rejects(lm.complete(prompt, { ...opts, signal: c1.signal, onPrefillProgress: () => c1.abort() }),
    (e) => e.name === 'AbortError');
  assert.deepEqual((await lm.complete(prompt, opts)).tokens, fresh.tokens);
  // Mid-decode: abort after 5 tokens.
  const c2 = new AbortController();
  let n = 0;
  await assert.rejects(async () => {
    for await (const _ of lm.generate(prompt, { ...opts, signal: c2.signal })) if (++n === 5) c2.abort();
  }, (e) => e.name === 'AbortError');
  assert.equal(n, 5);
  assert.deepEqual((await lm.complete(prompt, opts)).tokens, fresh.tokens);
  // Abort from a timer while generating: the loop yields to the event loop.
  const c3 = new AbortController();
  setTimeout(() => c3.abort(), 5);
  await assert.rejects(lm.complete(prompt, { ...opts, maxTokens: 100000, contextPolicy: 'sinks', signal: c3.signal }),
    (e) => e.name === 'AbortError');
  // An already-aborted signal rejects at once.
  await assert.rejects(lm.complete(prompt, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  lm.dispose();
});

test('one generation at a time; other calls wait their turn with a clear error', async () => {
  const lm = await RingLM.load(model('mha-f32.gguf'));
  const it = lm.generate([1, 2, 3], { maxTokens: 20 });
  await it.next();
  await assert.rejects(lm.complete([1], {}), /already running/);
  assert.throws(() => lm.decode(5), /generation is running/);
  await it.return();
  const r = await lm.complete([1, 2, 3], { maxTokens: 3, temperature: 0 });
  assert.ok(r.tokens.length <= 3);
  lm.dispose();
});

test('keepCache continues where the last generation ended', async () => {
  const lm = await RingLM.load(model('gqa-f32.gguf'));
  const greedy = { temperature: 0, maxTokens: 6 };
  const first = await lm.complete([1, 50, 60], greedy);
  const second = await lm.complete([70, 80], { ...greedy, keepCache: true });
  const joined = await lm.complete([1, 50, 60, ...first.tokens, 70, 80], greedy);
  assert.deepEqual(second.tokens, joined.tokens);
  assert.equal(second.timings.promptTokens, 3, 'only the pending token and the two new ones were prefilled');
  lm.dispose();
});

test('bad options are clear errors and leave the model usable', async () => {
  const lm = await RingLM.load(model('mha-f32.gguf'));
  const bad = [
    [{ temperature: -1 }, /temperature/], [{ temperature: NaN }, /temperature/], [{ topP: 2 }, /topP/],
    [{ maxTokens: -1 }, /maxTokens/], [{ maxTokens: 1.5 }, /maxTokens/], [{ contextPolicy: 'wrap' }, /contextPolicy/],
    [{ stop: [1] }, /stop/], [{ seed: -3 }, /seed/], [{ sinkTokens: 99999 }, /context size/],
  ];
  for (const [opts, re] of bad) await assert.rejects(lm.complete([1, 2], opts), re, JSON.stringify(opts));
  await assert.rejects(lm.complete([1, 99999], {}), /out of range/);
  await assert.rejects(lm.complete([], {}), /empty/);
  const r = await lm.complete([1, 2], { maxTokens: 2, temperature: 0 });
  assert.ok(r.tokens.length <= 2);
  lm.dispose();
  await assert.rejects(lm.complete([1], {}), /disposed/);
});
