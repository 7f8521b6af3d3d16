#!/usr/bin/env node
// Puts relaxed-SIMD instructions into a linked .wasm that Emscripten 3.1.6 could not emit itself.
//
// Its clang 14 knows no relaxed dot product (no builtin, no assembler mnemonic; its other relaxed
// instructions carry pre-standard opcodes that engines reject), and its binaryen 108 has the i32x4
// dot product at a pre-standard opcode. So the relaxed kernels (src/kernels/quant_relaxed.cpp)
// call marker functions imported from the module `ringlm_relaxed_simd`, one per instruction, whose
// signature is the instruction's (v128 operands in, one v128 out). After the link (and after
// wasm-opt), this tool replaces every `call` of a marker with the instruction itself (0xFD prefix,
// the final opcode of the relaxed-SIMD specification as LEB128) and removes the marker imports,
// renumbering every function index that follows them (calls, ref.func, exports, the start
// function, element segments, the name section). A call pops the same operands and pushes the
// same result as the instruction, so nothing else in a function body changes.
//
// Every instruction is decoded (MVP, sign extension, saturating truncation, bulk memory, SIMD,
// relaxed SIMD, threads' atomics, tail calls, exceptions): an opcode it does not know is an
// error, never a guess. The result is then validated by this Node, which must run with
// --experimental-wasm-relaxed-simd (Node 20; later V8s have relaxed SIMD on by default).
//
// An optimized Emscripten link renames every import (module "a", names "a", "b", ...; and its
// meta-DCE drops the marker from the JS, which never provides it). So the relaxed programs are
// linked with --profiling-funcs, which keeps a name section, and a marker is found by its
// function name there (`ringlm_<instruction>`, the C name quant_relaxed.cpp declares) or, in
// an unminified link, by its import module. --strip-names drops the name section afterwards (the
// default build ships none).
//
//   node --experimental-wasm-relaxed-simd tools/relaxed-simd.mjs <in.wasm> <out.wasm> [--strip-names]

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { relaxedSimdSupported } from '../wasm/lib/runtime.js';

export const MARKER_MODULE = 'ringlm_relaxed_simd';

// The instructions a marker may stand for: the final opcodes of the relaxed-SIMD proposal's binary
// format (github.com/WebAssembly/relaxed-simd, proposals/relaxed-simd/Overview.md), and how many
// v128 operands each pops. The marker's import name is the instruction's name with '_' for '.'
// (Emscripten's JS library keys cannot hold a dot).
// (Not i32x4.relaxed_dot_i8x16_i7x16_add_s, 0x113: Node 20's baseline compiler, Liftoff, computes it
// wrongly, twice the dot product without the addend, while its optimizing compiler is right: measured.)
export const RELAXED_INSTRUCTIONS = {
  i16x8_relaxed_dot_i8x16_i7x16_s: { opcode: 0x112, operands: 2 },
};

const V128 = 0x7b;

export class WasmRewriteError extends Error {}

// ---------------------------------------------------------------------------------------------
// Bytes in and out
// ---------------------------------------------------------------------------------------------

class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  fail(what) {
    throw new WasmRewriteError(`${what} at byte ${this.pos}`);
  }

  byte() {
    if (this.pos >= this.end) this.fail('unexpected end of the module');
    return this.bytes[this.pos++];
  }

  u32() {
    let result = 0, shift = 0, b;
    do {
      b = this.byte();
      if (shift >= 35) this.fail('LEB128 value too long');
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    if (result > 0xffffffff) this.fail('LEB128 value past 32 bits');
    return result;
  }

  // Signed LEB128 of up to `bits` bits, skipped (only its length matters here).
  skipSigned(bits) {
    const most = Math.ceil(bits / 7);
    for (let i = 0; i < most; i++) if (!(this.byte() & 0x80)) return;
    this.fail(`signed LEB128 past ${bits} bits`);
  }

  skip(n) {
    if (this.pos + n > this.end) this.fail('unexpected end of the module');
    this.pos += n;
  }

  name() {
    const n = this.u32();
    const start = this.pos;
    this.skip(n);
    return new TextDecoder().decode(this.bytes.subarray(start, start + n));
  }
}

class Writer {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  bytes(b) {
    const copy = b instanceof Uint8Array ? b : Uint8Array.from(b);
    this.chunks.push(copy);
    this.length += copy.length;
  }

  u32(value) {
    const out = [];
    do {
      let b = value & 0x7f;
      value = Math.floor(value / 128);
      if (value) b |= 0x80;
      out.push(b);
    } while (value);
    this.bytes(out);
  }

  result() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) out.set(c, at), at += c.length;
    return out;
  }
}

const encodeU32 = (value) => {
  const w = new Writer();
  w.u32(value);
  return w.result();
};

// ---------------------------------------------------------------------------------------------
// Instructions: each one's immediates skipped, function indices handed to `onFunction`
// ---------------------------------------------------------------------------------------------

function skipBlockType(r) {
  const b = r.bytes[r.pos];
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.pos++;  // empty, or one value type
  else r.skipSigned(33);                                 // a type index
}

function skipMemarg(r) {
  const align = r.u32();
  if (align & 0x40) r.u32();  // multi-memory: a memory index follows
  r.u32();                    // offset (memory64 offsets are longer LEB128s; u32 would refuse them)
}

function skipSimd(r, op) {
  if (op <= 0x0b || op === 0x5c || op === 0x5d) skipMemarg(r);   // loads, stores, load_zero
  else if (op === 0x0c || op === 0x0d) r.skip(16);                 // v128.const, i8x16.shuffle
  else if (op >= 0x15 && op <= 0x22) r.skip(1);                    // extract_lane / replace_lane
  else if (op >= 0x54 && op <= 0x5b) skipMemarg(r), r.skip(1);     // load_lane / store_lane
  else if (op > 0xff && !(op >= 0x100 && op <= 0x113)) r.fail(`unknown SIMD opcode 0xfd 0x${op.toString(16)}`);
  // everything else in 0x0e..0xff and the relaxed 0x100..0x113: no immediates
}

function skipMisc(r, op) {  // 0xFC: saturating truncation, bulk memory, tables
  if (op <= 7) return;
  switch (op) {
    case 8: r.u32(); r.u32(); return;    // memory.init data memory
    case 9: r.u32(); return;             // data.drop
    case 10: r.u32(); r.u32(); return;   // memory.copy
    case 11: r.u32(); return;            // memory.fill
    case 12: r.u32(); r.u32(); return;   // table.init
    case 13: r.u32(); return;            // elem.drop
    case 14: r.u32(); r.u32(); return;   // table.copy
    case 15: case 16: case 17: r.u32(); return;  // table.grow / size / fill
    default: r.fail(`unknown opcode 0xfc 0x${op.toString(16)}`);
  }
}

function skipAtomic(r, op) {  // 0xFE
  if (op === 0x03) r.skip(1);                          // atomic.fence 0x00
  else if (op <= 0x02 || (op >= 0x10 && op <= 0x4e)) skipMemarg(r);
  else r.fail(`unknown opcode 0xfe 0x${op.toString(16)}`);
}

/**
 * Walks the instructions in r up to its end. For every instruction that names a function
 * (call, return_call, ref.func) it calls onFunction(kind, index, start, end), where [start, end)
 * is the instruction's bytes; everything else is only skipped. With untilEnd, stops after the
 * first `end` (a constant expression's).
 */
function walkInstructions(r, onFunction, { untilEnd = false } = {}) {
  while (r.pos < r.end) {
    const start = r.pos;
    const op = r.byte();
    if (untilEnd && op === 0x0b) return;
    if (op === 0x10 || op === 0x12 || op === 0xd2) {
      const index = r.u32();
      onFunction(op === 0x10 ? 'call' : op === 0x12 ? 'return_call' : 'ref.func', index, start, r.pos);
      continue;
    }
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06) skipBlockType(r);  // block loop if try
    else if (op === 0x07 || op === 0x08 || op === 0x09 || op === 0x18) r.u32();     // catch throw rethrow delegate
    else if (op === 0x0c || op === 0x0d) r.u32();                                     // br br_if
    else if (op === 0x0e) {                                                           // br_table
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
    } else if (op === 0x11 || op === 0x13) r.u32(), r.u32();                          // call_indirect type table
    else if (op === 0x1c) {                                                           // select with types
      const n = r.u32();
      r.skip(n);
    } else if (op >= 0x20 && op <= 0x26) r.u32();                                     // locals, globals, table.get/set
    else if (op >= 0x28 && op <= 0x3e) skipMemarg(r);                                 // loads, stores
    else if (op === 0x3f || op === 0x40) r.u32();                                     // memory.size / grow
    else if (op === 0x41) r.skipSigned(32);
    else if (op === 0x42) r.skipSigned(64);
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0xd0) r.skip(1);                                                  // ref.null type
    else if (op === 0xfc) skipMisc(r, r.u32());
    else if (op === 0xfd) skipSimd(r, r.u32());
    else if (op === 0xfe) skipAtomic(r, r.u32());
    else if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a ||
             op === 0x1b || (op >= 0x45 && op <= 0xc4) || op === 0xd1) {
      // no immediates
    } else {
      r.pos = start;
      r.fail(`unknown opcode 0x${op.toString(16)}`);
    }
  }
  if (untilEnd) r.fail('a constant expression without its end');
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

function readSections(bytes) {
  const r = new Reader(bytes);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const b of magic) if (r.byte() !== b) throw new WasmRewriteError('not a WebAssembly (version 1) module');
  const sections = [];
  while (r.pos < r.end) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    sections.push({ id, start, end: r.pos });
  }
  return sections;
}

function readTypes(bytes, section) {
  const r = new Reader(bytes, section.start, section.end);
  const types = [];
  for (let n = r.u32(); n > 0; n--) {
    if (r.byte() !== 0x60) r.fail('a type that is not a function type');
    const params = [], results = [];
    for (let k = r.u32(); k > 0; k--) params.push(r.byte());
    for (let k = r.u32(); k > 0; k--) results.push(r.byte());
    types.push({ params, results });
  }
  return types;
}

function skipLimits(r) {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/**
 * The import section without the marker imports, the markers found (by function index) and how
 * many function imports there were.
 */
function splitImports(bytes, section, types, markerOf) {
  const r = new Reader(bytes, section.start, section.end);
  const kept = [];
  const markers = new Map();  // function index -> instruction
  let functions = 0;
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    if (kind === 0) {
      const type = types[r.u32()];
      const marker = markerOf(module, name, functions);
      if (marker) {
        const instruction = RELAXED_INSTRUCTIONS[marker];
        if (!instruction) throw new WasmRewriteError(`${MARKER_MODULE}.${marker}: not a relaxed-SIMD instruction this tool knows`);
        const expected = { params: Array(instruction.operands).fill(V128), results: [V128] };
        if (!type || JSON.stringify(type) !== JSON.stringify(expected)) {
          throw new WasmRewriteError(`${MARKER_MODULE}.${marker}: imported with the wrong signature (want ${instruction.operands} v128 in, one v128 out)`);
        }
        markers.set(functions++, { name: marker, ...instruction });
        continue;
      }
      functions++;
    } else if (kind === 1) r.byte(), skipLimits(r);      // table
    else if (kind === 2) skipLimits(r);                  // memory
    else if (kind === 3) r.byte(), r.byte();             // global
    else if (kind === 4) r.byte(), r.u32();              // tag
    else r.fail(`unknown import kind ${kind}`);
    kept.push(bytes.subarray(start, r.pos));
  }
  const w = new Writer();
  w.u32(kept.length);
  for (const entry of kept) w.bytes(entry);
  return { body: w.result(), markers, functionImports: functions };
}

/** Copies the instructions of r, renumbering functions and replacing marker calls; returns the bytes. */
function rewriteInstructions(r, remap, markers, counts, where) {
  const w = new Writer();
  let copied = r.pos;
  walkInstructions(r, (kind, index, start, end) => {
    w.bytes(r.bytes.subarray(copied, start));
    copied = end;
    const marker = markers.get(index);
    if (marker) {
      if (kind !== 'call') throw new WasmRewriteError(`${where}: ${kind} of the marker ${MARKER_MODULE}.${marker.name} (only calls can become the instruction)`);
      w.bytes([0xfd]);
      w.u32(marker.opcode);
      counts[marker.name] = (counts[marker.name] ?? 0) + 1;
    } else {
      w.bytes([r.bytes[start]]);
      w.u32(remap(index));
    }
  });
  w.bytes(r.bytes.subarray(copied, r.end));
  return w.result();
}

function rewriteCode(bytes, section, remap, markers, counts) {
  const r = new Reader(bytes, section.start, section.end);
  const w = new Writer();
  const n = r.u32();
  w.u32(n);
  for (let f = 0; f < n; f++) {
    const size = r.u32();
    const bodyEnd = r.pos + size;
    const body = new Reader(bytes, r.pos, bodyEnd);
    const localsStart = body.pos;
    for (let groups = body.u32(); groups > 0; groups--) body.u32(), body.byte();
    const locals = bytes.subarray(localsStart, body.pos);
    const code = rewriteInstructions(body, remap, markers, counts, `function body ${f}`);
    w.u32(locals.length + code.length);
    w.bytes(locals);
    w.bytes(code);
    r.pos = bodyEnd;
  }
  return w.result();
}

// A constant expression (a global's or a segment's initializer), up to and with its `end`:
// constant expressions hold no blocks, so their first `end` closes them.
function rewriteConstExpr(r, remap, markers, counts, where) {
  const start = r.pos;
  walkInstructions(r, () => {}, { untilEnd: true });
  return rewriteInstructions(new Reader(r.bytes, start, r.pos), remap, markers, counts, where);
}

function rewriteGlobals(bytes, section, remap, markers, counts) {
  const r = new Reader(bytes, section.start, section.end);
  const w = new Writer();
  const n = r.u32();
  w.u32(n);
  for (let g = 0; g < n; g++) {
    w.bytes(bytes.subarray(r.pos, r.pos + 2));  // value type, mutability
    r.skip(2);
    w.bytes(rewriteConstExpr(r, remap, markers, counts, `global ${g}`));
  }
  return w.result();
}

function rewriteExports(bytes, section, remap) {
  const r = new Reader(bytes, section.start, section.end);
  const w = new Writer();
  const n = r.u32();
  w.u32(n);
  for (let e = 0; e < n; e++) {
    const nameStart = r.pos;
    r.name();
    w.bytes(bytes.subarray(nameStart, r.pos));
    const kind = r.byte();
    const index = r.u32();
    w.bytes([kind]);
    w.u32(kind === 0 ? remap(index) : index);
  }
  return w.result();
}

function rewriteElements(bytes, section, remap, markers, counts) {
  const r = new Reader(bytes, section.start, section.end);
  const w = new Writer();
  const n = r.u32();
  w.u32(n);
  for (let s = 0; s < n; s++) {
    const flags = r.u32();
    w.u32(flags);
    const where = `element segment ${s}`;
    if (flags > 7) r.fail(`${where}: unknown flags ${flags}`);
    if (flags === 2 || flags === 6) w.u32(r.u32());                                 // table index
    if (!(flags & 1)) w.bytes(rewriteConstExpr(r, remap, markers, counts, where));   // active: offset
    if (flags & 3) w.bytes([r.byte()]);                                              // elemkind / reftype
    const count = r.u32();
    w.u32(count);
    for (let i = 0; i < count; i++) {
      if (flags & 4) w.bytes(rewriteConstExpr(r, remap, markers, counts, where));
      else {
        const index = r.u32();
        if (markers.has(index)) r.fail(`${where}: the marker ${markers.get(index).name} in a table`);
        w.u32(remap(index));
      }
    }
  }
  return w.result();
}

// The name section's function-indexed maps (1: function names, 2: local names, 3: label names)
// renumbered, the markers' entries dropped; other subsections copied.
function rewriteNames(bytes, section, remap, markers) {
  const r = new Reader(bytes, section.start, section.end);
  const w = new Writer();
  const nameStart = r.pos;
  r.name();
  w.bytes(bytes.subarray(nameStart, r.pos));
  while (r.pos < r.end) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id < 1 || id > 3) {
      w.bytes([id]);
      w.u32(size);
      w.bytes(bytes.subarray(r.pos, end));
      r.pos = end;
      continue;
    }
    const sub = new Writer();
    const entries = [];
    for (let n = r.u32(); n > 0; n--) {
      const index = r.u32();
      const start = r.pos;
      if (id === 1) r.name();
      else {
        for (let m = r.u32(); m > 0; m--) {
          r.u32();
          if (id === 3) for (let k = r.u32(); k > 0; k--) r.u32(), r.name();
          else r.name();
        }
      }
      if (!markers.has(index)) entries.push([remap(index), bytes.subarray(start, r.pos)]);
    }
    if (r.pos !== end) r.fail(`name subsection ${id}: wrong size`);
    sub.u32(entries.length);
    for (const [index, rest] of entries) sub.u32(index), sub.bytes(rest);
    const body = sub.result();
    w.bytes([id]);
    w.u32(body.length);
    w.bytes(body);
  }
  return w.result();
}

/** The names of the functions in the module's name section (subsection 1), by index. */
function functionNames(bytes, sections) {
  const names = new Map();
  for (const s of sections) {
    if (s.id !== 0) continue;
    const r = new Reader(bytes, s.start, s.end);
    if (r.name() !== 'name') continue;
    while (r.pos < r.end) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === 1) for (let n = r.u32(); n > 0; n--) names.set(r.u32(), r.name());
      r.pos = end;
    }
  }
  return names;
}

const MARKER_SYMBOL_PREFIX = 'ringlm_';

/**
 * The module with its relaxed-SIMD markers made instructions. Returns { bytes, replaced } where
 * replaced counts the instructions put in, by marker name. The markers are the function imports
 * from MARKER_MODULE or named `ringlm_<instruction>` in the name section. A module without
 * markers is an error: the relaxed build must hold relaxed instructions. stripNames drops the
 * name section.
 */
export function applyRelaxedSimd(input, { stripNames = false } = {}) {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const sections = readSections(bytes);
  const typeSection = sections.find((s) => s.id === 1);
  const importSection = sections.find((s) => s.id === 2);
  if (!importSection) throw new WasmRewriteError(`the module imports nothing from ${MARKER_MODULE}`);
  const types = typeSection ? readTypes(bytes, typeSection) : [];
  const names = functionNames(bytes, sections);
  const markerOf = (module, name, index) => {
    if (module === MARKER_MODULE) return name;
    const symbol = names.get(index) ?? '';
    return symbol.startsWith(MARKER_SYMBOL_PREFIX) && symbol.slice(MARKER_SYMBOL_PREFIX.length) in RELAXED_INSTRUCTIONS
      ? symbol.slice(MARKER_SYMBOL_PREFIX.length) : null;
  };
  const { body: imports, markers } = splitImports(bytes, importSection, types, markerOf);
  if (markers.size === 0) throw new WasmRewriteError(`the module imports nothing from ${MARKER_MODULE}`);

  const removed = [...markers.keys()].sort((a, b) => a - b);
  const remap = (index) => {
    let below = 0;
    for (const m of removed) if (m < index) below++;
    return index - below;
  };
  const counts = {};
  const out = new Writer();
  out.bytes(bytes.subarray(0, 8));
  for (const s of sections) {
    let body;
    if (s.id === 2) body = imports;
    else if (s.id === 6) body = rewriteGlobals(bytes, s, remap, markers, counts);
    else if (s.id === 7) body = rewriteExports(bytes, s, remap);
    else if (s.id === 8) {
      const index = new Reader(bytes, s.start, s.end).u32();
      if (markers.has(index)) throw new WasmRewriteError('a marker is the start function');
      body = encodeU32(remap(index));
    } else if (s.id === 9) body = rewriteElements(bytes, s, remap, markers, counts);
    else if (s.id === 10) body = rewriteCode(bytes, s, remap, markers, counts);
    else if (s.id === 0 && new Reader(bytes, s.start, s.end).name() === 'name') {
      if (stripNames) continue;
      body = rewriteNames(bytes, s, remap, markers);
    }
    else body = bytes.subarray(s.start, s.end);
    out.bytes([s.id]);
    out.u32(body.length);
    out.bytes(body);
  }
  for (const m of markers.values()) {
    if (!counts[m.name]) throw new WasmRewriteError(`${MARKER_MODULE}.${m.name} is imported but never called`);
  }
  return { bytes: out.result(), replaced: counts };
}

function main(argv) {
  const stripNames = argv[2] === '--strip-names';
  if (argv.length !== (stripNames ? 3 : 2)) {
    console.error('usage: node --experimental-wasm-relaxed-simd tools/relaxed-simd.mjs <in.wasm> <out.wasm> [--strip-names]');
    return 2;
  }
  const [input, output] = argv;
  try {
    const { bytes, replaced } = applyRelaxedSimd(readFileSync(input), { stripNames });
    if (!relaxedSimdSupported()) {
      throw new WasmRewriteError('this Node cannot validate relaxed SIMD: run it with --experimental-wasm-relaxed-simd');
    }
    try {
      new WebAssembly.Module(bytes);
    } catch (error) {
      throw new WasmRewriteError(`the rewritten module does not validate: ${error.message}`);
    }
    writeFileSync(output, bytes);
    const what = Object.entries(replaced).map(([name, n]) => `${n} x ${name}`).join(', ');
    console.log(`relaxed-simd: ${path.basename(output)}: ${what}`);
    return 0;
  } catch (error) {
    if (!(error instanceof WasmRewriteError)) throw error;
    console.error(`relaxed-simd: ${input}: ${error.message}`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
