#include "model/transformer.h"

#include <cstdint>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <utility>

#include "kernels/float_kernels.h"

namespace ringlm {

AllocationPlan AllocationPlan::make(const Config& c, int context_size, int max_batch, int threads) {
  AllocationPlan p;
  p.context_size = context_size;
  p.max_batch = max_batch;
  p.threads = threads;
  const size_t B = size_t(max_batch), slots = size_t(KvCache::slots_for(context_size, max_batch));
  p.kv_bytes = KvCache::bytes_for(c.n_layers, context_size, c.kv_dim(), max_batch);
  p.x = p.xn = p.proj = B * size_t(c.dim);
  p.q = p.att_out = B * size_t(c.q_dim());
  p.k = p.v = B * size_t(c.kv_dim());
  p.gate = p.up = B * size_t(c.ffn_dim);
  // Sliding-window layers turn by their own base: a second set of angles after the first.
  p.rope = p.anchor_rope = B * size_t(c.rope_dims) * (c.sliding_window > 0 ? 2 : 1);
  p.anchor_q = size_t(threads) * size_t(c.head_dim);
  p.scores = size_t(threads) * slots;
  p.slots = p.rerun_tokens = B;
  p.matmul_cols = std::max({int64_t(c.dim), int64_t(c.q_dim()), int64_t(c.ffn_dim)});
  return p;
}

uint64_t AllocationPlan::scratch_bytes() const {
  const size_t floats = x + xn + q + k + v + att_out + proj + gate + up + rope + anchor_rope + anchor_q + scores;
  return uint64_t(floats) * sizeof(float) + uint64_t(slots + rerun_tokens) * sizeof(int32_t) +
         MatmulScratch::bytes_for(max_batch, matmul_cols, threads);
}

Status Transformer::init(const Model* model, const AllocationPlan& plan, ThreadPool* pool) {
  const int context_size = plan.context_size, max_batch = plan.max_batch;
  if (max_batch <= 0) return Status::error("prefill batch size must be positive");
  if (model->arch->learned_positions && context_size > model->config.context_length) {
    // Kept positions run up to context_size - 1, and each reads a row of position_embd.
    return Status::error("contextSize " + std::to_string(context_size) + " is larger than the " +
                         std::to_string(model->config.context_length) + " positions this " + model->config.architecture +
                         " model has learned (position_embd rows)");
  }
  model_ = model;
  max_batch_ = max_batch;
  pool_ = pool;
  if (plan.threads < 1 || plan.threads > (pool ? pool->size() : 1)) {
    return Status::error("the allocation plan is for " + std::to_string(plan.threads) + " threads, but " +
                         std::to_string(pool ? pool->size() : 1) + " are available");
  }
  threads_ = plan.threads;
  rope_factors_ = model->rope_factors(context_size);
  const Config& c = model->config;
  RINGLM_TRY(cache_.allocate(c.n_layers, context_size, c.kv_dim(), max_batch));
  const std::pair<std::vector<float>*, size_t> buffers[] = {
      {&x_, plan.x},       {&xn_, plan.xn},     {&q_, plan.q},       {&k_, plan.k},
      {&v_, plan.v},       {&att_out_, plan.att_out}, {&proj_, plan.proj}, {&gate_, plan.gate},
      {&up_, plan.up},     {&rope_, plan.rope}, {&anchor_rope_, plan.anchor_rope},
      {&anchor_q_, plan.anchor_q}, {&scores_, plan.scores}};
  for (const auto& [buffer, size] : buffers) buffer->assign(size, 0.0f);
  slots_.assign(plan.slots, -1);
  rerun_tokens_.assign(plan.rerun_tokens, 0);
  mm_.reserve(max_batch, plan.matmul_cols, threads_);
  governor_.init(pool_ ? threads_ : 1, c.n_layers);
  return Status();
}

uint64_t Transformer::scratch_bytes() const {
  const size_t floats = x_.size() + xn_.size() + q_.size() + k_.size() + v_.size() + att_out_.size() + proj_.size() +
                        gate_.size() + up_.size() + rope_.size() + anchor_rope_.size() + anchor_q_.size() +
                        scores_.size();
  return uint64_t(floats) * sizeof(float) + uint64_t(slots_.size() + rerun_tokens_.size()) * sizeof(int32_t) +
         mm_.bytes();
}

Status Transformer::check_tokens(const int32_t* tokens, int n, int32_t pos) const {
  if (n <= 0) return Status::error("no tokens to process");
  if (pos != cache_.next_position()) {
    return Status::error("position " + std::to_string(pos) + " is not the cache's next position " +
                         std::to_string(cache_.next_position()));
  }
  const int vocab = model_->config.vocab_size;
  for (int i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return Status::error("token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                           " is out of range (vocabulary size " + std::to_string(vocab) + ")");
    }
  }
  if (!cache_.fits(n)) {
    return Status::error("context full: " + std::to_string(n) + " more tokens do not fit (" + std::to_string(pos) +
                         " of " + std::to_string(cache_.capacity()) + " tokens used)");
  }
  if (pos > INT32_MAX - n) return Status::error("position overflow: the stream passed 2^31 tokens; reset first");
  return Status();
}

Status Transformer::prefill(const int32_t* tokens, int n, int32_t pos, float* logits, bool all_logits) {
  RINGLM_TRY(check_tokens(tokens, n, pos));
  const int64_t vocab = model_->config.vocab_size;
  for (int done = 0; done < n;) {
    // The cache decides how much fits before its policy must act again (a context shift).
    const int m = make_room(std::min(max_batch_, n - done));
    const bool last_chunk = done + m == n;
    if (all_logits) {
      forward(tokens + done, m, pos + done, 0, logits + int64_t(done) * vocab);
    } else {
      forward(tokens + done, m, pos + done, last_chunk ? m - 1 : m, logits);
    }
    done += m;
  }
  return Status();
}

Status Transformer::decode(int32_t token, int32_t pos, float* logits) {
  RINGLM_TRY(check_tokens(&token, 1, pos));
  make_room(1);
  forward(&token, 1, pos, 0, logits);
  return Status();
}

int Transformer::make_room(int n) {
  const int64_t dropped = cache_.dropped();
  const int m = cache_.make_room(n);
  if (model_->arch->learned_positions && cache_.dropped() != dropped) rerun_window();
  return m;
}

// A shift moved every window token's kept position; with learned positions that position is in all
// of its K/V, so the window is run again at the new positions (anchors stay: theirs did not move).
void Transformer::rerun_window() {
  const int32_t end = cache_.next_position();
  for (int32_t p = cache_.window_start(end); p < end;) {
    const int m = int(std::min<int32_t>(max_batch_, end - p));
    for (int i = 0; i < m; i++) rerun_tokens_[size_t(i)] = cache_.token(cache_.slot_of(p + i));
    forward(rerun_tokens_.data(), m, p, m, nullptr, true);
    p += m;
  }
}

void Transformer::norm(const Weight& w, const Weight& b, int t) {
  const Config& c = model_->config;
  const int64_t dim = c.dim;
  const float* wf = reinterpret_cast<const float*>(w.data);
  if (model_->arch->norm == NormKind::Layer) {
    simd::layernorm(&xn_[size_t(t * dim)], &x_[size_t(t * dim)], wf, reinterpret_cast<const float*>(b.data), dim, c.norm_eps);
  } else {
    simd::rmsnorm(&xn_[size_t(t * dim)], &x_[size_t(t * dim)], wf, dim, c.norm_eps);
  }
}

namespace {
// y += b for one row y; nothing when the file has no such bias.
void add_bias(const Weight& b, float* y) {
  if (b.data) simd::add(reinterpret_cast<const float*>(b.data), y, b.cols);
}

// A row of `dim` floats RMS-normed in place with weight w, if the file has w (Gemma's norms after a branch).
void row_rmsnorm(const Weight& w, float* x, int64_t dim, float eps) {
  if (w.data) simd::rmsnorm(x, x, reinterpret_cast<const float*>(w.data), dim, eps);
}

// fn(t) for each token t < n, the tokens split across `threads` when there are enough of them
// (Threads::for_rows: `values` per token says how much work a token is). Every step a token goes
// through reads and writes that token's rows alone, computed as on one thread: same bits.
template <typename Fn>
void for_tokens(Threads threads, int n, int64_t values, const Fn& fn) {
  threads.for_rows(n, values, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; t++) fn(int(t));
  });
}

// Each of `heads` consecutive vectors of head_dim floats, RMS-normed in place with weight w.
void head_rmsnorm(const Weight& w, float* x, int64_t heads, int head_dim, float eps) {
  const float* wf = reinterpret_cast<const float*>(w.data);
  for (int64_t h = 0; h < heads; h++) simd::rmsnorm(x + h * head_dim, x + h * head_dim, wf, head_dim, eps);
}
}  // namespace

void Transformer::forward(const int32_t* tokens, int n, int32_t pos0, int first_logit, float* logits, bool rerun) {
  const Model& m = *model_;
  const Config& c = m.config;
  const ArchTraits& arch = *m.arch;
  const int64_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), ffn = c.ffn_dim;
  const bool rope = arch.rope != RopeStyle::None;
  const auto rotate = arch.rope == RopeStyle::Neox ? rope_rotate_neox : rope_rotate;

  // Embed each token and give it a cache slot. Positions enter either as a learned row added here,
  // at the token's kept position, or as RoPE angles computed once for all layers: at its position,
  // and from there back to its kept position for the anchors (see kv_cache.h).
  for (int t = 0; t < n; t++) {
    dequantize_row(m.token_embd.type, m.token_embd.row(tokens[t]), &x_[size_t(t * dim)], dim);
    if (c.embed_scale != 1.0f) {
      for (int64_t i = 0; i < dim; i++) x_[size_t(t * dim + i)] *= c.embed_scale;
    }
    const int32_t pos = pos0 + t;
    slots_[size_t(t)] = rerun ? cache_.slot_of(pos) : cache_.append(tokens[t]);
    if (arch.learned_positions) {
      float* row = &xn_[size_t(t * dim)];
      dequantize_row(m.position_embd.type, m.position_embd.row(cache_.kept_position(pos)), row, dim);
      simd::add(row, &x_[size_t(t * dim)], dim);
    }
    if (rope) {
      // The attention factor scales a query or key once, where it is rotated at its position; the anchors'
      // extra turn (from a position to its kept position) is a pure rotation.
      const float* factors = rope_factors_;  // null: all 1
      const float mscale = c.rope_attn_factor;
      rope_angles(&rope_[size_t(t * c.rope_dims)], c.rope_dims, float(pos), c.rope_base, c.rope_scale, factors, mscale);
      rope_angles(&anchor_rope_[size_t(t * c.rope_dims)], c.rope_dims, float(cache_.anchor_shift(pos)), c.rope_base,
                  c.rope_scale, factors);
      if (c.sliding_window > 0) {
        const size_t local = local_rope_offset() + size_t(t * c.rope_dims);
        rope_angles(&rope_[local], c.rope_dims, float(pos), c.rope_base_swa, c.rope_scale_swa, factors, mscale);
        rope_angles(&anchor_rope_[local], c.rope_dims, float(cache_.anchor_shift(pos)), c.rope_base_swa, c.rope_scale_swa, factors);
      }
    }
  }

  governor_.begin_pass(n);
  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights& L = m.layers[size_t(l)];
    const auto layer_start = std::chrono::steady_clock::now();
    // Every parallel step of this layer runs on the threads the governor picks for it. Between the
    // products, each token's own steps (norms, biases, RoPE, SwiGLU, the residual adds) are split
    // across them by tokens too: in prefill they would otherwise be the caller's alone.
    const Threads threads{pool_, governor_.layer_threads(l)};

    // Attention: x += wo · attention(rope(wq·norm(x) + bq), rope(wk·norm(x) + bk), wv·norm(x) + bv) + bo,
    // with each head of q and k RMS-normed before RoPE where the architecture says so (qk_norm), and
    // no RoPE at all in the layers it leaves out.
    // q, k and v are one split across the threads (as are gate and up below): one wait, not three.
    for_tokens(threads, n, dim, [&](int t) { norm(L.attn_norm, L.attn_norm_b, t); });
    const MatmulOutput qkv[] = {{&L.wq, q_.data(), q_dim}, {&L.wk, k_.data(), kv_dim}, {&L.wv, v_.data(), kv_dim}};
    matmul_many(qkv, 3, xn_.data(), dim, n, mm_, threads);
    const bool rope_here = c.rope_in_layer(l);
    const size_t rope_offset = c.local_layer(l) ? local_rope_offset() : 0;
    for_tokens(threads, n, q_dim + 2 * kv_dim, [&](int t) {
      float *q = &q_[size_t(t * q_dim)], *k = &k_[size_t(t * kv_dim)], *v = &v_[size_t(t * kv_dim)];
      add_bias(L.bq, q);
      add_bias(L.bk, k);
      add_bias(L.bv, v);
      if (L.q_norm.data) {
        head_rmsnorm(L.q_norm, q, c.n_heads, c.head_dim, c.norm_eps);
        head_rmsnorm(L.k_norm, k, c.n_kv_heads, c.head_dim, c.norm_eps);
      }
      if (rope_here) {
        const float* angles = &rope_[rope_offset + size_t(t * c.rope_dims)];
        rotate(q, c.n_heads, c.head_dim, c.rope_dims, angles);
        rotate(k, c.n_kv_heads, c.head_dim, c.rope_dims, angles);
      }
      std::copy_n(k, kv_dim, cache_.key(l, slots_[size_t(t)]));
      std::copy_n(v, kv_dim, cache_.value(l, slots_[size_t(t)]));
    });
    // All of the batch's keys are in the cache before any token attends: the position mask,
    // not the order of writes, keeps attention causal. Each (token, head) pair is independent.
    threads.parallel_for(int64_t(n) * c.n_heads, 1, [&](int64_t begin, int64_t end, int thread) {
      for (int64_t i = begin; i < end; i++) {
        const int t = int(i / c.n_heads);
        attention(l, t, int(i % c.n_heads), pos0 + t, thread);
      }
    });
    matmul(L.wo, att_out_.data(), q_dim, n, proj_.data(), dim, mm_, threads);
    // x += the branch, then the feed-forward's norm, token by token.
    for_tokens(threads, n, dim, [&](int t) {
      float* p = &proj_[size_t(t * dim)];
      add_bias(L.bo, p);
      row_rmsnorm(L.attn_post_norm, p, dim, c.norm_eps);
      simd::add(p, &x_[size_t(t * dim)], dim);
      norm(L.ffn_norm, L.ffn_norm_b, t);
    });

    // Feed-forward: x += w_down · (silu(w_gate·norm(x) + b_gate) * (w_up·norm(x) + b_up)) + b_down
    //           or  x += w_down · (gelu(w_gate·norm(x)) * (w_up·norm(x)))  (GeGLU, Gemma)
    //           or  x += w_down · gelu(w_up·norm(x) + b_up) + b_down      (each bias only if the file has it)
    const MatmulOutput gate_up[] = {{&L.w_gate, gate_.data(), ffn}, {&L.w_up, up_.data(), ffn}};
    if (arch.ffn == FfnKind::SwiGLU || arch.ffn == FfnKind::SwiGLUFused) {  // gate and up fused or not
      matmul_many(gate_up, 2, xn_.data(), dim, n, mm_, threads);
      for_tokens(threads, n, ffn, [&](int t) {
        float *g = &gate_[size_t(t * ffn)], *u = &up_[size_t(t * ffn)];
        add_bias(L.b_gate, g);
        add_bias(L.b_up, u);
        simd::swiglu(g, u, ffn);
      });
    } else if (arch.ffn == FfnKind::GeGLU) {
      matmul_many(gate_up, 2, xn_.data(), dim, n, mm_, threads);
      for_tokens(threads, n, ffn, [&](int t) {
        float* g = &gate_[size_t(t * ffn)];
        const float* u = &up_[size_t(t * ffn)];
        simd::gelu(g, ffn);
        for (int64_t i = 0; i < ffn; i++) g[i] *= u[i];
      });
    } else {
      matmul(L.w_up, xn_.data(), dim, n, gate_.data(), ffn, mm_, threads);
      for_tokens(threads, n, ffn, [&](int t) {
        float* g = &gate_[size_t(t * ffn)];
        add_bias(L.b_up, g);
        simd::gelu(g, ffn);
      });
    }
    matmul(L.w_down, gate_.data(), ffn, n, proj_.data(), dim, mm_, threads);
    for_tokens(threads, n, dim, [&](int t) {
      float* p = &proj_[size_t(t * dim)];
      add_bias(L.b_down, p);
      row_rmsnorm(L.ffn_post_norm, p, dim, c.norm_eps);
      simd::add(p, &x_[size_t(t * dim)], dim);
    });
    governor_.layer_done(l, std::chrono::duration<double>(std::chrono::steady_clock::now() - layer_start).count());
  }

  // Logits, only for the tokens the caller wants, on the threads the governor chose for the pass.
  if (first_logit >= n) return;
  const Threads threads{pool_, governor_.threads()};
  for_tokens(threads, n - first_logit, dim, [&](int t) { norm(m.output_norm, m.output_norm_b, first_logit + t); });
  const int64_t vocab = c.vocab_size;
  matmul(m.output, &xn_[size_t(first_logit * dim)], dim, n - first_logit, logits, vocab, mm_, threads);
  for_tokens(threads, n - first_logit, vocab, [&](int t) {
    float* row = logits + t * vocab;
    add_bias(m.output_b, row);
    if (c.final_softcap > 0) {
      const float inv = 1.0f / c.final_softcap;
      for (int64_t i = 0; i < vocab; i++) row[i] = std::tanh(row[i] * inv) * c.final_softcap;
    }
  });
}

void Transformer::attention(int layer, int t, int h, int32_t pos, int thread) {
  const Config& c = model_->config;
  const int hd = c.head_dim;
  const int group = c.n_heads / c.n_kv_heads;  // query heads sharing one KV head
  const float scale = c.query_scale;
  const int64_t q_dim = c.q_dim();
  float* scores = &scores_[size_t(thread) * size_t(cache_.slots())];
  // What this query sees: the anchors [0, n_anchors) and the window [window_start, pos]; in a
  // sliding-window layer only those of them at logical positions pos - sliding_window + 1 and later,
  // whatever the cache keeps.
  const bool local = c.local_layer(layer);
  const int32_t oldest = local ? std::max(0, pos - c.sliding_window + 1) : 0;
  const int32_t n_anchors = std::min(cache_.anchors(), pos + 1);
  const int32_t first_anchor = std::min(oldest, n_anchors);
  const int32_t first = std::max({cache_.window_start(pos), n_anchors, oldest});
  const int n_seen = int(n_anchors - first_anchor + std::max(0, pos + 1 - first));
  const float* qh = &q_[size_t(t * q_dim + h * hd)];
  const float* aqh = qh;  // the query rotated for the anchors (see kv_cache.h), when that differs
  const RopeStyle rope = model_->arch->rope;
  if (c.rope_in_layer(layer) && cache_.anchor_shift(pos) != 0) {
    float* rotated = &anchor_q_[size_t(thread) * size_t(hd)];
    std::copy_n(qh, hd, rotated);
    const auto rotate = rope == RopeStyle::Neox ? rope_rotate_neox : rope_rotate;
    rotate(rotated, 1, hd, c.rope_dims, &anchor_rope_[(local ? local_rope_offset() : 0) + size_t(t * c.rope_dims)]);
    aqh = rotated;
  }
  const int kv_off = (h / group) * hd;
  int i = 0;
  for (int32_t p = first_anchor; p < n_anchors; p++) scores[i++] = simd::dot(aqh, cache_.key(layer, cache_.slot_of(p)) + kv_off, hd) * scale;
  for (int32_t p = first; p <= pos; p++) scores[i++] = simd::dot(qh, cache_.key(layer, cache_.slot_of(p)) + kv_off, hd) * scale;
  if (c.attn_softcap > 0) {  // Gemma 2: the scaled scores squeezed into (-cap, cap) before the softmax
    const float inv = 1.0f / c.attn_softcap;
    for (int j = 0; j < n_seen; j++) scores[j] = std::tanh(scores[j] * inv) * c.attn_softcap;
  }
  simd::softmax(scores, n_seen);
  float* oh = &att_out_[size_t(t * q_dim + h * hd)];
  std::fill_n(oh, hd, 0.0f);
  i = 0;
  for (int32_t p = first_anchor; p < n_anchors; p++) simd::axpy(scores[i++], cache_.value(layer, cache_.slot_of(p)) + kv_off, oh, hd);
  for (int32_t p = first; p <= pos; p++) simd::axpy(scores[i++], cache_.value(layer, cache_.slot_of(p)) + kv_off, oh, hd);
}
}  // namespace ringlm
