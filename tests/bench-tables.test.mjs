// The bench's pure parts (no Chromium, no model): medians and interleaving (bench/stats.mjs), the browser part's
// sides and prompt text (bench/browser.mjs), its tables (bench/browser-table.mjs), and the whole report's targets,
// terminal table and README block (bench/run.mjs), all from made-up figures.
import test from 'node:test';
import assert from 'node:assert/strict';

import { interleave, median, turnOrder } from '../bench/stats.mjs';
import { promptText, sidesFor } from '../bench/browser.mjs';
import { browserMarkdown, browserRows, browserText, failures, modelLabel } from '../bench/browser-table.mjs';
import { markdown, targetsOf, textTable } from '../bench/run.mjs';

test('median: odd and even counts, order does not matter, none is null', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('interleave: every implementation runs once per repetition, who goes first rotates, who runs after whom changes', async () => {
  const order = [];
  const out = await interleave(3, ['a', 'b', 'c'], async (name) => {
    order.push(name);
    return order.length;
  });
  assert.deepEqual(order, ['a', 'b', 'c', 'a', 'c', 'b', 'c', 'a', 'b']);
  assert.deepEqual(out, { a: [1, 4, 8], b: [2, 6, 9], c: [3, 5, 7] });
  // A rotation alone would keep c always right after b; every other repetition walks backwards.
  assert.deepEqual(turnOrder(0, ['a', 'b', 'c', 'd']), ['a', 'b', 'c', 'd']);
  assert.deepEqual(turnOrder(1, ['a', 'b', 'c', 'd']), ['a', 'd', 'c', 'b']);
  assert.deepEqual(turnOrder(2, ['a', 'b', 'c', 'd']), ['c', 'd', 'a', 'b']);
});

test('sidesFor: both engines on 1 thread, and on more only for the files asked', () => {
  const opts = { threads: 2, threadsModels: ['125m-q4_k_m'] };
  assert.deepEqual(sidesFor('125m-q8_0', opts).map((s) => s.name), ['ringlm-1', 'wllama-1']);
  assert.deepEqual(sidesFor('125m-q4_k_m', opts).map((s) => [s.engine, s.threads]),
    [['ringlm', 1], ['wllama', 1], ['ringlm', 2], ['wllama', 2]]);
});

test('promptText: n - 1 two-letter words (with BOS, n tokens of the bench vocabulary)', () => {
  for (const n of [16, 128]) {
    const words = promptText(n).split(' ');
    assert.equal(words.length, n - 1);
    for (const w of words) assert.match(w, /^[a-z]{2}$/);
  }
  assert.equal(promptText(16), promptText(128).split(' ').slice(0, 15).join(' '));
});

const side = (engine, threads, decode, prefill) => ({ name: `${engine}-${threads}`, engine, threads, decode, prefill,
  decodeTokPerSec: [decode], prefillTokPerSec: [prefill] });
const REPORT = {
  chromium: 'Chromium 156.0', wllama: '3.13.0',
  settings: { reps: 3, threads: 2, contextSize: 256, batchSize: 128, decode: { prompt: 16, tokens: 64 }, prefill: { prompt: 128 } },
  models: [
    { model: '125m-q8_0', sides: { 'ringlm-1': side('ringlm', 1, 80, 300), 'wllama-1': side('wllama', 1, 10, 60) } },
    { model: '125m-q4_k_m', sides: { 'ringlm-1': side('ringlm', 1, 45, 100), 'wllama-1': side('wllama', 1, 15, 200),
      'ringlm-2': side('ringlm', 2, 60, 180), 'wllama-2': side('wllama', 2, 20, null) } },
    // A file where one engine is missing gives no row rather than a ratio against nothing.
    { model: '125m-f32', sides: { 'ringlm-1': side('ringlm', 1, 30, 200) } },
  ],
};

test('browserRows: one row per file and thread count, ringlm / wllama ratios', () => {
  const rows = browserRows(REPORT);
  assert.deepEqual(rows.map((r) => [r.model, r.threads]), [['125M Q8_0', 1], ['125M Q4_K_M', 1], ['125M Q4_K_M', 2]]);
  assert.equal(rows[0].decodeRatio, 8);
  assert.equal(rows[0].prefillRatio, 5);
  assert.equal(rows[1].prefillRatio, 0.5);
  assert.deepEqual(rows[2].decode, [60, 20]);
  assert.equal(rows[2].prefillRatio, null);
  assert.equal(modelLabel('not-a-bench-model'), 'not-a-bench-model');
});

test('browserText and browserMarkdown: versions, every row, ratios; a skipped part says why', () => {
  const text = browserText(REPORT).join('\n');
  assert.match(text, /Chromium 156\.0, wllama 3\.13\.0/);
  assert.match(text, /125M Q8_0 +1 +80\.0 +10\.0 +8\.00× +300\.0 +60\.0 +5\.00×/);
  assert.match(text, /125M Q4_K_M +2 +60\.0 +20\.0 +3\.00× +180\.0 +– +–/);
  const md = browserMarkdown(REPORT);
  assert.equal(md.filter((l) => l.startsWith('| 125M')).length, 3);
  assert.ok(md.includes('| 125M Q4_K_M | 1 | 45.0 | 15.0 | 3.00× | 100.0 | 200.0 | 0.50× |'));
  assert.match(md[0], /wllama\/wllama\)? ?.*3\.13\.0/);
  assert.match(md[0], /context 256, batch 128, greedy/);

  const failed = { ...REPORT, models: [...REPORT.models, { model: '125m-f16', error: 'wllama: invalid UTF-8', sides: {} }] };
  assert.deepEqual(failures(failed), ['125M F16: failed: wllama: invalid UTF-8']);
  assert.equal(browserText(failed).at(-1), '125M F16: failed: wllama: invalid UTF-8');
  assert.equal(browserMarkdown(failed).at(-1), '125M F16: failed: wllama: invalid UTF-8');
  assert.deepEqual(failures(REPORT), []);

  const skipped = { skipped: '/usr/bin/chromium is missing' };
  assert.deepEqual(browserText(skipped), ['browser: not measured: /usr/bin/chromium is missing']);
  assert.match(browserMarkdown(skipped)[0], /not measured in this run \(\/usr\/bin\/chromium is missing\)/);
  assert.deepEqual(browserText(null), []);
  assert.deepEqual(browserMarkdown(null), []);
});

const impl = (decode, prefill) => ({ decode, prefill, decodeTokPerSec: [decode], prefillTokPerSec: [prefill] });
const threadRow = (impl, condition, decode, decodeRatio, prefill, prefillRatio) => ({ impl, condition, decode, decodeRatio, prefill, prefillRatio });
const nodeModel = (model, type, impls) => ({ model, size: '125M', type, weightBytesPerToken: 1e8, fileBytes: 1e8, impls });
const FULL = {
  date: '2026-12-03T17:00:00.000Z', load: { start: 0.5, end: 1.5 }, seconds: 1200,
  machine: { cpu: 'AMD EPYC', cores: 2, memoryGB: 23.5, node: 'v20.20.2' },
  settings: { reps: 5 }, builds: { native: 'ringlm native built with -msse4.1 (the same bits as wasm)' },
  llamacpp: { version: '3.21.1', release: { repo: 'ggml-org/llama.cpp', release: 'b1' }, features: ['AVX2'] },
  models: [
    nodeModel('125m-q8_0', 'Q8_0', { wasm: impl(100, 400), native: impl(110, 420), llamacpp: impl(80, 500) }),
    nodeModel('125m-q4_k_m', 'Q4_K_M', { wasm: impl(120, 300), native: impl(130, 310), llamacpp: impl(100, 500) }),
  ],
  ceiling: { wasm: 20, native: 21 }, cache: null, browser: REPORT,
  // bench/threads.mjs: its quiet 125M Q8_0 rows are the thread speed-ups the targets check.
  busyNeighbour: { reps: 3, threads: [1, 2], models: [{ model: '125m-q8_0', rows: [
    threadRow('wasm', 'quiet', [100, 165], 1.7, [400, 760], 1.9), threadRow('wasm', 'busy', [90, 95], 1.05, [380, 370], 0.97),
    threadRow('native', 'quiet', [110, 180], 1.6, [420, 800], 1.85), threadRow('native', 'busy', [100, 110], 1.1, [400, 420], 1.05),
  ] }] },
};

test('targetsOf: the issue\'s ratios from the medians; a file not in the run is not measured', () => {
  const byName = Object.fromEntries(targetsOf(FULL).map((t) => [t.name, t]));
  assert.equal(byName['decodeVsLlamaCpp Q4_K_M'].value, 1.2);
  assert.equal(byName['decodeVsLlamaCpp Q4_K_M'].met, true);
  assert.equal(byName.q4kmDecodeVsOwnQ8.value, 1.2);
  assert.equal(byName['decodeVsLlamaCpp Q4_0'].met, null);
  assert.equal(byName['decodeVsLlamaCpp F16'].goal, 0.9);
  assert.equal(byName['prefillVsLlamaCpp Q4_K_M'].value, 0.6);
  assert.equal(byName['prefillVsLlamaCpp Q4_K_M'].met, false);
  assert.equal(byName['prefillVsLlamaCpp Q8_0'].value, 0.8);
  assert.equal(byName['prefillVsLlamaCpp Q8_0'].met, true);
  assert.equal(byName['prefillVsLlamaCpp F32'].met, null);
  assert.equal(byName.decodeThreads.value, 1.7);  // the paired ratio of bench/threads.mjs, not 165 / 100
  assert.equal(byName.prefillThreads.value, 1.9);
  assert.equal(byName.busyNeighbour.value, 0.97);
  assert.equal(byName.f32OfCeiling.met, null);
});

test('markdown and textTable: the Node table, the browser table and the targets, in one block', () => {
  const report = { ...FULL, targets: targetsOf(FULL) };
  const md = markdown(report);
  assert.match(md, /on 2026-12-03: AMD EPYC, 2 cores .*load average 0\.5 → 1\.5/);
  assert.match(md, /medians of 5 interleaved repetitions/);
  const withRealShape = markdown({ ...report, models: [...report.models, { ...nodeModel('qwen3-0.6b-q4_k_m', 'Q4_K_M-like',
    { wasm: impl(10, 20) }), size: 'Qwen3-0.6B-shaped' }] });
  assert.match(withRealShape, /medians of 5 \(3 on the files shaped like real ones\) interleaved repetitions/);
  assert.match(md, /\| 125M Q4_K_M \| 120\.0 \| 130\.0 \| 100\.0 \| 1\.20× \|/);
  assert.match(md, /\| 125M Q8_0 \| 1 \| 80\.0 \| 10\.0 \| 8\.00× \|/);
  assert.match(md, /wllama\]\(https:\/\/github\.com\/ngxson\/wllama\) 3\.13\.0/);
  assert.match(md, /^- \*\*not met\*\*: ringlm-wasm prefill on 125M Q4_K_M vs llama\.cpp: 0\.60 \(goal ≥ 0\.8\)$/m);
  assert.match(md, /^- met: ringlm-wasm decode on the 125M Q4_K_M mix vs llama\.cpp native: 1\.20 \(goal ≥ 1\)$/m);
  assert.match(md, /^- not measured: ringlm-wasm decode on 125M Q4_0 vs llama\.cpp: – \(goal ≥ 1\)$/m);
  assert.ok(md.indexOf('In the browser') > md.indexOf('| 125M Q4_K_M | 120.0'), 'the browser part follows the Node table');
  assert.ok(md.indexOf('Targets') > md.indexOf('In the browser'), 'the targets come last');
  const text = textTable(report);
  assert.match(text, /125M Q4_K_M +2 +60\.0 +20\.0 +3\.00×/);
  assert.match(text, /met +ringlm-wasm decode on 125M Q8_0, 2 threads vs 1 \(bench\/threads\.mjs, quiet\): 1\.70 \(goal ≥ 1\.6\)/);
  assert.match(md, /\| 125m-q8_0 \| ringlm-wasm \| quiet \| 100\.0 \| 165\.0 \| 1\.70× \| 400\.0 \| 760\.0 \| 1\.90× \|/);
  assert.equal(md.match(/\| ringlm-wasm \| quiet \|/g).length, 1, 'one table of thread speed-ups, not two');
});
