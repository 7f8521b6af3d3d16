#include "gguf/gguf.h"

#include <algorithm>
#include <limits>

namespace ringlm {

// A cursor over the file. Reads are checked; the first failure is remembered ("sticky"), later
// reads return zeros, and the caller checks ok() at the end of each item. This keeps the
// parsing code a straight list of reads, like the format itself.
class GgufReader {
public:
  // `available` bytes at `data` are the first bytes of a file of `total` bytes (the same number, except when
  // only a header was fetched): a read past `total` is a truncated file, a read past `available` only says
  // that more bytes are needed (more_needed()).
  GgufReader(const uint8_t* data, size_t available, uint64_t total) : data_(data), size_(available), total_(total) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t pos() const { return pos_; }
  uint64_t remaining() const { return total_ - pos_; }  // in the file (for plausibility checks of counts)
  uint64_t more_needed() const { return more_needed_; }   // 0, or the bytes from the start a read needed

  void fail(const std::string& what) {
    if (ok()) error_ = what;
  }

  bool need(uint64_t n, const char* what) {
    if (!ok()) return false;
    if (n > remaining()) {
      fail("file truncated at byte " + std::to_string(pos_) + ": " + what + " needs " + std::to_string(n) +
           " bytes, " + std::to_string(remaining()) + " left");
      return false;
    }
    if (n > size_ - pos_) {
      more_needed_ = pos_ + n;
      fail("the header continues past the first " + std::to_string(size_) + " bytes");
      return false;
    }
    return true;
  }

  template <typename T>
  T read(const char* what) {
    T v{};
    if (need(sizeof(T), what)) {
      std::memcpy(&v, data_ + pos_, sizeof(T));
      pos_ += sizeof(T);
    }
    return v;
  }

  const uint8_t* skip(uint64_t n, const char* what) {
    if (!need(n, what)) return nullptr;
    const uint8_t* p = data_ + pos_;
    pos_ += size_t(n);
    return p;
  }

  std::string_view read_string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    const uint8_t* p = skip(len, what);
    return p ? std::string_view(reinterpret_cast<const char*>(p), size_t(len)) : std::string_view();
  }

private:
  const uint8_t* data_;
  size_t size_;
  uint64_t total_;
  size_t pos_ = 0;
  uint64_t more_needed_ = 0;
  std::string error_;
};

namespace {

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    default: return 0;  // STRING and ARRAY have no fixed size
  }
}

bool valid_value_type(uint32_t t) { return t <= uint32_t(GgufValueType::FLOAT64); }

// Decode one packed scalar of type t at p into the value's number fields.
void decode_scalar(GgufValueType t, const uint8_t* p, GgufValue* v) {
  auto load = [p](auto x) { std::memcpy(&x, p, sizeof(x)); return x; };
  switch (t) {
    case GgufValueType::UINT8: v->u64 = load(uint8_t()); v->i64 = int64_t(v->u64); v->f64 = double(v->u64); break;
    case GgufValueType::UINT16: v->u64 = load(uint16_t()); v->i64 = int64_t(v->u64); v->f64 = double(v->u64); break;
    case GgufValueType::UINT32: v->u64 = load(uint32_t()); v->i64 = int64_t(v->u64); v->f64 = double(v->u64); break;
    case GgufValueType::UINT64: v->u64 = load(uint64_t()); v->i64 = int64_t(v->u64); v->f64 = double(v->u64); break;
    case GgufValueType::INT8: v->i64 = load(int8_t()); v->u64 = uint64_t(v->i64); v->f64 = double(v->i64); break;
    case GgufValueType::INT16: v->i64 = load(int16_t()); v->u64 = uint64_t(v->i64); v->f64 = double(v->i64); break;
    case GgufValueType::INT32: v->i64 = load(int32_t()); v->u64 = uint64_t(v->i64); v->f64 = double(v->i64); break;
    case GgufValueType::INT64: v->i64 = load(int64_t()); v->u64 = uint64_t(v->i64); v->f64 = double(v->i64); break;
    case GgufValueType::FLOAT32: v->f64 = load(float()); break;
    case GgufValueType::FLOAT64: v->f64 = load(double()); break;
    case GgufValueType::BOOL: v->u64 = load(uint8_t()) != 0; v->i64 = int64_t(v->u64); v->f64 = double(v->u64); break;
    default: break;
  }
}

bool is_integer_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16: case GgufValueType::INT16:
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::UINT64: case GgufValueType::INT64:
      return true;
    default:
      return false;
  }
}

bool is_signed_type(GgufValueType t) {
  return t == GgufValueType::INT8 || t == GgufValueType::INT16 || t == GgufValueType::INT32 || t == GgufValueType::INT64;
}

// Read the value of key `key` (its type already read) into *v.
void read_value(GgufReader& r, GgufValueType type, std::string_view key, GgufValue* v) {
  v->type = type;
  const std::string where = "key '" + std::string(key) + "'";
  if (type == GgufValueType::STRING) {
    v->str = r.read_string(("string value of " + where).c_str());
    return;
  }
  if (type != GgufValueType::ARRAY) {
    const uint8_t* p = r.skip(scalar_size(type), ("value of " + where).c_str());
    if (p) decode_scalar(type, p, v);
    return;
  }
  const uint32_t elem = r.read<uint32_t>(("array type of " + where).c_str());
  const uint64_t count = r.read<uint64_t>(("array length of " + where).c_str());
  if (!r.ok()) return;
  if (!valid_value_type(elem)) {
    r.fail(where + ": array element type " + std::to_string(elem) + " is not a GGUF value type");
    return;
  }
  v->elem_type = GgufValueType(elem);
  v->count = count;
  if (v->elem_type == GgufValueType::ARRAY) {
    r.fail(where + ": arrays of arrays are not supported");
    return;
  }
  if (v->elem_type == GgufValueType::STRING) {
    // Each string takes at least its 8-byte length: a count beyond that cannot be honest.
    if (count > r.remaining() / 8) {
      r.fail(where + ": array of " + std::to_string(count) + " strings cannot fit in the " +
             std::to_string(r.remaining()) + " bytes left at byte " + std::to_string(r.pos()));
      return;
    }
    v->strings.reserve(size_t(count));
    for (uint64_t i = 0; i < count && r.ok(); i++) {
      v->strings.push_back(r.read_string(("element " + std::to_string(i) + " of " + where).c_str()));
    }
    return;
  }
  const size_t es = scalar_size(v->elem_type);
  if (count > r.remaining() / es) {
    r.fail(where + ": array of " + std::to_string(count) + " " + gguf_value_type_name(v->elem_type) +
           " values cannot fit in the " + std::to_string(r.remaining()) + " bytes left at byte " + std::to_string(r.pos()));
    return;
  }
  v->elems = r.skip(count * es, ("array data of " + where).c_str());
}

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: return "uint8";
    case GgufValueType::INT8: return "int8";
    case GgufValueType::UINT16: return "uint16";
    case GgufValueType::INT16: return "int16";
    case GgufValueType::UINT32: return "uint32";
    case GgufValueType::INT32: return "int32";
    case GgufValueType::FLOAT32: return "float32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::UINT64: return "uint64";
    case GgufValueType::INT64: return "int64";
    case GgufValueType::FLOAT64: return "float64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const { return is_integer_type(type); }
bool GgufValue::is_number() const {
  return is_integer_type(type) || type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64 || type == GgufValueType::BOOL;
}

double GgufValue::array_number(uint64_t i) const {
  GgufValue e;
  decode_scalar(elem_type, elems + i * scalar_size(elem_type), &e);
  return e.f64;
}

int64_t GgufValue::array_integer(uint64_t i) const {
  GgufValue e;
  decode_scalar(elem_type, elems + i * scalar_size(elem_type), &e);
  return is_integer_type(elem_type) || elem_type == GgufValueType::BOOL ? e.i64 : int64_t(e.f64);
}

std::string GgufTensor::shape_string() const {
  std::string s = "[";
  for (uint32_t i = 0; i < n_dims; i++) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

Status GgufFile::parse(const uint8_t* data, size_t size) {
  GgufReader r(data, size, size);
  return parse(r, data, size, true);
}

Status GgufFile::parse_header(const uint8_t* data, size_t available, uint64_t file_size, uint64_t* more) {
  *more = 0;
  if (available > file_size) available = size_t(file_size);
  GgufReader r(data, available, file_size);
  const Status s = parse(r, data, file_size, false);
  // Ask for what the failed read needed, and at least twice what was given: a few rounds reach any header.
  if (r.more_needed() > 0) *more = std::min<uint64_t>(file_size, std::max<uint64_t>(r.more_needed(), 2 * uint64_t(available)));
  return s;
}

Status GgufFile::parse(GgufReader& r, const uint8_t* data, uint64_t size, bool with_data) {
  *this = GgufFile();
  GgufFile f;

  // --- header ---
  const uint32_t magic = r.read<uint32_t>("the magic number");
  if (!r.ok()) return Status::error("not a GGUF file: " + r.error());
  if (magic != 0x46554747u) {  // "GGUF" read as little-endian
    return Status::error("not a GGUF file: the first 4 bytes are not \"GGUF\"");
  }
  f.version_ = r.read<uint32_t>("the version");
  if (!r.ok()) return Status::error(r.error());
  if (f.version_ != 2 && f.version_ != 3) {
    const uint32_t v = f.version_;
    const uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
    if (swapped == 2 || swapped == 3) return Status::error("big-endian GGUF files are not supported");
    return Status::error("unsupported GGUF version " + std::to_string(v) + " (supported: 2 and 3)");
  }
  const uint64_t n_tensors = r.read<uint64_t>("the tensor count");
  const uint64_t n_kv = r.read<uint64_t>("the metadata count");
  if (!r.ok()) return Status::error(r.error());
  // Each key/value takes at least 8 + 4 bytes and each tensor info at least 8 + 4 + 4 + 8.
  if (n_kv > r.remaining() / 12) {
    return Status::error("metadata count " + std::to_string(n_kv) + " cannot fit in a file of " + std::to_string(size) + " bytes");
  }
  if (n_tensors > r.remaining() / 24) {
    return Status::error("tensor count " + std::to_string(n_tensors) + " cannot fit in a file of " + std::to_string(size) + " bytes");
  }

  // --- metadata ---
  f.kvs_.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; i++) {
    GgufKV kv;
    const size_t at = r.pos();
    kv.key = r.read_string("a metadata key");
    const uint32_t type = r.read<uint32_t>("a metadata value type");
    if (!r.ok()) return Status::error("metadata entry " + std::to_string(i) + " (byte " + std::to_string(at) + "): " + r.error());
    if (!valid_value_type(type)) {
      return Status::error("key '" + std::string(kv.key) + "': value type " + std::to_string(type) + " is not a GGUF value type");
    }
    read_value(r, GgufValueType(type), kv.key, &kv.value);
    if (!r.ok()) return Status::error(r.error());
    if (!f.kv_index_.emplace(kv.key, f.kvs_.size()).second) {
      return Status::error("key '" + std::string(kv.key) + "' appears twice");
    }
    f.kvs_.push_back(std::move(kv));
  }

  if (const GgufValue* a = f.find("general.alignment")) {
    if (!a->is_integer() || a->u64 == 0 || (a->u64 & (a->u64 - 1)) != 0 || a->u64 > (1u << 20)) {
      return Status::error("key 'general.alignment' must be a power of two integer (at most 2^20)");
    }
    f.alignment_ = a->u64;
  }

  // --- tensor infos ---
  f.tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; i++) {
    GgufTensor t;
    const size_t at = r.pos();
    t.name = r.read_string("a tensor name");
    t.n_dims = r.read<uint32_t>("a tensor's dimension count");
    if (!r.ok()) return Status::error("tensor info " + std::to_string(i) + " (byte " + std::to_string(at) + "): " + r.error());
    const std::string where = "tensor '" + std::string(t.name) + "'";
    if (t.n_dims < 1 || t.n_dims > 4) {
      return Status::error(where + ": " + std::to_string(t.n_dims) + " dimensions (must be 1 to 4)");
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < t.n_dims; d++) {
      const uint64_t ne = r.read<uint64_t>((where + " dimensions").c_str());
      if (!r.ok()) return Status::error(r.error());
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max())) {
        return Status::error(where + ": dimension " + std::to_string(d) + " is " + std::to_string(ne));
      }
      if (elements > uint64_t(std::numeric_limits<int64_t>::max()) / ne) {
        return Status::error(where + ": the element count overflows (dimensions multiply past 2^63)");
      }
      elements *= ne;
      t.ne[d] = int64_t(ne);
    }
    const uint32_t type = r.read<uint32_t>((where + " type").c_str());
    t.offset = r.read<uint64_t>((where + " offset").c_str());
    if (!r.ok()) return Status::error(r.error());
    const TensorTypeTraits tt = tensor_type_traits(type);
    if (!tt.name) return Status::error(where + ": unknown tensor type id " + std::to_string(type));
    t.type = TensorType(type);
    if (t.ne[0] % tt.block_size != 0) {
      return Status::error(where + ": row length " + std::to_string(t.ne[0]) + " is not a multiple of " + tt.name +
                           "'s block size " + std::to_string(tt.block_size));
    }
    const uint64_t blocks = elements / uint64_t(tt.block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / uint64_t(tt.block_bytes)) {
      return Status::error(where + ": byte size overflows");
    }
    t.nbytes = blocks * uint64_t(tt.block_bytes);
    if (t.offset % f.alignment_ != 0) {
      return Status::error(where + ": data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                           std::to_string(f.alignment_));
    }
    if (!f.tensor_index_.emplace(t.name, f.tensors_.size()).second) return Status::error(where + " appears twice");
    f.tensors_.push_back(t);
  }

  // --- tensor data ---
  const uint64_t data_start = (uint64_t(r.pos()) + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (data_start > size && !f.tensors_.empty()) {
    return Status::error("file truncated: the tensor data section would start at byte " + std::to_string(data_start) +
                         " but the file has " + std::to_string(size) + " bytes");
  }
  f.data_offset_ = size_t(std::min<uint64_t>(data_start, size));
  f.has_data_ = with_data;
  const uint64_t data_size = size - f.data_offset_;
  for (GgufTensor& t : f.tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return Status::error("tensor '" + std::string(t.name) + "': data [" + std::to_string(t.offset) + ", +" +
                           std::to_string(t.nbytes) + ") lies past the end of the file (data section holds " +
                           std::to_string(data_size) + " bytes)");
    }
    t.data = with_data ? data + f.data_offset_ + t.offset : nullptr;
  }
  // Tensors must not overlap: sort their extents and compare neighbours.
  std::vector<const GgufTensor*> by_offset;
  for (const GgufTensor& t : f.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); i++) {
    const GgufTensor* a = by_offset[i - 1];
    const GgufTensor* b = by_offset[i];
    if (a->offset + a->nbytes > b->offset) {
      return Status::error("tensors '" + std::string(a->name) + "' and '" + std::string(b->name) + "' overlap in the data section");
    }
  }

  f.parts_ = 1;
  *this = std::move(f);
  return Status();
}

namespace {
bool is_split_key(std::string_view key) { return key.substr(0, 6) == "split."; }
}  // namespace

Status GgufFile::add_part(const uint8_t* data, size_t size, const std::string& name) {
  const std::string where = "part " + std::to_string(parts_ + 1) + (name.empty() ? "" : " (" + name + ")");
  GgufFile part;
  if (Status s = part.parse(data, size); !s.ok()) return Status::error(where + ": " + s.message());
  return add(std::move(part), where);
}

Status GgufFile::add_part_header(const uint8_t* data, size_t available, uint64_t file_size, const std::string& name, uint64_t* more) {
  const std::string where = "part " + std::to_string(parts_ + 1) + (name.empty() ? "" : " (" + name + ")");
  GgufFile part;
  if (Status s = part.parse_header(data, available, file_size, more); !s.ok()) return Status::error(where + ": " + s.message());
  return add(std::move(part), where);
}

// The next part joins the first: its place in the set, its set, and its tensors checked.
Status GgufFile::add(GgufFile part, const std::string& where) {
  uint64_t count = 0;
  RINGLM_TRY(get_uint("split.count", &count, false));
  if (count == 0) return Status::error(where + " was given, but the first part is not a split GGUF file (it has no split.count)");
  if (count <= uint64_t(parts_)) {
    return Status::error(where + " was given, but the first part's split.count says the file has " + std::to_string(count) +
                         " part" + (count == 1 ? "" : "s"));
  }
  uint64_t first = 0;
  RINGLM_TRY(get_uint("split.no", &first, false));
  if (first != 0) {
    return Status::error("the first part given says it is part " + std::to_string(first + 1) + " of " + std::to_string(count) +
                         ": the parts are out of order, or part 1 of " + std::to_string(count) + " is missing");
  }
  uint64_t index = 0, part_count = 0, tensors = 0, part_tensors = 0;
  if (Status s = part.get_uint("split.no", &index, true); !s.ok()) return Status::error(where + ": " + s.message() + ": not a part of a split GGUF file");
  if (Status s = part.get_uint("split.count", &part_count, true); !s.ok()) return Status::error(where + ": " + s.message());
  RINGLM_TRY(get_uint("split.tensors.count", &tensors, false));
  RINGLM_TRY(part.get_uint("split.tensors.count", &part_tensors, false));
  if (part_count != count || part_tensors != tensors) {
    return Status::error(where + " belongs to another split file: it says it is part " + std::to_string(index + 1) + " of " +
                         std::to_string(part_count) + " with " + std::to_string(part_tensors) + " tensors, the first part says " +
                         std::to_string(count) + " parts with " + std::to_string(tensors) + " tensors");
  }
  if (index != uint64_t(parts_)) {
    // A later part in this place: either the order is wrong or the part meant for this place was left out (a
    // user who drops an incomplete set needs to read which one).
    const std::string missing = index > uint64_t(parts_)
        ? ", or part " + std::to_string(parts_ + 1) + " of " + std::to_string(part_count) + " is missing"
        : "";
    return Status::error(where + " says it is part " + std::to_string(index + 1) + " of " + std::to_string(part_count) +
                         ": the parts are out of order" + missing);
  }
  for (const GgufKV& kv : part.kvs_) {
    if (!is_split_key(kv.key) && kv.key != "general.alignment") {
      return Status::error(where + " carries metadata key '" + std::string(kv.key) +
                           "'; only the first part's metadata is read, so the file is refused");
    }
  }
  for (const GgufTensor& t : part.tensors_) {
    if (tensor_index_.count(t.name)) return Status::error(where + ": tensor '" + std::string(t.name) + "' is also in an earlier part");
  }
  // The part's buffer (or header) outlives this file, as the first part's does: names and data stay views.
  for (const GgufTensor& t : part.tensors_) {
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(t);
  }
  has_data_ = has_data_ && part.has_data_;
  parts_++;
  return Status();
}

Status GgufFile::complete() const {
  uint64_t count = 1, tensors = 0, first = 0;
  RINGLM_TRY(get_uint("split.count", &count, false));
  RINGLM_TRY(get_uint("split.no", &first, false));
  if (first != 0) {
    return Status::error("this is part " + std::to_string(first + 1) + " of " + std::to_string(count) +
                         " of a split GGUF file: load the first part (the others are found beside it)");
  }
  if (count > uint64_t(parts_)) {
    return Status::error("this is part 1 of " + std::to_string(count) + " of a split GGUF file, and " +
                         (parts_ == 1 ? std::string("only it was given") : std::to_string(parts_) + " parts were given") +
                         ": load the first part by its name (NAME-00001-of-" + (count < 100000 ? std::string(5 - std::to_string(count).size(), '0') : "") +
                         std::to_string(count) + ".gguf) so that the others are found beside it, or give every part (" +
                         (count == uint64_t(parts_) + 1
                              ? "part " + std::to_string(count) + " of " + std::to_string(count) + " is missing"
                              : "parts " + std::to_string(parts_ + 1) + " to " + std::to_string(count) + " of " + std::to_string(count) +
                                    " are missing") +
                         ")");
  }
  if (count > 1) {
    RINGLM_TRY(get_uint("split.tensors.count", &tensors, true));
    if (tensors != tensors_.size()) {
      return Status::error("the split file's parts hold " + std::to_string(tensors_.size()) + " tensors, but split.tensors.count is " +
                           std::to_string(tensors));
    }
  }
  return Status();
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
Status missing(std::string_view key) { return Status::error("missing metadata key '" + std::string(key) + "'"); }
Status wrong_type(std::string_view key, const GgufValue& v, const char* wanted) {
  return Status::error("key '" + std::string(key) + "' has type " + gguf_value_type_name(v.type) + ", expected " + wanted);
}
}  // namespace

Status GgufFile::get_string(std::string_view key, std::string* out, bool required) const {
  const GgufValue* v = find(key);
  if (!v) return required ? missing(key) : Status();
  if (v->type != GgufValueType::STRING) return wrong_type(key, *v, "string");
  *out = std::string(v->str);
  return Status();
}

Status GgufFile::get_uint(std::string_view key, uint64_t* out, bool required) const {
  const GgufValue* v = find(key);
  if (!v) return required ? missing(key) : Status();
  if (!v->is_integer()) return wrong_type(key, *v, "an integer");
  if (is_signed_type(v->type) && v->i64 < 0) {
    return Status::error("key '" + std::string(key) + "' is negative (" + std::to_string(v->i64) + ")");
  }
  *out = v->u64;
  return Status();
}

Status GgufFile::get_float(std::string_view key, double* out, bool required) const {
  const GgufValue* v = find(key);
  if (!v) return required ? missing(key) : Status();
  if (!v->is_number() || v->type == GgufValueType::BOOL) return wrong_type(key, *v, "a number");
  *out = v->f64;
  return Status();
}

Status GgufFile::get_bool(std::string_view key, bool* out, bool required) const {
  const GgufValue* v = find(key);
  if (!v) return required ? missing(key) : Status();
  if (v->type != GgufValueType::BOOL) return wrong_type(key, *v, "bool");
  *out = v->u64 != 0;
  return Status();
}

}  // namespace ringlm
