// `ringlm chat` (wasm/lib/cli-chat.js), run as a child process with piped stdin: lines in, one reply per line out.
// The chat models come from tools/gguf/chat-models.mjs: greedy decoding answers every turn "Hello, world" and then
// the end-of-turn token. Checked here: a second turn continues the cache and leaves it holding exactly the tokens of
// a fresh lm.chat() over the whole conversation (same ids; the restored cache gives a fresh prefill's logits);
// /save then /load in a new process continues bit for bit as one process does; /reset forgets; SIGINT stops a reply
// and the chat goes on; a full context is reported under each policy; bad commands, files and flags are told
// without leaving; a model without a template (the built-in one) chats through the plain template, and a template
// file overrides it; a URL loads through the download cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { chatPromptIds } from '../wasm/lib/chat.js';
import { makeChatModels } from '../tools/gguf/chat-models.mjs';
import { PLAIN_TEMPLATE } from '../wasm/lib/cli-chat.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = makeChatModels(path.join(ROOT, 'build/models'));
const CHATML = MODELS.chatml;
const CTX = 256;
const TMP = mkdtempSync(path.join(os.tmpdir(), 'ringlm-chat-test-'));
const CACHE_DIR = path.join(TMP, 'cache');
const SYSTEM = 'You are terse.';
const REPLY = 'Hello, world';

/** The CLI's chat as a child: send(line), end(), interrupt(), waitFor(stream, pattern), and done() -> { code, stdout, stderr }. */
function startChat(args) {
  const child = spawn(process.execPath, [path.join(ROOT, 'wasm/cli.js'), 'chat', ...args],
    { env: { ...process.env, RINGLM_CACHE_DIR: CACHE_DIR }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) {
      const at = out[w.stream].indexOf(w.text, w.from);
      if (at >= 0) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(at + w.text.length);
      }
    }
  };
  for (const stream of ['stdout', 'stderr']) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (text) => {
      out[stream] += text;
      check();
    });
  }
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...out })));
  return {
    out,
    send: (line) => child.stdin.write(`${line}\n`),
    end: () => child.stdin.end(),
    interrupt: () => child.kill('SIGINT'),
    /** Resolves with the offset after `text` in the stream, once it appears after offset `from`. */
    waitFor: (stream, text, from = 0) => {
      const w = { stream, text, from };
      const p = new Promise((resolve, reject) => {
        w.resolve = resolve;
        exited.then(() => reject(new Error(`the chat ended before '${text}' appeared on ${stream}:\n${out.stderr}`)));
      });
      waiters.push(w);
      check();
      return p;
    },
    done: () => exited,
  };
}

/** A whole chat: the lines piped in, stdin closed. */
async function chat(args, lines) {
  const c = startChat(args);
  for (const line of lines) c.send(line);
  c.end();
  return c.done();
}

const replies = (stdout) => stdout.split('\n').slice(0, -1);
const readConversation = (file) => JSON.parse(readFileSync(`${file}.json`, 'utf8'));

let lm;
before(async () => {
  lm = await RingLM.load(CHATML, { contextSize: CTX });
});
after(() => {
  lm.dispose();
  rmSync(TMP, { recursive: true, force: true });
});

/**
 * A fresh lm.chat() over `messages`: its text, the prompt's length and the tokens lm.chatCache says it left in the
 * cache, checked here to be the prompt (rendered and tokenized apart), the reply and the token that ended it.
 */
async function freshChat(messages, options = {}) {
  lm.reset();
  const prompt = chatPromptIds(lm, lm.applyChatTemplate(messages));
  const reply = [];
  let text = '';
  for await (const t of lm.chat(messages, { temperature: 0, ...options })) {
    if (t.id >= 0) reply.push(t.id);
    text += t.text;
  }
  const ids = Array.from(lm.chatCache.ids);
  assert.deepEqual(ids.slice(0, -1), [...prompt, ...reply], 'the cache holds the prompt and the reply');
  const ends = [...lm.tokenizer.endOfGeneration, ...lm.tokenize('<|im_end|>', { special: true, addBos: false })];
  assert.ok(ends.includes(ids.at(-1)), `then the token that ended the reply (${ids.at(-1)})`);
  assert.equal(lm.lastResult.cachedTokens, 0);
  assert.equal(lm.lastResult.timings.promptTokens, prompt.length);
  return { text, ids, promptLength: prompt.length };
}

test('ringlm --help lists the chat, and ringlm chat --help its commands and the generation flags', async () => {
  const main = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'wasm/cli.js'), '--help']);
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.on('close', (code) => resolve({ code, stdout }));
  });
  assert.equal(main.code, 0);
  assert.match(main.stdout, /ringlm chat \[options\] +an interactive chat/);
  const help = await chat(['--help'], []);
  assert.equal(help.code, 0, help.stderr);
  for (const item of ['/save FILE', '/load FILE', '/reset', '/stats', '/help', 'Ctrl+C', '--system TEXT', '--template-file', '--temp X', '--max-tokens']) {
    assert.ok(help.stdout.includes(item), `chat --help mentions ${item}`);
  }
});

test('the second turn continues the cache, which then holds exactly what a fresh lm.chat() over the conversation holds', async () => {
  const file = path.join(TMP, 'two');
  const sampled = { temperature: 0.9, seed: 5 };  // with a seed, each turn samples from it, as lm.chat() does
  const run = await chat(['-m', CHATML, '--ctx', String(CTX), '--system', SYSTEM, '--temp', '0.9', '--seed', '5'],
    ['Hi there', '/stats', 'How are you?', '/stats', `/save ${file}`]);
  assert.equal(run.code, 0, run.stderr);
  const [first, second] = replies(run.stdout);
  assert.equal(first, REPLY);
  assert.deepEqual(replies(run.stdout).length, 2, 'stdout holds the replies only, one line each');

  const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Hi there' }];
  const turn1 = await freshChat(messages, sampled);
  messages.push({ role: 'assistant', content: first }, { role: 'user', content: 'How are you?' });
  const fresh = await freshChat(messages, sampled);
  assert.equal(second, fresh.text);
  const saved = readConversation(file);
  assert.deepEqual(saved.messages, [...messages, { role: 'assistant', content: second }]);
  assert.deepEqual(saved.chat.ids, fresh.ids, 'the same tokens as a fresh chat over the whole conversation');
  assert.equal(saved.chat.position, fresh.ids.length - 1, 'all but the pending end token are in the cache');

  // The second turn ran only what the first left out of the cache: its end token and the new turn's tokens.
  const stats = [...run.stderr.matchAll(/last turn: (\d+) prompt tokens \((.*?)\)/g)];
  assert.deepEqual(stats.map((m) => m[2]), ['from the start', 'continuing the cache']);
  assert.equal(Number(stats[0][1]), turn1.promptLength);
  assert.equal(Number(stats[1][1]), fresh.promptLength - (turn1.ids.length - 1));

  // The saved cache is the conversation's: after its pending end token, the logits of a fresh run over all of it.
  lm.restoreState(new Uint8Array(readFileSync(file)));
  const continued = lm.decode(saved.chat.ids.at(-1));
  lm.reset();
  const scratch = lm.prefill(saved.chat.ids);
  let worst = 0;
  for (let i = 0; i < scratch.length; i++) worst = Math.max(worst, Math.abs(scratch[i] - continued[i]));
  assert.ok(worst < 1e-4, `logits differ by ${worst}`);
});

test('/save, then /load in a new process, continues as one process does, bit for bit (sampled, seeded)', async () => {
  const args = ['-m', CHATML, '--ctx', String(CTX), '--system', SYSTEM, '--temp', '0.9', '--seed', '7'];
  const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(TMP, `resume-${name}`));
  const first = await chat(args, ['Hi there', `/save ${a}`]);
  assert.equal(first.code, 0, first.stderr);
  const resumed = await chat(args, [`/load ${a}`, 'How are you?', '/stats', `/save ${b}`]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /loaded 3 messages and \d+ tokens from/);
  assert.match(resumed.stderr, /prompt tokens \(continuing the cache\)/);
  const whole = await chat(args, ['Hi there', 'How are you?', `/save ${c}`]);
  assert.equal(whole.code, 0, whole.stderr);

  assert.deepEqual(replies(resumed.stdout), [replies(whole.stdout)[1]]);
  assert.deepEqual(readConversation(b).messages, readConversation(c).messages);
  assert.deepEqual(readConversation(b).chat, readConversation(c).chat);
  // The whole session (KV ring, logits, the sampler's random stream and penalty history) is the same bytes.
  assert.ok(readFileSync(b).equals(readFileSync(c)), 'the state after /load and a turn equals the state of one process');
});

test('/reset forgets the conversation (the system message stays) and the next turn runs from the start', async () => {
  const file = path.join(TMP, 'reset');
  const run = await chat(['-m', CHATML, '--ctx', String(CTX), '--system', SYSTEM, '--temp', '0'],
    ['Hi there', '/reset', 'How are you?', '/stats', `/save ${file}`]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /the conversation is forgotten/);
  const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'How are you?' }];
  const fresh = await freshChat(messages);
  assert.deepEqual(replies(run.stdout), [REPLY, fresh.text]);
  const saved = readConversation(file);
  assert.deepEqual(saved.messages, [...messages, { role: 'assistant', content: fresh.text }]);
  assert.deepEqual(saved.chat.ids, fresh.ids);
  assert.match(run.stderr, new RegExp(`last turn: ${fresh.promptLength} prompt tokens \\(from the start\\)`));
});

/** --logit-bias flags that ban every token that could end a reply: the replies then run until stopped. */
function banEndings() {
  const ids = new Set([...lm.tokenizer.endOfGeneration, ...lm.tokenize('<|im_end|>', { special: true, addBos: false })]);
  return [...ids].flatMap((id) => ['--logit-bias', `${id}=-inf`]);
}

test('SIGINT stops a reply, keeps what was said, and the chat goes on; at the prompt, twice, it leaves', async () => {
  const file = path.join(TMP, 'interrupted');
  const c = startChat(['-m', CHATML, '--ctx', '64', '--temp', '0', '-n', '1000000', ...banEndings()]);
  c.send('Hi there');
  await c.waitFor('stdout', 'Hello');
  c.interrupt();
  let at = await c.waitFor('stderr', 'stopped (the reply so far is kept)');
  c.send('/stats');
  at = await c.waitFor('stderr', 'finish: stopped (Ctrl+C)', at);
  const before = c.out.stdout.length;
  c.send('How are you?');
  await c.waitFor('stdout', 'Hello', before);
  c.interrupt();
  at = await c.waitFor('stderr', 'stopped (the reply so far is kept)', at);
  c.send(`/save ${file}`);
  at = await c.waitFor('stderr', 'saved 4 messages', at);
  c.interrupt();  // at the prompt: a notice; a second one leaves
  await c.waitFor('stderr', 'Ctrl+C again or Ctrl+D to leave', at);
  c.interrupt();
  const run = await c.done();
  assert.equal(run.code, 0, run.stderr);

  const saved = readConversation(file);
  assert.deepEqual(saved.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  const [, reply1, , reply2] = saved.messages.map((m) => m.content);
  const shown = replies(run.stdout);
  assert.deepEqual([reply1, reply2], shown, 'the stopped replies are kept as they were shown');
  for (const reply of [reply1, reply2]) assert.ok(reply.startsWith(REPLY) || REPLY.startsWith(reply), JSON.stringify(reply));
});

test('a full context: the ring\'s policy decides, and the chat says what happened', async () => {
  // sinks (the default): a reply longer than the ring goes on, and the dropped tokens are reported.
  const sinks = await chat(['-m', CHATML, '--ctx', '32', '--temp', '0', '-n', '40', ...banEndings()], ['Hi there']);
  assert.equal(sinks.code, 0, sinks.stderr);
  assert.match(sinks.stderr, /the context is full \(32 tokens\): under policy 'sinks' the ring dropped \d+ tokens this turn/);
  assert.match(sinks.stderr, /the reply reached --max-tokens \(40\)/);

  // stop: a reply cut short by the ring, then a conversation that no longer fits; /reset starts over.
  const { promptLength } = await freshChat([{ role: 'user', content: 'Hi there' }]);
  const ctx = promptLength + 1;  // room for the prompt and one reply token: the second one is sampled, not run
  const stop = await chat(['-m', CHATML, '--ctx', String(ctx), '--temp', '0', '--context-policy', 'stop'],
    ['Hi there', 'How are you?', '/reset', 'Hi there']);
  assert.equal(stop.code, 0, stop.stderr);
  const shown = replies(stop.stdout);
  assert.equal(shown.length, 3);
  assert.ok(REPLY.startsWith(shown[0]) && shown[0].length < REPLY.length, `cut short: ${JSON.stringify(shown[0])}`);
  assert.equal(shown[1], '');
  assert.equal(shown[2], shown[0]);
  assert.match(stop.stderr, new RegExp(`the context is full \\(${ctx} tokens, policy 'stop'\\): the reply was cut short`));
  assert.match(stop.stderr, new RegExp(`the conversation no longer fits the context \\(${ctx} tokens, policy 'stop'\\)`));
});

test('bad commands and bad files are told, and the chat goes on', async () => {
  // A chat saved with another model (its state is refused by the model fingerprint), and pairs that do not match.
  const llama3 = path.join(TMP, 'llama3');
  const other = await chat(['-m', MODELS.llama3, '--ctx', String(CTX), '--temp', '0'], ['Hi there', `/save ${llama3}`]);
  assert.equal(other.code, 0, other.stderr);
  const good = path.join(TMP, 'good');
  const saved = await chat(['-m', CHATML, '--ctx', String(CTX), '--temp', '0'], ['Hi there', `/save ${good}`]);
  assert.equal(saved.code, 0, saved.stderr);
  const mixed = path.join(TMP, 'mixed');
  copyFileSync(llama3, mixed);
  copyFileSync(`${good}.json`, `${mixed}.json`);
  const garbled = path.join(TMP, 'garbled');
  copyFileSync(good, garbled);
  writeFileSync(`${garbled}.json`, '{"format": "ringlm-chat", ');
  const alone = path.join(TMP, 'alone');
  copyFileSync(good, alone);
  // The llama3 chat as saved, and its state alone (a chat whose cache held no finished turn): restoreState()
  // refuses the first for its chat's token ids, the second for its model, before anything changes.
  const llama3Alone = path.join(TMP, 'llama3-no-chat');
  copyFileSync(llama3, llama3Alone);
  writeFileSync(`${llama3Alone}.json`, JSON.stringify({ ...readConversation(llama3), chat: null }));

  const run = await chat(['-m', CHATML, '--ctx', String(CTX), '--temp', '0'], [
    '/nope', '/sav x', '/save', '/reset now', `/load ${path.join(TMP, 'missing')}`, `/load ${alone}`, `/load ${garbled}`,
    `/load ${mixed}`, `/load ${llama3}`, `/load ${llama3Alone}`, `/save ${path.join(TMP, 'no-such-dir', 'x')}`, 'Hi there', '//help me',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const expected = [
    "unknown command '/nope'", "unknown command '/sav' (did you mean '/save'?)", '/save needs FILE',
    "/reset takes no argument (got 'now')", `cannot read ${path.join(TMP, 'missing')}.json`,
    `cannot read ${alone}.json (the conversation /save writes beside the state): ENOENT`, `${garbled}.json is not JSON`,
    `${mixed} is not the state saved with ${mixed}.json`, `cannot write ${path.join(TMP, 'no-such-dir', 'x')}: ENOENT`,
  ];
  for (const text of expected) assert.ok(run.stderr.includes(text), `stderr says: ${text}\n${run.stderr}`);
  const escaped = (file) => file.replace(/[.]/g, '\\.');
  // The state is checked before the chat it carries: another model's is refused as such.
  assert.match(run.stderr, new RegExp(`ringlm: ${escaped(llama3)}: RingLM\\.restoreState: .*model`));
  assert.match(run.stderr, new RegExp(`ringlm: ${escaped(llama3Alone)}: RingLM\\.restoreState: .*model`));
  assert.deepEqual(replies(run.stdout), [REPLY, REPLY], 'the chat answered after all of them, from the start');
});

test('flags: what the chat does not take, typos, a template file instead of the plain one', async () => {
  const p = await chat(['-m', CHATML, '-p', 'hi'], []);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /chat does not take -p/);
  const typo = await chat(['-m', CHATML, '--tmp', '0'], []);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option '--tmp' \(did you mean '--temp'\?\)/);
  // A template file overrides the plain one on the built-in model: it chats as lm.chat() with that template does.
  const template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}";
  const file = path.join(TMP, 'plain.jinja');
  writeFileSync(file, template);
  const run = await chat(['--template-file', file, '--temp', '0', '-n', '12', '--ctx', '128'], ['And God said']);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /no chat template/);
  const builtin = await RingLM.loadDefault({ contextSize: 128 });
  let text = '';
  for await (const t of builtin.chat([{ role: 'user', content: 'And God said' }], { template, temperature: 0, maxTokens: 12 })) text += t.text;
  builtin.dispose();
  assert.ok(text.length > 0);
  assert.deepEqual(replies(run.stdout), [text]);
});

test('without -m: the built-in model, which has no chat template, chats through the plain one', async () => {
  // The plain template: one text, each message but a reply starting a line, the last one left for the model to go on.
  const conversation = [{ role: 'system', content: 'In the beginning.' }, { role: 'user', content: 'And God said' },
    { role: 'assistant', content: ' unto Moses' }, { role: 'user', content: 'And the LORD' }];
  const builtin = await RingLM.loadDefault({ contextSize: 256 });
  try {
    assert.equal(builtin.chatTemplate, null);
    assert.equal(builtin.applyChatTemplate(conversation, { template: PLAIN_TEMPLATE }),
      'In the beginning.\nAnd God said unto Moses\nAnd the LORD');
    // The model never saw a newline (each chapter is one paragraph): a bias on it makes a reply end at one.
    const newline = 13;
    assert.equal(builtin.detokenize([newline], { stripLeadingSpace: false }), '\n');
    const flags = ['--temp', '0', '-n', '40', '--ctx', '256', '--logit-bias', `${newline}=10`];
    const run = await chat(flags, ['And God said', '/stats', 'unto Moses', '/stats']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /the built-in model has no chat template \(tokenizer\.chat_template\): the plain one is used: each message starts a line, the model continues it, and its reply ends at a newline \(--template-file FILE/);
    const shown = replies(run.stdout);
    assert.equal(shown.length, 2, 'one line per reply: a reply ends before its newline');

    // Each reply is a fresh lm.chat() over the conversation with that template, ending at the newline.
    const options = { template: PLAIN_TEMPLATE, stop: '\n', temperature: 0, maxTokens: 40, logitBias: { [newline]: 10 } };
    const messages = [];
    const finishes = [];
    for (const [i, content] of ['And God said', 'unto Moses'].entries()) {
      messages.push({ role: 'user', content });
      builtin.reset();
      let text = '';
      for await (const t of builtin.chat(messages, options)) text += t.text;
      finishes.push(builtin.lastResult.finishReason);
      assert.equal(shown[i], text, `reply ${i + 1}`);
      messages.push({ role: 'assistant', content: text });
    }
    assert.equal(finishes[0], 'stop', 'the first reply ended at its newline');
    const stats = [...run.stderr.matchAll(/last turn: \d+ prompt tokens \((.*?)\)/g)].map((m) => m[1]);
    assert.deepEqual(stats, ['from the start', 'continuing the cache']);
  } finally {
    builtin.dispose();
  }
});

test('-m URL loads through the download cache', async () => {
  const bytes = readFileSync(CHATML);
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Length': bytes.length, ETag: '"1"', 'Content-Type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${server.address().port}/chat-chatml.gguf`;
    const run = await chat(['-m', url, '--ctx', String(CTX), '--temp', '0'], ['Hi there']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(replies(run.stdout), [REPLY]);
    const stored = readdirSync(CACHE_DIR, { recursive: true }).map((f) => path.join(CACHE_DIR, f));
    assert.ok(stored.some((f) => { try { return readFileSync(f).equals(bytes); } catch { return false; } }), 'the file is in the cache');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('--tools: a call is told on stderr and kept with its toolCalls, /tool RESULT answers it, as lm.chat() does', async () => {
  const { TOOL_MODELS, makeToolModels } = await import('../tools/gguf/tool-models.mjs');
  const TOOL_PATHS = makeToolModels(path.join(ROOT, 'build/models'));
  assert.ok(TOOL_MODELS.some((m) => m.family === 'qwen25'));
  const tools = [
    { name: 'get_weather', description: 'The weather in a city now',
      parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 24 } }, required: ['city'] } },
    { type: 'function', function: { name: 'get_time', description: 'The time now' } },
  ];
  const file = path.join(TMP, 'tools.json');
  writeFileSync(file, JSON.stringify(tools));
  const args = ['-m', TOOL_PATHS.qwen25, '--tools', file, '--temp', '0', '--ctx', '1024'];
  const state = path.join(TMP, 'tool-chat');
  const run = await chat(args, ['What is the weather in Paris?', 'hello', '/tool', '/tool {"temperature": 21}', `/save ${state}`]);
  assert.equal(run.code, 0, run.stderr);
  // The same conversation through the library: its calls, and the reply after the result.
  const ref = await RingLM.load(TOOL_PATHS.qwen25, { contextSize: 1024 });
  try {
    const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const texts = [];
    for (let turn = 0; turn < 2; turn++) {
      let text = '';
      for await (const t of ref.chat(messages, { tools, temperature: 0 })) text += t.text;
      texts.push(text);
      const r = ref.lastResult;
      assert.equal(r.finishReason, 'tool_calls');
      messages.push({ role: 'assistant', content: r.content, toolCalls: r.toolCalls });
      if (turn === 0) messages.push({ role: 'tool', name: r.toolCalls[0].name, content: '{"temperature": 21}' });
    }
    assert.deepEqual(replies(run.stdout), texts);
    assert.deepEqual(readConversation(state).messages, messages, 'the saved conversation holds the calls and the result');
  } finally {
    ref.dispose();
  }
  const told = run.stderr.split('\n').filter((l) => l.startsWith('ringlm: tool call: '));
  assert.deepEqual(told, ['ringlm: tool call: get_weather {"city":"Paris"}', 'ringlm: tool call: get_weather {"city":"Paris"}']);
  assert.match(run.stderr, /the model called get_weather: give each call its result with \/tool RESULT first \(or \/reset\); the message was not sent/);
  assert.match(run.stderr, /\/tool needs RESULT \(\/tool RESULT\): the result of get_weather/);
  // --tool-choice none: no tools shown, the same reply read as text.
  const none = await chat([...args, '--tool-choice', 'none'], ['What is the weather in Paris?', '/tool x']);
  assert.equal(none.code, 0, none.stderr);
  assert.doesNotMatch(none.stderr, /tool call:/);
  assert.match(none.stderr, /\/tool gives a tool call its result, and no call waits for one/);
  // Mistakes, before any model runs a turn.
  const bad = async (extra, status, pattern, model = TOOL_PATHS.qwen25) => {
    const r = await chat(['-m', model, ...extra], []);
    assert.equal(r.code, status, r.stderr);
    assert.match(r.stderr, pattern);
  };
  writeFileSync(path.join(TMP, 'not-json.json'), '[{"name": ');
  writeFileSync(path.join(TMP, 'not-list.json'), '{"name": "f"}');
  await bad(['--tools', path.join(TMP, 'missing.json')], 1, /cannot read --tools .*missing\.json: ENOENT/);
  await bad(['--tools', path.join(TMP, 'not-json.json')], 1, /--tools .*not-json\.json is not JSON/);
  await bad(['--tools', path.join(TMP, 'not-list.json')], 1, /must hold a JSON list of tools/);
  await bad(['--tool-choice', 'none'], 2, /--tool-choice needs --tools FILE/);
  await bad(['--tools', file, '--tool-choice', 'get_stock'], 2, /--tool-choice get_stock: no tool of that name/);
  await bad(['--tools', file], 1, /--tools .*tools\.json: the chat template of .* does not show tools/, CHATML);
});
