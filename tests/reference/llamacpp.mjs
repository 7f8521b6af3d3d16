// llama.cpp as the reference: teacher-forced next-token log-probabilities through node-llama-cpp.
//
// The context uses an F32 KV cache and no flash attention, so llama.cpp's CPU path differs from an exact
// evaluation only by its own rounding (and, for F16/Q8_0/Q4_0 weights, by rounding activations to f16 or
// quantizing them to Q8_0 before each matrix product).
//
// node-llama-cpp gives, per position, the full softmax of the raw logits (greedy sampler, no penalties) as float32
// probabilities normalised with a float32 sum; we take logs and re-normalise in float64, which removes the sum's
// rounding. Logits must stay within ~80 of the maximum (float32 expf underflows below that) - the random test
// models keep them within ~30.

import { getLlama, JinjaTemplateChatWrapper, SpecialToken } from 'node-llama-cpp';

let llamaPromise = null;

/** The shared llama.cpp instance (CPU only, prebuilt binaries, never compiled here). */
export function getReferenceLlama() {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: 'error', progressLogs: false });
  return llamaPromise;
}

/** Disposes the shared instance, so node can exit. */
export async function disposeReferenceLlama() {
  if (!llamaPromise) return;
  const llama = await llamaPromise;
  llamaPromise = null;
  await llama.dispose();
}

/**
 * Loads a chat model in llama.cpp and calls fn(model, wrapper, renderText): `wrapper` is node-llama-cpp's Jinja
 * rendering of the file's own chat template; renderText(text, special) writes one of its LlamaTexts as a string,
 * special tokens as special[name] (e.g. { BOS: '<s>' }). The model is disposed afterwards.
 */
export async function withLlamaCppChat(modelPath, fn) {
  const llama = await getReferenceLlama();
  const model = await llama.loadModel({ modelPath, useMmap: false, gpuLayers: 0 });
  try {
    return await fn(model, new JinjaTemplateChatWrapper({ template: model.fileInfo.metadata.tokenizer.chat_template }), renderText);
  } finally {
    await model.dispose();
  }
}

function renderText(text, special) {
  return text.values.map((v) => (typeof v === 'string' ? v : v instanceof SpecialToken ? special[v.value] : v.value)).join('');
}

/**
 * Log-probabilities of every next token after each prefix tokenIds[0..i], i = from..n-1 (teacher forcing).
 * @param {string} modelPath GGUF file
 * @param {ArrayLike<number>} tokenIds
 * @param {{from?: number, contextSize?: number}} [options] from: the first position whose distribution is wanted
 *   (default 0); contextSize: the context's size (default n + 32; llama.cpp rounds it up to a multiple of 256, and
 *   LongRoPE models pick their factors by it)
 * @returns {Promise<Float32Array & {vocab:number}>} (n - from) * vocab values, row i for position from + i; `.vocab` set
 */
export async function llamaCppLogprobs(modelPath, tokenIds, { from = 0, contextSize } = {}) {
  const ids = Array.from(tokenIds);
  const llama = await getReferenceLlama();
  const model = await llama.loadModel({ modelPath, useMmap: false, gpuLayers: 0 });
  try {
    const vocab = vocabSize(model);
    const context = await model.createContext({
      // Leave room past the last token: with a context exactly full, node-llama-cpp shifts the context
      // before the last evaluation and that position's output is garbage.
      contextSize: contextSize ?? ids.length + 32,
      batchSize: ids.length,
      sequences: 1,
      threads: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
    });
    try {
      const sequence = context.getSequence();
      const outputs = await sequence.controlledEvaluate(
        ids.map((t, i) => (i < from ? t : [t, { generateNext: { token: true, probabilities: true } }])),
      );
      const out = new Float32Array((ids.length - from) * vocab);
      for (let i = from; i < ids.length; i++) {
        const probs = outputs[i]?.next?.probabilities;
        if (!probs || probs.size !== vocab) {
          throw new Error(`llama.cpp gave ${probs?.size ?? 0} probabilities at position ${i}, expected ${vocab}`);
        }
        const row = new Float64Array(vocab).fill(-Infinity);
        for (const [token, p] of probs) row[token] = Math.log(p);
        let max = -Infinity;
        for (const v of row) max = Math.max(max, v);
        let sum = 0;
        for (const v of row) sum += Math.exp(v - max);
        const lse = max + Math.log(sum);
        for (let t = 0; t < vocab; t++) out[(i - from) * vocab + t] = row[t] - lse;
      }
      out.vocab = vocab;
      return out;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

function vocabSize(model) {
  return model.fileInfo.metadata.tokenizer.ggml.tokens.length;
}
