// tile.h — the one tiling loop of matmul (matmul.cpp), and its contract with each weight type's kernels.
//
// y = W x is cut into tiles of R weight rows x T tokens; each tile goes to the weight type's tile
// kernel, which computes the R x T dot products of its rows with the prepared activations. The
// loop owns everything around a tile: which rows and tokens it covers, repeating the last row or
// token where a tile hangs over the edge (and dropping those results), writing y; matmul splits the
// rows across threads. A kernel only does arithmetic, so one loop serves every type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ringlm {

class QuantizedActivations;
class KActivations;

// The activations of one product (n_tokens vectors of `cols` values), prepared once per call in the
// form the weight type's kernels read. Only the member of that form is set.
struct Activations {
  int n_tokens = 0;
  int64_t cols = 0;
  const float* floats = nullptr;             // float forms: token t at floats + t * stride
  int64_t stride = 0;
  const QuantizedActivations* q8 = nullptr;  // Q8_0 blocks (with Q8_1's sums)
  const KActivations* q8k = nullptr;         // Q8_K blocks

  // Token t of a tile starting at t0; a tile hanging over the last token repeats it.
  int token(int t0, int t) const { return std::min(t0 + t, n_tokens - 1); }
};

// The kernels of one weight type for one shape of tile, run over a range of rows by the tiling loop.
struct TileKernel {
  int rows;    // R: weight rows per tile
  int tokens;  // T: tokens per tile
  // Bytes of per-thread scratch the kernel widens a group of rows into (0: none); see for_each_tile.
  uint64_t (*widened_bytes)(int64_t cols);
  // for_each_tile with this kernel: y[t * y_stride + r] for the `rows` rows at w (row_bytes apart).
  void (*run)(const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols, const Activations& x, float* y,
              int64_t y_stride, bool spread, uint8_t* widen_scratch);
};

// The tiling loop: every row and token in tiles of R rows x T tokens, results to y.
//
//   Tile(rows, x, t0, out)  writes out[r * T + t] = dot(rows[r], token x.token(t0, t)) for r < R,
//                           t < T. Each (row, token) result must not depend on t0 or on the tile's
//                           other rows and tokens: that is what makes decode and a batched prefill
//                           give the same bits.
//   Widen(rows, cols, scratch, widened)  (or nullptr) converts a group's R rows once, before all its
//                           tiles, into `scratch`, and points widened[0..R-1] at what Tile then reads
//                           instead of the stored rows.
//
// Decode (`spread`) takes a tile's R rows (rows / R) apart: R distant parts of the matrix stream in
// at once, faster than one part. A batch takes neighbouring rows and runs every token through them
// while they are in cache. A tile hanging over the last row or token repeats it; the repeated
// results are dropped. A template, so that each kernel is inlined into it: called through a
// pointer per tile, the loop cost 4-9% more instructions in decode.
template <int R, int T, auto Tile, auto Widen>
void for_each_tile(const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols, const Activations& x, float* y,
                   int64_t y_stride, bool spread, uint8_t* widen_scratch) {
  constexpr bool kWidens = !std::is_same_v<decltype(Widen), std::nullptr_t>;
  const int n = x.n_tokens;
  const int64_t step = spread ? (rows + R - 1) / R : 1;
  const int64_t groups = spread ? step : (rows + R - 1) / R;
  for (int64_t g = 0; g < groups; g++) {
    int64_t index[R];
    const uint8_t* row[R];
    for (int r = 0; r < R; r++) {
      index[r] = spread ? g + r * step : g * R + r;
      row[r] = w + size_t(std::min<int64_t>(index[r], rows - 1)) * row_bytes;
    }
    const uint8_t* const* tile_rows = row;
    const uint8_t* widened[R];
    if constexpr (kWidens) {
      Widen(row, cols, widen_scratch, widened);
      tile_rows = widened;
    }
    for (int t0 = 0; t0 < n; t0 += T) {
      float out[R * T];
      Tile(tile_rows, x, t0, out);
      for (int r = 0; r < R && index[r] < rows; r++) {
        for (int t = 0; t < T && t0 + t < n; t++) y[int64_t(t0 + t) * y_stride + index[r]] = out[r * T + t];
      }
    }
  }
}

// The TileKernel of a kernel: tile_kernel<R, T, Tile>() or, with a widening step,
// tile_kernel<R, T, Tile, Widen>(widened_bytes).
template <int R, int T, auto Tile, auto Widen = nullptr>
constexpr TileKernel tile_kernel(uint64_t (*widened_bytes)(int64_t) = nullptr) {
  return {R, T, widened_bytes, for_each_tile<R, T, Tile, Widen>};
}

// The kernels, defined beside their arithmetic. Decode (one token) and prefill (a batch) may use
// different shapes; a type with one kernel uses it for both.
extern const TileKernel kF32Decode, kF32Prefill, kF16Decode, kF16Prefill, kBF16Decode, kBF16Prefill;  // float_tiles.cpp
extern const TileKernel kQ8_0Decode, kQ8_0Prefill, kQ4_0Decode, kQ4_0Prefill, kQ5_0Tile, kQ5_1Tile;    // quant.cpp
extern const TileKernel kQ5_0Prefill, kQ5_1Prefill;                                                      // quant.cpp
extern const TileKernel kQ4_KTile, kQ5_KTile, kQ6_KTile;                                                 // quant_k.cpp
extern const TileKernel kQ4_KPrefill, kQ5_KPrefill, kQ6_KPrefill;                                        // quant_k.cpp
extern const TileKernel kQ4_KRepackedDecode, kQ4_KRepackedPrefill;                                     // quant_k.cpp: Q4_K repacked (repack_q4_K)
extern const TileKernel kQ4_0RelaxedDecode, kQ4_KRelaxedDecode, kQ5_KRelaxedDecode, kQ6_KRelaxedDecode;  // quant_relaxed.cpp

}  // namespace ringlm
