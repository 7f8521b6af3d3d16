// worker.js — the demo page's Web Worker: it owns the wasm module and the loaded model, so that loading,
// prefill and decode never block the page. app.js talks to it with the messages below; every reply
// carries the `id` of the request it answers, so the page can ignore replies to requests it gave up on.
//
//   page -> worker
//     { type: 'load', id, source: URL string | Blob | Blob[], contextSize, memoryLimit }   (RingLM.load options;
//                                                                      an array: the parts of a split GGUF file)
//     { type: 'generate', id, prompt, options }                        (RingLM generate() options, no signal)
//     { type: 'chat', id, messages, options }                          the same through the chat template
//     { type: 'stop' }                                                 ends the running generation
//     { type: 'count', id, text }                                      how many tokens a prompt is
//     { type: 'experiment', id, promptTokens, maxTokens }              the KV cache experiment (wasm/lib/experiment.js)
//     { type: 'cache-list', id }                                       RingLM.cache.list(): the downloads kept here
//     { type: 'cache-delete', id, url }                                RingLM.cache.delete(url)
//     { type: 'chat-save', id, key, messages }                         keep the conversation and the KV state (chat-store.js)
//     { type: 'chat-restore', id, key }                                put the saved ones back, if they fit this model
//     { type: 'chat-forget', id, key }                                 delete the saved conversation
//     { type: 'resources', id }                                        the files this worker fetched (for offline.js)
//
//   worker -> page
//     { type: 'progress', id, loaded, total }                          while the file's bytes arrive
//     { type: 'unloaded', id }                                         the old model was freed to make room
//     { type: 'loaded', id, info, tokenizer, cache, chat, options }    chat: the file has a chat template;
//                                                                      options: RingLM.generateOptionSchema()
//     { type: 'load-error', id, error }
//     { type: 'prefill', id, done, total }                             prompt tokens run so far
//     { type: 'token', id, text, stats, cache }                        one sampled token (text may be '')
//     { type: 'done', id, finishReason, seed, timings, cache }         finishReason 'stop' | 'length' | 'aborted'
//     { type: 'generate-error', id, error }
//     { type: 'count', id, tokens }
//     { type: 'experiment-run', id, kvCache }                          a run of the experiment begins
//     { type: 'experiment-done', id, result }                          runExperiment()'s result
//     { type: 'experiment-error', id, error }
//     { type: 'answer', id, value | error }                            to cache-* and chat-*: chat-restore's value is
//                                                                      { messages } (null: none saved), or { messages,
//                                                                      refused } when restoreState refused the state
//
//     { type: 'alive', lock }                                          once, at start: the Web Lock this worker holds
//                                                                      until it ends (null without Web Locks)
//
// `error` is { name, message, httpStatus, fatal }: fatal means the wasm module aborted and this worker is no
// longer usable (the page then starts a new one). `cache` is lm.cacheState; `stats` are live estimates
// measured here, replaced by the engine's own `timings` when the generation ends.
//
// With ?test-hooks in this script's URL (the page's ?test-hooks), two more requests simulate failures:
//   { type: 'test-throw' }                 an uncaught error
//   { type: 'test-die-during-next-load' }  the worker ends itself once the next load has begun
// and &die-during-load in the URL does the latter from the start.

import { RingLM } from '../wasm/ringlm.js';
import { runExperiment } from '../wasm/lib/experiment.js';
import { loadChat, saveChat, forgetChat } from './chat-store.js';

const TEST_PARAMETERS = new URLSearchParams(self.location.search);
const TEST_HOOKS = TEST_PARAMETERS.has('test-hooks');

let lm = null;          // the loaded model
let generation = null;  // { controller } while a generation runs
let dieDuringNextLoad = TEST_HOOKS && TEST_PARAMETERS.has('die-during-load');  // test hook
let closed = false;  // test hook: this worker ended itself and says nothing more (see load)

const post = (message) => {
  if (!closed) self.postMessage(message);
};

// Alive: hold a Web Lock until this worker ends; the browser then releases it, which is how the page learns
// that the worker died, whatever the cause (see watchForDeath in app.js).
if (self.navigator.locks) {
  const lock = `ringlm-worker-${crypto.randomUUID()}`;
  navigator.locks.request(lock, () => {
    post({ type: 'alive', lock });
    return new Promise(() => {});  // never settles: held for the worker's life
  });
} else {
  post({ type: 'alive', lock: null });
}

/** An Error as plain data for postMessage. */
function describeError(error) {
  const message = String(error?.message ?? error);
  return {
    name: error?.name ?? 'Error',
    message,
    httpStatus: Number(/\bHTTP (\d{3})\b/.exec(message)?.[1] ?? 0),
    // An Emscripten abort() (e.g. an allocation that failed inside C++) leaves the module unusable.
    fatal: error instanceof WebAssembly.RuntimeError || /\bAborted\(/.test(message),
  };
}

/** An allocation failed (not a refusal by the memory budget: that is about the model alone). */
const isOutOfMemory = (error) =>
  /cannot allocate|out of memory|Array buffer allocation failed/i.test(String(error?.message ?? error));

// ---- load ---------------------------------------------------------------------------------------------

async function load({ id, source, contextSize, memoryLimit }) {
  let lastProgress = 0;
  const onProgress = ({ phase, loaded, total }) => {
    if (dieDuringNextLoad) {
      // Test hook: as if the browser ended this worker mid-load. close() ends it after the current task, in
      // which the rest of a small load may still run: nothing it would post gets out.
      closed = true;
      self.close();
    }
    const now = performance.now();
    if (loaded < total && now - lastProgress < 50) return;  // at most 20 messages a second, and always the last
    lastProgress = now;
    post({ type: 'progress', id, phase, loaded, total });
  };
  const options = { contextSize, memoryLimit, onProgress };
  try {
    let next;
    try {
      next = await RingLM.load(source, options);
    } catch (error) {
      // The old model and the new one may not both fit: free the old one and try once more.
      if (!lm || !isOutOfMemory(error)) throw error;
      lm.dispose();
      lm = null;
      post({ type: 'unloaded', id });
      next = await RingLM.load(source, options);
    }
    lm?.dispose();
    lm = next;
    post({ type: 'loaded', id, info: lm.info, tokenizer: lm.tokenizer, cache: lm.cacheState, chat: lm.chatTemplate !== null,
      options: await RingLM.generateOptionSchema() });
  } catch (error) {
    post({ type: 'load-error', id, error: describeError(error) });
  }
}

// ---- generate -----------------------------------------------------------------------------------------

async function generate({ id, prompt, messages, options }) {
  if (!lm) {
    post({ type: 'generate-error', id, error: describeError(new Error('no model is loaded')) });
    return;
  }
  const controller = new AbortController();
  generation = { controller };
  // Choose the seed here (not in RingLM) so that even a stopped generation can say which seed it used.
  const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const started = performance.now();
  let promptTokens = 0;
  let firstTokenAt = 0;
  let tokens = 0;
  const stats = () => {
    const now = performance.now();
    return {
      promptTokens,
      prefillMs: (firstTokenAt || now) - started,
      tokens,
      decodeMs: firstTokenAt ? now - firstTokenAt : 0,
    };
  };
  try {
    const run = {
      ...options,
      seed,
      signal: controller.signal,
      onPrefillProgress: ({ done, total }) => {
        promptTokens = total;
        post({ type: 'prefill', id, done, total });
      },
    };
    const stream = messages ? lm.chat(messages, run) : lm.generate(prompt, run);
    for (;;) {
      const { value, done } = await stream.next();
      if (done) {
        post({ type: 'done', id, finishReason: value.finishReason, seed, timings: value.timings, cache: lm.cacheState });
        return;
      }
      if (value.id >= 0) {
        tokens++;
        // The first token's time closes the prefill; decode speed is measured from there.
        if (tokens === 1) firstTokenAt = performance.now();
      }
      post({ type: 'token', id, text: value.text, stats: stats(), cache: lm.cacheState });
    }
  } catch (error) {
    if (controller.signal.aborted) {
      const s = stats();
      const timings = {
        promptTokens: s.promptTokens,
        generatedTokens: s.tokens,
        prefillMs: s.prefillMs,
        prefillTokensPerSecond: s.promptTokens / (s.prefillMs / 1000),
        decodeMs: s.decodeMs,
        decodeTokensPerSecond: s.tokens > 1 ? (s.tokens - 1) / (s.decodeMs / 1000) : 0,
      };
      post({ type: 'done', id, finishReason: 'aborted', seed, timings, cache: lm?.cacheState });
    } else {
      post({ type: 'generate-error', id, error: describeError(error) });
    }
  } finally {
    generation = null;
  }
}

// ---- the KV cache experiment ---------------------------------------------------------------------------

async function experiment({ id, promptTokens, maxTokens }) {
  try {
    if (!lm) throw new Error('no model is loaded');
    const result = await runExperiment(lm, { promptTokens, maxTokens, onRun: ({ kvCache }) => post({ type: 'experiment-run', id, kvCache }) });
    post({ type: 'experiment-done', id, result });
  } catch (error) {
    post({ type: 'experiment-error', id, error: describeError(error) });
  }
}

// ---- the download cache and saved conversations --------------------------------------------------------

/** Runs `task` and posts its value, or its error, as the answer to request `id`. */
async function answer(id, task) {
  try {
    post({ type: 'answer', id, value: await task() });
  } catch (error) {
    post({ type: 'answer', id, error: describeError(error) });
  }
}

/** Keeps the conversation the page shows with the KV state it left, so a reload continues it (chat-store.js). */
async function saveConversation(key, messages) {
  if (!lm) throw new Error('no model is loaded');
  const chat = lm.chatCache;
  await saveChat(key, { messages, state: lm.saveState(), chat, savedAt: Date.now() });
  return { saved: true };
}

/**
 * Puts a saved conversation's KV state back. restoreState() refuses a state of another model file or context
 * size before touching the cache: then the messages come back with the refusal, for the page to say so.
 */
async function restoreConversation(key) {
  if (!lm) throw new Error('no model is loaded');
  const saved = await loadChat(key);
  if (!saved) return { messages: null };
  try {
    lm.restoreState(saved.state, { chat: saved.chat });
  } catch (error) {
    return { messages: saved.messages, refused: describeError(error) };
  }
  return { messages: saved.messages, cache: lm.cacheState };
}

// ---- messages -----------------------------------------------------------------------------------------

// Loads and generations run one after another; 'stop' and 'count' are answered at once (a running
// generation yields to the event loop between tokens, so they get through).
let queue = Promise.resolve();
const enqueue = (task) => {
  queue = queue.then(task).catch((error) => console.error('ringlm worker:', error));
};

self.onmessage = ({ data }) => {
  switch (data.type) {
    case 'load':
      generation?.controller.abort();
      enqueue(() => load(data));
      break;
    case 'generate':
    case 'chat':
      enqueue(() => generate(data));
      break;
    case 'experiment':
      enqueue(() => experiment(data));
      break;
    case 'stop':
      generation?.controller.abort();
      break;
    case 'cache-list':  // read only: answered at once, even while a model downloads
      answer(data.id, () => RingLM.cache.list());
      break;
    case 'cache-delete':
      enqueue(() => answer(data.id, () => RingLM.cache.delete(data.url)));
      break;
    case 'chat-save':
      enqueue(() => answer(data.id, () => saveConversation(data.key, data.messages)));
      break;
    case 'chat-restore':
      enqueue(() => answer(data.id, () => restoreConversation(data.key)));
      break;
    case 'chat-forget':
      enqueue(() => answer(data.id, () => forgetChat(data.key)));
      break;
    case 'resources':
      answer(data.id, () => [
        self.location.href,
        ...performance.getEntriesByType('resource').map((entry) => entry.name),
        // The threaded build's own Web Workers start from this script (not always listed above).
        ...(self.crossOriginIsolated ? [new URL('../dist/ringlm-mt.worker.js', import.meta.url).href] : []),
      ]);
      break;
    case 'count':
      if (lm && !generation) {
        try {
          post({ type: 'count', id: data.id, tokens: lm.tokenize(data.text).length });
        } catch {
          // A model without a tokenizer: the page simply shows no count.
        }
      }
      break;
    case 'test-throw':
      if (TEST_HOOKS) setTimeout(() => { throw new Error('ringlm test hook: an uncaught error in the worker'); });
      break;
    case 'test-die-during-next-load':
      if (TEST_HOOKS) dieDuringNextLoad = true;
      break;
    default:
      console.warn(`ringlm worker: unknown message type '${data.type}'`);
  }
};
