#include "kernels/matmul.h"

#include <algorithm>

#include "kernels/float_kernels.h"
#include "kernels/quant.h"

namespace ringlm {

void MatmulScratch::reserve(int max_tokens, int64_t max_cols, ThreadPool* thread_pool, int threads) {
  rounded.assign(size_t(max_tokens) * size_t(max_cols), 0.0f);
  quantized.reserve(max_tokens, max_cols);
  kquantized.reserve(max_tokens, max_cols);
  pool = thread_pool;
  if (!pool) threads = 1;
  per_thread.resize(size_t(std::max(1, threads)));
  for (PerThread& t : per_thread) {
    t.widened.reserve(max_cols);
    t.wide_rows.assign(size_t(4 * max_cols), 0.0f);
  }
}

uint64_t MatmulScratch::bytes() const {
  uint64_t b = rounded.size() * sizeof(float) + quantized.bytes() + kquantized.bytes();
  for (const PerThread& t : per_thread) {
    b += t.wide_rows.size() * sizeof(float) + t.widened.values.size() * sizeof(int16_t) + t.widened.scales.size() * sizeof(float);
  }
  return b;
}

uint64_t MatmulScratch::bytes_for(int max_tokens, int64_t max_cols, int threads) {
  const uint64_t tokens = uint64_t(max_tokens), cols = uint64_t(max_cols), blocks = cols / kQ8_0Block + 1;
  const uint64_t per_thread = 4 * cols * sizeof(float) +                                  // wide_rows
                              4 * cols * sizeof(int16_t) + 4 * blocks * sizeof(float);    // widened
  return tokens * cols * sizeof(float) +                                                  // rounded
         QuantizedActivations::bytes_for(max_tokens, max_cols) +                          // quantized
         KActivations::bytes_for(max_tokens, max_cols) +                                  // kquantized
         uint64_t(std::max(1, threads)) * per_thread;
}

namespace {

// Float weights (F32, or F16 converted on load) in tiles of R rows x T tokens; see simd::dot_tile.
// The R rows of a tile are `spread` rows apart. A tile hanging over the last row or token repeats
// it; the repeated results are dropped. `widen`, for F16 in a batch, converts each group of R rows
// to floats once (into `wide`) instead of once per tile: the same values, so the same sums.
template <int R, int T, typename WeightT>
void float_tiles(const Weight& w, const float* x, int64_t x_stride, int n, float* y, int64_t y_stride, bool spread,
                 float* wide) {
  const int64_t step = spread ? (w.rows + R - 1) / R : 1;
  const int64_t groups = spread ? step : (w.rows + R - 1) / R;
  for (int64_t g = 0; g < groups; g++) {
    int64_t index[R];
    const WeightT* row[R];
    for (int r = 0; r < R; r++) {
      index[r] = spread ? g + r * step : g * R + r;
      row[r] = reinterpret_cast<const WeightT*>(w.row(std::min<int64_t>(index[r], w.rows - 1)));
    }
    const float* wide_row[R];
    if (wide) {
      for (int r = 0; r < R; r++) {
        float* out = wide + r * w.cols;
        int64_t i = 0;
        for (; i + simd::W <= w.cols; i += simd::W) simd::load_weights(row[r] + i).store_unaligned(out + i);
        for (; i < w.cols; i++) out[i] = simd::load_weight(row[r] + i);
        wide_row[r] = out;
      }
    }
    for (int t0 = 0; t0 < n; t0 += T) {
      const float* xs[T];
      for (int t = 0; t < T; t++) xs[t] = x + std::min(t0 + t, n - 1) * x_stride;
      float out[R * T];
      if (wide) simd::dot_tile<R, T>(wide_row, xs, w.cols, out);
      else simd::dot_tile<R, T>(row, xs, w.cols, out);
      for (int r = 0; r < R && index[r] < w.rows; r++) {
        for (int t = 0; t < T && t0 + t < n; t++) y[int64_t(t0 + t) * y_stride + index[r]] = out[r * T + t];
      }
    }
  }
}

// Decode: 4 rows a quarter of the matrix apart, one token (four streams from memory at once, and
// four independent sums). Prefill: R x T pairs, as many as the vector registers hold: 4 x 2 needs
// 8 accumulators and 6 loaded vectors, which V8 fits in the 15 registers it gives wasm (3 x 3
// spills). AVX-512 has 32 registers.
constexpr int kDecodeRows = 4;
#if defined(__AVX512F__) && !defined(__EMSCRIPTEN__)
constexpr int kPrefillRows = 4, kPrefillTokens = 4;
#else
constexpr int kPrefillRows = 4, kPrefillTokens = 2;
#endif

template <typename WeightT>
void float_matmul(const Weight& w, const float* x, int64_t x_stride, int n, float* y, int64_t y_stride, float* wide) {
  if (n == 1) float_tiles<kDecodeRows, 1, WeightT>(w, x, x_stride, n, y, y_stride, true, nullptr);
  else float_tiles<kPrefillRows, kPrefillTokens, WeightT>(w, x, x_stride, n, y, y_stride, false, wide);
}

// Runs product(part, y_part, scratch) on ranges of w's rows across the threads: `part` views rows
// [r0, r1) of w and y_part = y + r0. Several chunks per thread, so that a thread the OS pauses holds
// up little; a multiple of 4 rows, the height of the kernels' tiles.
template <typename Product>
void split_rows(const Weight& w, float* y, MatmulScratch& s, Product product) {
  const auto rows = [&](int64_t r0, int64_t r1, int thread) {
    Weight part = w;
    part.data = w.row(r0);
    part.rows = r1 - r0;
    product(part, y + r0, s.per_thread[size_t(thread)]);
  };
  if (!s.pool || s.threads() <= 1) {
    rows(0, w.rows, 0);
    return;
  }
  const int64_t grain = std::max<int64_t>(16, (w.rows / (4 * s.threads()) + 3) / 4 * 4);
  s.pool->parallel_for(w.rows, grain, s.threads(), rows);
}

}  // namespace

void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& s) {
  const int64_t n = w.cols;
  using PerThread = MatmulScratch::PerThread;
  switch (w.type) {
    case TensorType::F32:
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread&) {
        float_matmul<float>(part, x, x_stride, n_tokens, yp, y_stride, nullptr);
      });
      return;
    case TensorType::F16:
      for (int t = 0; t < n_tokens; t++) round_to_fp16(x + t * x_stride, &s.rounded[size_t(t * n)], n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread& own) {
        float_matmul<uint16_t>(part, s.rounded.data(), n, n_tokens, yp, y_stride, own.wide_rows.data());
      });
      return;
    case TensorType::Q8_0:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread& own) {
        matmul_q8_0(part.data, part.row_bytes, part.rows, s.quantized, own.widened, yp, y_stride);
      });
      return;
    case TensorType::Q4_0:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread& own) {
        matmul_q4_0(part.data, part.row_bytes, part.rows, s.quantized, own.widened, yp, y_stride);
      });
      return;
    case TensorType::Q5_0:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread&) {
        matmul_q5_0(part.data, part.row_bytes, part.rows, s.quantized, yp, y_stride);
      });
      return;
    case TensorType::Q5_1:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread&) {
        matmul_q5_1(part.data, part.row_bytes, part.rows, s.quantized, yp, y_stride);
      });
      return;
    case TensorType::BF16:
      for (int t = 0; t < n_tokens; t++) round_to_bf16(x + t * x_stride, &s.rounded[size_t(t * n)], n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread& own) {
        float_matmul<Bf16>(part, s.rounded.data(), n, n_tokens, yp, y_stride, own.wide_rows.data());
      });
      return;
    case TensorType::Q4_K:
      s.kquantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread&) {
        matmul_q4_K(part.data, part.row_bytes, part.rows, s.kquantized, yp, y_stride);
      });
      return;
    case TensorType::Q5_K:
      s.kquantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread&) {
        matmul_q5_K(part.data, part.row_bytes, part.rows, s.kquantized, yp, y_stride);
      });
      return;
    case TensorType::Q6_K:
      s.kquantized.quantize(x, x_stride, n_tokens, n);
      split_rows(w, y, s, [&](const Weight& part, float* yp, PerThread&) {
        matmul_q6_K(part.data, part.row_bytes, part.rows, s.kquantized, yp, y_stride);
      });
      return;
    default:
      return;  // the loader admits only the types above
  }
}

void matmul_reference(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride) {
  const int64_t n = w.cols;
  std::vector<float> xr(static_cast<size_t>(n)), row(static_cast<size_t>(n));
  std::vector<BlockQ8_0> xq(static_cast<size_t>(n / kQ8_0Block + 1));
  std::vector<BlockQ8_1> x1(static_cast<size_t>(n / kQ8_0Block + 1));
  std::vector<BlockQ8_K> xk(static_cast<size_t>(n / kQK + 1));
  for (int t = 0; t < n_tokens; t++) {
    const float* xt = x + t * x_stride;
    for (int64_t r = 0; r < w.rows; r++) {
      float v = 0.0f;
      switch (w.type) {
        case TensorType::F16:
          round_to_fp16(xt, xr.data(), n);
          dequantize_row(w.type, w.row(r), row.data(), n);
          v = ref::dot(row.data(), xr.data(), n);
          break;
        case TensorType::Q8_0:
          quantize_row_q8_0(xt, xq.data(), n);
          v = ref::dot_q8_0(reinterpret_cast<const BlockQ8_0*>(w.row(r)), xq.data(), n / kQ8_0Block);
          break;
        case TensorType::Q4_0:
          quantize_row_q8_0(xt, xq.data(), n);
          v = ref::dot_q4_0(reinterpret_cast<const BlockQ4_0*>(w.row(r)), xq.data(), n / kQ8_0Block);
          break;
        case TensorType::Q5_0:
          quantize_row_q8_0(xt, xq.data(), n);
          v = ref::dot_q5_0(reinterpret_cast<const BlockQ5_0*>(w.row(r)), xq.data(), n / kQ8_0Block);
          break;
        case TensorType::Q5_1:
          quantize_row_q8_1(xt, x1.data(), n);
          v = ref::dot_q5_1(reinterpret_cast<const BlockQ5_1*>(w.row(r)), x1.data(), n / kQ8_0Block);
          break;
        case TensorType::BF16:
          round_to_bf16(xt, xr.data(), n);
          dequantize_row(w.type, w.row(r), row.data(), n);
          v = ref::dot(row.data(), xr.data(), n);
          break;
        case TensorType::Q4_K:
          quantize_row_q8_K(xt, xk.data(), n);
          v = ref::dot_q4_K(reinterpret_cast<const BlockQ4_K*>(w.row(r)), xk.data(), n / kQK);
          break;
        case TensorType::Q5_K:
          quantize_row_q8_K(xt, xk.data(), n);
          v = ref::dot_q5_K(reinterpret_cast<const BlockQ5_K*>(w.row(r)), xk.data(), n / kQK);
          break;
        case TensorType::Q6_K:
          quantize_row_q8_K(xt, xk.data(), n);
          v = ref::dot_q6_K(reinterpret_cast<const BlockQ6_K*>(w.row(r)), xk.data(), n / kQK);
          break;
        default:
          dequantize_row(w.type, w.row(r), row.data(), n);
          v = ref::dot(row.data(), xt, n);
          break;
      }
      y[t * y_stride + r] = v;
    }
  }
}

}  // namespace ringlm
