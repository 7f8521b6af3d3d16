// The browser part of `npm run bench`: ringlm (the package's browser build, in a module Worker) against wllama
// (npm @wllama/wllama: llama.cpp compiled to wasm, the peer a browser user would pick) in headless Chromium, on
// the same bench files, decode and prefill, 1 thread and, on a few files, 2 threads.
//
// One page per file (bench/browser/page.html, served with COOP/COEP so that both threaded builds can run). Every
// side loads the file once, runs one untimed warm-up, then the sides take turns, one repetition each, rotating who
// goes first; a repetition is one greedy generation of 64 tokens after a 16-token prompt (decode) and one of a
// 128-token prompt (prefill), end-of-generation ignored, the same text prompt for both (each engine makes 16 or
// 128 tokens of it, checked), timed by each engine.
// The figures are medians. docs/BENCHMARKS.md ("In the browser") has the method in prose.
//
//   node bench/browser.mjs [--models 125m-q8_0,...] [--reps 3] [--threads 2] [--threads-models 125m-q4_k_m]
//
// prints the report as JSON on stdout (progress on stderr), or { "skipped": why } when Chromium or wllama is
// missing. bench/run.mjs runs it so (bench/browser-process.mjs), in a process of its own: playwright needs Node's
// fetch, which the bench's own process turns off for the Emscripten module.

import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM, CHROMIUM_ARGS } from '../tests/browser/chromium.mjs';
import { startServer, PAGE_MOUNTS } from '../tools/serve.mjs';
import { BENCH_MODELS, benchModel } from './models.mjs';
import { interleave, median } from './stats.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WLLAMA_DIR = join(ROOT, 'node_modules', '@wllama', 'wllama');
const CONTEXT_SIZE = 256;
const BATCH_SIZE = 128;
export const DECODE = { prompt: 16, tokens: 64 };
export const PREFILL = { prompt: 128 };
const PAGE_LOAD_MS = 60_000;
const MODEL_LOAD_MS = 5 * 60_000;

/** Why the browser part cannot run here (a sentence), or null when Chromium and wllama are both there. */
export function browserMissing() {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (run \`npm run setup\`, or set CHROMIUM_PATH)`;
  if (!existsSync(join(WLLAMA_DIR, 'esm', 'wasm', 'wllama.wasm'))) return '@wllama/wllama is not installed (run `npm ci`)';
  return null;
}

function chromiumVersion() {
  try {
    const text = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return text.match(/Chromium [\d.]+/)?.[0] ?? text.trim();
  } catch {
    return 'Chromium (version unknown)';
  }
}

/** The sides measured on one file: 1 thread always, `threads` too when the file is one of `threadsModels`. */
export function sidesFor(model, { threads, threadsModels }) {
  const counts = threadsModels.includes(model) ? [1, threads] : [1];
  return counts.flatMap((n) => ['ringlm', 'wllama'].map((engine) => ({ name: `${engine}-${n}`, engine, threads: n })));
}

/**
 * Runs the browser part on `models` (bench model names); returns { chromium, wllama, settings, models: [{ model,
 * sides: { 'ringlm-1': { info, decodeTokPerSec: [...], prefillTokPerSec: [...], decode, prefill }, ... } }] }.
 */
export async function benchBrowser({ models, reps, threads = 2, threadsModels = [], log = () => {} }) {
  const { chromium } = await import('playwright-core');
  const wllamaVersion = JSON.parse(readFileSync(join(WLLAMA_DIR, 'package.json'), 'utf8')).version;
  const report = {
    chromium: chromiumVersion(), wllama: wllamaVersion,
    settings: { reps, threads, threadsModels, contextSize: CONTEXT_SIZE, batchSize: BATCH_SIZE, decode: DECODE, prefill: PREFILL },
    models: [],
  };
  const server = await startServer({ port: 0, root: ROOT, mounts: [...PAGE_MOUNTS,
    { url: '/bench/browser/', dir: 'bench/browser' },
    { url: '/wllama/', dir: 'node_modules/@wllama/wllama/esm', extensions: ['.js', '.wasm'] },
    { url: '/build/bench-models/', dir: 'build/bench-models', extensions: ['.gguf'] }] });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    for (const model of models) {
      try {
        report.models.push(await benchFile(browser, server, model, { reps, threads, threadsModels, log }));
      } catch (e) {  // the other files still run; the table names this one and why
        log(`browser: ${model} failed: ${e.stack ?? e.message}`);
        report.models.push({ model, error: String(e.message).split('\n')[0], sides: {} });
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return report;
}

async function benchFile(browser, server, model, { reps, threads, threadsModels, log }) {
  benchModel(model, { log });
  const sides = sidesFor(model, { threads, threadsModels });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${server.url}bench/browser/page.html`);
    await page.waitForFunction(() => document.title === 'ready', null, { timeout: PAGE_LOAD_MS })
      .catch((e) => { throw new Error(`bench/browser/page.html did not load: ${errors.join('; ') || e.message}`); });
    if (!(await page.evaluate(() => globalThis.crossOriginIsolated))) throw new Error('the bench page is not crossOriginIsolated');
    const url = `${server.url}build/bench-models/${model}.gguf`;
    const info = {};
    page.setDefaultTimeout(MODEL_LOAD_MS);
    for (const side of sides) {
      log(`browser: ${model}: loading ${side.name}`);
      info[side.name] = await page.evaluate((o) => globalThis.benchOpen(o),
        { name: side.name, engine: side.engine, url, threads: side.threads, contextSize: CONTEXT_SIZE, batchSize: BATCH_SIZE });
    }
    const run = async (name) => {
      const d = await page.evaluate(([n, r]) => globalThis.benchGenerate(n, r),
        [name, { text: promptText(DECODE.prompt), maxTokens: DECODE.tokens }]);
      const p = await page.evaluate(([n, r]) => globalThis.benchGenerate(n, r), [name, { text: promptText(PREFILL.prompt), maxTokens: 1 }]);
      checkCounts(model, name, d, p);
      return { decode: d.decodeTokPerSec, prefill: p.prefillTokPerSec };
    };
    // Untimed: the wasm tiers up, buffers are allocated, the whole file is touched (both kinds of batch run).
    for (const side of sides) {
      await page.evaluate(([n, r]) => globalThis.benchGenerate(n, r), [side.name, { text: promptText(PREFILL.prompt), maxTokens: 4 }]);
    }
    const runs = await interleave(reps, sides.map((s) => s.name), run);
    const out = { model, sides: {} };
    for (const side of sides) {
      const decode = runs[side.name].map((r) => r.decode), prefill = runs[side.name].map((r) => r.prefill);
      out.sides[side.name] = { ...side, info: info[side.name], decodeTokPerSec: decode, prefillTokPerSec: prefill,
        decode: median(decode), prefill: median(prefill) };
    }
    for (const side of sides) await page.evaluate((n) => globalThis.benchClose(n), side.name);
    const s = out.sides;
    log(`browser: ${model}: decode ringlm ${s['ringlm-1'].decode.toFixed(1)} wllama ${s['wllama-1'].decode.toFixed(1)} tok/s, ` +
      `prefill ringlm ${s['ringlm-1'].prefill.toFixed(1)} wllama ${s['wllama-1'].prefill.toFixed(1)} tok/s`);
    return out;
  } finally {
    await page.close();
  }
}

/**
 * A text of `n` tokens with BOS for the bench models' vocabulary (tools/gguf/random-llama.mjs: "▁aa", "▁ab", ...
 * are tokens): n - 1 two-letter words. wllama takes no token ids, so both engines get this text; checkCounts
 * makes sure both made n tokens of it.
 */
export function promptText(n) {
  const word = (i) => String.fromCharCode(97 + (Math.floor(i / 26) % 26), 97 + (i % 26));
  return Array.from({ length: n - 1 }, (_, i) => word(i * 7 + 3)).join(' ');
}

/** A side that evaluated another number of tokens than asked would make its figure meaningless: say so. */
function checkCounts(model, name, decode, prefill) {
  const bad = [];
  if (decode.promptTokens !== DECODE.prompt) bad.push(`decode prompt ${decode.promptTokens} tokens, not ${DECODE.prompt}`);
  if (decode.generatedTokens !== DECODE.tokens) bad.push(`generated ${decode.generatedTokens} tokens, not ${DECODE.tokens}`);
  if (prefill.promptTokens !== PREFILL.prompt) bad.push(`prefill prompt ${prefill.promptTokens} tokens, not ${PREFILL.prompt}`);
  if (decode.cachedTokens || prefill.cachedTokens) bad.push('reused a cached prompt');
  if (bad.length) throw new Error(`browser bench, ${model}, ${name}: ${bad.join('; ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const list = (text) => (text ? text.split(',') : []);
  const missing = browserMissing();
  if (missing) {
    console.log(JSON.stringify({ skipped: missing }));
    process.exit(0);
  }
  const models = list(arg('models', '125m-q8_0,125m-q4_k_m'));
  for (const m of models) if (!BENCH_MODELS.some((b) => b.name === m)) throw new Error(`no bench model ${m}`);
  const report = await benchBrowser({ models, reps: Number(arg('reps', 3)), threads: Number(arg('threads', 2)),
    threadsModels: list(arg('threads-models', '')), log: (...a) => console.error('bench:', ...a) });
  console.log(JSON.stringify(report));
}
