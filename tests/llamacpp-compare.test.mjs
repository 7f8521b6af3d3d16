// Golden test: ringlm's next-token distributions against llama.cpp's on the suite of random models (architectures
// llama, with and without Llama 3 RoPE frequency factors, qwen2, qwen3, smollm3, phi3 (with and without LongRoPE),
// gemma3 (with and without sliding windows) and gpt2).
//
//   node --test tests/llamacpp-compare.test.mjs
//
// For every model in build/models/models.json (written by tools/make-test-models.mjs, run here first), a seeded
// sequence of 64 tokens (BOS, then ids in [3, vocab)) is evaluated under teacher forcing by
//   - llama.cpp (node-llama-cpp, F32 KV cache, no flash attention): the reference;
//   - tests/reference/llama-ref.mjs, a float64 JS forward pass: proves the files and conventions (F32 to 1e-4);
//   - ringlm's wasm build through wasm/ringlm.js;
//   - ringlm's native CLI (build/native/ringlm-cli, or $RINGLM_NATIVE_BUILD/ringlm-cli).
// Log-softmax is taken in float64; max |Δ logprob| must stay within the tolerance of the weight type, and the
// argmax must agree wherever llama.cpp's top-1/top-2 gap exceeds that tolerance (closer calls may flip).
// A missing ringlm build fails its tests; nothing is skipped.
//
// Models with RoPE frequency factors (rope_freqs.weight) are also held to llama.cpp at positions 2,048 .. 2,111,
// where the factors slow the low frequencies by up to 8x: prefill to 2,080, then decode, natively and in wasm; and
// llama.cpp on the same weights without the factors must differ there by far more than the tolerance (so the
// check would see ringlm ignoring them).
//
// Models with LongRoPE (phi-longrope: original context 512, trained 2,048) run the 64 positions with the short factors
// (context 256) above, and again with a context of 1,024, which picks the long ones in llama.cpp and in ringlm: the
// JS reference, wasm and native (each through prefill and decode) are held to llama.cpp at that context too; and
// llama.cpp must itself move by far more than the tolerance between the two contexts, and without the attention
// factor (so the checks would see ringlm picking the wrong factors or ignoring the factor).
//
// Soft-capped models (gemma2's attention scores and final logits, gemma3-global's final logits) must move llama.cpp
// without their caps (so a cap ringlm ignored would show).
//
// Models with a sliding window (gemma3 and gemma2, window 16 < 64 positions) are also run natively through prefill and decode,
// and generate greedily to position 160 (ten windows) in wasm and natively, every decoded row held to llama.cpp.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeTestModels, NEWER_FAMILIES, REAL_SHAPES } from '../tools/make-test-models.mjs';
import { makeRandomLlama, makeRng } from '../tools/gguf/random-llama.mjs';
import { llamaCppLogprobs, disposeReferenceLlama } from './reference/llamacpp.mjs';
import { loadLlamaRef, llamaRefLogits } from './reference/llama-ref.mjs';
import { compareLogprobs, logSoftmaxRows, spread } from './reference/compare.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS_DIR = join(ROOT, 'build', 'models');
/** Every comparison of the run, for the README's table (tools/readme-llamacpp-table.mjs). */
const ARTIFACT = join(ROOT, 'build', 'artifacts', 'llamacpp-compare.json');
const NATIVE_CLI = join(resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');

const SEQUENCE_LENGTH = 64;
const CONTEXT_SIZE = 256;
/** max |Δ logprob| allowed against llama.cpp, per weight type. */
const TOLERANCE = {
  F32: 1e-3, F16: 0.05, BF16: 0.05, Q8_0: 0.3, Q4_0: 0.3, Q5_0: 0.3, Q5_1: 0.3, Q4_K: 0.3, Q5_K: 0.3, Q6_K: 0.3,
  Q4_K_M: 0.3,
};
/** The JS reference on F32 models (llama.cpp's own float32 rounding is the whole difference). */
const JS_REF_F32_TOLERANCE = 1e-4;
/**
 * gpt2 F32: llama.cpp's GELU is a table over f16 inputs, so a float32 rounding difference in a GELU input can move
 * it a whole f16 step (~5e-4 relative), which no other summation order reproduces: measured up to ~8e-4 for
 * ringlm and the float64 JS reference alike (its Q8_0/Q4_0 activations are quantized, and agree to ~3e-6).
 */
const GPT2_F32_TOLERANCE = 2e-3;
/**
 * gemma3 and gemma2 F32: the same GELU table, in a gated FFN of every layer and followed by an RMS norm of the FFN's output:
 * the float64 JS reference measured up to 2.5e-3 from llama.cpp on the six-layer model (a window or RoPE base
 * wrong moves it by more than 1, see 'the window matters to llama.cpp').
 */
const GEMMA3_F32_TOLERANCE = 5e-3;
/** With a window covering the whole sequence, llama.cpp's log-probabilities must move by at least this much. */
const MIN_WINDOW_EFFECT = 1;
/** Sliding-window models generate greedily from a prompt of GENERATE_PROMPT tokens to GENERATE_LENGTH. */
const GENERATE_LENGTH = 160, GENERATE_PROMPT = 8;
/** Logits of prefill(first half) + decode(each of the rest) against one prefill of everything. */
const DECODE_TOLERANCE = 1e-5;
/** The models must say something: the mean per-position std of llama.cpp's log-probabilities. */
const MIN_LOGPROB_STD = 1.5;
/** Positions past 2,048: the rows compared, and where decoding takes over from prefill. */
const LONG_FROM = 2048, LONG_LENGTH = 2048 + 64, LONG_DECODE_FROM = 2080;
/** Without its frequency factors, llama.cpp's log-probabilities past 2,048 must move by at least this much. */
const MIN_FACTOR_EFFECT = 1;
/** Without a soft-cap key, llama.cpp's log-probabilities must move by at least this much. */
const MIN_CAP_EFFECT = 0.5;
/** LongRoPE models also run with a context of this many tokens, past their original context: the long factors. */
const LONGROPE_CONTEXT = 1024;

// Models are (re)written first: identical files are left untouched, so this is cheap.
const manifest = makeTestModels(MODELS_DIR);

/** BOS, then length-1 ids in [3, vocab), seeded by `name`. */
function tokenSequence(name, vocab, length = SEQUENCE_LENGTH) {
  let seed = 7;
  for (const ch of name) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
  const rng = makeRng(seed);
  const ids = [1];
  while (ids.length < length) ids.push(3 + (rng.nextU32() % (vocab - 3)));
  return ids;
}

// llama.cpp's log-probabilities, once per model file.
const referenceCache = new Map();
function reference(model) {
  if (!referenceCache.has(model.file)) {
    const ids = tokenSequence(model.name, model.params.vocab);
    referenceCache.set(model.file, llamaCppLogprobs(join(MODELS_DIR, model.file), ids));
  }
  return referenceCache.get(model.file);
}

// Rows of the table printed at the end.
const table = [];

/**
 * Compares candidate raw logits with llama.cpp for `model` (its 64 positions, or the log-probabilities `ref` of
 * other ones), records a table row, asserts the tolerances.
 */
async function checkAgainstLlamaCpp(model, impl, rawLogits, tolerance, ref = null) {
  const vocab = model.params.vocab;
  ref ??= await reference(model);
  const rows = ref.length / vocab;
  assert.equal(rawLogits.length, rows * vocab, `${impl}: expected ${rows}x${vocab} logits`);
  const result = compareLogprobs(ref, logSoftmaxRows(rawLogits, vocab), vocab, tolerance);
  table.push({ model: model.name, file: model.file, arch: model.params.arch, type: model.type, impl, ...result, tolerance,
    within: result.maxAbs <= tolerance && result.requiredMismatches.length === 0 });
  assert.ok(result.maxAbs <= tolerance,
    `${impl} on ${model.file}: max |Δ logprob| ${result.maxAbs.toExponential(3)} > ${tolerance} ` +
    `(worst at position ${result.worstPosition})`);
  assert.deepEqual(result.requiredMismatches, [],
    `${impl} on ${model.file}: argmax differs where llama.cpp's top-2 gap exceeds ${tolerance}`);
}

// ---------------------------------------------------------------------------------------------------------------
// ringlm front ends

let ringlmModule = null;
async function loadRingLM() {
  ringlmModule ??= import('../wasm/ringlm.js').catch((e) => {
    throw new Error(`ringlm wasm build missing or broken (importing wasm/ringlm.js: ${e.message}); run npm run build`);
  });
  return (await ringlmModule).RingLM;
}

/** ringlm-cli's logits of every position; `ctx` sets the cache's capacity, the last `decode` tokens are decoded. */
function nativeLogits(modelPath, ids, vocab, { ctx, decode } = {}) {
  if (!existsSync(NATIVE_CLI)) {
    throw new Error(`ringlm native build missing: ${NATIVE_CLI} (build it, or set RINGLM_NATIVE_BUILD)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ringlm-logits-'));
  try {
    const out = join(dir, 'logits.f32');
    const options = [...(ctx ? ['--ctx', String(ctx)] : []), ...(decode ? ['--decode', String(decode)] : [])];
    const run = spawnSync(NATIVE_CLI, ['logits', '-m', modelPath, '--tokens', ids.join(','), '-o', out, ...options],
      { encoding: 'utf8', timeout: 120_000 });
    if (run.error) throw run.error;
    assert.equal(run.status, 0, `ringlm-cli logits exited ${run.status}: ${run.stderr}`);
    const bytes = readFileSync(out);
    assert.equal(bytes.length, ids.length * vocab * 4, 'ringlm-cli wrote the wrong number of bytes');
    const logits = new Float32Array(ids.length * vocab);
    for (let i = 0; i < logits.length; i++) logits[i] = bytes.readFloatLE(i * 4);
    return logits;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------------------------

before(() => {
  assert.ok(manifest.models.length > 0, 'no models in the manifest');
});

after(async () => {
  await disposeReferenceLlama();
  if (table.length === 0) return;
  const head = ['model', 'type', 'impl', 'max|Δ|', 'tol', 'top-1 agree'];
  const rows = table.map((r) => [r.model, r.type, r.impl, r.maxAbs.toExponential(2), String(r.tolerance),
    `${r.top1Agree}/${r.positions}` + (r.requiredMismatches.length ? ` (${r.requiredMismatches.length} bad)` : '')]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(['', 'ringlm vs llama.cpp (log-probabilities, teacher forcing, 64 positions)', line(head),
    ...rows.map(line)].join('\n'));
  mkdirSync(dirname(ARTIFACT), { recursive: true });
  const llamaCppVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules/node-llama-cpp/package.json'), 'utf8')).version;
  writeFileSync(ARTIFACT, JSON.stringify({
    date: new Date().toISOString(), node: process.version, llamaCpp: `node-llama-cpp ${llamaCppVersion}`,
    models: manifest.models.map((m) => m.file), comparisons: table,
  }, null, 1) + '\n');
});

for (const model of manifest.models) {
  const path = join(MODELS_DIR, model.file);
  const gpt2F32 = model.params.arch === 'gpt2' && model.type === 'F32';
  const gemmaF32 = ['gemma3', 'gemma2'].includes(model.params.arch) && model.type === 'F32';
  const geluF32 = gpt2F32 ? GPT2_F32_TOLERANCE : gemmaF32 ? GEMMA3_F32_TOLERANCE : 0;
  const tolerance = geluF32 || TOLERANCE[model.type];
  const jsRefTolerance = geluF32 || (model.type === 'F32' ? JS_REF_F32_TOLERANCE : tolerance);
  const ids = tokenSequence(model.name, model.params.vocab);

  describe(model.file, () => {
    test('llama.cpp loads it and its next-token distributions are far from uniform', async () => {
      const ref = await reference(model);
      assert.equal(ref.vocab, model.params.vocab);
      const s = spread(ref, model.params.vocab);
      assert.ok(s.std >= MIN_LOGPROB_STD, `log-probability std ${s.std.toFixed(2)} < ${MIN_LOGPROB_STD}`);
    });

    test('the float64 JS reference agrees with llama.cpp', async () => {
      // F32: exact arithmetic; other types: activations rounded as llama.cpp's CPU backend rounds them.
      const numerics = model.type === 'F32' ? 'exact' : 'llamacpp';
      const logits = llamaRefLogits(loadLlamaRef(path), ids, { numerics, contextSize: CONTEXT_SIZE });
      await checkAgainstLlamaCpp(model, 'js-ref', logits, jsRefTolerance);
    });

    test('ringlm wasm agrees with llama.cpp; prefill + decode equals one prefill', async () => {
      const RingLM = await loadRingLM();
      const lm = await RingLM.load(new Uint8Array(readFileSync(path)), { contextSize: CONTEXT_SIZE });
      try {
        assert.equal(lm.info.vocabSize, model.params.vocab);
        assert.equal(lm.info.architecture, model.params.arch);
        const full = Float32Array.from(await lm.prefill(Int32Array.from(ids), { allLogits: true }));
        await checkAgainstLlamaCpp(model, 'wasm', full, tolerance);

        const vocab = model.params.vocab;
        const half = SEQUENCE_LENGTH / 2;
        lm.reset();
        const first = Float32Array.from(await lm.prefill(Int32Array.from(ids.slice(0, half)), { allLogits: true }));
        let worst = maxAbsDiff(first, full.subarray(0, half * vocab));
        for (let i = half; i < SEQUENCE_LENGTH; i++) {
          const row = await lm.decode(ids[i]);
          assert.equal(row.length, vocab, 'decode returned the wrong number of logits');
          worst = Math.max(worst, maxAbsDiff(row, full.subarray(i * vocab, (i + 1) * vocab)));
        }
        assert.ok(worst <= DECODE_TOLERANCE,
          `prefill(${half}) + decode differs from prefill(${SEQUENCE_LENGTH}) by ${worst.toExponential(3)}`);
      } finally {
        lm.dispose();
      }
    });

    test('ringlm native CLI agrees with llama.cpp', async () => {
      const logits = nativeLogits(path, ids, model.params.vocab, { ctx: CONTEXT_SIZE });
      await checkAgainstLlamaCpp(model, 'native', logits, tolerance);
    });

    if (model.params.ropeFreqs) describePastPosition2048(model, path, tolerance);
    // A window wider than the sequence (a real-shape gemma3's 512) is global attention over these positions.
    if (model.params.slidingWindow && model.params.slidingWindow < SEQUENCE_LENGTH) describeSlidingWindow(model, path, ids, tolerance);
    if (model.params.longRope) describeLongRopeContext(model, path, ids, tolerance, jsRefTolerance);
    if (model.type === 'F32') {
      for (const [param, key] of [['attnSoftcap', 'attn_logit_softcapping'], ['finalSoftcap', 'final_logit_softcapping']]) {
        if (model.params[param] !== undefined) testCapMatters(model, ids, `${model.params.arch}.${key}`, tolerance);
      }
    }
  });
}

// A soft-cap (key `key`) must bend llama.cpp's output: without the key (Gemma 2's default caps are 50 and 30, far
// above the test models' scores and logits; Gemma 3 has none) llama.cpp must move by far more than the tolerance.
function testCapMatters(model, ids, key, tolerance) {
  test(`the soft-cap ${key} matters to llama.cpp`, async () => {
    const family = NEWER_FAMILIES.find((f) => f.name === model.name);
    assert.ok(family, `${model.name} is not one of NEWER_FAMILIES`);
    const { types, ...opts } = family;
    const dir = mkdtempSync(join(tmpdir(), 'ringlm-softcap-'));
    try {
      const writer = makeRandomLlama({ ...opts, type: model.type, name: `ringlm-test-${model.name}` });
      assert.ok(writer.metadata.delete(key), `the file must have ${key}`);
      const uncapped = join(dir, 'uncapped.gguf');
      writer.write(uncapped);
      const effect = compareLogprobs(await reference(model), await llamaCppLogprobs(uncapped, ids), model.params.vocab, tolerance).maxAbs;
      assert.ok(effect >= MIN_CAP_EFFECT, `without ${key} llama.cpp moves only ${effect}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// A LongRoPE model with a context past its original one: the long factors, in llama.cpp and in ringlm.
function describeLongRopeContext(model, path, ids, tolerance, jsRefTolerance) {
  const vocab = model.params.vocab;
  const { original } = model.params.longRope;
  assert.ok(CONTEXT_SIZE <= original && LONGROPE_CONTEXT > original, 'the two contexts must fall either side of the original');
  const key = `${model.file}#ctx${LONGROPE_CONTEXT}`;
  const ref = () => {
    if (!referenceCache.has(key)) referenceCache.set(key, llamaCppLogprobs(path, ids, { contextSize: LONGROPE_CONTEXT }));
    return referenceCache.get(key);
  };
  const longModel = { ...model, name: `${model.name} ctx ${LONGROPE_CONTEXT}` };

  if (model.type === 'F32') test(`the context picks the factors in llama.cpp: ${CONTEXT_SIZE} and ${LONGROPE_CONTEXT} differ`, async () => {
    const effect = compareLogprobs(await reference(model), await ref(), vocab, tolerance).maxAbs;
    assert.ok(effect >= MIN_FACTOR_EFFECT, `llama.cpp moves only ${effect} between the short and the long factors`);
  });

  if (model.type === 'F32') test('the attention factor matters to llama.cpp', async () => {
    const family = NEWER_FAMILIES.find((f) => f.name === model.name);
    assert.ok(family, `${model.name} is not one of NEWER_FAMILIES`);
    const { types, ...opts } = family;
    const dir = mkdtempSync(join(tmpdir(), 'ringlm-attnfactor-'));
    try {
      const writer = makeRandomLlama({ ...opts, type: model.type, name: `ringlm-test-${model.name}` });
      assert.ok(writer.metadata.delete('phi3.rope.scaling.attn_factor'), 'the file must have an attention factor');
      const plain = join(dir, 'no-attn-factor.gguf');
      writer.write(plain);
      const effect = compareLogprobs(await reference(model), await llamaCppLogprobs(plain, ids), vocab, tolerance).maxAbs;
      assert.ok(effect >= MIN_FACTOR_EFFECT, `without its attention factor llama.cpp moves only ${effect}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`context ${LONGROPE_CONTEXT}: the float64 JS reference agrees with llama.cpp`, async () => {
    const numerics = model.type === 'F32' ? 'exact' : 'llamacpp';
    const logits = llamaRefLogits(loadLlamaRef(path), ids, { numerics, contextSize: LONGROPE_CONTEXT });
    await checkAgainstLlamaCpp(longModel, 'js-ref', logits, jsRefTolerance, await ref());
  });

  test(`context ${LONGROPE_CONTEXT}: ringlm wasm agrees with llama.cpp, through prefill and decode`, async () => {
    const RingLM = await loadRingLM();
    const lm = await RingLM.load(new Uint8Array(readFileSync(path)), { contextSize: LONGROPE_CONTEXT });
    try {
      const half = SEQUENCE_LENGTH / 2;
      const logits = new Float32Array(SEQUENCE_LENGTH * vocab);
      logits.set(await lm.prefill(Int32Array.from(ids.slice(0, half)), { allLogits: true }), 0);
      for (let i = half; i < SEQUENCE_LENGTH; i++) logits.set(await lm.decode(ids[i]), i * vocab);
      await checkAgainstLlamaCpp(longModel, 'wasm', logits, tolerance, await ref());
    } finally {
      lm.dispose();
    }
  });

  test(`context ${LONGROPE_CONTEXT}: ringlm native agrees with llama.cpp, through prefill and decode`, async () => {
    const logits = nativeLogits(path, ids, vocab, { ctx: LONGROPE_CONTEXT, decode: SEQUENCE_LENGTH / 2 });
    await checkAgainstLlamaCpp(longModel, 'native', logits, tolerance, await ref());
  });
}

// Positions 2,048 .. 2,111 of a model with RoPE frequency factors.
function describePastPosition2048(model, path, tolerance) {
  const vocab = model.params.vocab;
  const ids = tokenSequence(`${model.name}-long`, vocab, LONG_LENGTH);
  const ref = () => {
    const key = `${model.file}#long`;
    if (!referenceCache.has(key)) referenceCache.set(key, llamaCppLogprobs(path, ids, { from: LONG_FROM }));
    return referenceCache.get(key);
  };
  const longModel = { ...model, name: `${model.name} @2048+` };

  if (model.type === 'F32') test('past position 2,048: the frequency factors matter to llama.cpp there', async () => {
    // The same weights without rope_freqs.weight: llama.cpp must see a different model.
    const family = [...NEWER_FAMILIES, ...REAL_SHAPES].find((f) => f.name === model.name);
    assert.ok(family, `${model.name} is not one of NEWER_FAMILIES or REAL_SHAPES`);
    const { types, ropeFreqs, ...opts } = family;
    const dir = mkdtempSync(join(tmpdir(), 'ringlm-nofactors-'));
    try {
      const plain = join(dir, 'plain.gguf');
      makeRandomLlama({ ...opts, type: model.type, name: `ringlm-test-${model.name}` }).write(plain);
      const without = await llamaCppLogprobs(plain, ids, { from: LONG_FROM });
      const effect = compareLogprobs(await ref(), without, vocab, tolerance).maxAbs;
      assert.ok(effect >= MIN_FACTOR_EFFECT, `without its factors llama.cpp moves only ${effect} past 2,048`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('past position 2,048: ringlm wasm agrees with llama.cpp, through prefill and decode', async () => {
    const RingLM = await loadRingLM();
    const lm = await RingLM.load(new Uint8Array(readFileSync(path)), { contextSize: LONG_LENGTH + 64 });
    try {
      const logits = new Float32Array((LONG_LENGTH - LONG_FROM) * vocab);
      await lm.prefill(Int32Array.from(ids.slice(0, LONG_FROM)));
      const prefilled = await lm.prefill(Int32Array.from(ids.slice(LONG_FROM, LONG_DECODE_FROM)), { allLogits: true });
      logits.set(prefilled, 0);
      for (let i = LONG_DECODE_FROM; i < LONG_LENGTH; i++) logits.set(await lm.decode(ids[i]), (i - LONG_FROM) * vocab);
      await checkAgainstLlamaCpp(longModel, 'wasm', logits, tolerance, await ref());
    } finally {
      lm.dispose();
    }
  });

  test('past position 2,048: ringlm native agrees with llama.cpp, through prefill and decode', async () => {
    const all = nativeLogits(path, ids, vocab, { ctx: LONG_LENGTH + 64, decode: LONG_LENGTH - LONG_DECODE_FROM });
    await checkAgainstLlamaCpp(longModel, 'native', all.subarray(LONG_FROM * vocab), tolerance, await ref());
  });
}

// A sliding-window model: native prefill + decode over the 64 positions, and greedy generation far past the window.
function describeSlidingWindow(model, path, ids, tolerance) {
  const vocab = model.params.vocab;
  assert.ok(model.params.slidingWindow * 2 <= SEQUENCE_LENGTH, 'the window must be well inside the sequence');

  if (model.type === 'F32') test('the window matters to llama.cpp: a window of the whole sequence moves it', async () => {
    const family = [...NEWER_FAMILIES, ...REAL_SHAPES].find((f) => f.name === model.name);
    assert.ok(family, `${model.name} is not one of NEWER_FAMILIES or REAL_SHAPES`);
    const { types, ...opts } = family;
    const dir = mkdtempSync(join(tmpdir(), 'ringlm-window-'));
    try {
      const wide = join(dir, 'wide.gguf');
      makeRandomLlama({ ...opts, type: model.type, slidingWindow: SEQUENCE_LENGTH, name: `ringlm-test-${model.name}` }).write(wide);
      const effect = compareLogprobs(await reference(model), await llamaCppLogprobs(wide, ids), vocab, tolerance).maxAbs;
      assert.ok(effect >= MIN_WINDOW_EFFECT, `with a window of ${SEQUENCE_LENGTH} llama.cpp moves only ${effect}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ringlm native agrees with llama.cpp through prefill and decode', async () => {
    const logits = nativeLogits(path, ids, vocab, { decode: SEQUENCE_LENGTH / 2 });
    await checkAgainstLlamaCpp({ ...model, name: `${model.name} decode` }, 'native', logits, tolerance);
  });

  test(`ringlm wasm generates to position ${GENERATE_LENGTH}, every row held to llama.cpp`, async () => {
    const RingLM = await loadRingLM();
    const lm = await RingLM.load(new Uint8Array(readFileSync(path)), { contextSize: CONTEXT_SIZE });
    try {
      const generated = ids.slice(0, GENERATE_PROMPT);
      const logits = new Float32Array(GENERATE_LENGTH * vocab);
      logits.set(await lm.prefill(Int32Array.from(generated), { allLogits: true }), 0);
      const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
      while (generated.length < GENERATE_LENGTH) {
        const next = argmax(logits.subarray((generated.length - 1) * vocab, generated.length * vocab));
        logits.set(await lm.decode(next), generated.length * vocab);
        generated.push(next);
      }
      const ref = await llamaCppLogprobs(path, generated);
      await checkAgainstLlamaCpp({ ...model, name: `${model.name} generated` }, 'wasm', logits, tolerance, ref);
      // The same tokens natively, the second half decoded.
      const native = nativeLogits(path, generated, vocab, { decode: GENERATE_LENGTH / 2 });
      await checkAgainstLlamaCpp({ ...model, name: `${model.name} generated` }, 'native', native, tolerance, ref);
    } finally {
      lm.dispose();
    }
  });
}
