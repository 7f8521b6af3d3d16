#include "tensor_type.h"

namespace ringlm {

TensorTypeTraits tensor_type_traits(uint32_t id) {
  switch (TensorType(id)) {
    case TensorType::F32: return {"F32", 1, 4, true};
    case TensorType::F16: return {"F16", 1, 2, true};
    case TensorType::Q4_0: return {"Q4_0", 32, 18, true};
    case TensorType::Q4_1: return {"Q4_1", 32, 20, false};
    case TensorType::Q5_0: return {"Q5_0", 32, 22, false};
    case TensorType::Q5_1: return {"Q5_1", 32, 24, false};
    case TensorType::Q8_0: return {"Q8_0", 32, 34, true};
    case TensorType::Q8_1: return {"Q8_1", 32, 36, false};
    case TensorType::Q2_K: return {"Q2_K", 256, 84, false};
    case TensorType::Q3_K: return {"Q3_K", 256, 110, false};
    case TensorType::Q4_K: return {"Q4_K", 256, 144, false};
    case TensorType::Q5_K: return {"Q5_K", 256, 176, false};
    case TensorType::Q6_K: return {"Q6_K", 256, 210, false};
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
    case TensorType::BF16: return {"BF16", 1, 2, false};
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
    default:
      // Callers only pass computable types (the model loader checks); leave the output defined.
      std::memset(out, 0, size_t(n) * 4);
      return;
  }
}

}  // namespace ringlm
