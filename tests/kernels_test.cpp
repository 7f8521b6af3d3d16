// Every SIMD kernel against its scalar reference, on lengths that are not multiples of the
// vector width or the block size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <string>
#include <random>
#include <vector>

#include "gguf_builder.h"
#include "kernels/float_kernels.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

using namespace ringlm;

namespace {

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

const int kLengths[] = {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257, 1000};

// Random bytes make valid blocks of the Q5 and K-quant types; only the f16 scales are set to
// moderate values (random bits could be huge, infinite or NaN). BF16 gets random normal values.
std::vector<uint8_t> random_blocks(TensorType type, int rows, int cols, uint32_t seed) {
  const TensorTypeTraits tt = tensor_type_traits(uint32_t(type));
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(size_t(rows) * size_t(cols / tt.block_size * tt.block_bytes));
  if (type == TensorType::BF16) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (size_t i = 0; i < out.size(); i += 2) {
      const uint16_t h = fp32_to_bf16(d(rng));
      std::memcpy(&out[i], &h, 2);
    }
    return out;
  }
  for (uint8_t& b : out) b = uint8_t(rng());
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  const auto put = [&](size_t at, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(&out[at], &h, 2);
  };
  for (size_t at = 0; at < out.size(); at += size_t(tt.block_bytes)) {
    switch (type) {
      case TensorType::Q5_0: put(at, scale(rng)); break;
      case TensorType::Q5_1: put(at, scale(rng)), put(at + 2, -8.0f * scale(rng)); break;
      case TensorType::Q4_K:
      case TensorType::Q5_K: put(at, 0.1f * scale(rng)), put(at + 2, 0.1f * scale(rng)); break;
      case TensorType::Q6_K: put(at + 208, 0.05f * scale(rng)); break;
      default: break;
    }
  }
  return out;
}

bool is_new_type(TensorType t) {
  return t == TensorType::Q5_0 || t == TensorType::Q5_1 || t == TensorType::BF16 || t == TensorType::Q4_K ||
         t == TensorType::Q5_K || t == TensorType::Q6_K;
}

}  // namespace

TEST(Kernels, DotMatchesReference) {
  for (int n : kLengths) {
    const auto a = randn(size_t(n), 1), b = randn(size_t(n), 2);
    EXPECT_NEAR(simd::dot(a.data(), b.data(), n), ref::dot(a.data(), b.data(), n), 1e-4f * std::sqrt(float(n))) << n;
  }
}

TEST(Kernels, SumMatchesReference) {
  for (int n : kLengths) {
    const auto x = randn(size_t(n), 21);
    EXPECT_NEAR(simd::sum(x.data(), n), ref::sum(x.data(), n), 1e-5f * std::sqrt(float(n))) << n;
    for (int parts : {1, 2, 4, 8}) {
      EXPECT_NEAR(simd::sum_parts(x.data(), n, parts), ref::sum(x.data(), n), 1e-5f * std::sqrt(float(n))) << n << " in " << parts;
    }
  }
}

TEST(Kernels, AxpyAndAddMatchReference) {
  for (int n : kLengths) {
    const auto x = randn(size_t(n), 3);
    auto y1 = randn(size_t(n), 4), y2 = y1;
    simd::axpy(0.7f, x.data(), y1.data(), n);
    ref::axpy(0.7f, x.data(), y2.data(), n);
    for (int i = 0; i < n; i++) EXPECT_NEAR(y1[size_t(i)], y2[size_t(i)], 1e-6f);
    simd::add(x.data(), y1.data(), n);
    ref::add(x.data(), y2.data(), n);
    for (int i = 0; i < n; i++) EXPECT_NEAR(y1[size_t(i)], y2[size_t(i)], 1e-6f);
  }
}

TEST(Kernels, RmsnormMatchesReference) {
  for (int n : kLengths) {
    const auto x = randn(size_t(n), 5, 3.0f), w = randn(size_t(n), 6);
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    simd::rmsnorm(a.data(), x.data(), w.data(), n, 1e-5f);
    ref::rmsnorm(b.data(), x.data(), w.data(), n, 1e-5f);
    for (int i = 0; i < n; i++) EXPECT_NEAR(a[size_t(i)], b[size_t(i)], 1e-5f * (1 + std::fabs(b[size_t(i)])));
  }
}

TEST(Kernels, SoftmaxIsADistributionAndHandlesMaskedEntries) {
  std::vector<float> x = {1.0f, -INFINITY, 3.0f, 1000.0f};
  simd::softmax(x.data(), 4);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_NEAR(x[3], 1.0f, 1e-6f);
  std::vector<float> y = {0.0f, std::log(3.0f)};
  simd::softmax(y.data(), 2);
  EXPECT_NEAR(y[0], 0.25f, 1e-6f);
  EXPECT_NEAR(y[1], 0.75f, 1e-6f);
}

TEST(Kernels, SwigluIsSiluTimesUp) {
  std::vector<float> g = {0.0f, 1.0f, -2.0f}, u = {5.0f, 2.0f, 3.0f};
  simd::swiglu(g.data(), u.data(), 3);
  EXPECT_NEAR(g[0], 0.0f, 1e-7f);
  EXPECT_NEAR(g[1], 2.0f / (1.0f + std::exp(-1.0f)), 1e-6f);
  EXPECT_NEAR(g[2], 3.0f * -2.0f / (1.0f + std::exp(2.0f)), 1e-6f);
}

TEST(Kernels, ExpIsWithinTwoUlpOfStdExp) {
  std::vector<float> x;
  for (float v = -87.0f; v <= 88.0f; v += 0.01171875f) x.push_back(v);
  x.insert(x.end(), {0.0f, -0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 0.34657359f, -0.34657359f});
  for (size_t i = 0; i < x.size(); i++) {
    const float e = simd::exp_scalar(x[i]), r = std::exp(x[i]);
    ASSERT_LE(std::fabs(e - r), 2.5e-7f * r) << "exp(" << x[i] << ")";
  }
  EXPECT_EQ(simd::exp_scalar(-INFINITY), 0.0f);
  EXPECT_EQ(simd::exp_scalar(-100.0f), 0.0f);
  EXPECT_TRUE(std::isfinite(simd::exp_scalar(1000.0f)));
}

TEST(Kernels, SoftmaxAndSwigluMatchReference) {
  for (int n : kLengths) {
    auto a = randn(size_t(n), 22, 4.0f), b = a;
    if (n > 2) a[1] = b[1] = -INFINITY;  // a masked position
    simd::softmax(a.data(), n);
    ref::softmax(b.data(), n);
    for (int i = 0; i < n; i++) ASSERT_NEAR(a[size_t(i)], b[size_t(i)], 1e-6f) << n << " at " << i;
    if (n > 2) {
      EXPECT_EQ(a[1], 0.0f);
    }

    auto g1 = randn(size_t(n), 23, 3.0f), g2 = g1;
    const auto up = randn(size_t(n), 24);
    simd::swiglu(g1.data(), up.data(), n);
    ref::swiglu(g2.data(), up.data(), n);
    for (int i = 0; i < n; i++) ASSERT_NEAR(g1[size_t(i)], g2[size_t(i)], 1e-6f * (1 + std::fabs(g2[size_t(i)]))) << n;
  }
}

TEST(Kernels, LayernormMatchesReference) {
  for (int n : kLengths) {
    auto x = randn(size_t(n), 31, 2.0f);
    for (float& v : x) v += 5.0f;  // a mean far from 0: the two passes must remove it
    const auto w = randn(size_t(n), 32), b = randn(size_t(n), 33);
    std::vector<float> a(static_cast<size_t>(n)), r(static_cast<size_t>(n));
    simd::layernorm(a.data(), x.data(), w.data(), b.data(), n, 1e-5f);
    ref::layernorm(r.data(), x.data(), w.data(), b.data(), n, 1e-5f);
    for (int i = 0; i < n; i++) ASSERT_NEAR(a[size_t(i)], r[size_t(i)], 2e-5f * (1 + std::fabs(r[size_t(i)]))) << n << " at " << i;
  }
  // Constant input: zero variance, the output is the bias.
  std::vector<float> x(5, 3.0f), w(5, 2.0f), b = {1, 2, 3, 4, 5}, out(5);
  simd::layernorm(out.data(), x.data(), w.data(), b.data(), 5, 1e-5f);
  for (int i = 0; i < 5; i++) EXPECT_EQ(out[size_t(i)], b[size_t(i)]);
}

TEST(Kernels, RoundToF16IsTheF16RoundTrip) {
  std::vector<float> x = randn(4096, 34, 4.0f);
  const auto tiny = randn(1024, 35, 1e-5f);  // f16 subnormals
  x.insert(x.end(), tiny.begin(), tiny.end());
  x.insert(x.end(), {0.0f, -0.0f, 1.0f, 1.00048828125f /* a tie */, 1.00146484375f /* a tie */, 2047.5f, 6.1e-5f,
                     2.98023224e-08f /* half of the smallest subnormal: a tie to 0 */, 8.94069672e-08f});
  for (size_t i = 0; i + simd::W <= x.size(); i += simd::W) {
    float out[simd::W];
    simd::round_to_f16(simd::batch::load_unaligned(&x[i])).store_unaligned(out);
    for (int64_t k = 0; k < simd::W; k++) {
      ASSERT_EQ(out[k], fp16_to_fp32(fp32_to_fp16(x[i + size_t(k)]))) << x[i + size_t(k)];
    }
  }
}

TEST(Kernels, GeluMatchesReferenceOnTheF16Grid) {
  // The reference uses std::tanh, the kernel our exp: before the final f16 rounding they differ by
  // an ulp or two, which can tip a result to the neighbouring f16 value, never further. Far left,
  // 1 + tanh(v) cancels in the reference (as in llama.cpp's table): a few 1e-7 absolute there.
  int tipped = 0, total = 0;
  for (int n : kLengths) {
    auto a = randn(size_t(n), 36, 4.0f);
    if (n > 4) a[0] = -12.0f, a[1] = 12.0f, a[2] = -10.0f, a[3] = 10.0f;
    auto r = a;
    simd::gelu(a.data(), n);
    ref::gelu(r.data(), n);
    for (int i = 0; i < n; i++, total++) {
      const float d = std::fabs(a[size_t(i)] - r[size_t(i)]);
      ASSERT_LE(d, std::ldexp(std::fabs(r[size_t(i)]), -10) + 4e-7f) << n << " at " << i;
      tipped += d != 0.0f;
    }
    if (n > 4) {
      EXPECT_EQ(a[0], 0.0f);
      EXPECT_EQ(a[1], 12.0f);
      EXPECT_EQ(a[2], 0.0f);
      EXPECT_EQ(a[3], 10.0f);
    }
  }
  EXPECT_LE(tipped, total / 8);
  // Values from the curve: gelu(1) = 0.8411920, gelu(-1) = -0.1588080 (on the f16 grid).
  float v[2] = {1.0f, -1.0f};
  simd::gelu(v, 2);
  EXPECT_NEAR(v[0], 0.841192f, 5e-4f);
  EXPECT_NEAR(v[1], -0.158808f, 1e-4f);
}

TEST(Kernels, RopeNeoxRotatesHalves) {
  // Head size 6 with 4 rotating dims: pairs (0,2) at theta = pos, (1,3) at pos * base^(-1/2).
  std::vector<float> v = {1, 0, 0, 1, 5, 6};
  std::vector<float> cs(4);
  const float pos = 3.0f, base = 100.0f;
  rope_angles(cs.data(), 4, pos, base);
  rope_rotate_neox(v.data(), 1, 6, 4, cs.data());
  const float t0 = pos, t1 = pos / 10.0f;
  EXPECT_NEAR(v[0], std::cos(t0), 1e-5f);
  EXPECT_NEAR(v[2], std::sin(t0), 1e-5f);
  EXPECT_NEAR(v[1], -std::sin(t1), 1e-5f);
  EXPECT_NEAR(v[3], std::cos(t1), 1e-5f);
  EXPECT_EQ(v[4], 5.0f);
  EXPECT_EQ(v[5], 6.0f);
}

TEST(Kernels, RopeRotatesAdjacentPairs) {
  // Head size 6 with 4 rotating dims: pairs (0,1) at theta = pos, (2,3) at pos * base^(-1/2);
  // dims 4 and 5 pass through.
  std::vector<float> v = {1, 0, 0, 1, 5, 6, /* head 2 */ 1, 0, 0, 1, 7, 8};
  std::vector<float> cs(4);
  const float pos = 3.0f, base = 100.0f;
  rope_angles(cs.data(), 4, pos, base);
  rope_rotate(v.data(), 2, 6, 4, cs.data());
  const float t0 = pos, t1 = pos / 10.0f;
  for (int h = 0; h < 2; h++) {
    const float* x = &v[size_t(h * 6)];
    EXPECT_NEAR(x[0], std::cos(t0), 1e-5f);
    EXPECT_NEAR(x[1], std::sin(t0), 1e-5f);
    EXPECT_NEAR(x[2], -std::sin(t1), 1e-5f);
    EXPECT_NEAR(x[3], std::cos(t1), 1e-5f);
  }
  EXPECT_EQ(v[4], 5.0f);
  EXPECT_EQ(v[11], 8.0f);
}

TEST(Kernels, Fp16RoundTripAndRounding) {
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);               // rounds up to infinity
  EXPECT_EQ(fp32_to_fp16(1.0f + 1.0f / 2048.0f), 0x3c00);  // a tie rounds to even
  EXPECT_EQ(fp32_to_fp16(5.9604645e-8f), 0x0001);          // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x0001), 5.9604645e-8f);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
  for (uint32_t h = 0; h < 0x7c00; h++) {  // every finite half survives the round trip
    ASSERT_EQ(fp32_to_fp16(fp16_to_fp32(uint16_t(h))), h);
    ASSERT_EQ(fp32_to_fp16(fp16_to_fp32(uint16_t(h | 0x8000))), h | 0x8000);
  }
}

TEST(Kernels, QuantizedDotReferencesAgreeWithFloat) {
  for (int blocks : {1, 2, 3, 7, 24}) {
    const int n = blocks * 32;
    const auto w = randn(size_t(n), 7), x = randn(size_t(n), 8, 4.0f);
    std::vector<BlockQ8_0> wq(static_cast<size_t>(blocks)), xq(static_cast<size_t>(blocks));
    quantize_row_q8_0(w.data(), wq.data(), n);
    quantize_row_q8_0(x.data(), xq.data(), n);
    // Quantized to 8 bits, the dot is still close to the float one.
    EXPECT_NEAR(ref::dot_q8_0(wq.data(), xq.data(), blocks), ref::dot(w.data(), x.data(), n), 0.02f * std::sqrt(float(n)) * 4.0f);
    test::TensorSpec spec{"w", {n}, TensorType::Q4_0, w};
    const auto q4 = test::encode(spec);
    EXPECT_NEAR(ref::dot_q4_0(reinterpret_cast<const BlockQ4_0*>(q4.data()), xq.data(), blocks),
                ref::dot(w.data(), x.data(), n), 0.2f * std::sqrt(float(n)) * 4.0f);
  }
}

// Every tile shape the matmul kernels use, on lengths that leave a scalar tail.
template <int R, int T, typename WeightT>
void check_dot_tile(const std::vector<WeightT>& w, const std::vector<float>& x, int n) {
  const WeightT* rows[R];
  const float* xs[T];
  for (int r = 0; r < R; r++) rows[r] = w.data() + r * n;
  for (int t = 0; t < T; t++) xs[t] = x.data() + t * n;
  // F16: the SIMD kernels read h * 2^-112 (in SSE4.1 / wasm builds) against activations times
  // kF16ActivationScale, as matmul prepares them; the same products as the reference's.
  std::vector<float> scaled(x);
  if constexpr (std::is_same_v<WeightT, uint16_t>) {
    for (float& v : scaled) v *= simd::kF16ActivationScale;
  }
  const float* xs_simd[T];
  for (int t = 0; t < T; t++) xs_simd[t] = scaled.data() + t * n;
  float got[R * T], want[R * T];
  simd::dot_tile<R, T>(rows, xs_simd, n, got);
  ref::dot_tile(R, T, rows, xs, n, want);
  for (int i = 0; i < R * T; i++) ASSERT_NEAR(got[i], want[i], 1e-5f * std::sqrt(float(n))) << R << "x" << T << " n " << n;
  // One pair at a time gives the very same sums: a tile's shape never changes a result.
  for (int r = 0; r < R; r++) {
    for (int t = 0; t < T; t++) {
      float one;
      simd::dot_tile<1, 1>(&rows[r], &xs_simd[t], n, &one);
      ASSERT_EQ(one, got[r * T + t]) << R << "x" << T << " n " << n;
    }
  }
}

TEST(Kernels, DotTilesMatchReferenceForF32AndF16) {
  for (int n : kLengths) {
    const auto w = randn(size_t(4 * n), 25), x = randn(size_t(4 * n), 26);
    std::vector<uint16_t> h(w.size());
    for (size_t i = 0; i < w.size(); i++) h[i] = fp32_to_fp16(w[i]);
    check_dot_tile<1, 1>(w, x, n);
    check_dot_tile<4, 1>(w, x, n);
    check_dot_tile<3, 3>(w, x, n);
    check_dot_tile<4, 4>(w, x, n);
    check_dot_tile<2, 4>(w, x, n);
    check_dot_tile<4, 1>(h, x, n);
    check_dot_tile<3, 3>(h, x, n);
    check_dot_tile<4, 4>(h, x, n);
  }
}

// The F16 kernels read weights as h * 2^-112 against activations times kF16ActivationScale: every
// product must be the very float of fp16_to_fp32(h) * x, subnormals and the largest values included.
// One nonzero product per dot, at every position of the 8-weight steps, the 4-weight step and the tail.
TEST(Kernels, F16TilesMultiplyExactlyAtTheExtremes) {
  const uint16_t halves[] = {0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xbc01, 0x7bff, 0xfbff, 0x0000, 0x8000, 0x1234};
  const float xs_values[] = {1.0f, -3.5f, 65504.0f, -65504.0f, 5.9604645e-8f, 6.1035156e-5f, 0.1f};
  const int n = 15;  // one step of 8, one of 4, a tail of 3
  for (uint16_t h : halves) {
    for (float xv : xs_values) {
      const float x_f16 = fp16_to_fp32(fp32_to_fp16(xv));
      for (int at = 0; at < n; at++) {
        std::vector<uint16_t> w(size_t(n), 0);
        std::vector<float> x(size_t(n), 0.0f);
        w[size_t(at)] = h;
        x[size_t(at)] = x_f16 * simd::kF16ActivationScale;
        const uint16_t* rows[1] = {w.data()};
        const float* xs[1] = {x.data()};
        float got;
        simd::dot_tile<1, 1>(rows, xs, n, &got);
        ASSERT_EQ(got, fp16_to_fp32(h) * x_f16) << std::hex << h << std::dec << " x " << xv << " at " << at;
      }
    }
  }
}

// The integer kernels of the wasm and plain builds sum each (row, token) pair in ref::dot_q8_0's
// order, to the bit; AVX2 sums eight lanes at a time.
#if defined(__AVX2__) && !defined(__wasm_simd128__)
constexpr bool kQuantizedExact = false;
#else
constexpr bool kQuantizedExact = true;
#endif

TEST(Kernels, MatmulMatchesReferenceForEveryTypeAndBatch) {
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0,
                          TensorType::Q5_1, TensorType::BF16, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    // The integer kernels sum to the bit as their references do, except in a -march=native build:
    // AVX2's Q8_0 / Q4_0 sum in another order, and the compiler may fuse the float steps into FMAs.
    const bool old_quantized = type == TensorType::Q8_0 || type == TensorType::Q4_0;
    const bool exact = kQuantizedExact && (old_quantized || (is_new_type(type) && type != TensorType::BF16));
    const int64_t block = tensor_type_traits(uint32_t(type)).block_size;
    const std::vector<int> col_counts = block == 256  ? std::vector<int>{256, 512, 1280}
                                        : block == 32 ? std::vector<int>{32, 96, 160, 2048}
                                                      : std::vector<int>{5, 32, 37, 100, 160};
    for (int cols : col_counts) {
      for (int rows : {1, 3, 5, 13}) {
        const int max_tokens = 9;
        test::TensorSpec spec{"w", {cols, rows}, type, randn(size_t(cols * rows), uint32_t(11 + cols + rows))};
        const auto bytes = is_new_type(type) ? random_blocks(type, rows, cols, uint32_t(11 + cols + rows)) : test::encode(spec);
        Weight w;
        w.type = type;
        w.data = bytes.data();
        w.cols = cols;
        w.rows = rows;
        w.row_bytes = bytes.size() / size_t(rows);
        const auto x = randn(size_t(max_tokens * (cols + 3)), 12, 2.0f);
        MatmulScratch s;
        s.reserve(max_tokens, cols);
        ASSERT_EQ(s.bytes(), MatmulScratch::bytes_for(max_tokens, cols));
        for (int tokens : {1, 2, 3, 4, 5, 7, 9}) {
          const int64_t x_stride = cols + 3, y_stride = rows + 2;
          std::vector<float> y(size_t(tokens * y_stride), -1.0f), yr(y.size(), -1.0f);
          matmul(w, x.data(), x_stride, tokens, y.data(), y_stride, s);
          matmul_reference(w, x.data(), x_stride, tokens, yr.data(), y_stride);
          for (size_t i = 0; i < y.size(); i++) {
            const std::string where = tensor_type_name(uint32_t(type)) + " " + std::to_string(rows) + "x" +
                                      std::to_string(cols) + " tokens " + std::to_string(tokens) + " at " + std::to_string(i);
            if (exact) ASSERT_EQ(y[i], yr[i]) << where;
            else ASSERT_NEAR(y[i], yr[i], 1e-4f * (1 + std::fabs(yr[i]))) << where;
          }
          // Each token alone (as decode computes it) gives the same numbers to the bit.
          for (int t = 0; t < tokens; t++) {
            std::vector<float> one(static_cast<size_t>(rows));
            matmul(w, x.data() + t * x_stride, x_stride, 1, one.data(), rows, s);
            for (int r = 0; r < rows; r++) {
              ASSERT_EQ(one[size_t(r)], y[size_t(t * y_stride + r)]) << tensor_type_name(uint32_t(type)) << " token " << t;
            }
          }
        }
      }
    }
  }
}

TEST(Kernels, QuantizedActivationsAreQuantizeRowQ8_0) {
  const int cols = 96, tokens = 3;
  auto x = randn(size_t(tokens * cols), 27, 3.0f);
  x[5] = 0.5f * (x[0] + 1.0f);  // whatever the values, scales and sums follow the reference quantizer
  std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block: d = 0
  QuantizedActivations q;
  q.reserve(tokens, cols);
  q.quantize(x.data(), cols, tokens, cols);
  for (int t = 0; t < tokens; t++) {
    std::vector<BlockQ8_0> blocks(cols / 32);
    quantize_row_q8_0(x.data() + t * cols, blocks.data(), cols);
    for (int b = 0; b < cols / 32; b++) {
      int32_t sum = 0;
      for (int j = 0; j < 32; j++) sum += blocks[size_t(b)].qs[j];
      EXPECT_EQ(q.scales(b)[t], fp16_to_fp32(blocks[size_t(b)].d));
      EXPECT_EQ(q.sums8(b)[t], 8 * sum);
      std::vector<int> got(q.values(t) + b * 32, q.values(t) + b * 32 + 32), want(blocks[size_t(b)].qs, blocks[size_t(b)].qs + 32);
      std::sort(got.begin(), got.end());  // the layout inside a block is the kernels' business
      std::sort(want.begin(), want.end());
      EXPECT_EQ(got, want) << "token " << t << " block " << b;
    }
  }
}

// The references against the float dot of the dequantized weights and activations: the layouts
// as dequantize_row reads them and as the integer dots read them must be the same.
TEST(Kernels, NewTypeReferencesAgreeWithDequantizedFloatDot) {
  for (TensorType type : {TensorType::Q5_0, TensorType::Q5_1, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    for (int n : {256, 768}) {
      const auto w = random_blocks(type, 1, n, uint32_t(n) + uint32_t(type));
      const auto x = randn(size_t(n), 31, 2.0f);
      std::vector<float> wf(static_cast<size_t>(n)), xf(static_cast<size_t>(n));
      dequantize_row(type, w.data(), wf.data(), n);
      float got = 0.0f;
      if (type == TensorType::Q5_0) {
        std::vector<BlockQ8_0> xq(size_t(n / 32));
        quantize_row_q8_0(x.data(), xq.data(), n);
        dequantize_row(TensorType::Q8_0, xq.data(), xf.data(), n);
        got = ref::dot_q5_0(reinterpret_cast<const BlockQ5_0*>(w.data()), xq.data(), n / 32);
      } else if (type == TensorType::Q5_1) {
        std::vector<BlockQ8_1> xq(size_t(n / 32));
        quantize_row_q8_1(x.data(), xq.data(), n);
        for (int b = 0; b < n / 32; b++) {
          int sum = 0;
          for (int j = 0; j < 32; j++) xf[size_t(b * 32 + j)] = fp16_to_fp32(xq[size_t(b)].d) * xq[size_t(b)].qs[j], sum += xq[size_t(b)].qs[j];
          EXPECT_NEAR(fp16_to_fp32(xq[size_t(b)].s), fp16_to_fp32(xq[size_t(b)].d) * float(sum), 2e-3f * std::fabs(float(sum)) + 1e-3f);
        }
        // m * s stands for m * d * sum(q): s is rounded to f16, so compare with that rounding's slack.
        got = ref::dot_q5_1(reinterpret_cast<const BlockQ5_1*>(w.data()), xq.data(), n / 32);
      } else {
        std::vector<BlockQ8_K> xq(size_t(n / 256));
        quantize_row_q8_K(x.data(), xq.data(), n);
        for (int b = 0; b < n / 256; b++) {
          for (int j = 0; j < 256; j++) xf[size_t(b * 256 + j)] = xq[size_t(b)].d * float(xq[size_t(b)].qs[j]);
        }
        if (type == TensorType::Q4_K) got = ref::dot_q4_K(reinterpret_cast<const BlockQ4_K*>(w.data()), xq.data(), n / 256);
        if (type == TensorType::Q5_K) got = ref::dot_q5_K(reinterpret_cast<const BlockQ5_K*>(w.data()), xq.data(), n / 256);
        if (type == TensorType::Q6_K) got = ref::dot_q6_K(reinterpret_cast<const BlockQ6_K*>(w.data()), xq.data(), n / 256);
      }
      double want = 0.0, mag = 0.0;
      for (int i = 0; i < n; i++) want += double(wf[size_t(i)]) * double(xf[size_t(i)]), mag += std::fabs(double(wf[size_t(i)]) * double(xf[size_t(i)]));
      const double slack = type == TensorType::Q5_1 ? 2e-3 : 1e-5;
      EXPECT_NEAR(got, want, slack * mag + 1e-4) << tensor_type_name(uint32_t(type)) << " n " << n;
    }
  }
}

TEST(Kernels, QuantizeRowQ8_KFollowsGgml) {
  std::vector<float> x = randn(512, 41, 3.0f);
  x[7] = 20.0f;    // block 0: the largest magnitude is positive, so d < 0 and it maps to -127
  x[300] = -127.0f;  // block 1: negative, d > 0 (here 1: the scale -127 / max is exact)
  x[301] = 60.5f;    // ties round to even
  x[302] = 61.5f;
  std::vector<BlockQ8_K> q(2);
  quantize_row_q8_K(x.data(), q.data(), 512);
  EXPECT_EQ(q[0].qs[7], -127);
  EXPECT_LT(q[0].d, 0.0f);
  EXPECT_EQ(q[1].qs[300 - 256], -127);
  EXPECT_EQ(q[1].d, 1.0f);
  EXPECT_EQ(q[1].qs[301 - 256], 60);
  EXPECT_EQ(q[1].qs[302 - 256], 62);
  for (int b = 0; b < 2; b++) {
    for (int g = 0; g < 16; g++) {
      int sum = 0;
      for (int j = 0; j < 16; j++) sum += q[size_t(b)].qs[16 * g + j];
      EXPECT_EQ(q[size_t(b)].bsums[g], sum);
    }
  }
  std::vector<float> zeros(256, 0.0f);
  quantize_row_q8_K(zeros.data(), q.data(), 256);
  EXPECT_EQ(q[0].d, 0.0f);
  EXPECT_EQ(q[0].qs[0], 0);
}

TEST(Kernels, KActivationsAreQuantizeRowQ8_K) {
  const int cols = 2048, tokens = 3;
  auto x = randn(size_t(tokens * cols), 43, 3.0f);
  // Blocks the SIMD quantizer must treat as quantize_row_q8_K does (token 0, blocks 1 ..):
  float* b1 = &x[256];
  std::fill(b1, b1 + 256, 0.0f);  // all zero: d = 0
  float* b2 = &x[512];
  b2[9] = -8.0f, b2[200] = 8.0f;  // two values of largest magnitude: the first (negative) one wins
  float* b3 = &x[768];
  b3[3] = -127.0f;  // d = 1: halves on the grid tie, and round to even
  for (int j = 10; j < 40; j++) b3[j] = float(j) + 0.5f;
  float* b4 = &x[1024];
  b4[17] = std::nanf(""), b4[18] = 40.0f;  // NaN never wins the largest magnitude; its q is clamped to 127
  float* b5 = &x[1280];
  b5[5] = -INFINITY, b5[6] = INFINITY;  // d = inf and the q of infinities clamped, as in the scalar code
  float* b6 = &x[1536];
  std::fill(b6, b6 + 256, std::nanf(""));  // only NaN: a zero block, as the scalar loop finds no magnitude
  const auto same_float = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  KActivations k;
  k.reserve(tokens, cols);
  EXPECT_EQ(k.bytes(), KActivations::bytes_for(tokens, cols));
  k.quantize(x.data(), cols, tokens, cols);
  for (int t = 0; t < tokens; t++) {
    std::vector<BlockQ8_K> blocks(cols / 256);
    quantize_row_q8_K(x.data() + t * cols, blocks.data(), cols);
    for (int b = 0; b < cols / 256; b++) {
      EXPECT_TRUE(same_float(k.scales(t)[b], blocks[size_t(b)].d)) << "token " << t << " block " << b;
      for (int s = 0; s < 8; s++) EXPECT_EQ(k.sums32(t)[b * 8 + s], blocks[size_t(b)].bsums[2 * s] + blocks[size_t(b)].bsums[2 * s + 1]);
      for (int g = 0; g < 16; g++) EXPECT_EQ(k.sums16(t)[b * 16 + g], blocks[size_t(b)].bsums[g]) << "group " << g;
      for (int j = 0; j < 256; j++) EXPECT_EQ(k.values(t)[b * 256 + j], blocks[size_t(b)].qs[j]) << "token " << t << " value " << j;
      // The wasm kernels' int16 pairs: each 16 values as the 8 at even places, then the 8 at odd places.
      for (int j = 0; j < 256; j++) {
        EXPECT_EQ(k.pairs(t)[b * 256 + j / 16 * 16 + (j % 2) * 8 + (j % 16) / 2], blocks[size_t(b)].qs[j]) << "token " << t << " value " << j;
      }
    }
  }
}

TEST(Kernels, Bf16RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  const float tie_down = bf16_to_fp32(0x3f80) + std::ldexp(1.0f, -8);  // halfway to 0x3f81: stays even
  EXPECT_EQ(fp32_to_bf16(tie_down), 0x3f80);
  const float tie_up = bf16_to_fp32(0x3f81) + std::ldexp(1.0f, -8);  // halfway to 0x3f82: goes even
  EXPECT_EQ(fp32_to_bf16(tie_up), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
}

// The test encoders (gguf_builder.h) write what dequantize_row reads back: each value within about
// one quantization step of where it started.
TEST(Kernels, NewTypeEncodersRoundTripThroughDequantize) {
  for (TensorType type : {TensorType::Q5_0, TensorType::Q5_1, TensorType::BF16, TensorType::Q4_K, TensorType::Q5_K,
                          TensorType::Q6_K}) {
    const int n = 1024;
    test::TensorSpec spec{"w", {n}, type, randn(size_t(n), 51)};
    const auto bytes = test::encode(spec);
    ASSERT_EQ(bytes.size(), size_t(n / tensor_type_traits(uint32_t(type)).block_size * tensor_type_traits(uint32_t(type)).block_bytes));
    std::vector<float> back(static_cast<size_t>(n));
    dequantize_row(type, bytes.data(), back.data(), n);
    const float bound = type == TensorType::BF16 ? 0.02f : type == TensorType::Q4_K ? 0.45f : 0.25f;
    for (int i = 0; i < n; i++) ASSERT_NEAR(back[size_t(i)], spec.values[size_t(i)], bound) << tensor_type_name(uint32_t(type)) << " " << i;
  }
}

// The widened prefill tiles hold weights as int16 (the K-quants' already times their sub-block
// scales) and sum them in int32 lanes: blocks at the extremes of every field, against activations
// that all quantize to +-127, must still give the references' exact integers, in a batch and alone.
TEST(Kernels, WidenedTilesStayExactAtTheExtremes) {
  for (TensorType type : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q4_K,
                          TensorType::Q5_K, TensorType::Q6_K}) {
    const TensorTypeTraits tt = tensor_type_traits(uint32_t(type));
    const int cols = int(tt.block_size) * (tt.block_size == 256 ? 3 : 9), rows = 6;
    for (const bool high : {true, false}) {  // every quantized value at its largest, or at its smallest
      std::vector<uint8_t> bytes(size_t(rows) * size_t(cols / tt.block_size * tt.block_bytes), high ? 0xff : 0x00);
      const auto put = [&](size_t at, float v) {
        const uint16_t h = fp32_to_fp16(v);
        std::memcpy(&bytes[at], &h, 2);
      };
      for (size_t at = 0; at < bytes.size(); at += size_t(tt.block_bytes)) {
        switch (type) {
          case TensorType::Q8_0: std::memset(&bytes[at + 2], high ? 0x7f : 0x81, 32), put(at, 0.01f); break;  // +-127
          case TensorType::Q5_1: put(at, 0.01f), put(at + 2, -0.1f); break;
          case TensorType::Q4_K:
          case TensorType::Q5_K:  // every scale and min 63
            std::memset(&bytes[at + 4], 0xff, 12), put(at, 0.001f), put(at + 2, 0.002f);
            break;
          case TensorType::Q6_K:  // every scale -128: weights 31 * -128 (high) or -32 * -128
            std::memset(&bytes[at + 192], 0x80, 16), put(at + 208, 0.0005f);
            break;
          default: put(at, 0.01f); break;
        }
      }
      Weight w;
      w.type = type;
      w.data = bytes.data();
      w.cols = cols;
      w.rows = rows;
      w.row_bytes = bytes.size() / size_t(rows);
      const int max_tokens = 7;
      std::vector<float> x(size_t(max_tokens * cols));
      for (int t = 0; t < max_tokens; t++) {
        for (int i = 0; i < cols; i++) x[size_t(t * cols + i)] = t % 2 ? -3.0f : 3.0f;  // every q at +-127
      }
      MatmulScratch s;
      s.reserve(max_tokens, cols);
      std::vector<float> y(size_t(max_tokens * rows)), yr(y.size()), one(static_cast<size_t>(rows));
      matmul(w, x.data(), cols, max_tokens, y.data(), rows, s);
      matmul_reference(w, x.data(), cols, max_tokens, yr.data(), rows);
      const bool exact = kQuantizedExact || !(type == TensorType::Q8_0 || type == TensorType::Q4_0);
      for (size_t i = 0; i < y.size(); i++) {
        const std::string where = tensor_type_name(uint32_t(type)) + (high ? " high" : " low") + " at " + std::to_string(i);
        ASSERT_TRUE(std::isfinite(yr[i]) && yr[i] != 0.0f) << where;
        if (exact) ASSERT_EQ(y[i], yr[i]) << where;
        else ASSERT_NEAR(y[i], yr[i], 1e-4f * std::fabs(yr[i])) << where;
      }
      for (int t = 0; t < max_tokens; t++) {
        matmul(w, x.data() + t * cols, cols, 1, one.data(), rows, s);
        for (int r = 0; r < rows; r++) ASSERT_EQ(one[size_t(r)], y[size_t(t * rows + r)]) << tensor_type_name(uint32_t(type)) << " token " << t;
      }
    }
  }
}

// Q4_K rows repacked at load (quant.h: repack_q4_K): the same bits as the file's layout and the scalar
// reference, for row counts that leave 1-3 rows past the last group of 4, every field of a block at
// its extremes (d and dmin at the largest f16, the smallest subnormal, zero; every scale and min 63 or
// 0; every nibble 15 or 0) against activations at +-127, decode and prefill batches.
TEST(Kernels, RepackedQ4_KMatchesTheFileLayoutAndTheReference) {
  const uint16_t halves[] = {0x7bff, 0xfbff, 0x0001, 0x8001, 0x0000, 0x3c00};  // +-65504, +-2^-24, 0, 1
  for (int cols : {256, 512, 1280}) {
    for (int rows : {1, 3, 4, 5, 8, 13, 18}) {
      auto bytes = random_blocks(TensorType::Q4_K, rows, cols, uint32_t(5 + cols + rows));
      std::mt19937 rng(uint32_t(cols * 31 + rows));
      for (size_t at = 0; at < bytes.size(); at += sizeof(BlockQ4_K)) {
        BlockQ4_K& b = *reinterpret_cast<BlockQ4_K*>(&bytes[at]);
        switch (rng() % 4) {
          case 0: break;  // random
          case 1: std::memset(b.scales, 0xff, 12), std::memset(b.qs, 0xff, 128); break;  // scales, mins, values at 63, 63, 15
          case 2: std::memset(b.scales, 0x00, 12), std::memset(b.qs, rng() % 2 ? 0xff : 0x00, 128); break;
          default: std::memset(b.scales, rng() % 2 ? 0xff : 0x00, 12); break;
        }
        if (rng() % 3 == 0) b.d = halves[rng() % 6], b.dmin = halves[rng() % 6];
      }
      Weight file;
      file.type = TensorType::Q4_K, file.data = bytes.data(), file.cols = cols, file.rows = rows;
      file.row_bytes = bytes.size() / size_t(rows);
      std::vector<uint8_t> packed_bytes = bytes;
      Weight packed = file;
      packed.data = packed_bytes.data();
      // Repacked in every build whose default kernels read the layout: natively (SSE4.1) and in the
      // default wasm build; not in the relaxed build (its kernels read the file's layout).
      const bool repacked = repack_weight(&packed, packed_bytes.data());
      ASSERT_EQ(repacked, packed.repacked);
      if (repacking_pays(TensorType::Q4_K)) ASSERT_TRUE(repacked);
#if defined(__SSE4_1__) && !defined(__wasm_simd128__)
      ASSERT_TRUE(repacked);
#endif
      if (repacked && rows >= 4) ASSERT_NE(packed_bytes, bytes);
      // The repacked groups unpack to the file's rows; the rows past the last group are untouched.
      std::vector<uint8_t> rows4(4 * file.row_bytes);
      for (int g = 0; g + 4 <= rows && packed.repacked; g += 4) {
        unpack_q4_K_group(packed.row(g), cols, rows4.data());
        ASSERT_EQ(0, std::memcmp(rows4.data(), file.row(g), rows4.size())) << rows << "x" << cols << " group " << g;
      }
      ASSERT_EQ(0, std::memcmp(packed.row(rows / 4 * 4), file.row(rows / 4 * 4), size_t(rows % 4) * file.row_bytes));

      const int max_tokens = 9;
      std::vector<float> x = randn(size_t(max_tokens * cols), uint32_t(cols + rows), 2.0f);
      for (int i = 0; i < cols; i++) x[size_t(i)] = i % 3 ? 3.0f : -3.0f;  // token 0: every q at +-127
      MatmulScratch s;
      s.reserve(max_tokens, cols);
      for (int tokens : {1, 2, 3, 5, 9}) {
        std::vector<float> y(size_t(tokens * rows)), yf(y.size()), yr(y.size()), yrp(y.size());
        matmul(packed, x.data(), cols, tokens, y.data(), rows, s);
        matmul(file, x.data(), cols, tokens, yf.data(), rows, s);
        matmul_reference(file, x.data(), cols, tokens, yr.data(), rows);
        matmul_reference(packed, x.data(), cols, tokens, yrp.data(), rows);
        for (size_t i = 0; i < y.size(); i++) {
          const std::string where = std::to_string(rows) + "x" + std::to_string(cols) + " tokens " + std::to_string(tokens) +
                                    " at " + std::to_string(i);
          ASSERT_EQ(yrp[i], yr[i]) << where;
          if (kQuantizedExact) {
            ASSERT_EQ(y[i], yf[i]) << where;
            ASSERT_EQ(y[i], yr[i]) << where;
          } else {  // -march=native: the compiler may fuse the float steps into FMAs
            ASSERT_NEAR(y[i], yr[i], 1e-4f * (1 + std::fabs(yr[i]))) << where;
          }
        }
        for (int t = 0; t < tokens; t++) {  // each token alone, as decode computes it
          std::vector<float> one(static_cast<size_t>(rows));
          matmul(packed, x.data() + t * cols, cols, 1, one.data(), rows, s);
          for (int r = 0; r < rows; r++) ASSERT_EQ(one[size_t(r)], y[size_t(t * rows + r)]) << rows << "x" << cols << " token " << t;
        }
      }
    }
  }
}
