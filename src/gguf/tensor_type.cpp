#include "gguf/tensor_type.h"

namespace ringlm {

TensorTypeTraits tensor_type_traits(uint32_t id) {
  switch (TensorType(id)) {
    case TensorType::F32: return {"F32", 1, 4, true};
    case TensorType::F16: return {"F16", 1, 2, true};
    case TensorType::Q4_0: return {"Q4_0", 32, 18, true};
    case TensorType::Q4_1: return {"Q4_1", 32, 20, false};
    case TensorType::Q5_0: return {"Q5_0", 32, 22, true};
    case TensorType::Q5_1: return {"Q5_1", 32, 24, true};
    case TensorType::Q8_0: return {"Q8_0", 32, 34, true};
    case TensorType::Q8_1: return {"Q8_1", 32, 36, false};
    case TensorType::Q2_K: return {"Q2_K", 256, 84, false};
    case TensorType::Q3_K: return {"Q3_K", 256, 110, false};
    case TensorType::Q4_K: return {"Q4_K", 256, 144, true};
    case TensorType::Q5_K: return {"Q5_K", 256, 176, true};
    case TensorType::Q6_K: return {"Q6_K", 256, 210, true};
    case TensorType::Q8_K: return {"Q8_K", 256, 292, false};
    case TensorType::IQ2_XXS: return {"IQ2_XXS", 256, 66, false};
    case TensorType::IQ2_XS: return {"IQ2_XS", 256, 74, false};
    case TensorType::IQ3_XXS: return {"IQ3_XXS", 256, 98, false};
    case TensorType::IQ1_S: return {"IQ1_S", 256, 50, false};
    case TensorType::IQ4_NL: return {"IQ4_NL", 32, 18, false};
    case TensorType::IQ3_S: return {"IQ3_S", 256, 110, false};
    case TensorType::IQ2_S: return {"IQ2_S", 256, 82, false};
    case TensorType::IQ4_XS: return {"IQ4_XS", 256, 136, false};
    case TensorType::I8: return {"I8", 1, 1, false};
    case TensorType::I16: return {"I16", 1, 2, false};
    case TensorType::I32: return {"I32", 1, 4, false};
    case TensorType::I64: return {"I64", 1, 8, false};
    case TensorType::F64: return {"F64", 1, 8, false};
    case TensorType::IQ1_M: return {"IQ1_M", 256, 56, false};
    case TensorType::BF16: return {"BF16", 1, 2, true};
    case TensorType::TQ1_0: return {"TQ1_0", 256, 54, false};
    case TensorType::TQ2_0: return {"TQ2_0", 256, 66, false};
  }
  return {nullptr, 0, 0, false};
}

std::string tensor_type_name(uint32_t id) {
  const TensorTypeTraits t = tensor_type_traits(id);
  return t.name ? std::string(t.name) : "type " + std::to_string(id);
}

void dequantize_row(TensorType type, const void* row, float* out, int64_t n) {
  switch (type) {
    case TensorType::F32:
      std::memcpy(out, row, size_t(n) * 4);
      return;
    case TensorType::F16: {
      const uint16_t* h = static_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < n; i++) out[i] = fp16_to_fp32(h[i]);
      return;
    }
    case TensorType::Q8_0: {
      const BlockQ8_0* b = static_cast<const BlockQ8_0*>(row);
      for (int64_t i = 0; i < n / 32; i++) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; j++) out[i * 32 + j] = d * float(b[i].qs[j]);
      }
      return;
    }
    case TensorType::Q4_0: {
      const BlockQ4_0* b = static_cast<const BlockQ4_0*>(row);
      for (int64_t i = 0; i < n / 32; i++) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 16; j++) {
          out[i * 32 + j] = d * float((b[i].qs[j] & 0x0f) - 8);
          out[i * 32 + j + 16] = d * float((b[i].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    case TensorType::Q5_0: {
      const BlockQ5_0* b = static_cast<const BlockQ5_0*>(row);
      for (int64_t i = 0; i < n / 32; i++) {
        const float d = fp16_to_fp32(b[i].d);
        uint32_t qh;
        std::memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < 16; j++) {
          out[i * 32 + j] = float(((b[i].qs[j] & 0x0f) | int((qh >> j) & 1) << 4) - 16) * d;
          out[i * 32 + j + 16] = float(((b[i].qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4) - 16) * d;
        }
      }
      return;
    }
    case TensorType::Q5_1: {
      const BlockQ5_1* b = static_cast<const BlockQ5_1*>(row);
      for (int64_t i = 0; i < n / 32; i++) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        uint32_t qh;
        std::memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < 16; j++) {
          out[i * 32 + j] = float((b[i].qs[j] & 0x0f) | int((qh >> j) & 1) << 4) * d + m;
          out[i * 32 + j + 16] = float((b[i].qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4) * d + m;
        }
      }
      return;
    }
    case TensorType::BF16: {
      const uint16_t* h = static_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < n; i++) out[i] = bf16_to_fp32(h[i]);
      return;
    }
    case TensorType::Q4_K:
    case TensorType::Q5_K: {
      // Q4_K and Q5_K differ only in the fifth bit (qh); the arithmetic is ggml's: (d sc) q - (dmin m).
      const bool five = type == TensorType::Q5_K;
      const size_t bytes = five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
      for (int64_t i = 0; i < n / kQK; i++) {
        const uint8_t* block = static_cast<const uint8_t*>(row) + size_t(i) * bytes;
        uint16_t hd, hm;
        std::memcpy(&hd, block, 2);
        std::memcpy(&hm, block + 2, 2);
        const float d = fp16_to_fp32(hd), dmin = fp16_to_fp32(hm);
        const uint8_t* scales = block + 4;
        const uint8_t* qh = block + 16;
        const uint8_t* qs = block + (five ? 48 : 16);
        float* y = out + i * kQK;
        for (int c = 0; c < 4; c++) {
          int sc0, m0, sc1, m1;
          k4_scale_min(scales, 2 * c, &sc0, &m0);
          k4_scale_min(scales, 2 * c + 1, &sc1, &m1);
          const float d0 = d * float(sc0), min0 = dmin * float(m0), d1 = d * float(sc1), min1 = dmin * float(m1);
          for (int l = 0; l < 32; l++) {
            const int lo = (qs[32 * c + l] & 0x0f) + (five && (qh[l] >> (2 * c)) & 1 ? 16 : 0);
            const int hi = (qs[32 * c + l] >> 4) + (five && (qh[l] >> (2 * c + 1)) & 1 ? 16 : 0);
            y[64 * c + l] = d0 * float(lo) - min0;
            y[64 * c + 32 + l] = d1 * float(hi) - min1;
          }
        }
      }
      return;
    }
    case TensorType::Q6_K: {
      const BlockQ6_K* b = static_cast<const BlockQ6_K*>(row);
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
      return;
    }
    default:
      // Callers only pass computable types (the model loader checks); leave the output defined.
      std::memset(out, 0, size_t(n) * 4);
      return;
  }
}

}  // namespace ringlm
