#!/usr/bin/env node
// The opt-in relaxed-SIMD build (load option simd: 'relaxed') against the default build and llama.cpp:
// decode tok/s on the 125M K-quant and Q4_0 files and Q8_0, one thread, repetitions interleaved (default,
// relaxed, llama.cpp in turn), medians. Part of `npm run bench` (bench/run.mjs calls benchRelaxed),
// or alone:
//
//   node --experimental-wasm-relaxed-simd --no-experimental-fetch bench/relaxed.mjs [--reps N] [--models a,b] [--no-llamacpp]
//
// Node 20 runs relaxed SIMD only with --experimental-wasm-relaxed-simd; without it this part is left out
// (with a note). Besides wall-clock tok/s, tok/s per CPU-second of this process: on a machine shared
// with other work, a slow spell there hurts the wall clock more than the CPU time.

import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

import { benchModel } from './models.mjs';
import { openWasm } from './wasm.mjs';
import { disposeLlamaCpp, openLlamaCpp } from './llamacpp.mjs';
import { relaxedSimdSupported } from '../wasm/lib/runtime.js';

/** The files the relaxed kernels are for (Q4_0, Q4_K, Q5_K, Q6_K decode), and Q8_0, the speed to beat. */
export const RELAXED_MODELS = ['125m-q4_k_m', '125m-q8_0', '125m-q4_k', '125m-q6_k', '125m-q4_0'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One repetition of a decode side: tok/s by the wall clock and per CPU-second of this process. */
async function timed(decode) {
  const { tokPerSec, cpuPerWall } = await decode();
  return { tokPerSec, cpuTokPerSec: tokPerSec / cpuPerWall };
}

/**
 * Decode medians of the default build, the relaxed build and llama.cpp on `models` (those of
 * RELAXED_MODELS among them; all of RELAXED_MODELS when not given). Null when this Node cannot run
 * relaxed SIMD.
 */
export async function benchRelaxed({ models, reps = 5, llamacpp = true, log = () => {} } = {}) {
  if (!relaxedSimdSupported()) {
    log('relaxed SIMD: left out (this Node cannot run it: start node with --experimental-wasm-relaxed-simd)');
    return null;
  }
  const names = RELAXED_MODELS.filter((m) => !models || models.includes(m));
  const report = { reps, loadavg: { start: loadavg()[0] }, models: [] };
  for (const name of names) {
    const path = benchModel(name, { log });
    log(`relaxed SIMD: ${name}`);
    const sides = { default: await openWasm(path), relaxed: await openWasm(path, { simd: 'relaxed' }) };
    if (llamacpp) sides.llamacpp = await openLlamaCpp(path);
    const impls = Object.keys(sides);
    const runs = Object.fromEntries(impls.map((impl) => [impl, []]));
    // decode() times 64 decoded tokens alone, after an untimed 16-token prefill (openWasm, openLlamaCpp).
    for (let r = 0; r < reps; r++) {
      for (let k = 0; k < impls.length; k++) {
        const impl = impls[(r + k) % impls.length];
        runs[impl].push(await timed(() => sides[impl].decode()));
      }
    }
    const row = { model: name, impls: {} };
    for (const impl of impls) {
      const wall = runs[impl].map((x) => x.tokPerSec), cpu = runs[impl].map((x) => x.cpuTokPerSec);
      row.impls[impl] = { decodeTokPerSec: wall, decode: median(wall), cpuTokPerSec: cpu, cpu: median(cpu) };
    }
    sides.default.close();
    sides.relaxed.close();
    await sides.llamacpp?.close();
    report.models.push(row);
    const d = row.impls;
    log(`relaxed SIMD: ${name}: decode default ${d.default.decode.toFixed(1)}, relaxed ${d.relaxed.decode.toFixed(1)}` +
        `${d.llamacpp ? `, llama.cpp ${d.llamacpp.decode.toFixed(1)}` : ''} tok/s`);
  }
  report.loadavg.end = loadavg()[0];
  return report;
}

/** The report as a Markdown table: medians and ratios. */
export function relaxedMarkdown(report) {
  const fmt = (x) => (x == null ? '–' : x.toFixed(1));
  const ratio = (a, b) => (a == null || b == null ? '–' : `${(a / b).toFixed(2)}×`);
  const q8 = report.models.find((m) => m.model === '125m-q8_0');
  const lines = [
    `Decode tok/s, 1 thread, medians of ${report.reps} interleaved runs (load average ${report.loadavg.start.toFixed(1)} → ` +
      `${report.loadavg.end.toFixed(1)}); in brackets, tok/s per CPU-second of the Node process (llama.cpp runs in it too):`,
    '',
    '| model | default wasm | relaxed wasm | relaxed / default | llama.cpp | relaxed / llama.cpp | relaxed / default Q8_0 |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { model, impls: { default: d, relaxed: r, llamacpp: l } } of report.models) {
    lines.push(`| ${model} | ${fmt(d.decode)} (${fmt(d.cpu)}) | ${fmt(r.decode)} (${fmt(r.cpu)}) | ${ratio(r.decode, d.decode)} ` +
      `(${ratio(r.cpu, d.cpu)}) | ${fmt(l?.decode)} (${fmt(l?.cpu)}) | ${ratio(r.decode, l?.decode)} (${ratio(r.cpu, l?.cpu)}) | ` +
      `${q8 ? `${ratio(r.decode, q8.impls.default.decode)} (${ratio(r.cpu, q8.impls.default.cpu)})` : '–'} |`);
  }
  return lines.join('\n');
}

async function main(argv) {
  const opts = { reps: 5, models: undefined, llamacpp: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--reps') opts.reps = Number(argv[++i]);
    else if (argv[i] === '--models') opts.models = argv[++i].split(',');
    else if (argv[i] === '--no-llamacpp') opts.llamacpp = false;
    else throw new Error(`unknown argument ${argv[i]} (usage: bench/relaxed.mjs [--reps N] [--models a,b] [--no-llamacpp])`);
  }
  if (!(opts.reps >= 1)) throw new Error('--reps needs a positive number');
  const report = await benchRelaxed({ ...opts, log: (...a) => console.error('bench:', ...a) });
  await disposeLlamaCpp();
  if (!report) process.exitCode = 1;
  else console.log(`${relaxedMarkdown(report)}\n\n${JSON.stringify(report)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`bench: error: ${e.message}`);
    process.exit(1);
  });
}
