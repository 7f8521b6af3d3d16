// heap.js — lending bytes to C++: copy them into the wasm heap for the length of one call.

/**
 * Copy `data` (a typed array) into freshly allocated wasm memory, call `use(ptr, length)` with its
 * address and element count, and free the memory when the call returns or throws. The C++ side only
 * reads the bytes during the call. Never a zero-byte allocation, so a null pointer always means failure.
 */
export function withHeapCopy(Module, data, what, use) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const ptr = Module._malloc(Math.max(8, bytes.length)) >>> 0;  // above 2 GiB _malloc's result is negative in JS
  if (ptr === 0) throw new Error(`${what}: cannot allocate ${bytes.length} bytes in wasm memory`);
  try {
    Module.HEAPU8.set(bytes, ptr);  // HEAPU8 read after _malloc, which may have grown the memory
    return use(ptr, data.length);
  } finally {
    Module._free(ptr);
  }
}
