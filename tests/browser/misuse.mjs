// Misuse of the API, written once for every host: tests/misuse.test.mjs runs these in Node,
// tests/browser-misuse.test.mjs in Chromium and Firefox (tests/browser/harness.html imports this file). Each
// case takes the RingLM class and two model sources with the same shapes but different weights, and throws
// an Error saying what went wrong. No node:assert here: it does not exist in a browser.

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  check(a === e, `${what}: got ${a}, expected ${e}`);
}

/** The error `run()` throws (synchronously or as a rejection); fails when it throws nothing. */
async function caught(run, what) {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error(`${what}: no error was thrown`);
}

async function refused(run, pattern, what) {
  const error = await caught(run, what);
  check(pattern.test(error.message), `${what}: the error '${error.message}' does not match ${pattern}`);
  return error;
}

const isAbortError = (e) => e instanceof DOMException && e.name === 'AbortError';
const heapInUse = async (RingLM) => (await RingLM.memoryUsage()).heapBytesInUse;

export const misuseCases = {
  async 'two generate() calls at once on one model: the second is refused clearly, the first goes on'(RingLM, source) {
    const lm = await RingLM.load(source);
    const first = lm.generate([1, 2, 3], { maxTokens: 8, temperature: 0 });
    await first.next();
    await refused(() => lm.generate([4, 5], { maxTokens: 2 }).next(),
      /^RingLM.generate: a generation is already running on this model$/, 'a second generate()');
    await refused(() => lm.complete('x'), /a generation is already running/, 'complete() during generate()');
    await refused(() => lm.chat([{ role: 'user', content: 'x' }], { template: '{{ messages[0].content }}' }).next(),
      /a generation is already running/, 'chat() during generate()');
    for (const [name, call] of [['reset', () => lm.reset()], ['prefill', () => lm.prefill([1])], ['decode', () => lm.decode(1)],
      ['saveState', () => lm.saveState()]]) {
      await refused(call, new RegExp(`^RingLM.${name}: a generation is running on this model$`), `${name}() during generate()`);
    }
    let tokens = 1;
    for await (const t of first) if (t.id >= 0) tokens++;
    same(tokens, 8, 'the first generation ran to maxTokens');
    const after = await lm.complete([4, 5], { maxTokens: 3, temperature: 0 });
    same(after.tokens.length, 3, 'a generation after it');
    lm.dispose();
  },

  async 'dispose() during a generation ends its iterator with an AbortError; the heap is back; another model goes on'(RingLM, source) {
    const before = await heapInUse(RingLM);
    const a = await RingLM.load(source);
    const b = await RingLM.load(source);
    const it = a.generate([1, 2, 3], { maxTokens: 50, temperature: 0 });
    await it.next();
    await it.next();
    a.dispose();
    const error = await caught(() => it.next(), 'next() after dispose()');
    check(isAbortError(error), `expected a DOMException named AbortError, got ${error}`);
    check(/the model was disposed during the generation/.test(error.message), `the AbortError says why: ${error.message}`);
    same(await it.next(), { done: true }, 'the iterator is finished');
    const r = await b.complete([1, 2, 3], { maxTokens: 5, temperature: 0 });
    same(r.tokens.length, 5, 'the other model generates');
    b.dispose();
    same(await heapInUse(RingLM), before, 'wasm heap in use after both models are gone');
  },

  async 'dispose() during a chat() ends it with an AbortError'(RingLM, source) {
    const before = await heapInUse(RingLM);
    const lm = await RingLM.load(source);
    const chat = lm.chat([{ role: 'user', content: 'hello there' }], { template: '{{ messages[0].content }}', maxTokens: 30 });
    await chat.next();
    lm.dispose();
    check(isAbortError(await caught(() => chat.next(), 'chat next() after dispose()')), 'an AbortError');
    same(await heapInUse(RingLM), before, 'wasm heap in use');
  },

  async 'every method after dispose() throws a clear error; a second dispose() does nothing'(RingLM, source) {
    const lm = await RingLM.load(source);
    const state = lm.saveState();
    const decoder = lm.createTextDecoder();
    lm.dispose();
    lm.dispose();
    const calls = {
      info: () => lm.info, position: () => lm.position, cacheState: () => lm.cacheState, tokenizer: () => lm.tokenizer,
      metadata: () => lm.metadata, chatTemplate: () => lm.chatTemplate, reset: () => lm.reset(),
      prefill: () => lm.prefill([1]), decode: () => lm.decode(1), tokenize: () => lm.tokenize('x'),
      detokenize: () => lm.detokenize([1]), createTextDecoder: () => lm.createTextDecoder(), 'decoder.push': () => decoder.push(1),
      saveState: () => lm.saveState(), restoreState: () => lm.restoreState(state),
      applyChatTemplate: () => lm.applyChatTemplate([{ role: 'user', content: 'x' }], { template: 'x' }),
      generate: () => lm.generate([1]).next(), complete: () => lm.complete('x'),
      chat: () => lm.chat([{ role: 'user', content: 'x' }], { template: 'x' }).next(),
    };
    for (const [name, call] of Object.entries(calls)) {
      await refused(call, /^RingLM: this model has been disposed$/, `${name} after dispose()`);
    }
    const again = await RingLM.load(source);  // the module is fine
    same((await again.complete([1], { maxTokens: 1 })).tokens.length, 1, 'a new model after dispose()');
    again.dispose();
  },

  async 'restoreState() refuses a snapshot of another model, contextSize or format before touching the ring'(RingLM, source, twin) {
    const lm = await RingLM.load(source, { contextSize: 64 });
    const twinModel = await RingLM.load(twin, { contextSize: 64 });
    const wider = await RingLM.load(source, { contextSize: 128 });
    await lm.complete([1, 2, 3], { maxTokens: 70, seed: 1, keepCache: true });  // past the capacity: the ring has wrapped
    await twinModel.complete([1, 2, 3], { maxTokens: 5, seed: 1 });
    await wider.complete([1, 2, 3], { maxTokens: 5, seed: 1 });
    const own = lm.saveState();
    const cache = lm.cacheState;
    same(twinModel.info, { ...lm.info }, 'the twin has the same shapes');  // (only the fingerprint differs)
    const older = own.slice();
    new DataView(older.buffer).setUint32(4, 2, true);
    const foreign = [
      [twinModel.saveState(), /^RingLM.restoreState: the state belongs to another model \(its file's fingerprint differs/],
      [wider.saveState(), /^RingLM.restoreState: the state was saved with contextSize 128; this model was loaded with contextSize 64$/],
      [older, /^RingLM.restoreState: the state has format version 2; this ringlm reads version 3 only/],
    ];
    for (const [state, pattern] of foreign) {
      await refused(() => lm.restoreState(state), pattern, 'restoreState(foreign)');
      same(lm.cacheState, cache, 'the ring after a refused restore');
    }
    // The session goes on exactly as from its own snapshot: nothing was touched.
    const a = await lm.complete([4], { maxTokens: 6, keepCache: true, seed: 2 });
    lm.restoreState(own);
    const b = await lm.complete([4], { maxTokens: 6, keepCache: true, seed: 2 });
    same(a.tokens, b.tokens, 'the continuation after the refusals');
    for (const m of [lm, twinModel, wider]) m.dispose();
  },
};
