// The opt-in relaxed-SIMD builds (dist/ringlm-relaxed.{mjs,wasm} and, threaded,
// dist/ringlm-relaxed-mt.{mjs,wasm,worker.js}; load option simd: 'relaxed'): the same logits as the
// default builds, bit for bit, on the K-quant and Q4_0 models (whose decode kernels they replace) and a
// Q8_0 one, on one thread and on two, in a Node that runs relaxed SIMD (Node 20:
// --experimental-wasm-relaxed-simd, so that part runs in a child process started with the flag,
// tests/relaxed-simd/logits.mjs); the errors that name the option: in a Node without the flag, with a
// wrong value; and the CLI's --simd flag (the same text as the default build; the errors).
// The relaxed kernels' unit tests are in the wasm GoogleTest suite (ctest -R '^relaxed\.'); the same
// comparison in Chromium is tests/relaxed-simd-browser.test.mjs.
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RingLM } from '../wasm/ringlm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = (name) => path.join(ROOT, 'build/models', name);
const CHILD = path.join(ROOT, 'tests/relaxed-simd/logits.mjs');
const MODELS = ['k256-q4_k.gguf', 'k256-q5_k.gguf', 'k256-q6_k.gguf', 'mix-q4_k_m.gguf', 'qwen3-q4_k_m.gguf', 'gqa-q4_0.gguf',
  'gqa-q8_0.gguf'];
// On two threads: a file of each kind the relaxed kernels decode.
const THREADED_MODELS = ['mix-q4_k_m.gguf', 'k256-q5_k.gguf', 'gqa-q4_0.gguf'];
const CLI = path.join(ROOT, 'wasm/cli.js');
const run = promisify(execFile);

for (const file of ['dist/ringlm.mjs', 'dist/ringlm-relaxed.mjs', 'dist/ringlm-relaxed.wasm', 'dist/ringlm-relaxed-mt.mjs',
  'dist/ringlm-relaxed-mt.wasm', 'dist/ringlm-relaxed-mt.worker.js', ...MODELS.map((m) => `build/models/${m}`)]) {
  assert.ok(existsSync(path.join(ROOT, file)), `${file} is missing: run \`npm run build && node tools/make-test-models.mjs\` first`);
}

/** The child's comparison of the builds on `models`, threads: `threads`, checked: every logit the same bits. */
async function compareInChild(models, threads) {
  const { stdout } = await run(process.execPath,
    ['--experimental-wasm-relaxed-simd', '--no-experimental-fetch', CHILD, '--threads', String(threads), ...models.map(model)],
    { cwd: ROOT, maxBuffer: 1 << 20 });
  const [header, ...results] = stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(header.validates, true, 'dist/ringlm-relaxed.wasm validates where relaxed SIMD is on');
  assert.equal(header.validatesThreaded, true, 'dist/ringlm-relaxed-mt.wasm validates where relaxed SIMD is on');
  assert.deepEqual(results.map((r) => r.file), models);
  for (const { file, steps, vocab, compared, firstDiff } of results) {
    assert.ok(steps === 25 && vocab > 0 && compared === steps * vocab, `${file}: compared ${compared} logits`);
    assert.equal(firstDiff, null, `${file} (threads ${threads}): first logit that differs: ${JSON.stringify(firstDiff)}`);
  }
}

test('the relaxed-SIMD build gives the default build\'s logits, bit for bit (Node with relaxed SIMD)', { timeout: 300_000 }, async () => {
  await compareInChild(MODELS, 1);
});

test('on two threads the threaded relaxed-SIMD build gives the threaded default build\'s logits, bit for bit', { timeout: 300_000 }, async () => {
  await compareInChild(THREADED_MODELS, 2);
});

test('dist/ringlm-relaxed{,-mt}.wasm hold relaxed SIMD: this Node (without the flag) does not validate them', () => {
  // This process runs without --experimental-wasm-relaxed-simd (node --test passes no V8 flags).
  assert.equal(process.execArgv.includes('--experimental-wasm-relaxed-simd'), false);
  assert.equal(WebAssembly.validate(readFileSync(path.join(ROOT, 'dist/ringlm.wasm'))), true);
  assert.equal(WebAssembly.validate(readFileSync(path.join(ROOT, 'dist/ringlm-mt.wasm'))), true);
  assert.equal(WebAssembly.validate(readFileSync(path.join(ROOT, 'dist/ringlm-relaxed.wasm'))), false);
  assert.equal(WebAssembly.validate(readFileSync(path.join(ROOT, 'dist/ringlm-relaxed-mt.wasm'))), false);
});

test("simd: 'relaxed' where the engine cannot run relaxed SIMD is an Error that names the option", async () => {
  await assert.rejects(RingLM.load(model('gqa-q8_0.gguf'), { simd: 'relaxed' }),
    (error) => error instanceof Error && /simd: 'relaxed'/.test(error.message) && /--experimental-wasm-relaxed-simd/.test(error.message));
});

test("simd takes 'default' or 'relaxed'", async () => {
  await assert.rejects(RingLM.load(model('gqa-q8_0.gguf'), { simd: 'fast' }),
    (error) => error instanceof TypeError && /simd must be 'default' or 'relaxed' \(got 'fast'\)/.test(error.message));
  await assert.rejects(RingLM.load(model('gqa-q8_0.gguf'), { simd: 'relaxed', threads: 2 }),
    (error) => error instanceof Error && /simd: 'relaxed'/.test(error.message) && /--experimental-wasm-relaxed-simd/.test(error.message));
  const lm = await RingLM.load(model('gqa-q8_0.gguf'), { simd: 'default', threads: 1 });
  assert.equal(lm.info.threads, 1);
  lm.dispose();
});

// The CLI: `ringlm --simd relaxed` (and score, experiment, chat) loads the relaxed build; its text is the default
// build's; a Node that cannot validate it gets an Error that says how to run it; a bad value is a usage error.
const cli = (args, { relaxed = false } = {}) => run(process.execPath,
  [...(relaxed ? ['--experimental-wasm-relaxed-simd'] : []), '--no-experimental-fetch', CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 22 })
  .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));

test('ringlm --simd relaxed generates and scores the default build\'s text (Node with relaxed SIMD)', { timeout: 300_000 }, async () => {
  const generate = ['-m', model('gqa-q4_0.gguf'), '-p', 'Once upon a time', '-n', '12', '--temp', '0', '--no-bos'];
  const plain = await cli(generate);
  const relaxed = await cli([...generate, '--simd', 'relaxed'], { relaxed: true });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(relaxed.code, 0, relaxed.stderr);
  assert.ok(plain.stdout.length > 'Once upon a time'.length, `generated: ${JSON.stringify(plain.stdout)}`);
  assert.equal(relaxed.stdout, plain.stdout);
  const score = ['score', '-m', model('mix-q4_k_m.gguf'), '-p', 'The quick brown fox jumps over the lazy dog', '--json'];
  const [a, b] = [await cli(score), await cli([...score, '--simd', 'relaxed'], { relaxed: true })];
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.ok(JSON.parse(a.stdout).tokens.length > 0);
  assert.equal(b.stdout, a.stdout);
});

test('ringlm --simd: an engine without relaxed SIMD and a bad value are clear errors; --help lists it', async () => {
  for (const args of [['-m', model('gqa-q4_0.gguf'), '-p', 'x', '-n', '1'], ['score', '-m', model('gqa-q4_0.gguf'), '-p', 'x y'],
    ['experiment', '-m', model('gqa-q4_0.gguf'), '-n', '1']]) {
    const missing = await cli([...args, '--simd', 'relaxed']);
    assert.equal(missing.code, 1, `${args[0]}: ${missing.stderr}`);
    assert.match(missing.stderr, /^ringlm: --simd relaxed: this Node cannot validate relaxed SIMD.*node --experimental-wasm-relaxed-simd/);
    const bad = await cli([...args, '--simd', 'fast']);
    assert.equal(bad.code, 2, `${args[0]}: ${bad.stderr}`);
    assert.match(bad.stderr, /--simd must be default or relaxed \(got 'fast'\)/);
  }
  for (const command of [[], ['score'], ['experiment'], ['chat']]) {
    const help = await cli([...command, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--simd BUILD +default \| relaxed/, `${command[0] ?? 'generate'} --help`);
  }
});
