// Long runs, measured: written once for Node (tests/robustness/long-run.mjs, a child `node --expose-gc`) and
// Chromium (tests/browser/harness.html); tests/long-run.test.mjs runs both and judges the readings.
//
//   1. `cycles` load / prefill / dispose cycles;
//   2. `generations` short generations on one model (prompts as text and as ids, with and without stop strings);
//   3. one session of `longTokens` generated tokens under contextPolicy 'sinks' on a ring of `contextSize`
//      tokens, hundreds of times past its capacity. A random-weight model samples its end-of-text token now
//      and then: the session then goes on (keepCache) until `longTokens` tokens have been generated in all.
//
// A reading is the wasm heap in use (malloc'ed bytes), the wasm memory's size (which only grows) and the JS
// heap in use, each after a full garbage collection (`gc`, from the host). The host gives `jsHeap()`.

/** Lets pending jobs and finalizers run, then collects twice (weak references clear on the second). */
async function settle(gc) {
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
}

export async function longRun(RingLM, source, { cycles = 100, generations = 1000, longTokens = 100_000, contextSize = 256, gc, jsHeap }) {
  const reading = async () => {
    await settle(gc);
    const { heapBytesInUse, memoryBytes } = await RingLM.memoryUsage();
    return { wasm: heapBytesInUse, wasmMemory: memoryBytes, js: jsHeap() };
  };
  const started = performance.now();
  const seconds = (since) => Math.round((performance.now() - since) / 100) / 10;

  // Warm up every path the loops take, so that lazily built state (the module, Embind's caches, the long
  // session's ring at its working size) is there before the first reading.
  {
    const lm = await RingLM.load(source, { contextSize });
    for (let i = 0; i < 20; i++) await lm.complete(i % 2 ? 'warm up' : [1, 5, 7], { maxTokens: 4, seed: i, stop: i % 3 ? [] : ['zz'] });
    await lm.complete([1, 5, 7], { maxTokens: 2 * contextSize, seed: 1 });
    lm.dispose();
  }
  const start = await reading();

  let t = performance.now();
  for (let i = 0; i < cycles; i++) {
    const lm = await RingLM.load(source, { contextSize });
    lm.prefill([1, 2, 3]);
    lm.dispose();
  }
  const afterCycles = await reading();
  const cycleSeconds = seconds(t);

  t = performance.now();
  let lm = await RingLM.load(source, { contextSize });
  let tokens = 0;
  let afterFirstGenerations = null;  // after a tenth: buffers that grow to their working size have done so
  for (let i = 0; i < generations; i++) {
    if (i === Math.floor(generations / 10)) afterFirstGenerations = await reading();
    const r = await lm.complete(i % 2 ? 'once upon a time' : [1, 5 + (i % 50), 7], { maxTokens: 4, seed: i, stop: i % 3 ? [] : ['zz'] });
    tokens += r.tokens.length;
  }
  const afterGenerations = await reading();
  const generationSeconds = seconds(t);
  lm.dispose();

  t = performance.now();
  lm = await RingLM.load(source, { contextSize });
  let generated = 0;
  let sessions = 0;
  let afterLongStart = null;
  while (generated < longTokens) {
    const prompt = sessions === 0 ? [1, 5, 7] : [5];
    const options = { maxTokens: longTokens - generated, contextPolicy: 'sinks', keepCache: sessions > 0, seed: sessions + 1 };
    sessions++;
    for await (const token of lm.generate(prompt, options)) {
      if (token.id < 0) continue;
      generated++;
      if (generated === Math.floor(longTokens / 10)) afterLongStart = await reading();
    }
  }
  const cache = lm.cacheState;
  const afterLong = await reading();
  const longSeconds = seconds(t);
  lm.dispose();
  const end = await reading();

  return {
    start, afterCycles, afterFirstGenerations, afterGenerations, afterLongStart, afterLong, end,
    cycles, generations, tokens, longTokens: generated, sessions, cache,
    seconds: { cycles: cycleSeconds, generations: generationSeconds, long: longSeconds, total: seconds(started) },
  };
}
