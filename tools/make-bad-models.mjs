#!/usr/bin/env node
// Writes the malformed-file corpus: GGUF files that are wrong in one way each, with the error text
// ringlm must answer each with, into build/bad-models/ (+ manifest.json: [{ file, what, error }]).
//
//   node tools/make-bad-models.mjs [outdir]      (default build/bad-models)
//
// Every file starts from one tiny valid model (good.gguf, also written: it must load) and breaks it:
// byte patches at positions found by walking the file's layout (header, each key/value, each tensor
// info, the data section), truncations at every section boundary, or a model written with a key or
// tensor missing or wrong. tests/malformed.test.mjs loads each through the wasm module and through the
// native CLI and checks the message. Output is deterministic.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRandomLlama } from './gguf/random-llama.mjs';
import { GgufType } from './gguf/writer.mjs';

const BASE = { seed: 3, dim: 32, layers: 1, heads: 2, kvHeads: 1, ffn: 32, vocab: 259, ctx: 64, type: 'Q8_0', name: 'ringlm-bad-base' };
const base = (opts = {}) => makeRandomLlama({ ...BASE, ...opts });
const TWO63 = 2n ** 63n;

// ---------------------------------------------------------------------------------------------------------------
// Where things are in a GGUF file (trusting it: only valid files are walked).

const SCALAR_SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export function layout(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const u32 = () => { const v = view.getUint32(pos, true); pos += 4; return v; };
  const u64 = () => { const v = Number(view.getBigUint64(pos, true)); pos += 8; return v; };
  const str = () => { const n = u64(); const s = new TextDecoder().decode(bytes.subarray(pos, pos + n)); pos += n; return s; };
  pos = 8;
  const nTensors = u64();
  const nKv = u64();
  const kvs = [];
  for (let i = 0; i < nKv; i++) {
    const start = pos;
    const key = str();
    const typePos = pos;
    const type = u32();
    const valuePos = pos;
    let count = 0;
    let elemType = -1;
    if (type === GgufType.STRING) str();
    else if (type === GgufType.ARRAY) {
      elemType = u32();
      count = u64();
      if (elemType === GgufType.STRING) for (let k = 0; k < count; k++) str();
      else pos += count * SCALAR_SIZE[elemType];
    } else pos += SCALAR_SIZE[type];
    kvs.push({ key, start, typePos, valuePos, type, elemType, count, end: pos });
  }
  const tensors = [];
  for (let i = 0; i < nTensors; i++) {
    const start = pos;
    const name = str();
    const nDimsPos = pos;
    const nDims = u32();
    const dimsPos = pos;
    pos += 8 * nDims;
    const typePos = pos;
    u32();
    const offsetPos = pos;
    const offset = u64();
    tensors.push({ name, start, nDimsPos, dimsPos, typePos, offsetPos, offset, end: pos });
  }
  const infoEnd = pos;
  return { nTensors, nKv, kvs, tensors, infoEnd, kv: (k) => kvs.find((e) => e.key === k), tensor: (n) => tensors.find((t) => t.name === n) };
}

/** A copy of `bytes` with `fn(view, bytes)` applied. */
function patch(bytes, fn) {
  const out = new Uint8Array(bytes);
  fn(new DataView(out.buffer), out);
  return out;
}
const setU32 = (at, v) => (view) => view.setUint32(at, v, true);
const setU64 = (at, v) => (view) => view.setBigUint64(at, BigInt(v), true);

// ---------------------------------------------------------------------------------------------------------------
// The cases: [file, what, error text, bytes]

export function badModels() {
  const good = base().toBuffer();
  const L = layout(good);
  const cases = [];
  const add = (file, what, error, bytes) => cases.push({ file: `${file}.gguf`, what, error, bytes });
  const arch = L.kv('general.architecture');
  const tokens = L.kv('tokenizer.ggml.tokens');
  const scores = L.kv('tokenizer.ggml.scores');
  const q = L.tensor('blk.0.attn_q.weight');
  const k = L.tensor('blk.0.attn_k.weight');
  const last = L.tensors[L.tensors.length - 1];  // output.weight: Q8_0 [dim, vocab]
  const outBytes = BASE.vocab * (BASE.dim / 32) * 34;

  // --- header ---
  add('magic', 'wrong magic ("GGML")', 'not a GGUF file: the first 4 bytes are not "GGUF"', patch(good, setU32(0, 0x4c4d4747)));
  add('magic-short', 'three bytes', 'not a GGUF file: file truncated at byte 0: the magic number needs 4 bytes, 3 left', good.slice(0, 3));
  for (const v of [0, 1, 4, 0xffffffff]) {
    add(`version-${v}`, `version ${v}`, `unsupported GGUF version ${v} (supported: 2 and 3)`, patch(good, setU32(4, v)));
  }
  add('version-big-endian', 'version 3 written big-endian', 'big-endian GGUF files are not supported', patch(good, setU32(4, 0x03000000)));
  add('kv-count-2p63', 'metadata count 2^63', 'metadata count 9223372036854775808 cannot fit', patch(good, setU64(16, TWO63)));
  add('tensor-count-2p63', 'tensor count 2^63', 'tensor count 9223372036854775808 cannot fit', patch(good, setU64(8, TWO63)));

  // --- truncation at every section boundary (and inside each section) ---
  add('cut-after-version', 'cut after the version', 'file truncated at byte 8: the tensor count needs 8 bytes, 0 left', good.slice(0, 8));
  add('cut-in-counts', 'cut inside the metadata count', 'file truncated at byte 16: the metadata count needs 8 bytes, 4 left', good.slice(0, 20));
  add('cut-after-header', 'cut after the header', `metadata count ${L.nKv} cannot fit in a file of 24 bytes`, good.slice(0, 24));
  // (The header check catches cuts before byte 24 + 12 per key; the cuts below are past that point.)
  add('cut-in-counted-keys', 'cut before the keys can fit', `metadata count ${L.nKv} cannot fit in a file of 100 bytes`, good.slice(0, 100));
  const model = L.kv('tokenizer.ggml.model');
  add('cut-in-key', 'cut inside a key', `metadata entry ${L.kvs.indexOf(model)} (byte ${model.start}): file truncated at byte ${model.start + 8}: a metadata key needs 20 bytes, 3 left`,
    good.slice(0, model.start + 11));
  add('cut-after-key', 'cut between a key and its type', `metadata entry ${L.kvs.indexOf(model)} (byte ${model.start}): file truncated at byte ${model.typePos}: a metadata value type needs 4 bytes, 0 left`,
    good.slice(0, model.typePos));
  add('cut-in-string-value', 'cut inside a string value', `file truncated at byte ${model.valuePos + 8}: string value of key 'tokenizer.ggml.model' needs 5 bytes, 2 left`,
    good.slice(0, model.end - 3));
  add('cut-in-array', 'cut inside the tokens array', "of key 'tokenizer.ggml.tokens' needs", good.slice(0, tokens.valuePos + 12 + 2500));
  const lastKv = L.kvs[L.kvs.length - 1];
  add('cut-after-metadata', 'cut after the last key/value', `tensor info 0 (byte ${lastKv.end}): file truncated at byte ${lastKv.end}: a tensor name needs 8 bytes, 0 left`,
    good.slice(0, lastKv.end));
  add('cut-in-tensor-info', 'cut inside a tensor info', `tensor '${q.name}' dimensions needs`, good.slice(0, q.dimsPos + 4));
  add('cut-after-tensor-infos', 'cut where the tensor data section begins', `file truncated: the tensor data section would start at byte ${Math.ceil(L.infoEnd / 32) * 32} but the file has ${L.infoEnd} bytes`, good.slice(0, L.infoEnd));
  add('cut-in-data', 'cut inside the data section', `tensor '${last.name}': data [${last.offset}, +${outBytes}) lies past the end of the file`, good.slice(0, good.length - 100));

  // --- lengths and counts past the end ---
  add('key-length-2p63', 'a key length of 2^63', 'metadata entry 0 (byte 24): file truncated at byte 32: a metadata key needs 9223372036854775808 bytes', patch(good, setU64(24, TWO63)));
  add('string-length-past-end', 'a string value longer than the file', "string value of key 'general.architecture' needs 1099511627776 bytes",
    patch(good, setU64(arch.valuePos, 2 ** 40)));
  add('tensor-name-length', 'a tensor name longer than the file', `tensor info 0 (byte ${L.tensors[0].start}): file truncated at byte ${L.tensors[0].start + 8}: a tensor name needs 4294967296 bytes`,
    patch(good, setU64(L.tensors[0].start, 2 ** 32)));
  add('array-count-2p63', 'a string array of 2^63 elements', "key 'tokenizer.ggml.tokens': array of 9223372036854775808 strings cannot fit",
    patch(good, setU64(tokens.valuePos + 4, TWO63)));
  add('array-count-2p62', 'a float array of 2^62 elements', "key 'tokenizer.ggml.scores': array of 4611686018427387904 float32 values cannot fit",
    patch(good, setU64(scores.valuePos + 4, 2n ** 62n)));
  add('value-type', 'value type 13', "key 'general.architecture': value type 13 is not a GGUF value type", patch(good, setU32(arch.typePos, 13)));
  add('array-elem-type', 'array element type 99', "key 'tokenizer.ggml.scores': array element type 99 is not a GGUF value type", patch(good, setU32(scores.valuePos, 99)));
  add('nested-array', 'an array of arrays', "key 'tokenizer.ggml.scores': arrays of arrays are not supported", patch(good, setU32(scores.valuePos, 9)));
  {
    const w = base();
    w.addUint32('ringlm.dup.aa', 1).addUint32('ringlm.dup.bb', 2);
    const bytes = w.toBuffer();
    const at = layout(bytes).kv('ringlm.dup.bb').start + 8;
    bytes.set(new TextEncoder().encode('ringlm.dup.aa'), at);
    add('duplicate-key', 'a key written twice', "key 'ringlm.dup.aa' appears twice", bytes);
  }
  {
    const w = base({ alignment: 64 });
    const bytes = w.toBuffer();
    add('alignment-48', 'general.alignment 48', "key 'general.alignment' must be a power of two integer", patch(bytes, setU32(layout(bytes).kv('general.alignment').valuePos, 48)));
  }

  // --- tensor infos and data ---
  add('offset-past-end', 'a tensor offset past the end', `tensor '${last.name}': data [1099511627776, +${outBytes}) lies past the end of the file`, patch(good, setU64(last.offsetPos, 2 ** 40)));
  add('overlap', 'a tensor starting inside another', `tensors '${q.name}' and '${k.name}' overlap in the data section`, patch(good, setU64(k.offsetPos, q.offset + 32)));
  add('misaligned', 'a tensor offset not a multiple of 32', `tensor '${q.name}': data offset ${q.offset + 4} is not a multiple of the alignment 32`,
    patch(good, setU64(q.offsetPos, q.offset + 4)));
  add('dims-overflow', 'dimensions whose product overflows', `tensor '${q.name}': the element count overflows`,
    patch(good, (v) => { v.setBigUint64(q.dimsPos, 2n ** 40n, true); v.setBigUint64(q.dimsPos + 8, 2n ** 40n, true); }));
  add('dims-zero', 'a zero dimension', `tensor '${q.name}': dimension 1 is 0`, patch(good, setU64(q.dimsPos + 8, 0)));
  add('dims-5', 'five dimensions', `tensor '${q.name}': 5 dimensions (must be 1 to 4)`, patch(good, setU32(q.nDimsPos, 5)));
  add('tensor-type-99', 'tensor type 99', `tensor '${q.name}': unknown tensor type id 99`, patch(good, setU32(q.typePos, 99)));
  {
    // f16 infinities and NaNs where the kernels widen halves by moving bits (tensor_type.h: find_nonfinite_half).
    const w = base({ type: 'F16' });
    const t = w.tensors.find((x) => x.name === 'blk.0.ffn_down.weight');
    new DataView(t.bytes.buffer, t.bytes.byteOffset).setUint16(2 * 37, 0x7c00, true);
    add('f16-infinity', 'an F16 weight that is +infinity',
      "tensor 'blk.0.ffn_down.weight' (F16) holds an f16 infinity or NaN at value 37: the file is damaged", w.toBuffer());
  }
  {
    const w = base();
    const t = w.tensors.find((x) => x.name === 'blk.0.attn_k.weight');
    new DataView(t.bytes.buffer, t.bytes.byteOffset).setUint16(34 * 3, 0xfe00, true);  // block 3's d: a NaN
    add('q8_0-scale-nan', 'a Q8_0 block whose scale is NaN',
      "tensor 'blk.0.attn_k.weight' (Q8_0) holds an f16 infinity or NaN at the d of block 3: the file is damaged", w.toBuffer());
  }
  {
    const w = base();
    const t = w.tensors.find((x) => x.name === 'blk.0.attn_q.weight');
    t.type = 3;  // Q4_1: 32 values in 20 bytes
    t.bytes = new Uint8Array(32 * 20);
    add('unsupported-type', 'a weight in Q4_1', "tensor 'blk.0.attn_q.weight' has type Q4_1, which ringlm does not support yet", w.toBuffer());
  }
  {
    const w = base();
    const t = w.tensors.find((x) => x.name === 'blk.0.attn_q.weight');
    t.ne = [30, 32];
    add('block-size', 'a Q8_0 row of 30 values', "tensor 'blk.0.attn_q.weight': row length 30 is not a multiple of Q8_0's block size 32", w.toBuffer());
  }
  {
    // K-quant blocks hold 256 values: a row of 32 cannot be Q4_K (llama.cpp's quantizer picks Q5_0 instead).
    const w = base();
    const t = w.tensors.find((x) => x.name === 'blk.0.attn_q.weight');
    t.type = 12;
    t.bytes = new Uint8Array(144 * 4);
    add('kquant-row', 'a Q4_K weight with rows of 32 values',
      `tensor 'blk.0.attn_q.weight': row length ${t.ne[0]} is not a multiple of Q4_K's block size 256`, w.toBuffer());
  }

  // --- the model: keys, tensors, shapes ---
  const without = (file, what, error, edit) => { const w = base(); edit(w); add(file, what, error, w.toBuffer()); };
  without('missing-architecture', 'no general.architecture', "missing metadata key 'general.architecture'", (w) => w.metadata.delete('general.architecture'));
  without('architecture-bert', 'architecture bert', "architecture 'bert' is not supported (supported: llama, qwen2, qwen3, smollm3, gemma3, gemma2, gpt2, phi3)",
    (w) => w.metadata.set('general.architecture', { type: GgufType.STRING, value: 'bert' }));
  without('gpt2-without-its-keys', 'architecture gpt2 with llama keys', "missing metadata key 'gpt2.embedding_length'",
    (w) => w.metadata.set('general.architecture', { type: GgufType.STRING, value: 'gpt2' }));
  without('missing-embedding-length', 'no embedding_length', "missing metadata key 'llama.embedding_length'", (w) => w.metadata.delete('llama.embedding_length'));
  without('block-count-0', 'block_count 0', "key 'llama.block_count' is 0 (expected 1 to 4096)",
    (w) => w.metadata.set('llama.block_count', { type: GgufType.UINT32, value: 0 }));
  without('block-count-string', 'block_count as a string', "key 'llama.block_count' has type string, expected an integer",
    (w) => w.metadata.set('llama.block_count', { type: GgufType.STRING, value: '1' }));
  without('head-count-3', 'head_count 3 (32 is no multiple)', 'embedding_length 32 is not a multiple of head_count 3',
    (w) => w.metadata.set('llama.attention.head_count', { type: GgufType.UINT32, value: 3 }));
  without('rope-dims-odd', 'rope.dimension_count 7', "key 'llama.rope.dimension_count' is 7, but RoPE rotates whole heads of 16",
    (w) => w.metadata.set('llama.rope.dimension_count', { type: GgufType.UINT32, value: 7 }));
  without('rope-scaling-yarn', 'rope scaling yarn', "key 'llama.rope.scaling.type' is 'yarn' (YaRN RoPE scaling), which is not supported",
    (w) => w.metadata.set('llama.rope.scaling.type', { type: GgufType.STRING, value: 'yarn' }));
  without('missing-tensor', 'no blk.0.ffn_up.weight', "missing tensor 'blk.0.ffn_up.weight'",
    (w) => { w.tensors = w.tensors.filter((t) => t.name !== 'blk.0.ffn_up.weight'); });
  without('missing-layer', 'block_count 2 with one layer of tensors', "missing tensor 'blk.1.attn_norm.weight'",
    (w) => w.metadata.set('llama.block_count', { type: GgufType.UINT32, value: 2 }));
  without('missing-output-norm', 'no output_norm.weight', "missing tensor 'output_norm.weight'",
    (w) => { w.tensors = w.tensors.filter((t) => t.name !== 'output_norm.weight'); });
  without('wrong-shape', 'attn_q of [32, 16]', "tensor 'blk.0.attn_q.weight' has shape [32, 16], expected [32, 32]", (w) => {
    const t = w.tensors.find((x) => x.name === 'blk.0.attn_q.weight');
    t.ne = [32, 16];
    t.bytes = t.bytes.slice(0, t.bytes.length / 2);
  });
  without('norm-not-f32', 'attn_norm in F16', "tensor 'blk.0.attn_norm.weight' has type F16, expected F32", (w) => {
    const t = w.tensors.find((x) => x.name === 'blk.0.attn_norm.weight');
    t.type = 1;
    t.bytes = t.bytes.slice(0, t.bytes.length / 2);
  });

  // --- the tokenizer's metadata ---
  const setArray = (w, key, elementType, value) => w.metadata.set(key, { type: GgufType.ARRAY, elementType, value });
  without('scores-length', 'scores shorter than tokens', "key 'tokenizer.ggml.scores' has 100 entries but 'tokenizer.ggml.tokens' has 259",
    (w) => setArray(w, 'tokenizer.ggml.scores', GgufType.FLOAT32, w.metadata.get('tokenizer.ggml.scores').value.slice(0, 100)));
  without('token-type-length', 'token_type longer than tokens', "key 'tokenizer.ggml.token_type' has 261 entries but 'tokenizer.ggml.tokens' has 259",
    (w) => setArray(w, 'tokenizer.ggml.token_type', GgufType.INT32, [...w.metadata.get('tokenizer.ggml.token_type').value, 1, 1]));
  without('bos-out-of-range', 'bos_token_id 5000 of 259', "key 'tokenizer.ggml.bos_token_id' is 5000, outside the vocabulary of 259 tokens",
    (w) => w.metadata.set('tokenizer.ggml.bos_token_id', { type: GgufType.UINT32, value: 5000 }));
  without('tokens-past-rows', '300 tokens for 259 embedding rows', "key 'tokenizer.ggml.tokens' has 300 tokens but token_embd.weight has rows for 259", (w) => {
    const n = 300 - 259;
    const extra = Array.from({ length: n }, (_, i) => `extra${i}`);
    setArray(w, 'tokenizer.ggml.tokens', GgufType.STRING, [...w.metadata.get('tokenizer.ggml.tokens').value, ...extra]);
    setArray(w, 'tokenizer.ggml.scores', GgufType.FLOAT32, [...w.metadata.get('tokenizer.ggml.scores').value, ...extra.map(() => 0)]);
    setArray(w, 'tokenizer.ggml.token_type', GgufType.INT32, [...w.metadata.get('tokenizer.ggml.token_type').value, ...extra.map(() => 1)]);
  });
  without('tokens-not-strings', 'tokens as an int32 array', "key 'tokenizer.ggml.tokens' must be an array of strings",
    (w) => setArray(w, 'tokenizer.ggml.tokens', GgufType.INT32, w.metadata.get('tokenizer.ggml.token_type').value));

  return { good, cases };
}

export function makeBadModels(outdir = 'build/bad-models') {
  const { good, cases } = badModels();
  mkdirSync(outdir, { recursive: true });
  for (const f of readdirSync(outdir)) if (f.endsWith('.gguf') || f === 'manifest.json') rmSync(join(outdir, f));
  writeFileSync(join(outdir, 'good.gguf'), good);
  for (const c of cases) writeFileSync(join(outdir, c.file), c.bytes);
  const manifest = cases.map(({ file, what, error }) => ({ file, what, error }));
  writeFileSync(join(outdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? 'build/bad-models';
  const manifest = makeBadModels(outdir);
  console.log(`${manifest.length} malformed files (+ good.gguf) in ${outdir}`);
}
