// The malformed-file corpus (tools/make-bad-models.mjs): every bad file is refused with its own error
// text, by the wasm module (RingLM.load) and by the native build (ringlm-cli), without leaking wasm
// memory; afterwards the same module still loads a good file and generates exactly as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeBadModels } from '../tools/make-bad-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'build/bad-models');
const NATIVE = path.join(process.env.RINGLM_NATIVE_BUILD ?? path.join(ROOT, 'build/native'), 'ringlm-cli');
const manifest = makeBadModels(DIR);
const GOOD = path.join(DIR, 'good.gguf');

async function greedy(lm) {
  return (await lm.complete('hello world', { temperature: 0, maxTokens: 12 })).tokens;
}

test('the corpus covers the issue\'s list', () => {
  assert.ok(manifest.length >= 30, `only ${manifest.length} files`);
  const names = manifest.map((m) => m.file).join(' ');
  for (const kind of ['magic', 'version-0', 'version-1', 'version-4', 'cut-after-header', 'cut-after-metadata',
    'cut-after-tensor-infos', 'cut-in-data', 'count-2p63', 'string-length-past-end', 'offset-past-end', 'overlap',
    'misaligned', 'dims-overflow', 'missing-architecture', 'missing-tensor', 'wrong-shape', 'unsupported-type',
    'scores-length', 'bos-out-of-range']) {
    assert.ok(names.includes(kind), `no ${kind} file`);
  }
});

test('wasm: each bad file gives its own error; the module then loads a good file and generates', async () => {
  const good = await RingLM.load(GOOD);
  const before = await greedy(good);
  good.dispose();
  assert.equal(before.length, 12);
  const heapBefore = (await RingLM.memoryUsage()).heapBytesInUse;

  for (const { file, what, error } of manifest) {
    const bytes = readFileSync(path.join(DIR, file));
    // From a path (read in chunks) and from bytes: the same message.
    for (const source of [path.join(DIR, file), bytes]) {
      await assert.rejects(RingLM.load(source), (e) => {
        assert.ok(e instanceof Error);
        assert.ok(e.message.startsWith('RingLM.load: '), `${file}: ${e.message}`);
        assert.ok(e.message.includes(error), `${file} (${what}): expected "${error}", got "${e.message}"`);
        return true;
      });
    }
  }
  // Every failed load gave back what it took (the file's bytes, the parsed metadata, any tokenizer).
  const heapAfter = (await RingLM.memoryUsage()).heapBytesInUse;
  assert.ok(Math.abs(heapAfter - heapBefore) < 4096, `heap in use went from ${heapBefore} to ${heapAfter} bytes`);

  const again = await RingLM.load(GOOD);
  assert.deepEqual(await greedy(again), before);
  again.dispose();
});

test('native: ringlm-cli refuses each bad file with the same message', { skip: !existsSync(NATIVE) && `${NATIVE} is missing` }, () => {
  for (const { file, what, error } of manifest) {
    const r = spawnSync(NATIVE, ['info', '-m', path.join(DIR, file)], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `${file} (${what}) was accepted`);
    assert.equal(r.signal, null, `${file}: killed by ${r.signal}`);
    assert.ok(r.stderr.includes(error), `${file} (${what}): expected "${error}", got "${r.stderr.trim()}"`);
  }
  const ok = spawnSync(NATIVE, ['info', '-m', GOOD], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});
