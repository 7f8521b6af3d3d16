// The one computation the browser test checks everywhere: in a page, in a module Web Worker, and in
// Node (tests/browser-module.test.mjs imports this file). Loaded as a worker, it runs the check on
// start-up and posts the result to the page.

import { RingLM } from '../../wasm/ringlm.js';

/** The model, relative to the repository root (served as /build/models/...). */
export const MODEL_PATH = 'build/models/gqa-f32.gguf';

/** A fixed prompt: BOS, then ids spread over the 512-token vocabulary of the test model. */
export const TOKENS = [1, 17, 42, 99, 256, 7, 311, 500, 3, 128, 64, 200, 450, 5, 77, 333];

/** Loads the model from bytes, prefills TOKENS, returns the model's info and the last logits. */
export async function prefillSummary(modelBytes) {
  const lm = await RingLM.load(modelBytes);
  try {
    const logits = lm.prefill(TOKENS, { allLogits: false });
    return {
      info: lm.info,
      // The Jinja engine (dist/jinja.mjs) loads wherever the module does.
      chat: lm.applyChatTemplate([{ role: 'user', content: 'hi' }],
        { template: '{% for m in messages %}<{{ m.role }}>{{ m.content | upper }}{% endfor %}{{ bos_token }}' }),
      firstLogits: Array.from(logits.subarray(0, 8)),
      lastLogits: Array.from(logits),
    };
  } finally {
    lm.dispose();
  }
}

/** Fetches the model over HTTP (page or worker) and runs prefillSummary on it. */
export async function prefillSummaryFromServer() {
  const response = await fetch(new URL('/' + MODEL_PATH, self.location.href));
  if (!response.ok) throw new Error(`GET /${MODEL_PATH}: HTTP ${response.status}`);
  return prefillSummary(await response.arrayBuffer());
}

const inWorker = typeof WorkerGlobalScope == 'function' && self instanceof WorkerGlobalScope;
if (inWorker) {
  try {
    self.postMessage({ ok: true, result: await prefillSummaryFromServer() });
  } catch (error) {
    self.postMessage({ ok: false, error: String(error?.stack ?? error) });
  }
}
