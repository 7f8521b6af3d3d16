// Seeded random-weight models of GGUF architecture `llama` and the llama-shaped `qwen3`, `smollm3` and `phi3`, for
// golden tests against llama.cpp:
//
//   llama    optionally with rope_freqs.weight (Llama 3.1/3.2 RoPE frequency factors, ne=[head_dim/2]; llama.cpp
//            divides pair i's angle by factor i) and, like llama.cpp's converter, no rope.scaling.type key with
//            it (llama.cpp aborts on a type it does not know, such as 'llama3').
//   qwen3    llama's block with NEOX RoPE (llama.cpp picks it by architecture), per-head RMSNorm of q and k
//            before RoPE (attn_q_norm / attn_k_norm, ne=[head_dim]), no biases; its head size is
//            attention.key_length, which need not be dim / heads.
//   gemma3   qwen3's q/k norms and NEOX RoPE, embeddings times sqrt(dim), an RMS norm after attention and after
//            the FFN (post_attention_norm, post_ffw_norm), a GELU-gated FFN, and sliding-window layers: all but
//            every swaPeriod-th (attention.sliding_window_pattern, llama.cpp's default 6 when absent) attend to
//            the last slidingWindow positions and turn RoPE by rope.freq_base_swa (default 10000).
//   gemma2   gemma3's block without the q/k norms, its output always the embeddings (no output.weight), the
//            attention scores soft-capped (attn_logit_softcapping, llama.cpp's default 50 when absent) and the
//            final logits too (final_logit_softcapping, default 30); every other layer local by default (pattern
//            2), the local RoPE base the global one unless rope.freq_base_swa says otherwise. gemma3 takes a
//            final_logit_softcapping too (none when absent).
//   smollm3  llama's block with no RoPE in layers l where (l+1) % 4 == 0: llama.cpp's rule for this
//            architecture (src/models/smollm3.cpp), not written in the file.
//   phi3     llama's block with NEOX RoPE, Q/K/V in one attn_qkv (rows Q, then K, then V: [dim, qDim + 2 kvDim])
//            and gate and up in one ffn_up ([dim, 2 ffn]: gate rows first, as ggml_swiglu splits it), no
//            biases; rope.dimension_count may be less than the head size (ropeDims: only those dims rotate);
//            with longRope, LongRoPE as llama.cpp's converter writes it for Phi-3 128k: rope_factors_short.weight
//            and rope_factors_long.weight (ne=[ropeDims/2] each), rope.scaling.original_context_length, and
//            rope.scaling.attn_factor = sqrt(1 + ln(ctx / original) / ln(original)); no rope.scaling.type.
//
// All four take the SentencePiece-style test vocabulary below: llama.cpp does not tie a tokenizer to them.
//
// Every tensor draws its values from its own stream, seeded by (seed, tensor name): the same seed gives the same
// logical weights whatever the storage type, so an F16 or Q8_0 file is a rounding of the F32 one.
//
// Scales are chosen so the model says something: attention scores q.k/sqrt(head_dim) have a standard deviation
// of about 1.5 (softmax over positions is far from uniform) and the final logits one of about `logitStd`
// (default 3), so log-probabilities spread over many units and a wrong layout cannot hide in a flat softmax.

import { GgufWriter, GgufType, GgmlType, ggmlTypeId } from './writer.mjs';

// ---------------------------------------------------------------------------------------------------------------
// PRNG: xoshiro128** seeded through splitmix32; normals by Box-Muller. All 32-bit integer arithmetic.

function splitmix32(state) {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded generator with uniform() in [0, 1) and normal() ~ N(0, 1). */
export function makeRng(seed) {
  const init = splitmix32(seed);
  let a = init(), b = init(), c = init(), d = init();
  if ((a | b | c | d) === 0) a = 1;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  let spare = null;
  return {
    nextU32,
    uniform: () => nextU32() / 4294967296,
    normal() {
      if (spare !== null) { const v = spare; spare = null; return v; }
      const u1 = (nextU32() + 1) / 4294967297; // in (0, 1): log is finite
      const u2 = nextU32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      spare = r * Math.sin(2 * Math.PI * u2);
      return r * Math.cos(2 * Math.PI * u2);
    },
  };
}

function rotl(x, k) { return ((x << k) | (x >>> (32 - k))) >>> 0; }

/** FNV-1a of a string mixed with the seed: the per-tensor stream seed. */
export function streamSeed(seed, name) {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// Options

// llama_ftype of each file type: ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0, MOSTLY_Q5_0, MOSTLY_Q5_1,
// MOSTLY_Q4_K_S, MOSTLY_Q5_K_S, MOSTLY_Q6_K, MOSTLY_BF16, MOSTLY_Q4_K_M.
const FILE_TYPE = {
  F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q4_K: 14, Q5_K: 16, Q6_K: 18, BF16: 32, Q4_K_M: 15,
};

/**
 * The type of each matrix in a Q4_K_M-like mix, as llama.cpp's quantizer chooses them: Q4_K, with Q6_K for the
 * output and for attn_v / ffn_down in some layers (here layer 0), Q5_K for attn_output in odd layers (a Q5_K_M
 * choice, to have one in the file), and, for a row length that is no multiple of 256, the fallback it uses
 * for K-quants: Q5_0 instead of Q4_K / Q5_K, Q8_0 instead of Q6_K.
 */
function q4kmType(name, cols) {
  const layer = /^blk\.(\d+)\./.exec(name);
  let type = 'Q4_K';
  if (name === 'output.weight') type = 'Q6_K';
  else if (layer && Number(layer[1]) === 0 && /attn_v|ffn_down/.test(name)) type = 'Q6_K';
  else if (layer && Number(layer[1]) % 2 === 1 && /attn_output/.test(name)) type = 'Q5_K';
  if (cols % 256 !== 0) type = type === 'Q6_K' ? 'Q8_0' : 'Q5_0';
  return type;
}

/**
 * Fills in defaults and checks the shape constraints. Options:
 *   seed (1), dim (64), layers (2), heads (4), kvHeads (= heads), ffn (3*dim), vocab (512), ctx (256),
 *   type ('F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q5_0' | 'Q5_1' | 'Q4_K' | 'Q5_K' | 'Q6_K'; norm weights
 *   stay F32, token_embd takes the type too; or 'Q4_K_M', a mix of types, see q4kmType),
 *   tiedOutput (false: no output.weight, the output reuses token_embd), ropeBase (10000), eps (1e-5),
 *   logitStd (3: the std of the final logits), embedStd (1: the std of the embeddings),
 *   name (general.name), version (GGUF 3 or 2), alignment (general.alignment; absent means 32),
 *   arch ('llama' | 'qwen3' | 'smollm3'), headDim (dim / heads; else written as attention.key_length and
 *   value_length), ropeFreqs (llama only: 'llama3' for llama3RopeFactors(headDim, ropeBase), or an array of
 *   headDim/2 factors), ropeScaling ({ type, factor }: rope.scaling.type when `type` is given, and
 *   rope.scaling.factor), biases (llama only: every bias llama.cpp reads when present, attn_q/k/v, attn_output
 *   and ffn_gate/up/down, F32 with std 0.2), ropeDims (headDim: rope.dimension_count, phi3 only when less);
 *   gemma3 and gemma2 only: slidingWindow, swaPeriod, ropeBaseSwa and finalSoftcap (written when given; a gemma3
 *   file without slidingWindow has no window key at all: every layer global); gemma2 only: attnSoftcap (written when
 *   given); phi3 only: longRope
 *   ({ original }: LongRoPE, see phiLongRopeFactors, with original < ctx).
 */
export function randomLlamaParams(opts = {}) {
  const p = {
    seed: 1, dim: 64, layers: 2, heads: 4, kvHeads: undefined, ffn: undefined, vocab: 512, ctx: 256,
    type: 'F32', tiedOutput: false, ropeBase: 10000, eps: 1e-5, logitStd: 3, embedStd: 1, name: 'ringlm-random-llama',
    version: 3, alignment: undefined, arch: 'llama', headDim: undefined, ropeFreqs: undefined, ropeScaling: undefined,
    biases: false, ropeDims: undefined, slidingWindow: undefined, swaPeriod: undefined, ropeBaseSwa: undefined,
    longRope: undefined, attnSoftcap: undefined, finalSoftcap: undefined,
    ...opts,
  };
  p.kvHeads ??= p.heads;
  p.ffn ??= 3 * p.dim;
  p.type = String(p.type).toUpperCase();
  if (!(p.type in FILE_TYPE)) throw new Error(`type must be one of ${Object.keys(FILE_TYPE).join(', ')}, not ${opts.type}`);
  if (p.headDim === undefined && p.dim % p.heads !== 0) throw new Error('dim must be a multiple of heads (or give headDim)');
  p.headDim ??= p.dim / p.heads;
  p.ropeDims ??= p.headDim;
  if (p.ropeDims % 2 !== 0 || p.ropeDims > p.headDim) throw new Error('ropeDims must be even and at most the head size');
  if (p.heads % p.kvHeads !== 0) throw new Error('heads must be a multiple of kvHeads');
  if (p.headDim % 2 !== 0) throw new Error('head dimension must be even (RoPE rotates pairs)');
  if (p.type.startsWith('Q') && (p.dim % 32 !== 0 || p.ffn % 32 !== 0)) {
    throw new Error('quantized types need dim and ffn to be multiples of 32');
  }
  if (/^Q\d_K$/.test(p.type) && (p.dim % 256 !== 0 || p.ffn % 256 !== 0)) {
    throw new Error('K-quant types need dim and ffn to be multiples of 256');
  }
  if (p.type === 'Q4_K_M' && p.dim % 256 !== 0) throw new Error('Q4_K_M needs dim to be a multiple of 256');
  if (p.vocab < 3 + 256) throw new Error('vocab must hold the 3 special and 256 byte tokens');
  return p;
}

/** The architectures this file writes. */
export const LLAMA_SHAPED = ['llama', 'qwen3', 'smollm3', 'phi3', 'gemma3', 'gemma2'];

/**
 * Llama 3.1's RoPE frequency factors (its `rope_scaling` of type 'llama3', which converters turn into the
 * rope_freqs tensor): pairs whose wavelength is under originalContext / highFreqFactor keep their frequency
 * (factor 1), those over originalContext / lowFreqFactor are slowed by `factor`, and those between are
 * interpolated smoothly. Returns headDim/2 factors.
 */
export function llama3RopeFactors(headDim, base, { factor = 8, lowFreqFactor = 1, highFreqFactor = 4, originalContext = 8192 } = {}) {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const freq = 1 / Math.pow(base, (2 * i) / headDim);
    const wavelength = (2 * Math.PI) / freq;
    if (wavelength < originalContext / highFreqFactor) out[i] = 1;
    else if (wavelength > originalContext / lowFreqFactor) out[i] = factor;
    else {
      const smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

/**
 * LongRoPE's two sets of ropeDims/2 frequency factors, seeded: short ones in [1, 1.5] (Phi-3's stay near 1),
 * long ones growing from ~1 to ~16 with the pair index (Phi-3's slow the low frequencies most), each jittered so
 * that no two pairs share a factor.
 */
export function phiLongRopeFactors(ropeDims, seed) {
  const n = ropeDims / 2;
  const rng = makeRng(streamSeed(seed, 'longrope'));
  const short = new Float32Array(n), long = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    short[i] = 1 + 0.5 * rng.uniform();
    long[i] = (1 + 15 * (i / Math.max(1, n - 1)) ** 1.5) * (0.8 + 0.4 * rng.uniform());
  }
  return { short, long };
}

/** The attention factor llama.cpp's Phi-3 converter writes for LongRoPE (1 when the context is not extended). */
export function phiLongRopeAttnFactor(ctx, original) {
  const scale = ctx / original;
  return scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer: SentencePiece-style ("llama") vocabulary that llama.cpp accepts.

const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 };

/** Short distinct words: a, b, ..., z, aa, ab, ... (bijective base 26). */
function word(i) {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(97 + ((n - 1) % 26)) + s;
  return s;
}

export function makeLlamaVocab(vocab) {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  // Fillers come in pairs: "▁w" (a word starting with a space) and "w".
  for (let i = 0; tokens.length < vocab; i++) {
    tokens.push((i % 2 === 0 ? '\u2581' : '') + word(i >> 1));
    types.push(TOKEN_TYPE.NORMAL);
  }
  const scores = tokens.map((_, i) => (types[i] === TOKEN_TYPE.NORMAL ? -i : 0));
  return { tokens, scores, types };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Builds the model. Returns a GgufWriter (call .toBuffer() or .write(path)); `writer.params` holds the resolved
 * options.
 */
export function makeRandomLlama(opts = {}) {
  const p = randomLlamaParams(opts);
  const { arch, headDim } = p;
  if (!LLAMA_SHAPED.includes(arch)) throw new Error(`arch must be one of ${LLAMA_SHAPED.join(', ')}, not ${arch}`);
  if (p.ropeFreqs !== undefined && arch !== 'llama') throw new Error('only llama files carry rope_freqs');
  if (p.biases && arch !== 'llama') throw new Error('only llama files carry the optional biases');
  if (p.ropeDims !== headDim && arch !== 'phi3') throw new Error('only phi3 files rotate part of each head');
  const gemma = arch === 'gemma3' || arch === 'gemma2';
  if (!gemma && (p.slidingWindow ?? p.finalSoftcap) !== undefined) throw new Error('only gemma files take slidingWindow, finalSoftcap');
  if (arch !== 'gemma2' && p.attnSoftcap !== undefined) throw new Error('only gemma2 files take attnSoftcap');
  if (arch === 'gemma2' && !p.tiedOutput) throw new Error('gemma2 files tie their output to the embeddings (tiedOutput)');
  if (p.longRope !== undefined && (arch !== 'phi3' || !(p.longRope.original < p.ctx))) {
    throw new Error('only phi3 files take longRope, with longRope.original < ctx');
  }
  const qDim = headDim * p.heads;
  const kvDim = headDim * p.kvHeads;
  const mixed = p.type === 'Q4_K_M';
  const weightType = mixed ? GgmlType.Q4_K : ggmlTypeId(p.type);
  const typeOf = (name, cols) => (mixed ? ggmlTypeId(q4kmType(name, cols)) : weightType);

  const w = new GgufWriter({ version: p.version, alignment: p.alignment });
  w.params = p;

  w.addString('general.architecture', arch);
  w.addString('general.name', p.name);
  w.addUint32('general.file_type', FILE_TYPE[p.type]);
  if (!['F32', 'F16', 'BF16'].includes(p.type)) w.addUint32('general.quantization_version', 2);

  w.addUint32(`${arch}.context_length`, p.ctx);
  w.addUint32(`${arch}.embedding_length`, p.dim);
  w.addUint32(`${arch}.block_count`, p.layers);
  w.addUint32(`${arch}.feed_forward_length`, p.ffn);
  w.addUint32(`${arch}.attention.head_count`, p.heads);
  w.addUint32(`${arch}.attention.head_count_kv`, p.kvHeads);
  if (headDim !== p.dim / p.heads) {
    w.addUint32(`${arch}.attention.key_length`, headDim);
    w.addUint32(`${arch}.attention.value_length`, headDim);
  }
  w.addUint32(`${arch}.rope.dimension_count`, p.ropeDims);
  w.addFloat32(`${arch}.rope.freq_base`, p.ropeBase);
  if (p.ropeScaling?.type !== undefined) w.addString(`${arch}.rope.scaling.type`, p.ropeScaling.type);
  if (p.ropeScaling?.factor !== undefined) w.addFloat32(`${arch}.rope.scaling.factor`, p.ropeScaling.factor);
  w.addFloat32(`${arch}.attention.layer_norm_rms_epsilon`, p.eps);
  if (p.slidingWindow !== undefined) w.addUint32(`${arch}.attention.sliding_window`, p.slidingWindow);
  if (p.swaPeriod !== undefined) w.addUint32(`${arch}.attention.sliding_window_pattern`, p.swaPeriod);
  if (p.ropeBaseSwa !== undefined) w.addFloat32(`${arch}.rope.freq_base_swa`, p.ropeBaseSwa);
  if (p.attnSoftcap !== undefined) w.addFloat32(`${arch}.attn_logit_softcapping`, p.attnSoftcap);
  if (p.finalSoftcap !== undefined) w.addFloat32(`${arch}.final_logit_softcapping`, p.finalSoftcap);
  if (p.longRope !== undefined) {
    w.addUint32(`${arch}.rope.scaling.original_context_length`, p.longRope.original);
    w.addFloat32(`${arch}.rope.scaling.attn_factor`, phiLongRopeAttnFactor(p.ctx, p.longRope.original));
  }
  w.addUint32(`${arch}.vocab_size`, p.vocab);

  const vocab = makeLlamaVocab(p.vocab);
  w.addString('tokenizer.ggml.model', 'llama');
  w.addArray('tokenizer.ggml.tokens', GgufType.STRING, vocab.tokens);
  w.addArray('tokenizer.ggml.scores', GgufType.FLOAT32, vocab.scores);
  w.addArray('tokenizer.ggml.token_type', GgufType.INT32, vocab.types);
  w.addUint32('tokenizer.ggml.bos_token_id', 1);
  w.addUint32('tokenizer.ggml.eos_token_id', 2);
  w.addUint32('tokenizer.ggml.unknown_token_id', 0);
  w.addBool('tokenizer.ggml.add_bos_token', true);
  w.addBool('tokenizer.ggml.add_eos_token', false);

  // Each tensor: N(0, std^2) values from its own stream, or mean + N(0, std^2) for norm weights.
  const normal = (name, count, std, mean = 0) => {
    const rng = makeRng(streamSeed(p.seed, name));
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = mean + std * rng.normal();
    return out;
  };
  const matrix = (name, cols, rows, std) => w.addTensor(name, typeOf(name, cols), [cols, rows], normal(name, cols * rows, std));
  // One tensor holding parts [stream name, rows, std] one after the other, rows of `cols` values.
  const fused = (name, cols, parts) => {
    const values = new Float32Array(cols * parts.reduce((n, [, rows]) => n + rows, 0));
    let at = 0;
    for (const [part, rows, std] of parts) values.set(normal(part, cols * rows, std), at), at += cols * rows;
    w.addTensor(name, typeOf(name, cols), [cols, values.length / cols], values);
  };
  const norm = (name, n, gain) => w.addTensor(name, GgmlType.F32, [n], normal(name, n, 0.1 * gain, gain));
  const bias = (name, n) => p.biases && w.addTensor(name, GgmlType.F32, [n], normal(name, n, 0.2));

  // Embedding rows have rms embedStd; every projection keeps the rms of its (normalised) input, std 1/sqrt(in),
  // except Q and K, scaled by 1.25 each so scores q.k/sqrt(head_dim) have std ~1.25^2. The output RMSNorm gain
  // sets the logit spread: logits are gain * (W x_hat), whose std is outStd * sqrt(dim) * gain = logitStd.
  const embedStd = p.embedStd;
  const outStd = p.tiedOutput ? embedStd : 1 / Math.sqrt(p.dim);
  const outGain = p.logitStd / (outStd * Math.sqrt(p.dim));
  const inStd = 1 / Math.sqrt(p.dim);
  const qkStd = 1.25 / Math.sqrt(p.dim);

  matrix('token_embd.weight', p.dim, p.vocab, embedStd);
  if (p.ropeFreqs !== undefined) {
    const factors = p.ropeFreqs === 'llama3' ? llama3RopeFactors(headDim, p.ropeBase) : Float32Array.from(p.ropeFreqs);
    if (factors.length !== headDim / 2) throw new Error(`ropeFreqs needs ${headDim / 2} factors, not ${factors.length}`);
    w.addTensor('rope_freqs.weight', GgmlType.F32, [headDim / 2], factors);
  }
  if (p.longRope !== undefined) {
    const { short, long } = phiLongRopeFactors(p.ropeDims, p.seed);
    w.addTensor('rope_factors_long.weight', GgmlType.F32, [p.ropeDims / 2], long);
    w.addTensor('rope_factors_short.weight', GgmlType.F32, [p.ropeDims / 2], short);
  }
  for (let l = 0; l < p.layers; l++) {
    const b = `blk.${l}.`;
    norm(`${b}attn_norm.weight`, p.dim, 1);
    if (arch === 'phi3') {
      // Fused as phi3 stores them, each part drawn from its own stream as if separate.
      fused(`${b}attn_qkv.weight`, p.dim, [[`${b}attn_q.weight`, qDim, qkStd], [`${b}attn_k.weight`, kvDim, qkStd],
        [`${b}attn_v.weight`, kvDim, inStd]]);
    } else {
      matrix(`${b}attn_q.weight`, p.dim, qDim, qkStd);
      matrix(`${b}attn_k.weight`, p.dim, kvDim, qkStd);
      matrix(`${b}attn_v.weight`, p.dim, kvDim, inStd);
    }
    bias(`${b}attn_q.bias`, qDim);
    bias(`${b}attn_k.bias`, kvDim);
    bias(`${b}attn_v.bias`, kvDim);
    // qwen3 normalises each head of q and k to rms 1 (times these gains), so they set the scores' spread.
    if (arch === 'qwen3' || arch === 'gemma3') {
      norm(`${b}attn_q_norm.weight`, headDim, 1.25);
      norm(`${b}attn_k_norm.weight`, headDim, 1.25);
    }
    matrix(`${b}attn_output.weight`, qDim, p.dim, 1 / Math.sqrt(qDim));
    bias(`${b}attn_output.bias`, p.dim);
    if (gemma) norm(`${b}post_attention_norm.weight`, p.dim, 1);
    norm(`${b}ffn_norm.weight`, p.dim, 1);
    if (arch === 'phi3') {
      fused(`${b}ffn_up.weight`, p.dim, [[`${b}ffn_gate.weight`, p.ffn, inStd], [`${b}ffn_up.weight`, p.ffn, inStd]]);
    } else {
      matrix(`${b}ffn_gate.weight`, p.dim, p.ffn, inStd);
      matrix(`${b}ffn_up.weight`, p.dim, p.ffn, inStd);
    }
    matrix(`${b}ffn_down.weight`, p.ffn, p.dim, 1 / Math.sqrt(p.ffn));
    bias(`${b}ffn_gate.bias`, p.ffn);
    bias(`${b}ffn_up.bias`, p.ffn);
    bias(`${b}ffn_down.bias`, p.dim);
    if (gemma) norm(`${b}post_ffw_norm.weight`, p.dim, 1);
  }
  norm('output_norm.weight', p.dim, outGain);
  if (!p.tiedOutput) matrix('output.weight', p.dim, p.vocab, outStd);
  return w;
}
