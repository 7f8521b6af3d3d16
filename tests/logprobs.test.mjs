// logitBias, logprobs and score() (issue 17, item 4), each held to llama.cpp through node-llama-cpp:
//   - score(): every token's teacher-forced log-probability equals llama.cpp's (its full softmax over the raw
//     logits) within tests/llamacpp-compare.test.mjs's tolerances, on several architectures, and on a sequence
//     longer than the context, window by window (each window is llama.cpp run on those tokens alone);
//   - logprobs: each greedily generated token's log-probability and its top-n alternatives are llama.cpp's for the
//     same sequence, and the top-n are sorted and really the n most likely;
//   - logitBias: greedy generation under a bias (bans and boosts) equals llama.cpp's greedy generation with the same
//     bias (node-llama-cpp's TokenBias, which is llama.cpp's logit-bias sampler, first in its chain), also with
//     penalties, on a case where applying the bias after them would give other tokens;
//   - misuse: errors that say what is wrong, and the model stays usable.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TokenBias } from 'node-llama-cpp';
import { RingLM } from '../wasm/ringlm.js';
import { makeTestModels } from '../tools/make-test-models.mjs';
import { makeVocabModels } from '../tools/gguf/vocab-models.mjs';
import { makeChatModels } from '../tools/gguf/chat-models.mjs';
import { makeRng } from '../tools/gguf/random-llama.mjs';
import { getReferenceLlama, llamaCppLogprobs, disposeReferenceLlama } from './reference/llamacpp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS_DIR = path.join(ROOT, 'build', 'models');
const manifest = makeTestModels(MODELS_DIR);
makeVocabModels(MODELS_DIR);  // vocab-llama-spm.gguf: random weights with the real Llama-2 vocabulary (token texts)
const modelPath = (file) => path.join(MODELS_DIR, file);

/** max |Δ logprob| against llama.cpp, as tests/llamacpp-compare.test.mjs allows per weight type (and GELU models). */
const TOLERANCE = { F32: 1e-3, F16: 0.05, Q8_0: 0.3, Q4_0: 0.3, Q4_K_M: 0.3 };
const tolerance = (m) => (m.type === 'F32' && m.params.arch === 'gpt2' ? 2e-3 : m.type === 'F32' && m.params.arch === 'gemma3' ? 5e-3
  : TOLERANCE[m.type]);

after(disposeReferenceLlama);

/** BOS, then length - 1 seeded ids in [3, vocab). */
function sequence(seed, vocab, length) {
  const rng = makeRng(seed);
  const ids = [1];
  while (ids.length < length) ids.push(3 + (rng.nextU32() % (vocab - 3)));
  return ids;
}

/** llama.cpp's log-probability of each token from the second on, given those before it (a Float64Array). */
async function llamaCppTokenLogprobs(file, ids) {
  const rows = await llamaCppLogprobs(modelPath(file), ids);
  const vocab = rows.vocab;
  return Float64Array.from(ids.slice(1), (t, i) => rows[i * vocab + t]);
}

const NATIVE_CLI = path.join(path.resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');

/** ringlm-cli score: { logprobs, sum, perplexity, windows }. */
function nativeScore(file, ids, ctx, stride = 0) {
  const run = spawnSync(NATIVE_CLI, ['score', '-m', modelPath(file), '--tokens', ids.join(','), '--ctx', String(ctx),
    '--stride', String(stride)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `ringlm-cli score (${NATIVE_CLI}): ${run.error ?? run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  const [, sum, , perplexity, , windows] = lines.pop().split(' ');
  return { logprobs: lines.map(Number), sum: Number(sum), perplexity: Number(perplexity), windows: Number(windows) };
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// ---------------------------------------------------------------------------------------------------------------
// score()

const SCORE_MODELS = ['gqa-f32.gguf', 'qwen2-q8_0.gguf', 'gpt2-f32.gguf', 'gemma3-f32.gguf', 'phi-mini-q4_k_m.gguf', 'qwen3-f32.gguf'];

for (const file of SCORE_MODELS) {
  test(`score() equals llama.cpp's teacher-forced log-probabilities: ${file}`, async () => {
    const m = manifest.models.find((x) => x.file === file);
    assert.ok(m, `${file} is in the test models`);
    const ids = sequence(11, m.params.vocab, 48);
    const ref = await llamaCppTokenLogprobs(file, ids);
    const lm = await RingLM.load(modelPath(file), { contextSize: 64 });
    try {
      const r = lm.score(ids);
      assert.equal(r.windows, 1);
      assert.deepEqual(r.ids, ids);
      assert.deepEqual(r.tokens.map((t) => t.id), ids.slice(1));
      const got = r.tokens.map((t) => t.logprob);
      const diff = maxAbsDiff(got, ref);
      assert.ok(diff <= tolerance(m), `max |Δ logprob| ${diff} > ${tolerance(m)}`);
      const refSum = ref.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(r.logprobSum - refSum) <= tolerance(m) * ids.length, `sum ${r.logprobSum} vs ${refSum}`);
      assert.ok(Math.abs(r.perplexity / Math.exp(-refSum / ref.length) - 1) <= tolerance(m), `perplexity ${r.perplexity}`);
      assert.equal(lm.position, 0, 'score() leaves the cache empty');
      // The native build's score, held to llama.cpp the same way.
      const native = nativeScore(file, ids, 64);
      assert.equal(native.logprobs.length, ids.length - 1);
      const nativeDiff = maxAbsDiff(native.logprobs, ref);
      assert.ok(nativeDiff <= tolerance(m), `native: max |Δ logprob| ${nativeDiff} > ${tolerance(m)}`);
    } finally {
      lm.dispose();
    }
  });
}

test('score() of a sequence longer than the context: windows, each held to llama.cpp on its tokens alone', async () => {
  const file = 'gqa-f32.gguf', contextSize = 32, stride = 12, n = 90;
  const ids = sequence(5, 512, n);
  const lm = await RingLM.load(modelPath(file), { contextSize });
  try {
    const r = lm.score(ids, { stride });
    // The documented windows: [0, 32), [12, 44), [24, 56), ... until one reaches the end; each scores the tokens no
    // earlier window reached (the first: all but its first).
    const expected = new Float64Array(n - 1).fill(NaN);
    let windows = 0;
    for (let start = 0, scoredTo = 1; scoredTo < n; start += stride) {
      const end = Math.min(start + contextSize, n);
      const ref = await llamaCppTokenLogprobs(file, ids.slice(start, end));
      for (let j = Math.max(scoredTo, start + 1); j < end; j++) expected[j - 1] = ref[j - start - 1];
      scoredTo = end;
      windows++;
    }
    assert.equal(r.windows, windows);
    assert.equal(r.tokens.length, n - 1);
    assert.ok(expected.every((v) => Number.isFinite(v)), 'every token is scored once');
    const diff = maxAbsDiff(r.tokens.map((t) => t.logprob), expected);
    assert.ok(diff <= TOLERANCE.F32, `max |Δ logprob| ${diff}`);
    const native = nativeScore(file, ids, contextSize, stride);
    assert.equal(native.windows, windows);
    assert.ok(maxAbsDiff(native.logprobs, expected) <= TOLERANCE.F32, 'native');
    // The default stride is half the context; a token late in a window differs from one scored with no context.
    const byDefault = lm.score(ids);
    assert.equal(byDefault.windows, Math.ceil((n - contextSize) / (contextSize / 2)) + 1);
  } finally {
    lm.dispose();
  }
});

test('score() of a string: tokenized with BOS as the model asks, each token\'s text', async () => {
  const lm = await RingLM.load(modelPath('vocab-llama-spm.gguf'));
  try {
    const text = 'In the beginning God created the heaven and the earth.';
    const ids = Array.from(lm.tokenize(text));
    const r = lm.score(text);
    assert.deepEqual(r.ids, ids);
    assert.equal(r.tokens.map((t) => t.token).join(''), ` ${text}`);
    assert.deepEqual(r.tokens.map((t) => t.logprob), lm.score(ids).tokens.map((t) => t.logprob));
    const withoutBos = lm.score(text, { addBos: false });
    assert.equal(withoutBos.ids.length, ids.length - 1);
  } finally {
    lm.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// logprobs

test('logprobs: each generated token\'s log-probability and top alternatives are llama.cpp\'s (raw logits)', async () => {
  for (const file of ['gqa-f32.gguf', 'qwen2-f32.gguf']) {
    const m = manifest.models.find((x) => x.file === file);
    const prompt = sequence(3, m.params.vocab, 6);
    const lm = await RingLM.load(modelPath(file), { contextSize: 64 });
    try {
      // Sampled with a temperature and penalties: the log-probabilities are still of the raw logits.
      const r = await lm.complete(prompt, { maxTokens: 12, logprobs: 5, temperature: 1.5, topK: 0, repeatPenalty: 1.3, seed: 7, stopTokens: [] });
      assert.equal(r.logprobs.length, r.tokens.length);
      const ids = [...prompt, ...r.tokens];
      const rows = await llamaCppLogprobs(modelPath(file), ids);
      const vocab = rows.vocab;
      r.logprobs.forEach((e, i) => {
        const row = rows.subarray((prompt.length - 1 + i) * vocab, (prompt.length + i) * vocab);
        assert.equal(e.id, r.tokens[i]);
        assert.ok(Math.abs(e.logprob - row[e.id]) <= TOLERANCE.F32, `${file} token ${i}: ${e.logprob} vs ${row[e.id]}`);
        assert.equal(e.topLogprobs.length, 5);
        const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
        e.topLogprobs.forEach((t, k) => {
          assert.ok(Math.abs(t.logprob - row[t.id]) <= TOLERANCE.F32, `${file} token ${i} alternative ${k}`);
          if (k > 0) assert.ok(t.logprob <= e.topLogprobs[k - 1].logprob, 'highest first');
          // The k-th most likely in llama.cpp's row, unless it is a near-tie with its neighbour.
          if (t.id !== order[k]) assert.ok(Math.abs(row[order[k]] - row[t.id]) <= TOLERANCE.F32, `${file} token ${i}: rank ${k}`);
        });
        assert.equal(typeof e.token, 'string');
        assert.ok(Array.isArray(e.bytes));
      });
    } finally {
      lm.dispose();
    }
  }
});

test('logprobs: the shape, 0 alternatives, streaming, and the token texts', async () => {
  const lm = await RingLM.load(modelPath('vocab-llama-spm.gguf'));
  try {
    const r = await lm.complete('The light', { maxTokens: 4, temperature: 0, logprobs: 0, stopTokens: [] });
    assert.equal(r.logprobs.length, r.tokens.length);
    for (const e of r.logprobs) {
      assert.deepEqual(Object.keys(e).sort(), ['bytes', 'id', 'logprob', 'token', 'topLogprobs']);
      assert.deepEqual(e.topLogprobs, []);
      assert.ok(e.logprob <= 0);
      assert.equal(Buffer.from(e.bytes).toString('utf8'), e.token);
      assert.equal(lm.detokenize([e.id], { stripLeadingSpace: false }), e.token);
    }
    // Greedy: the chosen token is the most likely one.
    const g = await lm.complete('The light', { maxTokens: 4, temperature: 0, logprobs: 3, stopTokens: [] });
    for (const e of g.logprobs) assert.equal(e.topLogprobs[0].id, e.id);
    for await (const chunk of lm.generate('The light', { maxTokens: 2, temperature: 0, logprobs: 1 })) {
      if (chunk.id >= 0) assert.equal(chunk.logprobs.id, chunk.id);
    }
    // Without the option: no logprobs anywhere.
    const plain = await lm.complete('The light', { maxTokens: 2, temperature: 0 });
    assert.equal('logprobs' in plain, false);
  } finally {
    lm.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// logitBias

/**
 * llama.cpp's greedy tokens after `prompt` with `bias` ({id: logit bias, -Infinity to ban}) and, if given, a repeat
 * and a presence penalty over the last 64 tokens, prompt included (as ringlm's penaltyLastN 64).
 */
async function llamaCppGreedy(file, prompt, bias, count, penalties = null) {
  const llama = await getReferenceLlama();
  const model = await llama.loadModel({ modelPath: modelPath(file), useMmap: false, gpuLayers: 0 });
  try {
    const context = await model.createContext({ contextSize: 128, sequences: 1, threads: 1, flashAttention: false,
      experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    try {
      const tokenBias = new TokenBias(model.tokenizer);
      for (const [id, b] of Object.entries(bias)) tokenBias.set(Number(id), b === -Infinity ? 'never' : { logit: b });
      const out = [];
      const repeatPenalty = penalties && { punishTokens: () => [...prompt, ...out].slice(-64), penalty: penalties.repeatPenalty,
        presencePenalty: penalties.presencePenalty };
      for await (const t of context.getSequence().evaluate(prompt, { temperature: 0, tokenBias, yieldEogToken: true,
        ...(repeatPenalty ? { repeatPenalty } : {}) })) {
        out.push(t);
        if (out.length === count) break;
      }
      return out;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

test('logitBias: greedy generation under bans and boosts equals llama.cpp\'s', async () => {
  const file = 'gqa-f32.gguf';
  const prompt = sequence(9, 512, 8);
  const lm = await RingLM.load(modelPath(file), { contextSize: 128 });
  try {
    const free = await lm.complete(prompt, { maxTokens: 16, temperature: 0, stopTokens: [] });
    // Ban the first three tokens it chose unbiased, lift three others.
    const bias = { [free.tokens[0]]: -Infinity, [free.tokens[1]]: -Infinity, [free.tokens[2]]: -Infinity, 100: 3, 200: 2.5, 300: -1.5 };
    const biased = await lm.complete(prompt, { maxTokens: 16, temperature: 0, stopTokens: [], logitBias: bias });
    assert.notDeepEqual(biased.tokens, free.tokens, 'the bias changes the output');
    for (const banned of [free.tokens[0], free.tokens[1], free.tokens[2]]) assert.ok(!biased.tokens.includes(banned));
    assert.deepEqual(biased.tokens, await llamaCppGreedy(file, prompt, bias, 16));
    // A Map gives the same; the logprobs stay those of the raw logits (a banned token is still in them).
    const viaMap = await lm.complete(prompt, { maxTokens: 16, temperature: 0, stopTokens: [], logprobs: 2,
      logitBias: new Map(Object.entries(bias).map(([k, v]) => [Number(k), v])) });
    assert.deepEqual(viaMap.tokens, biased.tokens);
    assert.equal(viaMap.logprobs[0].topLogprobs[0].id, free.tokens[0], 'the banned token is the raw distribution\'s top');
  } finally {
    lm.dispose();
  }
});

/** Greedy tokens from ringlm's raw logits with the bias applied before the penalties, or after them. */
function greedyByHand(lm, prompt, bias, count, { repeatPenalty, presencePenalty }, biasFirst) {
  lm.reset();
  let logits = lm.prefill(prompt);
  const out = [];
  while (out.length < count) {
    const l = Float64Array.from(logits);
    const addBias = () => { for (const [t, b] of Object.entries(bias)) l[Number(t)] += b; };
    if (biasFirst) addBias();
    for (const t of new Set([...prompt, ...out].slice(-64))) l[t] = (l[t] > 0 ? l[t] / repeatPenalty : l[t] * repeatPenalty) - presencePenalty;
    if (!biasFirst) addBias();
    const best = l.reduce((b, v, i) => (v > l[b] ? i : b), 0);
    out.push(best);
    logits = lm.decode(best);
  }
  return out;
}

test('logitBias comes before the penalties, as in llama.cpp (where the order changes the output)', async () => {
  const file = 'gqa-f32.gguf';
  const prompt = [1, 40, 77, 123, 200, 311, 40, 77];
  // Boost the prompt's tokens, which the repeat penalty then divides: first, the boost is divided too.
  const bias = Object.fromEntries([40, 77, 123, 200, 311].map((t) => [t, 10]));
  const penalties = { repeatPenalty: 3, presencePenalty: 0.5 };
  const lm = await RingLM.load(modelPath(file), { contextSize: 128 });
  try {
    const r = await lm.complete(prompt, { maxTokens: 16, temperature: 0, stopTokens: [], logitBias: bias, ...penalties });
    const biasFirst = greedyByHand(lm, prompt, bias, 16, penalties, true);
    const biasLast = greedyByHand(lm, prompt, bias, 16, penalties, false);
    assert.notDeepEqual(biasFirst, biasLast, 'the order matters for this bias');
    assert.deepEqual(r.tokens, biasFirst);
    assert.deepEqual(r.tokens, await llamaCppGreedy(file, prompt, bias, 16, penalties));
  } finally {
    lm.dispose();
  }
});

test('logitBias: sampling never picks a banned token', async () => {
  const lm = await RingLM.load(modelPath('gqa-q8_0.gguf'));
  try {
    const banned = Array.from({ length: 400 }, (_, i) => i + 50);
    const logitBias = Object.fromEntries(banned.map((id) => [id, -Infinity]));
    for (let seed = 0; seed < 5; seed++) {
      const r = await lm.complete([1, 60, 70], { maxTokens: 30, temperature: 2, topK: 0, topP: 1, minP: 0, seed, logitBias, stopTokens: [] });
      assert.ok(r.tokens.every((t) => t < 50 || t >= 450), `seed ${seed}: ${r.tokens}`);
    }
  } finally {
    lm.dispose();
  }
});

test('chat() takes logitBias and logprobs as generate() does', async () => {
  const lm = await RingLM.load(makeChatModels(MODELS_DIR).chatml);
  try {
    const messages = [{ role: 'user', content: 'Hi there' }];
    const free = [];
    for await (const t of lm.chat(messages, { maxTokens: 6, temperature: 0 })) if (t.id >= 0) free.push(t.id);
    assert.ok(free.length > 0);
    const chunks = [];
    for await (const t of lm.chat(messages, { maxTokens: 6, temperature: 0, logprobs: 2, logitBias: { [free[0]]: -Infinity } })) {
      if (t.id >= 0) chunks.push(t);
    }
    assert.notEqual(chunks[0].id, free[0]);
    assert.equal(chunks[0].logprobs.topLogprobs[0].id, free[0]);
    assert.ok(chunks.every((c) => c.logprobs.id === c.id && c.logprobs.topLogprobs.length === 2));
  } finally {
    lm.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// misuse

test('misuse: clear errors, and the model stays usable', async () => {
  const lm = await RingLM.load(modelPath('gqa-q8_0.gguf'), { contextSize: 32 });
  const vocab = lm.info.vocabSize;
  const rejects = async (options, type, message) => assert.rejects(lm.complete([1, 2], options), (e) => {
    assert.ok(e instanceof type, `${e}`);
    assert.equal(e.message, message);
    return true;
  });
  await rejects({ logitBias: { [vocab]: 1 } }, Error, `RingLM.generate: logitBias: token id ${vocab} is out of range (vocabulary size ${vocab})`);
  await rejects({ logitBias: { 5: NaN } }, RangeError, 'RingLM.generate: logitBias: the bias of token 5 must be a finite number or -Infinity (to ban it) (got NaN)');
  await rejects({ logitBias: { 5: Infinity } }, RangeError, 'RingLM.generate: logitBias: the bias of token 5 must be a finite number or -Infinity (to ban it) (got Infinity)');
  await rejects({ logitBias: { x: 1 } }, TypeError, "RingLM.generate: logitBias: token ids must be whole numbers >= 0 (got 'x')");
  await rejects({ logitBias: [[1, 2]] }, TypeError, 'RingLM.generate: logitBias must be a map of token ids to biases (numbers, or -Infinity to ban)');
  await rejects({ logitBias: Object.fromEntries(Array.from({ length: vocab }, (_, i) => [i, -Infinity])) }, Error,
    'RingLM.generate: logitBias bans every token of the vocabulary: nothing could be sampled');
  await rejects({ logprobs: 21 }, RangeError, 'RingLM.generate: logprobs must be an integer in [0, 20] (got 21)');
  await rejects({ logprobs: -1 }, RangeError, 'RingLM.generate: logprobs must be an integer in [0, 20] (got -1)');

  assert.throws(() => lm.score([1]), { message: 'RingLM.score: nothing to score: give at least two tokens (the first is only context; got 1)' });
  assert.throws(() => lm.score([]), /RingLM.score: nothing to score/);
  assert.throws(() => lm.score([1, vocab]), { message: `RingLM.score: token id ${vocab} at index 1 is out of range (vocabulary size ${vocab})` });
  assert.throws(() => lm.score([1, 2, 3], { stride: 32 }), { name: 'RangeError', message: 'RingLM.score: stride must be an integer in [1, 31] (contextSize - 1; got 32)' });
  assert.throws(() => lm.score([1, 2, 3], { strid: 3 }), { name: 'TypeError', message: "RingLM.score: unknown option 'strid' (did you mean 'stride'?)" });
  const it = lm.generate([1, 2], { maxTokens: 5 });
  await it.next();
  assert.throws(() => lm.score([1, 2, 3]), { message: 'RingLM.score: a generation is running on this model' });
  await it.return();
  // Still usable after every error.
  assert.equal(lm.score([1, 2, 3]).tokens.length, 2);
  assert.equal((await lm.complete([1, 2], { maxTokens: 3, temperature: 0, stopTokens: [] })).tokens.length, 3);
  lm.dispose();
  assert.throws(() => lm.score([1, 2, 3]), { message: 'RingLM: this model has been disposed' });
});

// ---------------------------------------------------------------------------------------------------------------
// the command line

test('ringlm score: per-token lines and totals, --json, and --logit-bias / --logprobs on generation', async () => {
  const file = modelPath('vocab-llama-spm.gguf');
  const dir = mkdtempSync(path.join(tmpdir(), 'ringlm-score-'));
  const textFile = path.join(dir, 'text.txt');
  writeFileSync(textFile, 'And God said, Let there be light: and there was light.');
  const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  const lm = await RingLM.load(file);
  const expected = lm.score('And God said, Let there be light: and there was light.');
  let r = cli('score', '-m', file, '-f', textFile, '--json');
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.deepEqual(json.ids, expected.ids);
  assert.deepEqual(json.tokens.map((t) => t.logprob), expected.tokens.map((t) => Math.fround(t.logprob)));
  r = cli('score', '-m', file, '-p', 'And God said, Let there be light: and there was light.');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, expected.tokens.length + 1);
  assert.match(lines[0], new RegExp(`^\\s+1\\s+${expected.tokens[0].id}\\s+${expected.tokens[0].logprob.toFixed(6)}\\s+"`));
  assert.equal(lines.at(-1), `tokens ${expected.tokens.length}  logprob sum ${expected.logprobSum.toFixed(6)}  perplexity ${expected.perplexity.toFixed(6)}  windows 1`);
  r = cli('score', '-m', file);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'ringlm: score needs the text: one of -p TEXT and -f FILE\n');
  r = cli('score', '-m', file, '-p', 'x', '--jsn');
  assert.equal(r.stderr, "ringlm: score: unknown option '--jsn' (did you mean '--json'?)\n");

  // Generation: a banned token never appears; --logprobs writes one line per token to stderr.
  const free = await lm.complete('And God said', { maxTokens: 6, temperature: 0, stopTokens: [] });
  lm.dispose();
  r = cli('-m', file, '-p', 'And God said', '-n', '6', '--temp', '0', '--logit-bias', `${free.tokens[0]}=-inf`, '--logprobs', '2');
  assert.equal(r.status, 0, r.stderr);
  const table = r.stderr.split('\n').filter((l) => /^\s+\d+\s+\d+\s+-?\d/.test(l));
  assert.equal(table.length, 6);
  assert.ok(table.every((l) => !new RegExp(`^\\s+\\d+\\s+${free.tokens[0]}\\s`).test(l)), 'the banned token is not generated');
  r = cli('-m', file, '-p', 'x', '--logit-bias', '5=inf');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "ringlm: --logit-bias needs ID=BIAS with a token id and a finite bias or -inf to ban the token (got '5=inf')\n");
});
