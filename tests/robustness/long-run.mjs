// Run by tests/long-run.test.mjs in a child `node --expose-gc`: the long runs of tests/browser/long-run.mjs in
// Node, the JS heap read as process.memoryUsage().heapUsed. Prints the readings as one JSON line.
//
//   node --expose-gc tests/robustness/long-run.mjs MODEL [CYCLES] [GENERATIONS] [LONG_TOKENS]
import { RingLM } from '../../wasm/ringlm.js';
import { longRun } from '../browser/long-run.mjs';

const [model, cycles = '100', generations = '1000', longTokens = '100000'] = process.argv.slice(2);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const result = await longRun(RingLM, model, {
  cycles: Number(cycles), generations: Number(generations), longTokens: Number(longTokens),
  gc: globalThis.gc, jsHeap: () => process.memoryUsage().heapUsed,
});
console.log(JSON.stringify(result));
