// The page of the browser bench (bench/browser.mjs drives it through page.evaluate): ringlm in a module Worker
// (ringlm-worker.mjs) and wllama (which runs llama.cpp in a Worker of its own) side by side, on the same file.
// Every side answers the same request: one greedy generation from a text prompt (each engine tokenizes it, BOS
// first, as the model asks), end-of-generation ignored, timed by the engine itself.

import { Wllama } from '/wllama/index.js';

const sides = new Map();  // name -> { generate({text, maxTokens}), close(), info }

// The bench vocabulary's byte tokens (tools/gguf/random-llama.mjs: ids 3 to 258, after <unk>, <s> and </s>). A
// random-weight model picks them too, and a lone byte is not UTF-8: wllama then fails to return the text as JSON.
// Both engines ban them (a 256-entry logit bias, the same small cost on both sides), so the text is plain ASCII.
const BYTE_TOKENS = Array.from({ length: 256 }, (_, i) => 3 + i);

function ringlmSide() {
  const worker = new Worker(new URL('./ringlm-worker.mjs', import.meta.url), { type: 'module' });
  const pending = new Map();
  let nextId = 0;
  worker.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    pending.delete(data.id);
    data.ok ? p.resolve(data.result) : p.reject(new Error(data.error));
  };
  worker.onerror = (e) => {
    for (const p of pending.values()) p.reject(new Error(`ringlm worker failed: ${e.message}`));
    pending.clear();
  };
  const call = (op, args = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args });
  });
  return {
    async open({ url, threads, contextSize }) {
      this.info = await call('open', { url, threads, contextSize });
      if (this.info.threads !== threads) throw new Error(`ringlm runs on ${this.info.threads} threads, not ${threads}`);
    },
    generate: (request) => call('generate', { ...request, banned: BYTE_TOKENS }),
    async close() {
      await call('close');
      worker.terminate();
    },
  };
}

function wllamaSide() {
  const wllama = new Wllama({ default: '/wllama/wasm/wllama.wasm' },
    { suppressNativeLog: true, logger: { debug() {}, log() {}, warn: console.warn, error: console.error } });
  return {
    async open({ url, threads, contextSize, batchSize }) {
      const blob = await (await fetch(url)).blob();
      await wllama.loadModel([blob], { n_threads: threads, n_ctx: contextSize, n_batch: batchSize, n_gpu_layers: 0 });
      this.info = { threads: wllama.getNumThreads(), multithreadBuild: wllama.isMultithread() };
      if (this.info.threads !== threads) throw new Error(`wllama runs on ${this.info.threads} threads, not ${threads}`);
    },
    async generate({ text, maxTokens }) {
      // wllama takes text prompts only. cache_prompt false: each request evaluates its whole prompt, as ringlm's
      // does, rather than reusing the last request's KV cache.
      const r = await wllama.createCompletion({ prompt: text, max_tokens: maxTokens, temperature: 0,
        ignore_eos: true, cache_prompt: false, logit_bias: Object.fromEntries(BYTE_TOKENS.map((id) => [id, false])) });
      const t = r.timings;
      if (!t) throw new Error('wllama returned no timings');
      return { promptTokens: t.prompt_n, prefillTokPerSec: t.prompt_per_second, cachedTokens: t.cache_n,
        generatedTokens: t.predicted_n, decodeTokPerSec: t.predicted_per_second };
    },
    close: () => wllama.exit(),
  };
}

globalThis.benchOpen = async ({ name, engine, ...options }) => {
  const side = engine === 'ringlm' ? ringlmSide() : wllamaSide();
  await side.open(options);
  sides.set(name, side);
  return side.info;
};
globalThis.benchGenerate = (name, request) => sides.get(name).generate(request);
globalThis.benchClose = async (name) => {
  await sides.get(name)?.close();
  sides.delete(name);
};
globalThis.crossOriginIsolatedPage = globalThis.crossOriginIsolated;
document.title = 'ready';
