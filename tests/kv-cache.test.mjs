// kvCache: false, the no-cache baseline (src/generate/session.h): the same seed gives exactly the cached
// run's tokens on every architecture of the test models, with one time per token; past the context it ends
// as the cached run does ('stop') or is refused; the CLI's --no-kv-cache and `ringlm experiment`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = path.join(ROOT, 'build/models');
const CLI = path.join(ROOT, 'wasm/cli.js');
const model = (name) => {
  const p = path.join(MODELS, name);
  assert.ok(existsSync(p), `${p} is missing: run node tools/make-test-models.mjs`);
  return p;
};

const ARCHITECTURES = { 'gqa-f32.gguf': 'llama', 'qwen2-q8_0.gguf': 'qwen2', 'gpt2-f32.gguf': 'gpt2',
  'qwen3-q4_k_m.gguf': 'qwen3', 'smollm3-f32.gguf': 'smollm3', 'gemma3-q8_0.gguf': 'gemma3' };

for (const [file, architecture] of Object.entries(ARCHITECTURES)) {
  test(`${file}: kvCache false gives the cached tokens, greedy and sampled, with a time per token`, async () => {
    const lm = await RingLM.load(model(file));
    try {
      assert.equal(lm.metadata['general.architecture'], architecture);
      for (const sampling of [{ temperature: 0 }, { temperature: 0.9, topK: 0, topP: 1, minP: 0 }]) {
        const o = { ...sampling, seed: 5, maxTokens: 24, prefillChunk: 3 };
        const cached = await lm.complete([1, 20, 30, 40, 50], o);
        const uncached = await lm.complete([1, 20, 30, 40, 50], { ...o, kvCache: false });
        assert.ok(cached.tokens.length >= 4, `${file}: enough tokens to compare (${cached.tokens.length})`);
        assert.deepEqual(uncached.tokens, cached.tokens, `${file} ${JSON.stringify(sampling)}`);
        assert.equal(uncached.text, cached.text);
        for (const r of [cached, uncached]) {
          assert.equal(r.timings.perTokenMs.length, r.timings.generatedTokens);
          assert.ok(r.timings.perTokenMs.every((ms) => Number.isFinite(ms) && ms >= 0));
        }
      }
    } finally {
      lm.dispose();
    }
  });
}

test('past the context: "stop" ends where the cached run ends; "sinks" / "shift" refuse, saying why', async () => {
  const lm = await RingLM.load(model('gqa-f32.gguf'), { contextSize: 24 });
  try {
    const o = { temperature: 0, maxTokens: 100, contextPolicy: 'stop', repeatPenalty: 1.3 };
    const cached = await lm.complete([1, 20, 30, 40], o);
    const uncached = await lm.complete([1, 20, 30, 40], { ...o, kvCache: false });
    assert.equal(cached.finishReason, 'length');
    assert.equal(uncached.finishReason, 'length');
    assert.equal(cached.tokens.length, 21, '4 prompt tokens + 20 decoded + the last sampled one');
    assert.deepEqual(uncached.tokens, cached.tokens);
    for (const contextPolicy of ['sinks', 'shift']) {
      await assert.rejects(lm.complete([1, 20, 30, 40], { ...o, contextPolicy, kvCache: false }),
        /kvCache false re-runs the whole sequence, which must fit the context: prompt 4 \+ maxTokens 100 tokens > contextSize 24/);
    }
    await assert.rejects(lm.complete([1, 20], { kvCache: false, keepCache: true }), /keepCache needs the KV cache/);
    await assert.rejects(lm.complete([1, 20], { kvCache: 0 }), /kvCache must be true or false/);
  } finally {
    lm.dispose();
  }
});

test('chat with kvCache false runs each turn from the start and answers as the cached chat does', async () => {
  const lm = await RingLM.load(model('chat-chatml.gguf'));
  try {
    const replies = {};
    for (const kvCache of [true, false]) {
      const messages = [{ role: 'user', content: 'hello' }];
      replies[kvCache] = [];
      for (let turn = 0; turn < 2; turn++) {
        let text = '';
        for await (const chunk of lm.chat(messages, { temperature: 0, maxTokens: 8, kvCache })) text += chunk.text;
        replies[kvCache].push(text);
        messages.push({ role: 'assistant', content: text }, { role: 'user', content: 'and then?' });
      }
    }
    assert.deepEqual(replies.false, replies.true);
  } finally {
    lm.dispose();
  }
});

test('the CLI: --no-kv-cache prints the cached run\'s text', () => {
  const run = (...flags) => execFileSync(process.execPath, [CLI, '-m', model('gqa-f32.gguf'), '-p', 'ab', '-n', '12', '--temp', '0', ...flags],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(run('--no-kv-cache'), run());
});

test('the native CLI: generate --no-kv-cache gives the ids the cached run and wasm give', async () => {
  const native = path.join(process.env.RINGLM_NATIVE_BUILD ?? path.join(ROOT, 'build/native'), 'ringlm-cli');
  assert.ok(existsSync(native), `${native} is missing: build the native CLI`);
  for (const file of Object.keys(ARCHITECTURES)) {
    const run = (...flags) => execFileSync(native, ['generate', '-m', model(file), '--tokens', '1,40,41,42', '--seed', '9',
      '--temp', '0.9', '--top-k', '0', '--top-p', '1', '--min-p', '0', '-n', '20', ...flags], { encoding: 'utf8' })
      .trim().split(/\s+/).filter(Boolean).map(Number);
    const uncached = run('--no-kv-cache');
    assert.ok(uncached.length >= 4, `${file}: enough tokens (${uncached.length})`);
    assert.deepEqual(uncached, run(), file);
    const lm = await RingLM.load(model(file));
    const wasm = await lm.complete([1, 40, 41, 42], { temperature: 0.9, topK: 0, topP: 1, minP: 0, seed: 9, maxTokens: 20, kvCache: false });
    lm.dispose();
    assert.deepEqual(uncached, wasm.tokens, `${file}: native and wasm without the cache`);
  }
});

test('ringlm experiment: a table of both runs, equal texts, a sparkline of n points each', () => {
  const svg = path.join(mkdtempSync(path.join(tmpdir(), 'ringlm-experiment-')), 'chart.svg');
  const out = execFileSync(process.execPath, [CLI, 'experiment', '-m', model('gqa-f32.gguf'), '-p', 'ab cd', '-n', '20', '--svg', svg],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // --svg: the chart, two series of 20 points each, a legend and two axes.
  const chart = readFileSync(svg, 'utf8');
  assert.match(chart, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const series = [...chart.matchAll(/<polyline class="series (\w+)"[^>]* data-series="([^"]+)" data-points="(\d+)" points="([^"]+)"/g)];
  assert.deepEqual(series.map((m) => [m[1], m[2], Number(m[3]), m[4].trim().split(' ').length]),
    [['cached', 'KV cache', 20, 20], ['uncached', 'no cache', 20, 20]]);
  assert.equal([...chart.matchAll(/class="axis"/g)].length, 2);
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^run\s+tokens\s+total ms\s+ms\/token\s+speed-up$/.test(l.trim()));
  assert.ok(header >= 0, out);
  const rows = lines.slice(header + 1, header + 3).map((l) => l.trim().split(/\s{2,}/));
  assert.deepEqual(rows.map((r) => r[0]), ['KV cache', 'no cache']);
  for (const r of rows) {
    assert.equal(r.length, 5, `five columns: ${r}`);
    assert.equal(Number(r[1]), 20);
    assert.ok(Number(r[2]) > 0 && Number(r[3]) > 0);
    assert.match(r[4], /^\d+(\.\d+)?x$/);
  }
  assert.equal(rows[1][4], '1.00x', 'the no-cache run is the baseline');
  checkTableArithmetic(rows);
  const sparks = lines.filter((l) => /^(KV cache|no cache)\s+\S+/.test(l) && /[▁▂▃▄▅▆▇█]/.test(l));
  assert.equal(sparks.length, 2, out);
  for (const s of sparks) assert.equal([...s.replace(/^(KV cache|no cache)\s+/, '').trim()].length, 20, s);
  assert.match(out, /texts: equal/);
});

/** The table's figures agree: ms/token is total / tokens, and the speed-up is the no-cache total over the cached one. */
function checkTableArithmetic(rows) {
  const [cached, uncached] = rows.map((r) => ({ tokens: Number(r[1]), total: Number(r[2]), perToken: Number(r[3]), factor: Number(r[4].slice(0, -1)) }));
  for (const r of [cached, uncached]) assert.ok(Math.abs(r.perToken - r.total / r.tokens) <= 0.0005 + 0.05 / r.tokens + 1e-9, JSON.stringify(r));
  // Totals are printed to 0.1 ms and the factor to 0.01: allow for both roundings.
  const slack = 0.005 + cached.factor * (0.05 / cached.total + 0.05 / uncached.total) + 1e-9;
  assert.ok(Math.abs(cached.factor - uncached.total / cached.total) <= slack, JSON.stringify(rows));
  return cached.factor;
}

test('ringlm experiment without -m: the classic setting on the built-in model, the cache faster, equal texts', () => {
  const out = execFileSync(process.execPath, [CLI, 'experiment'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(out, /ringlm-kjv-3\.7m\.gguf: 29 prompt tokens, greedy, 100 new tokens/);
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^run\s+tokens\s+total ms\s+ms\/token\s+speed-up$/.test(l.trim()));
  assert.ok(header >= 0, out);
  const rows = lines.slice(header + 1, header + 3).map((l) => l.trim().split(/\s{2,}/));
  assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['KV cache', '100'], ['no cache', '100']], out);
  // Without the cache the 100 tokens re-run 29 to 128 tokens each: about 60 times the work, which no load on the
  // machine hides (a finer bound could be).
  assert.ok(checkTableArithmetic(rows) > 1, `the KV cache is faster:\n${out}`);
  assert.match(out, /texts: equal/);
});

// A model whose every layer is local (gemma3, sliding_window_pattern 0) sees only its last 8 positions, so a
// ring of 32 under 'sinks' or 'shift' must give exactly the run of a ring that never fills: a local layer never
// attends to a sink or a kept token outside its window. (The unbounded run is held to llama.cpp by
// llamacpp-compare.test.mjs, through generation far past the window.)
test('sliding-window layers: "sinks" and "shift" past a small ring give the tokens of a ring that never fills', async () => {
  const bytes = makeRandomLlama({ arch: 'gemma3', seed: 31, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128,
    vocab: 512, ctx: 256, embedStd: 1 / 8, slidingWindow: 8, swaPeriod: 0 }).toBuffer();
  const wide = await RingLM.load(bytes, { contextSize: 256 });
  const ring = await RingLM.load(bytes, { contextSize: 32 });
  try {
    const o = { temperature: 0, maxTokens: 120, stopTokens: [], repeatPenalty: 1.3 };
    const want = await wide.complete([1, 20, 30, 40], { ...o, contextPolicy: 'stop' });
    assert.ok(want.tokens.length > 64, `the run goes well past the ring of 32 (${want.tokens.length} tokens)`);
    for (const contextPolicy of ['sinks', 'shift']) {
      const got = await ring.complete([1, 20, 30, 40], { ...o, contextPolicy });
      assert.deepEqual(got.tokens, want.tokens, contextPolicy);
    }
  } finally {
    wide.dispose();
    ring.dispose();
  }
});
