#!/usr/bin/env node
// Manual check (not CI: it writes 2.2 GB and needs ~2.5 GB of RAM): a GGUF file larger than 2 GiB loads
// through the wasm module from a file path and from a Blob, streamed into the wasm heap chunk by chunk with
// byte progress and no whole-file ArrayBuffer in JS, and runs.
//
//   node tools/large-file-check.mjs [--keep] [path]      (default build/large/large.gguf)
//
// The model: one llama block of dim 1024 and a tied 1024 x 524288 F32 embedding (2 GiB), so the file's
// bytes cross the 2 GiB mark (pointers above it are negative as JS int32: the `>>> 0` paths). The small
// tensors come from our writer; the embedding is the last tensor, its 2 GiB appended in chunks, so the file
// is never held in memory here either.
import { closeSync, existsSync, mkdirSync, openAsBlob, openSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { GgufWriter, GgufType, GgmlType } from './gguf/writer.mjs';
import { makeRng } from './gguf/random-llama.mjs';
// RINGLM_JS: another build's ringlm.js (absolute path), e.g. to try an allocator change.
const { RingLM } = await import(process.env.RINGLM_JS ?? '../wasm/ringlm.js');

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const file = args.find((a) => !a.startsWith('--')) ?? 'build/large/large.gguf';
const DIM = 1024, VOCAB = 1 << 19, FFN = 1024, HEADS = 8;

function writeLargeModel(p) {
  const w = new GgufWriter();
  w.addString('general.architecture', 'llama').addString('general.name', 'ringlm-large-file-check');
  w.addUint32('llama.context_length', 256).addUint32('llama.embedding_length', DIM).addUint32('llama.block_count', 1);
  w.addUint32('llama.feed_forward_length', FFN).addUint32('llama.attention.head_count', HEADS);
  w.addFloat32('llama.attention.layer_norm_rms_epsilon', 1e-5);
  const rng = makeRng(1);
  const values = (n, std, mean = 0) => Float32Array.from({ length: n }, () => mean + std * rng.normal());
  const b = 'blk.0.';
  w.addTensor(`${b}attn_norm.weight`, GgmlType.F32, [DIM], values(DIM, 0.1, 1));
  for (const name of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) w.addTensor(`${b}${name}.weight`, GgmlType.Q8_0, [DIM, DIM], values(DIM * DIM, 1 / 32));
  w.addTensor(`${b}ffn_norm.weight`, GgmlType.F32, [DIM], values(DIM, 0.1, 1));
  w.addTensor(`${b}ffn_gate.weight`, GgmlType.Q8_0, [DIM, FFN], values(DIM * FFN, 1 / 32));
  w.addTensor(`${b}ffn_up.weight`, GgmlType.Q8_0, [DIM, FFN], values(DIM * FFN, 1 / 32));
  w.addTensor(`${b}ffn_down.weight`, GgmlType.Q8_0, [FFN, DIM], values(DIM * FFN, 1 / 32));
  w.addTensor('output_norm.weight', GgmlType.F32, [DIM], values(DIM, 0.1, 1));
  // Declared 2 GiB, written as 0 bytes by the writer: it is last, so its offset is the end of the file so far.
  w.addTensorBytes('token_embd.weight', GgmlType.F32, [DIM, VOCAB], new Uint8Array(0));
  const head = w.toBuffer();
  mkdirSync(path.dirname(p), { recursive: true });
  const fd = openSync(p, 'w');
  try {
    writeSync(fd, head);
    // Row t of the embedding: a cheap deterministic pattern, different for every row.
    const rowsPerChunk = 4096;
    const chunk = new Float32Array(rowsPerChunk * DIM);
    for (let row = 0; row < VOCAB; row += rowsPerChunk) {
      for (let r = 0; r < rowsPerChunk; r++) {
        const t = row + r;
        for (let i = 0; i < DIM; i++) chunk[r * DIM + i] = Math.sin(t * 0.001 + i * 0.37) * 0.5;
      }
      writeSync(fd, new Uint8Array(chunk.buffer));
    }
  } finally {
    closeSync(fd);
  }
}

const gib = (n) => `${(n / 2 ** 30).toFixed(2)} GiB`;
if (!existsSync(file)) {
  const t0 = performance.now();
  writeLargeModel(file);
  console.log(`wrote ${file}: ${gib(statSync(file).size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const size = statSync(file).size;
if (size <= 2 ** 31) throw new Error(`${file} is not larger than 2 GiB`);

async function loadAndRun(label, source) {
  let reports = 0, last = 0, peakArrayBuffers = 0;
  const t0 = performance.now();
  const lm = await RingLM.load(source, {
    contextSize: 64,
    onProgress: ({ loaded, total }) => {
      if (loaded <= last || total !== size) throw new Error(`bad progress ${loaded}/${total}`);
      last = loaded;
      reports++;
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (last !== size) throw new Error(`progress ended at ${last} of ${size}`);
  if (lm.info.fileBytes !== size) throw new Error(`fileBytes ${lm.info.fileBytes} != ${size}`);
  const logits = lm.prefill([1, 2, VOCAB - 1]);
  const next = lm.decode(12345);
  for (const x of [...logits.subarray(0, 1000), ...next.subarray(next.length - 1000)]) {
    if (!Number.isFinite(x)) throw new Error('non-finite logits');
  }
  const { memoryBytes } = await RingLM.memoryUsage();
  // JS ArrayBuffers during the load (the wasm memory is not counted there): a whole-file copy would be ~2 GiB.
  const extra = peakArrayBuffers;
  console.log(`${label}: loaded ${gib(size)} in ${seconds.toFixed(1)} s (${(size / 2 ** 20 / seconds).toFixed(0)} MiB/s), ` +
    `${reports} progress reports, wasm memory ${gib(memoryBytes)}, memoryBytes ${gib(lm.info.memoryBytes)}, ` +
    `peak JS ArrayBuffers during the load ${(extra / 2 ** 20).toFixed(0)} MiB`);
  if (extra > 256 * 2 ** 20) throw new Error('a large JS buffer was held during the load');
  const checksum = next.reduce((a, b) => a + b, 0);
  lm.dispose();
  return checksum;
}

const a = await loadAndRun('file path', file);
const b = await loadAndRun('Blob', await openAsBlob(file));
if (a !== b) throw new Error(`the two loads disagree: ${a} vs ${b}`);
console.log(`ok: both loads give the same logits (checksum ${a.toFixed(4)})`);
if (!keep) rmSync(file);
