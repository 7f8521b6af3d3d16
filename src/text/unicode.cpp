#include "text/unicode.h"

#include <algorithm>
#include <array>

namespace ringlm::unicode {

extern const uint32_t kCategoryRanges[];  // unicode_data.cpp: (first codepoint << 8) | Category, sorted
extern const size_t kCategoryRangeCount;

namespace {

Category category_by_search(uint32_t cp) {
  // The last range starting at or before cp. Searching for (cp << 8) | 0xFF finds the first entry past it.
  const uint32_t* begin = kCategoryRanges;
  const uint32_t* end = kCategoryRanges + kCategoryRangeCount;
  const uint32_t* it = std::upper_bound(begin, end, (cp << 8) | 0xFFu);
  return it == begin ? Category::kUnassigned : Category(*(it - 1) & 0xFFu);
}

// ASCII is most text: look it up in a small table built once.
const std::array<Category, 128>& ascii_categories() {
  static const std::array<Category, 128> table = [] {
    std::array<Category, 128> t{};
    for (uint32_t cp = 0; cp < 128; cp++) t[cp] = category_by_search(cp);
    return t;
  }();
  return table;
}

}  // namespace

Category category(uint32_t cp) {
  if (cp < 128) return ascii_categories()[cp];
  if (cp > 0x10FFFF) return Category::kUnassigned;
  return category_by_search(cp);
}

bool is_whitespace(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

uint32_t decode_lenient(const char* text, size_t n, size_t* consumed) {
  const auto byte = [text](size_t i) { return uint8_t(text[i]); };
  const auto continuation = [&](size_t i) { return i < n && (byte(i) & 0xC0) == 0x80; };
  const uint8_t b0 = byte(0);
  *consumed = 1;
  if (b0 < 0x80) return b0;
  if ((b0 & 0x40) == 0) return kReplacement;  // a continuation byte cannot start a sequence
  if ((b0 & 0x20) == 0) {
    if (!continuation(1)) return kReplacement;
    *consumed = 2;
    return (uint32_t(b0 & 0x1F) << 6) | (byte(1) & 0x3F);
  }
  if ((b0 & 0x10) == 0) {
    if (!continuation(1) || !continuation(2)) return kReplacement;
    *consumed = 3;
    return (uint32_t(b0 & 0x0F) << 12) | (uint32_t(byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
  }
  if ((b0 & 0x08) == 0) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return kReplacement;
    *consumed = 4;
    const uint32_t cp = (uint32_t(b0 & 0x07) << 18) | (uint32_t(byte(1) & 0x3F) << 12) |
                        (uint32_t(byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    return cp <= 0x10FFFF ? cp : kReplacement;  // (llama.cpp throws on these when re-encoding them)
  }
  return kReplacement;  // 0xF8..0xFF
}

void decode_lenient(std::string_view text, std::vector<uint32_t>* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t used = 1;
    out->push_back(decode_lenient(text.data() + i, text.size() - i, &used));
    i += used;
  }
}

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xC0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xE0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(char(0xF0 | ((cp >> 18) & 0x07)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  }
}

// ---- Utf8Assembler: the WHATWG "utf-8 decoder" (https://encoding.spec.whatwg.org/#utf-8-decoder) ----

void Utf8Assembler::push(std::string_view bytes, std::string* out) {
  for (char c : bytes) push_byte(uint8_t(c), out);
}

void Utf8Assembler::push_byte(uint8_t b, std::string* out) {
  static constexpr char kReplacementUtf8[] = "\xEF\xBF\xBD";
  if (needed_ == 0) {
    if (b < 0x80) {
      out->push_back(char(b));
      return;
    }
    if (b >= 0xC2 && b <= 0xDF) {
      needed_ = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (b == 0xE0) lower_ = 0xA0;  // no overlong forms
      if (b == 0xED) upper_ = 0x9F;  // no surrogates
      needed_ = 2;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (b == 0xF0) lower_ = 0x90;  // no overlong forms
      if (b == 0xF4) upper_ = 0x8F;  // nothing above U+10FFFF
      needed_ = 3;
    } else {
      out->append(kReplacementUtf8, 3);  // 0x80..0xC1, 0xF5..0xFF never start a sequence
      return;
    }
    bytes_[0] = char(b);
    held_ = 1;
    return;
  }
  if (b < lower_ || b > upper_) {
    // The sequence so far is a maximal invalid subpart: one U+FFFD, then b starts afresh.
    reset();
    out->append(kReplacementUtf8, 3);
    push_byte(b, out);
    return;
  }
  lower_ = 0x80;
  upper_ = 0xBF;
  bytes_[held_++] = char(b);
  if (--needed_ == 0) {
    out->append(bytes_, held_);
    held_ = 0;
  }
}

void Utf8Assembler::finish(std::string* out) {
  if (needed_ != 0) out->append("\xEF\xBF\xBD", 3);
  reset();
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  Utf8Assembler assembler;
  assembler.push(bytes, &out);
  assembler.finish(&out);
  return out;
}

}  // namespace ringlm::unicode
