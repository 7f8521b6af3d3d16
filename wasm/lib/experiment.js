// experiment.js — the KV cache experiment: the same greedy generation with the cache and without it
// (kvCache: false re-runs the whole sequence for every token), timed per token. `ringlm experiment` prints
// it and the demo page's worker runs it; both show the same numbers.

import { lineChart } from './chart.js';

/** A passage to cut the classic experiment's prompt from (29 tokens by default: the NumPy GPT's setting). */
export const EXPERIMENT_TEXT =
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness ' +
  'was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God said, Let there be light.';

/**
 * The prompt's token ids: `prompt` as given, or the first `promptTokens` tokens of EXPERIMENT_TEXT (with BOS as
 * the model asks), so the classic setting is the same length on every model.
 */
export function experimentPrompt(lm, { prompt, promptTokens = 29 } = {}) {
  if (prompt !== undefined && prompt !== '') return lm.tokenize(prompt);
  let text = EXPERIMENT_TEXT;
  while (lm.tokenize(text).length < promptTokens) text += ' ' + EXPERIMENT_TEXT;
  return lm.tokenize(text).slice(0, promptTokens);
}

/**
 * Run the experiment on a loaded RingLM: greedy, `maxTokens` new tokens, with the cache and then without.
 * Both runs must fit the context (the no-cache run re-runs the whole sequence), so the 'stop' policy is used.
 * @returns { promptTokens, runs: [{ name, kvCache, text, tokens, totalMs, msPerToken, perTokenMs }] (cached
 *   first), speedup (no-cache time / cached time), textsEqual }
 */
export async function runExperiment(lm, { prompt, promptTokens = 29, maxTokens = 100, onRun } = {}) {
  const ids = experimentPrompt(lm, { prompt, promptTokens });
  const options = { temperature: 0, maxTokens, contextPolicy: 'stop', seed: 0 };
  await lm.complete(ids.slice(0, 1), { ...options, maxTokens: 2 });  // warm up, so neither run pays for first use
  const runs = [];
  for (const kvCache of [true, false]) {
    onRun?.({ kvCache });
    const r = await lm.complete(ids, { ...options, kvCache });
    const perTokenMs = r.timings.perTokenMs;
    const totalMs = perTokenMs.reduce((a, b) => a + b, 0);
    runs.push({
      name: kvCache ? 'KV cache' : 'no cache', kvCache, text: r.text, tokens: r.tokens.length, totalMs,
      msPerToken: r.tokens.length ? totalMs / r.tokens.length : 0, perTokenMs, finishReason: r.finishReason,
    });
  }
  return {
    promptTokens: ids.length, runs, speedup: runs[0].totalMs > 0 ? runs[1].totalMs / runs[0].totalMs : 0,
    textsEqual: runs[0].text === runs[1].text,
  };
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value, on a scale from 0 to `max` (the larger run's maximum, so two lines compare). */
export function sparkline(values, max = Math.max(...values)) {
  return values.map((v) => BARS[max > 0 ? Math.min(BARS.length - 1, Math.floor((v / max) * BARS.length)) : 0]).join('');
}

/** The result as a text table, a sparkline per run (ms per token against position) and whether the texts agree. */
export function experimentReport(result) {
  const rows = [['run', 'tokens', 'total ms', 'ms/token', 'speed-up']];
  for (const r of result.runs) {
    const factor = r.kvCache ? result.speedup : 1;
    rows.push([r.name, String(r.tokens), r.totalMs.toFixed(1), r.msPerToken.toFixed(3), `${factor.toFixed(2)}x`]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const table = rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  const max = Math.max(...result.runs.flatMap((r) => r.perTokenMs));
  const lines = result.runs.map((r) => `${r.name.padEnd(8)}  ${sparkline(r.perTokenMs, max)}`);
  return [
    ...table, '',
    `ms per token against position (one character a token, the same scale for both; max ${max.toFixed(2)} ms):`,
    ...lines, '',
    `texts: ${result.textsEqual ? 'equal' : 'DIFFERENT'}`,
  ].join('\n') + '\n';
}

/** The per-token times of both runs as a chart (a tree for chart.js's toElement / toSvgText). */
export function experimentChart(result, title = 'Time per generated token against its position, with and without the KV cache') {
  return lineChart(
    result.runs.map((r) => ({ name: r.name, values: r.perTokenMs, className: r.kvCache ? 'cached' : 'uncached' })),
    { title, xLabel: 'new token (position after the prompt)', yLabel: 'ms per token' });
}
