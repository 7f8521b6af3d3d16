// One decode measurement, the same code on a page, in a module Worker and in Node (bench/browser-gap.mjs):
// load the model, prefill a fixed prompt, time greedy decode. Loaded as a Worker, it waits for
// {url, threads, tokens} and posts the result back.

import { RingLM } from '../../wasm/ringlm.js';

/** Loads `source` (URL, path or bytes), decodes `tokens` greedy tokens after a short prompt, returns tok/s. */
export async function measureDecode(source, { threads, tokens }) {
  const lm = await RingLM.load(source, { threads, contextSize: 512 });
  try {
    const prompt = [1, 17, 42, 99, 256, 7, 311, 500];
    await lm.complete(prompt, { maxTokens: 8, temperature: 0 });  // warm-up: the wasm tiers up
    const r = await lm.complete(prompt, { maxTokens: tokens, temperature: 0, stopTokens: [] });
    // The machine is shared: a token that lost the core to another process is slow for reasons that are
    // not the engine's. The fastest tenth of the tokens shows the speed when the core was ours.
    const sorted = [...r.timings.perTokenMs].sort((a, b) => a - b);
    const fastTenth = sorted[Math.floor(sorted.length / 10)];
    return { decodeTokensPerSecond: r.timings.decodeTokensPerSecond, fastTenthTokensPerSecond: 1000 / fastTenth,
      n: r.tokens.length,
      isolated: globalThis.crossOriginIsolated ?? null };
  } finally {
    lm.dispose();
  }
}

if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  globalThis.onmessage = async ({ data }) => {
    try {
      postMessage({ ok: true, result: await measureDecode(data.url, data) });
    } catch (error) {
      postMessage({ ok: false, error: String(error?.stack ?? error) });
    }
  };
}
