// ringlm's side of the browser bench: the package's browser build (wasm/ringlm.js) in a module Worker, as
// a page would run it. Answers {id, op, ...} messages from page.mjs with {id, ok, result | error}.

import { RingLM } from '../../wasm/ringlm.js';

let lm = null;

const ops = {
  async open({ url, threads, contextSize }) {
    lm = await RingLM.load(url, { threads, contextSize });
    return { threads: lm.info.threads, vocabSize: lm.info.vocabSize };
  },
  /** One greedy generation after the prompt `text`: the engine's own timings. */
  async generate({ text, maxTokens, banned }) {
    const r = await lm.complete(text, { maxTokens, temperature: 0, stopTokens: [],
      logitBias: new Map(banned.map((id) => [id, -Infinity])) });
    const t = r.timings;
    // Decode steps per second, as llama.cpp's server (wllama) counts them: the first new token comes from the
    // prompt's logits (its step is a greedy pick only), so n tokens take n - 1 decode steps.
    const steps = t.generatedTokens - 1, stepsMs = t.decodeMs - t.perTokenMs[0];
    return { promptTokens: t.promptTokens, prefillTokPerSec: t.prefillTokensPerSecond,
      generatedTokens: t.generatedTokens, decodeTokPerSec: steps > 0 ? steps * 1000 / stepsMs : null };
  },
  async close() {
    lm?.dispose();
    lm = null;
    return null;
  },
};

globalThis.onmessage = async ({ data }) => {
  try {
    postMessage({ id: data.id, ok: true, result: await ops[data.op](data) });
  } catch (error) {
    postMessage({ id: data.id, ok: false, error: String(error?.stack ?? error) });
  }
};
