// Constrained decoding speed, as part of the benchmark (`npm run bench`, alone with `npm run bench -- --only grammar`,
// or `node --no-experimental-fetch bench/grammar.mjs [--reps N]`): tokens per second of generate() under a grammar
// against the same generation without one, on the built-in model and the 125M Q8_0 bench model, greedy and sampled
// (temperature 0.8, top-k 40, top-p 0.95), for two grammars:
//
//   json    llama.cpp's JSON grammar (tests/reference/json.gbnf) with its root repeated (object+),
//           so that a run does not end after one small object: most tokens fit inside a string, few after a '{'
//   digits  digits only: nearly every token is refused, so the sampler must look past its best candidates
//
// End-of-generation is banned (logitBias -Infinity, in every run) so each run writes maxTokens tokens unless the
// grammar ends; the figure is the engine's own decode timing (result.timings.decodeTokensPerSecond: decode,
// sampling and the grammar step, without the JS loop around them). Runs interleave (none, json, digits, rotating
// who goes first) and the figures are medians. ringlm-wasm in this Node process, one thread.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { benchModel } from './models.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const MARK_START = '<!-- grammar-speed:start -->';
export const MARK_END = '<!-- grammar-speed:end -->';
export const TARGET = 0.7;  // constrained / unconstrained decode tok/s (issue #17)

// llama.cpp's JSON grammar with its root repeated, so that a long decode stays inside it.
function jsonObjects() {
  const json = readFileSync(join(ROOT, 'tests/reference/json.gbnf'), 'utf8');
  const repeated = json.replace(/^root(\s+)::= object$/m, 'root$1::= object+');
  if (repeated === json) throw new Error('tests/reference/json.gbnf: no `root ::= object` line to repeat');
  return repeated;
}

export const GRAMMARS = {
  json: jsonObjects(),
  digits: 'root ::= [0-9]+\n',
};
const MODES = {
  greedy: { temperature: 0 },
  sampled: { temperature: 0.8, topK: 40, topP: 0.95, seed: 7 },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function grammarModels(log) {
  return [
    { key: 'built-in', label: 'built-in (3.7M, vocabulary 2,048)', path: fileURLToPath(RingLM.defaultModelUrl), contextSize: 512,
      prompt: 'And God said', maxTokens: 128 },
    { key: '125m-q8_0', label: '125M Q8_0 (vocabulary 32,000)', path: benchModel('125m-q8_0', { log }), contextSize: 256,
      prompt: 'The answer is', maxTokens: 48 },
  ];
}

/** One model: for each mode, every grammar's (and no grammar's) tok/s over `reps` interleaved runs. */
async function onModel(model, reps, log) {
  const lm = await RingLM.load(model.path, { contextSize: model.contextSize, threads: 1 });
  try {
    const logitBias = Object.fromEntries(lm.tokenizer.endOfGeneration.map((id) => [id, -Infinity]));
    const names = ['none', ...Object.keys(GRAMMARS)];
    const modes = {};
    for (const [mode, sampling] of Object.entries(MODES)) {
      const options = (name) => ({ ...sampling, maxTokens: model.maxTokens, logitBias,
        ...(name === 'none' ? {} : { grammar: GRAMMARS[name] }) });
      for (const name of names) await lm.complete(model.prompt, { ...options(name), maxTokens: 8 });  // warm-up
      const runs = Object.fromEntries(names.map((n) => [n, []]));
      const tokens = Object.fromEntries(names.map((n) => [n, []]));
      for (let r = 0; r < reps; r++) {
        for (let k = 0; k < names.length; k++) {
          const name = names[(r + k) % names.length];
          const result = await lm.complete(model.prompt, options(name));
          runs[name].push(result.timings.decodeTokensPerSecond);
          tokens[name].push(result.tokens.length);
        }
      }
      const none = median(runs.none);
      modes[mode] = Object.fromEntries(names.map((n) => [n, {
        tokPerSec: median(runs[n]), runs: runs[n], tokens: median(tokens[n]),
        ratio: n === 'none' ? 1 : median(runs[n]) / none,
      }]));
      log(`grammar: ${model.key} ${mode}: ` + names.map((n) => `${n} ${modes[mode][n].tokPerSec.toFixed(1)} tok/s` +
        (n === 'none' ? '' : ` (${modes[mode][n].ratio.toFixed(2)}x)`)).join(', '));
    }
    return { model: model.key, label: model.label, vocabSize: lm.info.vocabSize, prompt: model.prompt, maxTokens: model.maxTokens, reps, modes };
  } finally {
    lm.dispose();
  }
}

/** Runs every model; `machine` and `loadavg` describe where. */
export async function benchGrammar({ reps, log, machine, loadavg }) {
  const report = { date: new Date().toISOString(), machine, load: { start: loadavg() }, target: TARGET, models: [] };
  for (const model of grammarModels(log)) report.models.push(await onModel(model, reps, log));
  report.load.end = loadavg();
  return report;
}

/** The README's block: how it was measured and a table of medians. */
export function grammarMarkdown(report) {
  const m = report.machine;
  const fmt = (x, d = 1) => x.toFixed(d);
  const rows = [];
  for (const x of report.models) {
    for (const [mode, g] of Object.entries(x.modes)) {
      const cell = (n) => `${fmt(g[n].tokPerSec)} (${fmt(g[n].ratio, 2)}×${g[n].ratio >= report.target ? '' : ', below target'})`;
      rows.push(`| ${x.label} | ${mode} | ${fmt(g.none.tokPerSec)} | ${cell('json')} | ${cell('digits')} |`);
    }
  }
  const reps = report.models[0].reps;
  return [
    `Measured by \`npm run bench\` (\`-- --only grammar\` runs just this; bench/grammar.mjs) on ${report.date.slice(0, 10)}: ` +
    `ringlm-wasm in Node ${m.node}, one thread, on ${m.cpu}, ${m.cores} cores shared with other work (load average ` +
    `${report.load.start.toFixed(1)} → ${report.load.end.toFixed(1)}). Decode tok/s (the engine's timing: decode, sampling ` +
    `and the grammar step) of ${report.models.map((x) => `${x.maxTokens} tokens on the ${x.model} model`).join(' and ')}, ` +
    `end-of-generation banned, without a grammar and under llama.cpp's JSON grammar (its root as \`object+\`) and \`root ::= [0-9]+\`; sampled is ` +
    `temperature 0.8, top-k 40, top-p 0.95. Medians of ${reps} interleaved runs; in parentheses the ratio to no grammar ` +
    `(target ≥ ${report.target}; a ratio above 1 is the shared machine's noise, since the grammar step only adds work; ` +
    'instruction counts, which do not move with the load: docs/BENCHMARKS.md).',
    '',
    '| model | sampling | no grammar | JSON | digits only |',
    '|---|---|--:|--:|--:|',
    ...rows,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--reps');
  const reps = i > 0 ? Number(process.argv[i + 1]) : 5;
  const { cpus, loadavg } = await import('node:os');
  const report = await benchGrammar({ reps, log: (...a) => console.error(...a),
    machine: { cpu: cpus()[0]?.model ?? 'unknown CPU', cores: cpus().length, node: process.version }, loadavg: () => loadavg()[0] });
  console.log(grammarMarkdown(report));
  console.log(JSON.stringify(report.models.map((x) => ({ model: x.model, modes: Object.fromEntries(Object.entries(x.modes).map(
    ([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([n, r]) => [n, { tokPerSec: +r.tokPerSec.toFixed(1), tokens: r.tokens }]))])) }))));
  process.exit(0);
}
