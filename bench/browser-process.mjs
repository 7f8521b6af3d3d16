// Runs the browser part (bench/browser.mjs) in a Node process of its own, for bench/run.mjs: playwright needs
// Node's fetch, which the bench's process turns off (--no-experimental-fetch) for the Emscripten module.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'browser.mjs');

/** Resolves to bench/browser.mjs's report ({ skipped: why } without Chromium or wllama); its progress goes to stderr. */
export function benchBrowserInChild({ models, reps, threads, threadsModels }) {
  const args = [SCRIPT, '--models', models.join(','), '--reps', String(reps), '--threads', String(threads),
    '--threads-models', threadsModels.join(',')];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`node bench/browser.mjs exited with ${code} (its error is above)`));
      else resolve(JSON.parse(out));
    });
  });
}
