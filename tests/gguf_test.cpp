// GGUF parser: every value type, v2 and v3, alignment, and malformed input that must fail cleanly.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "gguf/gguf.h"
#include "gguf_builder.h"

using namespace ringlm;
using ringlm::test::GgufBuilder;

namespace {

// A file with one key of every value type, an array of each kind, and one F32 tensor.
std::vector<uint8_t> all_types_file(uint32_t version, uint32_t alignment) {
  GgufBuilder b;
  b.header(1, 16, version);
  b.put_string("u8"); b.put<uint32_t>(0); b.put<uint8_t>(200);
  b.put_string("i8"); b.put<uint32_t>(1); b.put<int8_t>(-100);
  b.put_string("u16"); b.put<uint32_t>(2); b.put<uint16_t>(60000);
  b.put_string("i16"); b.put<uint32_t>(3); b.put<int16_t>(-30000);
  b.put_string("u32"); b.put<uint32_t>(4); b.put<uint32_t>(4000000000u);
  b.put_string("i32"); b.put<uint32_t>(5); b.put<int32_t>(-2000000000);
  b.put_string("f32"); b.put<uint32_t>(6); b.put<float>(1.5f);
  b.put_string("bool"); b.put<uint32_t>(7); b.put<uint8_t>(1);
  b.put_string("str"); b.put<uint32_t>(8); b.put_string("héllo");
  b.put_string("u64"); b.put<uint32_t>(10); b.put<uint64_t>(1ull << 40);
  b.put_string("i64"); b.put<uint32_t>(11); b.put<int64_t>(-(1ll << 40));
  b.put_string("f64"); b.put<uint32_t>(12); b.put<double>(0.25);
  b.put_string("arr_i32"); b.put<uint32_t>(9); b.put<uint32_t>(5); b.put<uint64_t>(3);
  b.put<int32_t>(7); b.put<int32_t>(-8); b.put<int32_t>(9);
  b.put_string("arr_str"); b.put<uint32_t>(9); b.put<uint32_t>(8); b.put<uint64_t>(2);
  b.put_string("a"); b.put_string("");
  b.put_string("arr_f32"); b.put<uint32_t>(9); b.put<uint32_t>(6); b.put<uint64_t>(2);
  b.put<float>(0.5f); b.put<float>(-2.0f);
  b.put_string("general.alignment"); b.put<uint32_t>(4); b.put<uint32_t>(alignment);
  b.put_string("t"); b.put<uint32_t>(2); b.put<uint64_t>(4); b.put<uint64_t>(2);
  b.put<uint32_t>(0); b.put<uint64_t>(0);
  b.pad(alignment);
  for (int i = 0; i < 8; i++) b.put<float>(float(i));
  return b.bytes;
}

Status parse(const std::vector<uint8_t>& bytes) {
  GgufFile f;
  return f.parse(bytes.data(), bytes.size());
}

}  // namespace

TEST(Gguf, ReadsEveryValueType) {
  for (uint32_t version : {2u, 3u}) {
    const auto bytes = all_types_file(version, 64);
    GgufFile f;
    ASSERT_TRUE(f.parse(bytes.data(), bytes.size()).ok());
    EXPECT_EQ(f.version(), version);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.find("u8")->u64, 200u);
    EXPECT_EQ(f.find("i8")->i64, -100);
    EXPECT_EQ(f.find("u16")->u64, 60000u);
    EXPECT_EQ(f.find("i16")->i64, -30000);
    EXPECT_EQ(f.find("u32")->u64, 4000000000u);
    EXPECT_EQ(f.find("i32")->i64, -2000000000);
    EXPECT_FLOAT_EQ(float(f.find("f32")->f64), 1.5f);
    EXPECT_EQ(f.find("bool")->u64, 1u);
    EXPECT_EQ(f.find("str")->str, "héllo");
    EXPECT_EQ(f.find("u64")->u64, 1ull << 40);
    EXPECT_EQ(f.find("i64")->i64, -(1ll << 40));
    EXPECT_DOUBLE_EQ(f.find("f64")->f64, 0.25);
    const GgufValue* a = f.find("arr_i32");
    ASSERT_EQ(a->count, 3u);
    EXPECT_EQ(a->array_integer(1), -8);
    ASSERT_EQ(f.find("arr_str")->strings.size(), 2u);
    EXPECT_EQ(f.find("arr_str")->strings[0], "a");
    EXPECT_EQ(f.find("arr_str")->strings[1], "");
    EXPECT_DOUBLE_EQ(f.find("arr_f32")->array_number(1), -2.0);
    const GgufTensor* t = f.find_tensor("t");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->ne[0], 4);
    EXPECT_EQ(t->ne[1], 2);
    EXPECT_EQ(t->nbytes, 32u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
    float v[8];
    std::memcpy(v, t->data, 32);
    EXPECT_EQ(v[7], 7.0f);
    // Data is a view into the buffer, not a copy.
    EXPECT_GE(t->data, bytes.data());
    EXPECT_LT(t->data, bytes.data() + bytes.size());
  }
}

TEST(Gguf, TypedGettersCheckTypes) {
  const auto bytes = all_types_file(3, 32);
  GgufFile f;
  ASSERT_TRUE(f.parse(bytes.data(), bytes.size()).ok());
  uint64_t u = 0;
  EXPECT_TRUE(f.get_uint("u32", &u, true).ok());
  EXPECT_EQ(u, 4000000000u);
  Status s = f.get_uint("str", &u, true);
  EXPECT_NE(s.message().find("key 'str' has type string"), std::string::npos) << s.message();
  s = f.get_uint("i8", &u, true);
  EXPECT_NE(s.message().find("negative"), std::string::npos) << s.message();
  s = f.get_uint("nope", &u, true);
  EXPECT_EQ(s.message(), "missing metadata key 'nope'");
  EXPECT_TRUE(f.get_uint("nope", &u, false).ok());
}

TEST(Gguf, EveryTruncationFailsCleanly) {
  // Cutting the file anywhere must give an error, never a crash or an out-of-bounds read (run
  // under ASan/valgrind to see the latter).
  const auto bytes = all_types_file(3, 32);
  for (size_t n = 0; n < bytes.size(); n++) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(n));
    const Status s = parse(cut);
    EXPECT_FALSE(s.ok()) << "truncated to " << n << " bytes";
  }
}

struct BadCase {
  const char* what;
  std::vector<uint8_t> bytes;
  const char* message;
};

TEST(Gguf, MalformedFilesNameTheProblem) {
  std::vector<BadCase> cases;
  {
    GgufBuilder b;
    b.put<uint32_t>(0x12345678);
    b.put<uint32_t>(3);
    cases.push_back({"magic", b.bytes, "not a GGUF file"});
  }
  for (uint32_t v : {0u, 1u, 4u, 99u}) {
    GgufBuilder b;
    b.header(0, 0, v);
    cases.push_back({"version", b.bytes, "unsupported GGUF version"});
  }
  {
    GgufBuilder b;
    b.header(0, 0, 0x03000000u);
    cases.push_back({"big-endian", b.bytes, "big-endian"});
  }
  {
    GgufBuilder b;
    b.header(0, 1ull << 63);
    cases.push_back({"kv count", b.bytes, "metadata count 9223372036854775808 cannot fit"});
  }
  {
    GgufBuilder b;
    b.header(1ull << 63, 0);
    cases.push_back({"tensor count", b.bytes, "tensor count 9223372036854775808 cannot fit"});
  }
  {
    GgufBuilder b;
    b.header(0, 1);
    b.put<uint64_t>(1ull << 62);  // key length past the end
    b.put<uint64_t>(0);
    cases.push_back({"key length", b.bytes, "file truncated"});
  }
  {
    GgufBuilder b;
    b.header(0, 1);
    b.put_string("k");
    b.put<uint32_t>(8);
    b.put<uint64_t>(~0ull);  // string value length past the end
    cases.push_back({"string length", b.bytes, "string value of key 'k'"});
  }
  {
    GgufBuilder b;
    b.header(0, 1);
    b.put_string("k");
    b.put<uint32_t>(77);
    cases.push_back({"value type", b.bytes, "key 'k': value type 77 is not a GGUF value type"});
  }
  {
    GgufBuilder b;
    b.header(0, 1);
    b.put_string("k");
    b.put<uint32_t>(9);
    b.put<uint32_t>(4);
    b.put<uint64_t>(1ull << 62);
    cases.push_back({"array length", b.bytes, "key 'k': array of 4611686018427387904 uint32 values cannot fit"});
  }
  {
    GgufBuilder b;
    b.header(0, 1);
    b.put_string("k");
    b.put<uint32_t>(9);
    b.put<uint32_t>(9);
    b.put<uint64_t>(1);
    cases.push_back({"nested array", b.bytes, "arrays of arrays"});
  }
  {
    GgufBuilder b;
    b.header(0, 2);
    b.kv_u32("k", 1);
    b.kv_u32("k", 2);
    cases.push_back({"duplicate key", b.bytes, "key 'k' appears twice"});
  }
  {
    GgufBuilder b;
    b.header(0, 1);
    b.kv_u32("general.alignment", 48);
    cases.push_back({"alignment", b.bytes, "general.alignment"});
  }
  auto tensor_file = [](uint32_t n_dims, std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
    GgufBuilder b;
    b.header(1, 0);
    b.put_string("w");
    b.put<uint32_t>(n_dims);
    for (uint64_t d : ne) b.put<uint64_t>(d);
    b.put<uint32_t>(type);
    b.put<uint64_t>(offset);
    b.pad();
    b.bytes.resize(b.bytes.size() + data_bytes);
    return b.bytes;
  };
  cases.push_back({"dims", tensor_file(5, {1, 1, 1, 1, 1}, 0, 0, 4), "tensor 'w': 5 dimensions"});
  cases.push_back({"zero dim", tensor_file(2, {4, 0}, 0, 0, 16), "tensor 'w': dimension 1 is 0"});
  cases.push_back({"overflow", tensor_file(2, {1ull << 40, 1ull << 40}, 0, 0, 16), "element count overflows"});
  cases.push_back({"type", tensor_file(1, {4}, 99, 0, 16), "tensor 'w': unknown tensor type id 99"});
  cases.push_back({"block", tensor_file(1, {30}, 8, 0, 64), "not a multiple of Q8_0's block size 32"});
  cases.push_back({"misaligned", tensor_file(1, {4}, 0, 4, 64), "not a multiple of the alignment"});
  cases.push_back({"past end", tensor_file(1, {64}, 0, 0, 16), "lies past the end of the file"});
  cases.push_back({"offset past end", tensor_file(1, {4}, 0, 1ull << 60, 16), "lies past the end of the file"});
  {
    GgufBuilder b;
    b.header(2, 0);
    for (const char* name : {"a", "b"}) {
      b.put_string(name);
      b.put<uint32_t>(1);
      b.put<uint64_t>(16);
      b.put<uint32_t>(0);
      b.put<uint64_t>(std::string(name) == "a" ? 0 : 32);  // a covers [0,64), b starts at 32
    }
    b.pad();
    b.bytes.resize(b.bytes.size() + 128);
    cases.push_back({"overlap", b.bytes, "tensors 'a' and 'b' overlap"});
  }
  {
    GgufBuilder b;
    b.header(2, 0);
    for (int i = 0; i < 2; i++) {
      b.put_string("same");
      b.put<uint32_t>(1);
      b.put<uint64_t>(8);
      b.put<uint32_t>(0);
      b.put<uint64_t>(uint64_t(i) * 32);
    }
    b.pad();
    b.bytes.resize(b.bytes.size() + 64);
    cases.push_back({"duplicate tensor", b.bytes, "tensor 'same' appears twice"});
  }
  for (const BadCase& c : cases) {
    const Status s = parse(c.bytes);
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.what << ": got \"" << s.message() << "\"";
  }
}

// find_nonfinite_half: the first f16 infinity or NaN among an F16 tensor's values or a quantized type's block
// scales, for every type with f16 fields; other bytes that happen to look like one (quantized values) never count.
TEST(TensorType, FindsNonFiniteHalvesInValuesAndBlockScales) {
  struct Case { TensorType type; std::vector<std::pair<size_t, const char*>> fields; };  // field offsets in a block
  const Case cases[] = {
      {TensorType::F16, {{0, "value"}}},
      {TensorType::Q8_0, {{0, "d"}}},
      {TensorType::Q4_0, {{0, "d"}}},
      {TensorType::Q5_0, {{0, "d"}}},
      {TensorType::Q5_1, {{0, "d"}, {2, "m"}}},
      {TensorType::Q4_K, {{0, "d"}, {2, "dmin"}}},
      {TensorType::Q5_K, {{0, "d"}, {2, "dmin"}}},
      {TensorType::Q6_K, {{208, "d"}}},
  };
  const auto put = [](std::vector<uint8_t>& bytes, size_t at, uint16_t h) { std::memcpy(&bytes[at], &h, 2); };
  for (const Case& c : cases) {
    const TensorTypeTraits traits = tensor_type_traits(uint32_t(c.type));
    const size_t block = size_t(traits.block_bytes);
    const size_t n_blocks = c.type == TensorType::F16 ? 10000 : 50;  // F16: past one 4096-value chunk
    // Every byte 0x7f or 0xff (halves of them are NaNs), then finite halves (1.0) in the fields.
    std::vector<uint8_t> bytes(block * n_blocks);
    for (size_t i = 0; i < bytes.size(); i++) bytes[i] = i % 3 ? 0xff : 0x7f;
    if (c.type == TensorType::F16) {
      for (size_t i = 0; i < n_blocks; i++) put(bytes, 2 * i, uint16_t(0x3c00 + (i % 512)));
    } else {
      for (size_t b = 0; b < n_blocks; b++) {
        for (const auto& [offset, name] : c.fields) put(bytes, b * block + offset, 0x3c00);
      }
    }
    const NonFiniteHalf none = find_nonfinite_half(c.type, bytes.data(), bytes.size());
    EXPECT_EQ(none.index, -1) << traits.name << ": found " << none.field << " of " << none.index;
    for (const auto& [offset, name] : c.fields) {
      for (uint16_t h : {uint16_t(0x7c00), uint16_t(0xfc00), uint16_t(0x7e00), uint16_t(0xfd01)}) {  // +-inf, NaNs
        for (size_t b : {size_t(0), size_t(7), n_blocks - 1}) {
          std::vector<uint8_t> bad = bytes;
          put(bad, b * block + offset, h);
          const NonFiniteHalf found = find_nonfinite_half(c.type, bad.data(), bad.size());
          EXPECT_EQ(found.index, int64_t(b)) << traits.name << " " << name << " " << std::hex << h;
          EXPECT_STREQ(found.field, name) << traits.name;
        }
      }
    }
  }
  // F32 and BF16 carry infinities and NaNs exactly: nothing to find.
  const std::vector<uint8_t> ones(64, 0xff);
  EXPECT_EQ(find_nonfinite_half(TensorType::F32, ones.data(), ones.size()).index, -1);
  EXPECT_EQ(find_nonfinite_half(TensorType::BF16, ones.data(), ones.size()).index, -1);
}
