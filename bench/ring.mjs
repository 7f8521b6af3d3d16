#!/usr/bin/env node
// The KV ring's promise, measured: once the ring is full, the cost of a token stops growing.
// Decode tok/s around step 100, at 2 x capacity (the ring full) and at 10 x capacity, on the built-in model in wasm (Node),
// for each wrap-around policy; medians of several repetitions, and their ratio.
//
//   node bench/ring.mjs [--reps N] [--capacity N]
import { RingLM } from '../wasm/ringlm.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REPS = arg('--reps', 3);
const CAPACITY = arg('--capacity', 256);
const WINDOW = 32;  // tokens timed at each point

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** tok/s of WINDOW decode steps starting at token index `at` of a greedy-free sampled run. */
async function rates(lm, contextPolicy) {
  const points = [100, 2 * CAPACITY, 10 * CAPACITY];
  const seen = points.map(() => []);
  for (let r = 0; r < REPS; r++) {
    let n = 0;
    const times = new Map();
    const iterator = lm.generate('In the beginning', {
      seed: r + 1, maxTokens: points.at(-1) + WINDOW, contextPolicy, temperature: 0.8,
    });
    for await (const _ of iterator) {
      n++;
      for (const p of points) if (n === p || n === p + WINDOW) times.set(n, performance.now());
    }
    points.forEach((p, i) => {
      if (times.has(p) && times.has(p + WINDOW)) seen[i].push((WINDOW * 1000) / (times.get(p + WINDOW) - times.get(p)));
    });
  }
  return seen.map((xs) => (xs.length ? median(xs) : NaN));
}

const lm = await RingLM.loadDefault({ contextSize: CAPACITY });
console.log(`KV ring: ${lm.info.architecture} ${(lm.info.parameters / 1e6).toFixed(1)}M (built-in model), contextSize ${CAPACITY}, ` +
  `wasm in Node ${process.version}, medians of ${REPS}`);
console.log(`policy   decode tok/s @100   @${2 * CAPACITY} (full)   @${10 * CAPACITY}   @${10 * CAPACITY} / @${2 * CAPACITY}`);
const results = {};
for (const policy of ['sinks', 'shift']) {
  const [early, full, late] = await rates(lm, policy);
  results[policy] = { early, full, late, ratio: late / full };
  console.log(`${policy.padEnd(8)} ${early.toFixed(1).padStart(17)} ${full.toFixed(1).padStart(14)} ${late.toFixed(1).padStart(8)} ${(late / full).toFixed(2).padStart(12)}`);
}
console.log(`memory: ${JSON.stringify(await RingLM.memoryUsage())}`);
lm.dispose();
export default results;
