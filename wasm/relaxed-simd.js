// Emscripten JS library for ringlm-relaxed.mjs: declares the relaxed-SIMD markers that
// src/kernels/quant_relaxed.cpp imports, so that the link step accepts them. They never run:
// tools/relaxed-simd.mjs replaces every call of a marker with its instruction and removes the
// import after the link. (Were that step skipped, the module would not instantiate at all: the
// JS side never provides the marker imports.)
mergeInto(LibraryManager.library, {
  i16x8_relaxed_dot_i8x16_i7x16_s: function () {
    throw new Error('ringlm: a relaxed-SIMD marker was called: ringlm-relaxed.wasm was not rewritten by tools/relaxed-simd.mjs');
  },
});
