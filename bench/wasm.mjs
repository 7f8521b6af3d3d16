// ringlm-wasm's side of the benchmark: the public JS API (wasm/ringlm.js) in this Node process, on one
// thread (the single-threaded build) or more (the threaded one), plus the streaming-read ceiling
// measured by the single-threaded wasm module (wasm/bench_bindings.cpp).

import createRingLMModule from '../dist/ringlm.mjs';
import { RingLM } from '../wasm/ringlm.js';
import { benchTokens } from './tokens.mjs';

/** A loaded model; each method runs one timed repetition. */
export async function openWasm(modelPath, { contextSize = 256, threads = 1, simd = 'default' } = {}) {
  const lm = await RingLM.load(modelPath, { contextSize, threads, simd });
  if (lm.info.threads !== threads) throw new Error(`ringlm-wasm runs on ${lm.info.threads} threads, not ${threads}`);
  const tokens = benchTokens(lm.info.vocabSize, 256);
  const seconds = (t0) => (performance.now() - t0) / 1000;
  const decode = (from, to) => {
    for (let i = from; i < to; i++) lm.decode(tokens[i]);
  };
  // Untimed warm-up: V8 first runs wasm through its baseline compiler and swaps in optimized code
  // for the hot functions after a while; this gets that done and touches every weight page.
  for (let i = 0; i < 2; i++) {
    lm.reset();
    lm.prefill(tokens.slice(0, 40));
    decode(40, 48);
  }
  return {
    info: lm.info,
    decode() {
      lm.reset();
      lm.prefill(tokens.slice(0, 16));
      const t0 = performance.now(), cpu0 = process.cpuUsage();
      decode(16, 80);
      const wall = seconds(t0), cpu = process.cpuUsage(cpu0);
      return { tokPerSec: 64 / wall, cpuPerWall: (cpu.user + cpu.system) / 1e6 / wall };
    },
    prefill() {
      lm.reset();
      const t0 = performance.now();
      lm.prefill(tokens.slice(0, 128));
      return { tokPerSec: 128 / seconds(t0) };
    },
    cache() {
      lm.reset();
      let t0 = performance.now();
      lm.prefill(tokens.slice(0, 29));
      decode(29, 129);
      const withCacheSec = seconds(t0);
      t0 = performance.now();
      for (let i = 0; i < 100; i++) {
        lm.reset();
        lm.prefill(tokens.slice(0, 29 + i));
      }
      return { withCacheSec, recomputeSec: seconds(t0) };
    },
    close() {
      lm.dispose();
    },
  };
}

let streamModule = null;
/** GB/s of one pass over a 256 MiB buffer read as `parts` parts, in an instance of the module of its own. */
export async function wasmStreamReadGBps(parts) {
  streamModule ??= await createRingLMModule();
  return streamModule.benchStreamReadGBps(parts);
}
