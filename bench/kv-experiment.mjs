// The classic KV cache experiment as part of the benchmark (`npm run bench`, alone with
// `npm run bench -- --only kv-experiment`): a 29-token prompt and 100 new tokens, greedy, with the cache and
// without it (kvCache: false re-runs the whole sequence for every token), through wasm/lib/experiment.js, the
// code `ringlm experiment` and the page's Experiment panel run. On the built-in model and on the 125M Q8_0 bench
// model, `reps` times each, in ringlm-wasm in this Node process on one thread.
//
// Writes the figures (medians, every run's totals, each position's median time) as JSON, the chart of both models
// as one SVG, and the README's numbers between <!-- kv-experiment:start --> and <!-- kv-experiment:end -->.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { runExperiment, experimentChart } from '../wasm/lib/experiment.js';
import { STANDALONE_STYLE, toSvgText } from '../wasm/lib/chart.js';
import { benchModel } from './models.mjs';

export const MARK_START = '<!-- kv-experiment:start -->';
export const MARK_END = '<!-- kv-experiment:end -->';
const SETTING = { promptTokens: 29, maxTokens: 100 };
const BENCH_MODEL = '125m-q8_0';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, digits = 3) => Number(x.toFixed(digits));
// One formatter for the chart and the README, so both say the same rounded figure.
const fmt = (x, digits) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The models the experiment runs on: where each is and how the README names it. */
function experimentModels(log) {
  const builtIn = fileURLToPath(RingLM.defaultModelUrl);
  if (!existsSync(builtIn)) throw new Error(`the built-in model ${builtIn} is missing`);
  return [
    { key: 'built-in', path: builtIn, contextSize: 0, label: (info) => `built-in (${(info.parameters / 1e6).toFixed(1)}M, trained)` },
    { key: BENCH_MODEL, path: benchModel(BENCH_MODEL, { log }), contextSize: 256, label: () => '125M Q8_0 (random weights)' },
  ];
}

/** One model, `reps` experiments: totals per run, and for each position the median of its times. */
async function onModel(model, reps, log) {
  const lm = await RingLM.load(model.path, { contextSize: model.contextSize, threads: 1 });
  try {
    const results = [];
    for (let r = 0; r < reps; r++) {
      const result = await runExperiment(lm, SETTING);
      const [cached, uncached] = result.runs;
      log(`kv-experiment: ${model.key} run ${r + 1}/${reps}: ${cached.totalMs.toFixed(0)} ms with the cache, ` +
        `${uncached.totalMs.toFixed(0)} ms without, ${result.speedup.toFixed(1)}x, texts ${result.textsEqual ? 'equal' : 'DIFFERENT'}`);
      results.push(result);
    }
    const runs = [0, 1].map((k) => {
      const each = results.map((x) => x.runs[k]);
      const tokens = Math.min(...each.map((x) => x.perTokenMs.length));
      return {
        name: each[0].name, kvCache: each[0].kvCache, tokens,
        totalMs: each.map((x) => round(x.totalMs, 1)), medianTotalMs: round(median(each.map((x) => x.totalMs)), 1),
        perTokenMs: Array.from({ length: tokens }, (_, i) => round(median(each.map((x) => x.perTokenMs[i])))),
      };
    });
    return {
      model: model.key, label: model.label(lm.info), parameters: lm.info.parameters, contextSize: lm.info.contextSize,
      promptTokens: results[0].promptTokens, newTokens: SETTING.maxTokens, reps, runs,
      speedup: round(runs[1].medianTotalMs / runs[0].medianTotalMs, 2),
      speedups: results.map((x) => round(x.speedup, 2)),
      textsEqual: results.every((x) => x.textsEqual),
    };
  } finally {
    lm.dispose();
  }
}

/** Runs the experiment on both models; `machine` and `loadavg` describe where. */
export async function benchKvExperiment({ reps, log, machine, loadavg }) {
  const report = { date: new Date().toISOString(), machine, load: { start: loadavg() }, setting: SETTING, models: [] };
  for (const model of experimentModels(log)) report.models.push(await onModel(model, reps, log));
  report.load.end = loadavg();
  return report;
}

/** Both models' charts, one above the other, as the text of an .svg file. */
export function kvExperimentSvg(report) {
  const PANEL_W = 640, PANEL_H = 280, HEADING = 26;
  const children = [{ name: 'title', attributes: {}, children: [],
    text: 'Time per generated token against its position, with and without the KV cache' }];
  report.models.forEach((m, k) => {
    const top = k * (PANEL_H + HEADING);
    const heading = `${m.label}: ${m.promptTokens}-token prompt, greedy; the cache ${fmt(m.speedup, 1)}× faster`;
    children.push({ name: 'text', attributes: { x: 8, y: top + 18, class: 'panel-title' }, children: [], text: heading });
    const chart = experimentChart({ runs: m.runs }, heading);
    children.push({ ...chart, attributes: { ...chart.attributes, x: 0, y: top + HEADING, width: PANEL_W, height: PANEL_H } });
  });
  const height = report.models.length * (PANEL_H + HEADING);
  const tree = { name: 'svg', attributes: { viewBox: `0 0 ${PANEL_W} ${height}`, width: PANEL_W, height, role: 'img' }, children };
  return toSvgText(tree, `${STANDALONE_STYLE}.panel-title{fill:#1a1e2b;font-size:13px;font-weight:600}`);
}

/** The README's block: where and how it was measured, a table of medians, the chart. */
export function kvExperimentMarkdown(report, chartPath) {
  const m = report.machine;
  const reps = report.models[0].reps;
  const rows = report.models.map((x) => {
    const [cached, uncached] = x.runs;
    const range = `${fmt(Math.min(...x.speedups), 1)}–${fmt(Math.max(...x.speedups), 1)}×`;
    return `| ${x.label} | ${fmt(cached.medianTotalMs, 0)} ms | ${fmt(uncached.medianTotalMs, 0)} ms | ` +
      `${fmt(cached.medianTotalMs / cached.tokens, 2)} | ${fmt(uncached.medianTotalMs / uncached.tokens, 2)} | ` +
      `**${fmt(x.speedup, 1)}×** | ${reps > 1 ? range : '–'} | ${x.textsEqual ? 'equal' : 'DIFFERENT'} |`;
  });
  return [
    `Measured by \`npm run bench\` (\`-- --only kv-experiment\` runs just this; bench/kv-experiment.mjs) on ${report.date.slice(0, 10)}: ` +
    `ringlm-wasm in Node ${m.node}, one thread, on ${m.cpu}, ${m.cores} cores shared with other work (load average ` +
    `${report.load.start.toFixed(1)} → ${report.load.end.toFixed(1)}). A ${report.models[0].promptTokens}-token prompt and ` +
    `${report.setting.maxTokens} new tokens, greedy, ${reps} times each way; the figures are medians (the factor is the ratio of the ` +
    `median totals), and the chart draws each position's median time.`,
    '',
    '| model | 100 tokens with the KV cache | without | ms/token with | without | speed-up | range of runs | texts |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
    ...rows,
    '',
    `![ms per token against position, with and without the KV cache, on both models](${chartPath})`,
  ].join('\n');
}

/** Puts `md` between the markers of `file` (this experiment's unless others are given); an error if they are not there. */
export function publishBlock(file, md, start = MARK_START, end = MARK_END) {
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(start), b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no ${start} ... ${end} block`);
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${md}\n${text.slice(b)}`);
}
