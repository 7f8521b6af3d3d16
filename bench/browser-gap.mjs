#!/usr/bin/env node
// Why does the same wasm decode slower in Chromium than in Node (issue 16)? Runs one decode measurement
// (bench/browser-gap/decode.mjs) under several set-ups, one variable changed at a time, interleaved
// round by round so the shared machine's noise falls on all alike, and prints each set-up's median
// tok/s and its ratio to Node's.
//
//   node bench/browser-gap.mjs [--rounds 5] [--tokens 128] [--model 125m-q8_0] [--only name,name]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { benchModel } from './models.mjs';
import { startServer, PAGE_MOUNTS } from '../tools/serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ROUNDS = Number(arg('rounds', 5));
const TOKENS = Number(arg('tokens', 128));
const MODEL = arg('model', '125m-q8_0');

/** The set-ups: where the decode runs, how many threads (1: the single-threaded build), engine flags. */
const SETUPS = [
  { name: 'node', where: 'node', threads: 1 },
  { name: 'node --liftoff-only', where: 'node', threads: 1, nodeFlags: ['--liftoff', '--no-wasm-tier-up'] },
  { name: 'node --no-liftoff', where: 'node', threads: 1, nodeFlags: ['--no-liftoff'] },
  { name: 'chromium worker', where: 'worker', threads: 1 },
  { name: 'chromium worker --liftoff-only', where: 'worker', threads: 1, jsFlags: '--liftoff --no-wasm-tier-up' },
  { name: 'chromium page', where: 'page', threads: 1 },
  { name: 'chromium worker --no-liftoff', where: 'worker', threads: 1, jsFlags: '--no-liftoff' },
  { name: 'chromium worker no-backgrounding', where: 'worker', threads: 1,
    chromiumFlags: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows'] },
  { name: 'node 2 threads', where: 'node', threads: 2 },
  { name: 'chromium worker 2 threads', where: 'worker', threads: 2 },
];

const only = arg('only', null)?.split(',');
const setups = only ? SETUPS.filter((s) => only.includes(s.name)) : SETUPS;

function runInNode(path, { threads, nodeFlags = [] }) {
  const code = `import { measureDecode } from ${JSON.stringify(join(ROOT, 'bench/browser-gap/decode.mjs'))};
    console.log(JSON.stringify(await measureDecode(${JSON.stringify(path)}, { threads: ${threads}, tokens: ${TOKENS} })));
    process.exit(0);`;
  const out = execFileSync(process.execPath, [...nodeFlags, '--no-experimental-fetch', '--input-type=module', '-e', code],
    { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

async function runInChromium(server, { where, threads, jsFlags, chromiumFlags = [] }) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'ringlm-gap-'));
  const args = [...CHROMIUM_ARGS, ...chromiumFlags, ...(jsFlags ? [`--js-flags=${jsFlags}`] : [])];
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}bench/browser-gap/page.html`);
    await page.waitForFunction(() => document.title === 'ready');
    return await page.evaluate((request) => globalThis.runDecode(request),
      { url: `${server.url}build/bench-models/${MODEL}.gguf`, where, threads, tokens: TOKENS });
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const path = benchModel(MODEL, { log: console.error });
const server = await startServer({ port: 0, root: ROOT, mounts: [...PAGE_MOUNTS,
  { url: '/bench/browser-gap/', dir: 'bench/browser-gap' },
  { url: '/build/bench-models/', dir: 'build/bench-models', extensions: ['.gguf'] }] });
const results = new Map(setups.map((s) => [s.name, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts at the next set-up: whichever runs first (after the last round's Chromium closes) or
    // last is not always the same one.
    for (const setup of [...setups.slice(round % setups.length), ...setups.slice(0, round % setups.length)]) {
      const r = setup.where === 'node' ? runInNode(path, setup) : await runInChromium(server, setup);
      results.get(setup.name).push(r);
      console.error(`round ${round + 1}  ${setup.name.padEnd(40)} ${r.decodeTokensPerSecond.toFixed(1)} tok/s, ` +
        `fastest tenth ${r.fastTenthTokensPerSecond.toFixed(1)} (${r.n} tokens)`);
    }
  }
} finally {
  await server.close();
}
const mean = (rs) => median(rs.map((r) => r.decodeTokensPerSecond));
const fast = (rs) => median(rs.map((r) => r.fastTenthTokensPerSecond));
const best = (rs) => Math.max(...rs.map((r) => r.fastTenthTokensPerSecond));
const base = results.get('node') ?? [];
console.log(`\n${MODEL}, ${TOKENS} decode tokens, medians of ${ROUNDS} interleaved rounds (Chromium ${execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}, Node ${process.version}, V8 ${process.versions.v8})`);
console.log('| set-up | decode tok/s | / node | fastest tenth of tokens, tok/s | / node | best run, fastest tenth | / node | runs (decode tok/s) |');
console.log('|---|--:|--:|--:|--:|--:|--:|---|');
for (const [name, rs] of results) {
  console.log(`| ${name} | ${mean(rs).toFixed(1)} | ${(mean(rs) / mean(base)).toFixed(2)} | ${fast(rs).toFixed(1)} | ` +
    `${(fast(rs) / fast(base)).toFixed(2)} | ${best(rs).toFixed(1)} | ${(best(rs) / best(base)).toFixed(2)} | ${rs.map((r) => r.decodeTokensPerSecond.toFixed(0)).join(', ')} |`);
}
