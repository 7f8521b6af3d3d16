// unicode.h — the little Unicode the tokenizers need: UTF-8 read the way llama.cpp reads it, UTF-8 written
// back to text the way the WHATWG TextDecoder (browsers, Node) does it, and the general category of a codepoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringlm::unicode {

constexpr uint32_t kReplacement = 0xFFFD;  // U+FFFD REPLACEMENT CHARACTER

// ---- categories --------------------------------------------------------------------------------------

// The major class of a codepoint's general category (\p{L}, \p{M}, ... in regex terms). The table is
// generated from UnicodeData.txt by tools/gen-unicode-data.mjs into unicode_data.cpp.
enum class Category : uint8_t {
  kUnassigned = 0,   // Cn
  kLetter = 1,       // Lu Ll Lt Lm Lo
  kMark = 2,         // Mn Mc Me
  kNumber = 3,       // Nd Nl No
  kPunctuation = 4,  // Pc Pd Ps Pe Pi Pf Po
  kSymbol = 5,       // Sm Sc Sk So
  kSeparator = 6,    // Zs Zl Zp
  kOther = 7,        // Cc Cf Co Cs
};

Category category(uint32_t cp);  // above U+10FFFF: kUnassigned

// White_Space from PropList.txt: \t \n \v \f \r, space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
// U+2029, U+202F, U+205F, U+3000.
bool is_whitespace(uint32_t cp);

// ---- reading UTF-8 like llama.cpp --------------------------------------------------------------------

// Bytes in the sequence a lead byte announces, from its high nibble alone (0x0-0xB: 1, 0xC-0xD: 2,
// 0xE: 3, 0xF: 4). Continuation and invalid bytes count as 1. This is how the SentencePiece-style
// tokenizer cuts text into characters.
inline size_t sequence_length(uint8_t lead) {
  static constexpr uint8_t kLength[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[lead >> 4];
}

// Decode the codepoint at text[0], leniently: a lead byte followed by enough continuation bytes is
// accepted whatever it encodes (overlong forms, surrogates); anything else yields U+FFFD and consumes
// one byte. Values above U+10FFFF also yield U+FFFD (consuming the whole sequence). `n` must be > 0.
uint32_t decode_lenient(const char* text, size_t n, size_t* consumed);

// All codepoints of `text`, decoded with decode_lenient.
void decode_lenient(std::string_view text, std::vector<uint32_t>* out);

// Append the UTF-8 encoding of cp (at most U+10FFFF; surrogates are encoded like any other value).
void append_utf8(uint32_t cp, std::string* out);

// ---- writing text out -------------------------------------------------------------------------------

// Turns a stream of bytes into valid UTF-8 exactly as the WHATWG "utf-8" decoder does (TextDecoder in
// browsers and Node): each maximal invalid subsequence becomes one U+FFFD. A sequence cut off at the end
// of a chunk is held back until the next chunk completes it (or finish() gives up on it).
class Utf8Assembler {
public:
  // Append to *out the text that the bytes complete.
  void push(std::string_view bytes, std::string* out);
  // End of stream: an incomplete sequence still held becomes U+FFFD. The assembler is then empty.
  void finish(std::string* out);
  bool holding() const { return held_ > 0; }

private:
  void push_byte(uint8_t b, std::string* out);
  void reset() { needed_ = 0; held_ = 0; lower_ = 0x80; upper_ = 0xBF; }

  uint8_t needed_ = 0;  // continuation bytes still expected
  uint8_t held_ = 0;    // bytes of the current sequence seen so far
  uint8_t lower_ = 0x80, upper_ = 0xBF;  // bounds for the next continuation byte
  char bytes_[4] = {};
};

// The whole of `bytes` as valid UTF-8 (Utf8Assembler in one go).
std::string sanitize_utf8(std::string_view bytes);

}  // namespace ringlm::unicode
