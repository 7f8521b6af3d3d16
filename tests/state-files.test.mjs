// Prompt-state files are portable (#18 item 5): native, Node and browser builds compute the same bits, so a
// session saved by one restores in any other and continues with the same tokens. Saved by the native CLI
// (`ringlm-cli prefill`), by the `ringlm prefill` command and by Node's saveState(); restored natively
// (`ringlm-cli generate --state`), in Node (bytes and a path), in Chromium (a URL and a Blob) and through
// `ringlm --state`. A file of another model or context size is refused, and the model stays usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { launchChromium, openHarness, startPageServer } from './browser/chromium.mjs';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = path.join(ROOT, 'build/native/ringlm-cli');
const DIR = path.join(ROOT, 'build/models');
const MODEL = path.join(DIR, 'state-files.gguf');
const OTHER = path.join(DIR, 'state-files-other.gguf');
const CTX = 96;
const PROMPT = [1, 17, 40, 99, 120, 7, 230, 64, 12, 5, 88, 200, 31];  // the "system prompt", saved
const MORE = [45, 46, 47];                                              // what the user adds after it
const GEN = { maxTokens: 24, temperature: 0.9, topK: 40, seed: 77 };

const write = (file, bytes) => {
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
};

let reference;  // Node: prefill, then the continuation, without any file

before(async () => {
  assert.ok(existsSync(NATIVE), `${NATIVE} is missing: run npm run build`);
  mkdirSync(DIR, { recursive: true });
  const shape = { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 256, type: 'Q8_0' };
  write(MODEL, makeRandomLlama({ seed: 31, ...shape }).toBuffer());
  write(OTHER, makeRandomLlama({ seed: 32, ...shape }).toBuffer());
  const lm = await RingLM.load(MODEL, { contextSize: CTX });
  lm.prefill(PROMPT);
  reference = { state: lm.saveState(), tokens: (await lm.complete(MORE, { ...GEN, keepCache: true })).tokens };
  lm.dispose();
  assert.equal(reference.tokens.length, GEN.maxTokens, 'a continuation long enough to tell runs apart');
});

const nativeState = () => {
  const file = path.join(DIR, 'state-files.native.state');
  execFileSync(NATIVE, ['prefill', '-m', MODEL, '--ctx', String(CTX), '--tokens', PROMPT.join(','), '-o', file]);
  return file;
};

test('the native CLI writes the same bytes as Node, and each continues the other\'s state identically', async () => {
  const file = nativeState();
  assert.deepEqual(new Uint8Array(readFileSync(file)), reference.state, 'one format, the same bits');

  const lm = await RingLM.load(MODEL, { contextSize: CTX });
  try {
    await lm.restoreState(file);  // a path
    assert.deepEqual((await lm.complete(MORE, { ...GEN, keepCache: true })).tokens, reference.tokens);
  } finally {
    lm.dispose();
  }
  const nodeFile = path.join(DIR, 'state-files.node.state');
  writeFileSync(nodeFile, reference.state);
  const native = execFileSync(NATIVE, ['generate', '-m', MODEL, '--ctx', String(CTX), '--state', nodeFile, '--tokens', MORE.join(','),
    '-n', String(GEN.maxTokens), '--temp', String(GEN.temperature), '--top-k', String(GEN.topK), '--seed', String(GEN.seed)], { encoding: 'utf8' });
  assert.deepEqual(native.trim().split(/\s+/).map(Number), reference.tokens, 'native continues Node\'s state');
});

test('saved natively, restored in Chromium (a URL and a Blob): the same next tokens', { timeout: 120_000 }, async () => {
  // The dev server serves test models by extension; the state goes beside them under a .gguf name.
  const served = path.join(DIR, 'state-files.native-state.gguf');
  copyFileSync(nativeState(), served);
  const browser = await launchChromium();
  const server = await startPageServer({ harness: true });
  try {
    const page = await browser.newPage();
    await openHarness(page, server);
    const r = await page.evaluate(async ({ model, state, other, ctx, more, gen }) => {
      const { RingLM } = window;
      const lm = await RingLM.load(model, { contextSize: ctx, cache: false });
      await lm.restoreState(state);
      const fromUrl = (await lm.complete(more, { ...gen, keepCache: true })).tokens;
      await lm.restoreState(await (await fetch(state)).blob());
      const fromBlob = (await lm.complete(more, { ...gen, keepCache: true })).tokens;
      const wrong = await RingLM.load(other, { contextSize: ctx, cache: false });
      let refused = null;
      try {
        await wrong.restoreState(state);
      } catch (e) {
        refused = e.message;
      }
      wrong.dispose();
      lm.dispose();
      return { fromUrl, fromBlob, refused };
    }, { model: `/build/models/${path.basename(MODEL)}`, state: `/build/models/${path.basename(served)}`,
      other: `/build/models/${path.basename(OTHER)}`, ctx: CTX, more: MORE, gen: GEN });
    assert.deepEqual(r.fromUrl, reference.tokens);
    assert.deepEqual(r.fromBlob, reference.tokens);
    assert.match(r.refused ?? '', /RingLM\.restoreState: .*(another model|model file)/);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('ringlm prefill writes a state that ringlm --state continues; wrong pairings are refused clearly', async () => {
  const file = path.join(DIR, 'state-files.cli.state');
  const text = 'The state of a prompt, saved once.';
  execFileSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), 'prefill', '-m', MODEL, '--ctx', String(CTX), '-p', text, '-o', file],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = execFileSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), '-m', MODEL, '--ctx', String(CTX), '--state', file,
    '-p', ' And then', '-n', '12', '--seed', '5', '--temp', '0.9'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  const lm = await RingLM.load(MODEL, { contextSize: CTX });
  try {
    lm.prefill(lm.tokenize(text));
    assert.deepEqual(lm.saveState(), new Uint8Array(readFileSync(file)), 'the command saves what saveState() does');
    const expected = await lm.complete(' And then', { maxTokens: 12, seed: 5, temperature: 0.9, keepCache: true });
    assert.equal(cli, ` And then${expected.text}\n`);

    // Another context size, another model: refused before anything changes; the model goes on.
    const small = await RingLM.load(MODEL, { contextSize: CTX / 2 });
    await assert.rejects(small.restoreState(file), /RingLM\.restoreState: .*context/);
    small.dispose();
    const other = await RingLM.load(OTHER, { contextSize: CTX });
    await assert.rejects(other.restoreState(file), /RingLM\.restoreState: /);
    other.dispose();
    await assert.rejects(lm.restoreState(path.join(DIR, 'no-such.state')), /RingLM\.restoreState: cannot read '.*no-such\.state': ENOENT/);
    assert.throws(() => lm.restoreState(42), /state must be the Uint8Array saveState\(\) returned, or a URL/);
    lm.reset();
    assert.ok(lm.prefill([1, 2, 3]).length > 0, 'still usable');
  } finally {
    lm.dispose();
  }
});
