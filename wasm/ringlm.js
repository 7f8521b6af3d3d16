// ringlm — run a GGUF language model in WebAssembly, in Node and in the browser.
//
//   import { RingLM } from 'ringlm';
//   const lm = await RingLM.load('model.gguf', { contextSize: 512 });
//   const logits = lm.prefill([1, 15043, 29892]);   // Float32Array(vocabSize)
//   const next = lm.decode(3186);
//   lm.dispose();
//
// This file is the whole JS side: it moves bytes into the wasm heap (once, with no second copy),
// calls the Embind surface in bindings.cpp, and turns its error strings into Errors.
//
// Two builds of the same C++ ship in dist/: ringlm-mt.mjs shares each token's work among threads
// (Web Workers on SharedArrayBuffer memory), ringlm.mjs runs on one. Browsers give
// SharedArrayBuffer only to cross-origin-isolated pages (served with COOP/COEP headers), so a model
// loads into the threaded build there and in Node, and into the single-threaded one elsewhere.
// Both compute the same bits.

import { Template } from '../dist/jinja.mjs';  // @huggingface/jinja, copied there by the build

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

/** Most threads one model may use. Past a handful, a small model's loops are too short to share. */
const MAX_THREADS = 64;
const MAX_DEFAULT_THREADS = 8;

/** Whether this realm can run the threaded build. */
const threadsAvailable = () =>
  typeof SharedArrayBuffer === 'function' && (isNode || globalThis.crossOriginIsolated === true);

/** The default thread count: the cores this process may use, at most MAX_DEFAULT_THREADS. */
async function defaultThreads() {
  let cores = globalThis.navigator?.hardwareConcurrency;
  if (isNode) {
    const os = await import('node:os');
    cores = os.availableParallelism?.() ?? os.cpus().length;
  }
  return Math.max(1, Math.min(Number(cores) || 1, MAX_DEFAULT_THREADS));
}

/** Resolves on a later turn of the event loop, so timers, messages and AbortSignals get to run. */
const nextTurn = typeof setImmediate === 'function'
  ? () => new Promise((resolve) => setImmediate(resolve))
  : () => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });

/** Defaults as llama.cpp's (see src/generate/sampler.h); temperature 0 means greedy. */
const GENERATE_DEFAULTS = Object.freeze({
  maxTokens: 256,
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  penaltyLastN: 64,
  keepCache: false,
  sinkTokens: 4,
  keepTokens: 4,
  prefillChunk: 64,
  special: false,
});

/**
 * Check and complete generate() options; throws a TypeError/RangeError naming the option. The default
 * contextPolicy is 'sinks', or 'shift' for models with learned positions (gpt2), which cannot use 'sinks'.
 */
function generateOptions(options, info) {
  const contextPolicy = info.positionEncoding === 'learned' ? 'shift' : 'sinks';
  const o = { ...GENERATE_DEFAULTS, contextPolicy, ...options };
  const number = (name, { min = -Infinity, max = Infinity, integer = false } = {}) => {
    const v = o[name];
    if (typeof v !== 'number' || Number.isNaN(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw new RangeError(`RingLM.generate: ${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}] (got ${v})`);
    }
  };
  number('maxTokens', { min: 0, max: 2 ** 31 - 1, integer: true });
  number('temperature', { min: 0, max: 1e6 });
  number('topK', { min: 0, max: 2 ** 31 - 1, integer: true });
  number('topP', { min: 0, max: 1 });
  number('minP', { min: 0, max: 1 });
  number('repeatPenalty', { min: Number.MIN_VALUE, max: 1e6 });
  number('presencePenalty', { min: -1e6, max: 1e6 });
  number('frequencyPenalty', { min: -1e6, max: 1e6 });
  number('penaltyLastN', { min: 0, max: 1 << 20, integer: true });
  number('sinkTokens', { min: 0, max: 2 ** 31 - 1, integer: true });
  number('keepTokens', { min: 0, max: 2 ** 31 - 1, integer: true });
  number('prefillChunk', { min: 1, max: 1 << 16, integer: true });
  if (o.seed === undefined) o.seed = Math.floor(Math.random() * 2 ** 32);
  number('seed', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  if (!['sinks', 'shift', 'stop'].includes(o.contextPolicy)) {
    throw new RangeError(`RingLM.generate: contextPolicy must be 'sinks', 'shift' or 'stop' (got ${o.contextPolicy})`);
  }
  o.stop = o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : Array.from(o.stop);
  if (!o.stop.every((s) => typeof s === 'string')) throw new TypeError('RingLM.generate: stop must be a string or an array of strings');
  o.stopTokens = Array.from(o.stopTokens ?? [], (id) => tokenId(id, 'RingLM.generate: stopTokens'));
  if (o.signal !== undefined && !(typeof o.signal?.aborted === 'boolean')) {
    throw new TypeError('RingLM.generate: signal must be an AbortSignal');
  }
  o.anchors = o.contextPolicy === 'shift' ? o.keepTokens : o.sinkTokens;
  o.keepCache = Boolean(o.keepCache);
  // A continuation goes on with the sampler's random stream unless a seed is given.
  o.reseed = !o.keepCache || options.seed !== undefined;
  o.special = Boolean(o.special);
  return o;
}

/**
 * Check a token id: an integer that fits int32 (the vocabulary range is checked in C++). Int32Array.from and
 * Embind would silently turn 1.5, NaN or 2 ** 32 into a valid-looking id; this throws instead.
 */
function tokenId(id, what) {
  if (!Number.isInteger(id)) throw new TypeError(`${what}: token ids must be integers (got ${id})`);
  if (id < -(2 ** 31) || id >= 2 ** 31) throw new RangeError(`${what}: token id ${id} is out of range`);
  return id;
}

/** Token ids (any iterable of numbers) as a checked Int32Array. */
function tokenIds(ids, what) {
  if (ids instanceof Int32Array) return ids;
  if (ids == null || typeof ids === 'string' || typeof ids[Symbol.iterator] !== 'function') {
    throw new TypeError(`${what}: token ids must be an array of integers`);
  }
  return Int32Array.from(ids, (id) => tokenId(id, what));
}

/** Check chat messages: an array of { role, content } with string values (other fields go to the template). */
function chatMessages(messages, what) {
  if (!Array.isArray(messages)) throw new TypeError(`${what}: messages must be an array of { role, content }`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`${what}: messages[${i}] must be an object { role, content }`);
    if (typeof m.role !== 'string' || m.role === '') throw new TypeError(`${what}: messages[${i}].role must be a non-empty string`);
    if (typeof m.content !== 'string') throw new TypeError(`${what}: messages[${i}].content must be a string`);
  });
  return messages;
}

const textEncoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text (by default TextDecoder drops it).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The built-in model shipped in the package (see models/MODEL_CARD.md), beside this file's folder. */
const DEFAULT_MODEL_URL = new URL('../models/ringlm-kjv-3.7m.gguf', import.meta.url);

// Each build is instantiated once per JS realm and shared by every model loaded with it.
let singleModule = null;    // Promise<Module>
let threadedModule = null;  // Promise<{ Module, pool }>

/**
 * The module a model with `threads` threads runs in, and the thread pool it uses (null on one
 * thread). The threaded module starts its threads' Workers with itself, so their number is fixed
 * then: the first threaded load decides it (at least the default count); later loads get at most
 * that many.
 */
async function getModule(threads) {
  if (threads <= 1) {
    singleModule ??= import('../dist/ringlm.mjs').then((m) => m.default());
    return { Module: await singleModule, pool: null };
  }
  threadedModule ??= (async () => {
    const size = Math.max(threads, await defaultThreads());
    const { default: create } = await import('../dist/ringlm-mt.mjs');
    const Module = await create({ ringlmWorkers: size - 1 });
    return { Module, pool: new Module.ThreadPool(size) };
  })();
  return threadedModule;
}

/** The `threads` option as a count the realm can run: 1 where threads are not available. */
async function threadCount(threads) {
  if (threads === undefined) return threadsAvailable() ? defaultThreads() : 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`RingLM.load: threads must be an integer in [1, ${MAX_THREADS}] (got ${threads})`);
  }
  return threadsAvailable() ? threads : 1;
}

/** Read `size` bytes from `source` straight into wasm memory at `ptr`, reporting progress. */
async function fillFromNodeFile(Module, path, ptr, size, onProgress) {
  const fs = await import('node:fs');
  const fd = fs.openSync(path, 'r');
  try {
    const chunk = 16 << 20;
    for (let done = 0; done < size;) {
      // Re-read HEAPU8 each time: nothing grows memory here, but it costs nothing to be safe.
      const n = fs.readSync(fd, Module.HEAPU8, ptr + done, Math.min(chunk, size - done), done);
      if (n <= 0) throw new Error(`RingLM.load: ${path}: file ended after ${done} of ${size} bytes`);
      done += n;
      onProgress?.({ loaded: done, total: size });
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Stream a fetch() body or a Blob into wasm memory chunk by chunk. */
async function fillFromStream(Module, stream, ptr, size, onProgress, what) {
  const reader = stream.getReader();
  let done = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {  // a network error mid-body: say where it stopped
      throw new Error(`RingLM.load: reading ${what} failed after ${done} of ${size} bytes: ${e.message}`, { cause: e });
    }
    const { value, done: end } = chunk;
    if (end) break;
    if (done + value.length > size) throw new Error(`RingLM.load: ${what} is larger than its announced ${size} bytes`);
    Module.HEAPU8.set(value, ptr + done);
    done += value.length;
    onProgress?.({ loaded: done, total: size });
  }
  if (done !== size) throw new Error(`RingLM.load: ${what} ended after ${done} of ${size} bytes`);
}

/** Work out how many bytes `source` holds and how to copy them into the heap. */
async function describeSource(source) {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { size: bytes.length, fill: (M, ptr, onProgress) => {
      M.HEAPU8.set(bytes, ptr);
      onProgress?.({ loaded: bytes.length, total: bytes.length });
    } };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { size: source.size, fill: (M, ptr, onProgress) => fillFromStream(M, source.stream(), ptr, source.size, onProgress, 'the file') };
  }
  const text = source instanceof URL ? source.href : source;
  if (typeof text !== 'string') {
    throw new TypeError('RingLM.load: source must be an ArrayBuffer, a typed array, a Blob, a URL or (in Node) a file path');
  }
  if (isNode && !/^(https?|blob|data):/.test(text)) {
    const fs = await import('node:fs');
    const path = text.startsWith('file:') ? new URL(text) : text;
    let stat;
    try {
      stat = fs.statSync(path);
    } catch (e) {
      throw new Error(`RingLM.load: cannot read '${text}': ${e.code ?? e.message}`);
    }
    return { size: stat.size, fill: (M, ptr, onProgress) => fillFromNodeFile(M, path, ptr, stat.size, onProgress) };
  }
  const response = await fetch(text);
  if (!response.ok) throw new Error(`RingLM.load: fetching ${text} failed: HTTP ${response.status}`);
  const length = Number(response.headers.get('content-length'));
  if (!(length > 0) || response.headers.get('content-encoding')) {
    // Unknown length: the bytes have to be gathered before they can be placed.
    const bytes = new Uint8Array(await response.arrayBuffer());
    return describeSource(bytes);
  }
  return { size: length, fill: (M, ptr, onProgress) => fillFromStream(M, response.body, ptr, length, onProgress, text) };
}

export class RingLM {
  #module;
  #engine;
  #info;
  #tokenizer;
  #metadata;
  #templates = new Map();  // template text -> parsed Template
  #turnEnds = new Map();   // template text -> the end-of-turn tokens it writes
  // What the cache holds after the last chat() turn ({ ids, position }), so the next turn can run only the new
  // tokens when its prompt extends them; null once anything else touches the cache.
  #chatCache = null;
  #endToken = -1;  // the end-of-generation token that ended the last generation, -1 if none did
  #generating = false;

  /**
   * Memory of the shared wasm instances: { heapBytesInUse, memoryBytes } (malloc'ed bytes, and the
   * size of the wasm memory, which only grows), summed over the builds in use (at first, the one a
   * load with default options would use). For leak checks and display.
   */
  static async memoryUsage() {
    if (!singleModule && !threadedModule) await getModule(await threadCount(undefined));
    const usage = { heapBytesInUse: 0, memoryBytes: 0 };
    for (const promise of [singleModule, threadedModule]) {
      if (!promise) continue;
      const found = await promise;
      const M = found.Module ?? found;
      usage.heapBytesInUse += M.heapBytesInUse();
      usage.memoryBytes += M.HEAPU8.length;
    }
    return usage;
  }

  /** Where the built-in model is: a file: URL in Node, an http(s) URL in a page. */
  static get defaultModelUrl() {
    return DEFAULT_MODEL_URL.href;
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
   * @param options { contextSize?: number, memoryLimit?: bytes (file + KV cache + scratch; default and at most
   *   4 GiB, the wasm address space), threads?: number (1: the single-threaded build; default: the cores
   *   available, at most 8, where SharedArrayBuffer exists, else 1), onProgress?: ({loaded, total}) => void }
   */
  static async load(source = DEFAULT_MODEL_URL, options = {}) {
    const { contextSize = 0, memoryLimit = 0, onProgress } = options;
    if (!Number.isInteger(contextSize) || contextSize < 0) {
      throw new RangeError(`RingLM.load: contextSize must be a positive integer (got ${contextSize})`);
    }
    if (!Number.isSafeInteger(memoryLimit) || memoryLimit < 0) {
      throw new RangeError(`RingLM.load: memoryLimit must be a number of bytes (got ${memoryLimit})`);
    }
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new TypeError('RingLM.load: onProgress must be a function');
    }
    const threads = await threadCount(options.threads);
    const { Module, pool } = await getModule(threads);
    const { size, fill } = await describeSource(source);
    if (size === 0) throw new Error('RingLM.load: the model file is empty');
    // The file is the bulk of the budget: refuse it before allocating (the engine checks the rest).
    const limit = Math.min(memoryLimit || 2 ** 32, 2 ** 32);
    if (size > limit) {
      throw new Error(`RingLM.load: the file is ${(size / 2 ** 20).toFixed(1)} MiB, more than the memory limit of ` +
        `${(limit / 2 ** 20).toFixed(1)} MiB${limit === 2 ** 32 ? ' (the 4 GiB wasm address space)' : ''}`);
    }
    const ptr = Module._malloc(size) >>> 0;  // above 2 GiB _malloc's result is negative in JS
    if (ptr === 0) throw new Error(`RingLM.load: cannot allocate ${size} bytes in wasm memory (the limit is 4 GiB)`);
    const engine = new Module.Engine();
    try {
      await fill(Module, ptr, onProgress);
    } catch (e) {
      Module._free(ptr);
      engine.delete();
      throw e;
    }
    const error = engine.load(ptr, size, contextSize, memoryLimit, pool, threads);  // owns ptr from here, even on failure
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
  prefill(ids, { allLogits = false } = {}) {
    const engine = this.#idle('prefill');
    const tokens = tokenIds(ids, 'RingLM.prefill');
    if (tokens.length === 0) throw new Error('RingLM.prefill: no tokens given');
    const M = this.#module;
    const ptr = M._malloc(tokens.byteLength) >>> 0;
    try {
      new Int32Array(M.HEAPU8.buffer, ptr, tokens.length).set(tokens);
      this.#check(engine.prefill(ptr, tokens.length, allLogits), 'prefill');
    } finally {
      M._free(ptr);
    }
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
    this.#live();
    if (this.#generating) throw new Error('RingLM.generate: a generation is already running on this model');
    const o = generateOptions(options, this.#info);
    o.signal?.throwIfAborted();
    this.#generating = true;
    this.#chatCache = null;
    this.#endToken = -1;
    try {
      const ids = this.#promptIds(prompt, o);
      const M = this.#module;
      const ptr = M._malloc(Math.max(4, ids.byteLength)) >>> 0;
      try {
        new Int32Array(M.HEAPU8.buffer, ptr, ids.length).set(ids);
        this.#check(this.#engine.generateBegin(ptr, ids.length, o), 'generate');
      } finally {
        M._free(ptr);
      }
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
        if (step.kind === 'token') yield { id: step.token, text: step.text };
        if (step.finishReason) {
          if (step.kind === 'done') this.#endToken = step.token;
          if (step.kind === 'done' && step.text) yield { id: -1, text: step.text };
          const result = { finishReason: step.finishReason, timings: this.#engine.timings(), seed: o.seed };
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
   * @returns { text, tokens, finishReason, timings, seed }
   */
  async complete(prompt, options = {}) {
    let text = '';
    const tokens = [];
    const iterator = this.generate(prompt, options);
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return { text, tokens, ...value };
      text += value.text;
      if (value.id >= 0) tokens.push(value.id);
    }
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
   * prompt, reply and end token), only the rest is run; otherwise the conversation is run from the start.
   * @param messages [{ role, content }, ...]
   * @param options generate()'s options (except keepCache), and template, variables as for applyChatTemplate
   */
  async *chat(messages, options = {}) {
    const { template, variables, ...generateOptions } = options;
    if ('keepCache' in generateOptions) throw new TypeError('RingLM.chat: keepCache is not an option of chat(), which reuses the cache by itself');
    const text = this.applyChatTemplate(messages, { template, variables, addGenerationPrompt: true });
    if (this.#generating) throw new Error('RingLM.chat: a generation is already running on this model');
    const ids = this.#chatPromptIds(text);
    const stopTokens = [...(generateOptions.stopTokens ?? []), ...this.#turnEndTokens(template ?? this.chatTemplate)];
    const cached = this.#chatCache;
    const reuse = cached !== null && this.position === cached.position && ids.length > cached.ids.length &&
      cached.ids.every((id, i) => ids[i] === id);
    const iterator = this.generate(reuse ? ids.subarray(cached.ids.length) : ids,
      { ...generateOptions, stopTokens, keepCache: reuse });
    const reply = [];
    try {
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) {
          // The end token is sampled but not yet in the cache: the next turn's continuation runs it first.
          const end = this.#endToken >= 0 ? [this.#endToken] : [];
          this.#chatCache = { ids: Int32Array.from([...ids, ...reply, ...end]), position: this.position };
          return value;
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
   *   text to use instead of the file's; variables: more template variables (e.g. tools; bos_token and eos_token,
   *   the texts of the model's BOS and EOS tokens, are given unless overridden here) }
   * @returns the prompt text (tokenize it with { special: true })
   */
  applyChatTemplate(messages, { addGenerationPrompt = true, template, variables = {} } = {}) {
    const what = 'RingLM.applyChatTemplate';
    this.#live();
    chatMessages(messages, what);
    if (variables === null || typeof variables !== 'object') throw new TypeError(`${what}: variables must be an object`);
    const source = template ?? this.chatTemplate;
    if (source === null) {
      throw new Error(`${what}: the model file has no chat template (tokenizer.chat_template): give one as the template option`);
    }
    if (typeof source !== 'string') throw new TypeError(`${what}: template must be a string of Jinja`);
    let parsed = this.#templates.get(source);
    if (parsed === undefined) {
      try {
        parsed = new Template(source);
      } catch (e) {
        throw new Error(`${what}: the chat template does not parse: ${e.message}`, { cause: e });
      }
      if (this.#templates.size >= 8) this.#templates.clear();
      this.#templates.set(source, parsed);
    }
    const info = this.tokenizer;
    try {
      return parsed.render({
        bos_token: this.#tokenText(info?.bos), eos_token: this.#tokenText(info?.eos),
        ...variables, messages, add_generation_prompt: Boolean(addGenerationPrompt),
      });
    } catch (e) {
      throw new Error(`${what}: the chat template failed: ${e.message}`, { cause: e });
    }
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
  tokenize(text, { addBos, addEos, special = false } = {}) {
    const engine = this.#live();
    let bytes;
    if (typeof text === 'string') bytes = textEncoder.encode(text);
    else if (text instanceof ArrayBuffer) bytes = new Uint8Array(text);
    else if (ArrayBuffer.isView(text)) bytes = new Uint8Array(text.buffer, text.byteOffset, text.byteLength);
    else throw new TypeError('RingLM.tokenize: text must be a string or a Uint8Array');
    const info = this.tokenizer;
    const M = this.#module;
    const ptr = M._malloc(Math.max(1, bytes.length)) >>> 0;
    if (ptr === 0) throw new Error(`RingLM.tokenize: cannot allocate ${bytes.length} bytes in wasm memory`);
    try {
      M.HEAPU8.set(bytes, ptr);
      this.#check(engine.tokenize(ptr, bytes.length, Boolean(addBos ?? info?.addBos), Boolean(addEos ?? info?.addEos),
        Boolean(special)), 'tokenize');
    } finally {
      M._free(ptr);
    }
    return engine.tokenIds().slice();
  }

  /**
   * Token ids to text. Bytes that do not form valid UTF-8 become U+FFFD.
   * @param options { special: render control tokens such as </s> as their text (default false: as nothing);
   *   stripLeadingSpace: drop one space from the start of the text, the one a llama (SentencePiece) tokenizer
   *   puts before it, so that detokenize(tokenize(text)) is text (default: the model's addSpacePrefix) }
   */
  detokenize(ids, { special = false, stripLeadingSpace } = {}) {
    const engine = this.#live();
    const tokens = tokenIds(ids, 'RingLM.detokenize');
    const M = this.#module;
    const ptr = M._malloc(Math.max(4, tokens.byteLength)) >>> 0;
    try {
      new Int32Array(M.HEAPU8.buffer, ptr, tokens.length).set(tokens);
      this.#check(engine.detokenize(ptr, tokens.length, Boolean(special),
        Boolean(stripLeadingSpace ?? this.tokenizer?.addSpacePrefix)), 'detokenize');
    } finally {
      M._free(ptr);
    }
    return utf8Decoder.decode(engine.textBytes().slice());
  }

  /**
   * A streaming detokenizer: push(id) returns the text that token completes (bytes ending inside a UTF-8
   * character wait for the next tokens); flush() returns what is left (an unfinished character as U+FFFD) and
   * starts over. Pushing ids one by one, then flushing, gives exactly detokenize(ids, options).
   * For tokens that continue earlier text (generation after a prompt) pass stripLeadingSpace: false.
   */
  createTextDecoder({ special = false, stripLeadingSpace } = {}) {
    this.#live();
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

  /** Return the session to a saveState() snapshot. */
  restoreState(state) {
    const engine = this.#idle('restoreState');
    if (!(state instanceof Uint8Array)) throw new TypeError('RingLM.restoreState: state must be the Uint8Array saveState() returned');
    const M = this.#module;
    const ptr = M._malloc(Math.max(1, state.length)) >>> 0;
    try {
      M.HEAPU8.set(state, ptr);
      this.#check(engine.restoreState(ptr, state.length), 'restoreState');
    } finally {
      M._free(ptr);
    }
  }

  /** How full the KV ring is: { position, kept, capacity, dropped }. */
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

  /** A special token's text ('<s>', '<|begin_of_text|>'), '' for none. */
  #tokenText(id) {
    return id == null ? '' : this.detokenize([id], { special: true, stripLeadingSpace: false });
  }

  /**
   * The control token a template writes right after an assistant message's content: the model's end of turn,
   * which the file may name nowhere else (Command-R's <|END_OF_TURN_TOKEN|> is no EOS, EOT or known text).
   */
  #turnEndTokens(source) {
    let ends = this.#turnEnds.get(source);
    if (ends !== undefined) return ends;
    ends = [];
    const mark = 'ringlm:end-of-turn-probe';
    let text = '';
    try {
      text = this.applyChatTemplate([{ role: 'user', content: 'hi' }, { role: 'assistant', content: mark }],
        { template: source, addGenerationPrompt: false });
    } catch {
      // A template that refuses this conversation: the model's own end tokens have to do.
    }
    const at = text.lastIndexOf(mark);
    if (at >= 0) {
      const [first] = this.tokenize(text.slice(at + mark.length).trimStart(), { special: true, addBos: false, addEos: false });
      // Control tokens render as nothing unless asked for: text after the content is no end of turn.
      if (first !== undefined && this.detokenize([first]) === '' && this.detokenize([first], { special: true }) !== '') ends = [first];
    }
    if (this.#turnEnds.size >= 8) this.#turnEnds.clear();
    this.#turnEnds.set(source, ends);
    return ends;
  }

  /** Chat prompt text to ids: control tokens parsed, BOS once (see chat()). */
  #chatPromptIds(text) {
    const addBos = Boolean(this.tokenizer?.addBos);
    const bos = addBos ? this.#tokenText(this.tokenizer.bos) : '';
    if (bos && text.startsWith(bos)) text = text.slice(bos.length);
    return this.tokenize(text, { addBos, special: true });
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

export default RingLM;
