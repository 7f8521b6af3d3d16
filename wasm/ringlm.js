// ringlm — run a GGUF language model in WebAssembly, in Node and in the browser.
//
//   import { RingLM } from 'ringlm';
//   const lm = await RingLM.load('model.gguf', { contextSize: 512 });
//   const logits = lm.prefill([1, 15043, 29892]);   // Float32Array(vocabSize)
//   const next = lm.decode(3186);
//   lm.dispose();
//
// This file is the API: the RingLM class. It calls the Embind surface in bindings.cpp and turns its error
// strings into Errors; the rest of the JS side is in lib/, one concern a file:
//   runtime.js  which wasm build a model runs in (threads or not), one instance of each per realm
//   source.js   a model file's bytes (path, URL, Blob, bytes) into wasm memory, copied once
//   cache.js    downloaded models kept on this machine (OPFS in browsers, a folder in Node), resumable
//   preflight.js  a URL's GGUF header read first, so a model that cannot fit is refused before its download
//   sha256.js   SHA-256 over chunks, for checking downloads
//   heap.js     lending bytes to C++ for one call
//   options.js  generate()'s options, checked against the core's schema (src/generate/options.h)
//   checks.js   token ids and chat messages
//   chat.js     chat templates
//   logprobs.js log-probabilities (generate's logprobs option, score()) with each token's text
//   json-schema.js, json-output.js  the jsonSchema option: a JSON Schema as a grammar, the output parsed
//   tools.js, tool-grammar.js  chat()'s tools: shown to the template, calls parsed from the reply or forced

import { withHeapCopy } from './lib/heap.js';
import { getModule, threadCount, anyModule, memoryUsage, nextTurn, isNode, simdBuild } from './lib/runtime.js';
import { DEFAULT_MODEL_URL, describeSource, readBytes, splitParts } from './lib/source.js';
import { cachedSource, isStored, modelCache } from './lib/cache.js';
import { checkBeforeDownload } from './lib/preflight.js';
import { sha256Hex } from './lib/sha256.js';
import { checkGenerateOptions, checkOptionNames, generateOptionSchema } from './lib/options.js';
import { tokenId, tokenIds } from './lib/checks.js';
import { ChatTemplates, chatPromptIds } from './lib/chat.js';
import { scoreIds, scoreResult, tokenLogprobs } from './lib/logprobs.js';
import { jsonSchemaOptions, jsonValue } from './lib/json-output.js';
import { checkToolChoice, checkTools, findToolCallFormat, templateMessages, templateTools, withToolCalls } from './lib/tools.js';
import { lazyToolCallGrammar, toolCallGrammar } from './lib/tool-grammar.js';

const textEncoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text (by default TextDecoder drops it).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The http(s) URL a load source names, or null (a path, bytes, a Blob, a data: or blob: URL). */
function httpUrl(source) {
  const text = source instanceof URL ? source.href : typeof source === 'string' ? source : null;
  return text !== null && /^https?:/i.test(text) ? new URL(text).href : null;
}

/** What messages call a part of a model besides its number: its path or URL, or a File's name. */
function partName(source) {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (typeof source?.name === 'string' && source.name) return source.name;
  return '';  // bytes: the part's number says which
}

/** Throws unless `bytes` hash to `sha256`. */
async function checkSha256(bytes, sha256) {
  const got = await sha256Hex(bytes);
  if (got !== sha256.toLowerCase()) throw new Error(`RingLM.load: the file has SHA-256 ${got}, not the ${sha256.toLowerCase()} asked for`);
}

/** restoreState()'s `chat` option ({ ids, position }, as lm.chatCache gave it) checked; its ids as an Int32Array. */
const CHAT_CACHE_SHAPE = 'RingLM.restoreState: chat must be the { ids, position } lm.chatCache gave';
function chatCacheShape(chat) {
  if (typeof chat !== 'object' || !Number.isSafeInteger(chat.position) || chat.position < 0 || chat.ids == null ||
      typeof chat.ids.length !== 'number') {
    throw new TypeError(CHAT_CACHE_SHAPE);
  }
}
// After the state restored: ids outside this model's vocabulary mean a chat saved with something else.
function chatCacheIds(chat, vocabSize) {
  const ids = Int32Array.from(chat.ids);
  const bad = ids.findIndex((id, i) => id < 0 || id >= vocabSize || id !== Number(chat.ids[i]));
  if (bad >= 0) {
    throw new RangeError(`${CHAT_CACHE_SHAPE}: chat.ids[${bad}] is ${chat.ids[bad]}, not a token id below ${vocabSize} ` +
      '(the state is restored; the next chat() turn runs from the start)');
  }
  return ids;
}

export class RingLM {
  #module;
  #engine;
  #info;
  #tokenizer;
  #metadata;
  #chatTemplates = new ChatTemplates();
  // What the cache holds after the last chat() turn ({ ids, position }), so the next turn can run only the new
  // tokens when its prompt extends them; null once anything else touches the cache.
  #chatCache = null;
  // The end-of-generation token that ended the last generation (-1 if none did): sampled but not yet run, so the
  // next chat() turn's continuation runs it first, and #chatCache counts it.
  #endToken = -1;
  #generating = false;

  /**
   * Memory of the shared wasm instances: { heapBytesInUse, memoryBytes } (malloc'ed bytes, and the
   * size of the wasm memory, which only grows), summed over the builds in use (at first, the one a
   * load with default options would use). For leak checks and display.
   */
  static memoryUsage() {
    return memoryUsage();
  }

  /**
   * Every option generate() takes, as the core's schema (src/generate/options.h) describes it, then the
   * options JS handles itself: [{ name, type, default, defaultText?, min?, max?, minExclusive?, values?, rule,
   * flag?, doc }]. The command line's flags and the demo page's controls are made from it.
   */
  static async generateOptionSchema() {
    return generateOptionSchema(await anyModule());
  }

  /** Where the built-in model is: a file: URL in Node, an http(s) URL in a page. */
  static get defaultModelUrl() {
    return DEFAULT_MODEL_URL.href;
  }

  /**
   * Downloaded models kept on this machine (see LoadOptions.cache): list() / delete(url) / clear() /
   * location().
   */
  static get cache() {
    return modelCache;
  }

  /** Load the built-in model (the same as RingLM.load() with no source). */
  static loadDefault(options = {}) {
    return RingLM.load(DEFAULT_MODEL_URL, options);
  }

  /** Use RingLM.load(). */
  constructor(module, engine) {
    this.#module = module;
    this.#engine = engine;
    this.#info = Object.freeze(engine.info());
  }

  /**
   * Load a GGUF model.
   * @param source ArrayBuffer | ArrayBufferView | Blob | URL | string (a URL, or in Node a file path)
   * @param options { contextSize?: number (default: the trained context if it fits memoryLimit, else the largest
   *   that does; info.contextLimitedBy says which), memoryLimit?: bytes (file + KV cache + scratch; default and at most
   *   4 GiB, the wasm address space), threads?: number (1: the single-threaded build; default: the cores
   *   available, at most 8, where SharedArrayBuffer exists, else 1), simd?: 'default' | 'relaxed' (the opt-in
   *   relaxed-SIMD builds, threads as for the default ones), onProgress?: ({loaded, total}) => void }
   */
  static async load(source = DEFAULT_MODEL_URL, options = {}) {
    const { contextSize = 0, memoryLimit = 0, onProgress, cache = !isNode, sha256 } = options;
    if (!Number.isInteger(contextSize) || contextSize < 0) {
      throw new RangeError(`RingLM.load: contextSize must be a positive integer (got ${contextSize})`);
    }
    if (!Number.isSafeInteger(memoryLimit) || memoryLimit < 0) {
      throw new RangeError(`RingLM.load: memoryLimit must be a number of bytes (got ${memoryLimit})`);
    }
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new TypeError('RingLM.load: onProgress must be a function');
    }
    if (typeof cache !== 'boolean') throw new TypeError(`RingLM.load: cache must be true or false (got ${cache})`);
    const sources = splitParts(source);
    const hashes = sha256 === undefined ? [] : Array.isArray(sha256) ? sha256 : [sha256];
    if (sha256 !== undefined && (hashes.length !== sources.length || !hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/i.test(h)))) {
      throw new TypeError(`RingLM.load: sha256 must be 64 hexadecimal digits${sources.length > 1 ? `, one per part (${sources.length})` : ''} ` +
        `(got ${JSON.stringify(sha256)})`);
    }
    const simd = simdBuild(options.simd);
    const threads = await threadCount(options.threads);
    const { Module, pool } = await getModule(threads, simd);
    checkOptionNames(Module, options, 'LoadOptions', 'RingLM.load');
    // The file is the bulk of the budget: refuse it before allocating (the engine checks the rest), and a URL's
    // before downloading it when the cache asks the server for its size first.
    const limit = Math.min(memoryLimit || 2 ** 32, 2 ** 32);
    // A model at URLs is sized from its files' first bytes before any is downloaded (lib/preflight.js).
    const urls = sources.map(httpUrl);
    if (urls.every((url) => url) && !(cache && (await Promise.all(urls.map(isStored))).every(Boolean))) {
      await checkBeforeDownload(Module, urls, { contextSize, memoryLimit, limit, pool, threads });
    }
    const names = sources.map(partName);
    const inPart = (i, e) => (sources.length > 1 ? Object.assign(new Error(
      `RingLM.load: part ${i + 1} of ${sources.length}${names[i] ? ` (${names[i]})` : ''}: ${e.message.replace(/^RingLM\.load: /, '')}`, { cause: e })) : e);
    const parts = [];
    for (const [i, part] of sources.entries()) {
      const url = urls[i];
      const more = sources.length > 1 ? { part: i, parts: sources.length } : {};
      try {
        const stored = url && cache
          ? await cachedSource(url, { sha256: hashes[i], limit, onProgress: onProgress && ((p) => onProgress({ ...p, ...more })) })
          : null;
        parts.push({ ...(await describeSource(stored ?? part)), phase: url && !stored ? 'download' : 'read', sha256: stored ? null : hashes[i] });
      } catch (e) {
        throw inPart(i, e);
      }
    }
    const size = parts.reduce((sum, p) => sum + p.size, 0);
    for (const [i, p] of parts.entries()) if (p.size === 0) throw inPart(i, new Error('RingLM.load: the model file is empty'));
    if (size > limit) {
      throw new Error(`RingLM.load: the file is ${(size / 2 ** 20).toFixed(1)} MiB, more than the memory limit of ` +
        `${(limit / 2 ** 20).toFixed(1)} MiB${limit === 2 ** 32 ? ' (the 4 GiB wasm address space)' : ''}`);
    }
    const placed = [];  // [address, size, name] per part, as the engine takes them
    try {
      let before = 0;  // bytes of the parts already placed: progress counts the whole file
      for (const [i, p] of parts.entries()) {
        const ptr = Module._malloc(p.size) >>> 0;  // above 2 GiB _malloc's result is negative in JS
        if (ptr === 0) throw new Error(`RingLM.load: cannot allocate ${p.size} bytes in wasm memory (the limit is 4 GiB)`);
        placed.push([ptr, p.size, names[i]]);
        const at = before;
        try {
          await p.fill(Module, ptr, onProgress && (({ loaded }) => onProgress({ phase: p.phase, loaded: at + loaded, total: size })));
          // A download through the cache was checked as it arrived; anything else is checked in place.
          if (p.sha256) await checkSha256(Module.HEAPU8.subarray(ptr, ptr + p.size), p.sha256);
        } catch (e) {
          throw inPart(i, e);
        }
        before += p.size;
      }
    } catch (e) {
      for (const [ptr] of placed) Module._free(ptr);
      throw e;
    }
    const engine = new Module.Engine();
    const error = engine.load(placed, contextSize, memoryLimit, pool, threads);  // owns the parts from here, even on failure
    if (error) {
      engine.delete();
      throw new Error(`RingLM.load: ${error}`);
    }
    return new RingLM(Module, engine);
  }

  /** Hyperparameters and sizes of the loaded model. */
  get info() {
    this.#live();
    return this.#info;
  }

  /** Tokens in the cache: the position the next token will take. */
  get position() {
    return this.#live().position();
  }

  /** Empty the KV cache: the next token is at position 0. */
  reset() {
    this.#idle('reset').reset();
  }

  /**
   * Run prompt tokens after what is already cached.
   * @returns Float32Array of the last token's logits, or ids.length × vocabSize with allLogits.
   */
  prefill(ids, options = {}) {
    const engine = this.#idle('prefill');
    checkOptionNames(this.#module, options, 'PrefillOptions', 'RingLM.prefill');
    const { allLogits = false } = options;
    const tokens = tokenIds(ids, 'RingLM.prefill');
    if (tokens.length === 0) throw new Error('RingLM.prefill: no tokens given');
    withHeapCopy(this.#module, tokens, 'RingLM.prefill',
      (ptr, n) => this.#check(engine.prefill(ptr, n, allLogits), 'prefill'));
    return engine.logits().slice();
  }

  /** Run one token; returns the logits (Float32Array of vocabSize) for the next position. */
  decode(id) {
    const engine = this.#idle('decode');
    this.#check(engine.decode(tokenId(id, 'RingLM.decode')), 'decode');
    return engine.logits().slice();
  }

  /**
   * Generate text after a prompt, streaming tokens as they are sampled.
   * @param prompt a string (tokenized with the model's BOS rule) or token ids
   * @returns an async iterator of { id, text }; its return value is { finishReason, timings, seed }
   */
  async *generate(prompt, options = {}) {
    return yield* this.#generate(prompt, options, 'RingLM.generate');
  }

  /** generate() for generate and chat: `what` names the caller in errors, `also` lists its own options. */
  async *#generate(prompt, options, what, also = []) {
    this.#live();
    if (this.#generating) throw new Error('RingLM.generate: a generation is already running on this model');
    const o = jsonSchemaOptions(checkGenerateOptions(this.#module, options, what, also), what);
    let jsonText = '';  // with jsonSchema: the text, to parse at the end
    o.signal?.throwIfAborted();
    this.#generating = true;
    this.#chatCache = null;
    this.#endToken = -1;
    try {
      const ids = this.#promptIds(prompt, o);
      withHeapCopy(this.#module, ids, 'RingLM.generate',
        (ptr, n) => this.#check(this.#engine.generateBegin(ptr, n, o, o.reseed), 'generate'));
      for (;;) {
        if (o.signal?.aborted) {
          this.#engine?.generateAbort();
          this.#engine?.generateStep();
          throw o.signal.reason;
        }
        // dispose() between two steps freed the engine (and the generation with it): the stream was cut short.
        if (!this.#engine) throw new DOMException('RingLM.generate: the model was disposed during the generation', 'AbortError');
        const step = this.#engine.generateStep();
        if (step.error) throw new Error(`RingLM.generate: ${step.error}`);
        if (step.kind === 'prefill') o.onPrefillProgress?.({ done: step.promptDone, total: ids.length });
        if (o.json && step.text) jsonText += step.text;
        if (step.kind === 'token') {
          if (o.logprobs === undefined) yield { id: step.token, text: step.text };
          else yield { id: step.token, text: step.text, logprobs: tokenLogprobs(this.#engine, this.#engine.tokenLogprobs()) };
        }
        if (step.finishReason) {
          if (step.kind === 'done') this.#endToken = step.token;
          if (step.kind === 'done' && step.text) yield { id: -1, text: step.text };
          const result = { finishReason: step.finishReason, timings: this.#engine.timings(), seed: o.seed };
          if (o.json) result.json = jsonValue(jsonText, step.finishReason);
          this.lastResult = result;
          return result;
        }
        await nextTurn();
      }
    } finally {
      if (this.#engine?.generating()) {  // the consumer broke out of the loop early
        this.#engine.generateAbort();
        this.#engine.generateStep();
      }
      this.#generating = false;
    }
  }

  /**
   * Generate to the end and return everything at once.
   * @returns { text, tokens, finishReason, timings, seed }, and with the logprobs option logprobs: one entry per token
   */
  async complete(prompt, options = {}) {
    let text = '';
    const tokens = [];
    const logprobs = [];
    const iterator = this.generate(prompt, options);
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return { text, tokens, ...(options?.logprobs === undefined ? {} : { logprobs }), ...value };
      text += value.text;
      if (value.id >= 0) tokens.push(value.id);
      if (value.logprobs) logprobs.push(value.logprobs);
    }
  }

  /**
   * How likely a text is: each token's log-probability given the tokens before it (teacher forcing, the raw
   * logits' softmax), their sum and the perplexity. A text longer than contextSize is scored in windows (see
   * ringlm.d.ts). Empties the KV cache.
   * @param input a string (tokenized with the model's BOS rule) or token ids
   * @param options { addBos, parseSpecial (a string), stride (windows) }
   * @returns { tokens: [{ token, id, logprob, bytes }] from the second token on, ids, logprobSum, perplexity, windows }
   */
  score(input, options = {}) {
    const engine = this.#idle('score');
    checkOptionNames(this.#module, options, 'ScoreOptions', 'RingLM.score');
    const { stride } = options;
    if (stride !== undefined && !(Number.isInteger(stride) && stride >= 1 && stride < this.#info.contextSize)) {
      throw new RangeError(`RingLM.score: stride must be an integer in [1, ${this.#info.contextSize - 1}] (contextSize - 1; got ${stride})`);
    }
    const ids = scoreIds(this, input, options);
    const raw = withHeapCopy(this.#module, ids, 'RingLM.score', (ptr, n) => engine.score(ptr, n, stride ?? 0));
    if (raw.error) throw new Error(`RingLM.score: ${raw.error}`);
    return scoreResult(engine, ids, raw);
  }

  /**
   * Chat: render `messages` with the chat template (see applyChatTemplate) and stream the assistant's reply, as
   * generate() streams (same options, chunks and result). It ends at any of the model's end-of-generation tokens
   * (EOS, EOT, EOM and the end-of-turn tokens llama.cpp knows by their text, such as <|im_end|> and <|eot_id|>)
   * and at the control token the template writes after an assistant's message; none of them is in the text.
   * The prompt gets BOS once, if the model's add_bos_token or the template asks for it (a bos_token the
   * template writes first is not doubled), and control-token text in it (the template's <|im_start|>, but also
   * any in the messages, as in llama.cpp and transformers) is read as those tokens.
   * When the new prompt's tokens begin with everything the cache holds from the previous chat() turn (its
   * prompt, reply and end token), only the rest is run; otherwise the conversation is run from the start. The
   * result's cachedTokens says which: the prompt tokens already in the cache and not run again (0: from the start).
   * With tools ([{ name, description, parameters }]) the template shows them to the model (unless toolChoice is
   * 'none') and a reply holding well-formed calls in the template's format returns { finishReason: 'tool_calls',
   * toolCalls: [{ name, arguments }], content }; toolChoice 'required' or { name } forces one valid call through a
   * grammar (lib/tools.js, lib/tool-grammar.js), and under 'auto' a call the model starts is held to that grammar
   * from its first text on (grammarTriggers). Messages may carry toolCalls (assistant) and toolCallId (tool).
   * @param messages [{ role, content }, ...]
   * @param options generate()'s options (except keepCache), template, variables as for applyChatTemplate, tools,
   *   toolChoice ('auto' | 'none' | 'required' | { name })
   */
  async *chat(messages, options = {}) {
    const what = 'RingLM.chat';
    if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object`);
    const { template, variables, tools, toolChoice, ...generateOptions } = options;
    const chatOnly = ['template', 'variables', 'tools', 'toolChoice'];
    if ('keepCache' in generateOptions) throw new TypeError(`${what}: keepCache is not an option of chat(), which reuses the cache by itself`);
    checkGenerateOptions(this.#module, generateOptions, what, chatOnly);  // before any work
    this.#live();
    // Tools: shown to the template unless toolChoice is 'none'; a forced call is a grammar of its own.
    const toolList = tools === undefined ? undefined : checkTools(tools, what);
    const choice = checkToolChoice(toolChoice, toolList, what);
    const text = this.#renderChat(messages, { template, variables, addGenerationPrompt: true },
      toolList !== undefined && choice !== 'none' ? toolList : undefined, what);
    const format = toolList === undefined ? null : this.#toolCallFormat({ template, variables }, what);
    const forced = choice === 'required' || typeof choice === 'object';
    if (forced && (generateOptions.grammar !== undefined || generateOptions.jsonSchema !== undefined)) {
      throw new TypeError(`${what}: toolChoice ${JSON.stringify(choice)} forces a call through a grammar of its own; it does not combine with grammar or jsonSchema`);
    }
    // 'auto': a call the model starts is held to the calls' grammar from its first text on (a lazy grammar), so its
    // arguments validate; a grammar or jsonSchema of the caller's is applied instead, as given.
    const lazy = choice === 'auto' && format !== null && generateOptions.grammar === undefined && generateOptions.jsonSchema === undefined &&
      generateOptions.grammarTriggers === undefined;
    const grammar = forced ? toolCallGrammar(format, toolList, what, choice.name) : generateOptions.grammar;
    const lazyCalls = lazy ? lazyToolCallGrammar(format, toolList, what) : {};
    if (this.#generating) throw new Error(`${what}: a generation is already running on this model`);
    const ids = chatPromptIds(this, text);
    const stopTokens = [...(generateOptions.stopTokens ?? []), ...this.#chatTemplates.turnEndTokens(this, template ?? this.chatTemplate)];
    const cached = this.#chatCache;
    // Without the cache nothing is continued: each turn runs the conversation from its start.
    const reuse = cached !== null && generateOptions.kvCache !== false && this.position === cached.position && ids.length > cached.ids.length &&
      cached.ids.every((id, i) => ids[i] === id);
    const iterator = this.#generate(reuse ? ids.subarray(cached.ids.length) : ids,
      { ...generateOptions, stopTokens, keepCache: reuse, ...(grammar === undefined ? {} : { grammar }), ...lazyCalls }, what, chatOnly);
    const reply = [];
    try {
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) {
          // The end token is sampled but not yet in the cache: the next turn's continuation runs it first.
          const end = this.#endToken >= 0 ? [this.#endToken] : [];
          this.#chatCache = { ids: Int32Array.from([...ids, ...reply, ...end]), position: this.position };
          value.cachedTokens = reuse ? cached.position : 0;
          if (format === null || choice === 'none') return value;
          // The calls are read from the reply's text with its special tokens (Llama 3.1's <|python_tag|>).
          const replyText = this.detokenize(reply, { special: true, stripLeadingSpace: false });
          this.lastResult = withToolCalls(value, format, replyText, toolList);
          return this.lastResult;
        }
        if (value.id >= 0) reply.push(value.id);
        yield value;
      }
    } finally {
      await iterator.return();  // the consumer left early: generate() stops and cleans up
    }
  }

  /** The model file's chat template (tokenizer.chat_template), or null when it has none. */
  get chatTemplate() {
    const t = this.metadata['tokenizer.chat_template'];
    return typeof t === 'string' ? t : null;
  }

  /**
   * Render a conversation into prompt text with a Jinja chat template (by @huggingface/jinja, as transformers'
   * apply_chat_template renders it: trim_blocks and lstrip_blocks on, raise_exception available).
   * @param messages [{ role: 'system' | 'user' | 'assistant' | ..., content: string, ...more for the template }]
   * @param options { addGenerationPrompt: end with the header of an assistant turn (default true); template: Jinja
   *   text to use instead of the file's; variables: more template variables (bos_token and eos_token, the texts of
   *   the model's BOS and EOS tokens, are given unless overridden here); tools: as chat()'s, shown to the template }
   * @returns the prompt text (tokenize it with { special: true })
   */
  applyChatTemplate(messages, options = {}) {
    const what = 'RingLM.applyChatTemplate';
    this.#live();
    checkOptionNames(this.#module, options, 'ChatTemplateOptions', what);
    const { tools, ...rest } = options;
    const toolList = tools === undefined ? undefined : checkTools(tools, what);
    const text = this.#renderChat(messages, rest, toolList, what);
    if (toolList !== undefined) this.#toolCallFormat(rest, what);  // tools the template cannot show are an error
    return text;
  }

  /** Render with the chat template; messages' toolCalls and tools ([{ name, ... }]) in the fields templates read. */
  #renderChat(messages, { template, variables, addGenerationPrompt }, tools, what) {
    // Variables that are no object are passed as they are, for the renderer to refuse.
    const merge = tools !== undefined && (variables === undefined || (variables !== null && typeof variables === 'object'));
    const vars = merge ? { ...variables, tools: templateTools(tools) } : variables;
    return this.#chatTemplates.render(this, templateMessages(messages, what), { template, variables: vars, addGenerationPrompt });
  }

  /** The tool-call format of the template chat() renders with; an error naming the template when it has none. */
  #toolCallFormat({ template, variables }, what) {
    const name = template !== undefined ? 'the template given' :
      `the chat template of '${this.metadata['general.name'] ?? 'this model'}' (${this.#info.family})`;
    const render = (messages, tools) => this.#renderChat(messages, { template, variables, addGenerationPrompt: false }, tools, what);
    return findToolCallFormat(render, what, name);
  }

  /**
   * The file's metadata: every scalar and string by key ('general.name', 'tokenizer.chat_template', ...). Arrays
   * (the vocabulary, merges) are left out.
   */
  get metadata() {
    const engine = this.#live();
    this.#metadata ??= Object.freeze(engine.metadata());
    return this.#metadata;
  }

  /**
   * The tokenizer read from the model file: { model ('llama' | 'gpt2'), pre, tokenCount, bos, eos, eot, unknown,
   * padding (ids or null), endOfGeneration (ids), addBos, addEos, addSpacePrefix }; null when the file has no
   * tokenizer ringlm implements (tokenize() then says why).
   */
  get tokenizer() {
    const engine = this.#live();
    if (this.#tokenizer === undefined) this.#tokenizer = Object.freeze(engine.tokenizerInfo());
    return this.#tokenizer;
  }

  /**
   * Text to token ids, exactly as llama.cpp tokenizes it for the same file.
   * @param text a string, or bytes (a Uint8Array may hold any bytes, even invalid UTF-8)
   * @param options { addBos, addEos: default the model's add_bos_token / add_eos_token; special: parse the text
   *   of control tokens such as <s> or <|endoftext|> as those tokens (default false: plain text) }
   * @returns Int32Array of token ids
   */
  tokenize(text, options = {}) {
    const engine = this.#live();
    checkOptionNames(this.#module, options, 'TokenizeOptions', 'RingLM.tokenize');
    const { addBos, addEos, special = false } = options;
    let bytes;
    if (typeof text === 'string') bytes = textEncoder.encode(text);
    else if (text instanceof ArrayBuffer) bytes = new Uint8Array(text);
    else if (ArrayBuffer.isView(text)) bytes = new Uint8Array(text.buffer, text.byteOffset, text.byteLength);
    else throw new TypeError('RingLM.tokenize: text must be a string or a Uint8Array');
    const info = this.tokenizer;
    withHeapCopy(this.#module, bytes, 'RingLM.tokenize', (ptr, n) => this.#check(engine.tokenize(ptr, n,
      Boolean(addBos ?? info?.addBos), Boolean(addEos ?? info?.addEos), Boolean(special)), 'tokenize'));
    return engine.tokenIds().slice();
  }

  /**
   * Token ids to text. Bytes that do not form valid UTF-8 become U+FFFD.
   * @param options { special: render control tokens such as </s> as their text (default false: as nothing);
   *   stripLeadingSpace: drop one space from the start of the text, the one a llama (SentencePiece) tokenizer
   *   puts before it, so that detokenize(tokenize(text)) is text (default: the model's addSpacePrefix) }
   */
  detokenize(ids, options = {}) {
    const engine = this.#live();
    checkOptionNames(this.#module, options, 'DetokenizeOptions', 'RingLM.detokenize');
    const { special = false, stripLeadingSpace } = options;
    const tokens = tokenIds(ids, 'RingLM.detokenize');
    withHeapCopy(this.#module, tokens, 'RingLM.detokenize', (ptr, n) => this.#check(engine.detokenize(ptr, n,
      Boolean(special), Boolean(stripLeadingSpace ?? this.tokenizer?.addSpacePrefix)), 'detokenize'));
    return utf8Decoder.decode(engine.textBytes().slice());
  }

  /**
   * A streaming detokenizer: push(id) returns the text that token completes (bytes ending inside a UTF-8
   * character wait for the next tokens); flush() returns what is left (an unfinished character as U+FFFD) and
   * starts over. Pushing ids one by one, then flushing, gives detokenize(ids, options) without its clean-up of
   * spaces before punctuation (on for some byte-level BPE vocabularies, as in llama.cpp): a stream cannot take
   * back a space it has already sent.
   * For tokens that continue earlier text (generation after a prompt) pass stripLeadingSpace: false.
   */
  createTextDecoder(options = {}) {
    this.#live();
    checkOptionNames(this.#module, options, 'DetokenizeOptions', 'RingLM.createTextDecoder');
    const { special = false, stripLeadingSpace } = options;
    const strip = Boolean(stripLeadingSpace ?? this.tokenizer?.addSpacePrefix);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let started = false;  // as in detokenize(): the first token that renders anything loses one leading space
    return {
      push: (id) => {
        tokenId(id, 'TextDecoder.push');
        const engine = this.#live();
        this.#check(engine.piece(id, Boolean(special)), 'createTextDecoder: push');
        let bytes = engine.textBytes().slice();
        if (!started && bytes.length > 0) {
          started = true;
          if (strip && bytes[0] === 0x20) bytes = bytes.subarray(1);
        }
        return decoder.decode(bytes, { stream: true });
      },
      flush: () => {
        started = false;
        return decoder.decode();
      },
    };
  }

  /**
   * Snapshot the session: KV ring contents and positions, the last logits, the sampler's random
   * state and penalty history. Returns bytes to give back to restoreState() on this model.
   */
  saveState() {
    const state = this.#idle('saveState').saveState();
    if (typeof state === 'string') throw new Error(`RingLM.saveState: ${state}`);
    return state;
  }

  /**
   * What the KV cache holds after the last chat() turn ({ ids, position }: the turn's prompt, reply and end
   * token), or null when it holds no finished turn. Kept beside saveState()'s bytes and given back to
   * restoreState(state, { chat }), it lets the next chat() turn run only its new tokens, as it would have
   * without the save (a page that restores a conversation after a reload, say).
   */
  get chatCache() {
    this.#live();
    return this.#chatCache && { ids: Int32Array.from(this.#chatCache.ids), position: this.#chatCache.position };
  }

  /**
   * Return the session to a saveState() snapshot, taken in any build (native, Node, browser: they compute
   * the same bits) of the same model file and context size. Bytes restore at once; a URL, a path (Node), a
   * Blob or an ArrayBuffer is read first and the call returns a Promise.
   */
  restoreState(state, options = {}) {
    checkOptionNames(this.#module, options, 'RestoreStateOptions', 'RingLM.restoreState');
    const { chat = null } = options;
    if (!(state instanceof Uint8Array)) {
      const readable = typeof state === 'string' || state instanceof URL || state instanceof ArrayBuffer ||
        (typeof Blob !== 'undefined' && state instanceof Blob);
      if (!readable) {
        throw new TypeError('RingLM.restoreState: state must be the Uint8Array saveState() returned, or a URL, path, Blob or ArrayBuffer holding one');
      }
      this.#live();
      return this.#restoreStateFrom(state, chat);
    }
    if (chat !== null) chatCacheShape(chat);  // its shape checked before the ring is touched
    const engine = this.#idle('restoreState');
    // The state first: one of another model or context is refused by name, whatever the chat holds.
    withHeapCopy(this.#module, state, 'RingLM.restoreState',
      (ptr, n) => this.#check(engine.restoreState(ptr, n), 'restoreState'));
    if (chat === null) return;
    const chatIds = chatCacheIds(chat, this.#info.vocabSize);
    if (chat.position !== this.position) {
      throw new Error(`RingLM.restoreState: chat.position is ${chat.position}, but the restored state is at position ${this.position}: ` +
        'the chat was not saved with this state (the state is restored; the next chat() turn runs from the start)');
    }
    this.#chatCache = { ids: chatIds, position: chat.position };
  }

  async #restoreStateFrom(source, chat) {
    const bytes = await readBytes(source, 'RingLM.restoreState');
    this.restoreState(bytes, { chat });
  }

  /** How full the KV ring is: { position, kept, capacity, dropped, policy, anchors, windowStart }. */
  get cacheState() {
    return this.#live().cacheState();
  }

  /**
   * Free the model's memory. Further calls throw; a second dispose() does nothing. A running generation's
   * iterator ends with an AbortError at its next step.
   */
  dispose() {
    if (!this.#engine) return;
    this.#engine.delete();
    this.#engine = null;
  }

  #live() {
    if (!this.#engine) throw new Error('RingLM: this model has been disposed');
    return this.#engine;
  }

  #idle(what) {
    if (this.#generating) throw new Error(`RingLM.${what}: a generation is running on this model`);
    if (what !== 'saveState') this.#chatCache = null;  // the cache changes: a chat's next turn starts over
    return this.#live();
  }

  #promptIds(prompt, o) {
    if (typeof prompt === 'string') {
      // BOS as the model asks, except in a continuation, which does not start a new text.
      const addBos = o.addBos ?? (o.keepCache ? false : undefined);
      return this.tokenize(prompt, { addBos, special: Boolean(o.parseSpecial) });
    }
    return tokenIds(prompt ?? [], 'RingLM.generate');
  }

  #check(error, what) {
    if (error) throw new Error(`RingLM.${what}: ${error}`);
  }
}

export { jsonSchemaToGbnf } from './lib/json-schema.js';
export default RingLM;
