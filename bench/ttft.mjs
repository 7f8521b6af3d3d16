// Time to first token: how long a 512-token prompt takes to give the logits of its last token (the
// first generated token is picked from them), with the model loaded, on one thread. ringlm-wasm (the
// public JS API in this Node process), ringlm native (`ringlm-cli bench --only ttft`) and llama.cpp
// native (node-llama-cpp, batches of 512 as its defaults), the same tokens (bench/tokens.mjs), medians
// of interleaved repetitions. Hooked into bench/run.mjs: benchTtft() measures, ttftText() and
// ttftMarkdown() print.

import { RingLM } from '../wasm/ringlm.js';
import { llamaCpp } from './llamacpp.mjs';
import { benchModel } from './models.mjs';
import { runNative } from './native.mjs';
import { benchTokens } from './tokens.mjs';

export const TTFT_PROMPT = 512;
export const TTFT_MODELS = ['125m-q4_k_m', '125m-q8_0'];  // measured when the run includes them
const CONTEXT = 1024;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function openWasm(path, tokens) {
  const lm = await RingLM.load(path, { contextSize: CONTEXT, threads: 1 });
  const prompt = tokens(lm.info.vocabSize);
  lm.prefill(prompt.slice(0, 64));  // warm-up: V8's optimized code, the weight pages
  return {
    seconds() {
      lm.reset();
      const t0 = performance.now();
      lm.prefill(prompt);
      return (performance.now() - t0) / 1000;
    },
    close: async () => lm.dispose(),
  };
}

async function openLlamaCpp(path, tokens) {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath: path, useMmap: false, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: CONTEXT, batchSize: TTFT_PROMPT, sequences: 1, threads: 1 });
  const sequence = context.getSequence();
  const prompt = tokens(model.fileInfo.metadata.tokenizer.ggml.tokens.length);
  // The first next() of evaluate() runs the prompt and picks a token from the last logits.
  const first = async (ids) => {
    const gen = sequence.evaluate(ids, { temperature: 0 });
    await gen.next();
    await gen.return();
    await sequence.clearHistory();
  };
  await first(prompt.slice(0, 64));  // llama.cpp allocates its compute buffers on first use
  return {
    async seconds() {
      const t0 = performance.now();
      const gen = sequence.evaluate(prompt, { temperature: 0 });
      await gen.next();
      const s = (performance.now() - t0) / 1000;
      await gen.return();
      await sequence.clearHistory();
      return s;
    },
    close: async () => {
      await context.dispose();
      await model.dispose();
    },
  };
}

/** Seconds to first token per implementation and model: { model: { wasm: {runs, median}, native, llamacpp } }. */
export async function benchTtft({ models, reps, nativeCli, llamacpp = true, log = () => {} }) {
  const tokens = (vocab) => benchTokens(vocab, TTFT_PROMPT);
  const out = {};
  for (const name of TTFT_MODELS.filter((m) => models.includes(m))) {
    const path = benchModel(name, { log });
    log(`${name}: time to first token, ${TTFT_PROMPT}-token prompt`);
    const impls = {
      wasm: await openWasm(path, tokens),
      native: { seconds: () => runNative(nativeCli, path, 'ttft', { contextSize: CONTEXT }).ttft512Sec[0], close: async () => {} },
      ...(llamacpp ? { llamacpp: await openLlamaCpp(path, tokens) } : {}),
    };
    const names = Object.keys(impls), runs = Object.fromEntries(names.map((k) => [k, []]));
    for (let r = 0; r < reps; r++) {
      for (let k = 0; k < names.length; k++) {  // interleaved, rotating who goes first
        const impl = names[(r + k) % names.length];
        runs[impl].push(await impls[impl].seconds());
      }
    }
    for (const impl of Object.values(impls)) await impl.close();
    out[name] = Object.fromEntries(names.map((k) => [k, { seconds: runs[k], median: median(runs[k]) }]));
  }
  return out;
}

const fmt = (s) => (s == null ? '–' : `${(s * 1000).toFixed(0)} ms`);
const ratio = (r) => (r.llamacpp ? `${(r.llamacpp.median / r.wasm.median).toFixed(2)}×` : '–');

/** Lines for the printed report. */
export function ttftText(ttft) {
  return Object.entries(ttft).map(([model, r]) => `  ${model.padEnd(13)} ringlm-wasm ${fmt(r.wasm.median)}, ringlm native ` +
    `${fmt(r.native.median)}, llama.cpp ${fmt(r.llamacpp?.median)} (llama.cpp time / wasm time: ${ratio(r)})`);
}

/** The README block's paragraph. */
export function ttftMarkdown(ttft) {
  const rows = Object.entries(ttft).map(([model, r]) => `| ${model} | ${fmt(r.wasm.median)} | ${fmt(r.native.median)} | ` +
    `${fmt(r.llamacpp?.median)} | ${ratio(r)} |`);
  return [`Time to first token, a ${TTFT_PROMPT}-token prompt, 1 thread (median; llama.cpp in batches of ${TTFT_PROMPT}, ` +
    'ringlm in its own of 32):', '', '| model | ringlm-wasm | ringlm native | llama.cpp | speed vs llama.cpp |', '|---|--:|--:|--:|--:|',
    ...rows].join('\n');
}
