#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>

#include "kernels/float_kernels.h"
#include "kernels/quant.h"

namespace ringlm {

namespace {

// ---------------------------------------------------------------------------------------------
// Preparing the activations, in each form a weight type may ask for
// ---------------------------------------------------------------------------------------------

Activations float_activations(const float* floats, int64_t stride, int n_tokens, int64_t cols) {
  Activations a;
  a.n_tokens = n_tokens;
  a.cols = cols;
  a.floats = floats;
  a.stride = stride;
  return a;
}

// F32 weights: the activations as they are.
Activations as_floats(const float* x, int64_t stride, int n_tokens, int64_t cols, MatmulScratch&, Threads) {
  return float_activations(x, stride, n_tokens, cols);
}

// Quantized forms: blocks in `q8` or `q8k`, set by the caller.
Activations block_activations(int n_tokens, int64_t cols) { return float_activations(nullptr, 0, n_tokens, cols); }

// Each form is prepared token by token (Threads::for_rows: a batch split across the threads, one
// token on the caller), so a token's prepared values do not depend on who prepares them.

// F16 / BF16 weights: each activation rounded to the weights' precision (llama.cpp's F16 matmul
// works in float after rounding its activations to f16).
template <void (*Round)(const float*, float*, int64_t)>
Activations rounded(const float* x, int64_t stride, int n_tokens, int64_t cols, MatmulScratch& s, Threads threads) {
  threads.for_rows(n_tokens, cols, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; t++) Round(x + t * stride, &s.rounded[size_t(t) * size_t(cols)], cols);
  });
  return float_activations(s.rounded.data(), cols, n_tokens, cols);
}

// Q8_0 blocks (Q8_0, Q4_0, Q5_0 weights; Q5_1 reads Q8_1's sums, computed alongside).
Activations q8_0_blocks(const float* x, int64_t stride, int n_tokens, int64_t cols, MatmulScratch& s, Threads threads) {
  s.quantized.set_shape(n_tokens, cols);
  threads.for_rows(n_tokens, cols, [&](int64_t begin, int64_t end, int) {
    s.quantized.quantize_tokens(x, stride, int(begin), int(end));
  });
  Activations a = block_activations(n_tokens, cols);
  a.q8 = &s.quantized;
  return a;
}

// Q8_K blocks (the K-quants).
Activations q8_K_blocks(const float* x, int64_t stride, int n_tokens, int64_t cols, MatmulScratch& s, Threads threads) {
  s.kquantized.set_shape(n_tokens, cols);
  threads.for_rows(n_tokens, cols, [&](int64_t begin, int64_t end, int) {
    s.kquantized.quantize_tokens(x, stride, int(begin), int(end));
  });
  Activations a = block_activations(n_tokens, cols);
  a.q8k = &s.kquantized;
  return a;
}

// ---------------------------------------------------------------------------------------------
// Scalar references: x prepared as llama.cpp's reference code prepares it, then a plain dot
// (tests only: they allocate).
// ---------------------------------------------------------------------------------------------

void copy_row(const float* x, float* out, int64_t n) { std::memcpy(out, x, size_t(n) * sizeof(float)); }

template <void (*Round)(const float*, float*, int64_t), void (*Dequantize)(const uint8_t*, float*, int64_t)>
float float_reference(const uint8_t* row, const float* x, int64_t n) {
  std::vector<float> xr(static_cast<size_t>(n)), w(static_cast<size_t>(n));
  Round(x, xr.data(), n);
  Dequantize(row, w.data(), n);
  return ref::dot(w.data(), xr.data(), n);
}

template <typename XBlock, typename WBlock>
float run_quantized_reference(void (*quantize)(const float*, XBlock*, int64_t),
                              float (*dot)(const WBlock*, const XBlock*, int64_t), const uint8_t* row, const float* x,
                              int64_t n) {
  constexpr int64_t kValues = sizeof(XBlock::qs);  // values per activation block (and per weight block)
  std::vector<XBlock> xq(static_cast<size_t>(n / kValues + 1));
  quantize(x, xq.data(), n);
  return dot(reinterpret_cast<const WBlock*>(row), xq.data(), n / kValues);
}

template <auto Quantize, auto Dot>
float quantized_reference(const uint8_t* row, const float* x, int64_t n) {
  return run_quantized_reference(Quantize, Dot, row, x, n);
}

// ---------------------------------------------------------------------------------------------
// The table: one row per weight type ringlm computes with
// ---------------------------------------------------------------------------------------------

// The Q4_0 and K-quant decode kernels: the relaxed-SIMD build's (RINGLM_RELAXED_SIMD: this file compiled a
// second time for ringlm-relaxed.wasm, beside quant_relaxed.cpp) or the default ones. Same bits.
#if defined(RINGLM_RELAXED_SIMD)
constexpr const TileKernel *kQ4_0DecodeKernel = &kQ4_0RelaxedDecode, *kQ4_KDecodeKernel = &kQ4_KRelaxedDecode,
                           *kQ5_KDecodeKernel = &kQ5_KRelaxedDecode, *kQ6_KDecodeKernel = &kQ6_KRelaxedDecode;
#else
constexpr const TileKernel *kQ4_0DecodeKernel = &kQ4_0Decode, *kQ4_KDecodeKernel = &kQ4_KTile, *kQ5_KDecodeKernel = &kQ5_KTile,
                           *kQ6_KDecodeKernel = &kQ6_KTile;
#endif

// The repacked layouts (repack_weight), in the builds that have their kernels.
#if defined(__SSE4_1__) && !defined(RINGLM_RELAXED_SIMD)
constexpr RepackedKernels kQ4_KRepacked = {4, repack_q4_K, unpack_q4_K_group, &kQ4_KRepackedDecode, &kQ4_KRepackedPrefill};
constexpr const RepackedKernels* kQ4_KRepacking = &kQ4_KRepacked;
#else
constexpr const RepackedKernels* kQ4_KRepacking = nullptr;
#endif

constexpr WeightKernels kWeightKernels[] = {
  // type            activations              decode        prefill        scalar reference                                     dequantizer
  {TensorType::F32,  as_floats,               &kF32Decode,  &kF32Prefill,  float_reference<copy_row, dequantize_f32>,           dequantize_f32},
  {TensorType::F16,  rounded<simd::round_to_fp16_scaled>, &kF16Decode,  &kF16Prefill,  float_reference<round_to_fp16, dequantize_f16>,      dequantize_f16},
  {TensorType::BF16, rounded<round_to_bf16>,  &kBF16Decode, &kBF16Prefill, float_reference<round_to_bf16, dequantize_bf16>,     dequantize_bf16},
  {TensorType::Q8_0, q8_0_blocks,             &kQ8_0Decode, &kQ8_0Prefill, quantized_reference<quantize_row_q8_0, ref::dot_q8_0>, dequantize_q8_0},
  {TensorType::Q4_0, q8_0_blocks,             kQ4_0DecodeKernel, &kQ4_0Prefill, quantized_reference<quantize_row_q8_0, ref::dot_q4_0>, dequantize_q4_0},
  {TensorType::Q5_0, q8_0_blocks,             &kQ5_0Tile,   &kQ5_0Prefill, quantized_reference<quantize_row_q8_0, ref::dot_q5_0>, dequantize_q5_0},
  {TensorType::Q5_1, q8_0_blocks,             &kQ5_1Tile,   &kQ5_1Prefill, quantized_reference<quantize_row_q8_1, ref::dot_q5_1>, dequantize_q5_1},
  {TensorType::Q4_K, q8_K_blocks,             kQ4_KDecodeKernel, &kQ4_KPrefill, quantized_reference<quantize_row_q8_K, ref::dot_q4_K>, dequantize_q4_K, kQ4_KRepacking},
  {TensorType::Q5_K, q8_K_blocks,             kQ5_KDecodeKernel, &kQ5_KPrefill, quantized_reference<quantize_row_q8_K, ref::dot_q5_K>, dequantize_q5_K},
  {TensorType::Q6_K, q8_K_blocks,             kQ6_KDecodeKernel, &kQ6_KPrefill, quantized_reference<quantize_row_q8_K, ref::dot_q6_K>, dequantize_q6_K},
};

// Bytes of the largest group of rows any tile kernel widens, for rows of `cols` values.
uint64_t widened_bytes(int64_t cols) {
  uint64_t most = 0;
  for (const WeightKernels& k : kWeightKernels) {
    for (const TileKernel* tile : {k.decode, k.prefill}) {
      if (tile->widened_bytes) most = std::max(most, tile->widened_bytes(cols));
    }
  }
  return most;
}

uint64_t widened_floats(int64_t cols) { return (widened_bytes(cols) + sizeof(float) - 1) / sizeof(float); }

}  // namespace

const WeightKernels* weight_kernels(TensorType type) {
  for (const WeightKernels& k : kWeightKernels) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

std::string weight_kernel_type_names() {
  std::string names;
  for (const WeightKernels& k : kWeightKernels) names += (names.empty() ? "" : ", ") + tensor_type_name(uint32_t(k.type));
  return names;
}

void dequantize_row(TensorType type, const void* row, float* out, int64_t n) {
  const WeightKernels* k = weight_kernels(type);
  if (k) k->dequantize(static_cast<const uint8_t*>(row), out, n);
  else std::fill_n(out, n, 0.0f);  // callers only pass types with kernels (the model loader checks)
}

// ---------------------------------------------------------------------------------------------
// Scratch
// ---------------------------------------------------------------------------------------------

void MatmulScratch::reserve(int max_tokens, int64_t max_cols, int threads) {
  rounded.assign(size_t(max_tokens) * size_t(max_cols), 0.0f);
  quantized.reserve(max_tokens, max_cols);
  kquantized.reserve(max_tokens, max_cols);
  per_thread.resize(size_t(std::max(1, threads)));
  for (PerThread& t : per_thread) t.widened.assign(size_t(widened_floats(max_cols)), 0.0f);
}

uint64_t MatmulScratch::bytes() const {
  uint64_t b = rounded.size() * sizeof(float) + quantized.bytes() + kquantized.bytes();
  for (const PerThread& t : per_thread) b += t.widened.size() * sizeof(float);
  return b;
}

uint64_t MatmulScratch::bytes_for(int max_tokens, int64_t max_cols, int threads) {
  return uint64_t(max_tokens) * uint64_t(max_cols) * sizeof(float) +                     // rounded
         QuantizedActivations::bytes_for(max_tokens, max_cols) +                          // quantized
         KActivations::bytes_for(max_tokens, max_cols) +                                  // kquantized
         uint64_t(std::max(1, threads)) * widened_floats(max_cols) * sizeof(float);       // per_thread
}

// ---------------------------------------------------------------------------------------------
// The product: each thread's rows through the type's tiling loop (tile.h)
// ---------------------------------------------------------------------------------------------

namespace {

// Rows per chunk at least, and the alignment of every chunk: a multiple of the kernels' tile height.
constexpr int64_t kRowGrain = 16;
// (A chunk of a repacked weight must start at a group: repack_weight checks group_rows against it.)

// One product of a split: its rows run through `kernel` with activations `a`.
struct Part {
  const Weight* w;
  float* y;
  int64_t y_stride;
  const TileKernel* kernel;
  Activations a;
  int64_t first;  // its first row in the split's numbering
};

// The parts' rows as one range, each part starting at a multiple of kRowGrain (the numbers between
// a part's last row and the next part's first stand for nothing), split across `threads`. A chunk
// may cover the end of one part and the start of the next; each row is still summed by one thread
// in the same order, so the results do not depend on the number of threads.
void split_rows(const Part* parts, int count, MatmulScratch& s, Threads threads) {
  const auto rows = [&](int64_t begin, int64_t end, int thread) {
    uint8_t* widen = reinterpret_cast<uint8_t*>(s.per_thread[size_t(thread)].widened.data());
    for (int p = 0; p < count; p++) {
      const Part& part = parts[p];
      const int64_t r0 = std::max<int64_t>(begin - part.first, 0), r1 = std::min(end - part.first, part.w->rows);
      if (r0 >= r1) continue;
      part.kernel->run(part.w->row(r0), part.w->row_bytes, r1 - r0, part.w->cols, part.a, part.y + r0, part.y_stride,
                       part.a.n_tokens == 1, widen);
    }
  };
  const Part& last = parts[count - 1];
  threads.parallel_for(last.first + last.w->rows, kRowGrain, rows);
}

// Which of MatmulScratch's buffers an activation form is prepared into (0: none, read as they are).
int buffer_of(const WeightKernels& k) {
  return k.prepare == as_floats ? 0 : k.prepare == q8_0_blocks ? 1 : k.prepare == q8_K_blocks ? 2 : 3;  // 3: rounded
}

// The activations of `w` for the tile kernels, prepared unless `ready` (earlier parts of the same
// call) holds them already; false if another form of them is in the buffer this form needs.
bool prepare(const WeightKernels& k, const float* x, int64_t x_stride, int n_tokens, int64_t cols,
             const Part* ready, int n_ready, MatmulScratch& s, Threads threads, Activations* a) {
  for (int p = 0; p < n_ready; p++) {
    const WeightKernels& other = *weight_kernels(ready[p].w->type);
    if (other.prepare == k.prepare) {
      *a = ready[p].a;
      return true;
    }
    if (buffer_of(other) != 0 && buffer_of(other) == buffer_of(k)) return false;  // F16 beside BF16
  }
  *a = k.prepare(x, x_stride, n_tokens, cols, s, threads);
  return true;
}

}  // namespace

void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& s, Threads threads) {
  const MatmulOutput out{&w, y, y_stride};
  matmul_many(&out, 1, x, x_stride, n_tokens, s, threads);
}

void matmul_many(const MatmulOutput* outputs, int count, const float* x, int64_t x_stride, int n_tokens,
                 MatmulScratch& s, Threads threads) {
  threads.count = std::clamp(threads.count, 1, s.threads());  // each thread needs its own widening buffer
  constexpr int kMaxParts = 4;
  if (count > kMaxParts) {  // not used so: split into calls
    matmul_many(outputs, kMaxParts, x, x_stride, n_tokens, s, threads);
    matmul_many(outputs + kMaxParts, count - kMaxParts, x, x_stride, n_tokens, s, threads);
    return;
  }
  Part parts[kMaxParts];
  int n = 0;
  int64_t first = 0;
  for (int i = 0; i < count; i++) {
    const MatmulOutput& o = outputs[i];
    const WeightKernels* k = weight_kernels(o.w->type);
    if (!k) continue;  // the loader admits only types with kernels
    Activations a;
    if (!prepare(*k, x, x_stride, n_tokens, o.w->cols, parts, n, s, threads, &a)) {
      // This form would overwrite an earlier output's prepared activations: finish those first.
      split_rows(parts, n, s, threads);
      matmul_many(outputs + i, count - i, x, x_stride, n_tokens, s, threads);
      return;
    }
    const TileKernel* kernel = n_tokens == 1 ? k->decode : k->prefill;
    if (o.w->repacked) kernel = n_tokens == 1 ? k->repacked->decode : k->repacked->prefill;
    parts[n++] = Part{o.w, o.y, o.y_stride, kernel, a, first};
    first += (o.w->rows + kRowGrain - 1) / kRowGrain * kRowGrain;
  }
  if (n > 0) split_rows(parts, n, s, threads);
}

bool repacking_pays(TensorType type) {
#if defined(__wasm_simd128__) && !defined(RINGLM_RELAXED_SIMD)
  return type == TensorType::Q4_K;
#else
  (void)type;
  return false;
#endif
}

bool repack_weight(Weight* w, uint8_t* data) {
  const WeightKernels* k = weight_kernels(w->type);
  if (!k || !k->repacked || w->repacked || data != w->data || kRowGrain % k->repacked->group_rows != 0) return false;
  std::vector<uint8_t> temp;
  k->repacked->repack(data, w->rows, w->cols, temp);
  w->repacked = true;
  return true;
}

void matmul_reference(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride) {
  const WeightKernels* k = weight_kernels(w.type);
  const int g = w.repacked ? k->repacked->group_rows : 1;
  std::vector<uint8_t> group(w.repacked ? size_t(g) * w.row_bytes : 0);
  for (int64_t r = 0; r < w.rows; r++) {
    const uint8_t* row = w.row(r);
    if (w.repacked && r < w.rows / g * g) {  // the file's row, from its group
      k->repacked->unpack_group(w.row(r / g * g), w.cols, group.data());
      row = &group[size_t(r % g) * w.row_bytes];
    }
    for (int t = 0; t < n_tokens; t++) y[t * y_stride + r] = k ? k->reference(row, x + t * x_stride, w.cols) : 0.0f;
  }
}

}  // namespace ringlm
