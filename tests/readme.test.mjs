// The README's JavaScript examples are real: each ```js block of "Use from JavaScript" runs in its
// own Node process against a test model, and must finish without an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { makeVocabModels } from '../tools/gguf/vocab-models.mjs';
import { makeChatModels } from '../tools/gguf/chat-models.mjs';
import { makeToolModels } from '../tools/gguf/tool-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// A tiny random-weight model carrying the real Llama-2 vocabulary: the examples' text round-trips.
const MODEL = path.join(ROOT, 'build/models/vocab-llama-spm.gguf');
makeVocabModels(path.join(ROOT, 'build/models'));
// For the chat example: a model with a ChatML template that answers every turn (tools/gguf/chat-models.mjs).
const CHAT_MODEL = makeChatModels(path.join(ROOT, 'build/models')).chatml;
// For the tool-call example: Qwen 2.5's template, a model that calls get_weather (tools/gguf/tool-models.mjs).
const TOOL_MODEL = makeToolModels(path.join(ROOT, 'build/models')).qwen25;

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Use from JavaScript'), readme.indexOf('\n## ', readme.indexOf('## Use from JavaScript') + 5));
const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

test('the README has JavaScript examples', () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length}`);
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs`, () => {
    assert.ok(existsSync(MODEL), `${MODEL} is missing: run node tools/make-test-models.mjs`);
    const dir = mkdtempSync(path.join(tmpdir(), 'ringlm-readme-'));
    const file = path.join(dir, `example-${i + 1}.mjs`);
    const source = code
      .replaceAll("from 'ringlm'", `from '${pathToFileURL(path.join(ROOT, 'wasm/ringlm.js')).href}'`)
      .replaceAll("'model.gguf'", JSON.stringify(MODEL))
      .replaceAll("'chat-model.gguf'", JSON.stringify(CHAT_MODEL))
      .replaceAll("'tool-model.gguf'", JSON.stringify(TOOL_MODEL));
    // console.assert only prints; make a failed assertion fail the example.
    writeFileSync(file, `console.assert = (ok, ...m) => { if (!ok) throw new Error('assertion failed ' + m.join(' ')); };\n${source}`);
    execFileSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  });
});
