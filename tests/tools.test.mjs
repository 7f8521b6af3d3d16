// Tool calls: chat(messages, { tools, toolChoice }) shows the tools to the chat template as the published templates of
// Qwen 2.5, Qwen 3, Llama 3.1 and Llama 3.2 read them (rendered as node-llama-cpp renders them, tokenized as llama.cpp
// tokenizes them), parses the model's calls out of its reply, forces a valid call with toolChoice 'required' or
// { name } (every call parses and its arguments validate against the tool's schema, checked by ajv), and renders the
// calls and results of earlier turns back into the next prompt as the template writes them. The models come from
// tools/gguf/tool-models.mjs: they answer every turn (greedy) with a call to get_weather for Paris.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

import { RingLM } from '../wasm/ringlm.js';
import { TOOL_CALL_FORMATS } from '../wasm/lib/tools.js';
import { TOOL_MODELS, TOOL_TEMPLATES, makeToolModels } from '../tools/gguf/tool-models.mjs';
import { makeChatModels } from '../tools/gguf/chat-models.mjs';
import { disposeReferenceLlama, llamaCppLogprobs, withLlamaCppChat } from './reference/llamacpp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PATHS = makeToolModels(path.join(ROOT, 'build/models'));
const CHAT_PATHS = makeChatModels(path.join(ROOT, 'build/models'));
const FAMILIES = TOOL_MODELS.map((m) => m.family);
const FORMAT = { qwen25: 'hermes', qwen3: 'hermes', llama31: 'llama3', llama32: 'llama3' };
const GREEDY = { temperature: 0 };

const WEATHER = {
  name: 'get_weather', description: 'The weather in a city now',
  parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 24 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
};
const TIME = { name: 'get_time', description: 'The time now' };
const BOOKING = {
  name: 'book_table',
  parameters: {
    type: 'object',
    properties: {
      people: { type: 'integer', minimum: 1, maximum: 12 },
      outside: { type: 'boolean' },
      dishes: { type: 'array', items: { type: 'string', maxLength: 10 }, maxItems: 3 },
      when: { type: 'object', properties: { day: { enum: ['today', 'tomorrow'] }, hour: { type: 'integer', minimum: 0, maximum: 23 } },
        required: ['day', 'hour'], additionalProperties: false },
    },
    required: ['people', 'when'],
  },
};
const TOOLS = [WEATHER, TIME];
const SYSTEM = { role: 'system', content: 'You are terse.' };
const USER = { role: 'user', content: 'What is the weather in Paris?' };
const PARIS = { name: 'get_weather', arguments: { city: 'Paris' } };
const RESULT = '{"temperature": 21}';

// --- What the published formats write, built here from their descriptions (not from our output) -------------------

/** JSON as Python's json.dumps writes it (what transformers' tojson gives): ', ' and ': ' between items. */
function pythonJson(v) {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}
/** A tool as the templates get it (OpenAI's shape). */
const openAiTool = ({ name, description, parameters }) => ({ type: 'function', function: { name, description, parameters } });
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const today = () => { const d = new Date(); return `${String(d.getDate()).padStart(2, '0')} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`; };

const qwenToolsBlock = (tools) => '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
  'You are provided with function signatures within <tools></tools> XML tags:\n<tools>' +
  tools.map((t) => `\n${pythonJson(JSON.parse(JSON.stringify(openAiTool(t))))}`).join('') +
  '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
  '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n';
const llamaHeader = (date) => '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n' +
  `Cutting Knowledge Date: December 2023\nToday Date: ${date}\n\nYou are terse.<|eot_id|>` +
  '<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call ' +
  'with its proper arguments that best answers the given prompt.\n\n' +
  'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
  TOOLS.map((t) => `${JSON.stringify(JSON.parse(JSON.stringify(openAiTool(t))), null, 4)}\n\n`).join('') +
  `${USER.content}<|eot_id|>`;

/** [SYSTEM, USER] with TOOLS, then the generation prompt. */
const EXPECTED_PROMPT = {
  qwen25: `<|im_start|>system\nYou are terse.\n\n${qwenToolsBlock(TOOLS)}<|im_start|>user\n${USER.content}<|im_end|>\n<|im_start|>assistant\n`,
  qwen3: `<|im_start|>system\nYou are terse.\n\n${qwenToolsBlock(TOOLS)}<|im_start|>user\n${USER.content}<|im_end|>\n<|im_start|>assistant\n`,
  llama31: `${llamaHeader('26 Jul 2024')}<|start_header_id|>assistant<|end_header_id|>\n\n`,
  llama32: `${llamaHeader(today())}<|start_header_id|>assistant<|end_header_id|>\n\n`,
};
/** What the prompt goes on with after [SYSTEM, USER]: the assistant's call to PARIS (with `content` before it), its result. */
const hermesTurn = (content) => `<|im_start|>assistant\n${content ? `${content}\n` : ''}<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n` +
  `<|im_start|>user\n<tool_response>\n${RESULT}\n</tool_response><|im_end|>\n<|im_start|>assistant\n`;
// Llama's template writes a tool's result as JSON: a string is quoted (in Jinja a string is iterable).
const llamaTurn = () => '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>' +
  `<|start_header_id|>ipython<|end_header_id|>\n\n${JSON.stringify(RESULT)}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`;
const EXPECTED_TURN = { qwen25: hermesTurn, qwen3: hermesTurn, llama31: llamaTurn, llama32: llamaTurn };

// ---------------------------------------------------------------------------------------------------------------

const models = {};
before(async () => {
  for (const family of FAMILIES) models[family] = await RingLM.load(PATHS[family], { contextSize: 2048 });
});
after(async () => {
  for (const lm of Object.values(models)) lm.dispose();
  await disposeReferenceLlama();
});

/** Drain a chat() iterator: { text, ids, result }. */
async function drain(iterator) {
  let text = '';
  const ids = [];
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) return { text, ids, result: value };
    text += value.text;
    if (value.id >= 0) ids.push(value.id);
  }
}

/** A chat prompt's ids as chat() runs them: control tokens parsed, BOS once. */
function promptIds(lm, text) {
  const bos = lm.detokenize([lm.tokenizer.bos], { special: true });
  return Array.from(lm.tokenize(lm.tokenizer.addBos && text.startsWith(bos) ? text.slice(bos.length) : text, { special: true }));
}

/** A GBNF grammar that matches `text` exactly: the model writes a reply made by hand. */
const exactly = (text) => `root ::= ${JSON.stringify(text)}\n`;

describe('tools in the prompt', () => {
  for (const family of FAMILIES) {
    test(`${family}: the published format's tools block, calls and results`, () => {
      const lm = models[family];
      assert.equal(lm.chatTemplate, TOOL_TEMPLATES[family]);
      assert.equal(lm.applyChatTemplate([SYSTEM, USER], { tools: TOOLS }), EXPECTED_PROMPT[family]);
      // OpenAI's shape of a tool is taken too.
      assert.equal(lm.applyChatTemplate([SYSTEM, USER], { tools: TOOLS.map(openAiTool) }), EXPECTED_PROMPT[family]);
      const turn = [SYSTEM, USER, { role: 'assistant', toolCalls: [PARIS] }, { role: 'tool', content: RESULT, toolCallId: 'call_0', name: 'get_weather' }];
      const prompt = EXPECTED_PROMPT[family].slice(0, EXPECTED_PROMPT[family].lastIndexOf(family.startsWith('qwen') ? '<|im_start|>assistant\n' : '<|start_header_id|>assistant'));
      assert.equal(lm.applyChatTemplate(turn, { tools: TOOLS }), prompt + EXPECTED_TURN[family](''));
      // Without tools the template shows none, and still renders the calls of earlier turns.
      assert.ok(!lm.applyChatTemplate([SYSTEM, USER]).includes('get_weather'));
    });
  }

  test('qwen25 and qwen3: text before the calls, several calls, think blocks', () => {
    const calls = [PARIS, { name: 'get_time', arguments: {} }];
    const messages = [USER, { role: 'assistant', content: 'Let me look.', toolCalls: calls }, { role: 'tool', content: 'sunny' }, { role: 'tool', content: '12:00' }];
    const tail = '<|im_start|>user\nWhat is the weather in Paris?<|im_end|>\n<|im_start|>assistant\nLet me look.\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\n12:00\n</tool_response><|im_end|>\n';
    assert.equal(models.qwen25.applyChatTemplate(messages, { tools: TOOLS, addGenerationPrompt: false }),
      `<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n${qwenToolsBlock(TOOLS)}${tail}`);
    assert.equal(models.qwen3.applyChatTemplate(messages, { tools: TOOLS, addGenerationPrompt: false }), `<|im_start|>system\n${qwenToolsBlock(TOOLS)}${tail}`);
    // Qwen 3: the turn after the last real query (a tool response is none) keeps its thinking.
    const thinking = [USER, { role: 'assistant', content: '<think>\nLook it up.\n</think>\n\n', toolCalls: [PARIS] }, { role: 'tool', content: 'sunny' },
      { role: 'assistant', content: 'Sunny.' }];
    assert.equal(models.qwen3.applyChatTemplate(thinking, { addGenerationPrompt: false }),
      '<|im_start|>user\nWhat is the weather in Paris?<|im_end|>\n<|im_start|>assistant\n<think>\nLook it up.\n</think>\n\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nSunny.<|im_end|>\n');
  });

  test('llama31 and llama32: tools in the system message with tools_in_user_message false; one call per message', () => {
    const lm = models.llama31;
    assert.equal(lm.applyChatTemplate([USER], { tools: [TIME], variables: { tools_in_user_message: false } }),
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\n' +
      'Today Date: 26 Jul 2024\n\nYou have access to the following functions. To call a function, please respond with JSON for a function call.' +
      'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
      '{\n    "type": "function",\n    "function": {\n        "name": "get_time",\n        "description": "The time now"\n    }\n}\n\n' +
      '<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is the weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    assert.throws(() => models.llama32.applyChatTemplate([USER, { role: 'assistant', toolCalls: [PARIS, PARIS] }]),
      /the chat template failed: one tool call per assistant message/);
  });
});

describe('the same prompts as llama.cpp (node-llama-cpp 3.21.1)', () => {
  const reference = (family, fn) => withLlamaCppChat(PATHS[family], fn);
  const functions = Object.fromEntries(TOOLS.map((t) => [t.name, { description: t.description, params: t.parameters }]));

  for (const family of FAMILIES) {
    test(`${family}: tools rendered and tokenized the same; the call format node-llama-cpp finds is ours`, async () => {
      const lm = models[family];
      const ours = lm.applyChatTemplate([SYSTEM, USER], { tools: TOOLS });
      await reference(family, async (model, wrapper, renderText) => {
        const special = { BOS: lm.detokenize([lm.tokenizer.bos], { special: true }) };
        const render = (text) => renderText(text, special);
        const { contextText } = wrapper.generateContextState({
          chatHistory: [{ type: 'system', text: SYSTEM.content }, { type: 'user', text: USER.content }, { type: 'model', response: [] }],
          availableFunctions: functions,
        });
        // As in tests/chat.test.mjs: node-llama-cpp renders an empty assistant message, which Qwen 3 gives an empty think block.
        assert.equal(ours + (family === 'qwen3' ? '<think>\n\n</think>\n\n' : ''), render(contextText));
        assert.deepEqual(Array.from(model.tokenize(ours, true)), Array.from(lm.tokenize(ours, { special: true, addBos: false })));
        // node-llama-cpp reads the call syntax out of the template too: a call is written as ours is.
        assert.ok(wrapper.usingJinjaFunctionCallTemplate);
        const call = wrapper.settings.functions.call;
        const { before: opening, after: closing } = TOOL_CALL_FORMATS[FORMAT[family]].envelope('get_weather');
        assert.equal(opening, `${render(LlamaTextOf(call.prefix))}get_weather${render(LlamaTextOf(call.paramsPrefix))}`);
        // Llama's closing brace is the first thing node-llama-cpp writes after a call (its result prefix).
        assert.ok(`${render(LlamaTextOf(call.suffix))}${render(LlamaTextOf(wrapper.settings.functions.result.prefix))}`.startsWith(closing));
      });
    });
  }

  test('qwen25: a call and its result, rendered and tokenized the same', async () => {
    const lm = models.qwen25;
    const ours = lm.applyChatTemplate([SYSTEM, USER, { role: 'assistant', toolCalls: [PARIS] }, { role: 'tool', content: RESULT }], { tools: TOOLS });
    await reference('qwen25', async (model, wrapper) => {
      const render = (text) => text.values.map((v) => (typeof v === 'string' ? v : v.value)).join('');
      // The model's turn holds the call and its result; generation goes on after them.
      const { contextText } = wrapper.generateContextState({
        chatHistory: [{ type: 'system', text: SYSTEM.content }, { type: 'user', text: USER.content },
          { type: 'model', response: [{ type: 'functionCall', name: PARIS.name, params: PARIS.arguments, result: JSON.parse(RESULT) }] }],
        availableFunctions: functions,
      });
      assert.equal(ours, render(contextText));
      assert.deepEqual(Array.from(model.tokenize(ours, true)), Array.from(lm.tokenize(ours, { special: true, addBos: false })));
    });
  });

  // node-llama-cpp's own conversion of a history with calls differs from what the templates are given elsewhere in
  // ways of its own (for Qwen 3 a placeholder content puts a newline before the call; for Llama 3.x the result's text
  // goes inside the JSON quotes unescaped), so past Qwen 2.5 the call is compared up to its result.
  for (const family of ['llama31', 'llama32']) {
    test(`${family}: a call rendered the same`, async () => {
      const lm = models[family];
      const ours = lm.applyChatTemplate([SYSTEM, USER, { role: 'assistant', toolCalls: [PARIS] }, { role: 'tool', content: RESULT }], { tools: TOOLS });
      await reference(family, async (model, wrapper, renderText) => {
        const special = { BOS: lm.detokenize([lm.tokenizer.bos], { special: true }) };
        const render = (text) => renderText(text, special);
        const theirs = render(wrapper.generateContextState({
          chatHistory: [{ type: 'system', text: SYSTEM.content }, { type: 'user', text: USER.content },
            { type: 'model', response: [{ type: 'functionCall', name: PARIS.name, params: PARIS.arguments, result: JSON.parse(RESULT) }] }],
          availableFunctions: functions,
        }).contextText);
        const resultAt = '<|start_header_id|>ipython<|end_header_id|>\n\n';
        assert.ok(ours.includes(`{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>${resultAt}`));
        assert.equal(ours.slice(0, ours.indexOf(resultAt)), theirs.slice(0, theirs.indexOf(resultAt)));
      });
    });
  }

  for (const family of FAMILIES) {
    test(`${family}: a call and its result are tokenized as llama.cpp tokenizes them`, async () => {
      const lm = models[family];
      const ours = lm.applyChatTemplate([SYSTEM, USER, { role: 'assistant', toolCalls: [PARIS] }, { role: 'tool', content: RESULT }], { tools: TOOLS });
      await reference(family, async (model) => {
        assert.deepEqual(Array.from(model.tokenize(ours, true)), Array.from(lm.tokenize(ours, { special: true, addBos: false })));
      });
    });
  }
});

/** node-llama-cpp's settings hold LlamaText or plain strings. */
function LlamaTextOf(v) {
  if (v == null) return { values: [] };
  return typeof v === 'string' ? { values: [v] } : v;
}

describe('calls parsed from the reply', () => {
  for (const family of FAMILIES) {
    test(`${family}: the model's call (llama.cpp's greedy reply too) is returned as toolCalls`, async () => {
      const lm = models[family];
      const { text, ids, result } = await drain(lm.chat([SYSTEM, USER], { ...GREEDY, tools: TOOLS }));
      assert.equal(result.finishReason, 'tool_calls');
      assert.deepEqual(result.toolCalls, [PARIS]);
      assert.equal(result.content, '');
      assert.equal(lm.lastResult, result);
      assert.match(text, /get_weather/, 'the call streams as text');
      // llama.cpp's greedy choice after the prompt and each reply token is the next token of the same call.
      const end = lm.tokenize(TOOL_MODELS.find((m) => m.family === family).end, { special: true, addBos: false })[0];
      const prompt = promptIds(lm, lm.applyChatTemplate([SYSTEM, USER], { tools: TOOLS }));
      const sequence = [...prompt, ...ids, end];
      const logprobs = await llamaCppLogprobs(PATHS[family], sequence, { from: prompt.length - 1 });
      for (let i = 0; i + 1 < sequence.length - prompt.length + 1; i++) {
        const row = logprobs.subarray(i * logprobs.vocab, (i + 1) * logprobs.vocab);
        assert.equal(row.indexOf(Math.max(...row)), sequence[prompt.length + i], `llama.cpp's argmax at reply token ${i}`);
      }
      // Without tools the same reply is text.
      const plain = await drain(lm.chat([SYSTEM, USER], GREEDY));
      assert.equal(plain.result.finishReason, 'stop');
      assert.equal(plain.result.toolCalls, undefined);
    });
  }

  test('llama31: <|python_tag|> before the JSON', async () => {
    const ids = (await drain(models.llama31.chat([SYSTEM, USER], { ...GREEDY, tools: TOOLS }))).ids;
    assert.equal(models.llama31.detokenize([ids[0]], { special: true }), '<|python_tag|>');
  });

  // Replies written by hand (a grammar that matches only them), read by each format.
  const hermes = [
    ['text, then two calls', 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    { content: 'Let me check.', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } }, { name: 'get_time', arguments: {} }] }],
    ['a call without arguments', '<tool_call>{"name": "get_time"}</tool_call>', { content: '', toolCalls: [{ name: 'get_time', arguments: {} }] }],
    ['</tool_call> inside an argument', '<tool_call>{"name": "get_weather", "arguments": {"city": "a</tool_call>{b"}}</tool_call>',
      { content: '', toolCalls: [{ name: 'get_weather', arguments: { city: 'a</tool_call>{b' } }] }],
    ['malformed JSON', '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}\n</tool_call>', null],
    ['a tool not given', '<tool_call>\n{"name": "get_stock", "arguments": {}}\n</tool_call>', null],
    ['arguments that are no object', '<tool_call>\n{"name": "get_weather", "arguments": "Paris"}\n</tool_call>', null],
    ['one good call, one malformed', '<tool_call>{"name": "get_time", "arguments": {}}</tool_call><tool_call>{"name": 1}</tool_call>', null],
    ['a call left open', 'Sure: <tool_call>\n{"name": "get_time", "arguments": {}}', null],
    ['plain text', 'It is sunny in Paris.', null],
  ];
  const llama = [
    ['a call', '{"name": "get_weather", "parameters": {"city": "Paris"}}', { content: '', toolCalls: [PARIS] }],
    ['a call after <|python_tag|>', '<|python_tag|>{"name": "get_time", "parameters": {}}', { content: '', toolCalls: [{ name: 'get_time', arguments: {} }] }],
    ['JSON that is no call', '{"answer": 42}', null],
    ['a call with text after it', '{"name": "get_time", "parameters": {}} and then some', null],
    ['plain text', 'It is sunny in Paris.', null],
  ];
  for (const [family, cases] of [['qwen25', hermes], ['qwen3', hermes], ['llama32', llama], ['llama31', llama]]) {
    for (const [name, reply, expected] of cases) {
      test(`${family}: ${name}`, async () => {
        const r = await drain(models[family].chat([SYSTEM, USER], { ...GREEDY, tools: TOOLS, grammar: exactly(reply), maxTokens: 200 }));
        assert.equal(models[family].detokenize(r.ids, { special: true }), reply);
        if (expected === null) {
          assert.equal(r.result.finishReason, 'stop', 'a reply without a well-formed call is text');
          assert.equal(r.result.toolCalls, undefined);
        } else {
          assert.equal(r.result.finishReason, 'tool_calls');
          assert.deepEqual({ content: r.result.content, toolCalls: r.result.toolCalls }, expected);
        }
      });
    }
  }

  test('qwen3: a think block before the call is the content, and goes back into the next prompt as thinking', async () => {
    const lm = models.qwen3;
    const reply = '<think>\nThe user wants the weather.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
    const r = await drain(lm.chat([USER], { ...GREEDY, tools: TOOLS, grammar: exactly(reply), maxTokens: 200 }));
    assert.equal(r.result.finishReason, 'tool_calls');
    assert.equal(r.result.content, '<think>\nThe user wants the weather.\n</think>');
    assert.deepEqual(r.result.toolCalls, [PARIS]);
    const next = lm.applyChatTemplate([USER, { role: 'assistant', content: r.result.content, toolCalls: r.result.toolCalls },
      { role: 'tool', content: RESULT }]);
    assert.ok(next.endsWith('<|im_start|>assistant\n<think>\nThe user wants the weather.\n</think>\n\n' +
      `<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n${RESULT}\n` +
      '</tool_response><|im_end|>\n<|im_start|>assistant\n'), next);
  });

  test('the parsers on random replies: never a throw, only calls to the tools given with object arguments', () => {
    const pieces = ['<tool_call>', '</tool_call>', '{', '}', '[', ']', '"', '\\', ':', ',', ' ', '\n', 'x', '<|python_tag|>',
      '"name"', '"get_time"', '"get_stock"', '"arguments"', '"parameters"', '{}', '"a</tool_call>"', '1',
      '{"name": "get_time", "arguments": {}}', '{"name": "get_time", "parameters": {"a": "}"}}', '<tool_call>{"name": "get_time"}</tool_call>'];
    let state = 7;
    const random = (n) => { state = (state * 1103515245 + 12345) % 2 ** 31; return state % n; };
    let calls = 0;
    for (let i = 0; i < 20000; i++) {
      let text = '';
      for (let k = random(8); k > 0; k--) text += pieces[random(pieces.length)];
      for (const format of Object.values(TOOL_CALL_FORMATS)) {
        const r = format.parse(text, ['get_time']);
        if (r === null) continue;
        calls += r.toolCalls.length;
        assert.ok(r.toolCalls.length > 0, text);
        for (const call of r.toolCalls) {
          assert.equal(call.name, 'get_time', text);
          assert.ok(call.arguments !== null && typeof call.arguments === 'object' && !Array.isArray(call.arguments), text);
        }
        assert.equal(typeof r.content, 'string');
      }
    }
    assert.ok(calls > 0, 'some random replies hold calls');
  });

  test('a call cut short by maxTokens is text, with finishReason length', async () => {
    const r = await drain(models.qwen25.chat([SYSTEM, USER], { ...GREEDY, tools: TOOLS, maxTokens: 5 }));
    assert.equal(r.result.finishReason, 'length');
    assert.equal(r.result.toolCalls, undefined);
  });
});

describe('toolChoice', () => {
  const ajv = new Ajv({ strict: false });
  const validators = new Map([WEATHER, TIME, BOOKING].map((t) => [t.name, ajv.compile(t.parameters ?? { type: 'object', maxProperties: 0 })]));
  const SEEDS = 12;

  for (const family of FAMILIES) {
    test(`${family}: 'required' always gives a call to a listed tool whose arguments validate (${SEEDS} seeds)`, async () => {
      const lm = models[family];
      const tools = [WEATHER, TIME, BOOKING];
      const named = new Set();
      for (let seed = 0; seed < SEEDS; seed++) {
        const r = await drain(lm.chat([SYSTEM, USER], { tools, toolChoice: 'required', temperature: 1.5, topK: 0, topP: 1, minP: 0, seed, maxTokens: 400 }));
        const where = `seed ${seed}: ${JSON.stringify(r.text)}`;
        assert.equal(r.result.finishReason, 'tool_calls', where);
        assert.equal(r.result.toolCalls.length, 1, where);
        const [call] = r.result.toolCalls;
        const validate = validators.get(call.name);
        assert.ok(validate, `${where}: ${call.name} is a listed tool`);
        assert.ok(validate(call.arguments), `${where}: ${ajv.errorsText(validate.errors)}`);
        // The call is written as the template writes calls, and parses as the template's own format.
        const { before: opening, after: closing } = TOOL_CALL_FORMATS[FORMAT[family]].envelope(call.name);
        assert.ok(r.text.startsWith(opening) && r.text.endsWith(closing), where);
        named.add(call.name);
      }
      assert.ok(named.size >= 1);
    });

    test(`${family}: 'auto' holds a call the model starts to the tools' grammar: every call read validates (${SEEDS * 2} seeds)`, async () => {
      const lm = models[family];
      const tools = [WEATHER, TIME, BOOKING];
      const names = tools.map((t) => t.name);
      const format = TOOL_CALL_FORMATS[FORMAT[family]];
      // Where a reply starts a call in the format (the parser reads calls only there: hermes anywhere, llama3 at the start).
      const startsCall = (text) => (format.name === 'hermes' ? text.includes('<tool_call>') : /^\s*(<\|python_tag\|>|\{\s*"name")/.test(text));
      let calls = 0;
      for (let seed = 0; seed < SEEDS * 2; seed++) {
        // Hot enough that the planted call derails within a few tokens when nothing holds it (then 'length').
        const r = await drain(lm.chat([SYSTEM, USER], { tools, temperature: 4, topK: 0, topP: 1, minP: 0, seed, maxTokens: 300 }));
        const text = lm.detokenize(r.ids, { special: true });
        const where = `seed ${seed}: ${JSON.stringify(text)} (${r.result.finishReason})`;
        if (r.result.finishReason === 'length') continue;
        if (!startsCall(text)) {
          assert.equal(r.result.finishReason, 'stop', where);
          continue;
        }
        // A call was started and the reply ended: it is a call (or calls) that parse and validate, never text.
        assert.equal(r.result.finishReason, 'tool_calls', where);
        for (const call of r.result.toolCalls) {
          assert.ok(names.includes(call.name), where);
          const validate = validators.get(call.name);
          assert.ok(validate(call.arguments), `${where}: ${ajv.errorsText(validate.errors)}`);
          calls++;
        }
      }
      assert.ok(calls >= SEEDS / 2, `${family}: ${calls} calls in ${SEEDS * 2} hot replies`);
    });

    test(`${family}: { name } forces that tool; 'none' offers no tools and reads no calls`, async () => {
      const lm = models[family];
      for (const [name, tool] of [['get_time', TIME], ['book_table', BOOKING]]) {
        for (let seed = 0; seed < 4; seed++) {
          const r = await drain(lm.chat([SYSTEM, USER], { tools: [WEATHER, TIME, BOOKING], toolChoice: { name }, temperature: 1, seed, maxTokens: 400 }));
          assert.equal(r.result.finishReason, 'tool_calls', r.text);
          assert.equal(r.result.toolCalls[0].name, name);
          assert.ok(validators.get(tool.name)(r.result.toolCalls[0].arguments), r.text);
        }
      }
      const none = await drain(lm.chat([SYSTEM, USER], { ...GREEDY, tools: TOOLS, toolChoice: 'none' }));
      assert.equal(none.result.finishReason, 'stop', 'the model writes its call, which is read as text');
      assert.equal(none.result.toolCalls, undefined);
      assert.equal(none.result.timings.promptTokens, promptIds(lm, lm.applyChatTemplate([SYSTEM, USER])).length, 'the prompt has no tools');
    });
  }
});

describe('results back into the next prompt', () => {
  for (const family of FAMILIES) {
    test(`${family}: the call and a tool result render as the template writes them, and the chat goes on`, async () => {
      const lm = models[family];
      lm.reset();
      const messages = [SYSTEM, USER];
      const first = await drain(lm.chat(messages, { ...GREEDY, tools: TOOLS }));
      assert.equal(first.result.finishReason, 'tool_calls');
      messages.push({ role: 'assistant', content: first.result.content, toolCalls: first.result.toolCalls },
        { role: 'tool', content: RESULT, toolCallId: 'call_0', name: first.result.toolCalls[0].name });
      const prompt = lm.applyChatTemplate(messages, { tools: TOOLS });
      const head = EXPECTED_PROMPT[family].slice(0, EXPECTED_PROMPT[family].lastIndexOf(family.startsWith('qwen') ? '<|im_start|>assistant\n' : '<|start_header_id|>assistant'));
      assert.equal(prompt, head + EXPECTED_TURN[family](first.result.content));
      const second = await drain(lm.chat(messages, { ...GREEDY, tools: TOOLS }));
      assert.equal(second.result.finishReason, 'tool_calls', 'the model answers the next turn');
      // The model's compact call is not the template's layout: the turn runs from the start, over the whole prompt.
      assert.equal(second.result.timings.promptTokens, promptIds(lm, prompt).length);
    });
  }
});

describe('bad input', () => {
  const errors = [
    [{ tools: 'get_weather' }, /RingLM\.chat: tools must be an array/],
    [{ tools: [null] }, /tools\[0\] must be an object/],
    [{ tools: [{ description: 'x' }] }, /tools\[0\] has no name/],
    [{ tools: [WEATHER, { parameters: {} }] }, /tools\[1\] has no name/],
    [{ tools: [{ name: 'get weather' }] }, /tools\[0\]: name 'get weather' must be 1 to 64 letters, digits, '_' or '-'/],
    [{ tools: [TIME, TIME] }, /tools\[1\]: a tool named 'get_time' is given twice/],
    [{ tools: [{ name: 'f', parameters: { type: 'string' } }] }, /tools\[0\] \('f'\): parameters must describe an object/],
    [{ tools: [{ type: 'function', name: 'f' }] }, /OpenAI's shape is \{ type: 'function', function/],
    [{ tools: TOOLS, toolChoice: 'always' }, /toolChoice must be 'auto', 'none', 'required' or \{ name \}/],
    [{ tools: TOOLS, toolChoice: { name: 'get_stock' } }, /toolChoice names 'get_stock', which is not one of the tools given \('get_weather', 'get_time'\)/],
    [{ toolChoice: 'required' }, /toolChoice 'required' needs tools/],
    [{ tools: TOOLS, toolChoice: 'required', grammar: 'root ::= "x"' }, /does not combine with grammar or jsonSchema/],
    [{ tools: [{ name: 'f', parameters: { type: 'object', properties: { n: { type: 'number', multipleOf: 3 } } } }], toolChoice: 'required' },
      /tools\[0\] \('f'\)\.parameters: jsonSchema: .*multipleOf/],
    [{ tool: TOOLS }, /unknown option 'tool' \(did you mean 'tools'\?\)/],
  ];
  for (const [options, message] of errors) {
    test(`${JSON.stringify(options).slice(0, 90)}: ${message.source.slice(0, 60)}`, async () => {
      const lm = models.qwen25;
      await assert.rejects(drain(lm.chat([SYSTEM, USER], options)), message);
      // The model stays usable.
      assert.deepEqual((await drain(lm.chat([SYSTEM, USER], { ...GREEDY, tools: TOOLS }))).result.toolCalls, [PARIS]);
    });
  }

  test('bad toolCalls and toolCallId in messages', async () => {
    const lm = models.qwen3;
    const bad = [
      [{ role: 'assistant', toolCalls: PARIS }, /messages\[1\]\.toolCalls must be an array/],
      [{ role: 'assistant', toolCalls: [{ arguments: {} }] }, /messages\[1\]\.toolCalls\[0\]\.name must be a non-empty string/],
      [{ role: 'assistant', toolCalls: [{ name: 'get_time', arguments: '{}' }] }, /messages\[1\]\.toolCalls\[0\]\.arguments must be an object/],
      [{ role: 'tool', content: 'x', toolCallId: 7 }, /messages\[1\]\.toolCallId must be a string/],
      [{ role: 'tool', content: { temperature: 21 } }, /messages\[1\]\.content must be a string/],
    ];
    assert.throws(() => lm.applyChatTemplate([USER], { tools: TOOLS, variables: 'x' }), /variables must be an object/);
    for (const [message, error] of bad) {
      assert.throws(() => lm.applyChatTemplate([USER, message], { tools: TOOLS }), error);
      await assert.rejects(drain(lm.chat([USER, message], { tools: TOOLS })), error);
    }
    assert.deepEqual((await drain(lm.chat([USER], { ...GREEDY, tools: TOOLS }))).result.toolCalls, [PARIS]);
  });

  test('templates that define no tool calls: an error naming the template, never tools ignored', async () => {
    const cases = [
      ['gemma3', /RingLM\.chat: tools: the chat template of 'ringlm-chat-gemma3' \(Llama.*\) does not show tools to the model; ringlm reads tool calls written as Hermes-style/],
      ['chatml', /tools: the chat template of 'ringlm-chat-chatml' .* does not show tools to the model/],
      // SmolLM3's shows the tools, but renders no assistant's call.
      ['smollm3', /tools: the chat template of 'ringlm-chat-smollm3' .* writes an assistant's tool call in no format ringlm knows/],
    ];
    for (const [family, error] of cases) {
      const lm = await RingLM.load(CHAT_PATHS[family], { contextSize: 256 });
      try {
        await assert.rejects(drain(lm.chat([USER], { tools: TOOLS })), error);
        await assert.rejects(drain(lm.chat([USER], { tools: TOOLS, toolChoice: 'none' })), error);
        assert.throws(() => lm.applyChatTemplate([USER], { tools: TOOLS }), new RegExp(error.source.replace('RingLM\\.chat', 'RingLM\\.applyChatTemplate')));
        assert.equal((await drain(lm.chat([USER], GREEDY))).text, 'Hello, world', 'the model stays usable');
      } finally {
        lm.dispose();
      }
    }
    // A template given as an option is named as such.
    await assert.rejects(drain(models.qwen25.chat([USER], { tools: TOOLS, template: '{{ messages[0].content }}' })),
      /tools: the template given does not show tools to the model/);
  });
});
