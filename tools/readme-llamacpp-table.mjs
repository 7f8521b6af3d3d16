#!/usr/bin/env node
// Rewrites the README's table of agreement with llama.cpp (between <!-- llamacpp-compare:start --> and
// <!-- llamacpp-compare:end -->) from the last run of tests/llamacpp-compare.test.mjs, which writes every comparison
// to build/artifacts/llamacpp-compare.json. The numbers come only from that file: a run that was partial (a model
// of its manifest without both a wasm and a native comparison) or that failed a tolerance is refused.
//
//   node --test tests/llamacpp-compare.test.mjs && node tools/readme-llamacpp-table.mjs

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACT = join(ROOT, 'build', 'artifacts', 'llamacpp-compare.json');
const README = join(ROOT, 'README.md');
const START = '<!-- llamacpp-compare:start -->';
const END = '<!-- llamacpp-compare:end -->';

/** Weight types in the order of the columns; 'Q4_K_M' is the Q4_K_M-like mix of the test models. */
const TYPE_ORDER = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K', 'Q4_K_M'];
const ARCH_ORDER = ['llama', 'qwen2', 'qwen3', 'smollm3', 'phi3', 'gemma3', 'gpt2'];
const IMPLS = ['wasm', 'native'];

export function renderTable(run) {
  const rows = run.comparisons.filter((c) => IMPLS.includes(c.impl));
  const failed = run.comparisons.filter((c) => !c.within);
  if (failed.length) {
    throw new Error(`the run failed ${failed.length} comparisons (first: ${failed[0].impl} on ${failed[0].file}): fix them first`);
  }
  for (const file of run.models) {
    for (const impl of IMPLS) {
      if (!rows.some((c) => c.file === file && c.impl === impl)) {
        throw new Error(`the run has no ${impl} comparison of ${file}: run the whole test, not part of it`);
      }
    }
  }
  const archs = [...new Set(rows.map((c) => c.arch))].sort((a, b) => rank(ARCH_ORDER, a) - rank(ARCH_ORDER, b));
  const types = [...new Set(rows.map((c) => c.type))].sort((a, b) => rank(TYPE_ORDER, a) - rank(TYPE_ORDER, b));
  const worst = (arch, type) => {
    const cells = rows.filter((c) => c.arch === arch && c.type === type);
    return cells.length ? Math.max(...cells.map((c) => c.maxAbs)) : null;
  };
  const tolerance = (type) => [...new Set(rows.filter((c) => c.type === type).map((c) => c.tolerance))].sort((a, b) => a - b);
  const label = (type) => (type === 'Q4_K_M' ? 'Q4_K_M-like' : type);
  const models = (arch) => [...new Set(rows.filter((c) => c.arch === arch).map((c) => c.file.replace(/-[^-]+\.gguf$/, '')))];
  const lines = [
    `| architecture | ${types.map(label).join(' | ')} | test models |`,
    `|---|${types.map(() => '--:').join('|')}|---|`,
    ...archs.map((arch) => `| \`${arch}\` | ${types.map((t) => format(worst(arch, t))).join(' | ')} | ${models(arch).join(', ')} |`),
    `| *tolerance* | ${types.map((t) => tolerance(t).map(String).join(' / ')).join(' | ')} | |`,
  ];
  const day = run.date.slice(0, 10);
  return [
    `Max |Δ log p| against llama.cpp (${run.llamaCpp}, CPU, F32 KV cache) over every position of every test model of`,
    `the architecture and type, ringlm in wasm and natively, prefill and decode; written by`,
    '`node tools/readme-llamacpp-table.mjs` from the run of `tests/llamacpp-compare.test.mjs` on ' +
      `${day} (${run.comparisons.length} comparisons, ${run.models.length} files, all within tolerance).` +
      exceptions(rows, types) + ' —: no test model of that type.',
    '',
    ...lines,
  ].join('\n');
}

/** Where an architecture has its own tolerance for a type (llama.cpp's GELU table: gpt2, gemma3 at F32), say so. */
function exceptions(rows, types) {
  const notes = [];
  for (const type of types) {
    const byArch = new Map(rows.filter((c) => c.type === type).map((c) => [c.arch, c.tolerance]));
    const common = Math.min(...byArch.values());
    // Architectures sharing a tolerance are named together: "0.005 for gemma3 and gemma2".
    const byTolerance = new Map();
    for (const [arch, t] of byArch) if (t !== common) byTolerance.set(t, [...(byTolerance.get(t) ?? []), arch]);
    const own = [...byTolerance].map(([t, archs]) => `${t} for ${archs.join(' and ')}`);
    if (own.length) notes.push(` The ${type} tolerance is ${common}, ${own.join('; ')} (llama.cpp's GELU table).`);
  }
  return notes.join('');
}

function rank(order, x) {
  const i = order.indexOf(x);
  return i < 0 ? order.length : i;
}

function format(v) {
  if (v === null) return '—';
  if (v === 0) return '0';
  return v.toExponential(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const run = JSON.parse(readFileSync(ARTIFACT, 'utf8'));
  const readme = readFileSync(README, 'utf8');
  const a = readme.indexOf(START), b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} block`);
  const next = readme.slice(0, a + START.length) + '\n' + renderTable(run) + '\n' + readme.slice(b);
  writeFileSync(README, next);
  console.log(`README.md: the llama.cpp table from ${ARTIFACT} (${run.date})`);
}
