#!/usr/bin/env node
// Tokenizer throughput in wasm (Node), on the real-vocabulary test models (tools/gguf/vocab-models.mjs):
// English text (1 MiB of the prose and code test strings), and 100 KB of one repeated character, which a
// quadratic merge loop would never finish.
//
//   node tools/bench-tokenizer.mjs [--reps N] [--json]
//
// Prints MB/s of wall-clock time (best of N) and of CPU time; --json prints one JSON object instead.
// benchTokenizer() is exported for other benchmark drivers.

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeVocabModels, VOCAB_MODELS } from './gguf/vocab-models.mjs';
import { TEXT_CASES } from '../tests/reference/tokenizer-strings.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');

function englishText(bytes = 1 << 20) {
  const english = TEXT_CASES.filter((c) => c.category === 'prose' || c.category === 'code').map((c) => c.text).join('\n');
  let text = '';
  while (text.length < bytes) text += english + '\n';
  return text;
}

/** Best wall seconds and the CPU seconds of that run, over `reps` runs of fn. */
function time(fn, reps) {
  let best = { wall: Infinity, cpu: Infinity };
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const wall = (performance.now() - t0) / 1000;
    const { user, system } = process.cpuUsage(c0);
    if (wall < best.wall) best = { wall, cpu: (user + system) / 1e6 };
  }
  return best;
}

/** { model: { englishMBps, englishCpuMBps, tokensPerByte, runs: { char: ms } } } for each vocabulary model. */
export async function benchTokenizer({ reps = 3, modelsDir = join(ROOT, 'build', 'models') } = {}) {
  const paths = makeVocabModels(modelsDir);
  const text = englishText();
  const results = {};
  for (const { file } of VOCAB_MODELS) {
    const lm = await RingLM.load(paths[file]);
    try {
      lm.tokenize(text.slice(0, 1 << 16));  // warm-up: let the engine optimise the wasm
      let n = 0;
      const english = time(() => { n = lm.tokenize(text, { addBos: false }).length; }, reps);
      const runs = {};
      for (const ch of ['a', ' ', '中', '😀']) {
        const run = ch.repeat(Math.ceil(100000 / new TextEncoder().encode(ch).length));
        runs[ch] = +(time(() => lm.tokenize(run, { addBos: false }), reps).wall * 1000).toFixed(1);
      }
      results[file.replace('.gguf', '')] = {
        englishMBps: +(text.length / 1e6 / english.wall).toFixed(2),
        englishCpuMBps: +(text.length / 1e6 / english.cpu).toFixed(2),
        tokensPerByte: +(n / text.length).toFixed(3),
        repeatedChar100KBms: runs,
      };
    } finally {
      lm.dispose();
    }
  }
  return results;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const reps = args.includes('--reps') ? Number(args[args.indexOf('--reps') + 1]) : 3;
  const results = await benchTokenizer({ reps });
  if (args.includes('--json')) {
    console.log(JSON.stringify(results));
  } else {
    console.log('tokenizer (wasm, Node)      English MB/s (wall / CPU)   100 KB of one character (ms)');
    for (const [name, r] of Object.entries(results)) {
      const runs = Object.entries(r.repeatedChar100KBms).map(([c, ms]) => `${JSON.stringify(c)} ${ms}`).join('  ');
      console.log(`  ${name.padEnd(24)}  ${String(r.englishMBps).padStart(6)} / ${String(r.englishCpuMBps).padEnd(15)}  ${runs}`);
    }
  }
}
