// A small GGUF reader for tests: metadata and tensors of a v2/v3 file, each read checked against the file's end.
// It is the counterpart of tools/gguf/writer.mjs (see the layout comment there) and serves the JS reference model.

import { readFileSync } from 'node:fs';
import { GgufType, GGML_BLOCK, GGUF_DEFAULT_ALIGNMENT, decodeTensorData } from '../../tools/gguf/writer.mjs';

const textDecoder = new TextDecoder('utf-8', { fatal: true });

class Cursor {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }
  need(n, what) {
    if (this.pos + n > this.bytes.length) throw new Error(`GGUF truncated reading ${what} at byte ${this.pos}`);
  }
  u8() { this.need(1, 'u8'); return this.view.getUint8(this.pos++); }
  i8() { this.need(1, 'i8'); return this.view.getInt8(this.pos++); }
  u16() { this.need(2, 'u16'); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16() { this.need(2, 'i16'); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32() { this.need(4, 'u32'); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32() { this.need(4, 'i32'); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32() { this.need(4, 'f32'); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64() { this.need(8, 'f64'); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64() { this.need(8, 'u64'); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64() { this.need(8, 'i64'); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return v; }
  size(what) {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF ${what} too large: ${v}`);
    return Number(v);
  }
  string() {
    const n = this.size('string length');
    this.need(n, 'string');
    const s = textDecoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

function readValue(c, type) {
  switch (type) {
    case GgufType.UINT8: return c.u8();
    case GgufType.INT8: return c.i8();
    case GgufType.UINT16: return c.u16();
    case GgufType.INT16: return c.i16();
    case GgufType.UINT32: return c.u32();
    case GgufType.INT32: return c.i32();
    case GgufType.FLOAT32: return c.f32();
    case GgufType.BOOL: { const b = c.u8(); if (b > 1) throw new Error(`bad bool ${b}`); return b === 1; }
    case GgufType.STRING: return c.string();
    case GgufType.UINT64: return c.u64();
    case GgufType.INT64: return c.i64();
    case GgufType.FLOAT64: return c.f64();
    case GgufType.ARRAY: {
      const elementType = c.u32();
      if (elementType === GgufType.ARRAY) throw new Error('nested GGUF arrays are not read');
      const n = c.size('array length');
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, elementType);
      return out;
    }
    default: throw new Error(`unknown GGUF value type ${type} at byte ${c.pos}`);
  }
}

/**
 * Reads a GGUF file (path or bytes).
 * @returns {{version:number, metadata:Map<string,any>, tensors:Map<string,{type:number, ne:number[], bytes:Uint8Array}>,
 *            values:(name:string)=>Float32Array}}
 */
export function readGguf(pathOrBytes) {
  const bytes = typeof pathOrBytes === 'string' ? new Uint8Array(readFileSync(pathOrBytes)) : pathOrBytes;
  const c = new Cursor(bytes);
  if (c.u32() !== 0x46554747) throw new Error('not a GGUF file (bad magic)');
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}`);
  const nTensors = c.size('tensor count');
  const nKv = c.size('kv count');

  const metadata = new Map();
  for (let i = 0; i < nKv; i++) {
    const key = c.string();
    metadata.set(key, readValue(c, c.u32()));
  }
  const alignment = metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;

  const infos = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.string();
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) throw new Error(`${name}: bad n_dims ${nDims}`);
    const ne = [];
    for (let d = 0; d < nDims; d++) ne.push(c.size('dimension'));
    const type = c.u32();
    const offset = c.size('tensor offset');
    if (offset % alignment !== 0) throw new Error(`${name}: offset ${offset} not aligned to ${alignment}`);
    infos.push({ name, ne, type, offset });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;

  const tensors = new Map();
  for (const { name, ne, type, offset } of infos) {
    const block = GGML_BLOCK[type];
    if (!block) throw new Error(`${name}: ggml type ${type} is not read here`);
    if (ne[0] % block.values !== 0) throw new Error(`${name}: ne[0] not a multiple of the block`);
    const size = (ne[0] / block.values) * block.bytes * ne.slice(1).reduce((a, b) => a * b, 1);
    const start = dataStart + offset;
    if (start + size > bytes.length) throw new Error(`${name}: data runs past the end of the file`);
    tensors.set(name, { type, ne, bytes: bytes.subarray(start, start + size) });
  }

  const values = (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    return decodeTensorData(t.type, t.bytes, t.ne.reduce((a, b) => a * b, 1));
  };
  return { version, metadata, tensors, values };
}
