// gguf.h — a checked reader for GGUF files held in memory.
//
// The format (versions 2 and 3; little-endian; every count and length is 64-bit):
//
//   uint32 magic "GGUF"   uint32 version   uint64 tensor_count   uint64 kv_count
//   kv_count x  { string key; uint32 value_type; value }
//   tensor_count x { string name; uint32 n_dims; uint64 ne[n_dims]; uint32 type; uint64 offset }
//   padding to `general.alignment` (default 32)
//   tensor data: each tensor at data_start + offset, offset a multiple of the alignment
//
//   string = uint64 length + bytes (not NUL-terminated)
//   value  = a scalar of the value type, a string, or an array: uint32 element_type, uint64 count, elements
//   ne[0] is the innermost dimension: a matrix with ne = [cols, rows] stores `rows` rows of `cols` values.
//
// Nothing here copies the file: keys, strings and tensor data are views into the caller's buffer,
// which must outlive the GgufFile. Every read is bounds-checked; a malformed file yields a Status
// naming the problem and where it is (byte offset, key or tensor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "gguf/tensor_type.h"

namespace ringlm {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_value_type_name(GgufValueType t);

// One metadata value. Scalars are decoded; arrays stay in the buffer and are read element by element.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  // scalar (numbers and bool): exactly one of these is meaningful, per `type`
  uint64_t u64 = 0;
  int64_t i64 = 0;
  double f64 = 0;
  std::string_view str;  // STRING
  // ARRAY
  GgufValueType elem_type = GgufValueType::UINT8;
  uint64_t count = 0;
  const uint8_t* elems = nullptr;          // numeric arrays: `count` packed elements
  std::vector<std::string_view> strings;   // string arrays: decoded views

  bool is_integer() const;
  bool is_number() const;  // integers, floats and bool
  // Element i of a numeric array (checked by the caller against `count`).
  double array_number(uint64_t i) const;
  int64_t array_integer(uint64_t i) const;
};

struct GgufKV {
  std::string_view key;
  GgufValue value;
};

struct GgufTensor {
  std::string_view name;
  TensorType type = TensorType::F32;
  uint32_t n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};
  uint64_t offset = 0;  // relative to the data section
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  std::string shape_string() const;  // "[64, 128]"
};

class GgufReader;  // gguf.cpp: the checked cursor parse() reads with

class GgufFile {
public:
  // Parse `size` bytes at `data`. On failure the GgufFile is left empty.
  Status parse(const uint8_t* data, size_t size);
  // Parse only the header (metadata and tensor infos), from the first `available` bytes of a file of
  // `file_size` bytes, every offset checked against `file_size`: what a front end can read before
  // downloading a file. The tensors get no data (nullptr; has_tensor_data() is false). When the header goes
  // on past `available`, the status is an error and *more the byte count to fetch from the start and try
  // again; otherwise *more is 0.
  Status parse_header(const uint8_t* data, size_t available, uint64_t file_size, uint64_t* more);
  bool has_tensor_data() const { return has_data_; }

  // Split files, in llama.cpp's gguf-split layout (NAME-00001-of-0000N.gguf): the first part, given to
  // parse(), holds all the metadata; every part holds split.no (its index from 0), split.count and
  // split.tensors.count, and some of the tensors. add_part() parses the next part (index parts()) and adds
  // its tensors, which stay views into its own buffer; complete() says whether every part is there.
  // `name` (a path, a URL) is for messages. add_part_header() does the same with only the part's header
  // (see parse_header).
  Status add_part(const uint8_t* data, size_t size, const std::string& name);
  Status add_part_header(const uint8_t* data, size_t available, uint64_t file_size, const std::string& name, uint64_t* more);
  Status complete() const;
  int parts() const { return parts_; }

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }
  const std::vector<GgufKV>& metadata() const { return kvs_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

  const GgufValue* find(std::string_view key) const;
  const GgufTensor* find_tensor(std::string_view name) const;

  // Typed look-ups. `required` ones fail with a message naming the key; the optional ones leave
  // `*out` unchanged when the key is absent but fail when it is present with the wrong type.
  Status get_string(std::string_view key, std::string* out, bool required) const;
  Status get_uint(std::string_view key, uint64_t* out, bool required) const;
  Status get_float(std::string_view key, double* out, bool required) const;
  Status get_bool(std::string_view key, bool* out, bool required) const;

private:
  Status parse(GgufReader& r, const uint8_t* data, uint64_t size, bool with_data);
  Status add(GgufFile part, const std::string& where);

  int parts_ = 0;
  bool has_data_ = false;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<GgufKV> kvs_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string_view, size_t> kv_index_, tensor_index_;  // name -> position
};

}  // namespace ringlm
