// An independent float64 forward pass of GGUF `llama`, `qwen2`, `qwen3`, `smollm3`, `phi3`, `gemma3` and `gpt2` models, written from
// llama.cpp's GGUF conventions (README "Correctness") and its graphs for these architectures. It is slow and simple on
// purpose: it checks the test models and the conventions (with llama.cpp as the arbiter) without depending on
// ringlm's C++ code.
//
// llama (below), whose rope_freqs.weight, when present, divides pair i's angle by factor i (ggml's rope), and
// whose linear RoPE scaling (rope.scaling.factor; the type is linear unless it says 'none') divides every angle;
// qwen2 = llama + biases on q, k, v, RoPE in the NEOX layout (pairs (i, i + n_rot/2));
// qwen3 = llama with NEOX RoPE, each head of q and k RMS-normed (weights attn_q_norm / attn_k_norm, the model's
// epsilon) before RoPE, head size attention.key_length; smollm3 = llama with no RoPE in layers l, (l+1) % 4 == 0;
// phi3 = llama with NEOX RoPE on the leading rope.dimension_count dims of each head, Q/K/V in one attn_qkv (rows Q,
// K, V) and gate and up in one ffn_up (gate rows first), and LongRoPE where the file has its factor tensors
// (rope_factors_short / rope_factors_long, as rope_freqs: the long ones when the context size exceeds
// rope.scaling.original_context_length, as llama.cpp picks them by its context); every RoPE architecture's rotation
// is multiplied by rope.scaling.attn_factor (default 1), as ggml's rope multiplies cos and sin;
// gemma2 = gemma3 without q/k norms, with attention scores soft-capped after the query scale (attn_logit_softcapping,
// default 50), final soft-capping by default (30), a default window of 4096 over every other layer (pattern 2), the
// local layers turning RoPE like the global ones (base rope.freq_base_swa, default the global base; scaled), the
// output always token_embd, and 1/sqrt(dim/heads) as the query scale at 46 layers;
// gemma3 = qwen3's q/k norms with embeddings times sqrt(dim) (in f32), an RMS norm of each branch's output before the residual add (post_attention_norm,
// post_ffw_norm), x += Wdown (gelu(Wgate h) * Wup h), query scale 1/sqrt(head size) (1/sqrt(dim/heads) at 62
// layers), sliding-window layers (l % period < period - 1; period attention.sliding_window_pattern, default 6)
// whose query at p sees p - sliding_window + 1 .. p, turning RoPE by rope.freq_base_swa (default 10000) unscaled,
// and optional final logit soft-capping;
// gpt2: x = token_embd[token] + position_embd[pos], layernorm(x) = (x - mean) / sqrt(var + eps) * w + b for
// every norm, q|k|v = Wqkv h + bqkv (one matrix, rows Q then K then V), no RoPE, x += Wo att + bo,
// x += Wdown gelu(Wup h + bup) + bdown, with llama.cpp's GELU: the tanh form evaluated on the f16 grid
// (input and result rounded to f16, |x| >= 10 gives 0 or x), as its CPU backend's table does.
//
//   x      = token_embd[token]                                   (row `token` of ne=[dim, vocab])
//   per block:
//     h    = rmsnorm(x) * attn_norm                              rmsnorm(x) = x / sqrt(mean(x^2) + eps)
//     q,k,v = Wq h, Wk h, Wv h                                   (W with ne=[in, out]: y[o] = sum_i W[o*in + i] x[i])
//     rope(q), rope(k): each head's adjacent pairs (2i, 2i+1) turned by pos * base^(-2i / n_rot)
//     head j attends with kv head floor(j / (heads / kvHeads)), scale 1/sqrt(head_dim), causal
//     x   += Wo concat(heads)
//     h    = rmsnorm(x) * ffn_norm
//     x   += Wdown (silu(Wgate h) * Wup h)
//   (each projection plus its bias where the file has one: attn_q/k/v, attn_output, ffn_gate/up/down)
//   logits = Wout (rmsnorm(x) * output_norm), Wout = output.weight or, when absent, token_embd (tied)
//
// Quantized or F16 weights are dequantized to exact values. Activations stay float64 by default; with
// { numerics: 'llamacpp' } each product's input is first rounded the way llama.cpp's CPU backend does it: to f16 for F16 weights, to Q8_0 blocks for Q8_0/Q4_0 weights (x86 rounding:
// q = round-half-even(x * 127/amax), d = f16(amax/127); Q5_0 and Q5_1 weights too, where llama.cpp's Q8_1 adds
// a sum that only rounds differently), to bf16 for BF16 weights, to Q8_K blocks for K-quant weights (per 256:
// iscale = -127/max with max the value of largest magnitude, q = min(127, round-half-even(x * iscale)),
// d = 1/iscale), to f32 for F32 weights. That reproduces llama.cpp to
// ~1e-6 except near ties: these activations come from float64 arithmetic, llama.cpp's from float32, so a value
// within ~1e-6 of a rounding boundary can go the other way (one Q8_0 step moved ~0.01-0.1 of a log-probability
// on the test models; one f16 step far less).

import { readGguf } from './gguf-reader.mjs';
import { GgmlType, bf16BitsToF32, f32ToBf16Bits, f32ToF16Bits, f16BitsToF32 } from '../../tools/gguf/writer.mjs';

/** Loads the weights of a llama, qwen2 or gpt2 GGUF (path or bytes) as float64 arrays. */
export function loadLlamaRef(pathOrBytes) {
  const g = readGguf(pathOrBytes);
  const md = (key) => {
    if (!g.metadata.has(key)) throw new Error(`missing metadata ${key}`);
    return g.metadata.get(key);
  };
  const arch = md('general.architecture');
  const ARCHES = ['llama', 'qwen2', 'qwen3', 'smollm3', 'phi3', 'gemma3', 'gemma2', 'gpt2'];
  const gemma2 = arch === 'gemma2';
  if (!ARCHES.includes(arch)) throw new Error(`architecture ${arch} is not one of ${ARCHES.join(', ')}`);
  // RoPE scaling as llama.cpp reads it: linear unless rope.scaling.type says 'none' (others are not in this
  // reference); the factor divides every angle.
  const scalingType = g.metadata.get(`${arch}.rope.scaling.type`) ?? 'linear';
  if (!['none', 'linear'].includes(scalingType)) throw new Error(`RoPE scaling '${scalingType}' is not in this reference`);
  const scalingFactor = g.metadata.get(`${arch}.rope.scaling.factor`) ?? 0;
  const ropeScale = scalingType === 'none' || scalingFactor === 0 ? 1 : 1 / scalingFactor;
  const dim = md(`${arch}.embedding_length`);
  const heads = md(`${arch}.attention.head_count`);
  const headDim = g.metadata.get(`${arch}.attention.key_length`) ?? dim / heads;
  const config = {
    arch,
    dim,
    layers: md(`${arch}.block_count`),
    ffn: md(`${arch}.feed_forward_length`),
    heads,
    kvHeads: g.metadata.get(`${arch}.attention.head_count_kv`) ?? heads,
    headDim,
    nRot: g.metadata.get(`${arch}.rope.dimension_count`) ?? headDim,
    ropeBase: g.metadata.get(`${arch}.rope.freq_base`) ?? 10000,
    ropeScale,
    rope: { llama: 'adjacent', qwen2: 'neox', qwen3: 'neox', smollm3: 'adjacent', phi3: 'neox', gemma3: 'neox', gemma2: 'neox', gpt2: 'none' }[arch],
    gemma: arch === 'gemma3' || gemma2,
    // gemma3 without a window: all global; gemma2: 4096 when absent. phi3's window is not applied.
    slidingWindow: arch === 'gemma3' || gemma2 ? g.metadata.get(`${arch}.attention.sliding_window`) ?? (gemma2 ? 4096 : 0) : 0,
    attnSoftcap: gemma2 ? g.metadata.get('gemma2.attn_logit_softcapping') ?? 50 : 0,
    ropeAttnFactor: g.metadata.get(`${arch}.rope.scaling.attn_factor`) ?? 1,
    ropeOriginalContext: g.metadata.get(`${arch}.rope.scaling.original_context_length`) ||
      (g.metadata.get(`${arch}.context_length`) ?? 2048),
    swaPeriod: g.metadata.get(`${arch}.attention.sliding_window_pattern`) ?? (gemma2 ? 2 : 6),
    ropeBaseSwa: g.metadata.get(`${arch}.rope.freq_base_swa`) ?? (gemma2 ? g.metadata.get('gemma2.rope.freq_base') ?? 10000 : 10000),
    softcap: g.metadata.get(`${arch}.final_logit_softcapping`) ?? (gemma2 ? 30 : 0),
    noRopeEvery: arch === 'smollm3' ? 4 : 0,
    eps: md(arch === 'gpt2' ? 'gpt2.attention.layer_norm_epsilon' : `${arch}.attention.layer_norm_rms_epsilon`),
    vocab: g.tensors.get('token_embd.weight').ne[1],
  };
  const kvDim = config.kvHeads * config.headDim;
  // Each weight: float64 values tagged with the ggml type they were stored as; Q5_1 weights also keep
  // each block's m (llama.cpp multiplies it by the activations' Q8_1 sum s, see matvec).
  const t = (name) => {
    const info = g.tensors.get(name);
    const w = Object.assign(Float64Array.from(g.values(name)), { ggmlType: info.type });
    if (info.type === GgmlType.Q5_1) {
      const view = new DataView(info.bytes.buffer, info.bytes.byteOffset, info.bytes.byteLength);
      w.q51m = Float64Array.from({ length: info.bytes.byteLength / 24 }, (_, b) => f16BitsToF32(view.getUint16(b * 24 + 2, true)));
    }
    return w;
  };
  const opt = (name) => (g.tensors.has(name) ? t(name) : null);
  const weights = {
    tokenEmbd: t('token_embd.weight'), // (vocab, dim)
    positionEmbd: opt('position_embd.weight'), // (ctx, dim) gpt2
    layers: [],
    outputNorm: t('output_norm.weight'), // (dim)
    outputNormB: opt('output_norm.bias'), // (dim) gpt2
    output: gemma2 ? null : opt('output.weight'), // (vocab, dim) or tied (gemma2 always)
    ropeFreqs: opt('rope_freqs.weight'), // (nRot/2) llama
    ropeFactorsShort: opt('rope_factors_short.weight'), ropeFactorsLong: opt('rope_factors_long.weight'), // (nRot/2) phi3
  };
  // Rows [from, from + n) of a (rows, cols) matrix, keeping its type tag.
  const rows = (m, from, n, cols) => Object.assign(m.slice(from * cols, (from + n) * cols), {
    ggmlType: m.ggmlType, ...(m.q51m && { q51m: m.q51m.slice((from * cols) / 32, ((from + n) * cols) / 32) }),
  });
  for (let l = 0; l < config.layers; l++) {
    const b = `blk.${l}.`;
    const L = {
      attnNorm: t(`${b}attn_norm.weight`), attnNormB: opt(`${b}attn_norm.bias`), // (dim)
      wo: t(`${b}attn_output.weight`), bo: opt(`${b}attn_output.bias`), // (dim, dim), (dim)
      ffnNorm: t(`${b}ffn_norm.weight`), ffnNormB: opt(`${b}ffn_norm.bias`), // (dim)
      wGate: opt(`${b}ffn_gate.weight`), bGate: opt(`${b}ffn_gate.bias`), // (ffn, dim), (ffn) llama, qwen2
      wUp: t(`${b}ffn_up.weight`), bUp: opt(`${b}ffn_up.bias`), // (ffn, dim), (ffn)
      wDown: t(`${b}ffn_down.weight`), bDown: opt(`${b}ffn_down.bias`), // (dim, ffn), (dim)
      attnPostNorm: opt(`${b}post_attention_norm.weight`), ffnPostNorm: opt(`${b}post_ffw_norm.weight`), // gemma3
    };
    if (g.tensors.has(`${b}attn_qkv.weight`)) {
      const qkv = t(`${b}attn_qkv.weight`), bqkv = opt(`${b}attn_qkv.bias`); // (dim + 2 kvDim, dim)
      Object.assign(L, {
        wq: rows(qkv, 0, dim, dim), wk: rows(qkv, dim, kvDim, dim), wv: rows(qkv, dim + kvDim, kvDim, dim),
        bq: bqkv?.slice(0, dim), bk: bqkv?.slice(dim, dim + kvDim), bv: bqkv?.slice(dim + kvDim),
      });
    } else {
      Object.assign(L, {
        wq: t(`${b}attn_q.weight`), wk: t(`${b}attn_k.weight`), wv: t(`${b}attn_v.weight`), // (dim|kvDim, dim)
        bq: opt(`${b}attn_q.bias`), bk: opt(`${b}attn_k.bias`), bv: opt(`${b}attn_v.bias`),
        qNorm: opt(`${b}attn_q_norm.weight`), kNorm: opt(`${b}attn_k_norm.weight`), // (headDim) qwen3
      });
    }
    if (arch === 'phi3') {
      // ffn_up holds the gate rows, then the up rows (ggml_swiglu: silu of the first half times the second).
      const gateUp = L.wUp;
      Object.assign(L, { wGate: rows(gateUp, 0, config.ffn, dim), wUp: rows(gateUp, config.ffn, config.ffn, dim) });
    }
    weights.layers.push(L);
  }
  return { config, weights };
}

function layernorm(x, w, b, eps) {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const scale = 1 / Math.sqrt(variance / n + eps);
  return x.map((v, i) => (v - mean) * scale * w[i] + b[i]);
}

const toF16 = (v) => f16BitsToF32(f32ToF16Bits(v));
const geluExact = (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * v * (1 + 0.044715 * v * v)));
/** llama.cpp's CPU GELU: a table over f16 inputs of f16 results. */
const geluLlamaCpp = (v) => (v <= -10 ? 0 : v >= 10 ? v : toF16(geluExact(toF16(v))));

function rmsnorm(x, w, eps) {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * w[i]);
}

const roundHalfEven = (v) => {
  const r = Math.round(v); // halves go up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** x as llama.cpp feeds it to a product with weights of `ggmlType`. */
function llamaCppInput(x, ggmlType) {
  const f = Math.fround;
  if (ggmlType === GgmlType.F32) return x.map(f);
  if (ggmlType === GgmlType.F16) return x.map((v) => f16BitsToF32(f32ToF16Bits(v)));
  if (ggmlType === GgmlType.BF16) return x.map((v) => bf16BitsToF32(f32ToBf16Bits(v)));
  if ([GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K].includes(ggmlType)) {
    const out = new Float64Array(x.length);
    for (let b = 0; b < x.length; b += 256) {
      let amax = 0, max = 0;
      for (let j = b; j < b + 256; j++) if (Math.abs(f(x[j])) > amax) { amax = Math.abs(f(x[j])); max = f(x[j]); }
      if (amax === 0) continue;
      const iscale = f(-127 / max);
      const d = f(1 / iscale);
      for (let j = b; j < b + 256; j++) out[j] = Math.min(127, roundHalfEven(f(f(x[j]) * iscale))) * d;
    }
    return out;
  }
  if (![GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q5_1].includes(ggmlType)) {
    throw new Error(`no numerics for type ${ggmlType}`);
  }
  const out = new Float64Array(x.length);
  // Q8_1 (for Q5_1): s = f16(d * sum(q)) with d unrounded, where the dequantized values sum to f16(d) * sum(q);
  // sDelta holds s minus that sum per block, for matvec's m * s.
  out.sDelta = new Float64Array(x.length / 32);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let j = b; j < b + 32; j++) amax = Math.max(amax, Math.abs(f(x[j])));
    const d = f16BitsToF32(f32ToF16Bits(f(amax / 127)));
    const id = amax !== 0 ? f(127 / amax) : 0;
    let sum = 0;
    for (let j = b; j < b + 32; j++) {
      const q = roundHalfEven(f(f(x[j]) * id));
      out[j] = q * d;
      sum += q;
    }
    out.sDelta[b / 32] = f16BitsToF32(f32ToF16Bits(f(f(amax / 127) * sum))) - d * sum;
  }
  return out;
}

/** y = W x for W of `rows` rows; `input(x, W)` gives the x that the product sees. */
function matvec(W, xIn, rows, input) {
  const x = input(xIn, W);
  const cols = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) s += W[base + c] * x[c];
    if (W.q51m && x.sDelta) {
      for (let b = 0; b < cols / 32; b++) s += W.q51m[(base / 32) + b] * x.sDelta[b];
    }
    y[r] = s;
  }
  return y;
}

function rope(vec, nHeads, headDim, nRot, pos, base, style, factors, scale, mscale) {
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < nRot / 2; i++) {
      const theta = (scale * pos * Math.pow(base, (-2 * i) / nRot)) / (factors ? factors[i] : 1);
      const c = Math.cos(theta) * mscale, s = Math.sin(theta) * mscale;
      // adjacent: pair (2i, 2i+1); neox: pair (i, i + nRot/2)
      const a = h * headDim + (style === 'neox' ? i : 2 * i);
      const b = style === 'neox' ? a + nRot / 2 : a + 1;
      const x0 = vec[a], x1 = vec[b];
      vec[a] = x0 * c - x1 * s;
      vec[b] = x0 * s + x1 * c;
    }
  }
}

const addBias = (y, b) => (b ? y.map((v, i) => v + b[i]) : y);

const silu = (v) => v / (1 + Math.exp(-v));

/**
 * Raw logits for every position of `tokenIds` (teacher forcing).
 * @param {{numerics?: 'exact'|'llamacpp', gelu?: 'llamacpp'|'exact', contextSize?: number}} [options] gelu: on
 *   llama.cpp's f16 grid (default); contextSize: the context llama.cpp ran with (required for LongRoPE files)
 * @returns {Float64Array} tokenIds.length * vocab
 */
export function llamaRefLogits(model, tokenIds, options = {}) {
  const numerics = options.numerics ?? 'exact';
  if (numerics !== 'exact' && numerics !== 'llamacpp') throw new Error(`unknown numerics ${numerics}`);
  const input = numerics === 'llamacpp' ? (x, W) => llamaCppInput(x, W.ggmlType) : (x) => x;
  const mv = (W, x, rows) => matvec(W, x, rows, input);
  const gelu = (options.gelu ?? 'llamacpp') === 'llamacpp' ? geluLlamaCpp : geluExact;
  const { config: c, weights: w } = model;
  let factors = w.ropeFreqs;
  if (!factors && w.ropeFactorsShort) {
    if (options.contextSize === undefined) throw new Error('a LongRoPE model needs options.contextSize');
    factors = options.contextSize > c.ropeOriginalContext ? w.ropeFactorsLong : w.ropeFactorsShort;
  }
  const norm = c.arch === 'gpt2' ? (x, g, b) => layernorm(x, g, b, c.eps) : (x, g) => rmsnorm(x, g, c.eps);
  const kvDim = c.kvHeads * c.headDim;
  const qDim = c.heads * c.headDim;
  const group = c.heads / c.kvHeads;
  // Each head of v normed by itself, with the head-size weight w.
  const headNorm = (v, w) => {
    const out = new Float64Array(v.length);
    for (let o = 0; o < v.length; o += c.headDim) out.set(rmsnorm(v.subarray(o, o + c.headDim), w, c.eps), o);
    return out;
  };
  const keys = w.layers.map(() => []); // per layer, per position: Float64Array(kvDim)
  const values = w.layers.map(() => []);
  const out = new Float64Array(tokenIds.length * c.vocab);

  tokenIds.forEach((token, pos) => {
    let x = w.tokenEmbd.slice(token * c.dim, (token + 1) * c.dim);
    if (c.gemma) x = x.map((v) => v * Math.fround(Math.sqrt(c.dim)));
    if (w.positionEmbd) x = x.map((v, i) => v + w.positionEmbd[pos * c.dim + i]);
    w.layers.forEach((L, l) => {
      // attention
      const h = norm(x, L.attnNorm, L.attnNormB);
      let q = addBias(mv(L.wq, h, qDim), L.bq);
      let k = addBias(mv(L.wk, h, kvDim), L.bk);
      const v = addBias(mv(L.wv, h, kvDim), L.bv);
      if (L.qNorm) {
        q = headNorm(q, L.qNorm);
        k = headNorm(k, L.kNorm);
      }
      const local = c.slidingWindow > 0 && (c.swaPeriod === 0 || l % c.swaPeriod < c.swaPeriod - 1);
      // gemma3's local layers turn unscaled; gemma2's as the global ones.
      const base = local ? c.ropeBaseSwa : c.ropeBase, ropeScale = local && c.arch === 'gemma3' ? 1 : c.ropeScale;
      if (c.rope !== 'none' && !(c.noRopeEvery && (l + 1) % c.noRopeEvery === 0)) {
        rope(q, c.heads, c.headDim, c.nRot, pos, base, c.rope, factors, ropeScale, c.ropeAttnFactor);
        rope(k, c.kvHeads, c.headDim, c.nRot, pos, base, c.rope, factors, ropeScale, c.ropeAttnFactor);
      }
      const oldest = local ? Math.max(0, pos - c.slidingWindow + 1) : 0;
      const queryScale = c.gemma && c.layers === (c.arch === 'gemma2' ? 46 : 62) ? 1 / Math.sqrt(Math.floor(c.dim / c.heads))
        : 1 / Math.sqrt(c.headDim);
      keys[l].push(k);
      values[l].push(v);
      const att = new Float64Array(qDim);
      for (let head = 0; head < c.heads; head++) {
        const qo = head * c.headDim;
        const ko = Math.floor(head / group) * c.headDim;
        const scores = new Float64Array(pos + 1).fill(-Infinity);
        for (let p = oldest; p <= pos; p++) {
          let s = 0;
          for (let i = 0; i < c.headDim; i++) s += q[qo + i] * keys[l][p][ko + i];
          scores[p] = c.attnSoftcap ? Math.tanh((s * queryScale) / c.attnSoftcap) * c.attnSoftcap : s * queryScale;
        }
        const max = Math.max(...scores);
        let sum = 0;
        for (let p = oldest; p <= pos; p++) sum += (scores[p] = Math.exp(scores[p] - max));
        for (let p = oldest; p <= pos; p++) {
          const a = scores[p] / sum;
          for (let i = 0; i < c.headDim; i++) att[qo + i] += a * values[l][p][ko + i];
        }
      }
      let o = addBias(mv(L.wo, att, c.dim), L.bo);
      if (L.attnPostNorm) o = rmsnorm(o, L.attnPostNorm, c.eps);
      x = x.map((xi, i) => xi + o[i]);

      // feed-forward
      const h2 = norm(x, L.ffnNorm, L.ffnNormB);
      let act;
      if (L.wGate) {
        const gate = addBias(mv(L.wGate, h2, c.ffn), L.bGate);
        const up = addBias(mv(L.wUp, h2, c.ffn), L.bUp);
        act = gate.map((g, i) => (c.gemma ? gelu(g) : silu(g)) * up[i]);
      } else {
        act = addBias(mv(L.wUp, h2, c.ffn), L.bUp).map(gelu);
      }
      let down = addBias(mv(L.wDown, act, c.dim), L.bDown);
      if (L.ffnPostNorm) down = rmsnorm(down, L.ffnPostNorm, c.eps);
      x = x.map((xi, i) => xi + down[i]);
    });
    const xf = norm(x, w.outputNorm, w.outputNormB);
    let logits = mv(w.output ?? w.tokenEmbd, xf, c.vocab);
    if (c.softcap > 0) logits = logits.map((v) => Math.tanh(v / c.softcap) * c.softcap);
    out.set(logits, pos * c.vocab);
  });
  return out;
}
