// Seeded random-weight models of GGUF architectures `qwen2` and `gpt2`, for golden tests against llama.cpp,
// written as tools/gguf/random-llama.mjs writes `llama` (same options, same per-tensor streams, same scales), with
// the tensor names and metadata keys llama.cpp reads for each:
//
//   qwen2  llama's block plus Q/K/V biases (attn_q.bias, attn_k.bias, attn_v.bias); RoPE in the NEOX layout
//          (llama.cpp picks it by architecture: nothing in the file says so); the Qwen 2 vocabulary
//          (GPT-2's byte-level BPE under Qwen's split, plus its chat tokens).
//   gpt2   learned positions (position_embd, ne=[dim, context_length]); LayerNorm with bias (attn_norm, ffn_norm,
//          output_norm: .weight and .bias; key gpt2.attention.layer_norm_epsilon); one fused attn_qkv
//          (ne=[dim, dim + 2 kv_dim], rows Q then K then V) with bias; attn_output with bias; a GELU FFN
//          ffn_up/ffn_down with biases and no gate; no RoPE keys; the GPT-2 vocabulary.
// Biases and LayerNorm shifts are F32, like every vector in a GGUF file.

import { GgufWriter, GgmlType, ggmlTypeId } from './writer.mjs';
import { makeRng, randomLlamaParams, streamSeed } from './random-llama.mjs';
import { VOCAB_MODELS } from './vocab-models.mjs';

const FILE_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };
export const ARCHITECTURES = ['qwen2', 'gpt2'];

/** The tokenizers of the tokenizer tests' models: Qwen 2's and GPT-2's (token counts 50260 and 50257). */
const vocabModel = (file) => VOCAB_MODELS.find((m) => m.file === file);
const TOKENIZERS = { qwen2: vocabModel('vocab-qwen2.gguf').add, gpt2: vocabModel('vocab-gpt2.gguf').add };
export const VOCAB_SIZE = { qwen2: 50260, gpt2: 50257 };

/**
 * Builds a random `opts.arch` model ('qwen2' or 'gpt2'); the other options are randomLlamaParams' (vocab is the
 * tokenizer's and cannot be chosen), plus biasStd (0.2: the std of every bias) and posStd (0.5: gpt2's
 * position embeddings). Returns a GgufWriter with `.params`.
 */
export function makeRandomArch(opts = {}) {
  const arch = opts.arch;
  if (!ARCHITECTURES.includes(arch)) throw new Error(`arch must be one of ${ARCHITECTURES.join(', ')}, not ${arch}`);
  const p = { ...randomLlamaParams({ ...opts, vocab: VOCAB_SIZE[arch] }), arch, biasStd: opts.biasStd ?? 0.2,
    posStd: opts.posStd ?? 0.5 };
  const headDim = p.dim / p.heads;
  const kvDim = headDim * p.kvHeads;
  const weightType = ggmlTypeId(p.type);

  const w = new GgufWriter({ version: p.version, alignment: p.alignment });
  w.params = p;
  w.addString('general.architecture', arch);
  w.addString('general.name', p.name);
  w.addUint32('general.file_type', FILE_TYPE[p.type]);
  if (weightType !== GgmlType.F32 && weightType !== GgmlType.F16) w.addUint32('general.quantization_version', 2);
  w.addUint32(`${arch}.context_length`, p.ctx);
  w.addUint32(`${arch}.embedding_length`, p.dim);
  w.addUint32(`${arch}.block_count`, p.layers);
  w.addUint32(`${arch}.feed_forward_length`, p.ffn);
  w.addUint32(`${arch}.attention.head_count`, p.heads);
  w.addUint32(`${arch}.attention.head_count_kv`, p.kvHeads);
  if (arch === 'gpt2') {
    w.addFloat32('gpt2.attention.layer_norm_epsilon', p.eps);
  } else {
    w.addFloat32(`${arch}.rope.freq_base`, p.ropeBase);
    w.addFloat32(`${arch}.attention.layer_norm_rms_epsilon`, p.eps);
  }
  const n = TOKENIZERS[arch](w);
  if (n !== p.vocab) throw new Error(`${arch}: the tokenizer has ${n} tokens, expected ${p.vocab}`);

  const normal = (name, count, std, mean = 0) => {
    const rng = makeRng(streamSeed(p.seed, name));
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = mean + std * rng.normal();
    return out;
  };
  const matrix = (name, cols, rows, std) => w.addTensor(name, weightType, [cols, rows], normal(name, cols * rows, std));
  const vector = (name, count, std, mean = 0) => w.addTensor(name, GgmlType.F32, [count], normal(name, count, std, mean));
  const norm = (name, gain) => {
    vector(`${name}.weight`, p.dim, 0.1 * gain, gain);
    if (arch === 'gpt2') vector(`${name}.bias`, p.dim, 0.1 * gain);
  };

  // Scales as random-llama.mjs explains: unit-rms activations, attention scores of std ~1.5, logits of std logitStd.
  const outStd = p.tiedOutput ? p.embedStd : 1 / Math.sqrt(p.dim);
  const outGain = p.logitStd / (outStd * Math.sqrt(p.dim));
  const inStd = 1 / Math.sqrt(p.dim);
  const qkStd = 1.25 / Math.sqrt(p.dim);
  const downStd = (arch === 'gpt2' ? 1.5 : 1) / Math.sqrt(p.ffn); // GELU keeps about half of its input's power

  matrix('token_embd.weight', p.dim, p.vocab, p.embedStd);
  if (arch === 'gpt2') matrix('position_embd.weight', p.dim, p.ctx, p.posStd);
  for (let l = 0; l < p.layers; l++) {
    const b = `blk.${l}.`;
    norm(`${b}attn_norm`, 1);
    if (arch === 'gpt2') {
      // One matrix: the Q rows, then K, then V, each drawn from its own stream as if separate.
      const rows = [normal(`${b}attn_q.weight`, p.dim * p.dim, qkStd), normal(`${b}attn_k.weight`, p.dim * kvDim, qkStd),
        normal(`${b}attn_v.weight`, p.dim * kvDim, inStd)];
      const qkv = new Float32Array(p.dim * (p.dim + 2 * kvDim));
      qkv.set(rows[0], 0); qkv.set(rows[1], rows[0].length); qkv.set(rows[2], rows[0].length + rows[1].length);
      w.addTensor(`${b}attn_qkv.weight`, weightType, [p.dim, p.dim + 2 * kvDim], qkv);
      vector(`${b}attn_qkv.bias`, p.dim + 2 * kvDim, p.biasStd);
    } else {
      matrix(`${b}attn_q.weight`, p.dim, p.dim, qkStd);
      matrix(`${b}attn_k.weight`, p.dim, kvDim, qkStd);
      matrix(`${b}attn_v.weight`, p.dim, kvDim, inStd);
      vector(`${b}attn_q.bias`, p.dim, p.biasStd);
      vector(`${b}attn_k.bias`, kvDim, p.biasStd);
      vector(`${b}attn_v.bias`, kvDim, p.biasStd);
    }
    matrix(`${b}attn_output.weight`, p.dim, p.dim, inStd);
    if (arch === 'gpt2') vector(`${b}attn_output.bias`, p.dim, p.biasStd);
    norm(`${b}ffn_norm`, 1);
    if (arch !== 'gpt2') matrix(`${b}ffn_gate.weight`, p.dim, p.ffn, inStd);
    matrix(`${b}ffn_up.weight`, p.dim, p.ffn, inStd);
    matrix(`${b}ffn_down.weight`, p.ffn, p.dim, downStd);
    if (arch === 'gpt2') {
      vector(`${b}ffn_up.bias`, p.ffn, p.biasStd);
      vector(`${b}ffn_down.bias`, p.dim, p.biasStd);
    }
  }
  norm('output_norm', outGain);
  if (!p.tiedOutput) matrix('output.weight', p.dim, p.vocab, outStd);
  return w;
}
