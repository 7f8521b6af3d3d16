#include "gguf/tensor_type.h"

#include <algorithm>
#include <cstddef>

namespace ringlm {

TensorTypeTraits tensor_type_traits(uint32_t id) {
  switch (TensorType(id)) {
    case TensorType::F32: return {"F32", 1, 4};
    case TensorType::F16: return {"F16", 1, 2};
    case TensorType::Q4_0: return {"Q4_0", 32, 18};
    case TensorType::Q4_1: return {"Q4_1", 32, 20};
    case TensorType::Q5_0: return {"Q5_0", 32, 22};
    case TensorType::Q5_1: return {"Q5_1", 32, 24};
    case TensorType::Q8_0: return {"Q8_0", 32, 34};
    case TensorType::Q8_1: return {"Q8_1", 32, 36};
    case TensorType::Q2_K: return {"Q2_K", 256, 84};
    case TensorType::Q3_K: return {"Q3_K", 256, 110};
    case TensorType::Q4_K: return {"Q4_K", 256, 144};
    case TensorType::Q5_K: return {"Q5_K", 256, 176};
    case TensorType::Q6_K: return {"Q6_K", 256, 210};
    case TensorType::Q8_K: return {"Q8_K", 256, 292};
    case TensorType::IQ2_XXS: return {"IQ2_XXS", 256, 66};
    case TensorType::IQ2_XS: return {"IQ2_XS", 256, 74};
    case TensorType::IQ3_XXS: return {"IQ3_XXS", 256, 98};
    case TensorType::IQ1_S: return {"IQ1_S", 256, 50};
    case TensorType::IQ4_NL: return {"IQ4_NL", 32, 18};
    case TensorType::IQ3_S: return {"IQ3_S", 256, 110};
    case TensorType::IQ2_S: return {"IQ2_S", 256, 82};
    case TensorType::IQ4_XS: return {"IQ4_XS", 256, 136};
    case TensorType::I8: return {"I8", 1, 1};
    case TensorType::I16: return {"I16", 1, 2};
    case TensorType::I32: return {"I32", 1, 4};
    case TensorType::I64: return {"I64", 1, 8};
    case TensorType::F64: return {"F64", 1, 8};
    case TensorType::IQ1_M: return {"IQ1_M", 256, 56};
    case TensorType::BF16: return {"BF16", 1, 2};
    case TensorType::TQ1_0: return {"TQ1_0", 256, 54};
    case TensorType::TQ2_0: return {"TQ2_0", 256, 66};
  }
  return {nullptr, 0, 0};
}

NonFiniteHalf find_nonfinite_half(TensorType type, const uint8_t* data, uint64_t nbytes) {
  const auto nonfinite = [](uint16_t h) { return (h & 0x7c00) == 0x7c00; };  // exponent all ones
  const auto half_at = [&](uint64_t offset) {
    uint16_t h;
    std::memcpy(&h, data + offset, 2);
    return h;
  };
  NonFiniteHalf found;
  if (data == nullptr) return found;  // a header read without the data (preflight): nothing to look at
  if (type == TensorType::F16) {
    // A pass that only ORs (so it vectorizes), then the search where it found one.
    constexpr uint64_t kChunk = 4096;
    for (uint64_t start = 0; start < nbytes / 2; start += kChunk) {
      const uint64_t end = std::min(nbytes / 2, start + kChunk);
      bool any = false;
      for (uint64_t i = start; i < end; i++) any |= nonfinite(half_at(2 * i));
      if (!any) continue;
      for (uint64_t i = start; i < end; i++) {
        if (nonfinite(half_at(2 * i))) return {int64_t(i), "value"};
      }
    }
    return found;
  }
  struct Field { uint64_t offset; const char* name; };
  Field fields[2] = {};
  int n_fields = 0;
  switch (type) {
    case TensorType::Q8_0: case TensorType::Q4_0: case TensorType::Q5_0:
      fields[n_fields++] = {0, "d"};
      break;
    case TensorType::Q5_1:
      fields[n_fields++] = {offsetof(BlockQ5_1, d), "d"};
      fields[n_fields++] = {offsetof(BlockQ5_1, m), "m"};
      break;
    case TensorType::Q4_K:
      fields[n_fields++] = {offsetof(BlockQ4_K, d), "d"};
      fields[n_fields++] = {offsetof(BlockQ4_K, dmin), "dmin"};
      break;
    case TensorType::Q5_K:
      fields[n_fields++] = {offsetof(BlockQ5_K, d), "d"};
      fields[n_fields++] = {offsetof(BlockQ5_K, dmin), "dmin"};
      break;
    case TensorType::Q6_K:
      fields[n_fields++] = {offsetof(BlockQ6_K, d), "d"};
      break;
    default:
      return found;
  }
  const uint64_t block_bytes = uint64_t(tensor_type_traits(uint32_t(type)).block_bytes);
  for (uint64_t b = 0; b < nbytes / block_bytes; b++) {
    for (int f = 0; f < n_fields; f++) {
      if (nonfinite(half_at(b * block_bytes + fields[f].offset))) return {int64_t(b), fields[f].name};
    }
  }
  return found;
}

std::string tensor_type_name(uint32_t id) {
  const TensorTypeTraits t = tensor_type_traits(id);
  return t.name ? std::string(t.name) : "type " + std::to_string(id);
}

void dequantize_f32(const uint8_t* row, float* out, int64_t n) { std::memcpy(out, row, size_t(n) * 4); }

void dequantize_f16(const uint8_t* row, float* out, int64_t n) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(row);
  for (int64_t i = 0; i < n; i++) out[i] = fp16_to_fp32(h[i]);
}

void dequantize_bf16(const uint8_t* row, float* out, int64_t n) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(row);
  for (int64_t i = 0; i < n; i++) out[i] = bf16_to_fp32(h[i]);
}

void dequantize_q8_0(const uint8_t* row, float* out, int64_t n) {
  const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row);
  for (int64_t i = 0; i < n / 32; i++) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 32; j++) out[i * 32 + j] = d * float(b[i].qs[j]);
  }
}

void dequantize_q4_0(const uint8_t* row, float* out, int64_t n) {
  const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row);
  for (int64_t i = 0; i < n / 32; i++) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 16; j++) {
      out[i * 32 + j] = d * float((b[i].qs[j] & 0x0f) - 8);
      out[i * 32 + j + 16] = d * float((b[i].qs[j] >> 4) - 8);
    }
  }
}

namespace {
// Value j (0..31) of a Q5_0 / Q5_1 block as stored, 0..31: nibble j % 16 topped by bit j of qh.
template <typename Block>
int q5_value(const Block& b, uint32_t qh, int j) {
  const int nibble = j < 16 ? b.qs[j] & 0x0f : b.qs[j - 16] >> 4;
  return nibble | int((qh >> j) & 1) << 4;
}
}  // namespace

void dequantize_q5_0(const uint8_t* row, float* out, int64_t n) {
  const BlockQ5_0* b = reinterpret_cast<const BlockQ5_0*>(row);
  for (int64_t i = 0; i < n / 32; i++) {
    const float d = fp16_to_fp32(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < 32; j++) out[i * 32 + j] = float(q5_value(b[i], qh, j) - 16) * d;
  }
}

void dequantize_q5_1(const uint8_t* row, float* out, int64_t n) {
  const BlockQ5_1* b = reinterpret_cast<const BlockQ5_1*>(row);
  for (int64_t i = 0; i < n / 32; i++) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < 32; j++) out[i * 32 + j] = float(q5_value(b[i], qh, j)) * d + m;
  }
}

namespace {
// Q4_K and Q5_K differ only in the fifth bit (qh); the arithmetic is ggml's: (d sc) q - (dmin m).
template <bool Five>
void dequantize_k4(const uint8_t* row, float* out, int64_t n) {
  const size_t bytes = Five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  for (int64_t i = 0; i < n / kQK; i++) {
    const uint8_t* block = row + size_t(i) * bytes;
    uint16_t hd, hm;
    std::memcpy(&hd, block, 2);
    std::memcpy(&hm, block + 2, 2);
    const float d = fp16_to_fp32(hd), dmin = fp16_to_fp32(hm);
    const uint8_t* scales = block + 4;
    const uint8_t* qh = block + 16;
    const uint8_t* qs = block + (Five ? 48 : 16);
    float* y = out + i * kQK;
    for (int c = 0; c < 4; c++) {
      int sc0, m0, sc1, m1;
      k4_scale_min(scales, 2 * c, &sc0, &m0);
      k4_scale_min(scales, 2 * c + 1, &sc1, &m1);
      const float d0 = d * float(sc0), min0 = dmin * float(m0), d1 = d * float(sc1), min1 = dmin * float(m1);
      for (int l = 0; l < 32; l++) {
        const int lo = (qs[32 * c + l] & 0x0f) + (Five && (qh[l] >> (2 * c)) & 1 ? 16 : 0);
        const int hi = (qs[32 * c + l] >> 4) + (Five && (qh[l] >> (2 * c + 1)) & 1 ? 16 : 0);
        y[64 * c + l] = d0 * float(lo) - min0;
        y[64 * c + 32 + l] = d1 * float(hi) - min1;
      }
    }
  }
}
}  // namespace

void dequantize_q4_K(const uint8_t* row, float* out, int64_t n) { dequantize_k4<false>(row, out, n); }
void dequantize_q5_K(const uint8_t* row, float* out, int64_t n) { dequantize_k4<true>(row, out, n); }

void dequantize_q6_K(const uint8_t* row, float* out, int64_t n) {
  const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(row);
  for (int64_t i = 0; i < n / kQK; i++) {
    const float d = fp16_to_fp32(b[i].d);
    float* y = out + i * kQK;
    for (int h = 0; h < 2; h++) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      for (int l = 0; l < 32; l++) {
        const int g = l / 16;
        const int q0 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
        const int q1 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
        const int q2 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        const int q3 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        y[128 * h + l] = d * float(sc[g]) * float(q0);
        y[128 * h + l + 32] = d * float(sc[g + 2]) * float(q1);
        y[128 * h + l + 64] = d * float(sc[g + 4]) * float(q2);
        y[128 * h + l + 96] = d * float(sc[g + 6]) * float(q3);
      }
    }
  }
}

}  // namespace ringlm
