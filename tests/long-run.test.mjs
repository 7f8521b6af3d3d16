// Long runs at flat memory, in Node and in a page in Chromium (tests/browser/long-run.mjs does the work):
// 100 load/dispose cycles, 1,000 short generations, and 100,000 tokens generated in one session under the
// 'sinks' policy on a 256-token ring (about 390 times its capacity). Readings after full garbage collections;
// the test fails on growth beyond the slack stated below, and prints the readings (README, "Robustness",
// quotes them; build/artifacts/long-run.json keeps the last run's).
//
// Slack: the wasm heap in use may move by at most 1 KiB between the readings of a phase (after its first tenth,
// when buffers have reached their working size) and is back to the byte where it started once every model is
// disposed; the wasm memory does not grow at all; the JS heap may grow by at most 512 KiB in a phase (1 MiB in
// Chromium, whose page heap also holds the harness), i.e. a leak of a few hundred bytes per generation, or a few
// bytes per token of the long session, would fail.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ROOT, launchChromium, openHarness, startPageServer } from './browser/chromium.mjs';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ARTIFACTS = path.join(ROOT, 'build/artifacts');
const MODEL = 'build/models/long-run.gguf';  // tiny, so that 100,000 tokens take seconds
const PLAN = { cycles: 100, generations: 1000, longTokens: 100_000, contextSize: 256 };
const KIB = 1024;

mkdirSync(path.join(ROOT, 'build/models'), { recursive: true });
writeFileSync(path.join(ROOT, `${MODEL}.tmp`),
  makeRandomLlama({ seed: 21, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 512, type: 'Q8_0' }).toBuffer());
renameSync(path.join(ROOT, `${MODEL}.tmp`), path.join(ROOT, MODEL));

const figures = {};
after(() => {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'long-run.json'), JSON.stringify(figures, null, 2) + '\n');
});

const kib = (n) => `${(n / KIB).toFixed(1)} KiB`;
const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;

/** The readings as the lines the README quotes. */
function describe(host, r) {
  return [
    `${host}: ${r.cycles} load/dispose cycles, ${r.generations} generations (${r.tokens} tokens), ` +
      `${r.longTokens} tokens under 'sinks' on a ${r.cache.capacity}-token ring (${r.sessions} continuations, ` +
      `${r.cache.dropped} evicted) in ${r.seconds.total} s (${r.seconds.cycles} + ${r.seconds.generations} + ${r.seconds.long})`,
    `${host}: wasm heap in use ${kib(r.start.wasm)} at start, ${kib(r.afterCycles.wasm)} after the cycles, ` +
      `${kib(r.afterGenerations.wasm)} after the generations, ${kib(r.afterLong.wasm)} after the long session, ${kib(r.end.wasm)} at the end`,
    `${host}: wasm memory ${mib(r.start.wasmMemory)} at start, ${mib(r.end.wasmMemory)} at the end; ` +
      `JS heap ${mib(r.start.js)} at start, ${mib(r.afterCycles.js)}, ${mib(r.afterGenerations.js)}, ${mib(r.afterLong.js)}, ${mib(r.end.js)} at the end`,
  ];
}

function judge(r, jsSlack) {
  assert.equal(r.longTokens, PLAN.longTokens);
  assert.equal(r.cycles, PLAN.cycles);
  assert.ok(r.tokens >= PLAN.generations, `${r.tokens} tokens in ${PLAN.generations} generations`);
  assert.ok(r.cache.dropped > PLAN.longTokens - PLAN.contextSize, `the long session ran past the ring (${JSON.stringify(r.cache)})`);
  assert.ok(r.cache.kept <= r.cache.capacity);
  const phases = [
    ['over the load/dispose cycles', r.start, r.afterCycles],
    ['over the generations', r.afterFirstGenerations, r.afterGenerations],
    ['over the long session', r.afterLongStart, r.afterLong],
  ];
  for (const [what, a, b] of phases) {
    assert.ok(Math.abs(b.wasm - a.wasm) <= KIB, `wasm heap in use ${kib(a.wasm)} -> ${kib(b.wasm)} ${what}`);
    assert.ok(b.js - a.js <= jsSlack, `JS heap ${kib(a.js)} -> ${kib(b.js)} ${what}`);
  }
  assert.equal(r.end.wasm, r.start.wasm, 'every disposed model gave back every byte');
  assert.equal(r.end.wasmMemory, r.start.wasmMemory, 'the wasm memory did not grow');
}

test('Node: load/dispose cycles, generations and a 100,000-token session leave memory flat', { timeout: 300_000 }, (t) => {
  const out = execFileSync(process.execPath,
    ['--expose-gc', path.join(ROOT, 'tests/robustness/long-run.mjs'), MODEL, PLAN.cycles, PLAN.generations, PLAN.longTokens].map(String),
    { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
  const r = JSON.parse(out.trim().split('\n').pop());
  figures.node = { ...r, lines: describe('Node', r) };
  for (const line of figures.node.lines) t.diagnostic(line);
  judge(r, 512 * KIB);
});

test('Chromium: the same in a page', { timeout: 300_000 }, async (t) => {
  // window.gc() and exact performance.memory figures, to measure the heap between generations.
  const browser = await launchChromium(['--js-flags=--expose-gc', '--enable-precise-memory-info']);
  const server = await startPageServer({ harness: true });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await openHarness(page, server);
    const r = await page.evaluate(({ source, plan }) => window.longRun(window.RingLM, source, {
      ...plan, gc: () => window.gc(), jsHeap: () => performance.memory.usedJSHeapSize,
    }), { source: `/${MODEL}`, plan: PLAN });
    figures.chromium = { ...r, lines: describe('Chromium', r) };
    for (const line of figures.chromium.lines) t.diagnostic(line);
    assert.deepEqual(errors, []);
    judge(r, 1024 * KIB);
  } finally {
    await browser.close();
    await server.close();
  }
});
