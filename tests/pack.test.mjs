// The npm package as a user gets it: `npm pack`, install the tarball into an empty project, and
// from there (a separate, plain `node` process) `import { RingLM } from 'ringlm'`, load the F32 GQA
// test model by file path and prefill a fixed prompt. Its log-probabilities must match llama.cpp's,
// the tarball must hold only the files the package needs, and the process must exit by itself.
//
// Needs `npm run build` and `node tools/make-test-models.mjs` first (tools/test.sh does both).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { llamaCppLogprobs, disposeReferenceLlama } from './reference/llamacpp.mjs';
import { logSoftmaxRows, compareLogprobs } from './reference/compare.mjs';
import { MODEL_PATH, TOKENS } from './browser/worker.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, MODEL_PATH);
const TOLERANCE = 1e-3;
const EXIT_TIMEOUT_MS = 60_000;

// Exactly what the package ships (npm adds a LICENSE file by itself when there is one).
// Both wasm builds: single-threaded, and threaded (its Workers' script is CommonJS: dist/package.json says so);
// and the opt-in relaxed-SIMD ones, single-threaded and threaded (load option simd: 'relaxed').
const REQUIRED_FILES = ['package.json', 'README.md', 'wasm/ringlm.js', 'wasm/ringlm.d.ts', 'wasm/cli.js',
  'dist/ringlm.mjs', 'dist/ringlm.wasm', 'dist/jinja.mjs', 'dist/ringlm-mt.mjs', 'dist/ringlm-mt.wasm',
  'dist/ringlm-mt.worker.js', 'dist/package.json', 'models/ringlm-kjv-3.7m.gguf', 'models/MODEL_CARD.md',
  'dist/ringlm-relaxed.mjs', 'dist/ringlm-relaxed.wasm', 'dist/ringlm-relaxed-mt.mjs', 'dist/ringlm-relaxed-mt.wasm',
  'dist/ringlm-relaxed-mt.worker.js'];
const ALLOWED = [/^dist\/[^/]+\.(mjs|wasm)$/, /^wasm\/lib\/[^/]+\.js$/, /^LICEN[CS]E(\.\w+)?$/];

const run = promisify(execFile);

// When this runs under `npm test`, npm's own variables (npm_config_local_prefix above all) would
// point the child npm processes back at this repository.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

let workDir;

before(() => {
  for (const file of ['dist/ringlm.mjs', 'dist/ringlm.wasm', 'dist/jinja.mjs', 'dist/ringlm-mt.mjs', MODEL_PATH]) {
    assert.ok(existsSync(path.join(ROOT, file)),
      `${file} is missing: run \`npm run build && node tools/make-test-models.mjs\` first`);
  }
  workDir = mkdtempSync(path.join(tmpdir(), 'ringlm-pack-'));
});

after(async () => {
  await disposeReferenceLlama();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// The consumer's script: everything it needs comes from the installed package.
const CONSUMER_SCRIPT = `
import { RingLM } from 'ringlm';
const [modelPath, tokensJson] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson);
const lm = await RingLM.load(modelPath);
const logits = lm.prefill(Int32Array.from(tokens), { allLogits: true });
// The chat template engine ships inside the package (dist/jinja.mjs): no dependency to install.
const chat = lm.applyChatTemplate([{ role: 'user', content: 'hi' }],
  { template: '{% for m in messages %}<{{ m.role }}>{{ m.content | upper }}{% endfor %}' });
process.stdout.write(JSON.stringify({ info: lm.info, logits: Array.from(logits), chat }));
lm.dispose();
`;
// With Node's default, the model runs on the threaded build (where the machine has more than one core):
// its Workers must not keep the process alive once the model is disposed.
const EXPECTED_THREADS = Math.min(availableParallelism(), 8);

test('the packed package installs, loads a model by path and matches llama.cpp', { timeout: 300_000 }, async (t) => {
  const packDir = path.join(workDir, 'pack');
  const consumerDir = path.join(workDir, 'consumer');
  let tarball;

  await t.test('npm pack ships only the package files', async () => {
    mkdirSync(packDir, { recursive: true });
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir],
      { cwd: ROOT, env: cleanEnv, maxBuffer: 16 << 20 });
    const [manifest] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    tarball = path.join(packDir, manifest.filename);
    assert.ok(existsSync(tarball), `npm pack wrote no ${tarball}`);

    const files = manifest.files.map((f) => f.path).sort();
    assert.deepEqual(REQUIRED_FILES.filter((f) => !files.includes(f)), [], 'the package lacks these files');
    const unexpected = files.filter((f) => !REQUIRED_FILES.includes(f) && !ALLOWED.some((re) => re.test(f)));
    assert.deepEqual(unexpected, [], 'the package holds files it should not ship');
  });

  await t.test('npm installs the tarball into an empty project, offline', async () => {
    assert.ok(tarball, 'no tarball (the previous step failed)');
    mkdirSync(consumerDir, { recursive: true });
    await run('npm', ['init', '-y'], { cwd: consumerDir, env: cleanEnv });
    await run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'], { cwd: consumerDir, env: cleanEnv });
    assert.ok(existsSync(path.join(consumerDir, 'node_modules/ringlm/package.json')));
    writeFileSync(path.join(consumerDir, 'check.mjs'), CONSUMER_SCRIPT);
  });

  await t.test('a plain node process prefills by file path, matches llama.cpp and exits by itself', async () => {
    assert.ok(existsSync(path.join(consumerDir, 'check.mjs')), 'no consumer project (a previous step failed)');
    let stdout;
    try {
      ({ stdout } = await run(process.execPath, ['check.mjs', MODEL, JSON.stringify(TOKENS)],
        { cwd: consumerDir, env: cleanEnv, timeout: EXIT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }));
    } catch (error) {
      if (error.killed) {
        assert.fail(`the consumer process did not exit by itself within ${EXIT_TIMEOUT_MS / 1000} s ` +
          `(something keeps Node's event loop alive)\nstdout: ${String(error.stdout).slice(0, 200)}`);
      }
      assert.fail(`the consumer process failed (exit code ${error.code}):\n${error.stderr}`);
    }

    const { info, logits, chat } = JSON.parse(stdout);
    assert.equal(chat, '<user>HI', 'applyChatTemplate from the installed package');
    assert.equal(info.threads, EXPECTED_THREADS, 'the installed package runs on as many threads as Node offers (at most 8)');
    const vocab = info.vocabSize;
    assert.equal(logits.length, TOKENS.length * vocab, 'allLogits gives one row per prompt token');
    assert.ok(logits.every(Number.isFinite), 'every logit is finite');

    const ours = logSoftmaxRows(logits, vocab);
    const reference = await llamaCppLogprobs(MODEL, TOKENS);
    assert.equal(reference.vocab, vocab, 'vocabulary size: ringlm vs llama.cpp');
    const { maxAbs, worstPosition, requiredMismatches } = compareLogprobs(reference, ours, vocab, TOLERANCE);
    t.diagnostic(`max |log p(ringlm) - log p(llama.cpp)| = ${maxAbs.toExponential(2)} (position ${worstPosition})`);
    assert.ok(maxAbs <= TOLERANCE,
      `log-probabilities differ from llama.cpp's by ${maxAbs} at position ${worstPosition} (tolerance ${TOLERANCE})`);
    assert.deepEqual(requiredMismatches, [], 'top-1 token differs from llama.cpp at these positions');
  });

  await t.test('the CLI works from the installed package, with a given model and with the built-in one', async () => {
    const bin = path.join(consumerDir, 'node_modules/.bin/ringlm');
    assert.ok(existsSync(bin), 'npm linked no ringlm command');
    const given = await run(bin, ['-m', MODEL, '-p', 'abc', '-n', '8', '--seed', '1'],
      { cwd: consumerDir, env: cleanEnv, timeout: EXIT_TIMEOUT_MS });
    assert.ok(given.stdout.startsWith('abc'), 'the prompt is echoed, then the generated text');
    assert.match(given.stderr, /generated at .* tok\/s; finish: (length|stop); seed 1/);
    const builtIn = await run(bin, ['-p', 'And God said', '-n', '12', '--temp', '0'],
      { cwd: consumerDir, env: cleanEnv, timeout: EXIT_TIMEOUT_MS });
    assert.ok(builtIn.stdout.startsWith('And God said') && builtIn.stdout.length > 'And God said'.length + 5);
    // Bad input: one line, non-zero exit.
    await assert.rejects(run(bin, ['-m', '/nonexistent.gguf', '-p', 'x'], { cwd: consumerDir, env: cleanEnv }),
      (e) => e.code === 1 && /model file not found/.test(e.stderr) && e.stderr.trim().split('\n').length === 1);
    await assert.rejects(run(bin, ['--temp', 'hot'], { cwd: consumerDir, env: cleanEnv }),
      (e) => e.code === 2 && /--temp needs a number/.test(e.stderr));
  });
});
