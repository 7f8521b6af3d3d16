// Microbenchmark of one weight type's matrix product, natively or in wasm, for tuning the kernels.
//
//   ringlm-kernels TYPE ROWS COLS TOKENS [MB [REPS]]      e.g.  ringlm-kernels Q8_0 2048 768 1 512
//
// Multiplies `tokens` activation vectors by enough distinct ROWS x COLS matrices to fill MB megabytes
// (so decode streams from memory, not from cache), REPS times, and prints the best and median
// weight bytes per second and multiply-adds per second.
//
// Build (from the repository root, after tools/build.mjs):
//   g++ -O3 -msse4.1 -std=c++17 -Isrc -isystem build/native/xsimd-include bench/kernels.cpp \   (-march=native with
//       a RINGLM_NATIVE_ARCH build) \
//       build/native/libringlm_core.a -o build/native/ringlm-kernels
//   NODE_PATH=/usr/share/nodejs em++ -O3 -msimd128 -msse4.1 -std=c++17 -Isrc -isystem build/wasm/xsimd-include \
//       bench/kernels.cpp build/wasm/libringlm_core.a -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
//       -sENVIRONMENT=node -o build/wasm/ringlm-kernels.cjs
//   node --no-experimental-fetch --no-liftoff build/wasm/ringlm-kernels.cjs Q8_0 2048 768 1
//
//   ringlm-kernels repack-q4k both ROWS COLS [MB [REPS]]   Q4_K decode, file layout against repacked
//   ringlm-kernels peak      the instruction-mix ceilings of the prefill tiles' inner loops (the
//                            roofline in docs/BENCHMARKS.md): int16 multiply-adds (i32x4.dot_i16x8_s +
//                            i32x4.add, 8 multiply-adds a pair) and float ones (f32x4.mul + f32x4.add,
//                            4 a pair), eight independent chains from registers, no loads
// (--no-liftoff: time V8's optimized code from the start. On a shared machine compare variants by
// their best figures, alternating runs.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/matmul.h"

#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

using namespace ringlm;

#if defined(__SSE4_1__)
// Best GMAC/s of `reps` timed runs of `body(iterations)`, which does `macs_per_iteration` each.
template <typename Body>
double best_gmacs(Body body, double macs_per_iteration, int reps) {
  const int64_t iterations = 20'000'000;
  double best = 0;
  for (int r = 0; r < reps; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    body(iterations);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(iterations) * macs_per_iteration / s / 1e9);
  }
  return best;
}

int peak(int reps) {
  volatile int sink = 0;
  // As a 4-row x 2-token tile without its loads: 4 weight and 2 activation vectors in registers, 8
  // products into 8 sums; the activations change every step so nothing is hoisted.
  const double i16 = best_gmacs([&](int64_t n) {
    __m128i w[4], x[2] = {_mm_set1_epi16(5), _mm_set1_epi16(7)}, acc[8];
    for (int r = 0; r < 4; r++) w[r] = _mm_set1_epi16(int16_t(sink + r));
    for (__m128i& a : acc) a = _mm_setzero_si128();
    for (int64_t i = 0; i < n; i++) {
      for (int r = 0; r < 4; r++) {
        for (int t = 0; t < 2; t++) acc[2 * r + t] = _mm_add_epi32(acc[2 * r + t], _mm_madd_epi16(w[r], x[t]));
      }
      x[0] = _mm_add_epi16(x[0], w[0]), x[1] = _mm_add_epi16(x[1], w[1]);
    }
    int s = 0;
    for (const __m128i& a : acc) s += _mm_cvtsi128_si32(a);
    sink = s;
  }, 8 * 8, reps);
  const double f32 = best_gmacs([&](int64_t n) {
    __m128 w[4], x[2] = {_mm_set1_ps(0.5f), _mm_set1_ps(0.25f)}, acc[8];
    for (int r = 0; r < 4; r++) w[r] = _mm_set1_ps(float(sink + r) * 1e-9f);
    for (__m128& a : acc) a = _mm_setzero_ps();
    for (int64_t i = 0; i < n; i++) {
      for (int r = 0; r < 4; r++) {
        for (int t = 0; t < 2; t++) acc[2 * r + t] = _mm_add_ps(acc[2 * r + t], _mm_mul_ps(w[r], x[t]));
      }
      x[0] = _mm_add_ps(x[0], w[0]), x[1] = _mm_add_ps(x[1], w[1]);
    }
    float s = 0;
    for (const __m128& a : acc) s += _mm_cvtss_f32(a);
    sink = int(s);
  }, 8 * 4, reps);
  std::printf("peak: int16 dot+add %.2f GMAC/s, f32 mul+add %.2f GMAC/s (best of %d)\n", i16, f32, reps);
  return 0;
}
#endif

// ---------------------------------------------------------------------------------------------
// repack-q4k: Q4_K decode on the file's layout against the same matrices repacked at load (quant.h:
// repack_q4_K; measured in docs/BENCHMARKS.md, "Repacking Q4_K at load: measured").
//
//   ringlm-kernels repack-q4k both|file|repacked ROWS COLS [MB [REPS]]
//
// both: the two interleaved, each repetition timing the file's layout then the repacked one; medians
// and the median of the per-repetition ratios. file / repacked: one of them alone (for callgrind:
// --toggle-collect='run_layout*').
// ---------------------------------------------------------------------------------------------

[[gnu::noinline]] void run_layout(const std::vector<Weight>& ws, const float* x, float* y, MatmulScratch& scratch) {
  for (const Weight& w : ws) matmul(w, x, w.cols, 1, y, w.rows, scratch);
}

int repack_q4k(int argc, char** argv) {
  const std::string which = argc > 2 ? argv[2] : "";
  if (argc < 5 || (which != "both" && which != "file" && which != "repacked")) {
    return std::fprintf(stderr, "usage: ringlm-kernels repack-q4k both|file|repacked ROWS COLS [MB [REPS]]\n"), 1;
  }
  const int64_t rows = std::atoll(argv[3]), cols = std::atoll(argv[4]);
  const double mb = argc > 5 ? std::atof(argv[5]) : 64.0;
  const int reps = argc > 6 ? std::atoi(argv[6]) : 10;
  if (cols % kQK) return std::fprintf(stderr, "COLS must be a multiple of 256\n"), 1;
  const size_t row_bytes = size_t(cols / kQK) * sizeof(BlockQ4_K), matrix_bytes = row_bytes * size_t(rows);
  const int count = std::max(1, int(mb * 1e6 / double(matrix_bytes)));
  std::vector<uint8_t> data(matrix_bytes * size_t(count)), packed;
  uint32_t seed = 12345;
  for (uint8_t& b : data) b = uint8_t((seed = seed * 1664525u + 1013904223u) >> 24);
  for (size_t i = 0; i < data.size(); i += sizeof(BlockQ4_K)) {  // d and dmin: modest normal f16 values
    for (size_t k = 0; k < 2; k++) {
      const uint16_t h = fp32_to_fp16(float(int(data[i + 2 * k]) - 128) / 1024.0f);
      std::memcpy(&data[i + 2 * k], &h, 2);
    }
  }
  if (which != "file") packed = data;
  if (which == "repacked") data = std::vector<uint8_t>();  // one copy in memory, as after a load
  std::vector<Weight> file(static_cast<size_t>(count)), repacked;
  for (int m = 0; m < count; m++) {
    Weight& w = file[size_t(m)];
    w.type = TensorType::Q4_K, w.rows = rows, w.cols = cols, w.row_bytes = row_bytes;
    if (!data.empty()) w.data = data.data() + size_t(m) * matrix_bytes;
    if (packed.empty()) continue;
    Weight p = w;
    p.data = packed.data() + size_t(m) * matrix_bytes;
    if (!repack_weight(&p, packed.data() + size_t(m) * matrix_bytes)) return std::fprintf(stderr, "this build does not repack Q4_K\n"), 1;
    repacked.push_back(p);
  }
  std::vector<float> x(static_cast<size_t>(cols)), y_file(static_cast<size_t>(rows)), y_packed(static_cast<size_t>(rows));
  for (size_t i = 0; i < x.size(); i++) x[i] = float(int(i * 7919 % 255) - 127) / 64.0f;
  MatmulScratch scratch;
  scratch.reserve(1, cols);
  std::vector<double> file_s, packed_s, ratios;
  const auto seconds = [](auto body) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int r = 0; r <= reps; r++) {  // the first pass touches the pages
    const double f = which != "repacked" ? seconds([&] { run_layout(file, x.data(), y_file.data(), scratch); }) : 0;
    const double p = which != "file" ? seconds([&] { run_layout(repacked, x.data(), y_packed.data(), scratch); }) : 0;
    if (r == 0) continue;
    file_s.push_back(f), packed_s.push_back(p);
    if (f > 0 && p > 0) ratios.push_back(f / p);
  }
  if (which == "both" && std::memcmp(y_file.data(), y_packed.data(), y_file.size() * sizeof(float)) != 0) {
    return std::fprintf(stderr, "the two layouts' results differ\n"), 1;
  }
  const auto median = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  const double macs = double(rows) * double(cols) * count;
  std::printf("Q4_K %lldx%lld x%d, %d reps, GMAC/s (medians):", (long long)rows, (long long)cols, count, reps);
  if (which != "repacked") std::printf(" file layout %.2f", macs / median(file_s) / 1e9);
  if (which != "file") std::printf(" | repacked %.2f", macs / median(packed_s) / 1e9);
  if (!ratios.empty()) std::printf(" | repacked / file %.3fx (median of the per-repetition ratios)", median(ratios));
  std::printf("\n");
  return 0;
}

int main(int argc, char** argv) {
#if defined(__SSE4_1__)
  if (argc >= 2 && std::string(argv[1]) == "peak") return peak(argc > 2 ? std::atoi(argv[2]) : 5);
#endif
  if (argc >= 2 && std::string(argv[1]) == "repack-q4k") return repack_q4k(argc, argv);
  if (argc < 5) {
    std::fprintf(stderr, "usage: ringlm-kernels F32|F16|BF16|Q8_0|Q4_0|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K ROWS COLS TOKENS [MB [REPS]]\n");
    return 1;
  }
  const std::string type_name = argv[1];
  const int64_t rows = std::atoll(argv[2]), cols = std::atoll(argv[3]);
  const int tokens = std::atoi(argv[4]);
  const double mb = argc > 5 ? std::atof(argv[5]) : 128.0;
  const int reps = argc > 6 ? std::atoi(argv[6]) : 20;
  TensorType type = TensorType::F32;
  bool found = false;
  for (uint32_t id = 0; id < 64 && !found; id++) {
    const TensorTypeTraits t = tensor_type_traits(id);
    if (t.name && weight_kernels(TensorType(id)) && type_name == t.name) type = TensorType(id), found = true;
  }
  if (!found) return std::fprintf(stderr, "unknown type %s\n", argv[1]), 1;
  const TensorTypeTraits traits = tensor_type_traits(uint32_t(type));
  const size_t row_bytes = size_t(cols / traits.block_size * traits.block_bytes);
  const size_t matrix_bytes = row_bytes * size_t(rows);
  const int count = std::max(1, int(mb * 1e6 / double(matrix_bytes)));

  // Weights: random bytes with every scale / half set to a modest normal f16 value.
  std::vector<uint8_t> data(matrix_bytes * static_cast<size_t>(count));
  uint32_t seed = 12345;
  for (uint8_t& b : data) b = uint8_t((seed = seed * 1664525u + 1013904223u) >> 24);
  if (type == TensorType::F32) {
    for (size_t i = 0; i < data.size(); i += 4) { const float v = float(int(data[i]) - 128) / 128.0f; std::memcpy(&data[i], &v, 4); }
  } else if (type == TensorType::BF16) {
    for (size_t i = 0; i < data.size(); i += 2) {
      const uint16_t h = fp32_to_bf16(float(int(data[i]) - 128) / 128.0f);
      std::memcpy(&data[i], &h, 2);
    }
  } else {
    // The f16 scales: the first half of a block (Q6_K: the last), and Q5_1's m / the K-quants' dmin.
    const size_t stride = type == TensorType::F16 ? 2 : size_t(traits.block_bytes);
    const bool two = type == TensorType::Q5_1 || type == TensorType::Q4_K || type == TensorType::Q5_K;
    const size_t at = type == TensorType::Q6_K ? 208 : 0;
    for (size_t i = 0; i < data.size(); i += stride) {
      for (size_t k = 0; k < (two ? 2u : 1u); k++) {
        const uint16_t h = fp32_to_fp16(float(int(data[i + at + 2 * k]) - 128) / 1024.0f);
        std::memcpy(&data[i + at + 2 * k], &h, 2);
      }
    }
  }
  std::vector<Weight> ws(static_cast<size_t>(count));
  for (int i = 0; i < count; i++) {
    ws[size_t(i)].type = type;
    ws[size_t(i)].data = data.data() + size_t(i) * matrix_bytes;
    ws[size_t(i)].rows = rows;
    ws[size_t(i)].cols = cols;
    ws[size_t(i)].row_bytes = row_bytes;
  }
  std::vector<float> x(static_cast<size_t>(tokens * cols)), y(static_cast<size_t>(tokens * rows));
  for (size_t i = 0; i < x.size(); i++) x[i] = float(int(i * 7919 % 255) - 127) / 64.0f;
  MatmulScratch scratch;
  scratch.reserve(tokens, cols);

  std::vector<double> secs;
  for (int r = 0; r <= reps; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const Weight& w : ws) matmul(w, x.data(), cols, tokens, y.data(), rows, scratch);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) secs.push_back(s);  // the first pass touches the pages
  }
  std::sort(secs.begin(), secs.end());
  const double bytes = double(matrix_bytes) * count, macs = double(rows) * double(cols) * tokens * count;
  std::printf("%s %lldx%lld tokens %d x%d: best %.2f GB/s %.2f GMAC/s | median %.2f GB/s %.2f GMAC/s  (y0 %g)\n",
              type_name.c_str(), (long long)rows, (long long)cols, tokens, count, bytes / secs[0] / 1e9, macs / secs[0] / 1e9,
              bytes / secs[secs.size() / 2] / 1e9, macs / secs[secs.size() / 2] / 1e9, double(y[0]));
  return 0;
}
