// lm.chatCache and restoreState(state, { chat }): a chat saved with saveState() continues after a restore, in a
// fresh model, exactly as the uninterrupted conversation does, running only the new turn's tokens; a bad `chat`
// is refused. (The page keeps conversations across reloads with these: tests/web-models.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeChatModels } from '../tools/gguf/chat-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPTIONS = { temperature: 0, maxTokens: 16, logprobs: 2 };
let file;
const open = [];

before(() => {
  file = makeChatModels(path.join(ROOT, 'build/models')).chatml;
});
after(() => {
  for (const lm of open) lm.dispose();
});

async function load() {
  const lm = await RingLM.load(file, { contextSize: 256 });
  open.push(lm);
  return lm;
}

/**
 * One chat turn: its text, the log-probabilities of its tokens (they depend on every cached token), how many prompt
 * tokens ran and how many the cache already held (the result's cachedTokens).
 */
async function turn(lm, messages) {
  let text = '';
  const logprobs = [];
  for await (const t of lm.chat(messages, OPTIONS)) {
    text += t.text;
    if (t.id >= 0) logprobs.push(t.logprobs.logprob);
  }
  return { text, logprobs, promptTokens: lm.lastResult.timings.promptTokens, cachedTokens: lm.lastResult.cachedTokens };
}

test('a chat restored with its chatCache continues as the uninterrupted one, running only the new tokens', async () => {
  const first = [{ role: 'user', content: 'Hi there' }];
  const a = await load();
  assert.equal(a.chatCache, null, 'no chat turn yet');
  const one = await turn(a, first);
  const state = a.saveState();
  const chat = a.chatCache;
  assert.ok(chat.ids instanceof Int32Array && chat.ids.length > 0);
  assert.equal(chat.position, a.position);
  const second = [...first, { role: 'assistant', content: one.text }, { role: 'user', content: 'And then?' }];
  const uninterrupted = await turn(a, second);
  const full = a.tokenize(a.applyChatTemplate(second), { special: true }).length;
  assert.ok(uninterrupted.promptTokens < full, `the uninterrupted chat reused its cache (${uninterrupted.promptTokens} of ${full})`);
  assert.equal(one.cachedTokens, 0, 'the first turn ran from the start');
  // The cache held all of the first turn but its end token, which runs first: every prompt token is counted once.
  assert.equal(uninterrupted.cachedTokens, chat.position);
  assert.equal(uninterrupted.cachedTokens + uninterrupted.promptTokens, full);

  const b = await load();
  b.restoreState(state, { chat: { ids: Array.from(chat.ids), position: chat.position } });  // as stored: plain data
  assert.deepEqual(b.chatCache, chat);
  const restored = await turn(b, second);
  assert.ok(uninterrupted.logprobs.length > 0);
  assert.deepEqual(restored, uninterrupted, 'the same tokens, log-probabilities and prompt tokens');

  const c = await load();
  c.restoreState(state);
  assert.equal(c.chatCache, null, 'without chat, restoreState leaves chat() nothing to continue');
  const rerun = await turn(c, second);
  assert.equal(rerun.promptTokens, full, 'so the next turn runs the whole conversation');
  assert.equal(rerun.cachedTokens, 0);
});

test('restoreState refuses a chat that does not fit, and any later call forgets the chat', async () => {
  const lm = await load();
  await turn(lm, [{ role: 'user', content: 'Hi there' }]);
  const state = lm.saveState();
  const { ids, position } = lm.chatCache;
  assert.throws(() => lm.restoreState(state, { chat: { ids: [lm.info.vocabSize], position } }),
    /^RangeError: RingLM\.restoreState: chat must be the \{ ids, position \} lm\.chatCache gave: chat\.ids\[0\] is 50259, not a token id below 50259 \(the state is restored; the next chat\(\) turn runs from the start\)$/);
  assert.throws(() => lm.restoreState(state, { chat: { ids: [1.5], position } }), /chat\.ids\[0\] is 1\.5/);
  assert.throws(() => lm.restoreState(state, { chat: { ids, position: -1 } }), /^TypeError: RingLM\.restoreState: chat must be/);
  assert.throws(() => lm.restoreState(state, { chat: 'yes' }), /^TypeError: RingLM\.restoreState: chat must be/);
  assert.throws(() => lm.restoreState(state, { chats: { ids, position } }),
    { name: 'TypeError', message: "RingLM.restoreState: unknown option 'chats' (did you mean 'chat'?)" });
  assert.throws(() => lm.restoreState(state, { chat: { ids, position: position + 1 } }),
    new RegExp(`^Error: RingLM\\.restoreState: chat\\.position is ${position + 1}, but the restored state is at position ${position}`));
  assert.equal(lm.chatCache, null, 'a refused chat is not kept');
  lm.restoreState(state, { chat: { ids, position } });
  assert.equal(lm.chatCache.position, position);
  lm.decode(5);
  assert.equal(lm.chatCache, null, 'the cache changed: the chat is forgotten');
});
