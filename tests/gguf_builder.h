// gguf_builder.h — builds GGUF bytes in memory for the C++ unit tests.
//
// The project's real writer is tools/gguf/writer.mjs (used for the llama.cpp comparisons); this is
// a small byte-level twin so the C++ suites run with no files and can craft malformed input.
#pragma once

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/quant.h"
#include "gguf/tensor_type.h"

namespace ringlm::test {

class GgufBuilder {
public:
  std::vector<uint8_t> bytes;

  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(&bytes[at], &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    put<uint32_t>(0x46554747u);
    put<uint32_t>(version);
    put<uint64_t>(n_tensors);
    put<uint64_t>(n_kv);
  }
  void kv_u32(const std::string& k, uint32_t v) { put_string(k); put<uint32_t>(4); put<uint32_t>(v); }
  void kv_f32(const std::string& k, float v) { put_string(k); put<uint32_t>(6); put<float>(v); }
  void kv_str(const std::string& k, const std::string& v) { put_string(k); put<uint32_t>(8); put_string(v); }
  void kv_bool(const std::string& k, bool v) { put_string(k); put<uint32_t>(7); put<uint8_t>(v ? 1 : 0); }
  void kv_str_array(const std::string& k, const std::vector<std::string>& v) {
    put_string(k); put<uint32_t>(9); put<uint32_t>(8); put<uint64_t>(v.size());
    for (const std::string& x : v) put_string(x);
  }
  void kv_f32_array(const std::string& k, const std::vector<float>& v) {
    put_string(k); put<uint32_t>(9); put<uint32_t>(6); put<uint64_t>(v.size());
    for (float x : v) put<float>(x);
  }
  void kv_i32_array(const std::string& k, const std::vector<int32_t>& v) {
    put_string(k); put<uint32_t>(9); put<uint32_t>(5); put<uint64_t>(v.size());
    for (int32_t x : v) put<int32_t>(x);
  }
  void pad(size_t alignment = 32) {
    while (bytes.size() % alignment) bytes.push_back(0);
  }
};

// A tensor to place in a model file: logical float values, stored as `type`.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> ne;
  TensorType type;
  std::vector<float> values;
};

inline std::vector<uint8_t> encode(const TensorSpec& t) {
  std::vector<uint8_t> out;
  const int64_t n = int64_t(t.values.size());
  switch (t.type) {
    case TensorType::F32:
      out.resize(size_t(n) * 4);
      std::memcpy(out.data(), t.values.data(), out.size());
      break;
    case TensorType::F16: {
      out.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; i++) {
        const uint16_t h = fp32_to_fp16(t.values[size_t(i)]);
        std::memcpy(&out[size_t(i) * 2], &h, 2);
      }
      break;
    }
    case TensorType::Q8_0: {
      out.resize(size_t(n / 32) * sizeof(BlockQ8_0));
      quantize_row_q8_0(t.values.data(), reinterpret_cast<BlockQ8_0*>(out.data()), n);
      break;
    }
    case TensorType::Q4_0: {
      out.resize(size_t(n / 32) * sizeof(BlockQ4_0));
      auto* blocks = reinterpret_cast<BlockQ4_0*>(out.data());
      for (int64_t b = 0; b < n / 32; b++) {
        const float* v = &t.values[size_t(b * 32)];
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < 32; j++) {
          if (std::fabs(v[j]) > amax) { amax = std::fabs(v[j]); max = v[j]; }
        }
        const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        for (int j = 0; j < 16; j++) {
          const int lo = std::min(15, int(v[j] * id + 8.5f)), hi = std::min(15, int(v[j + 16] * id + 8.5f));
          blocks[b].qs[j] = uint8_t(lo | (hi << 4));
        }
      }
      break;
    }
    case TensorType::BF16: {
      out.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; i++) {
        const uint16_t h = fp32_to_bf16(t.values[size_t(i)]);
        std::memcpy(&out[size_t(i) * 2], &h, 2);
      }
      break;
    }
    case TensorType::Q5_0:
    case TensorType::Q5_1: {
      // Q5_0: d = max / -16, q = x / d + 16; Q5_1: d = range / 31, m = min, q = (x - m) / d.
      const bool one = t.type == TensorType::Q5_1;
      const size_t size = one ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0);
      out.assign(size_t(n / 32) * size, 0);
      for (int64_t b = 0; b < n / 32; b++) {
        const float* v = &t.values[size_t(b * 32)];
        uint8_t* block = &out[size_t(b) * size];
        float lo = v[0], hi = v[0], amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++) {
          lo = std::min(lo, v[j]), hi = std::max(hi, v[j]);
          if (std::fabs(v[j]) > amax) amax = std::fabs(v[j]), max = v[j];
        }
        const float d = one ? (hi - lo) / 31.0f : max / -16.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t hd = fp32_to_fp16(d), hm = fp32_to_fp16(lo);
        std::memcpy(block, &hd, 2);
        if (one) std::memcpy(block + 2, &hm, 2);
        uint32_t qh = 0;
        uint8_t* qs = block + size - 16;
        for (int j = 0; j < 32; j++) {
          const int q = std::min(31, std::max(0, int(one ? (v[j] - lo) * id + 0.5f : v[j] * id + 16.5f)));
          qh |= uint32_t(q >> 4) << j;
          qs[j % 16] |= uint8_t((q & 15) << (j < 16 ? 0 : 4));
        }
        std::memcpy(block + size - 20, &qh, 4);
      }
      break;
    }
    case TensorType::Q4_K:
    case TensorType::Q5_K: {
      // Per 32 values: scale = range / (2^bits - 1), min = -min(0, smallest), both to 6 bits.
      const bool five = t.type == TensorType::Q5_K;
      const size_t size = five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
      const int top = five ? 31 : 15;
      out.assign(size_t(n / kQK) * size, 0);
      for (int64_t b = 0; b < n / kQK; b++) {
        const float* v = &t.values[size_t(b * kQK)];
        uint8_t* block = &out[size_t(b) * size];
        float scale[8], min[8], max_scale = 0.0f, max_min = 0.0f;
        for (int s = 0; s < 8; s++) {
          float lo = 0.0f, hi = v[32 * s];
          for (int j = 0; j < 32; j++) lo = std::min(lo, v[32 * s + j]), hi = std::max(hi, v[32 * s + j]);
          scale[s] = std::max(0.0f, hi - lo) / float(top), min[s] = -lo;
          max_scale = std::max(max_scale, scale[s]), max_min = std::max(max_min, min[s]);
        }
        const float d = fp16_to_fp32(fp32_to_fp16(max_scale / 63.0f)), dmin = fp16_to_fp32(fp32_to_fp16(max_min / 63.0f));
        int sc[8], m[8];
        for (int s = 0; s < 8; s++) {
          sc[s] = d > 0.0f ? std::min(63, int(std::lround(scale[s] / d))) : 0;
          m[s] = dmin > 0.0f ? std::min(63, int(std::lround(min[s] / dmin))) : 0;
        }
        const uint16_t hd = fp32_to_fp16(d), hm = fp32_to_fp16(dmin);
        std::memcpy(block, &hd, 2), std::memcpy(block + 2, &hm, 2);
        for (int j = 0; j < 4; j++) {
          block[4 + j] = uint8_t((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
          block[8 + j] = uint8_t((m[j] & 63) | ((m[j + 4] >> 4) << 6));
          block[12 + j] = uint8_t((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
        }
        uint8_t* qs = block + (five ? 48 : 16);
        for (int i = 0; i < kQK; i++) {
          const int s = i / 32;
          const float step = d * float(sc[s]);
          const int q = step > 0.0f ? std::min(top, std::max(0, int(std::lround((v[i] + dmin * float(m[s])) / step)))) : 0;
          qs[32 * (i / 64) + i % 32] |= uint8_t((q & 15) << (4 * (s % 2)));
          if (five && q > 15) block[16 + i % 32] |= uint8_t(1 << s);
        }
      }
      break;
    }
    case TensorType::Q6_K: {
      // Per 16 values: scale = largest magnitude / 31.5, the 16 scales to int8 against d.
      out.assign(size_t(n / kQK) * sizeof(BlockQ6_K), 0);
      auto* blocks = reinterpret_cast<BlockQ6_K*>(out.data());
      for (int64_t b = 0; b < n / kQK; b++) {
        const float* v = &t.values[size_t(b * kQK)];
        float scale[16], max_scale = 0.0f;
        for (int g = 0; g < 16; g++) {
          float amax = 0.0f;
          for (int j = 0; j < 16; j++) amax = std::max(amax, std::fabs(v[16 * g + j]));
          scale[g] = amax / 31.5f, max_scale = std::max(max_scale, scale[g]);
        }
        const float d = fp16_to_fp32(fp32_to_fp16(max_scale / 127.0f));
        BlockQ6_K& o = blocks[b];
        o.d = fp32_to_fp16(d);
        for (int g = 0; g < 16; g++) o.scales[g] = int8_t(d > 0.0f ? std::min(127, int(std::lround(scale[g] / d))) : 0);
        for (int i = 0; i < kQK; i++) {
          const float step = d * float(o.scales[i / 16]);
          const int q = (step > 0.0f ? std::min(31, std::max(-32, int(std::lround(v[i] / step)))) : 0) + 32;
          const int h = i / 128, k = (i / 32) % 4, l = i % 32;
          o.ql[64 * h + 32 * (k % 2) + l] |= uint8_t((q & 15) << (k < 2 ? 0 : 4));
          o.qh[32 * h + l] |= uint8_t((q >> 4) << (2 * k));
        }
      }
      break;
    }
    default:
      break;
  }
  return out;
}

struct LlamaShape {
  // "llama", or "qwen2" (Q/K/V biases, NEOX RoPE), "qwen3" (q/k norms, NEOX RoPE), "smollm3" (llama
  // with no RoPE in every fourth layer: nothing in the file), "phi3" (fused attn_qkv and gate+up
  // ffn_up, no biases), "gemma3" (qwen3's q/k norms plus the norms after attention and after the FFN;
  // no sliding-window key unless u32_keys has one), "gemma2" (gemma3 without the q/k norms; set `tied`,
  // as every Gemma 2 is), "gpt2" (see make_llama)
  std::string arch = "llama";
  int dim = 64, layers = 2, heads = 4, kv_heads = 2, ffn = 96, vocab = 96, ctx = 128;
  int head_dim = 0;         // when not 0: attention.key_length/value_length (else dim / heads)
  TensorType type = TensorType::F32;
  bool tied = false;
  std::vector<float> rope_freqs;  // when not empty: rope_freqs.weight with these values
  std::vector<float> rope_factors_short, rope_factors_long;  // likewise, LongRoPE's (phi3)
  // More metadata ("<arch>." is prepended to each key) and more tensors (random F32 of shape ne),
  // and tensor names left out: for files that ask for features the loader must refuse.
  std::vector<std::pair<std::string, uint32_t>> u32_keys;
  std::vector<std::pair<std::string, float>> f32_keys;
  std::vector<std::pair<std::string, std::string>> str_keys;
  std::vector<std::pair<std::string, std::vector<int64_t>>> extra_tensors;
  std::vector<std::string> left_out;
  // A SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte tokens, then `pieces`
  // (vocab grows to fit). Empty: no tokenizer metadata at all.
  std::vector<std::string> pieces;
};

// A small vocabulary for tests of generation: single letters, a few words, spaces as U+2581.
inline std::vector<std::string> test_pieces() {
  std::vector<std::string> p;
  for (char c = 'a'; c <= 'z'; c++) {
    p.push_back(std::string(1, c));
    p.push_back("\xe2\x96\x81" + std::string(1, c));
  }
  for (const char* w : {"\xe2\x96\x81" "the", "\xe2\x96\x81" "and", "\xe2\x96\x81" "end", "th", "he", "an", "nd", "en", "\xe2\x96\x81", ".", ",", "\xc3\xa9"}) {
    p.push_back(w);
  }
  return p;
}

// A random-weight model file. Weights are scaled so that logits spread over several units.
// arch "gpt2": position_embd (ctx rows), LayerNorms with bias, one fused attn_qkv with bias, biased
// attn_output, ffn_up/ffn_down with biases and no gate; "qwen2": llama plus attn_{q,k,v}.bias.
inline std::vector<uint8_t> make_llama(LlamaShape s, uint32_t seed = 1) {
  if (!s.pieces.empty()) s.vocab = std::max(s.vocab, int(259 + s.pieces.size()));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](std::vector<int64_t> ne, float scale, TensorType type, const std::string& name) {
    TensorSpec t{name, ne, type, {}};
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    t.values.resize(size_t(n));
    for (float& v : t.values) v = normal(rng) * scale;
    return t;
  };
  auto norm = [&](const std::string& name) {
    TensorSpec t{name, {s.dim}, TensorType::F32, std::vector<float>(size_t(s.dim))};
    for (float& v : t.values) v = 1.0f + 0.1f * normal(rng);
    return t;
  };
  const int hd = s.head_dim ? s.head_dim : s.dim / s.heads;
  const float w_in = 1.0f / std::sqrt(float(s.dim));
  const bool gpt2 = s.arch == "gpt2", phi3 = s.arch == "phi3";
  auto bias = [&](const std::string& name, int n) { return random({n}, 0.3f, TensorType::F32, name); };
  std::vector<TensorSpec> tensors;
  tensors.push_back(random({s.dim, s.vocab}, 1.0f, s.type, "token_embd.weight"));
  if (gpt2) tensors.push_back(random({s.dim, s.ctx}, 0.5f, s.type, "position_embd.weight"));
  for (int l = 0; l < s.layers; l++) {
    const std::string p = "blk." + std::to_string(l) + ".";
    tensors.push_back(norm(p + "attn_norm.weight"));
    if (gpt2) tensors.push_back(bias(p + "attn_norm.bias", s.dim));
    if (gpt2) {
      TensorSpec qkv = random({s.dim, (s.heads + 2 * s.kv_heads) * hd}, 2.0f * w_in, s.type, p + "attn_qkv.weight");
      tensors.push_back(qkv);
      tensors.push_back(bias(p + "attn_qkv.bias", (s.heads + 2 * s.kv_heads) * hd));
    } else if (phi3) {
      tensors.push_back(random({s.dim, (s.heads + 2 * s.kv_heads) * hd}, 2.0f * w_in, s.type, p + "attn_qkv.weight"));
    } else {
      tensors.push_back(random({s.dim, s.heads * hd}, 2.0f * w_in, s.type, p + "attn_q.weight"));
      tensors.push_back(random({s.dim, s.kv_heads * hd}, 2.0f * w_in, s.type, p + "attn_k.weight"));
      tensors.push_back(random({s.dim, s.kv_heads * hd}, w_in, s.type, p + "attn_v.weight"));
      if (s.arch == "qwen2") {
        tensors.push_back(bias(p + "attn_q.bias", s.heads * hd));
        tensors.push_back(bias(p + "attn_k.bias", s.kv_heads * hd));
        tensors.push_back(bias(p + "attn_v.bias", s.kv_heads * hd));
      }
      if (s.arch == "qwen3" || s.arch == "gemma3") {
        TensorSpec qn = norm(p + "attn_q_norm.weight"), kn = norm(p + "attn_k_norm.weight");
        qn.ne = kn.ne = {hd};
        qn.values.resize(size_t(hd), 1.1f);
        kn.values.resize(size_t(hd), 0.9f);
        tensors.push_back(qn);
        tensors.push_back(kn);
      }
    }
    tensors.push_back(random({s.heads * hd, s.dim}, w_in, s.type, p + "attn_output.weight"));
    if (gpt2) tensors.push_back(bias(p + "attn_output.bias", s.dim));
    if (s.arch == "gemma3" || s.arch == "gemma2") tensors.push_back(norm(p + "post_attention_norm.weight"));
    tensors.push_back(norm(p + "ffn_norm.weight"));
    if (gpt2) tensors.push_back(bias(p + "ffn_norm.bias", s.dim));
    if (!gpt2 && !phi3) tensors.push_back(random({s.dim, s.ffn}, w_in, s.type, p + "ffn_gate.weight"));
    tensors.push_back(random({s.dim, phi3 ? 2 * s.ffn : s.ffn}, w_in, s.type, p + "ffn_up.weight"));  // phi3: gate rows, then up
    tensors.push_back(random({s.ffn, s.dim}, 1.0f / std::sqrt(float(s.ffn)), s.type, p + "ffn_down.weight"));
    if (gpt2) {
      tensors.push_back(bias(p + "ffn_up.bias", s.ffn));
      tensors.push_back(bias(p + "ffn_down.bias", s.dim));
    }
    if (s.arch == "gemma3" || s.arch == "gemma2") tensors.push_back(norm(p + "post_ffw_norm.weight"));
  }
  tensors.push_back(norm("output_norm.weight"));
  if (gpt2) tensors.push_back(bias("output_norm.bias", s.dim));
  if (!s.tied) tensors.push_back(random({s.dim, s.vocab}, 3.0f * w_in, s.type, "output.weight"));
  if (!s.rope_freqs.empty()) {
    tensors.push_back({"rope_freqs.weight", {int64_t(s.rope_freqs.size())}, TensorType::F32, s.rope_freqs});
  }
  for (const auto& [name, values] : {std::pair{"rope_factors_short.weight", &s.rope_factors_short},
                                     std::pair{"rope_factors_long.weight", &s.rope_factors_long}}) {
    if (!values->empty()) tensors.push_back({name, {int64_t(values->size())}, TensorType::F32, *values});
  }
  for (const auto& [name, ne] : s.extra_tensors) tensors.push_back(random(ne, 0.3f, TensorType::F32, name));
  for (const std::string& name : s.left_out) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(), [&](const TensorSpec& t) { return t.name == name; }),
                  tensors.end());
  }

  const std::string a = s.arch + ".";
  GgufBuilder b;
  b.header(tensors.size(), (s.pieces.empty() ? 9 : 17) - (gpt2 ? 1 : 0) + (s.head_dim ? 2 : 0) + s.u32_keys.size() +
                               s.f32_keys.size() + s.str_keys.size());
  b.kv_str("general.architecture", s.arch);
  b.kv_u32(a + "context_length", uint32_t(s.ctx));
  b.kv_u32(a + "embedding_length", uint32_t(s.dim));
  b.kv_u32(a + "block_count", uint32_t(s.layers));
  b.kv_u32(a + "feed_forward_length", uint32_t(s.ffn));
  b.kv_u32(a + "attention.head_count", uint32_t(s.heads));
  b.kv_u32(a + "attention.head_count_kv", uint32_t(s.kv_heads));
  if (gpt2) {
    b.kv_f32(a + "attention.layer_norm_epsilon", 1e-5f);
  } else {
    b.kv_f32(a + "rope.freq_base", 10000.0f);
    b.kv_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
  }
  if (s.head_dim) {
    b.kv_u32(a + "attention.key_length", uint32_t(s.head_dim));
    b.kv_u32(a + "attention.value_length", uint32_t(s.head_dim));
  }
  for (const auto& [key, v] : s.u32_keys) b.kv_u32(a + key, v);
  for (const auto& [key, v] : s.f32_keys) b.kv_f32(a + key, v);
  for (const auto& [key, v] : s.str_keys) b.kv_str(a + key, v);
  if (!s.pieces.empty()) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};
    for (int i = 0; i < 256; i++) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "<0x%02X>", i);
      tokens.push_back(hex);
      types.push_back(6);
    }
    for (const std::string& piece : s.pieces) {
      tokens.push_back(piece);
      types.push_back(1);
    }
    std::vector<float> scores;
    for (size_t i = 0; i < tokens.size(); i++) scores.push_back(i < 259 ? 0.0f : -float(i));
    b.kv_str("tokenizer.ggml.model", "llama");
    b.kv_str_array("tokenizer.ggml.tokens", tokens);
    b.kv_f32_array("tokenizer.ggml.scores", scores);
    b.kv_i32_array("tokenizer.ggml.token_type", types);
    b.kv_u32("tokenizer.ggml.bos_token_id", 1);
    b.kv_u32("tokenizer.ggml.eos_token_id", 2);
    b.kv_u32("tokenizer.ggml.unknown_token_id", 0);
    b.kv_bool("tokenizer.ggml.add_bos_token", true);
  }
  std::vector<std::vector<uint8_t>> data;
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    data.push_back(encode(t));
    b.put_string(t.name);
    b.put<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) b.put<uint64_t>(uint64_t(d));
    b.put<uint32_t>(uint32_t(t.type));
    b.put<uint64_t>(offset);
    offset += (data.back().size() + 31) / 32 * 32;
  }
  b.pad();
  for (const auto& d : data) {
    b.bytes.insert(b.bytes.end(), d.begin(), d.end());
    b.pad();
  }
  return b.bytes;
}

}  // namespace ringlm::test
