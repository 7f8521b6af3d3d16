// Every SIMD kernel against its scalar reference, on lengths that are not multiples of the
// vector width or the block size.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gguf_builder.h"
#include "kernels.h"
#include "matmul.h"
#include "quant.h"

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

}  // namespace

TEST(Kernels, DotMatchesReference) {
  for (int n : kLengths) {
    const auto a = randn(size_t(n), 1), b = randn(size_t(n), 2);
    EXPECT_NEAR(simd::dot(a.data(), b.data(), n), ref::dot(a.data(), b.data(), n), 1e-4f * std::sqrt(float(n))) << n;
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

TEST(Kernels, QuantizedDotsMatchReference) {
  for (int blocks : {1, 2, 3, 7, 24}) {
    const int n = blocks * 32;
    const auto w = randn(size_t(n), 7), x = randn(size_t(n), 8, 4.0f);
    std::vector<BlockQ8_0> wq(static_cast<size_t>(blocks)), xq(static_cast<size_t>(blocks));
    quantize_row_q8_0(w.data(), wq.data(), n);
    quantize_row_q8_0(x.data(), xq.data(), n);
    const float r8 = ref::dot_q8_0(wq.data(), xq.data(), blocks);
    EXPECT_NEAR(simd::dot_q8_0(wq.data(), xq.data(), blocks), r8, 1e-4f * (1 + std::fabs(r8))) << n;
    // Quantized to 8 bits, the dot is still close to the float one.
    EXPECT_NEAR(r8, ref::dot(w.data(), x.data(), n), 0.02f * std::sqrt(float(n)) * 4.0f);

    test::TensorSpec spec{"w", {n}, TensorType::Q4_0, w};
    const auto q4 = test::encode(spec);
    const auto* w4 = reinterpret_cast<const BlockQ4_0*>(q4.data());
    const float r4 = ref::dot_q4_0(w4, xq.data(), blocks);
    EXPECT_NEAR(simd::dot_q4_0(w4, xq.data(), blocks), r4, 1e-4f * (1 + std::fabs(r4))) << n;
  }
}

TEST(Kernels, F16DotMatchesReference) {
  for (int n : kLengths) {
    const auto w = randn(size_t(n), 9), x = randn(size_t(n), 10);
    std::vector<uint16_t> h(static_cast<size_t>(n));
    std::vector<float> wf(static_cast<size_t>(n)), xr(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) h[size_t(i)] = fp32_to_fp16(w[size_t(i)]);
    fp16_to_fp32_row(h.data(), wf.data(), n);
    round_to_fp16(x.data(), xr.data(), n);
    const float r = ref::dot(wf.data(), xr.data(), n);
    EXPECT_NEAR(simd::dot_f16(h.data(), xr.data(), n), r, 1e-4f * std::sqrt(float(n))) << n;
  }
}

TEST(Kernels, MatmulMatchesReferenceForEveryTypeAndBatch) {
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0}) {
    for (int cols : {32, 96, 160}) {
      const int rows = 13, tokens = 5;
      test::TensorSpec spec{"w", {cols, rows}, type, randn(size_t(cols * rows), 11)};
      const auto bytes = test::encode(spec);
      Weight w;
      w.type = type;
      w.data = bytes.data();
      w.cols = cols;
      w.rows = rows;
      w.row_bytes = bytes.size() / size_t(rows);
      const auto x = randn(size_t(tokens * cols), 12);
      std::vector<float> y(size_t(tokens * rows)), yr(size_t(tokens * rows));
      MatmulScratch s;
      s.reserve(tokens, cols);
      matmul(w, x.data(), cols, tokens, y.data(), rows, s);
      matmul_reference(w, x.data(), cols, tokens, yr.data(), rows);
      for (size_t i = 0; i < y.size(); i++) {
        ASSERT_NEAR(y[i], yr[i], 1e-4f * (1 + std::fabs(yr[i]))) << tensor_type_name(uint32_t(type)) << " cols " << cols << " at " << i;
      }
    }
  }
}
