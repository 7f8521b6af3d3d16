#!/usr/bin/env node
// Writes the tool-call test models: tiny llama models like tools/gguf/chat-models.mjs's (real GPT-2 vocabulary under each
// family's split, its special tokens), carrying chat templates that show tools and render tool calls and results in the
// published formats of three families, with output weights that make greedy decoding answer every turn with a tool call.
//
//   node tools/gguf/tool-models.mjs [outdir]      (default build/models)
//
//   tool-qwen25.gguf   Qwen 2.5 (Hermes-style <tool_call>{"name": ..., "arguments": ...}</tool_call>); <tool_call> and
//                      </tool_call> are user-defined tokens, as in Qwen 2.5's vocabulary
//   tool-qwen3.gguf    Qwen 3: the same calls, plus think blocks and <tool_response> / <think> tokens
//   tool-llama31.gguf  Llama 3.1 (JSON {"name": ..., "parameters": ...}; tools in the first user message by default); its
//                      reply starts with <|python_tag|>, which Llama 3.1 writes before a call in its ipython mode
//   tool-llama32.gguf  Llama 3.2 (the same JSON, today's date from strftime_now); its reply is the plain JSON
//
// The templates are written here from the published formats of these families (the model cards' and the files'
// tokenizer.chat_template): every template below renders what the published one renders for the conversations
// ringlm's tests give it. Left out: Llama 3.1's builtin_tools (brave_search, code_interpreter), whose calls are
// Python, not JSON.
//
// The replies (see chat-models.mjs for how a reply is planted): each reply token must be distinct, since a token
// has one successor; so the calls are written compactly, without the newlines of the published layout (a newline
// is the generation prompt's last token). They still parse as the families' calls.
//
// Output is deterministic; a file whose bytes would not change is left alone.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { QWEN3_TEMPLATE_END, makeChatModel, writeTestModels } from './chat-models.mjs';
import { addGpt2Tokenizer, END_OF_TEXT, TOKEN_TYPE } from './vocab-gpt2.mjs';

const TOOLS_PREAMBLE =
  "'# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' + " +
  "'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>'";
const TOOLS_POSTAMBLE =
  "'\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within " +
  "<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\\n" +
  "</tool_call><|im_end|>\\n'";

// Tool results: a run of tool messages is one user turn of <tool_response> blocks (Qwen 2.5 and Qwen 3 alike).
const QWEN_TOOL_RESULT = [
  "  {%- if m.role == 'tool' %}",
  "    {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}",
  "    {{- '\\n<tool_response>\\n' + m.content + '\\n</tool_response>' }}",
  "    {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}",
];

export const TOOL_TEMPLATES = Object.freeze({
  // Qwen 2.5: a default system prompt; tools (each as JSON on its own line) open the system turn; an assistant
  // message's calls follow its content, each on a new line; roles other than these four are not rendered.
  qwen25: [
    "{%- set default_system = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' %}",
    "{%- set system = messages[0].content if messages[0].role == 'system' else default_system %}",
    '{%- if tools %}',
    `  {{- '<|im_start|>system\\n' + system + '\\n\\n' + ${TOOLS_PREAMBLE} }}`,
    "  {%- for t in tools %}{{- '\\n' + (t | tojson) }}{%- endfor %}",
    `  {{- ${TOOLS_POSTAMBLE} }}`,
    '{%- else %}',
    "  {{- '<|im_start|>system\\n' + system + '<|im_end|>\\n' }}",
    '{%- endif %}',
    '{%- for m in messages %}',
    ...QWEN_TOOL_RESULT,
    "  {%- elif m.role == 'assistant' and m.tool_calls %}",
    "    {{- '<|im_start|>assistant' }}",
    "    {%- if m.content %}{{- '\\n' + m.content }}{%- endif %}",
    '    {%- for c in m.tool_calls %}',
    '      {%- set f = c.function if c.function is defined else c %}',
    "      {{- '\\n<tool_call>\\n{\"name\": \"' + f.name + '\", \"arguments\": ' + (f.arguments | tojson) + '}\\n</tool_call>' }}",
    '    {%- endfor %}',
    "    {{- '<|im_end|>\\n' }}",
    "  {%- elif m.role == 'user' or m.role == 'assistant' or (m.role == 'system' and not loop.first) %}",
    "    {{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}",
    '  {%- endif %}',
    '{%- endfor %}',
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
  ].join('\n'),
  // Qwen 3: no default system prompt; think blocks kept only after the last real query (a user message that is not
  // just a <tool_response>), where the last turn always gets one; a call's arguments may be a string, written as is.
  qwen3: [
    '{%- if tools %}',
    "  {{- '<|im_start|>system\\n' }}",
    "  {%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}",
    `  {{- ${TOOLS_PREAMBLE} }}`,
    "  {%- for t in tools %}{{- '\\n' + (t | tojson) }}{%- endfor %}",
    `  {{- ${TOOLS_POSTAMBLE} }}`,
    "{%- elif messages[0].role == 'system' %}",
    "  {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}",
    '{%- endif %}',
    '{%- set ns = namespace(query=(messages | length) - 1) %}',
    '{%- for m in messages %}',
    "  {%- if m.role == 'user' and not (m.content.startswith('<tool_response>') and m.content.endswith('</tool_response>')) %}",
    '    {%- set ns.query = loop.index0 %}',
    '  {%- endif %}',
    '{%- endfor %}',
    '{%- for m in messages %}',
    ...QWEN_TOOL_RESULT,
    "  {%- elif m.role == 'user' or (m.role == 'system' and not loop.first) %}",
    "    {{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}",
    "  {%- elif m.role == 'assistant' %}",
    "    {%- set answer = m.content %}{%- set thought = '' %}",
    '    {%- if m.reasoning_content is defined and m.reasoning_content is not none %}',
    '      {%- set thought = m.reasoning_content %}',
    "    {%- elif '</think>' in m.content %}",
    "      {%- set thought = m.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}",
    "      {%- set answer = m.content.split('</think>')[-1].lstrip('\\n') %}",
    '    {%- endif %}',
    '    {%- if loop.index0 > ns.query and (loop.last or thought) %}',
    "      {{- '<|im_start|>assistant\\n<think>\\n' + thought.strip('\\n') + '\\n</think>\\n\\n' + answer.lstrip('\\n') }}",
    '    {%- else %}',
    "      {{- '<|im_start|>assistant\\n' + answer }}",
    '    {%- endif %}',
    '    {%- if m.tool_calls %}',
    '      {%- for c in m.tool_calls %}',
    "        {%- if answer or not loop.first %}{{- '\\n' }}{%- endif %}",
    '        {%- set f = c.function if c.function else c %}',
    "        {%- set args = f.arguments if f.arguments is string else f.arguments | tojson %}",
    "        {{- '<tool_call>\\n{\"name\": \"' + f.name + '\", \"arguments\": ' + args + '}\\n</tool_call>' }}",
    '      {%- endfor %}',
    '    {%- endif %}',
    ...QWEN3_TEMPLATE_END,
  ].join('\n'),
  llama31: llamaToolTemplate(["{%- set date_string = '26 Jul 2024' %}"]),
  llama32: llamaToolTemplate([
    "{%- if strftime_now is defined %}{%- set date_string = strftime_now('%d %b %Y') %}",
    "{%- else %}{%- set date_string = '26 Jul 2024' %}{%- endif %}",
  ]),
});

/**
 * Llama 3.1 / 3.2 with custom tools: "Environment: ipython" in the system header when tools are given; the tools
 * (JSON, indented by 4) and how to call them go into the first user message unless tools_in_user_message is false
 * (then into the system message); an assistant message's one call is {"name": ..., "parameters": ...}; a tool's
 * result is an ipython turn, written as JSON (a string is iterable, so it is quoted too).
 */
function llamaToolTemplate(defaultDate) {
  const callFormat = '\'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.\' + ' +
    "'Do not use variables.\\n\\n'";
  return [
    '{{- bos_token }}',
    '{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}',
    '{%- if tools_in_user_message is not defined %}{%- set tools_in_user_message = true %}{%- endif %}',
    '{%- if date_string is not defined %}',
    ...defaultDate.map((line) => `  ${line}`),
    '{%- endif %}',
    '{%- if tools is not defined %}{%- set tools = none %}{%- endif %}',
    "{%- set system = '' %}{%- set turns = messages %}",
    "{%- if messages[0].role == 'system' %}{%- set system = messages[0].content | trim %}{%- set turns = messages[1:] %}{%- endif %}",
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}",
    "{%- if tools is not none %}{{- 'Environment: ipython\\n' }}{%- endif %}",
    "{{- 'Cutting Knowledge Date: December 2023\\nToday Date: ' + date_string + '\\n\\n' }}",
    '{%- if tools is not none and not tools_in_user_message %}',
    `  {{- 'You have access to the following functions. To call a function, please respond with JSON for a function call.' + ${callFormat} }}`,
    "  {%- for t in tools %}{{- (t | tojson(indent=4)) + '\\n\\n' }}{%- endfor %}",
    '{%- endif %}',
    "{{- system + '<|eot_id|>' }}",
    '{%- if tools is not none and tools_in_user_message %}',
    "  {%- if turns | length == 0 %}{{- raise_exception('the tools go into the first user message, and there is none') }}{%- endif %}",
    "  {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' }}",
    "  {{- 'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\\n\\n' }}",
    `  {{- ${callFormat} }}`,
    "  {%- for t in tools %}{{- (t | tojson(indent=4)) + '\\n\\n' }}{%- endfor %}",
    "  {{- (turns[0].content | trim) + '<|eot_id|>' }}",
    '  {%- set turns = turns[1:] %}',
    '{%- endif %}',
    '{%- for m in turns %}',
    "  {%- if m.role == 'tool' or m.role == 'ipython' %}",
    "    {{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' }}",
    '    {%- if m.content is mapping or m.content is iterable %}{{- m.content | tojson }}{%- else %}{{- m.content }}{%- endif %}',
    "    {{- '<|eot_id|>' }}",
    "  {%- elif 'tool_calls' in m %}",
    "    {%- if m.tool_calls | length != 1 %}{{- raise_exception('one tool call per assistant message') }}{%- endif %}",
    '    {%- set f = m.tool_calls[0].function %}',
    "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n{\"name\": \"' + f.name + '\", \"parameters\": ' + (f.arguments | tojson) + '}<|eot_id|>' }}",
    '  {%- else %}',
    "    {{- '<|start_header_id|>' + m.role + '<|end_header_id|>\\n\\n' + (m.content | trim) + '<|eot_id|>' }}",
    '  {%- endif %}',
    '{%- endfor %}',
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
  ].join('\n');
}

const control = (texts) => texts.map((text) => ({ text, type: TOKEN_TYPE.CONTROL }));
const userDefined = (texts) => texts.map((text) => ({ text, type: TOKEN_TYPE.USER_DEFINED }));

/** Llama 3's tokenizer with the tool tokens: <|python_tag|> opens a call, <|eom_id|> ends an ipython message. */
function addLlamaToolTokenizer(w) {
  const extra = control(['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|python_tag|>',
    '<|eom_id|>', '<|eot_id|>']);
  const n = addGpt2Tokenizer(w, { pre: 'llama-bpe', addBos: true, bos: '<|begin_of_text|>', eos: '<|end_of_text|>', extra });
  w.addUint32('tokenizer.ggml.eot_token_id', n - 1);
  return n;
}

// The planted replies, as the vocabulary splits them (checked by tests/tools.test.mjs, which parses them).
//   <tool_call>{"name": "get_weather","arguments":{"city":"Paris"}}</tool_call>
const HERMES_REPLY = ['<tool_call>', '{"', 'name', '":', 'Ġ"', 'get', '_', 'weather', '","', 'arg', 'uments', '":{"', 'city',
  '":"', 'Paris', '"', '}}', '</tool_call>'];
//   {"name": "get_weather","parameters":{"city":"Paris"}}
const LLAMA_REPLY = ['{"', 'name', '":', 'Ġ"', 'get', '_', 'weather', '","', 'param', 'eters', '":{"', 'city', '":"', 'Paris', '"', '}}'];

export const TOOL_MODELS = [
  {
    family: 'qwen25', file: 'tool-qwen25.gguf', vocab: 50261, start: 'Ċ', reply: HERMES_REPLY, end: '<|im_end|>',
    add: (w) => addGpt2Tokenizer(w, { pre: 'qwen2', bos: END_OF_TEXT, eos: '<|im_end|>',
      extra: [...control(['<|im_start|>', '<|im_end|>']), ...userDefined(['<tool_call>', '</tool_call>'])] }),
  },
  {
    family: 'qwen3', file: 'tool-qwen3.gguf', vocab: 50265, start: 'Ċ', reply: HERMES_REPLY, end: '<|im_end|>',
    add: (w) => addGpt2Tokenizer(w, { pre: 'qwen2', bos: END_OF_TEXT, eos: '<|im_end|>',
      extra: [...control(['<|im_start|>', '<|im_end|>']),
        ...userDefined(['<tool_call>', '</tool_call>', '<tool_response>', '</tool_response>', '<think>', '</think>'])] }),
  },
  {
    family: 'llama31', file: 'tool-llama31.gguf', vocab: 50264, start: 'ĊĊ', reply: ['<|python_tag|>', ...LLAMA_REPLY],
    end: '<|eot_id|>', add: addLlamaToolTokenizer,
  },
  {
    family: 'llama32', file: 'tool-llama32.gguf', vocab: 50264, start: 'ĊĊ', reply: LLAMA_REPLY, end: '<|eot_id|>',
    add: addLlamaToolTokenizer,
  },
];

/** Writes the models into `outdir` (unchanged files are kept); returns their paths by family. */
export function makeToolModels(outdir = 'build/models', { log = () => {} } = {}) {
  return writeTestModels(TOOL_MODELS,
    (m) => makeChatModel({ ...m, family: `tools-${m.family}`, template: TOOL_TEMPLATES[m.family] }).toBuffer(), outdir, log);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  makeToolModels(process.argv[2] ?? 'build/models', { log: console.log });
}
