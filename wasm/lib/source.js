// source.js — where a model file's bytes come from (a path in Node, a URL, a Blob, bytes in memory), and
// how they reach wasm memory: copied once, chunk by chunk as they arrive, with progress reports.

import { isNode } from './runtime.js';

/** The built-in model shipped in the package (see models/MODEL_CARD.md). */
export const DEFAULT_MODEL_URL = new URL('../../models/ringlm-kjv-3.7m.gguf', import.meta.url);

// The first part of a split file in llama.cpp's gguf-split naming: NAME-00001-of-0000N.gguf.
const FIRST_PART = /-00001-of-(\d{5})\.gguf$/;

/**
 * The files a load source stands for: the parts of an array as given; every part of a split file when a path or
 * URL names its first part (the others are expected beside it, by name); else the source alone.
 */
export function splitParts(source) {
  if (Array.isArray(source)) {
    if (source.length === 0) throw new TypeError('RingLM.load: an array of parts must not be empty');
    return source;
  }
  const text = source instanceof URL ? source.href : typeof source === 'string' ? source : null;
  if (text === null) return [source];
  const cut = text.search(/[?#]/);
  const [path, rest] = cut < 0 ? [text, ''] : [text.slice(0, cut), text.slice(cut)];
  const m = FIRST_PART.exec(path);
  if (!m) return [source];
  const count = Number(m[1]);
  return Array.from({ length: Math.max(count, 1) }, (_, i) =>
    path.replace(FIRST_PART, `-${String(i + 1).padStart(5, '0')}-of-${m[1]}.gguf`) + rest);
}

/** Read `size` bytes of the file at `path` straight into wasm memory at `ptr`, reporting progress. */
async function fillFromNodeFile(Module, path, ptr, size, onProgress, caller) {
  const fs = await import('node:fs');
  const fd = fs.openSync(path, 'r');
  try {
    const chunk = 16 << 20;
    for (let done = 0; done < size;) {
      // Re-read HEAPU8 each time: nothing grows memory here, but it costs nothing to be safe.
      const n = fs.readSync(fd, Module.HEAPU8, ptr + done, Math.min(chunk, size - done), done);
      if (n <= 0) throw new Error(`${caller}: ${path}: file ended after ${done} of ${size} bytes`);
      done += n;
      onProgress?.({ loaded: done, total: size });
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Stream a fetch() body or a Blob into wasm memory chunk by chunk. */
async function fillFromStream(Module, stream, ptr, size, onProgress, what, caller) {
  const reader = stream.getReader();
  let done = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {  // a network error mid-body: say where it stopped
      throw new Error(`${caller}: reading ${what} failed after ${done} of ${size} bytes: ${e.message}`, { cause: e });
    }
    const { value, done: end } = chunk;
    if (end) break;
    if (done + value.length > size) throw new Error(`${caller}: ${what} is larger than its announced ${size} bytes`);
    Module.HEAPU8.set(value, ptr + done);
    done += value.length;
    onProgress?.({ loaded: done, total: size });
  }
  if (done !== size) throw new Error(`${caller}: ${what} ended after ${done} of ${size} bytes`);
}

/**
 * How many bytes `source` holds, and how to copy them into the heap:
 * { size, fill(Module, ptr, onProgress) }. `caller` starts the error messages.
 */
export async function describeSource(source, caller = 'RingLM.load') {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { size: bytes.length, fill: (M, ptr, onProgress) => {
      M.HEAPU8.set(bytes, ptr);
      onProgress?.({ loaded: bytes.length, total: bytes.length });
    } };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { size: source.size, fill: (M, ptr, onProgress) => fillFromStream(M, source.stream(), ptr, source.size, onProgress, 'the file', caller) };
  }
  const text = source instanceof URL ? source.href : source;
  if (typeof text !== 'string') {
    throw new TypeError(`${caller}: source must be an ArrayBuffer, a typed array, a Blob, a URL or (in Node) a file path`);
  }
  if (isNode && !/^(https?|blob|data):/.test(text)) {
    const fs = await import('node:fs');
    const path = text.startsWith('file:') ? new URL(text) : text;
    let stat;
    try {
      stat = fs.statSync(path);
    } catch (e) {
      throw new Error(`${caller}: cannot read '${text}': ${e.code ?? e.message}`);
    }
    return { size: stat.size, fill: (M, ptr, onProgress) => fillFromNodeFile(M, path, ptr, stat.size, onProgress, caller) };
  }
  let response;
  try {
    response = await fetch(text);
  } catch (e) {
    throw new Error(`${caller}: fetching ${text} failed (${e.message})`, { cause: e });
  }
  if (!response.ok) throw new Error(`${caller}: fetching ${text} failed: HTTP ${response.status}`);
  const length = Number(response.headers.get('content-length'));
  if (!(length > 0) || response.headers.get('content-encoding')) {
    // Unknown length: the bytes have to be gathered before they can be placed.
    const bytes = new Uint8Array(await response.arrayBuffer());
    return describeSource(bytes, caller);
  }
  return { size: length, fill: (M, ptr, onProgress) => fillFromStream(M, response.body, ptr, length, onProgress, text, caller) };
}

/** All of `source` (a path, URL, Blob or buffer, as describeSource takes them) as one Uint8Array in JS memory. */
export async function readBytes(source, caller) {
  const src = await describeSource(source, caller);
  const bytes = new Uint8Array(src.size);
  await src.fill({ HEAPU8: bytes }, 0);  // fill() writes at an offset of HEAPU8: here, of our own buffer
  return bytes;
}
