#!/usr/bin/env node
// Threads, quiet and beside a busy neighbour: 1 thread against 2, decode and prefill, for
// ringlm-wasm (this Node process: the single-threaded build against the threaded one) and ringlm
// native (`ringlm-cli bench --threads N`), with the machine as it is ("quiet") and while another
// process spins on one core for the whole measurement ("busy neighbour": a child Node process in
// an endless loop, started before and killed after each busy block). The promise checked: 2 threads
// are never slower than 1 (the thread governor, src/common/thread_governor.h, drops to one thread
// when the other does not pay), and faster on a quiet machine.
//
//   node --no-experimental-fetch bench/threads.mjs [--reps N] [--models 125m-q8_0,125m-q4_k_m]
//
// Repetitions interleave everything: in each one, the quiet block and the busy block in turn (which
// goes first alternates), and inside a block every implementation and thread count in turn
// (stats.mjs's turnOrder: who goes first, and who runs after whom, change), so that a slow spell of a
// shared machine hits all of them. Figures are medians. A speed-up is the median of the repetitions'
// own ratios (2 threads / 1 thread, each pair measured in one block, seconds apart), which a slow
// spell spanning a block moves less than a ratio of medians taken from different blocks.
// bench/run.mjs calls benchThreads(); its main table's thread speed-ups and targets are these quiet
// rows (one measurement of them, not two).

import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { benchModel } from './models.mjs';
import { median, turnOrder } from './stats.mjs';
import { openWasm } from './wasm.mjs';
import { runNative } from './native.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE_CLI = join(resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');
export const THREADS_MODELS = ['125m-q8_0', '125m-q4_k_m'];
const CONDITIONS = ['quiet', 'busy'];
const IMPLS = ['wasm', 'native'];
const COUNTS = [1, 2];

/** A child process spinning on one core until stop(); resolves once it spins. */
async function busyNeighbour() {
  const child = spawn(process.execPath, ['-e', 'process.stdout.write("spinning\\n"); for (;;) {}'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ok, fail) => {
    child.once('error', fail);
    child.stdout.once('data', ok);
  });
  return {
    stop: () => new Promise((ok) => {
      child.once('exit', ok);
      child.kill('SIGKILL');
    }),
  };
}

/**
 * Measures every model in every condition; returns { reps, models: [{ model, rows: [{ impl, condition,
 * decode: [1 thread, 2 threads], decodeRatio, prefill: [...], prefillRatio, runs }] }] }.
 */
export async function benchThreads({ reps = 5, models = THREADS_MODELS, log = () => {} } = {}) {
  const out = { reps, threads: COUNTS, models: [] };
  for (const name of models) {
    const path = benchModel(name, { log });
    log(`threads: ${name}, 1 and 2 threads, quiet and beside a busy loop (${reps} interleaved repetitions)`);
    const wasm = { 1: await openWasm(path, { threads: 1 }), 2: await openWasm(path, { threads: 2 }) };
    const runs = {};  // `${impl} ${condition} ${threads}` -> [{ decode, prefill }]
    const once = (impl, threads) => {
      if (impl === 'wasm') return { decode: wasm[threads].decode().tokPerSec, prefill: wasm[threads].prefill().tokPerSec };
      const r = runNative(NATIVE_CLI, path, 'decode,prefill', { threads });
      return { decode: r.decodeTokPerSec[0], prefill: r.prefillTokPerSec[0] };
    };
    const cases = IMPLS.flatMap((impl) => COUNTS.map((threads) => [impl, threads]));
    for (let r = 0; r < reps; r++) {
      for (let c = 0; c < CONDITIONS.length; c++) {
        const condition = CONDITIONS[(r + c) % CONDITIONS.length];
        const neighbour = condition === 'busy' ? await busyNeighbour() : null;
        try {
          for (const [impl, threads] of turnOrder(r, cases)) {
            (runs[`${impl} ${condition} ${threads}`] ??= []).push(once(impl, threads));
          }
        } finally {
          await neighbour?.stop();
        }
      }
    }
    for (const threads of COUNTS) wasm[threads].close();
    const rows = [];
    for (const impl of IMPLS) {
      for (const condition of CONDITIONS) {
        const of = (threads, what) => median(runs[`${impl} ${condition} ${threads}`].map((x) => x[what]));
        const paired = (what) => median(runs[`${impl} ${condition} 2`].map((x, i) => x[what] / runs[`${impl} ${condition} 1`][i][what]));
        const decode = COUNTS.map((t) => of(t, 'decode')), prefill = COUNTS.map((t) => of(t, 'prefill'));
        rows.push({ impl, condition, decode, decodeRatio: paired('decode'), prefill, prefillRatio: paired('prefill'),
          runs: Object.fromEntries(COUNTS.map((t) => [t, runs[`${impl} ${condition} ${t}`]])) });
      }
    }
    out.models.push({ model: name, rows });
    for (const row of rows) log(`threads: ${name} ${row.impl} ${row.condition}: decode ${row.decodeRatio.toFixed(2)}×, prefill ${row.prefillRatio.toFixed(2)}×`);
  }
  return out;
}

const IMPL_NAMES = { wasm: 'ringlm-wasm', native: 'ringlm native' };
const CONDITION_NAMES = { quiet: 'quiet', busy: 'busy neighbour' };
const f1 = (x) => x.toFixed(1), f2 = (x) => `${x.toFixed(2)}×`;

/** The rows as plain text, for the console. */
export function threadsText(report) {
  const lines = [`threads, 1 → 2 (tok/s, medians of ${report.reps} interleaved repetitions; speed-up: the median of each ` +
    `repetition's own ratio; busy neighbour: a process spinning on one core):`];
  for (const m of report.models) {
    for (const r of m.rows) {
      lines.push(`  ${m.model.padEnd(12)} ${IMPL_NAMES[r.impl].padEnd(13)} ${CONDITION_NAMES[r.condition].padEnd(14)} ` +
        `decode ${f1(r.decode[0])} → ${f1(r.decode[1])} (${f2(r.decodeRatio)}), prefill ${f1(r.prefill[0])} → ${f1(r.prefill[1])} (${f2(r.prefillRatio)})`);
    }
  }
  return lines.join('\n');
}

/** The rows as a Markdown table the README's speed section can carry. */
export function threadsMarkdown(report) {
  return [
    `Threads, 1 against 2 (ringlm-wasm: the single-threaded build against the threaded one; native: \`--threads\`; the same ` +
    `logits on any count, bit for bit), quiet and beside a **busy neighbour** (another process spinning on one core for the whole ` +
    `measurement); medians of ${report.reps} interleaved repetitions, and as speed-up the median of each repetition's own ` +
    `2-thread / 1-thread ratio (bench/threads.mjs):`,
    '',
    '| model | | machine | decode tok/s: 1 thread | 2 threads | speed-up | prefill tok/s: 1 thread | 2 threads | speed-up |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|',
    ...report.models.flatMap((m) => m.rows.map((r) => `| ${m.model} | ${IMPL_NAMES[r.impl]} | ${CONDITION_NAMES[r.condition]} | ` +
      `${f1(r.decode[0])} | ${f1(r.decode[1])} | ${f2(r.decodeRatio)} | ${f1(r.prefill[0])} | ${f1(r.prefill[1])} | ${f2(r.prefillRatio)} |`)),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const reps = Number(arg('--reps') ?? 5);
  const models = arg('--models')?.split(',') ?? THREADS_MODELS;
  const report = await benchThreads({ reps, models, log: (...a) => console.error('bench:', ...a) });
  console.log(threadsText(report));
  console.log('');
  console.log(threadsMarkdown(report));
  process.exit(0);  // the threaded module's Workers would keep Node alive
}
