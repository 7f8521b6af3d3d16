// llama.cpp's side of verify.py, through node-llama-cpp (CPU, prebuilt, never compiled here).
//
//   node tools/train/verify-llamacpp.mjs <model.gguf> <inputs.json> <outputs.json>
//
// inputs: { windows: [[token ids]], texts: [string], prompts: [string], greedyTokens }
// outputs: { tokenized: [[ids]], nll, count, greedy: [{prompt, tokens, text}], sampled: [{prompt, seed, text}] }
// Completions start with <s>; greedy is an exact argmax loop, sampling uses no repeat penalty.
// nll sums -log p(window[i+1] | window[0..i]) over every window; the KV cache is F32 and flash attention is off,
// so the only differences from exact arithmetic are llama.cpp's own (Q8_0 activations for Q8_0 weights).

import { readFileSync, writeFileSync } from 'node:fs';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';

const [modelPath, inputsPath, outputsPath] = process.argv.slice(2);
const inputs = JSON.parse(readFileSync(inputsPath, 'utf8'));

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', progressLogs: false });
const model = await llama.loadModel({ modelPath, useMmap: false, gpuLayers: 0 });
const tokenized = inputs.texts.map((text) => Array.from(model.tokenize(text)));

async function heldOutNll() {
  const context = inputs.windows[0].length;
  const ctx = await model.createContext({
    contextSize: context + 32, batchSize: context, sequences: 1, threads: 1, flashAttention: false,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  let nll = 0;
  let count = 0;
  const sequence = ctx.getSequence();
  for (const window of inputs.windows) {
    await sequence.clearHistory();
    const outputs = await sequence.controlledEvaluate(
      window.map((t, i) => (i + 1 < window.length ? [t, { generateNext: { probabilities: true } }] : t)),
    );
    for (let i = 0; i + 1 < window.length; i++) {
      const p = outputs[i]?.next?.probabilities?.get(window[i + 1]);
      if (!(p > 0)) throw new Error(`no probability for position ${i}`);
      nll -= Math.log(p);
      count++;
    }
  }
  await ctx.dispose();
  return { nll, count };
}

// The prompt as llama.cpp's own tokenizer encodes it, with <s> first. (LlamaCompletion, given a string, tokenizes
// it without the leading space prefix, so "And" would become "A" "nd": pass token ids instead.)
function promptTokens(prompt) {
  return [model.tokens.bos, ...model.tokenize(prompt)];
}

async function completionContext() {
  return model.createContext({
    contextSize: 256, sequences: 1, threads: 1, flashAttention: false,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
}

// Greedy: argmax of llama.cpp's next-token distribution, one token at a time, until </s> or n tokens.
async function greedyCompletion(prompt, n) {
  const ctx = await completionContext();
  const sequence = ctx.getSequence();
  const tokens = [];
  let input = promptTokens(prompt);
  while (tokens.length < n) {
    const outputs = await sequence.controlledEvaluate(
      input.map((t, i) => (i === input.length - 1 ? [t, { generateNext: { probabilities: true } }] : t)),
    );
    let best = -1;
    let bestP = -1;
    for (const [t, p] of outputs.at(-1).next.probabilities) if (p > bestP) { bestP = p; best = t; }
    if (best === model.tokens.eos) break;
    tokens.push(best);
    input = [best];
  }
  await ctx.dispose();
  return { prompt, tokens, text: model.detokenize(tokens) };
}

async function sampledCompletion(prompt, options) {
  const ctx = await completionContext();
  const completion = new LlamaCompletion({ contextSequence: ctx.getSequence() });
  // No repeat penalty (LlamaCompletion applies one by default): plain temperature, top-k, top-p.
  const text = await completion.generateCompletion(promptTokens(prompt), { ...options, repeatPenalty: false });
  await ctx.dispose();
  return text;
}

const { nll, count } = await heldOutNll();
const greedy = [];
const sampled = [];
for (const prompt of inputs.prompts) {
  greedy.push(await greedyCompletion(prompt, inputs.greedyTokens));
  for (const seed of [1, 2]) {
    const text = await sampledCompletion(prompt, { maxTokens: 96, temperature: 0.8, topK: 40, topP: 0.95, seed });
    sampled.push({ prompt, seed, temperature: 0.8, topK: 40, topP: 0.95, text });
  }
}
writeFileSync(outputsPath, JSON.stringify({ tokenized, nll, count, greedy, sampled }));
await model.dispose();
await llama.dispose();
