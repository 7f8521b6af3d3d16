// cli-chat.js — `ringlm chat`: an interactive chat in the terminal, as llama.cpp's and node-llama-cpp's CLIs
// have. Lines come from stdin (readline, or a pipe), each reply streams to stdout token by token, and the KV
// cache is kept across turns: a turn runs only the tokens it adds to the conversation.
//
//   ringlm chat [-m MODEL|URL] [--system TEXT] [--ctx N] [--template-file FILE] [--tools FILE [--tool-choice C]]
//               [generation flags]
//
// Commands: /help, /stats, /reset, /save FILE, /load FILE, /tool RESULT, /exit. Ctrl+C stops a reply and the chat goes on;
// Ctrl+C at the prompt twice in a row, or Ctrl+D (the end of stdin), leaves. stdout carries the replies only,
// one per turn followed by a newline; notices, command output and errors go to stderr.
//
// Turns go through lm.chat(), which keeps the KV cache across them: a turn runs only the tokens it adds to the
// conversation when the cache holds the rest (the library's rule; the result's cachedTokens says whether it did).
//
// A saved chat is two files:
//   FILE        the session as RingLM.saveState() writes it (KV ring, positions, sampler): the portable state
//               file, which `ringlm --state`, lm.restoreState() and the other builds read as well
//   FILE.json   the conversation, which the template needs to render the next turn:
//               { format: 'ringlm-chat', version: 1,
//                 messages: [{ role, content }, ...],   the conversation so far, the system message included
//                 chat: { ids, position } | null,       lm.chatCache: what the cache holds of it, for the next turn
//                 state: { bytes, sha256 } }             of FILE: a FILE.json loads only with the FILE saved with it
// /load checks FILE.json, then FILE's size and hash, then gives both to lm.restoreState(state, { chat }), which
// refuses a state from another model or context size before anything changes.
//
// With --tools, a reply that calls tools (lm.chat()'s finishReason 'tool_calls') is kept as an assistant message
// with its toolCalls, each call is told on stderr, and /tool RESULT gives the oldest unanswered call its result (a
// tool message); the model answers once every call has one. Until then a typed message is refused: the templates
// expect each call's result right after it.
//
// A model without a chat template (the built-in one) chats through PLAIN_TEMPLATE: the conversation as one text,
// each message starting a new line, the model continuing the last one; its reply ends at a newline.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import readline from 'node:readline';
import { RingLM } from '../ringlm.js';
import { closestName, generateOptionSchema } from './options.js';
import { logprobsReport } from './cli-logprobs.js';
import { DEFAULT_MODEL, SIMD_HELP, UsageError, describeModel, generationHelp, parseArgs, simdOption } from './cli-common.js';

export const CHAT_HELP = `usage: ringlm chat [options]

An interactive chat through lm.chat() and the model's chat template. Type a message and Enter; the reply streams
as it is generated, and the KV cache is kept across turns (a turn runs only the tokens it adds). With stdin not a
terminal, each line is a message and each reply is one line of stdout.

  -m, --model FILE|URL     GGUF model (default: the built-in model); a URL loads through the download cache (see
                           ringlm ls). A model without a chat template gets the plain one: each message starts a
                           line, the model continues it, and its reply ends at a newline
      --system TEXT        a system message first
      --ctx N              KV cache capacity in tokens (default: the trained context, or the largest that fits
                           memory); when the conversation fills it, --context-policy decides (see README)
      --template-file FILE a Jinja chat template to use instead of the file's tokenizer.chat_template
      --grammar-file FILE  read --grammar's GBNF text from a file
      --tools FILE         tools the model may call: a JSON list of { name, description?, parameters? } (or OpenAI's
                           { type: 'function', function: {...} }); the template must show tools (Qwen 2.5 / 3,
                           Llama 3.1 / 3.2 formats). A call is told on stderr; answer it with /tool RESULT
      --tool-choice C      auto (the model chooses; a call it starts is held to the tools' grammar), none,
                           required (always one call), or a tool's name (a call to it); default auto
${SIMD_HELP}  -h, --help               this text

In the chat:
  /help                    the commands
  /stats                   tokens in the cache, the last turn's speed, how full the ring is
  /reset                   forget the conversation (the --system message stays)
  /save FILE               save the chat: FILE (the session, as saveState() writes it) and FILE.json (the messages
                           and lm.chatCache)
  /load FILE               continue a chat saved by /save, with this model and --ctx
  /tool RESULT             the result of the oldest call the model made that has none yet (--tools); the model
                           answers when every call has its result
  /exit                    leave (as Ctrl+D does)
  //text                   send a message that begins with '/text'
  Ctrl+C                   stop the reply; at the prompt, twice in a row, leave

With --seed, every turn samples from that seed (as lm.chat() does), so a reply depends only on the conversation
and the seed, continued or not; without it, the turns go on with one random stream. Generation flags (-n is
--max-tokens, each turn's limit):
`;

const COMMAND_HELP = `  /help  /stats  /reset  /save FILE  /load FILE  /tool RESULT  /exit   (//text sends '/text'; Ctrl+C stops a reply)\n`;
const COMMANDS = ['/help', '/stats', '/reset', '/save', '/load', '/tool', '/exit'];

// Flags of the main command that mean nothing here, and what to use instead.
const NOT_FOR_CHAT = {
  prompt: "-p (type the messages, or pipe them in: one per line)", file: '-f (pipe the messages in: one per line)',
  addBos: '--no-bos (the template decides)', chat: '--chat (this is the chat)', state: '--state (use /load FILE)',
};

class ChatError extends Error {}

// ---------------------------------------------------------------------------------------------
// The conversation and its KV cache
// ---------------------------------------------------------------------------------------------

/**
 * The template for a model that has none: the conversation as one plain text, each message on a line of its own.
 * The last message, the user's, is left open for the model to continue (a text model's natural way to answer),
 * and its reply ends at the newline (the stop string chatCommand adds). No roles are written, since a model
 * trained on plain text knows none; the reply joins the user's line, so the next turn renders what the cache holds.
 */
export const PLAIN_TEMPLATE =
  "{%- for m in messages -%}{%- if m['role'] != 'assistant' and not loop.first %}{{ '\\n' }}{% endif -%}{{ m['content'] }}{%- endfor -%}";

/** One model's conversation: its messages, turned by lm.chat(), and the last turn's figures. */
class Conversation {
  lm;
  messages;
  #first;          // the messages a reset returns to (the --system message)
  #options;        // lm.chat() options for every turn (the template among them)
  turns = 0;
  last = null;     // the last turn: { promptTokens, continued, prefillTokensPerSecond, generated, tokensPerSecond, finish }

  constructor(lm, { system, options }) {
    this.lm = lm;
    this.#first = system === undefined ? [] : [{ role: 'system', content: system }];
    this.messages = [...this.#first];
    this.#options = options;
  }

  /**
   * Answer new messages (a user's, or tool results), streaming the reply's text to `onText`. The reply stays in the
   * conversation even when `signal` stops it; a reply that calls tools is kept with its toolCalls. Returns
   * { stopped, finishReason, toolCalls, droppedTokens (null when stopped), unanswered }.
   */
  async turn(added, { signal, onText, onLogprobs }) {
    const messages = [...this.messages, ...added];
    const droppedBefore = this.lm.cacheState.dropped;
    let text = '';
    let generated = 0;
    let result = null;
    const started = performance.now();
    let firstToken = 0;
    try {
      const iterator = this.lm.chat(messages, { ...this.#options, signal });
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) {
          result = value;
          break;
        }
        if (value.id >= 0 && ++generated === 1) firstToken = performance.now();
        if (value.logprobs) onLogprobs?.(value.logprobs);
        text += value.text;
        onText(value.text);
      }
    } catch (e) {
      if (e?.name !== 'AbortError') throw e;
    }
    // Not answered: stopped before a token, or a full ring under 'stop' left no room for one.
    const answered = generated > 0 || result?.finishReason === 'stop' || result?.finishReason === 'tool_calls';
    const reply = result?.finishReason === 'tool_calls' ? { role: 'assistant', content: result.content, toolCalls: result.toolCalls }
      : { role: 'assistant', content: text };
    if (answered) this.messages = [...messages, reply];
    this.turns += 1;
    const continued = result !== null && result.cachedTokens > 0;
    const elapsed = (performance.now() - (firstToken || started)) / 1000;
    const t = result?.timings;
    this.last = {
      promptTokens: t ? t.promptTokens : null, continued,
      prefillTokensPerSecond: t ? t.prefillTokensPerSecond : null,
      generated,
      tokensPerSecond: t ? t.decodeTokensPerSecond : generated > 1 && elapsed > 0 ? (generated - 1) / elapsed : null,
      finish: result ? result.finishReason : 'stopped (Ctrl+C)',
    };
    // A turn from the start emptied the ring, and its count of dropped tokens with it.
    const dropped = this.lm.cacheState.dropped;
    return {
      stopped: result === null, finishReason: result?.finishReason, toolCalls: result?.toolCalls, unanswered: !answered,
      droppedTokens: result === null ? null : continued ? dropped - droppedBefore : dropped,
    };
  }

  /** The calls of the last assistant message that have no result yet (tool messages after it), oldest first. */
  get unansweredCalls() {
    const at = this.messages.findLastIndex((m) => m.role === 'assistant');
    const calls = this.messages[at]?.toolCalls ?? [];
    return calls.slice(this.messages.length - 1 - at);
  }

  /** A message that waits for the next turn in the conversation (a tool's result while other calls wait for theirs). */
  add(message) {
    this.messages = [...this.messages, message];
  }

  /** Forget the conversation: the system message stays, the cache empties. */
  reset() {
    this.lm.reset();
    this.messages = [...this.#first];
    this.last = null;
  }

  /** /save FILE: the session to FILE, the conversation and lm.chatCache to FILE.json. */
  save(file) {
    const state = this.lm.saveState();
    const chat = this.lm.chatCache;
    const conversation = {
      format: 'ringlm-chat', version: 1,
      messages: this.messages,
      chat: chat && { ids: Array.from(chat.ids), position: chat.position },
      state: { bytes: state.length, sha256: sha256(state) },
    };
    try {
      writeFileSync(file, state);
      writeFileSync(`${file}.json`, `${JSON.stringify(conversation, null, 1)}\n`);
    } catch (e) {
      throw new ChatError(`cannot write ${e.path ?? file}: ${e.code ?? e.message}`);
    }
    return state.length;
  }

  /**
   * /load FILE: a chat saved by /save. The files are checked before the session changes; restoreState() checks
   * the state and the chat. If it refuses them the messages stay this conversation's, and since a refused
   * restore forgets lm.chatCache, the next turn runs them from the start whatever the ring then holds.
   */
  load(file) {
    const conversation = readConversation(`${file}.json`);
    let state;
    try {
      state = readFileSync(file);
    } catch (e) {
      throw new ChatError(`cannot read ${file}: ${e.code ?? e.message}`);
    }
    if (state.length !== conversation.state.bytes || sha256(state) !== conversation.state.sha256) {
      throw new ChatError(`${file} is not the state saved with ${file}.json (its size or SHA-256 differs): they were not saved together`);
    }
    try {
      this.lm.restoreState(new Uint8Array(state.buffer, state.byteOffset, state.length), { chat: conversation.chat });
    } catch (e) {
      throw new ChatError(`${file}: ${e.message}`);
    }
    this.messages = conversation.messages;
    this.last = null;
    return conversation;
  }

  /** /stats: tokens, speed, ring fill. */
  stats() {
    const ring = this.lm.cacheState;
    const fill = ring.capacity ? ((100 * ring.kept) / ring.capacity).toFixed(1) : '0';
    const lines = [
      `conversation: ${this.messages.length} messages, ${this.turns} turn${this.turns === 1 ? "" : "s"}; the cache holds ${ring.kept} tokens (position ${ring.position})`,
      `ring: ${ring.kept} of ${ring.capacity} tokens (${fill}%), policy ${ring.policy}, ${ring.dropped} dropped so far`,
    ];
    const l = this.last;
    if (l) {
      const rate = (r) => (r > 0 ? ` at ${r.toFixed(1)} tok/s` : '');
      const prompt = l.promptTokens === null ? 'stopped before its end' :
        `${l.promptTokens} prompt tokens (${l.continued ? 'continuing the cache' : 'from the start'})${rate(l.prefillTokensPerSecond)}`;
      lines.push(`last turn: ${prompt}; ${l.generated} tokens generated${rate(l.tokensPerSecond)}; finish: ${l.finish}`);
    }
    return lines.map((line) => `${line}\n`).join('');
  }
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A FILE.json written by /save, checked field by field (restoreState() checks the chat's ids). */
function readConversation(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ChatError(`cannot read ${path} (the conversation /save writes beside the state): ${e.code ?? e.message}`);
  }
  let c;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new ChatError(`${path} is not JSON: ${e.message}`);
  }
  if (c === null || typeof c !== 'object' || c.format !== 'ringlm-chat') throw new ChatError(`${path} is not a ringlm chat file (no "format": "ringlm-chat")`);
  if (c.version !== 1) throw new ChatError(`${path} has version ${JSON.stringify(c.version)}; this ringlm reads version 1`);
  const bad = (what) => new ChatError(`${path}: ${what}`);
  if (!Array.isArray(c.messages) || !c.messages.every((m) => m && typeof m.role === 'string' && typeof m.content === 'string')) {
    throw bad('"messages" must be a list of { role, content } with string values');
  }
  if (c.chat !== null && !(typeof c.chat === 'object' && Array.isArray(c.chat.ids))) {
    throw bad('"chat" must be null or the { ids, position } of lm.chatCache');
  }
  if (!c.state || !Number.isSafeInteger(c.state.bytes) || !/^[0-9a-f]{64}$/.test(c.state.sha256 ?? '')) {
    throw bad('"state" must be { bytes, sha256 } of the state file');
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// The terminal: lines in, replies out, Ctrl+C
// ---------------------------------------------------------------------------------------------

/** Lines from stdin one at a time; null at its end (Ctrl+D, or the end of a pipe) or after close(). */
class LineReader {
  #lines = [];
  #closed = false;
  #waiting = null;

  constructor(rl) {
    rl.on('line', (line) => {
      this.#lines.push(line);
      this.#wake();
    });
    rl.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  next() {
    if (this.#lines.length) return Promise.resolve(this.#lines.shift());
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => { this.#waiting = resolve; });
  }

  #wake() {
    const resolve = this.#waiting;
    this.#waiting = null;
    if (resolve) resolve(this.#lines.length ? this.#lines.shift() : null);
  }
}

function readFlagFile(flag, file) {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${flag} ${file}: ${e.code ?? e.message}`);
  }
}

/** The value of the chat's own `flag` (the last one given) and argv without it. */
function takeFlag(argv, flag) {
  let value;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== flag) {
      rest.push(argv[i]);
      continue;
    }
    value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
  }
  return { value, rest };
}

/** --tools FILE: the JSON list of tools, read and parsed (lm.chat() checks each tool). */
function readTools(file) {
  const text = readFlagFile('--tools', file);
  let tools;
  try {
    tools = JSON.parse(text);
  } catch (e) {
    throw new Error(`--tools ${file} is not JSON: ${e.message}`);
  }
  if (!Array.isArray(tools)) throw new Error(`--tools ${file} must hold a JSON list of tools ([{ "name": ..., "parameters": ... }, ...])`);
  return tools;
}

/** `ringlm chat`: returns the exit code. */
export async function chatCommand(argv, Module) {
  const schema = generateOptionSchema(Module);
  const { value: templateFile, rest: argv1 } = takeFlag(argv, '--template-file');
  const { value: toolsFile, rest: argv2 } = takeFlag(argv1, '--tools');
  const { value: toolChoiceFlag, rest: argv3 } = takeFlag(argv2, '--tool-choice');
  const args = parseArgs(argv3, Module, schema);
  if (args.help) {
    process.stdout.write(CHAT_HELP + generationHelp(schema));
    return 0;
  }
  const { model = DEFAULT_MODEL, contextSize = 0, system, grammarFile, simd: simdFlag, ...options } = args;
  const simd = simdOption(simdFlag);
  for (const [name, flag] of Object.entries(NOT_FOR_CHAT)) {
    if (name in options) throw new UsageError(`chat does not take ${flag}`);
  }
  if (grammarFile !== undefined) {
    if (options.grammar !== undefined) throw new UsageError('give --grammar or --grammar-file, not both');
    options.grammar = readFlagFile('--grammar-file', grammarFile);
  }
  const template = templateFile === undefined ? undefined : readFlagFile('--template-file', templateFile);
  if (toolChoiceFlag !== undefined && toolsFile === undefined) throw new UsageError('--tool-choice needs --tools FILE');
  const tools = toolsFile === undefined ? undefined : readTools(toolsFile);
  const toolChoice = toolChoiceFlag === undefined || ['auto', 'none', 'required'].includes(toolChoiceFlag) ? toolChoiceFlag : { name: toolChoiceFlag };
  const remote = /^https?:/i.test(model);
  if (!remote && !existsSync(model)) {
    throw new Error(args.model ? `model file not found: ${model}` : 'no -m MODEL given and the built-in model is not installed');
  }

  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const lm = await RingLM.load(model, {
    contextSize, cache: remote, simd,
    onProgress: ({ phase, loaded, total }) => {
      if (process.stderr.isTTY) {
        process.stderr.write(`\r${phase === 'download' ? 'downloading' : 'loading'} ${model}: ` +
          `${total ? `${Math.round((100 * loaded) / total)}% of ` : ''}${(Math.max(total, loaded) / 1e6).toFixed(1)} MB   `);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  try {
    process.stderr.write(`ringlm: ${describeModel(lm.info)}\n`);
    const plain = template === undefined && lm.chatTemplate === null;
    if (plain) {
      process.stderr.write(`ringlm: ${model === DEFAULT_MODEL ? 'the built-in model' : model} has no chat template (tokenizer.chat_template): ` +
        'the plain one is used: each message starts a line, the model continues it, and its reply ends at a newline ' +
        '(--template-file FILE gives a Jinja template)\n');
    }
    const toolOptions = tools === undefined ? {} : { tools, ...(toolChoice === undefined ? {} : { toolChoice }) };
    const chatOptions = plain ? { ...options, template: PLAIN_TEMPLATE, stop: [...[options.stop ?? []].flat(), '\n'] }
      : { ...options, ...(template === undefined ? {} : { template }), ...toolOptions };
    if (tools !== undefined) {
      if (plain) throw new Error(`--tools: ${model === DEFAULT_MODEL ? 'the built-in model' : model} has no chat template to show tools (--template-file FILE gives one)`);
      // The tools and the template's call format are checked now, not at the first message.
      try {
        lm.applyChatTemplate([{ role: 'user', content: 'x' }], { tools, ...(template === undefined ? {} : { template }) });
      } catch (e) {
        throw new Error(`--tools ${toolsFile}: ${String(e.message).replace(/^RingLM\.applyChatTemplate: (tools: )?/, '')}`);
      }
      if (typeof toolChoice === 'object' && !tools.some((t) => (t?.name ?? t?.function?.name) === toolChoice.name)) {
        throw new UsageError(`--tool-choice ${toolChoice.name}: no tool of that name in ${toolsFile} (use auto, none, required or a tool's name)`);
      }
    }
    const conversation = new Conversation(lm, { system, options: chatOptions });
    if (tty) process.stderr.write('ringlm: chat; /help for the commands, Ctrl+C stops a reply, Ctrl+D leaves\n');
    return await repl(conversation, { tty, Module, logprobs: options.logprobs !== undefined, maxTokens: options.maxTokens });
  } finally {
    lm.dispose();
  }
}

/** Read lines, answer them, run the commands, until the input ends or the user leaves. */
async function repl(conversation, { tty, Module, logprobs, maxTokens }) {
  const rl = readline.createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
  const lines = new LineReader(rl);
  const note = (text) => process.stderr.write(`ringlm: ${text}\n`);
  let replying = null;       // the running turn's AbortController
  let leaveArmed = false;    // a Ctrl+C at the prompt: the next one leaves
  const onInterrupt = () => {
    if (replying) {
      replying.abort();
      return;
    }
    if (tty && rl.line) {  // as in Node's REPL: a first Ctrl+C clears what was typed (to its end, then back to the start)
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      return;
    }
    if (leaveArmed) {
      rl.close();
      return;
    }
    leaveArmed = true;
    if (tty) process.stdout.write('\n');
    note('(Ctrl+C again or Ctrl+D to leave)');
    if (tty) rl.prompt(true);
  };
  rl.on('SIGINT', onInterrupt);          // a terminal's Ctrl+C, which readline reads as a key
  process.on('SIGINT', onInterrupt);     // a signal (kill -INT, or Ctrl+C when stdin is no terminal)
  try {
    for (;;) {
      if (tty) rl.prompt(true);  // the cursor stays after what was typed during the reply
      const line = await lines.next();
      if (line === null) break;
      leaveArmed = false;
      if (line.trim() === '') continue;
      let added;
      if (/^\/tool(\s|$)/.test(line)) {
        added = toolResult(line, conversation, note);
        if (added === null) continue;
      } else if (line.startsWith('/') && !line.startsWith('//')) {
        if (runCommand(line, conversation, { note, Module }) === 'exit') break;
        continue;
      } else if (conversation.unansweredCalls.length > 0) {
        note(`the model called ${conversation.unansweredCalls.map((c) => c.name).join(', ')}: give each call its result with /tool RESULT first ` +
          '(or /reset); the message was not sent');
        continue;
      } else {
        added = [{ role: 'user', content: line.startsWith('//') ? line.slice(1) : line }];
      }
      replying = new AbortController();
      const table = [];
      try {
        const r = await conversation.turn(added, {
          signal: replying.signal,
          onText: (text) => process.stdout.write(text),
          onLogprobs: logprobs ? (entry) => table.push(entry) : undefined,
        });
        process.stdout.write('\n');
        if (logprobs) process.stderr.write(logprobsReport(table));
        report(r, conversation, { note, maxTokens });
      } catch (e) {
        process.stdout.write('\n');
        note(`error: ${String(e.message ?? e).split('\n')[0]} (the message was not kept)`);
      } finally {
        replying = null;
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
  }
  if (tty) process.stdout.write('\n');
  return 0;
}

/**
 * /tool RESULT: the tool message for the oldest call without a result. Returns the messages to answer now (the last
 * call's result), or null when the line was told off or more calls still wait (the result is then kept).
 */
function toolResult(line, conversation, note) {
  const result = line.slice('/tool'.length).trim();
  const calls = conversation.unansweredCalls;
  if (calls.length === 0) {
    note('/tool gives a tool call its result, and no call waits for one');
    return null;
  }
  if (!result) {
    note(`/tool needs RESULT (/tool RESULT): the result of ${calls[0].name}`);
    return null;
  }
  const message = { role: 'tool', name: calls[0].name, content: result };
  if (calls.length === 1) return [message];
  conversation.add(message);
  note(`kept as ${calls[0].name}'s result; ${calls.length - 1} more call${calls.length > 2 ? 's wait' : ' waits'} (${calls.slice(1).map((c) => c.name).join(', ')})`);
  return null;
}

/** After a turn: what stopped it, when that is news, and what a full context did. */
function report(r, conversation, { note, maxTokens }) {
  const ring = conversation.lm.cacheState;
  if (r.finishReason === 'tool_calls') {
    for (const call of r.toolCalls) note(`tool call: ${call.name} ${JSON.stringify(call.arguments)}`);
    note(`answer with /tool RESULT${r.toolCalls.length > 1 ? ', once per call, in order' : ''}`);
  }
  if (r.stopped) note(r.unanswered ? 'stopped before the reply began (the message was not kept)' : 'stopped (the reply so far is kept)');
  if (r.droppedTokens > 0) {
    const how = ring.policy === 'shift' ? 'it drops the older half of its window at once' : 'each new token evicts the oldest one after the first few';
    note(`the context is full (${ring.capacity} tokens): under policy '${ring.policy}' the ring dropped ${r.droppedTokens} tokens this turn ` +
      `(${how}; the model no longer sees them, ${ring.anchors} tokens at the start are kept)`);
  }
  const limit = maxTokens ?? 256;
  if (r.finishReason === 'length' && ring.policy === 'stop' && conversation.last.generated < limit) {
    note(r.unanswered
      ? `the conversation no longer fits the context (${ring.capacity} tokens, policy 'stop'): the message was not answered or kept; ` +
        '/reset starts over (or use a larger --ctx, or --context-policy sinks)'
      : `the context is full (${ring.capacity} tokens, policy 'stop'): the reply was cut short; /reset starts over ` +
        '(or use a larger --ctx, or --context-policy sinks)');
  } else if (r.finishReason === 'length') {
    note(`the reply reached --max-tokens (${limit})`);
  }
}

/** One /command; returns 'exit' for /exit. Mistakes are told, never fatal. */
function runCommand(line, conversation, { note, Module }) {
  const [command, ...rest] = line.trim().split(/\s+/);
  const argument = line.trim().slice(command.length).trim();
  const needs = (what) => {
    if (!argument) throw new ChatError(`${command} needs ${what} (${command} ${what})`);
  };
  const none = () => {
    if (rest.length) throw new ChatError(`${command} takes no argument (got '${argument}')`);
  };
  try {
    switch (command) {
      case '/help':
        none();
        process.stderr.write(COMMAND_HELP);
        return null;
      case '/stats':
        none();
        process.stderr.write(conversation.stats());
        return null;
      case '/reset':
        none();
        conversation.reset();
        note('the conversation is forgotten');
        return null;
      case '/save': {
        needs('FILE');
        const bytes = conversation.save(argument);
        note(`saved ${conversation.messages.length} messages to ${argument}.json and the session (${(bytes / 1e6).toFixed(1)} MB, ` +
          `${conversation.lm.position} tokens) to ${argument}`);
        return null;
      }
      case '/load': {
        needs('FILE');
        const c = conversation.load(argument);
        note(`loaded ${c.messages.length} messages and ${conversation.lm.position} tokens from ${argument}`);
        return null;
      }
      case '/exit':
        none();
        return 'exit';
      default: {
        const near = closestName(Module, command, COMMANDS);
        throw new ChatError(`unknown command '${command}'${near ? ` (did you mean '${near}'?)` : ''}; /help lists them, //text sends '/text'`);
      }
    }
  } catch (e) {  // a bad command, file or state is told, and the chat goes on
    note(String(e.message ?? e).split('\n')[0]);
    return null;
  }
}
