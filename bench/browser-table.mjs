// The browser part's tables (bench/browser.mjs measures; this only formats): for each file and thread count,
// ringlm against wllama, decode and prefill medians and their ratios, as text for the terminal and as
// Markdown for the README. Pure functions of the report, so tests/bench-tables.test.mjs can check them.

import { BENCH_MODELS } from './models.mjs';

const fmt = (x, d = 1) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
const ratio = (a, b) => (a != null && b ? a / b : null);
const times = (x) => (x == null ? '–' : `${fmt(x, 2)}×`);

/** "125M Q4_K_M" for a bench model's name (the name itself for one bench/models.mjs does not list). */
export function modelLabel(name) {
  const m = BENCH_MODELS.find((b) => b.name === name);
  return m ? `${m.size} ${m.type}` : name;
}

/** One row per file and thread count that both engines ran: medians and ringlm / wllama. */
export function browserRows(browser) {
  const rows = [];
  for (const m of browser?.models ?? []) {
    const counts = [...new Set(Object.values(m.sides).map((s) => s.threads))].sort((a, b) => a - b);
    for (const n of counts) {
      const r = m.sides[`ringlm-${n}`], w = m.sides[`wllama-${n}`];
      if (!r || !w) continue;
      rows.push({ model: modelLabel(m.model), threads: n, decode: [r.decode, w.decode], decodeRatio: ratio(r.decode, w.decode),
        prefill: [r.prefill, w.prefill], prefillRatio: ratio(r.prefill, w.prefill) });
    }
  }
  return rows;
}

/** "125M F16: failed: why", for each file whose measurement failed (the others ran). */
export function failures(browser) {
  return (browser?.models ?? []).filter((m) => m.error).map((m) => `${modelLabel(m.model)}: failed: ${m.error}`);
}

/** The terminal's lines: a heading and an aligned table, or why the part did not run. */
export function browserText(browser) {
  if (!browser) return [];
  if (browser.skipped) return [`browser: not measured: ${browser.skipped}`];
  const head = ['browser (Chromium)', 'threads', 'decode: ringlm', 'wllama', 'ringlm/wllama', 'prefill: ringlm', 'wllama', 'ringlm/wllama'];
  const body = browserRows(browser).map((r) => [r.model, String(r.threads), fmt(r.decode[0]), fmt(r.decode[1]), times(r.decodeRatio),
    fmt(r.prefill[0]), fmt(r.prefill[1]), times(r.prefillRatio)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [`${browser.chromium}, wllama ${browser.wllama}; tok/s, medians of ${browser.settings.reps} interleaved repetitions:`,
    line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...failures(browser)];
}

/** The README's lines for the browser part. */
export function browserMarkdown(browser) {
  if (!browser) return [];
  if (browser.skipped) return [`In the browser: not measured in this run (${browser.skipped}).`];
  const s = browser.settings;
  return [
    `In the browser: ${browser.chromium}, headless, on a page served with COOP/COEP; ringlm is the package's browser build in a ` +
    `module Worker, wllama is [@wllama/wllama](https://github.com/ngxson/wllama) ${browser.wllama} (llama.cpp compiled to wasm, ` +
    `its own Worker), both on the same files with the same settings (context ${s.contextSize}, batch ${s.batchSize}, greedy, ` +
    `end-of-generation ignored). Decode: ${s.decode.tokens} tokens after a ${s.decode.prompt}-token prompt; prefill: a ` +
    `${s.prefill.prompt}-token prompt; each engine's own timings, medians of ${s.reps} interleaved repetitions ` +
    '(method: docs/BENCHMARKS.md, "In the browser").',
    '',
    '| model | threads | decode tok/s: ringlm | wllama | ringlm / wllama | prefill tok/s: ringlm | wllama | ringlm / wllama |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...browserRows(browser).map((r) => `| ${r.model} | ${r.threads} | ${fmt(r.decode[0])} | ${fmt(r.decode[1])} | ` +
      `${times(r.decodeRatio)} | ${fmt(r.prefill[0])} | ${fmt(r.prefill[1])} | ${times(r.prefillRatio)} |`),
    ...failures(browser).flatMap((f) => ['', f]),
  ];
}
