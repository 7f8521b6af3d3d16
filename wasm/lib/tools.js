// tools.js — tool calls in chat(): the tools a caller gives, checked and handed to the chat template in the shape the
// published templates read (OpenAI's: { type: 'function', function: { name, description, parameters } }); messages
// that carry calls and results, in the fields those templates read; which call format a template defines, found by
// rendering a probe call through it; and the model's calls, parsed out of its reply.
//
// Two formats are known, the ones the families' templates write:
//   hermes   <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>, one block per call, after any text
//            (Qwen 2.5, Qwen 3, Hermes 2 Pro / 3)
//   llama3   the whole reply is {"name": "f", "parameters": {...}}, optionally after <|python_tag|> (Llama 3.1 / 3.2)
// The grammar that forces a call (toolChoice 'required' or { name }) is in tool-grammar.js.

/** A tool's name: what OpenAI allows, which every template can write inside a JSON string as it is. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);

/**
 * Check `tools` ([{ name, description?, parameters? }], or OpenAI's [{ type: 'function', function: {...} }]) and
 * return them as [{ name, description, parameters }] (description and parameters undefined when not given).
 */
export function checkTools(tools, what) {
  if (!Array.isArray(tools)) {
    throw new TypeError(`${what}: tools must be an array of { name, description?, parameters? } (got ${tools === null ? 'null' : typeof tools})`);
  }
  const seen = new Set();
  return tools.map((tool, i) => {
    const where = `${what}: tools[${i}]`;
    if (!isPlainObject(tool)) throw new TypeError(`${where} must be an object { name, description?, parameters? }`);
    let spec = tool;
    if (tool.type !== undefined || tool.function !== undefined) {  // OpenAI's shape
      if (tool.type !== 'function' || !isPlainObject(tool.function)) {
        throw new TypeError(`${where}: a tool in OpenAI's shape is { type: 'function', function: { name, ... } }`);
      }
      spec = tool.function;
    }
    const { name, description, parameters } = spec;
    if (typeof name !== 'string' || name === '') throw new TypeError(`${where} has no name (a non-empty string)`);
    if (!TOOL_NAME.test(name)) {
      throw new TypeError(`${where}: name '${name}' must be 1 to 64 letters, digits, '_' or '-' (as OpenAI's tool names)`);
    }
    if (seen.has(name)) throw new TypeError(`${where}: a tool named '${name}' is given twice`);
    seen.add(name);
    if (description !== undefined && typeof description !== 'string') throw new TypeError(`${where} ('${name}'): description must be a string`);
    if (parameters !== undefined) {
      if (!isPlainObject(parameters)) throw new TypeError(`${where} ('${name}'): parameters must be a JSON Schema object`);
      if (parameters.type !== undefined && parameters.type !== 'object') {
        throw new TypeError(`${where} ('${name}'): parameters must describe an object (type 'object'; got type ${JSON.stringify(parameters.type)})`);
      }
    }
    return { name, description, parameters };
  });
}

/** Tools in the shape the templates read; fields not given are left out, as node-llama-cpp and transformers do. */
export function templateTools(tools) {
  return tools.map(({ name, description, parameters }) => ({
    type: 'function',
    function: { name, ...(description === undefined ? {} : { description }), ...(parameters === undefined ? {} : { parameters }) },
  }));
}

/**
 * toolChoice checked against the tools: 'auto' (default), 'none', 'required', or { name } of a tool given.
 * Returns 'auto' | 'none' | 'required' | { name }.
 */
export function checkToolChoice(toolChoice, tools, what) {
  if (toolChoice === undefined) return 'auto';
  if (toolChoice === 'auto' || toolChoice === 'none') return toolChoice;
  const names = tools?.map((t) => t.name) ?? [];
  if (toolChoice === 'required') {
    if (names.length === 0) throw new TypeError(`${what}: toolChoice 'required' needs tools to choose from`);
    return toolChoice;
  }
  if (isPlainObject(toolChoice) && typeof toolChoice.name === 'string') {
    if (!names.includes(toolChoice.name)) {
      throw new TypeError(`${what}: toolChoice names '${toolChoice.name}', which is not one of the tools given` +
        ` (${names.length ? names.map((n) => `'${n}'`).join(', ') : 'none'})`);
    }
    return { name: toolChoice.name };
  }
  throw new TypeError(`${what}: toolChoice must be 'auto', 'none', 'required' or { name } (got ${JSON.stringify(toolChoice) ?? String(toolChoice)})`);
}

/**
 * Messages in the fields the templates read: an assistant's toolCalls [{ name, arguments, id? }] become tool_calls
 * [{ id?, type: 'function', function: { name, arguments } }] (its content '' when it has none), a tool result's
 * toolCallId becomes tool_call_id. Other messages are passed on as they are; the caller's objects are not changed.
 */
export function templateMessages(messages, what) {
  if (!Array.isArray(messages)) return messages;  // the template's own checks say what is wrong
  return messages.map((m, i) => {
    if (!isPlainObject(m) || (m.toolCalls === undefined && m.toolCallId === undefined)) return m;
    const where = `${what}: messages[${i}]`;
    const { toolCalls, toolCallId, ...rest } = m;
    const out = { ...rest };
    if (toolCallId !== undefined) {
      if (typeof toolCallId !== 'string') throw new TypeError(`${where}.toolCallId must be a string`);
      out.tool_call_id = toolCallId;
    }
    if (toolCalls !== undefined) {
      if (!Array.isArray(toolCalls)) throw new TypeError(`${where}.toolCalls must be an array of { name, arguments }`);
      out.content = m.content ?? '';
      out.tool_calls = toolCalls.map((call, j) => {
        const at = `${where}.toolCalls[${j}]`;
        if (!isPlainObject(call)) throw new TypeError(`${at} must be an object { name, arguments }`);
        if (typeof call.name !== 'string' || call.name === '') throw new TypeError(`${at}.name must be a non-empty string`);
        if (!isPlainObject(call.arguments)) throw new TypeError(`${at}.arguments must be an object (the call's arguments, parsed)`);
        if (call.id !== undefined && typeof call.id !== 'string') throw new TypeError(`${at}.id must be a string`);
        return { ...(call.id === undefined ? {} : { id: call.id }), type: 'function', function: { name: call.name, arguments: call.arguments } };
      });
    }
    return out;
  });
}

/**
 * One call's JSON ({"name": ..., "<argsKey>": {...}}) as { name, arguments }, or null when it is not a call to one of
 * `names` with an object of arguments (a call with no arguments field has none: {}).
 */
function readCall(json, argsKey, names) {
  let value;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isPlainObject(value) || typeof value.name !== 'string' || !names.includes(value.name)) return null;
  const args = value[argsKey] ?? {};
  return isPlainObject(args) ? { name: value.name, arguments: args } : null;
}

/**
 * Where the JSON object starting at text[from] (after whitespace) ends: the index after its closing brace, or -1
 * when there is no object there or it never closes. Strings are skipped whole, so braces in them do not count;
 * whether the object is valid JSON is left to JSON.parse.
 */
function jsonObjectEnd(text, from) {
  let i = from;
  while (/\s/.test(text[i] ?? '')) i++;
  if (text[i] !== '{') return -1;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The call formats. parse(text, names) reads a reply (detokenized with its special tokens): { content, toolCalls }
 * when it holds calls, all well formed and to tools in `names`; null when it holds none or any is malformed (the
 * reply is then text). envelope(name) is how the template writes a call before and after its arguments' JSON, which
 * the grammar of a forced call holds the model to. lazy describes calls for toolChoice 'auto', as loosely as parse()
 * reads them: the texts that begin one (triggers: from the first the model writes on, the reply is held to the calls'
 * grammar), a text that may come before the first call (prefix), the text around a call's JSON (open, close), the key
 * of its arguments, and whether a reply may hold several calls.
 */
export const TOOL_CALL_FORMATS = Object.freeze({
  hermes: Object.freeze({
    name: 'hermes',
    describe: 'Hermes-style <tool_call>{"name": ..., "arguments": ...}</tool_call> (Qwen 2.5, Qwen 3)',
    envelope: (name) => ({ before: `<tool_call>\n{"name": ${JSON.stringify(name)}, "arguments": `, after: '}\n</tool_call>' }),
    lazy: { triggers: ['<tool_call>'], open: '<tool_call>', argsKey: 'arguments', close: '</tool_call>', several: true },
    parse(text, names) {
      if (!text.includes('<tool_call>')) return null;
      const toolCalls = [];
      let content = '';
      let at = 0;
      for (;;) {
        const open = text.indexOf('<tool_call>', at);
        if (open < 0) break;
        // The call's JSON ends where its braces close (its strings may hold '</tool_call>'), then the block does.
        const start = open + '<tool_call>'.length;
        const end = jsonObjectEnd(text, start);
        const close = end < 0 ? null : /^\s*<\/tool_call>/.exec(text.slice(end));
        if (close === null) return null;
        const call = readCall(text.slice(start, end), 'arguments', names);
        if (call === null) return null;
        toolCalls.push(call);
        content += text.slice(at, open);
        at = end + close[0].length;
      }
      content += text.slice(at);
      if (content.includes('</tool_call>')) return null;  // a block with no call in it
      return { content: content.trim(), toolCalls };
    },
  }),
  llama3: Object.freeze({
    name: 'llama3',
    describe: 'Llama 3.1 / 3.2 JSON {"name": ..., "parameters": ...} (after <|python_tag|> or plain)',
    envelope: (name) => ({ before: `{"name": ${JSON.stringify(name)}, "parameters": `, after: '}' }),
    lazy: { triggers: ['<|python_tag|>', '{"name"', '{ "name"'], prefix: '<|python_tag|>', open: '', argsKey: 'parameters', close: '', several: false },
    parse(text, names) {
      let body = text.trim();
      if (body.startsWith('<|python_tag|>')) body = body.slice('<|python_tag|>'.length).trim();
      if (!body.startsWith('{')) return null;
      const call = readCall(body, 'parameters', names);
      return call === null ? null : { content: '', toolCalls: [call] };
    },
  }),
});

const KNOWN_FORMATS = Object.values(TOOL_CALL_FORMATS).map((f) => f.describe).join(', or ');

// The probe: a call to a tool no template knows, with an argument that survives any JSON writer unchanged.
const PROBE_TOOL = { name: 'ringlm_probe_tool', description: 'ringlm-probe-description',
  parameters: { type: 'object', properties: { ringlm_probe_arg: { type: 'string' } } } };
const PROBE_ARGS = { ringlm_probe_arg: 'ringlm-probe-value' };
const PROBE_QUESTION = 'ringlm-probe-question';
const PROBE_ANSWER = 'ringlm-probe-answer';

/**
 * The call format a chat template defines, found the way node-llama-cpp finds it: render a conversation ending with
 * an assistant's plain answer and the same one ending with an assistant's call instead, and read the text where the
 * two differ with each known format. `render(messages, tools)` renders with the template (no generation prompt;
 * messages with toolCalls, tools as checkTools returns them); `template` names it in errors. Throws when the
 * template shows no tools or writes no call in a known format.
 */
export function findToolCallFormat(render, what, template) {
  const tools = [PROBE_TOOL];
  const question = { role: 'user', content: PROBE_QUESTION };
  const refuse = (why) => new Error(`${what}: tools: ${template} ${why}; ringlm reads tool calls written as ${KNOWN_FORMATS}`);
  let plain, called;
  try {
    const shown = render([question], tools);
    if (!shown.includes(PROBE_TOOL.name) || shown === render([question], undefined)) throw refuse('does not show tools to the model');
    plain = render([question, { role: 'assistant', content: PROBE_ANSWER }], tools);
    called = render([question, { role: 'assistant', toolCalls: [{ name: PROBE_TOOL.name, arguments: PROBE_ARGS }] }], tools);
  } catch (e) {
    if (e.message.startsWith(`${what}: tools:`)) throw e;
    throw refuse(`cannot render a tool call (${e.message})`);
  }
  const answerAt = plain.indexOf(PROBE_ANSWER);
  if (answerAt < 0) throw refuse('does not render an assistant message');
  let start = 0;
  while (start < answerAt && plain[start] === called[start]) start++;
  const tail = plain.length - answerAt - PROBE_ANSWER.length;
  let end = 0;
  while (end < tail && end < called.length - start && plain[plain.length - 1 - end] === called[called.length - 1 - end]) end++;
  const written = called.slice(start, called.length - end);
  for (const format of Object.values(TOOL_CALL_FORMATS)) {
    const r = format.parse(written, [PROBE_TOOL.name]);
    if (r !== null && r.toolCalls.length === 1 && JSON.stringify(r.toolCalls[0].arguments) === JSON.stringify(PROBE_ARGS)) return format;
  }
  throw refuse(`writes an assistant's tool call in no format ringlm knows (${JSON.stringify(written.slice(0, 120))})`);
}

/**
 * The result of a chat() turn with tools: a reply that ended normally and holds well-formed calls becomes
 * { finishReason: 'tool_calls', toolCalls, content } (content: the text outside the calls); anything else is
 * returned as it is.
 */
export function withToolCalls(result, format, replyText, tools) {
  if (result.finishReason !== 'stop') return result;
  const parsed = format.parse(replyText, tools.map((t) => t.name));
  if (parsed === null) return result;
  return { ...result, finishReason: 'tool_calls', toolCalls: parsed.toolCalls, content: parsed.content };
}
