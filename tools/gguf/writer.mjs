// GGUF writer: builds GGUF v3 (or v2) files in memory, for test models.
//
// File layout (all numbers little-endian; v2 and v3 share it, v1 had 32-bit counts and is not written):
//
//   header
//     u32    magic            "GGUF" (the bytes 0x47 0x47 0x55 0x46)
//     u32    version          3 (or 2)
//     u64    tensor_count
//     u64    kv_count
//   kv_count metadata pairs
//     string key              (a string is u64 byte length + UTF-8 bytes, no terminator)
//     u32    value_type       GgufType below
//     value                   scalar of that type; a bool is one byte (0 or 1);
//                             an array is u32 element_type + u64 count + the elements back to back
//   tensor_count tensor infos
//     string name             (at most 63 bytes: ggml's GGML_MAX_NAME is 64 with the terminator)
//     u32    n_dims           1..4
//     u64    ne[n_dims]       ne[0] is the innermost (contiguous) dimension
//     u32    type             GgmlType below
//     u64    offset           from the start of the data section; a multiple of the alignment
//   zero padding up to a multiple of the alignment (counted from the start of the file)
//   data section: each tensor's bytes at its offset, zero padding after each one
//
// The alignment is the uint32 metadata value `general.alignment` when present, else 32.
//
// Tensor payloads, per ggml type:
//   F32  (0)  4-byte IEEE floats
//   F16  (1)  2-byte IEEE halves (rounded to nearest, ties to even)
//   Q4_0 (2)  blocks of 32 values, 18 bytes each: f16 scale d, then 16 bytes of 4-bit codes q in 0..15,
//             value = (q - 8) * d; byte j holds element j in its low nibble and element j+16 in its high one
//   Q8_0 (8)  blocks of 32 values, 34 bytes each: f16 scale d, then 32 int8 codes q, value = q * d
//   Q5_0 (6)  blocks of 32 values, 22 bytes: f16 d, u32 qh (bit j = bit 4 of element j), 16 bytes of low
//             nibbles as in Q4_0; value = (q - 16) * d
//   Q5_1 (7)  blocks of 32 values, 24 bytes: f16 d, f16 m, u32 qh, 16 bytes of nibbles; value = q * d + m
//   BF16 (30) the top 16 bits of a float32 (rounded to nearest, ties to even)
//   Q4_K (12) blocks of 256 values, 144 bytes: f16 d, f16 dmin, 12 bytes packing eight 6-bit scales sc and
//             eight 6-bit mins m (one pair per 32 values; bytes 0-3: sc[0..3] in bits 0-5, bits 6-7 are the
//             top bits of sc[4..7]; bytes 4-7 likewise for m; bytes 8-11: low 4 bits of sc[4..7] | m[4..7] << 4),
//             then 128 bytes of nibbles: byte 32c + l holds element 64c + l (low) and 64c + 32 + l (high).
//             value = d * sc[s] * q - dmin * m[s] for element i of sub-block s = i / 32
//   Q5_K (13) 176 bytes: as Q4_K with 32 bytes qh before the nibbles: bit 2c / 2c+1 of qh[l] is bit 4 of
//             element 64c + l / 64c + 32 + l
//   Q6_K (14) 210 bytes: 128 bytes ql, 64 bytes qh, 16 int8 scales (one per 16 values), f16 d last. In half h
//             (128 elements), element 32k + l takes nibble (k < 2 ? low : high) of ql[64h + 32(k % 2) + l] and
//             bits 2k..2k+1 of qh[32h + l] as bits 4-5; value = d * scales[i / 16] * (q - 32)
// Quantized types need ne[0] to be a multiple of their block size (a block never straddles two rows).
//
// The Q8_0 / Q4_0 / Q5_0 / Q5_1 quantizers follow ggml's reference ones (arithmetic done in float32 like the C
// code). The K-quant quantizers are simpler than ggml's (no search for the best scales: each sub-block's range
// sets its scale) and so write other, slightly less accurate, bytes; any bytes are a valid file.

import { writeFileSync } from 'node:fs';

/** Metadata value types. */
export const GgufType = Object.freeze({
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7,
  STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
});

/** The tensor types this writer can quantize to (any other id can go through addTensorBytes). */
export const GgmlType = Object.freeze({
  F32: 0, F16: 1, Q4_0: 2, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30,
});

/** Block size (values) and block bytes of the types above. */
export const GGML_BLOCK = Object.freeze({
  [GgmlType.F32]: { values: 1, bytes: 4 },
  [GgmlType.F16]: { values: 1, bytes: 2 },
  [GgmlType.Q4_0]: { values: 32, bytes: 18 },
  [GgmlType.Q8_0]: { values: 32, bytes: 34 },
  [GgmlType.Q5_0]: { values: 32, bytes: 22 },
  [GgmlType.Q5_1]: { values: 32, bytes: 24 },
  [GgmlType.Q4_K]: { values: 256, bytes: 144 },
  [GgmlType.Q5_K]: { values: 256, bytes: 176 },
  [GgmlType.Q6_K]: { values: 256, bytes: 210 },
  [GgmlType.BF16]: { values: 1, bytes: 2 },
});

export const GGUF_DEFAULT_ALIGNMENT = 32;
const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const MAX_TENSOR_NAME_BYTES = 63;
const MAX_DIMS = 4;

/** Accepts 'Q8_0', 'q8_0' or 8; returns the numeric ggml type id. */
export function ggmlTypeId(type) {
  if (typeof type === 'number') return type;
  const id = GgmlType[String(type).toUpperCase()];
  if (id === undefined) throw new Error(`unknown ggml type ${type}`);
  return id;
}

// ---------------------------------------------------------------------------------------------------------------
// float32 <-> float16

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 -> IEEE half bits, round to nearest with ties to even (what F16C's _cvtss_sh(x, 0) does). */
export function f32ToF16Bits(x) {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, or a quiet NaN
  const e = exp - 127 + 15; // the exponent re-biased for a half
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Subnormal half (or zero): value = h * 2^-24.
    if (e < -10) return sign; // below half of the smallest subnormal: rounds to zero
    const full = mant | 0x800000; // restore the implicit leading one
    const shift = 14 - e; // 13 bits of mantissa dropped, plus (1 - e) for the subnormal scale
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h; // a carry out of the mantissa correctly makes the smallest normal
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry may reach infinity, which is correct
  return sign | h;
}

/** IEEE half bits -> number (exact). */
export function f16BitsToF32(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

// ---------------------------------------------------------------------------------------------------------------
// Quantizers (ggml's reference ones). `fr` rounds to float32, standing in for C's float arithmetic.

const fr = Math.fround;

/** Row-major values (length a multiple of 32) -> Q8_0 blocks. */
export function quantizeQ8_0(values) {
  const nBlocks = values.length / 32;
  if (!Number.isInteger(nBlocks)) throw new Error('Q8_0 needs a multiple of 32 values');
  const out = new Uint8Array(nBlocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const x = values.subarray(b * 32, b * 32 + 32);
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    view.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) {
      const v = fr(x[j] * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // C roundf: halves away from zero
      view.setInt8(b * 34 + 2 + j, q);
    }
  }
  return out;
}

/** Row-major values (length a multiple of 32) -> Q4_0 blocks. */
export function quantizeQ4_0(values) {
  const nBlocks = values.length / 32;
  if (!Number.isInteger(nBlocks)) throw new Error('Q4_0 needs a multiple of 32 values');
  const out = new Uint8Array(nBlocks * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const x = values.subarray(b * 32, b * 32 + 32);
    let amax = 0;
    let max = 0; // the signed value of largest magnitude (the first one on ties)
    for (let j = 0; j < 32; j++) {
      if (amax < Math.abs(x[j])) { amax = Math.abs(x[j]); max = x[j]; }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    view.setUint16(b * 18, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(fr(fr(x[j] * id) + 8.5)));
      const hi = Math.min(15, Math.trunc(fr(fr(x[j + 16] * id) + 8.5)));
      out[b * 18 + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

/** float32 -> bfloat16 bits, round to nearest with ties to even; NaN stays a quiet NaN (as ggml rounds). */
export function f32ToBf16Bits(x) {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 64) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(h) {
  u32Scratch[0] = h << 16;
  return f32Scratch[0];
}

/** Q5_0 (unsigned = false) or Q5_1 (true): ggml's reference quantizers. */
function quantizeQ5(values, unsigned) {
  const size = unsigned ? 24 : 22;
  const nBlocks = values.length / 32;
  if (!Number.isInteger(nBlocks)) throw new Error('Q5_0 / Q5_1 need a multiple of 32 values');
  const out = new Uint8Array(nBlocks * size);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const x = values.subarray(b * 32, b * 32 + 32);
    const at = b * size;
    let codes;
    if (unsigned) {
      let min = Infinity, max = -Infinity;
      for (let j = 0; j < 32; j++) { min = Math.min(min, x[j]); max = Math.max(max, x[j]); }
      const d = fr((max - min) / 31);
      const id = d ? fr(1 / d) : 0;
      view.setUint16(at, f32ToF16Bits(d), true);
      view.setUint16(at + 2, f32ToF16Bits(min), true);
      codes = Array.from(x, (v) => Math.min(31, Math.trunc(fr(fr(fr(v - min) * id) + 0.5))));
    } else {
      let amax = 0, max = 0;
      for (let j = 0; j < 32; j++) if (amax < Math.abs(x[j])) { amax = Math.abs(x[j]); max = x[j]; }
      const d = fr(max / -16);
      const id = d ? fr(1 / d) : 0;
      view.setUint16(at, f32ToF16Bits(d), true);
      codes = Array.from(x, (v) => Math.min(31, Math.trunc(fr(fr(v * id) + 16.5))));
    }
    let qh = 0;
    for (let j = 0; j < 32; j++) qh |= ((codes[j] >> 4) & 1) << j;
    view.setUint32(at + size - 20, qh >>> 0, true);
    for (let j = 0; j < 16; j++) out[at + size - 16 + j] = (codes[j] & 15) | ((codes[j + 16] & 15) << 4);
  }
  return out;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** Q4_K (bits 4) or Q5_K (bits 5): per 32 values, scale = range / (2^bits - 1) and min = -min(0, smallest). */
function quantizeK4(values, bits) {
  const five = bits === 5;
  const size = five ? 176 : 144;
  const top = (1 << bits) - 1;
  const nBlocks = values.length / 256;
  if (!Number.isInteger(nBlocks)) throw new Error('K-quants need a multiple of 256 values');
  const out = new Uint8Array(nBlocks * size);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const x = values.subarray(b * 256, b * 256 + 256);
    const at = b * size;
    const scales = [], mins = [];
    for (let s = 0; s < 8; s++) {
      let lo = 0, hi = -Infinity;
      for (let j = 32 * s; j < 32 * s + 32; j++) { lo = Math.min(lo, x[j]); hi = Math.max(hi, x[j]); }
      scales.push(Math.max(0, hi - lo) / top);
      mins.push(-lo);
    }
    const d = f16BitsToF32(f32ToF16Bits(Math.max(...scales) / 63));
    const dmin = f16BitsToF32(f32ToF16Bits(Math.max(...mins) / 63));
    const sc = scales.map((v) => (d ? clamp(Math.round(v / d), 0, 63) : 0));
    const m = mins.map((v) => (dmin ? clamp(Math.round(v / dmin), 0, 63) : 0));
    view.setUint16(at, f32ToF16Bits(d), true);
    view.setUint16(at + 2, f32ToF16Bits(dmin), true);
    for (let j = 0; j < 4; j++) {
      out[at + 4 + j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
      out[at + 8 + j] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
      out[at + 12 + j] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
    }
    const qsAt = at + (five ? 48 : 16);
    for (let i = 0; i < 256; i++) {
      const s = i >> 5;
      const step = fr(d * sc[s]);
      const q = step ? clamp(Math.round((x[i] + fr(dmin * m[s])) / step), 0, top) : 0;
      const c = i >> 6, l = i & 31, high = (i >> 5) & 1;
      out[qsAt + 32 * c + l] |= (q & 15) << (4 * high);
      if (five && q > 15) out[at + 16 + l] |= 1 << s;
    }
  }
  return out;
}

/** Q6_K: per 16 values, scale = largest magnitude / 32, the 16 scales quantized to int8 against d. */
function quantizeQ6K(values) {
  const nBlocks = values.length / 256;
  if (!Number.isInteger(nBlocks)) throw new Error('K-quants need a multiple of 256 values');
  const out = new Uint8Array(nBlocks * 210);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const x = values.subarray(b * 256, b * 256 + 256);
    const at = b * 210;
    const scales = [];
    for (let g = 0; g < 16; g++) {
      let amax = 0;
      for (let j = 16 * g; j < 16 * g + 16; j++) amax = Math.max(amax, Math.abs(x[j]));
      scales.push(amax / 31.5);
    }
    const d = f16BitsToF32(f32ToF16Bits(Math.max(...scales) / 127));
    const sc = scales.map((v) => (d ? clamp(Math.round(v / d), -128, 127) : 0));
    view.setUint16(at + 208, f32ToF16Bits(d), true);
    for (let g = 0; g < 16; g++) view.setInt8(at + 192 + g, sc[g]);
    for (let i = 0; i < 256; i++) {
      const step = fr(d * sc[i >> 4]);
      const q = (step ? clamp(Math.round(x[i] / step), -32, 31) : 0) + 32;
      const h = i >> 7, k = (i >> 5) & 3, l = i & 31;
      out[at + 64 * h + 32 * (k & 1) + l] |= (q & 15) << (k < 2 ? 0 : 4);
      out[at + 128 + 32 * h + l] |= (q >> 4) << (2 * k);
    }
  }
  return out;
}

/** Encodes float values as `type` (any type of GgmlType). */
export function encodeTensorData(type, values) {
  const id = ggmlTypeId(type);
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  switch (id) {
    case GgmlType.F32: {
      const out = new Uint8Array(f32.length * 4);
      const view = new DataView(out.buffer);
      for (let i = 0; i < f32.length; i++) view.setFloat32(i * 4, f32[i], true);
      return out;
    }
    case GgmlType.F16: {
      const out = new Uint8Array(f32.length * 2);
      const view = new DataView(out.buffer);
      for (let i = 0; i < f32.length; i++) view.setUint16(i * 2, f32ToF16Bits(f32[i]), true);
      return out;
    }
    case GgmlType.Q4_0: return quantizeQ4_0(f32);
    case GgmlType.Q8_0: return quantizeQ8_0(f32);
    case GgmlType.Q5_0: return quantizeQ5(f32, false);
    case GgmlType.Q5_1: return quantizeQ5(f32, true);
    case GgmlType.Q4_K: return quantizeK4(f32, 4);
    case GgmlType.Q5_K: return quantizeK4(f32, 5);
    case GgmlType.Q6_K: return quantizeQ6K(f32);
    case GgmlType.BF16: {
      const out = new Uint8Array(f32.length * 2);
      const view = new DataView(out.buffer);
      for (let i = 0; i < f32.length; i++) view.setUint16(i * 2, f32ToBf16Bits(f32[i]), true);
      return out;
    }
    default: throw new Error(`cannot encode ggml type ${type}`);
  }
}

/** Decodes `count` values of `type` from bytes (the inverse of encodeTensorData, up to rounding). */
export function decodeTensorData(type, bytes, count) {
  const id = ggmlTypeId(type);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (id) {
    case GgmlType.F32:
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case GgmlType.F16:
      for (let i = 0; i < count; i++) out[i] = f16BitsToF32(view.getUint16(i * 2, true));
      return out;
    case GgmlType.Q8_0:
      for (let b = 0; b < count / 32; b++) {
        const d = f16BitsToF32(view.getUint16(b * 34, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = view.getInt8(b * 34 + 2 + j) * d;
      }
      return out;
    case GgmlType.Q4_0:
      for (let b = 0; b < count / 32; b++) {
        const d = f16BitsToF32(view.getUint16(b * 18, true));
        for (let j = 0; j < 16; j++) {
          const byte = bytes[b * 18 + 2 + j];
          out[b * 32 + j] = ((byte & 0x0f) - 8) * d;
          out[b * 32 + j + 16] = ((byte >>> 4) - 8) * d;
        }
      }
      return out;
    case GgmlType.Q5_0:
    case GgmlType.Q5_1: {
      const size = id === GgmlType.Q5_1 ? 24 : 22;
      for (let b = 0; b < count / 32; b++) {
        const at = b * size;
        const d = f16BitsToF32(view.getUint16(at, true));
        const m = id === GgmlType.Q5_1 ? f16BitsToF32(view.getUint16(at + 2, true)) : 0;
        const qh = view.getUint32(at + size - 20, true);
        for (let j = 0; j < 32; j++) {
          const byte = bytes[at + size - 16 + (j & 15)];
          const q = (j < 16 ? byte & 15 : byte >>> 4) | (((qh >>> j) & 1) << 4);
          out[b * 32 + j] = id === GgmlType.Q5_1 ? fr(fr(q * d) + m) : fr((q - 16) * d);
        }
      }
      return out;
    }
    case GgmlType.Q4_K:
    case GgmlType.Q5_K: {
      const five = id === GgmlType.Q5_K;
      const size = five ? 176 : 144;
      for (let b = 0; b < count / 256; b++) {
        const at = b * size;
        const d = f16BitsToF32(view.getUint16(at, true)), dmin = f16BitsToF32(view.getUint16(at + 2, true));
        const s = (j) => bytes[at + 4 + j];
        for (let i = 0; i < 256; i++) {
          const sb = i >> 5, c = i >> 6, l = i & 31, high = sb & 1;
          const sc = sb < 4 ? s(sb) & 63 : (s(sb + 4) & 15) | ((s(sb - 4) >> 6) << 4);
          const m = sb < 4 ? s(sb + 4) & 63 : (s(sb + 4) >> 4) | ((s(sb) >> 6) << 4);
          const byte = bytes[at + (five ? 48 : 16) + 32 * c + l];
          let q = high ? byte >> 4 : byte & 15;
          if (five) q |= ((bytes[at + 16 + l] >> sb) & 1) << 4;
          out[b * 256 + i] = fr(fr(fr(d * sc) * q) - fr(dmin * m));
        }
      }
      return out;
    }
    case GgmlType.Q6_K:
      for (let b = 0; b < count / 256; b++) {
        const at = b * 210;
        const d = f16BitsToF32(view.getUint16(at + 208, true));
        for (let i = 0; i < 256; i++) {
          const h = i >> 7, k = (i >> 5) & 3, l = i & 31;
          const low = (bytes[at + 64 * h + 32 * (k & 1) + l] >> (k < 2 ? 0 : 4)) & 15;
          const q = (low | (((bytes[at + 128 + 32 * h + l] >> (2 * k)) & 3) << 4)) - 32;
          out[b * 256 + i] = fr(fr(d * view.getInt8(at + 192 + (i >> 4))) * q);
        }
      }
      return out;
    case GgmlType.BF16:
      for (let i = 0; i < count; i++) out[i] = bf16BitsToF32(view.getUint16(i * 2, true));
      return out;
    default: throw new Error(`cannot decode ggml type ${type}`);
  }
}

/** Bytes taken by a tensor of `type` with shape `ne`. */
export function tensorByteSize(type, ne) {
  const id = ggmlTypeId(type);
  const block = GGML_BLOCK[id];
  if (!block) throw new Error(`unknown block size for ggml type ${type}`);
  if (ne[0] % block.values !== 0) {
    throw new Error(`ne[0]=${ne[0]} is not a multiple of the block size ${block.values} of ggml type ${id}`);
  }
  return (ne[0] / block.values) * block.bytes * ne.slice(1).reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Byte sink: a growable little-endian buffer.

const textEncoder = new TextEncoder();

class ByteSink {
  constructor() { this.bytes = new Uint8Array(1 << 16); this.view = new DataView(this.bytes.buffer); this.length = 0; }
  reserve(n) {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v) { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v) { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v) { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v) { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v) { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v) { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v) { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v) { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v) { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v) { this.reserve(8); this.view.setBigInt64(this.length, BigInt(v), true); this.length += 8; }
  raw(b) { this.reserve(b.length); this.bytes.set(b, this.length); this.length += b.length; }
  string(s) { const b = textEncoder.encode(s); this.u64(b.length); this.raw(b); }
  padTo(alignment) { const pad = (alignment - (this.length % alignment)) % alignment; this.reserve(pad); this.bytes.fill(0, this.length, this.length + pad); this.length += pad; }
  result() { return this.bytes.slice(0, this.length); }
}

// ---------------------------------------------------------------------------------------------------------------
// Value checks and writers per metadata type.

function checkInt(v, min, max, what) {
  const n = typeof v === 'bigint' ? v : BigInt(v);
  if (typeof v === 'number' && !Number.isInteger(v)) throw new Error(`${what}: ${v} is not an integer`);
  if (n < BigInt(min) || n > BigInt(max)) throw new Error(`${what}: ${v} out of range`);
}

const SCALAR = {
  [GgufType.UINT8]: { check: (v) => checkInt(v, 0, 255, 'uint8'), put: (s, v) => s.u8(Number(v)) },
  [GgufType.INT8]: { check: (v) => checkInt(v, -128, 127, 'int8'), put: (s, v) => s.i8(Number(v)) },
  [GgufType.UINT16]: { check: (v) => checkInt(v, 0, 0xffff, 'uint16'), put: (s, v) => s.u16(Number(v)) },
  [GgufType.INT16]: { check: (v) => checkInt(v, -0x8000, 0x7fff, 'int16'), put: (s, v) => s.i16(Number(v)) },
  [GgufType.UINT32]: { check: (v) => checkInt(v, 0, 0xffffffff, 'uint32'), put: (s, v) => s.u32(Number(v)) },
  [GgufType.INT32]: { check: (v) => checkInt(v, -0x80000000, 0x7fffffff, 'int32'), put: (s, v) => s.i32(Number(v)) },
  [GgufType.UINT64]: { check: (v) => checkInt(v, 0n, 0xffffffffffffffffn, 'uint64'), put: (s, v) => s.u64(v) },
  [GgufType.INT64]: { check: (v) => checkInt(v, -0x8000000000000000n, 0x7fffffffffffffffn, 'int64'), put: (s, v) => s.i64(v) },
  [GgufType.FLOAT32]: { check: (v) => { if (typeof v !== 'number') throw new Error('float32 needs a number'); }, put: (s, v) => s.f32(v) },
  [GgufType.FLOAT64]: { check: (v) => { if (typeof v !== 'number') throw new Error('float64 needs a number'); }, put: (s, v) => s.f64(v) },
  [GgufType.BOOL]: { check: (v) => { if (typeof v !== 'boolean') throw new Error('bool needs a boolean'); }, put: (s, v) => s.u8(v ? 1 : 0) },
  [GgufType.STRING]: { check: (v) => { if (typeof v !== 'string') throw new Error('string needs a string'); }, put: (s, v) => s.string(v) },
};

// ---------------------------------------------------------------------------------------------------------------

export class GgufWriter {
  /**
   * @param {object} [options]
   * @param {2|3} [options.version=3] GGUF version written in the header.
   * @param {number} [options.alignment] when given, written as `general.alignment` (uint32); else 32 applies.
   */
  constructor({ version = 3, alignment } = {}) {
    if (version !== 2 && version !== 3) throw new Error(`GGUF version ${version} is not written (2 or 3)`);
    this.version = version;
    /** @type {Map<string, {type:number, value:any, elementType?:number}>} in insertion order */
    this.metadata = new Map();
    /** @type {{name:string, type:number, ne:number[], bytes:Uint8Array}[]} in insertion order */
    this.tensors = [];
    if (alignment !== undefined) this.addUint32('general.alignment', alignment);
  }

  // --- metadata ------------------------------------------------------------------------------------------------

  /** Adds one key of any scalar GgufType (or ARRAY with elementType). Keys must be unique. */
  add(key, type, value, elementType) {
    if (typeof key !== 'string' || key.length === 0) throw new Error('metadata key must be a non-empty string');
    if (this.metadata.has(key)) throw new Error(`duplicate metadata key ${key}`);
    if (type === GgufType.ARRAY) {
      if (elementType === GgufType.ARRAY) throw new Error('arrays of arrays are not written');
      const rule = SCALAR[elementType];
      if (!rule) throw new Error(`unknown array element type ${elementType}`);
      for (const v of value) rule.check(v);
      this.metadata.set(key, { type, value: Array.from(value), elementType });
    } else {
      const rule = SCALAR[type];
      if (!rule) throw new Error(`unknown metadata type ${type}`);
      rule.check(value);
      if (key === 'general.alignment') {
        if (type !== GgufType.UINT32) throw new Error('general.alignment must be a uint32');
        if (value === 0 || (value & (value - 1)) !== 0) throw new Error('general.alignment must be a power of two');
      }
      this.metadata.set(key, { type, value });
    }
    return this;
  }

  addUint8(key, v) { return this.add(key, GgufType.UINT8, v); }
  addInt8(key, v) { return this.add(key, GgufType.INT8, v); }
  addUint16(key, v) { return this.add(key, GgufType.UINT16, v); }
  addInt16(key, v) { return this.add(key, GgufType.INT16, v); }
  addUint32(key, v) { return this.add(key, GgufType.UINT32, v); }
  addInt32(key, v) { return this.add(key, GgufType.INT32, v); }
  addFloat32(key, v) { return this.add(key, GgufType.FLOAT32, v); }
  addBool(key, v) { return this.add(key, GgufType.BOOL, v); }
  addString(key, v) { return this.add(key, GgufType.STRING, v); }
  /** 64-bit integers accept a number (exact up to 2^53) or a BigInt. */
  addUint64(key, v) { return this.add(key, GgufType.UINT64, v); }
  addInt64(key, v) { return this.add(key, GgufType.INT64, v); }
  addFloat64(key, v) { return this.add(key, GgufType.FLOAT64, v); }
  /** An array of `elementType` (any scalar GgufType, including STRING). */
  addArray(key, elementType, values) { return this.add(key, GgufType.ARRAY, values, elementType); }

  get alignment() {
    return this.metadata.get('general.alignment')?.value ?? GGUF_DEFAULT_ALIGNMENT;
  }

  // --- tensors -------------------------------------------------------------------------------------------------

  /**
   * Adds a tensor from logical float values, encoded as `type`.
   * @param {string} name
   * @param {'F32'|'F16'|'Q4_0'|'Q8_0'|number} type
   * @param {number[]} ne shape, ne[0] innermost (ggml order): a matrix of `rows` rows of `cols` is [cols, rows]
   * @param {Float32Array|number[]} data row-major values, ne[0]*ne[1]*... of them
   */
  addTensor(name, type, ne, data) {
    const id = ggmlTypeId(type);
    const count = ne.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`${name}: ${data.length} values given for shape [${ne}]`);
    tensorByteSize(id, ne); // checks the block fits the rows
    return this.addTensorBytes(name, id, ne, encodeTensorData(id, data));
  }

  /** Adds a tensor's encoded bytes as they are (any type id; the size is not checked, for malformed-file tests). */
  addTensorBytes(name, typeId, ne, bytes) {
    if (typeof name !== 'string' || name.length === 0) throw new Error('tensor name must be a non-empty string');
    if (textEncoder.encode(name).length > MAX_TENSOR_NAME_BYTES) throw new Error(`tensor name too long: ${name}`);
    if (this.tensors.some((t) => t.name === name)) throw new Error(`duplicate tensor ${name}`);
    if (!Array.isArray(ne) || ne.length < 1 || ne.length > MAX_DIMS) throw new Error(`${name}: 1 to ${MAX_DIMS} dims`);
    for (const n of ne) if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: bad dimension ${n}`);
    if (!Number.isInteger(typeId) || typeId < 0) throw new Error(`${name}: bad type id ${typeId}`);
    this.tensors.push({ name, type: typeId, ne: [...ne], bytes: new Uint8Array(bytes) });
    return this;
  }

  // --- output --------------------------------------------------------------------------------------------------

  /** Serializes the whole file. */
  toBuffer() {
    const alignment = this.alignment;
    const s = new ByteSink();
    s.u32(GGUF_MAGIC);
    s.u32(this.version);
    s.u64(this.tensors.length);
    s.u64(this.metadata.size);

    for (const [key, { type, value, elementType }] of this.metadata) {
      s.string(key);
      s.u32(type);
      if (type === GgufType.ARRAY) {
        s.u32(elementType);
        s.u64(value.length);
        const put = SCALAR[elementType].put;
        for (const v of value) put(s, v);
      } else {
        SCALAR[type].put(s, value);
      }
    }

    let offset = 0;
    const offsets = [];
    for (const t of this.tensors) {
      offsets.push(offset);
      offset += t.bytes.length;
      offset += (alignment - (offset % alignment)) % alignment;
    }
    this.tensors.forEach((t, i) => {
      s.string(t.name);
      s.u32(t.ne.length);
      for (const n of t.ne) s.u64(n);
      s.u32(t.type);
      s.u64(offsets[i]);
    });

    s.padTo(alignment);
    for (const t of this.tensors) {
      s.raw(t.bytes);
      s.padTo(alignment);
    }
    return s.result();
  }

  /**
   * The file split into `count` parts in llama.cpp's gguf-split layout: every part carries split.no (0-based),
   * split.count and split.tensors.count; the first also carries all the metadata; the tensors are dealt out in
   * order, as evenly as they go (a part may hold none). Name them NAME-00001-of-0000N.gguf and so on.
   * `tensorsCount` overrides the split.tensors.count written (a wrong one makes a bad set, for tests).
   */
  toSplitBuffers(count, { tensorsCount = this.tensors.length } = {}) {
    if (!Number.isInteger(count) || count < 1 || count > 99999) throw new Error(`split count must be in [1, 99999] (got ${count})`);
    const per = Math.ceil(this.tensors.length / count);
    const parts = [];
    for (let i = 0; i < count; i++) {
      const part = new GgufWriter({ version: this.version });
      if (i === 0) for (const [key, value] of this.metadata) part.metadata.set(key, value);
      part.addUint16('split.no', i).addUint16('split.count', count).addInt32('split.tensors.count', tensorsCount);
      part.tensors = this.tensors.slice(i * per, (i + 1) * per);
      parts.push(part.toBuffer());
    }
    return parts;
  }

  /** Writes the file to `path`; returns its size in bytes. */
  write(path) {
    const bytes = this.toBuffer();
    writeFileSync(path, bytes);
    return bytes.length;
  }
}
