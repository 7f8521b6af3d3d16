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

import createRingLMModule from '../dist/ringlm.mjs';

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

let modulePromise = null;
/** The wasm module, instantiated once and shared by every model in this JS realm. */
function getModule() {
  modulePromise ??= createRingLMModule();
  return modulePromise;
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
    const { value, done: end } = await reader.read();
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

  /** Use RingLM.load(). */
  constructor(module, engine) {
    this.#module = module;
    this.#engine = engine;
    this.#info = Object.freeze(engine.info());
  }

  /**
   * Load a GGUF model.
   * @param source ArrayBuffer | ArrayBufferView | Blob | URL | string (a URL, or in Node a file path)
   * @param options { contextSize?: number, onProgress?: ({loaded, total}) => void }
   */
  static async load(source, options = {}) {
    const { contextSize = 0, onProgress } = options;
    if (!Number.isInteger(contextSize) || contextSize < 0) {
      throw new RangeError(`RingLM.load: contextSize must be a positive integer (got ${contextSize})`);
    }
    const Module = await getModule();
    const { size, fill } = await describeSource(source);
    if (size === 0) throw new Error('RingLM.load: the model file is empty');
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
    const error = engine.load(ptr, size, contextSize);  // owns ptr from here, even on failure
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
    this.#live().reset();
  }

  /**
   * Run prompt tokens after what is already cached.
   * @returns Float32Array of the last token's logits, or ids.length × vocabSize with allLogits.
   */
  prefill(ids, { allLogits = false } = {}) {
    const engine = this.#live();
    const tokens = Int32Array.from(ids);
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
    const engine = this.#live();
    if (!Number.isInteger(id)) throw new TypeError(`RingLM.decode: token id must be an integer (got ${id})`);
    this.#check(engine.decode(id), 'decode');
    return engine.logits().slice();
  }

  /** Free the model's memory. Further calls throw; a second dispose() does nothing. */
  dispose() {
    if (!this.#engine) return;
    this.#engine.delete();
    this.#engine = null;
  }

  #live() {
    if (!this.#engine) throw new Error('RingLM: this model has been disposed');
    return this.#engine;
  }

  #check(error, what) {
    if (error) throw new Error(`RingLM.${what}: ${error}`);
  }
}

export default RingLM;
