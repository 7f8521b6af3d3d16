// The built-in model (models/, trained here: see models/MODEL_CARD.md) against llama.cpp on the
// same file: held-out perplexity within 1%, and greedy text token for token.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { llamaCppLogprobs, disposeReferenceLlama } from './reference/llamacpp.mjs';
import { logSoftmaxRows, top2 } from './reference/compare.mjs';

const MODEL = fileURLToPath(RingLM.defaultModelUrl);
// The start of Hebrews: held out from training (see tools/train/prepare.py).
const HELD_OUT = readFileSync(new URL('./data/kjv-hebrews-1-4.txt', import.meta.url), 'utf8');
const WINDOW = 256;

after(() => disposeReferenceLlama());

/** Mean negative log-likelihood of ids[1..] given the prefix, from log-probability rows. */
function nll(rows, ids, vocab) {
  let sum = 0;
  for (let i = 0; i + 1 < ids.length; i++) sum -= rows[i * vocab + ids[i + 1]];
  return sum;
}

test('RingLM.loadDefault() loads the built-in model, with a tokenizer', async () => {
  const lm = await RingLM.loadDefault();
  assert.equal(lm.info.architecture, 'llama');
  assert.equal(lm.info.vocabSize, 2048);
  assert.ok(lm.info.parameters > 3e6 && lm.info.parameters < 5e6);
  assert.equal(lm.detokenize(lm.tokenize('And God said, Let there be light')), 'And God said, Let there be light');
  lm.dispose();
});

test('held-out perplexity: ringlm within 1% of llama.cpp on the same windows', async () => {
  const lm = await RingLM.loadDefault({ contextSize: WINDOW });
  const all = Array.from(lm.tokenize(HELD_OUT, { addBos: false }));
  const vocab = lm.info.vocabSize;
  let ours = 0, theirs = 0, count = 0;
  for (let start = 0; start + WINDOW <= all.length; start += WINDOW) {
    const ids = [1, ...all.slice(start, start + WINDOW - 1)];  // BOS + 255 tokens
    lm.reset();
    ours += nll(logSoftmaxRows(lm.prefill(ids, { allLogits: true }), vocab), ids, vocab);
    theirs += nll(await llamaCppLogprobs(MODEL, ids), ids, vocab);
    count += ids.length - 1;
  }
  lm.dispose();
  assert.ok(count >= 1000, `only ${count} predictions`);
  const pplOurs = Math.exp(ours / count), pplTheirs = Math.exp(theirs / count);
  console.log(`held-out perplexity over ${count} tokens: ringlm ${pplOurs.toFixed(3)}, llama.cpp ${pplTheirs.toFixed(3)}`);
  assert.ok(Math.abs(pplOurs / pplTheirs - 1) < 0.01, `ringlm ${pplOurs} vs llama.cpp ${pplTheirs}`);
  assert.ok(pplOurs < 60, 'the model has learned the corpus');
});

test('greedy text for a fixed prompt is llama.cpp\'s, token for token wherever the margin decides it', async () => {
  const lm = await RingLM.loadDefault();
  const prompt = Array.from(lm.tokenize('And God said'));
  const r = await lm.complete(prompt, { temperature: 0, maxTokens: 48 });
  console.log(`greedy: And God said${r.text}`);
  assert.match(r.text, /\b(unto|the|LORD|God)\b/, 'reads like the KJV');
  // Both engines on the same sequence, teacher-forced: eps bounds how far any log-probability
  // differs; wherever llama.cpp's top two are further apart than 2 eps, the argmax cannot differ.
  const seq = [...prompt, ...r.tokens];
  const ref = await llamaCppLogprobs(MODEL, seq);
  const vocab = ref.vocab;
  lm.reset();
  const ours = logSoftmaxRows(lm.prefill(seq, { allLogits: true }), vocab);
  lm.dispose();
  let eps = 0;
  for (let i = 0; i < ref.length; i++) eps = Math.max(eps, Math.abs(ours[i] - ref[i]));
  assert.ok(eps <= 0.3, `max |delta log p| ${eps} exceeds the Q8_0 tolerance`);
  let decided = 0;
  for (let i = 0; i < r.tokens.length; i++) {
    const { index, gap } = top2(ref, vocab, prompt.length - 1 + i);
    if (gap > 2 * eps) {
      assert.equal(r.tokens[i], index, `step ${i}`);
      decided++;
    }
  }
  console.log(`max |delta log p| ${eps.toExponential(2)}; ${decided} of ${r.tokens.length} steps decided by margin`);
  assert.ok(decided >= r.tokens.length / 2);
});
