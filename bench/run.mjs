#!/usr/bin/env node
// ringlm against llama.cpp, side by side on this machine (`npm run bench`, or `node bench/run.mjs`).
//
//   node --no-experimental-fetch --experimental-wasm-relaxed-simd bench/run.mjs [--quick] [--reps N] [--models 125m-q8_0,...] [--no-readme]
//                                              [--no-cache-experiment] [--only kv-experiment|grammar]
//                                              [--no-browser] [--browser-reps N] [--browser-models 125m-q8_0,...]
//
// In one run, on every bench model (bench/models.mjs, written to build/bench-models/ on first use):
//   decode   tok/s of 64 tokens after a 16-token prompt      } ringlm-wasm in this Node process (1 thread),
//   prefill  tok/s of a 128-token prompt                     } ringlm native (`ringlm-cli bench`, 1 thread),
//                                                            } llama.cpp native (node-llama-cpp, 1 thread);
//   the effective GB/s of weight bytes per decoded token, against a streaming-read ceiling measured in
//   the same wasm runtime (and natively); and, on the 125M Q8_0 model, 100 tokens after a 29-token
//   prompt with the KV cache against re-running the whole sequence at every step without it.
// Threads: bench/threads.mjs measures 1 vs 2 threads quiet and beside a busy neighbour (a process spinning on one
// core), on 125M Q8_0 and the Q4_K_M mix; its quiet 125M Q8_0 rows are the thread speed-ups the targets check (one
// measurement: the main loop no longer times 2 threads too, see docs/BENCHMARKS.md). Then the browser part
// (bench/browser.mjs): ringlm's browser build in a module Worker against wllama (@wllama/wllama, llama.cpp in wasm)
// in headless Chromium, on the 125M files of BROWSER_MODELS, decode and prefill, 1 thread, and 2 threads on
// BROWSER_THREADS_MODELS; --no-browser skips it, and without Chromium or wllama it says so and the rest runs. Then
// the relaxed-SIMD build (bench/relaxed.mjs) and time to first token (bench/ttft.mjs). Last, the classic KV cache experiment (bench/kv-experiment.mjs:
// 29 + 100 tokens, greedy, through the public API, on the built-in model and the 125M Q8_0 model), which writes
// docs/kv-experiment.svg, docs/kv-experiment.json and the README's <!-- kv-experiment:start --> block;
// --only kv-experiment runs only that. Then constrained decoding (bench/grammar.mjs: decode tok/s under a JSON grammar
// and a digits-only one against no grammar, greedy and sampled, on the built-in model and the 125M Q8_0 model), which
// writes build/bench/grammar.json and the README's <!-- grammar-speed:start --> block; --only grammar runs only that.
// Repetitions interleave the implementations (one repetition of each in turn, rotating who goes
// first and reversing the order every other time: stats.mjs's turnOrder), so a slow spell of a shared machine
// hits all of them; the figures are medians.
//
// Prints a table of medians and ratios, writes build/bench/results.json and docs/bench.svg, and puts
// the table between <!-- bench:start --> and <!-- bench:end --> in README.md (or, without those
// markers there, in docs/BENCHMARKS.md).
// Needs `npm run build` (dist/ and build/native/ringlm-cli); --quick runs fewer models and repetitions. The whole
// default run takes about half an hour on a 2-core machine (it prints its time at the end); --quick a few minutes.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BENCH_MODELS, benchModel } from './models.mjs';
import { openWasm, wasmStreamReadGBps } from './wasm.mjs';
import { runNative } from './native.mjs';
import { disposeLlamaCpp, llamaCppInfo, openLlamaCpp } from './llamacpp.mjs';
import { writeChart } from './chart.mjs';
import { interleave, median } from './stats.mjs';
import { benchBrowserInChild } from './browser-process.mjs';
import { browserMarkdown, browserText } from './browser-table.mjs';
import { benchKvExperiment, kvExperimentMarkdown, kvExperimentSvg, publishBlock } from './kv-experiment.mjs';
import * as grammarSpeed from './grammar.mjs';
import { benchRelaxed, relaxedMarkdown } from './relaxed.mjs';
import { THREADS_MODELS, benchThreads, threadsMarkdown, threadsText } from './threads.mjs';
import { benchTtft, ttftMarkdown, ttftText } from './ttft.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE_CLI = join(resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');
const OUT_JSON = join(ROOT, 'build', 'bench', 'results.json');
const CHART = join(ROOT, 'docs', 'bench.svg');
const README = join(ROOT, 'README.md');
const BENCHMARKS = join(ROOT, 'docs', 'BENCHMARKS.md');
const MARK_START = '<!-- bench:start -->';
const MARK_END = '<!-- bench:end -->';
const KV_CHART = join(ROOT, 'docs', 'kv-experiment.svg');
const KV_JSON = join(ROOT, 'docs', 'kv-experiment.json');
const PARTS = ['kv-experiment', 'grammar'];  // what --only can name
const CACHE_MODEL = '125m-q8_0';
const THREADS_MODEL = '125m-q8_0';  // the thread speed-ups the targets check (bench/threads.mjs's quiet rows)
const THREADS = 2;
// The browser part: the issue's rows (the 125M files; Q4_K alone is left to the Node table), and the file that
// also runs on THREADS threads there (the one people download). wllama is slow, so fewer repetitions than Node's.
const BROWSER_MODELS = ['125m-f32', '125m-f16', '125m-q8_0', '125m-q4_0', '125m-q5_k', '125m-q6_k', '125m-q4_k_m'];
const BROWSER_MODELS_QUICK = ['125m-q4_k_m'];
const BROWSER_THREADS_MODELS = ['125m-q4_k_m'];
// The files shaped like real ones (0.6B and 1.2B parameters) take most of the Node part's time: fewer repetitions.
const REAL_SHAPE_REPS = 3;
const STREAM_PARTS = [1, 2, 4, 8];
// Streaming-read passes, taken in every repetition beside decode (same conditions), per layout.
const streams = Object.fromEntries(['wasm', 'native'].map((k) => [k, Object.fromEntries(STREAM_PARTS.map((p) => [p, []]))]));

/** The issues' targets (issue 16 items 1 to 3, and earlier ones), checked against the medians at the end. */
const TARGETS = {
  decodeVsLlamaCpp: 1.0,  // ringlm-wasm decode / llama.cpp native, on 125M Q8_0, Q4_0 and the Q4_K_M mix
  f16DecodeVsLlamaCpp: 0.9,
  q4kmDecodeVsOwnQ8: 1.0, // ringlm-wasm decode on the Q4_K_M mix / on Q8_0 (40 % fewer bytes, so faster)
  f32OfCeiling: 0.7,      // ringlm-wasm F32 decode GB/s / wasm streaming-read ceiling
  prefillVsLlamaCpp: 0.8, // ringlm-wasm prefill / llama.cpp native, on 125M F32, Q8_0 and the Q4_K_M mix
  cacheSpeedup: 10,       // recompute time / with-cache time, 125M, ringlm-wasm
  decodeThreads: 1.6,     // ringlm-wasm decode on 125M Q8_0, 2 threads / 1 thread
  prefillThreads: 1.8,    // ringlm-wasm prefill on 125M Q8_0, 2 threads / 1 thread
  busyNeighbour: 0.95,    // 2 threads / 1 thread beside a process spinning on one core: never slower (within noise)
};

function parseArgs(argv) {
  const o = { quick: false, reps: null, models: null, readme: true, llamacpp: true, cacheExperiment: true, only: null,
    browser: true, browserReps: null, browserModels: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--models') o.models = argv[++i].split(',');
    else if (a === '--no-readme') o.readme = false;
    else if (a === '--no-llamacpp') o.llamacpp = false;
    else if (a === '--only') {
      o.only = argv[++i];
      if (!PARTS.includes(o.only)) throw new Error(`--only takes one of: ${PARTS.join(', ')} (got ${o.only})`);
    }
    else if (a === '--no-cache-experiment') o.cacheExperiment = false;  // for a run of a few models: only their rows
    else if (a === '--no-browser') o.browser = false;
    else if (a === '--browser-reps') o.browserReps = Number(argv[++i]);
    else if (a === '--browser-models') o.browserModels = argv[++i].split(',');
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/run.mjs [--quick] [--reps N] [--models 125m-q8_0,15m-f32,...] [--no-readme] [--no-llamacpp] ' +
        '[--no-cache-experiment] [--only kv-experiment|grammar] [--no-browser] [--browser-reps N] [--browser-models 125m-q4_k_m,...]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  o.reps ??= o.quick ? 3 : 5;
  o.cacheReps = o.quick ? 1 : 3;  // ringlm-wasm's; the others run once (their recompute side is long)
  // --quick: Q8_0 and the Q4_K_M mix (the issue's headline pair, also the browser part's file), and the small F32.
  o.models ??= o.quick ? ['125m-q8_0', '125m-q4_k_m', '15m-f32'] : BENCH_MODELS.map((m) => m.name);
  o.browserReps ??= o.quick ? 2 : 3;
  o.browserModels ??= o.quick ? BROWSER_MODELS_QUICK : BROWSER_MODELS;
  if (!(o.reps >= 1)) throw new Error('--reps needs a positive number');
  if (!(o.browserReps >= 1)) throw new Error('--browser-reps needs a positive number');
  for (const m of [...o.models, ...o.browserModels]) if (!BENCH_MODELS.some((b) => b.name === m)) throw new Error(`no bench model ${m}`);
  return o;
}

const log = (...a) => console.error('bench:', ...a);

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  const flags = cpuinfo.match(/^flags\s*:\s*(.+)$/m)?.[1].split(' ') ?? [];
  const simd = ['sse4_1', 'avx2', 'fma', 'avx512f', 'avx512_vnni'].filter((f) => flags.includes(f));
  return {
    cpu: model, cores: cpus().length, simd, memoryGB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version, v8: process.versions.v8, platform: `${process.platform}-${process.arch}`,
  };
}

async function benchModelFile(name, opts) {
  const path = benchModel(name, { log });
  const meta = BENCH_MODELS.find((m) => m.name === name);
  log(`${name}: loading`);
  const wasm = await openWasm(path);
  const llama = opts.llamacpp ? await openLlamaCpp(path) : null;
  const impls = ['wasm', 'native', ...(llama ? ['llamacpp'] : [])];
  const reps = BENCH_MODELS.find((m) => m.name === name).size.endsWith('-shaped') ? Math.min(opts.reps, REAL_SHAPE_REPS) : opts.reps;
  const runs = await interleave(reps, impls, async (impl) => {
    if (impl === 'wasm') {
      const out = { decode: wasm.decode(), prefill: wasm.prefill() };
      for (const parts of STREAM_PARTS) streams.wasm[parts].push(await wasmStreamReadGBps(parts));
      return out;
    }
    if (impl === 'native') {
      const r = runNative(NATIVE_CLI, path, 'decode,prefill,stream');
      STREAM_PARTS.forEach((parts, i) => streams.native[parts].push(r.streamGBps[i]));
      return { decode: { tokPerSec: r.decodeTokPerSec[0] }, prefill: { tokPerSec: r.prefillTokPerSec[0] } };
    }
    return { decode: await llama.decode(), prefill: await llama.prefill() };
  });
  const result = { model: name, size: meta.size, type: meta.type, weightBytesPerToken: wasm.info.weightBytesPerToken,
    fileBytes: wasm.info.fileBytes, impls: {} };
  for (const impl of impls) {
    const decode = runs[impl].map((r) => r.decode.tokPerSec), prefill = runs[impl].map((r) => r.prefill.tokPerSec);
    result.impls[impl] = { decodeTokPerSec: decode, prefillTokPerSec: prefill, decode: median(decode), prefill: median(prefill) };
    if (impl === 'llamacpp') {
      result.impls[impl].cpuPerWall = median(runs[impl].flatMap((r) => [r.decode.cpuPerWall, r.prefill.cpuPerWall]));
    }
  }
  wasm.close();
  await llama?.close();
  const w = result.impls.wasm, l = result.impls.llamacpp;
  log(`${name}: decode wasm ${w.decode.toFixed(1)}${l ? ` llama.cpp ${l.decode.toFixed(1)}` : ''} tok/s, ` +
      `prefill wasm ${w.prefill.toFixed(1)}${l ? ` llama.cpp ${l.prefill.toFixed(1)}` : ''} tok/s`);
  return result;
}

async function benchCache(opts) {
  const path = benchModel(CACHE_MODEL, { log });
  log(`kv cache vs recompute on ${CACHE_MODEL} (the recompute side takes a while)`);
  const wasm = await openWasm(path);
  const llama = opts.llamacpp ? await openLlamaCpp(path) : null;
  const impls = ['wasm', 'native', ...(llama ? ['llamacpp'] : [])];
  const once = async (impl) => {
    if (impl === 'wasm') return wasm.cache();
    if (impl === 'native') {
      const r = runNative(NATIVE_CLI, path, 'cache');
      return { withCacheSec: r.withCacheSec[0], recomputeSec: r.recomputeSec[0] };
    }
    return llama.cache();
  };
  const runs = await interleave(1, impls, once);
  for (let r = 1; r < opts.cacheReps; r++) runs.wasm.push(await once('wasm'));
  wasm.close();
  await llama?.close();
  const out = { model: CACHE_MODEL, prompt: 29, generated: 100, impls: {} };
  for (const impl of impls) {
    const withCache = median(runs[impl].map((r) => r.withCacheSec)), recompute = median(runs[impl].map((r) => r.recomputeSec));
    out.impls[impl] = { withCacheSec: runs[impl].map((r) => r.withCacheSec), recomputeSec: runs[impl].map((r) => r.recomputeSec),
      withCache, recompute, speedup: recompute / withCache };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const IMPL_NAMES = { wasm: 'ringlm-wasm', native: 'ringlm native', llamacpp: 'llama.cpp' };
const fmt = (x, d = 1) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
const ratio = (a, b) => (a != null && b ? a / b : null);
const label = (r) => `${r.size} ${r.type}`;

function tableRows(results, ceiling) {
  return results.map((r) => {
    const w = r.impls.wasm, n = r.impls.native, l = r.impls.llamacpp;
    const gbps = w.decode * r.weightBytesPerToken / 1e9;
    return {
      model: label(r),
      decode: [w.decode, n?.decode, l?.decode], decodeRatio: ratio(w.decode, l?.decode),
      gbps, ofCeiling: ceiling.wasm ? gbps / ceiling.wasm : null,
      prefill: [w.prefill, n?.prefill, l?.prefill], prefillRatio: ratio(w.prefill, l?.prefill),
    };
  });
}

/** 1 thread against THREADS threads on THREADS_MODEL: bench/threads.mjs's quiet rows. */
function threadRows(report) {
  const m = report.busyNeighbour?.models.find((r) => r.model === THREADS_MODEL);
  return (m?.rows ?? []).filter((r) => r.condition === 'quiet').map((r) => ({ ...r, impl: IMPL_NAMES[r.impl] }));
}

function targetsOf(report) {
  const byName = Object.fromEntries(report.models.map((r) => [r.model, r]));
  const list = [];
  const add = (name, value, goal, text) => list.push({ name, value, goal, met: value != null ? value >= goal : null, text });
  const vsLlama = (model, what) => (byName[model] ? ratio(byName[model].impls.wasm[what], byName[model].impls.llamacpp?.[what]) : null);
  // Issue 16 item 1: decode, 1 thread, against llama.cpp native; the Q4_K_M mix also against ringlm's own Q8_0.
  add('decodeVsLlamaCpp Q4_K_M', vsLlama('125m-q4_k_m', 'decode'), TARGETS.decodeVsLlamaCpp,
    'ringlm-wasm decode on the 125M Q4_K_M mix vs llama.cpp native');
  const q4km = byName['125m-q4_k_m'], q8 = byName['125m-q8_0'];
  add('q4kmDecodeVsOwnQ8', q4km && q8 ? ratio(q4km.impls.wasm.decode, q8.impls.wasm.decode) : null, TARGETS.q4kmDecodeVsOwnQ8,
    'ringlm-wasm decode on the Q4_K_M mix vs on Q8_0');
  add('decodeVsLlamaCpp Q4_0', vsLlama('125m-q4_0', 'decode'), TARGETS.decodeVsLlamaCpp, 'ringlm-wasm decode on 125M Q4_0 vs llama.cpp');
  add('decodeVsLlamaCpp F16', vsLlama('125m-f16', 'decode'), TARGETS.f16DecodeVsLlamaCpp, 'ringlm-wasm decode on 125M F16 vs llama.cpp');
  add('decodeVsLlamaCpp Q8_0', vsLlama('125m-q8_0', 'decode'), TARGETS.decodeVsLlamaCpp, 'ringlm-wasm decode on 125M Q8_0 vs llama.cpp');
  const f32 = byName['125m-f32'];
  add('f32OfCeiling', f32 ? f32.impls.wasm.decode * f32.weightBytesPerToken / 1e9 / report.ceiling.wasm : null, TARGETS.f32OfCeiling,
    'ringlm-wasm F32 decode, share of the wasm streaming-read ceiling');
  // Item 2: prefill of a 128-token prompt, 1 thread.
  for (const model of ['125m-f32', '125m-q8_0', '125m-q4_k_m']) {
    const type = BENCH_MODELS.find((m) => m.name === model).type;
    add(`prefillVsLlamaCpp ${type}`, vsLlama(model, 'prefill'), TARGETS.prefillVsLlamaCpp,
      `ringlm-wasm prefill on 125M ${type} vs llama.cpp`);
  }
  add('cacheSpeedup', report.cache?.impls.wasm.speedup ?? null, TARGETS.cacheSpeedup,
    'KV cache vs recomputing the sequence each step (ringlm-wasm, 125M Q8_0, 29 + 100 tokens)');
  const t = threadRows(report).find((r) => r.impl === IMPL_NAMES.wasm);
  add('decodeThreads', t?.decodeRatio ?? null, TARGETS.decodeThreads,
    `ringlm-wasm decode on 125M Q8_0, ${THREADS} threads vs 1 (bench/threads.mjs, quiet)`);
  add('prefillThreads', t?.prefillRatio ?? null, TARGETS.prefillThreads,
    `ringlm-wasm prefill on 125M Q8_0, ${THREADS} threads vs 1 (bench/threads.mjs, quiet)`);
  // Item 3: beside a busy neighbour, 2 threads never slower than 1 (bench/threads.mjs; the worst of its rows).
  const busy = (report.busyNeighbour?.models ?? []).flatMap((m) => m.rows.filter((r) => r.condition === 'busy'));
  add('busyNeighbour', busy.length ? Math.min(...busy.flatMap((r) => [r.decodeRatio, r.prefillRatio])) : null, TARGETS.busyNeighbour,
    `the slowest of ${THREADS} threads vs 1 beside a busy neighbour (decode and prefill, ringlm-wasm and native)`);
  return list;
}

function textTable(report) {
  const rows = tableRows(report.models, report.ceiling);
  const head = ['model', 'decode: wasm', 'native', 'llama.cpp', 'wasm/llama', 'wasm GB/s', '% ceiling',
    'prefill: wasm', 'native', 'llama.cpp', 'wasm/llama'];
  const body = rows.map((r) => [r.model, ...r.decode.map((x) => fmt(x)), fmt(r.decodeRatio, 2) + '×', fmt(r.gbps, 2),
    r.ofCeiling == null ? '–' : `${(100 * r.ofCeiling).toFixed(0)}%`, ...r.prefill.map((x) => fmt(x)), fmt(r.prefillRatio, 2) + '×']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  out.push('', `streaming-read ceiling (1 thread): wasm ${fmt(report.ceiling.wasm, 2)} GB/s, native ${fmt(report.ceiling.native, 2)} GB/s`);
  if (report.cache) {
    const c = report.cache;
    out.push(`KV cache, ${c.model} (${c.prompt} prompt + ${c.generated} new tokens): ` + Object.entries(c.impls).map(([k, v]) =>
      `${IMPL_NAMES[k]} ${fmt(v.withCache, 2)} s with, ${fmt(v.recompute, 1)} s without = ${fmt(v.speedup, 1)}×`).join('; '));
  }
  if (Object.keys(report.ttft ?? {}).length) out.push('', 'time to first token (512-token prompt, median):', ...ttftText(report.ttft));
  if (report.busyNeighbour) out.push('', threadsText(report.busyNeighbour));
  if (report.relaxed) out.push('', 'relaxed SIMD (bench/relaxed.mjs):', relaxedMarkdown(report.relaxed));
  const browser = browserText(report.browser);
  if (browser.length) out.push('', ...browser);
  // Further measurements: their lines go here, one block each (before the targets).
  out.push('', 'targets:');
  for (const t of report.targets) {
    out.push(`  ${t.met == null ? '?' : t.met ? 'met' : 'NOT met'}  ${t.text}: ${fmt(t.value, 2)} (goal ≥ ${t.goal})`);
  }
  return out.join('\n');
}

const RELAXED_LEAD = "The opt-in relaxed-SIMD build (`RingLM.load(source, { simd: 'relaxed' })`, bench/relaxed.mjs; its Q4_0, Q4_K, " +
  'Q5_K and Q6_K decode kernels use `i16x8.relaxed_dot_i8x16_i7x16_s`; Q8_0 runs the same kernel in both builds, ' +
  'so its ratio shows the noise). Run in Node with --experimental-wasm-relaxed-simd.';

function markdown(report) {
  const m = report.machine;
  const rows = tableRows(report.models, report.ceiling);
  const fewer = report.models.some((r) => r.size.endsWith('-shaped')) && report.settings.reps > REAL_SHAPE_REPS;
  const reps = `${report.settings.reps}${fewer ? ` (${REAL_SHAPE_REPS} on the files shaped like real ones)` : ''}`;
  const lines = [
    `Measured by \`npm run bench\` (bench/run.mjs) on ${report.date.slice(0, 10)}: ${m.cpu}, ${m.cores} cores shared with other work ` +
    `(load average ${report.load.start.toFixed(1)} → ${report.load.end.toFixed(1)}), ${m.memoryGB} GB, Node ${m.node}, ` +
    `${report.builds.native}. Every implementation runs on **one thread** (threads: see below); the figures are medians of ${reps} ` +
    `interleaved repetitions. llama.cpp is ${report.llamacpp ? `node-llama-cpp ${report.llamacpp.version}'s prebuilt CPU library ` +
    `(${report.llamacpp.release.repo} ${report.llamacpp.release.release}; ${report.llamacpp.features.join(', ')})` : 'not measured'}. ` +
    'Models are random-weight files from our GGUF writer (bench/models.mjs), llamas and two with the shapes of real files ' +
    '(Qwen3-0.6B, a qwen3, and Llama-3.2-1B, whole vocabularies included, as Q4_K_M-like mixes): decoding does the same ' +
    'work whatever the weights.',
    '',
    '| model | decode tok/s: ringlm-wasm | ringlm native | llama.cpp | wasm / llama.cpp | wasm GB/s | of ceiling | prefill tok/s: ringlm-wasm | ringlm native | llama.cpp | wasm / llama.cpp |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows.map((r) => `| ${r.model} | ${r.decode.map((x) => fmt(x)).join(' | ')} | ${fmt(r.decodeRatio, 2)}× | ${fmt(r.gbps, 1)} | ` +
      `${r.ofCeiling == null ? '–' : `${(100 * r.ofCeiling).toFixed(0)}%`} | ${r.prefill.map((x) => fmt(x)).join(' | ')} | ${fmt(r.prefillRatio, 2)}× |`),
    '',
    `Decode: 64 tokens after a 16-token prompt. Prefill: one 128-token prompt. GB/s: weight bytes read per decoded token × tokens/s, ` +
    `against a streaming-read ceiling of **${fmt(report.ceiling.wasm, 1)} GB/s** measured in the same wasm runtime ` +
    `(${fmt(report.ceiling.native, 1)} GB/s natively).`,
  ];
  if (report.cache) {
    const c = report.cache;
    lines.push('', `KV cache against recomputing the whole sequence at every step (125M Q8_0, ` +
      `${c.prompt}-token prompt + ${c.generated} new tokens): ` + Object.entries(c.impls).map(([k, v]) =>
      `${IMPL_NAMES[k]} ${fmt(v.withCache, 2)} s vs ${fmt(v.recompute, 1)} s, **${fmt(v.speedup, 0)}×**`).join('; ') + '.');
  }
  if (report.busyNeighbour) lines.push('', threadsMarkdown(report.busyNeighbour));
  if (Object.keys(report.ttft ?? {}).length) lines.push('', ttftMarkdown(report.ttft));
  if (report.relaxed) lines.push('', RELAXED_LEAD, relaxedMarkdown(report.relaxed));
  const browser = browserMarkdown(report.browser);
  if (browser.length) lines.push('', ...browser);
  // Further measurements: their paragraphs and tables go here, one block each (before the targets).
  lines.push('', 'Targets (issue 16 and earlier ones):', '', ...report.targets.map((t) =>
    `- ${t.met == null ? 'not measured' : t.met ? 'met' : '**not met**'}: ${t.text}: ${fmt(t.value, 2)} (goal ≥ ${t.goal})`));
  lines.push('', '![decode and prefill speed](docs/bench.svg)');
  return lines.join('\n');
}

/** Puts `md` between the markers of README.md, or failing that of docs/BENCHMARKS.md; returns the file. */
function publish(md) {
  for (const [file, rewrite] of [[README, (t) => t], [BENCHMARKS, (t) => t.replaceAll('](docs/', '](')]]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const a = text.indexOf(MARK_START), b = text.indexOf(MARK_END);
    if (a < 0 || b < a) continue;
    writeFileSync(file, `${text.slice(0, a + MARK_START.length)}\n${rewrite(md)}\n${text.slice(b)}`);
    return file;
  }
  writeFileSync(BENCHMARKS, `# Benchmarks\n\n${MARK_START}\n${md.replaceAll('](docs/', '](')}\n${MARK_END}\n`);
  return BENCHMARKS;
}

// ---------------------------------------------------------------------------------------------------------------

/** The KV cache experiment: its figures, its chart and the README's block (beside results.json with --no-readme). */
async function kvExperiment(opts) {
  log('the KV cache experiment (29 + 100 tokens, greedy, with and without the cache)');
  const report = await benchKvExperiment({ reps: opts.cacheReps, log, machine: machine(), loadavg: () => loadavg()[0] });
  const [chart, json] = opts.readme ? [KV_CHART, KV_JSON] : [join(dirname(OUT_JSON), 'kv-experiment.svg'), join(dirname(OUT_JSON), 'kv-experiment.json')];
  mkdirSync(dirname(chart), { recursive: true });
  writeFileSync(json, JSON.stringify(report, null, 1) + '\n');
  writeFileSync(chart, kvExperimentSvg(report));
  const md = kvExperimentMarkdown(report, relative(ROOT, KV_CHART));
  console.log(md);
  console.log(`\nkv-experiment: ${relative(ROOT, json)}, chart: ${relative(ROOT, chart)}`);
  if (opts.readme) {
    publishBlock(README, md);
    console.log('README.md: the KV cache experiment\'s block updated');
  }
  return report;
}

/** Constrained decoding against unconstrained: its figures (build/bench/grammar.json) and the README's block. */
async function grammar(opts) {
  log('constrained decoding: a JSON grammar and a digits-only one against no grammar, greedy and sampled');
  const report = await grammarSpeed.benchGrammar({ reps: opts.reps, log, machine: machine(), loadavg: () => loadavg()[0] });
  const json = join(dirname(OUT_JSON), 'grammar.json');
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify(report, null, 1) + '\n');
  const md = grammarSpeed.grammarMarkdown(report);
  console.log(md);
  console.log(`\ngrammar: ${relative(ROOT, json)}`);
  if (opts.readme) {
    publishBlock(README, md, grammarSpeed.MARK_START, grammarSpeed.MARK_END);
    console.log('README.md: the constrained decoding block updated');
  }
  return report;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'dist', 'ringlm.wasm'))) throw new Error('dist/ringlm.wasm is missing: run `npm run build` first');
  if (opts.only === 'kv-experiment') {
    await kvExperiment(opts);
    return;
  }
  if (opts.only === 'grammar') {
    await grammar(opts);
    return;
  }
  if (!existsSync(NATIVE_CLI)) throw new Error(`${relative(ROOT, NATIVE_CLI)} is missing: run \`npm run build\` first`);
  const started = Date.now();
  const report = {
    date: new Date().toISOString(), machine: machine(), load: { start: loadavg()[0] },
    settings: { reps: opts.reps, cacheReps: opts.cacheReps, quick: opts.quick, threads: 1, threadsModel: THREADS_MODEL,
      threadsCompared: THREADS, contextSize: 256 },
    builds: { wasm: 'Emscripten, -msimd128 -msse4.1', native: nativeFlavor() },
    llamacpp: opts.llamacpp ? { version: llamaCppVersion(), ...(await llamaCppInfo()) } : null,
  };
  for (const name of opts.models) benchModel(name, { log });  // write missing models before timing anything

  report.models = [];
  for (const name of opts.models) report.models.push(await benchModelFile(name, opts));
  report.cache = opts.cacheExperiment ? await benchCache(opts) : null;
  // The opt-in relaxed-SIMD build against the default one and llama.cpp (bench/relaxed.mjs; null without the V8 flag).
  report.relaxed = await benchRelaxed({ models: opts.models, reps: opts.reps, llamacpp: opts.llamacpp, log });
  // Threads, 1 vs 2, quiet and beside a busy neighbour (bench/threads.mjs).
  const threadModels = THREADS_MODELS.filter((m) => opts.models.includes(m));
  report.busyNeighbour = threadModels.length ? await benchThreads({ reps: opts.reps, models: threadModels, log }) : null;
  // Time to first token of a 512-token prompt (bench/ttft.mjs), on the 125M Q4_K_M and Q8_0 files when the run has them.
  report.ttft = await benchTtft({ models: opts.models, reps: opts.reps, nativeCli: NATIVE_CLI, llamacpp: opts.llamacpp, log });
  report.browser = opts.browser ? await browserPart(opts) : { skipped: 'the run was asked for no browser part (--no-browser)' };
  // Further measurements: one block each here, measuring into report.<name> (their lines: textTable and markdown).
  // The ceiling: the layout with the best median (a median, like the decode figures it is held against).
  const ceiling = (k) => Math.max(...STREAM_PARTS.map((p) => median(streams[k][p])));
  report.ceiling = { wasm: ceiling('wasm'), native: ceiling('native'), passes: streams };
  report.load.end = loadavg()[0];  // after the browser part: the figures' whole span
  report.targets = targetsOf(report);
  report.seconds = (Date.now() - started) / 1000;
  await disposeLlamaCpp();

  const l = report.models.flatMap((r) => (r.impls.llamacpp?.cpuPerWall > 1.3 ? [r.model] : []));
  if (l.length) log(`warning: llama.cpp used more than one core's time on ${l.join(', ')} (threads not forced to 1?)`);

  mkdirSync(dirname(OUT_JSON), { recursive: true });
  writeFileSync(OUT_JSON, JSON.stringify(report, null, 2) + '\n');
  // The chart and the published table change together: a partial run (--no-readme) leaves both alone.
  const chart = opts.readme ? CHART : join(dirname(OUT_JSON), 'bench.svg');
  mkdirSync(dirname(chart), { recursive: true });
  writeChart(chart, report);
  console.log(textTable(report));
  console.log(`\nresults: ${relative(ROOT, OUT_JSON)}, chart: ${relative(ROOT, chart)} (${report.seconds.toFixed(0)} s)`);
  const md = markdown(report);
  if (opts.readme) console.log(`${relative(ROOT, publish(md))}: table updated between ${MARK_START} and ${MARK_END}`);
  // --no-cache-experiment (a run of a few models) leaves out the KV cache experiment and the grammar part too.
  if (opts.cacheExperiment) {
    await kvExperiment(opts);
    await grammar(opts);
  }
  const minutes = (Date.now() - started) / 60_000;
  console.log(`\nbench: the whole run took ${minutes.toFixed(1)} min (load average now ${loadavg()[0].toFixed(1)})`);
}

/**
 * The browser part (bench/browser.mjs), or { skipped: why } when Chromium or wllama is not there. A failure there
 * does not throw away the rest of the run: it is reported in the table and the exit status.
 */
async function browserPart(opts) {
  log(`browser part: ringlm vs wllama in headless Chromium on ${opts.browserModels.join(', ')}`);
  try {
    const report = await benchBrowserInChild({ models: opts.browserModels, reps: opts.browserReps, threads: THREADS,
      threadsModels: BROWSER_THREADS_MODELS });
    if (report.skipped) log(`browser part skipped: ${report.skipped}`);
    if (report.models?.some((m) => m.error)) process.exitCode = 1;
    return report;
  } catch (e) {
    log(`browser part failed: ${e.stack ?? e.message}`);
    process.exitCode = 1;
    return { skipped: `it failed: ${e.message.split('\n')[0]}` };
  }
}

function nativeFlavor() {
  const cache = join(dirname(NATIVE_CLI), 'CMakeCache.txt');
  const arch = existsSync(cache) && /RINGLM_NATIVE_ARCH:BOOL=ON/.test(readFileSync(cache, 'utf8'));
  return arch ? 'ringlm native built with -march=native' : 'ringlm native built with -msse4.1 (the same bits as wasm)';
}

function llamaCppVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

// The report's formatting, for tests/bench-tables.test.mjs; importing this file runs nothing.
export { markdown, targetsOf, textTable };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`bench: error: ${e.message}`);
    process.exit(1);
  });
}
