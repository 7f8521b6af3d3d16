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
#include "kernels/quant_internal.h"

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
// repack-q4k: a Q4_K decode kernel on blocks repacked at load (issue #16, item 1; measured in
// docs/BENCHMARKS.md, "Repacking Q4_K at load: measured"), against the kernel on the file's bytes.
//
//   ringlm-kernels repack-q4k check                      bits against ref::dot_q4_K, extreme fields
//   ringlm-kernels repack-q4k both|file|repacked ROWS COLS [MB [REPS]]
//                                                        time the two kernels (both: interleaved),
//                                                        medians; one of them alone for callgrind
//
// The repacked layout, per group of 4 neighbouring rows and block b (256 values of each row), 608
// bytes against the file's 4 x 144:
//   d, dmin     float [4]         the f16 values converted (exactly) once
//   scales      uint8 [8 sub][4]  the 6-bit scales unpacked
//   mins        uint8 [4][8 sub]  the 6-bit mins unpacked
//   qs          [32][16 bytes]    vector j: the 8 values of the activations' pair vector j
//                                 (KActivations::pairs: values 16(j/2) + 2i + j%2, i = 0..7) of all
//                                 four rows, lane i holding row r's value in bits 4r .. 4r+3
// One 16-byte load of weights then meets one load of activations for all four rows: row 0 is
// `and 0x000f`, row 3 `shr 12`, rows 1 and 2 are masked in place (16 q, 256 q) and their int32
// sums shifted back once per sub-block (exact: multiples of 16, 256). A sub-block's int32 lanes (8
// products of at most 15 x 127, times 16 or 256 before the shift) narrow to int16 exactly, two rows
// to one multiply-add by their scales; the mins meet the activations' sums32 once per block. The
// integer totals are the reference's, and the float steps per block its steps.
// ---------------------------------------------------------------------------------------------

#if defined(__clang__)
#define BENCH_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define BENCH_NO_UNROLL
#endif

struct RepackedQ4_K {
  float d[4], dmin[4];
  uint8_t scales[8][4];
  uint8_t mins[4][8];
  uint8_t qs[32][16];
};
static_assert(sizeof(RepackedQ4_K) == 608, "no padding");

// Rows rows[0..3] of nb blocks each into nb repacked blocks.
void repack_q4_K(const uint8_t* const* rows, int64_t nb, RepackedQ4_K* out) {
  for (int64_t b = 0; b < nb; b++) {
    RepackedQ4_K& o = out[b];
    std::memset(&o, 0, sizeof(o));
    for (int r = 0; r < 4; r++) {
      const BlockQ4_K& w = reinterpret_cast<const BlockQ4_K*>(rows[r])[b];
      o.d[r] = fp16_to_fp32(w.d), o.dmin[r] = fp16_to_fp32(w.dmin);
      for (int s = 0; s < 8; s++) {
        int sc, m;
        k4_scale_min(w.scales, s, &sc, &m);
        o.scales[s][r] = uint8_t(sc), o.mins[r][s] = uint8_t(m);
      }
      for (int j = 0; j < 32; j++) {
        for (int i = 0; i < 8; i++) {
          const int v = 16 * (j / 2) + 2 * i + j % 2, s = v / 32;
          const uint8_t byte = w.qs[32 * (s / 2) + v % 32];
          const int q = s % 2 ? byte >> 4 : byte & 0x0f;
          o.qs[j][2 * i + r / 2] |= uint8_t(q << (4 * (r % 2)));
        }
      }
    }
  }
}

#if defined(__SSE4_1__)
// out[r] = row r . token t, for the 4 rows of a repacked group of nb blocks.
void repacked_q4_K_group(const RepackedQ4_K* group, int64_t nb, const KActivations& x, int t, float* out) {
  const int16_t* q = x.pairs(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums32(t);
  const __m128i m0 = _mm_set1_epi16(0x000f), m1 = _mm_set1_epi16(0x00f0), m2 = _mm_set1_epi16(0x0f00);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const RepackedQ4_K& blk = group[b];
    const int16_t* xb = q + b * kQK;
    __m128i t01 = _mm_setzero_si128(), t23 = _mm_setzero_si128();  // lanes r0 r0 r1 r1 | r2 r2 r3 r3
    BENCH_NO_UNROLL
    for (int s = 0; s < 8; s++) {
      const uint8_t* w = blk.qs[4 * s];
      const int16_t* xs = xb + 32 * s;
      __m128i a0, a1, a2, a3;
      {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w)), p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xs));
        a0 = _mm_madd_epi16(_mm_and_si128(v, m0), p), a1 = _mm_madd_epi16(_mm_and_si128(v, m1), p);
        a2 = _mm_madd_epi16(_mm_and_si128(v, m2), p), a3 = _mm_madd_epi16(_mm_srli_epi16(v, 12), p);
      }
#if defined(REPACK_K_NO_UNROLL)
      BENCH_NO_UNROLL
#endif
      for (int k = 1; k < 4; k++) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16 * k));
        const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xs + 8 * k));
        a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_and_si128(v, m0), p));
        a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_and_si128(v, m1), p));
        a2 = _mm_add_epi32(a2, _mm_madd_epi16(_mm_and_si128(v, m2), p));
        a3 = _mm_add_epi32(a3, _mm_madd_epi16(_mm_srli_epi16(v, 12), p));
      }
      uint32_t sc4;
      std::memcpy(&sc4, blk.scales[s], 4);
      __m128i sc = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(int32_t(sc4)));  // r0 r1 r2 r3 0 0 0 0
      sc = _mm_unpacklo_epi16(sc, sc);                                   // r0 r0 r1 r1 r2 r2 r3 r3
      t01 = _mm_add_epi32(t01, _mm_madd_epi16(_mm_packs_epi32(a0, _mm_srai_epi32(a1, 4)), _mm_unpacklo_epi32(sc, sc)));
      t23 = _mm_add_epi32(t23, _mm_madd_epi16(_mm_packs_epi32(_mm_srai_epi32(a2, 8), a3), _mm_unpackhi_epi32(sc, sc)));
    }
    const __m128 f01 = _mm_castsi128_ps(t01), f23 = _mm_castsi128_ps(t23);
    const __m128i total = _mm_add_epi32(_mm_castps_si128(_mm_shuffle_ps(f01, f23, _MM_SHUFFLE(2, 0, 2, 0))),
                                        _mm_castps_si128(_mm_shuffle_ps(f01, f23, _MM_SHUFFLE(3, 1, 3, 1))));
    const __m128i xsums = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sums + 8 * b));
    const __m128i mins01 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.mins[0]));
    const __m128i mins23 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.mins[2]));
    const __m128i zero = _mm_setzero_si128();
    const __m128i mins = sse::sum4(_mm_madd_epi16(_mm_unpacklo_epi8(mins01, zero), xsums), _mm_madd_epi16(_mm_unpackhi_epi8(mins01, zero), xsums),
                                  _mm_madd_epi16(_mm_unpacklo_epi8(mins23, zero), xsums), _mm_madd_epi16(_mm_unpackhi_epi8(mins23, zero), xsums));
    const __m128 vdx = _mm_set1_ps(dx[b]);
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(total), _mm_mul_ps(_mm_loadu_ps(blk.d), vdx)));
    acc = _mm_sub_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(mins), _mm_mul_ps(_mm_loadu_ps(blk.dmin), vdx)));
  }
  _mm_storeu_ps(out, acc);
}
#endif

// Random Q4_K rows whose fields take their extreme values too, checked bit for bit against
// ref::dot_q4_K and against the file's kernel (matmul), for activations of every sign pattern.
int repack_check() {
  const int64_t nb = 3, cols = nb * kQK, rows = 4 * 24;
  uint32_t seed = 7;
  const auto next = [&] { return (seed = seed * 1664525u + 1013904223u) >> 8; };
  std::vector<BlockQ4_K> w(static_cast<size_t>(rows * nb));
  const uint16_t halves[] = {0x7bff, 0xfbff, 0x0001, 0x8001, 0x3c00, 0x0000, 0x0400};  // max, -max, subnormals, 1, 0, min normal
  for (size_t i = 0; i < w.size(); i++) {
    BlockQ4_K& b = w[i];
    const uint32_t mode = next() % 4;  // 0: random, 1: every field at its largest, 2: smallest, 3: mixed
    uint8_t* bytes = reinterpret_cast<uint8_t*>(&b);
    for (size_t k = 0; k < sizeof(b); k++) bytes[k] = mode == 1 ? 0xff : mode == 2 ? 0x00 : uint8_t(next());
    if (mode == 3) std::memset(b.scales, next() % 2 ? 0xff : 0x00, sizeof(b.scales));
    b.d = mode == 0 ? fp32_to_fp16(float(int(next() % 2001) - 1000) / 4096.0f) : halves[next() % 7];
    b.dmin = mode == 0 ? fp32_to_fp16(float(int(next() % 2001) - 1000) / 4096.0f) : halves[next() % 7];
  }
  std::vector<RepackedQ4_K> packed(static_cast<size_t>(rows / 4 * nb));
  for (int64_t g = 0; g < rows / 4; g++) {
    const uint8_t* r4[4];
    for (int r = 0; r < 4; r++) r4[r] = reinterpret_cast<const uint8_t*>(&w[size_t((4 * g + r) * nb)]);
    repack_q4_K(r4, nb, &packed[size_t(g * nb)]);
  }
  Weight weight;
  weight.type = TensorType::Q4_K, weight.data = reinterpret_cast<const uint8_t*>(w.data()), weight.rows = rows;
  weight.cols = cols, weight.row_bytes = size_t(nb) * sizeof(BlockQ4_K);
  MatmulScratch scratch;
  scratch.reserve(1, cols);
  KActivations kx;
  kx.reserve(1, cols);
  int bad = 0, checked = 0;
  for (int pattern = 0; pattern < 6; pattern++) {
    std::vector<float> x(static_cast<size_t>(cols));
    for (int64_t i = 0; i < cols; i++) {
      x[size_t(i)] = pattern == 0 ? 1.0f : pattern == 1 ? -1.0f : pattern == 2 ? (i % 2 ? 1.0f : -1.0f)
                   : pattern == 3 ? (i == 5 ? 3.0f : 0.0f) : float(int(next() % 2001) - 1000) / 100.0f;
    }
    std::vector<BlockQ8_K> xq(static_cast<size_t>(nb));
    quantize_row_q8_K(x.data(), xq.data(), cols);
    kx.quantize(x.data(), cols, 1, cols);
    std::vector<float> file(static_cast<size_t>(rows)), repacked(static_cast<size_t>(rows));
    matmul(weight, x.data(), cols, 1, file.data(), rows, scratch);
#if defined(__SSE4_1__)
    for (int64_t g = 0; g < rows / 4; g++) repacked_q4_K_group(&packed[size_t(g * nb)], nb, kx, 0, &repacked[size_t(4 * g)]);
#endif
    for (int64_t r = 0; r < rows; r++) {
      const float want = ref::dot_q4_K(&w[size_t(r * nb)], xq.data(), nb);
      checked++;
      if (std::memcmp(&want, &repacked[size_t(r)], 4) != 0 || std::memcmp(&want, &file[size_t(r)], 4) != 0) {
        if (bad++ < 5) std::printf("row %lld pattern %d: reference %.9g, file kernel %.9g, repacked %.9g\n", (long long)r, pattern,
                                   double(want), double(file[size_t(r)]), double(repacked[size_t(r)]));
      }
    }
  }
  std::printf("repack-q4k check: %d of %d rows differ from ref::dot_q4_K\n", bad, checked);
  return bad ? 1 : 0;
}

#if defined(__SSE4_1__)
[[gnu::noinline]] void run_file_kernel(const std::vector<Weight>& ws, const float* x, float* y, MatmulScratch& scratch) {
  for (const Weight& w : ws) matmul(w, x, w.cols, 1, y, w.rows, scratch);
}

[[gnu::noinline]] void run_repacked_kernel(const std::vector<RepackedQ4_K>& packed, int count, int64_t rows, int64_t cols,
                                           const float* x, float* y, KActivations& kx) {
  const int64_t nb = cols / kQK;
  for (int m = 0; m < count; m++) {
    kx.quantize(x, cols, 1, cols);
    const RepackedQ4_K* matrix = &packed[size_t(m) * size_t(rows / 4 * nb)];
    for (int64_t g = 0; g < rows / 4; g++) repacked_q4_K_group(matrix + g * nb, nb, kx, 0, y + 4 * g);
  }
}

int repack_time(const std::string& which, int64_t rows, int64_t cols, double mb, int reps) {
  if (rows % 4 || cols % kQK) return std::fprintf(stderr, "ROWS must be a multiple of 4, COLS of 256\n"), 1;
  const int64_t nb = cols / kQK;
  const size_t row_bytes = size_t(nb) * sizeof(BlockQ4_K), matrix_bytes = row_bytes * size_t(rows);
  const int count = std::max(1, int(mb * 1e6 / double(matrix_bytes)));
  std::vector<uint8_t> data(matrix_bytes * size_t(count));
  uint32_t seed = 12345;
  for (uint8_t& b : data) b = uint8_t((seed = seed * 1664525u + 1013904223u) >> 24);
  for (size_t i = 0; i < data.size(); i += sizeof(BlockQ4_K)) {  // d and dmin: modest normal f16 values
    for (size_t k = 0; k < 2; k++) {
      const uint16_t h = fp32_to_fp16(float(int(data[i + 2 * k]) - 128) / 1024.0f);
      std::memcpy(&data[i + 2 * k], &h, 2);
    }
  }
  std::vector<Weight> ws(static_cast<size_t>(count));
  std::vector<RepackedQ4_K> packed;
  if (which != "file") packed.resize(size_t(count) * size_t(rows / 4 * nb));
  for (int m = 0; m < count; m++) {
    Weight& w = ws[size_t(m)];
    w.type = TensorType::Q4_K, w.data = data.data() + size_t(m) * matrix_bytes, w.rows = rows, w.cols = cols, w.row_bytes = row_bytes;
    for (int64_t g = 0; g < rows / 4 && !packed.empty(); g++) {
      const uint8_t* r4[4] = {w.row(4 * g), w.row(4 * g + 1), w.row(4 * g + 2), w.row(4 * g + 3)};
      repack_q4_K(r4, nb, &packed[size_t(m) * size_t(rows / 4 * nb) + size_t(g * nb)]);
    }
  }
  if (which == "repacked") data = std::vector<uint8_t>();  // only the repacked copy in memory, as after a load
  std::vector<float> x(static_cast<size_t>(cols)), y_file(static_cast<size_t>(rows)), y_packed(static_cast<size_t>(rows));
  for (size_t i = 0; i < x.size(); i++) x[i] = float(int(i * 7919 % 255) - 127) / 64.0f;
  MatmulScratch scratch;
  scratch.reserve(1, cols);
  KActivations kx;
  kx.reserve(1, cols);
  std::vector<double> file_s, packed_s, ratios;
  const auto seconds = [](auto body) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int r = 0; r <= reps; r++) {  // interleaved; the first pass touches the pages
    double f = 0, p = 0;
    if (which != "repacked") f = seconds([&] { run_file_kernel(ws, x.data(), y_file.data(), scratch); });
    if (which != "file") p = seconds([&] { run_repacked_kernel(packed, count, rows, cols, x.data(), y_packed.data(), kx); });
    if (r == 0) continue;
    file_s.push_back(f), packed_s.push_back(p);
    if (f > 0 && p > 0) ratios.push_back(f / p);
  }
  if (which == "both" && std::memcmp(y_file.data(), y_packed.data(), y_file.size() * 4) != 0) {
    return std::fprintf(stderr, "the two kernels' results differ\n"), 1;
  }
  const auto median = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  const double macs = double(rows) * double(cols) * count;
  std::printf("Q4_K %lldx%lld x%d, %d reps:", (long long)rows, (long long)cols, count, reps);
  if (which != "repacked") std::printf(" file %.2f GMAC/s (%.0f MB)", macs / median(file_s) / 1e9, double(data.size()) / 1e6);
  if (which != "file") std::printf(" | repacked %.2f GMAC/s (%.0f MB)", macs / median(packed_s) / 1e9, double(packed.size() * sizeof(RepackedQ4_K)) / 1e6);
  if (!ratios.empty()) std::printf(" | repacked / file: %.3fx (median of per-rep ratios)", median(ratios));
  std::printf("\n");
  return 0;
}
#endif

int repack_q4k(int argc, char** argv) {
  const std::string which = argc > 2 ? argv[2] : "";
  if (which == "check") return repack_check();
#if defined(__SSE4_1__)
  if ((which == "both" || which == "file" || which == "repacked") && argc >= 5) {
    return repack_time(which, std::atoll(argv[3]), std::atoll(argv[4]), argc > 5 ? std::atof(argv[5]) : 64.0, argc > 6 ? std::atoi(argv[6]) : 10);
  }
#endif
  std::fprintf(stderr, "usage: ringlm-kernels repack-q4k check | both|file|repacked ROWS COLS [MB [REPS]]\n");
  return 1;
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
