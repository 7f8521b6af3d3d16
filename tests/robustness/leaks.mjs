// Run by tests/robustness.test.mjs in a child `node --expose-gc`: load/dispose cycles and many short
// generations, measuring the wasm heap in use (malloc'ed bytes) and the JS heap (after a full GC).
// Prints one JSON line: { wasm: {...}, js: {...} } with the readings before and after each phase.
//
//   node --expose-gc tests/robustness/leaks.mjs MODEL [CYCLES] [GENERATIONS]
import { RingLM } from '../../wasm/ringlm.js';

const [model, cycles = '100', generations = '1000'] = process.argv.slice(2);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

async function settle() {
  // Let finalizers and pending promise jobs run, then collect twice (weak references clear on the second).
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}
async function reading() {
  await settle();
  const { heapBytesInUse, memoryBytes } = await RingLM.memoryUsage();
  return { wasm: heapBytesInUse, wasmMemory: memoryBytes, js: process.memoryUsage().heapUsed };
}

// Warm up: the module, its first load, and every code path the loops take, so lazily built
// JS state (Embind's caches, the TextDecoder) is there before the first reading.
{
  const lm = await RingLM.load(model);
  for (let i = 0; i < 20; i++) await lm.complete('warm up', { maxTokens: 4, seed: i });
  lm.dispose();
}

const start = await reading();
for (let i = 0; i < Number(cycles); i++) {
  const lm = await RingLM.load(model);
  lm.prefill([1, 2, 3]);
  lm.dispose();
}
const afterCycles = await reading();

const lm = await RingLM.load(model);
const afterLoad = await reading();
let tokens = 0;
let afterFirstGenerations = null;  // after a tenth of them: buffers that grow to their working size have
for (let i = 0; i < Number(generations); i++) {
  if (i === Math.floor(Number(generations) / 10)) afterFirstGenerations = await reading();
  const r = await lm.complete(i % 2 ? 'once upon a time' : [1, 5 + (i % 50), 7], { maxTokens: 4, seed: i, stop: i % 3 ? [] : ['zz'] });
  tokens += r.tokens.length;
}
const afterGenerations = await reading();
lm.dispose();
const end = await reading();

console.log(JSON.stringify({ start, afterCycles, afterLoad, afterFirstGenerations, afterGenerations, end, tokens }));
