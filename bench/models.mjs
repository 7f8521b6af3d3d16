#!/usr/bin/env node
// The benchmark models: seeded random-weight llama GGUFs written by our own writer, cached in
// build/bench-models/ (never committed). A file is rewritten only when its recipe changes.
//
//   node bench/models.mjs [--only NAME,...]     e.g. --only 125m-q8_0
//
//   125m-{f32,f16,q8_0,q4_0,q4_k,q4_k_m,q5_k,q6_k}  d768, 12 layers, 12 heads / 4 KV heads, FFN 2048, vocab 32000, own output matrix
//                             (124.7M parameters; 100M of them are read per decoded token)
//   15m-f32                   shaped like llama2.c's stories15M: d288, 6 layers, 6 heads, FFN 768,
//                             vocab 32000, output tied to the embeddings (15.2M parameters)
//   qwen3-0.6b-q4_k_m         shaped like Qwen3-0.6B: qwen3, d1024, 28 layers, 16 heads / 8 KV heads of 128, FFN 3072,
//                             its whole vocabulary of 151936, tied, trained context 40960; a Q4_K_M-like mix (0.6B)
//   llama3.2-1b-q4_k_m        shaped like Llama-3.2-1B: llama with its RoPE frequency factors, d2048, 16 layers, 32 heads /
//                             8 KV heads of 64, FFN 8192, its whole vocabulary of 128256, tied, trained context 131072;
//                             a Q4_K_M-like mix (1.2B)
//
// Random weights decode as fast as trained ones: the forward pass does the same work whatever the values.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_MODELS_DIR = join(ROOT, 'build', 'bench-models');

const SHAPE_125M = { seed: 125, dim: 768, layers: 12, heads: 12, kvHeads: 4, ffn: 2048, vocab: 32000, ctx: 2048 };
const SHAPE_15M = { seed: 15, dim: 288, layers: 6, heads: 6, kvHeads: 6, ffn: 768, vocab: 32000, ctx: 256,
  tiedOutput: true, embedStd: 0.3 };

// Real files' shapes, whole vocabularies included (the tied embeddings are most of the smaller model). Their
// embeddings are smaller, as in 'tied' of the test models, so the input token does not dominate the tied output.
export const SHAPE_QWEN3_0_6B = { arch: 'qwen3', seed: 6, dim: 1024, layers: 28, heads: 16, kvHeads: 8, headDim: 128,
  ffn: 3072, vocab: 151936, ctx: 40960, ropeBase: 1000000, eps: 1e-6, tiedOutput: true, embedStd: 0.3 };
export const SHAPE_LLAMA32_1B = { seed: 12, dim: 2048, layers: 16, heads: 32, kvHeads: 8, ffn: 8192, vocab: 128256,
  ctx: 131072, ropeBase: 500000, ropeFreqs: 'llama3', tiedOutput: true, embedStd: 0.3 };

/** Every bench model: a file name and the makeRandomLlama options that make it. */
export const BENCH_MODELS = [
  ...['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K'].map((type) => ({
    name: `125m-${type.toLowerCase()}`, size: '125M', type, recipe: { ...SHAPE_125M, type } })),
  // The K-quant files people download: the Q4_K_M mix (Q4_K, Q6_K for the output and layer 0's attn_v /
  // ffn_down, Q5_K for odd layers' attn_output) and the all-Q5_K / all-Q6_K files.
  ...['Q4_K_M', 'Q5_K', 'Q6_K'].map((type) => ({
    name: `125m-${type.toLowerCase()}`, size: '125M', type, recipe: { ...SHAPE_125M, type } })),
  { name: '15m-f32', size: '15M', type: 'F32', recipe: { ...SHAPE_15M, type: 'F32' } },
  { name: 'qwen3-0.6b-q4_k_m', size: 'Qwen3-0.6B-shaped', type: 'Q4_K_M-like', recipe: { ...SHAPE_QWEN3_0_6B, type: 'Q4_K_M' } },
  { name: 'llama3.2-1b-q4_k_m', size: 'Llama-3.2-1B-shaped', type: 'Q4_K_M-like', recipe: { ...SHAPE_LLAMA32_1B, type: 'Q4_K_M' } },
];

/** Path of a bench model, writing it first if it is missing or was made from another recipe. */
export function benchModel(name, { log = () => {} } = {}) {
  const model = BENCH_MODELS.find((m) => m.name === name);
  if (!model) throw new Error(`no bench model named ${name} (have ${BENCH_MODELS.map((m) => m.name).join(', ')})`);
  mkdirSync(BENCH_MODELS_DIR, { recursive: true });
  const path = join(BENCH_MODELS_DIR, `${name}.gguf`);
  const stampPath = `${path}.recipe.json`;
  const stamp = JSON.stringify({ ...model.recipe, name: `ringlm-bench-${name}` });
  if (existsSync(path) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp) return path;
  const started = Date.now();
  log(`bench: writing ${path} ...`);
  const bytes = makeRandomLlama(JSON.parse(stamp)).toBuffer();
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);  // a concurrent reader never sees half a file
  writeFileSync(stampPath, stamp);
  log(`bench: wrote ${name}.gguf (${(bytes.length / 1e6).toFixed(0)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--only');
  const names = i > 0 ? process.argv[i + 1].split(',') : BENCH_MODELS.map((m) => m.name);
  for (const name of names) console.log(benchModel(name, { log: console.log }));
}
