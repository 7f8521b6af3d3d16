// tools/relaxed-simd.mjs on small hand-assembled modules: a marker call becomes the instruction, the marker
// import goes, and every function index after it (calls, exports, a table's elements) still names the
// same function; a module it cannot rewrite is refused by name. (The whole relaxed build goes through it
// in every build; tests/relaxed-simd.test.mjs checks what that build computes.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { applyRelaxedSimd, WasmRewriteError } from '../tools/relaxed-simd.mjs';
import { relaxedSimdSupported } from '../wasm/lib/runtime.js';

// The rewritten modules hold relaxed SIMD, which Node 20 compiles only with this V8 flag (this file's
// process alone; node --test runs each file in its own).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const u32 = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const str = (s) => [...u32(s.length), ...new TextEncoder().encode(s)];
const vec = (items) => [...u32(items.length), ...items.flat()];
const section = (id, body) => [id, ...u32(body.length), ...body];
const V128 = 0x7b, I32 = 0x7f;

/**
 * Imports env.one (() -> i32), the marker (or `markerName` from `markerModule`), env.two (() -> i32);
 * defines dot() (loads two vectors at 0 and 16, the marker, stores at 32), callTwo() (calls env.two),
 * viaTable() (calls callTwo through a table) and exports them with the memory. `body` replaces dot's code.
 */
function module({ markerModule = 'ringlm_relaxed_simd', markerName = 'i16x8_relaxed_dot_i8x16_i7x16_s', body } = {}) {
  const types = vec([[0x60, 2, V128, V128, 1, V128], [0x60, 0, 1, I32], [0x60, 0, 0]]);
  const imports = vec([
    [...str('env'), ...str('one'), 0, 1],
    [...str(markerModule), ...str(markerName), 0, 0],
    [...str('env'), ...str('two'), 0, 1],
  ]);
  const dot = body ?? [0x41, 32, 0x41, 0, 0xfd, 0x00, 4, 0, 0x41, 0, 0xfd, 0x00, 4, 16, 0x10, 1, 0xfd, 0x0b, 4, 0, 0x0b];
  const callTwo = [0x10, 2, 0x0b];
  const viaTable = [0x41, 0, 0x11, 1, 0, 0x0b];
  const code = vec([dot, callTwo, viaTable].map((c) => [...u32(c.length + 1), 0, ...c]));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types), ...section(2, imports), ...section(3, vec([[2], [1], [1]])),
    ...section(4, vec([[0x70, 0, 1]])), ...section(5, vec([[0, 1]])),
    ...section(7, vec([[...str('dot'), 0, 3], [...str('callTwo'), 0, 4], [...str('viaTable'), 0, 5], [...str('m'), 2, 0]])),
    ...section(9, vec([[0, 0x41, 0, 0x0b, ...vec([[4]])]])),
    ...section(10, code),
  ]);
}

test('a marker call becomes i16x8.relaxed_dot_i8x16_i7x16_s and the functions after the import keep their meaning', () => {
  const { bytes, replaced } = applyRelaxedSimd(module());
  assert.deepEqual(replaced, { i16x8_relaxed_dot_i8x16_i7x16_s: 1 });
  assert.ok(relaxedSimdSupported());
  const compiled = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.imports(compiled).map((i) => `${i.module}.${i.name}`), ['env.one', 'env.two']);
  const { exports } = new WebAssembly.Instance(compiled, { env: { one: () => 1, two: () => 2 } });
  assert.equal(exports.callTwo(), 2);
  assert.equal(exports.viaTable(), 2);
  // dot(): lane i = a[2i] * b[2i] + a[2i+1] * b[2i+1], signed bytes a times 7-bit bytes b.
  const memory = new Int8Array(exports.m.buffer);
  for (let i = 0; i < 16; i++) memory[i] = i * 17 - 128, memory[16 + i] = i * 8;
  exports.dot();
  const got = Array.from(new Int16Array(exports.m.buffer, 32, 8));
  const want = Array.from({ length: 8 }, (_, i) => memory[2 * i] * memory[16 + 2 * i] + memory[2 * i + 1] * memory[17 + 2 * i]);
  assert.deepEqual(got, want);
});

test('the marker is also found by its name in the name section (an optimized link renames the imports)', () => {
  const plain = module({ markerModule: 'a', markerName: 'k' });
  // A name section naming function 1 (the marker import) as quant_relaxed.cpp's C name.
  const names = [...str('name'), 1, ...u32(vec([[1, ...str('ringlm_i16x8_relaxed_dot_i8x16_i7x16_s')]]).length),
    ...vec([[1, ...str('ringlm_i16x8_relaxed_dot_i8x16_i7x16_s')]])];
  const withNames = new Uint8Array([...plain, ...section(0, names)]);
  const kept = applyRelaxedSimd(withNames);
  assert.deepEqual(kept.replaced, { i16x8_relaxed_dot_i8x16_i7x16_s: 1 });
  assert.ok(kept.bytes.length > applyRelaxedSimd(withNames, { stripNames: true }).bytes.length);
  const compiled = new WebAssembly.Module(kept.bytes);
  assert.deepEqual(WebAssembly.Module.imports(compiled).map((i) => `${i.module}.${i.name}`), ['env.one', 'env.two']);
  assert.throws(() => applyRelaxedSimd(plain), (e) => e instanceof WasmRewriteError && /imports nothing from ringlm_relaxed_simd/.test(e.message));
});

test('what it cannot rewrite is refused by name', () => {
  assert.throws(() => applyRelaxedSimd(module({ markerName: 'f32x4_relaxed_madd' })),
    (e) => e instanceof WasmRewriteError && /ringlm_relaxed_simd\.f32x4_relaxed_madd: not a relaxed-SIMD instruction this tool knows/.test(e.message));
  // An opcode the decoder does not know (0xc5 is unassigned) in dot()'s body.
  assert.throws(() => applyRelaxedSimd(module({ body: [0xc5, 0x0b] })),
    (e) => e instanceof WasmRewriteError && /unknown opcode 0xc5/.test(e.message));
  // The marker imported but never called.
  assert.throws(() => applyRelaxedSimd(module({ body: [0x0b] })),
    (e) => e instanceof WasmRewriteError && /imported but never called/.test(e.message));
  assert.throws(() => applyRelaxedSimd(new Uint8Array([1, 2, 3])), (e) => e instanceof WasmRewriteError && /not a WebAssembly/.test(e.message));
});
