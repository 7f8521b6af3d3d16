// llama.cpp's side of the benchmark, through node-llama-cpp's prebuilt CPU library, on one thread.
//
// The same token sequence and experiments as ringlm's sides (bench/tokens.mjs), teacher-forced. Each
// step lets llama.cpp pick a next token (greedy), which is what makes it compute the output layer at
// all (ringlm always computes a decoded token's logits); the pick is an argmax over the vocabulary. The context keeps llama.cpp's
// defaults (F16 KV cache, its own choice of flash attention): the configuration users run.

import { getLlama } from 'node-llama-cpp';

import { benchTokens } from './tokens.mjs';

let llamaPromise = null;
/** node-llama-cpp's library on one thread, loaded once (disposeLlamaCpp frees it). */
export function llamaCpp() {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: 'error', progressLogs: false, maxThreads: 1 });
  return llamaPromise;
}

/** What node-llama-cpp reports about the library it loaded. */
export async function llamaCppInfo() {
  const llama = await llamaCpp();
  const features = llama.systemInfo.split('|').map((s) => s.trim()).filter((s) => / = 1$/.test(s)).map((s) => s.replace(/^CPU : /, '').replace(/ = 1$/, ''));
  return { package: 'node-llama-cpp', release: llama.llamaCppRelease, features };
}

export async function disposeLlamaCpp() {
  if (!llamaPromise) return;
  const llama = await llamaPromise;
  llamaPromise = null;
  await llama.dispose();
}

/** A loaded model with one sequence; each method runs one timed repetition. */
export async function openLlamaCpp(modelPath, { contextSize = 256 } = {}) {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath, useMmap: false, gpuLayers: 0 });
  const context = await model.createContext({ contextSize, batchSize: 128, sequences: 1, threads: 1 });
  const sequence = context.getSequence();
  const tokens = benchTokens(model.fileInfo.metadata.tokenizer.ggml.tokens.length, 256);
  // sequence.evaluate() is node-llama-cpp's generation loop (its fastest path per token): the first
  // next() evaluates the prompt and picks a token; next(t) evaluates t instead of the pick.
  const prefill = async (n) => {
    const gen = sequence.evaluate(tokens.slice(0, n), { temperature: 0 });
    await gen.next();
    return gen;
  };
  const decode = async (gen, from, to) => {
    for (let i = from; i < to; i++) await gen.next(tokens[i]);
    await gen.return();
  };
  const clear = () => sequence.clearHistory();
  const timed = async (fn) => {
    const cpu0 = process.cpuUsage(), t0 = performance.now();
    await fn();
    const seconds = (performance.now() - t0) / 1000, cpu = process.cpuUsage(cpu0);
    return { seconds, cpuPerWall: (cpu.user + cpu.system) / 1e6 / seconds };
  };
  // One untimed round: llama.cpp allocates its compute buffers on first use.
  await decode(await prefill(16), 16, 20);
  await clear();
  return {
    /** 64 tokens decoded after a 16-token prompt: { tokPerSec, cpuPerWall } */
    async decode() {
      const gen = await prefill(16);
      const t = await timed(() => decode(gen, 16, 80));
      await clear();
      return { tokPerSec: 64 / t.seconds, cpuPerWall: t.cpuPerWall };
    },
    /** A 128-token prompt: { tokPerSec, cpuPerWall } */
    async prefill() {
      let gen;
      const t = await timed(async () => { gen = await prefill(128); });
      await gen.return();
      await clear();
      return { tokPerSec: 128 / t.seconds, cpuPerWall: t.cpuPerWall };
    },
    /** 100 tokens after a 29-token prompt with the KV cache, and re-running the sequence at every step. */
    async cache() {
      const withCache = await timed(async () => decode(await prefill(29), 29, 129));
      await clear();
      const recompute = await timed(async () => {
        for (let i = 0; i < 100; i++) {
          await (await prefill(29 + i)).return();
          await clear();
        }
      });
      return { withCacheSec: withCache.seconds, recomputeSec: recompute.seconds };
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}
