// The set-up every Chromium test shares: Debian's headless Chromium driven by playwright-core, pages served by
// tools/serve.mjs on 127.0.0.1, and the checks that say what is missing (a build, the browser) before a test
// fails in a less telling way. Flags a test needs beyond CHROMIUM_ARGS stay in that test, passed to launchChromium.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer, PAGE_MOUNTS } from '../../tools/serve.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Headless, and quiet: no first-run pages, no update or sync traffic beside the test's own requests.
export const CHROMIUM_ARGS = Object.freeze([
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]);
/** The demo page's mounts plus tests/browser/ (harness.html, module.html and the scripts they run). */
export const HARNESS_MOUNTS = Object.freeze([...PAGE_MOUNTS, { url: '/tests/browser/', dir: 'tests/browser' }]);

/** Fails, naming the file and how to make it, when one of `files` (paths under the repository) is missing. */
export function assertBuilt(files, howToMake = 'npm run build') {
  for (const file of files) assert.ok(existsSync(path.join(ROOT, file)), `${file} is missing: run \`${howToMake}\` first`);
}

export function assertChromium() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`npm run setup\` (or set CHROMIUM_PATH)`);
}

/** Headless Chromium with CHROMIUM_ARGS and the caller's `extraArgs` after them. */
export async function launchChromium(extraArgs = []) {
  assertChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** tools/serve.mjs on a free port over the repository; `harness` adds tests/browser/ to the demo page's mounts. */
export function startPageServer({ harness = false } = {}) {
  return startServer({ port: 0, root: ROOT, ...(harness ? { mounts: HARNESS_MOUNTS } : {}) });
}

/** Opens tests/browser/harness.html in `page` and waits until it has loaded RingLM (window.harnessReady). */
export async function openHarness(page, server) {
  await page.goto(`${server.url}tests/browser/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
}

/**
 * One server and one browser for a whole test file: registers a before() that checks `built` (the files the page
 * needs; `howToMake` says how to make them), starts both and then runs `setUp({ server, browser })` (the file's
 * own set-up, e.g. a page to open), and an after() that closes both. setUp runs inside that one hook because
 * Node 20 starts a file's top-level before() hooks together, not one after another.
 */
export function usePageServer({ harness = false, built = [], howToMake, extraArgs = [] } = {}, setUp = async () => {}) {
  let server;
  let browser;
  before(async () => {
    assertBuilt(built, howToMake);
    browser = await launchChromium(extraArgs);
    server = await startPageServer({ harness });
    await setUp({ server, browser });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get server() { return server; },
    get browser() { return browser; },
  };
}

/**
 * What goes wrong on `page`, as the tests assert it is nothing: uncaught errors ('page error: ...') and console
 * errors ('console error: ...') but those matching `expected` (by default a failed resource load, which the tests
 * that expect one check themselves). Returns the list, which fills as the page runs.
 */
export function watchPage(page, expected = /^Failed to load resource/) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
  return problems;
}

/** The demo page (web/, with `query` such as '?model=/x.gguf') in `page`, once it has loaded its model. */
export async function openDemo(page, server, query = '') {
  await page.goto(`${server.url}web/${query}`);
  await waitForDemo(page);
}

/** Waits until the demo page has a model loaded and is ready for a prompt. */
export const waitForDemo = (page) => page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
