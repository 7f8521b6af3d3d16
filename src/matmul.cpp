#include "matmul.h"

#include "kernels.h"
#include "quant.h"

namespace ringlm {

void MatmulScratch::reserve(int max_tokens, int64_t max_cols) {
  rounded.assign(size_t(max_tokens) * size_t(max_cols), 0.0f);
  blocks.assign(size_t(max_tokens) * size_t(max_cols / kQ8_0Block + 1), BlockQ8_0{});
}

namespace {

// The kernel for one weight type, applied row by row; `dot(row, t)` is the row-times-token dot.
template <typename Dot>
void rows_times_tokens(const Weight& w, int n_tokens, float* y, int64_t y_stride, Dot dot) {
  for (int64_t r = 0; r < w.rows; r++) {
    const uint8_t* row = w.row(r);
    for (int t = 0; t < n_tokens; t++) y[t * y_stride + r] = dot(row, t);
  }
}

}  // namespace

void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& s) {
  const int64_t n = w.cols;
  switch (w.type) {
    case TensorType::F32:
      rows_times_tokens(w, n_tokens, y, y_stride, [&](const uint8_t* row, int t) {
        return simd::dot(reinterpret_cast<const float*>(row), x + t * x_stride, n);
      });
      return;
    case TensorType::F16: {
      for (int t = 0; t < n_tokens; t++) round_to_fp16(x + t * x_stride, &s.rounded[size_t(t * n)], n);
      rows_times_tokens(w, n_tokens, y, y_stride, [&](const uint8_t* row, int t) {
        return simd::dot_f16(reinterpret_cast<const uint16_t*>(row), &s.rounded[size_t(t * n)], n);
      });
      return;
    }
    case TensorType::Q8_0:
    case TensorType::Q4_0: {
      const int64_t nb = n / kQ8_0Block;
      for (int t = 0; t < n_tokens; t++) quantize_row_q8_0(x + t * x_stride, &s.blocks[size_t(t * nb)], n);
      if (w.type == TensorType::Q8_0) {
        rows_times_tokens(w, n_tokens, y, y_stride, [&](const uint8_t* row, int t) {
          return simd::dot_q8_0(reinterpret_cast<const BlockQ8_0*>(row), &s.blocks[size_t(t * nb)], nb);
        });
      } else {
        rows_times_tokens(w, n_tokens, y, y_stride, [&](const uint8_t* row, int t) {
          return simd::dot_q4_0(reinterpret_cast<const BlockQ4_0*>(row), &s.blocks[size_t(t * nb)], nb);
        });
      }
      return;
    }
    default:
      return;  // the loader admits only the types above
  }
}

void matmul_reference(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride) {
  const int64_t n = w.cols;
  std::vector<float> xr(static_cast<size_t>(n)), row(static_cast<size_t>(n));
  std::vector<BlockQ8_0> xq(static_cast<size_t>(n / kQ8_0Block + 1));
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
