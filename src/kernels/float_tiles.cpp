// The tile kernels of the float weight types (F32, F16, BF16): simd::dot_tile on the rows as stored,
// against float activations (F16 / BF16: rounded to f16 / bf16 first, as llama.cpp does). See tile.h.
#include "kernels/float_kernels.h"
#include "kernels/tile.h"

namespace ringlm {

namespace {

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

template <int R, int T, typename WeightT>
void float_tile(const uint8_t* const* rows, const Activations& x, int t0, float* out) {
  const WeightT* w[R];
  for (int r = 0; r < R; r++) w[r] = reinterpret_cast<const WeightT*>(rows[r]);
  const float* xs[T];
  for (int t = 0; t < T; t++) xs[t] = x.floats + x.token(t0, t) * x.stride;
  simd::dot_tile<R, T>(w, xs, x.cols, out);
}

// F16 / BF16 in a batch: each group of rows is converted to floats once instead of once per tile.
// The same values, so the same sums.
template <typename WeightT>
void widen_to_floats(const uint8_t* const* rows, int64_t cols, uint8_t* scratch, const uint8_t** widened) {
  for (int r = 0; r < kPrefillRows; r++) {
    const WeightT* row = reinterpret_cast<const WeightT*>(rows[r]);
    float* out = reinterpret_cast<float*>(scratch) + r * cols;
    int64_t i = 0;
    for (; i + simd::W <= cols; i += simd::W) simd::load_weights(row + i).store_unaligned(out + i);
    for (; i < cols; i++) out[i] = simd::load_weight(row + i);
    widened[r] = reinterpret_cast<const uint8_t*>(out);
  }
}

uint64_t float_rows_bytes(int64_t cols) { return uint64_t(kPrefillRows) * uint64_t(cols) * sizeof(float); }

}  // namespace

constexpr int R = kPrefillRows, T = kPrefillTokens;
const TileKernel kF32Decode = tile_kernel<kDecodeRows, 1, float_tile<kDecodeRows, 1, float>>();
const TileKernel kF32Prefill = tile_kernel<R, T, float_tile<R, T, float>>();
const TileKernel kF16Decode = tile_kernel<kDecodeRows, 1, float_tile<kDecodeRows, 1, uint16_t>>();
const TileKernel kF16Prefill = tile_kernel<R, T, float_tile<R, T, float>, widen_to_floats<uint16_t>>(float_rows_bytes);
const TileKernel kBF16Decode = tile_kernel<kDecodeRows, 1, float_tile<kDecodeRows, 1, Bf16>>();
const TileKernel kBF16Prefill = tile_kernel<R, T, float_tile<R, T, float>, widen_to_floats<Bf16>>(float_rows_bytes);

}  // namespace ringlm
