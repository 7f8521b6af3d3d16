// Misuse of the JS API, in Node (tests/browser-misuse.test.mjs runs the same cases in Chromium and Firefox):
//   - two generations at once on one model: the second is refused with a clear error, the first goes on;
//   - dispose() during a generation (while decoding, while reading the prompt, inside a chat): the iterator
//     ends with an AbortError, the wasm heap is back where it was before the load, other models go on;
//   - every method and getter after dispose(): a clear error naming it;
//   - restoreState() of a snapshot from another model (same shapes, other weights), another contextSize or an
//     older format: refused with an error saying which, and the ring is untouched (the session goes on exactly
//     as if the call had not been made).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { misuseCases } from './browser/misuse.mjs';
import { writeMisuseModels } from './robustness/misuse-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { model: MODEL, twin: TWIN } = writeMisuseModels(ROOT).files;

// The cases shared with the browsers: each takes RingLM and two models' sources and throws on failure.
for (const [name, run] of Object.entries(misuseCases)) {
  test(name, () => run(RingLM, MODEL, TWIN));
}

test('dispose() inside onPrefillProgress, while the prompt is read in chunks: AbortError, heap back to before the load', async () => {
  const before = (await RingLM.memoryUsage()).heapBytesInUse;
  const lm = await RingLM.load(MODEL, { contextSize: 256 });
  let chunks = 0;
  const iterator = lm.generate(Array.from({ length: 200 }, (_, i) => 1 + (i % 250)), {
    maxTokens: 5, prefillChunk: 16,
    onPrefillProgress: () => { if (++chunks === 3) lm.dispose(); },
  });
  await assert.rejects(iterator.next(), (e) => e instanceof DOMException && e.name === 'AbortError' &&
    /RingLM.generate: the model was disposed during the generation/.test(e.message));
  assert.equal(chunks, 3, 'no step ran after dispose()');
  assert.deepEqual(await iterator.next(), { value: undefined, done: true }, 'the iterator is finished');
  assert.equal((await RingLM.memoryUsage()).heapBytesInUse, before, 'nothing of the model or its generation is left');
});
