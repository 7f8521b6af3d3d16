#include "matmul.h"

#include <algorithm>

#include "kernels.h"
#include "quant.h"

namespace ringlm {

void MatmulScratch::reserve(int max_tokens, int64_t max_cols) {
  rounded.assign(size_t(max_tokens) * size_t(max_cols), 0.0f);
  quantized.reserve(max_tokens, max_cols);
  kquantized.reserve(max_tokens, max_cols);
  widened.reserve(max_cols);
  wide_rows.assign(size_t(4 * max_cols), 0.0f);
}

uint64_t MatmulScratch::bytes() const {
  return (rounded.size() + wide_rows.size()) * sizeof(float) + quantized.bytes() + kquantized.bytes() +
         widened.values.size() * sizeof(int16_t) +
         widened.scales.size() * sizeof(float);
}

uint64_t MatmulScratch::bytes_for(int max_tokens, int64_t max_cols) {
  const uint64_t tokens = uint64_t(max_tokens), cols = uint64_t(max_cols), blocks = cols / kQ8_0Block + 1;
  return (tokens * cols + 4 * cols) * sizeof(float) +                                                  // rounded, wide_rows
         QuantizedActivations::bytes_for(max_tokens, max_cols) +                                       // quantized
         KActivations::bytes_for(max_tokens, max_cols) +                                               // kquantized
         4 * cols * sizeof(int16_t) + 4 * blocks * sizeof(float);                                      // widened
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

}  // namespace

void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& s) {
  const int64_t n = w.cols;
  switch (w.type) {
    case TensorType::F32:
      float_matmul<float>(w, x, x_stride, n_tokens, y, y_stride, nullptr);
      return;
    case TensorType::F16:
      for (int t = 0; t < n_tokens; t++) round_to_fp16(x + t * x_stride, &s.rounded[size_t(t * n)], n);
      float_matmul<uint16_t>(w, s.rounded.data(), n, n_tokens, y, y_stride, s.wide_rows.data());
      return;
    case TensorType::Q8_0:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      matmul_q8_0(w.data, w.row_bytes, w.rows, s.quantized, s.widened, y, y_stride);
      return;
    case TensorType::Q4_0:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      matmul_q4_0(w.data, w.row_bytes, w.rows, s.quantized, s.widened, y, y_stride);
      return;
    case TensorType::Q5_0:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      matmul_q5_0(w.data, w.row_bytes, w.rows, s.quantized, y, y_stride);
      return;
    case TensorType::Q5_1:
      s.quantized.quantize(x, x_stride, n_tokens, n);
      matmul_q5_1(w.data, w.row_bytes, w.rows, s.quantized, y, y_stride);
      return;
    case TensorType::BF16:
      for (int t = 0; t < n_tokens; t++) {
        for (int64_t i = 0; i < n; i++) s.rounded[size_t(t * n + i)] = bf16_to_fp32(fp32_to_bf16(x[t * x_stride + i]));
      }
      float_matmul<Bf16>(w, s.rounded.data(), n, n_tokens, y, y_stride, s.wide_rows.data());
      return;
    case TensorType::Q4_K:
      s.kquantized.quantize(x, x_stride, n_tokens, n);
      matmul_q4_K(w.data, w.row_bytes, w.rows, s.kquantized, y, y_stride);
      return;
    case TensorType::Q5_K:
      s.kquantized.quantize(x, x_stride, n_tokens, n);
      matmul_q5_K(w.data, w.row_bytes, w.rows, s.kquantized, y, y_stride);
      return;
    case TensorType::Q6_K:
      s.kquantized.quantize(x, x_stride, n_tokens, n);
      matmul_q6_K(w.data, w.row_bytes, w.rows, s.kquantized, y, y_stride);
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
          for (int64_t i = 0; i < n; i++) xr[size_t(i)] = bf16_to_fp32(fp32_to_bf16(xt[i]));
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
