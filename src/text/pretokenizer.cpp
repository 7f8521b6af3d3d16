#include "text/pretokenizer.h"

#include <algorithm>

#include "text/unicode.h"

namespace ringlm {

namespace {

// What the rules ask of a codepoint. Positions past the span read as kOutside: no bit set, and the
// codepoint kEnd, which equals no character.
enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4, kInside = 8, kPunctuation = 16, kMark = 32 };
constexpr uint32_t kEnd = 0xFFFFFFFFu;

class Span {
public:
  Span(const uint32_t* cps, size_t n, std::vector<uint8_t>* traits) : cps_(cps), n_(n) {
    traits->resize(n);
    for (size_t i = 0; i < n; i++) {
      const uint32_t cp = cps[i];
      uint8_t t = kInside;
      const unicode::Category c = unicode::category(cp);
      if (c == unicode::Category::kLetter) t |= kLetter;
      if (c == unicode::Category::kNumber) t |= kNumber;
      if (c == unicode::Category::kPunctuation) t |= kPunctuation;
      if (c == unicode::Category::kMark) t |= kMark;
      if (unicode::is_whitespace(cp)) t |= kSpace;
      (*traits)[i] = t;
    }
    traits_ = traits->data();
  }
  // Positions [begin, end) of `s` as a span of their own: a rule applied to it sees nothing past its ends.
  Span(const Span& s, size_t begin, size_t end) : cps_(s.cps_ + begin), n_(end - begin), traits_(s.traits_ + begin) {}
  size_t size() const { return n_; }
  uint32_t cp(size_t i) const { return i < n_ ? cps_[i] : kEnd; }
  uint8_t traits(size_t i) const { return i < n_ ? traits_[i] : 0; }
  bool letter(size_t i) const { return traits(i) & kLetter; }
  bool number(size_t i) const { return traits(i) & kNumber; }
  bool space(size_t i) const { return traits(i) & kSpace; }
  bool punctuation(size_t i) const { return traits(i) & kPunctuation; }
  // [^\s\p{L}\p{N}]: any character inside the span that is none of those (`word` adds kMark for Qwen 3.5).
  bool other(size_t i, uint8_t word = kLetter) const {
    return (traits(i) & (word | kNumber | kSpace | kInside)) == kInside;
  }

private:
  const uint32_t* cps_;
  size_t n_;
  const uint8_t* traits_ = nullptr;
};

uint32_t ascii_lower(uint32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp; }

// 's 't 're 've 'm 'll 'd at pos: the length of the match (3, 2) or 0. `fold` makes it case-insensitive.
// (tools/gen-unicode-data.mjs checks that no non-ASCII codepoint lowercases to one of these letters.)
size_t contraction(const Span& s, size_t pos, bool fold) {
  if (s.cp(pos) != '\'' || pos + 1 >= s.size()) return 0;
  const auto lower = [&](size_t i) { return fold ? ascii_lower(s.cp(i)) : s.cp(i); };
  const uint32_t a = lower(pos + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= s.size()) return 0;
  const uint32_t b = lower(pos + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Appends word lengths; `end` is where the next word ends, always past the previous one.
struct Words {
  std::vector<uint32_t>* lengths;
  size_t last = 0;
  void until(size_t end) {
    if (end > last) lengths->push_back(uint32_t(end - last));
    last = end;
  }
};

// ---- one expression at a time ------------------------------------------------------------------------
//
// llama.cpp runs a list of expressions one after another, each over the pieces the one before left (its
// matches and the text between them alike, each piece seen on its own: nothing past its ends). A Finder is
// one expression: the leftmost match in `piece` at or after `from`, as [*begin, *end), or false if none.

using Finder = bool (*)(const Span& piece, size_t from, size_t* begin, size_t* end);

// Runs finders[0] over s[begin, end) and the remaining finders over each piece it leaves.
void cascade(const Span& s, size_t begin, size_t end, const Finder* finders, size_t n, Words& w) {
  if (n == 0) return w.until(end);
  const Span piece(s, begin, end);
  size_t done = 0;  // the piece up to here is cut
  for (size_t b, e; done < piece.size() && finders[0](piece, done, &b, &e); done = e) {
    if (b > done) cascade(s, begin + done, begin + b, finders + 1, n - 1, w);
    cascade(s, begin + b, begin + e, finders + 1, n - 1, w);
  }
  if (done < piece.size()) cascade(s, begin + done, end, finders + 1, n - 1, w);
}

using Class = bool (*)(const Span& piece, size_t i);

// X+ (or \s?X+ with `optional_space`) for a class X that holds no whitespace.
template <Class X, bool optional_space>
bool find_run(const Span& piece, size_t from, size_t* begin, size_t* end) {
  for (size_t i = from; i < piece.size(); i++) {
    const bool space_first = optional_space && piece.space(i) && X(piece, i + 1);
    if (!space_first && !X(piece, i)) continue;
    *begin = i;
    for (i += space_first ? 2 : 1; X(piece, i);) i++;
    *end = i;
    return true;
  }
  return false;
}

// X: one character of the class.
template <Class X>
bool find_one(const Span& piece, size_t from, size_t* begin, size_t* end) {
  for (size_t i = from; i < piece.size(); i++) {
    if (X(piece, i)) {
      *begin = i;
      *end = i + 1;
      return true;
    }
  }
  return false;
}

// \s+$: the whitespace that ends the piece.
bool find_trailing_space(const Span& piece, size_t from, size_t* begin, size_t* end) {
  size_t start = piece.size();
  while (start > from && piece.space(start - 1)) start--;
  *begin = start;
  *end = piece.size();
  return start < piece.size();
}

// [0-9][0-9][0-9]: three ASCII digits, scanning left to right.
bool find_three_digits(const Span& piece, size_t from, size_t* begin, size_t* end) {
  const auto digit = [&](size_t i) { return piece.cp(i) >= '0' && piece.cp(i) <= '9'; };
  for (size_t i = from; i + 3 <= piece.size(); i++) {
    if (digit(i) && digit(i + 1) && digit(i + 2)) {
      *begin = i;
      *end = i + 3;
      return true;
    }
  }
  return false;
}

bool is_letter(const Span& s, size_t i) { return s.letter(i); }
bool is_number(const Span& s, size_t i) { return s.number(i); }
bool is_punctuation(const Span& s, size_t i) { return s.punctuation(i); }
bool is_line_break(const Span& s, size_t i) { return s.cp(i) == '\r' || s.cp(i) == '\n'; }

// [\p{P}\$\+<=>\^~\|]: punctuation and these ASCII symbols (the default split's first expression);
// falcon's adds the backtick.
bool is_default_punctuation(const Span& s, size_t i) {
  const uint32_t cp = s.cp(i);
  return s.punctuation(i) || cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' || cp == '^' ||
         cp == '~' || cp == '|';
}
bool is_falcon_punctuation(const Span& s, size_t i) { return is_default_punctuation(s, i) || s.cp(i) == '`'; }

// The end of the whitespace word at pos: \s+(?!\S)|\s+ (a run followed by more text leaves its last space to the
// word after it), with `line_breaks` \s*[\r\n]+ first (a run holding a line break ends after its last \r or \n).
// A position that starts no whitespace is a word of one character.
size_t space_word_end(const Span& s, size_t pos, bool line_breaks) {
  size_t spaces = 0, after_line_break = 0;
  while (s.space(pos + spaces)) {
    const uint32_t c = s.cp(pos + spaces);
    spaces++;
    if (line_breaks && (c == '\r' || c == '\n')) after_line_break = pos + spaces;
  }
  if (after_line_break > 0) return after_line_break;
  if (spaces > 1 && pos + spaces < s.size()) return pos + spaces - 1;
  return pos + std::max<size_t>(spaces, 1);
}

// ---- GPT-2 -------------------------------------------------------------------------------------------

// The end of the word that starts at pos (llama.cpp's hand-written split: every character is in a word).
size_t gpt2_word_end(const Span& s, size_t pos) {
  if (const size_t n = contraction(s, pos, /*fold=*/false)) return pos + n;
  // " ?X+" for X in letters, numbers, others: the optional space is judged by what follows it.
  const size_t first = s.cp(pos) == ' ' ? pos + 1 : pos;
  if (s.letter(first)) {
    for (pos = first; s.letter(pos);) pos++;
    return pos;
  }
  if (s.number(first)) {
    for (pos = first; s.number(pos);) pos++;
    return pos;
  }
  if (s.other(first)) {
    for (pos = first; s.other(pos);) pos++;
    return pos;
  }
  return space_word_end(s, pos, /*line_breaks=*/false);
}

bool find_gpt2_word(const Span& piece, size_t from, size_t* begin, size_t* end) {
  *begin = from;
  *end = gpt2_word_end(piece, from);
  return from < piece.size();
}

// ---- Llama 3, Qwen 2, Qwen 3.5 -----------------------------------------------------------------------

// digits_per_word: 3 (Llama 3) or 1 (Qwen). word: the traits a letter run takes (Qwen 3.5: marks too).
void split_llama3(const Span& s, Words& w, size_t digits_per_word, uint8_t word) {
  const auto in_word = [&](size_t i) { return (s.traits(i) & word) != 0; };
  for (size_t pos = 0; pos < s.size();) {
    const uint32_t cp = s.cp(pos);
    if (const size_t n = contraction(s, pos, /*fold=*/true)) {
      w.until(pos += n);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+  (Qwen 3.5: [^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+)
    if (cp != '\r' && cp != '\n' && !s.number(pos) && (in_word(pos) || in_word(pos + 1))) {
      for (pos++; in_word(pos);) pos++;
      w.until(pos);
      continue;
    }
    // \p{N}{1,3} or \p{N}
    if (s.number(pos)) {
      size_t run = 0;
      while (s.number(pos)) {
        pos++;
        if (++run == digits_per_word) {
          w.until(pos);
          run = 0;
        }
      }
      w.until(pos);
      continue;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*  (the optional space is judged by what follows it; llama.cpp lets a
    // lone space at the very end take this branch too, which gives the same word)
    const size_t first = cp == ' ' ? pos + 1 : pos;
    if ((s.traits(first) & (word | kNumber | kSpace)) == 0) {
      for (pos = first; s.other(pos, word);) pos++;
      while (s.cp(pos) == '\r' || s.cp(pos) == '\n') pos++;
      w.until(pos);
      continue;
    }
    w.until(pos = space_word_end(s, pos, /*line_breaks=*/true));  // \s*[\r\n]+|\s+(?!\S)|\s+
  }
}

// ---- GPT-4o (o200k: Phi-4-mini, Llama 4) ----------------------------------------------------------------
//
// llama.cpp runs this split with std::regex over text where every non-ASCII letter reads as one stand-in
// letter, which is both upper and lower case; only ASCII letters have a case. Its expression, alternative by
// alternative (the first that matches at a position wins; * + ? are greedy but give back to let the rest match):
//   A1 [^\r\n\p{L}\p{N}]? U* W+ C?   U: a letter but not a-z; W: a letter but not A-Z; C: 's 't 're 've 'm 'll 'd
//   A2 [^\r\n\p{L}\p{N}]? U+ W* C?   (any case)
//   A3 \p{N}{1,3}
//   A4  ?[^\s\p{L}\p{N}]+[\r\n/]*
//   A5 \s*[\r\n]+    A6 \s+(?!\S)    A7 \s+

bool upper_like(const Span& s, size_t i) { return s.letter(i) && !(s.cp(i) >= 'a' && s.cp(i) <= 'z'); }
bool lower_like(const Span& s, size_t i) { return s.letter(i) && !(s.cp(i) >= 'A' && s.cp(i) <= 'Z'); }

// The end of the word that starts at pos (every character is in some word).
size_t gpt4o_word_end(const Span& s, size_t pos) {
  const uint32_t cp = s.cp(pos);
  // A1, A2: letters start right after the optional non-letter, non-number first character.
  const size_t first = (s.letter(pos) || s.number(pos) || cp == '\r' || cp == '\n') ? pos : pos + 1;
  if (s.letter(first)) {
    size_t upper = 0;  // U* takes the whole run of U, then gives back until W+ can start
    while (upper_like(s, first + upper)) upper++;
    for (size_t j = upper + 1; j-- > 0;) {
      if (!lower_like(s, first + j)) continue;
      size_t end = first + j;
      while (lower_like(s, end)) end++;
      return end + contraction(s, end, /*fold=*/true);
    }
    // No W reachable: the run is ASCII capitals, followed by no letter (A2).
    return first + upper + contraction(s, first + upper, /*fold=*/true);
  }
  if (s.number(pos)) {  // A3
    size_t end = pos;
    while (end < pos + 3 && s.number(end)) end++;
    return end;
  }
  const size_t other = cp == ' ' ? pos + 1 : pos;  // A4
  if (s.other(other)) {
    size_t end = other;
    while (s.other(end)) end++;
    while (s.cp(end) == '\r' || s.cp(end) == '\n' || s.cp(end) == '/') end++;
    return end;
  }
  return space_word_end(s, pos, /*line_breaks=*/true);  // A5, A6, A7
}

bool find_gpt4o_word(const Span& piece, size_t from, size_t* begin, size_t* end) {
  *begin = from;
  *end = gpt4o_word_end(piece, from);
  return from < piece.size();
}

// ---- DeepSeek ----------------------------------------------------------------------------------------
//
// DeepSeek's expressions spell some classes out as codepoint ranges. llama.cpp matches those on the raw
// codepoints, except that it first turns every non-ASCII whitespace character into U+000B: so U+3000,
// though inside 　-。 and ࠀ-一, matches only \s.

struct Range {
  uint32_t first, last;
};

bool in_ranges(uint32_t cp, const Range* ranges, size_t n) {
  const Range* r = std::upper_bound(ranges, ranges + n, cp, [](uint32_t c, const Range& x) { return c < x.first; });
  return r != ranges && cp <= (r - 1)->last;
}

template <size_t N>
bool in_ranges_not_space(const Span& s, size_t i, const Range (&ranges)[N]) {
  return !s.space(i) && in_ranges(s.cp(i), ranges, N);
}

// deepseek-llm's letters, the class of its second expression (\s?[A-Za-zµÀ-ÖØ-ö...]+) as listed in its
// tokenizer.json: Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic, fullwidth and a
// few more, but no CJK and not every \p{L}.
constexpr Range kDeepseekLetters[] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},       {0xD8, 0xF6},
    {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},     {0x295, 0x2AF},     {0x370, 0x373},
    {0x376, 0x377},     {0x37B, 0x37D},     {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},
    {0x38C, 0x38C},     {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},   {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},   {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},   {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},   {0xA680, 0xA69B},   {0xA722, 0xA76F},
    {0xA771, 0xA787},   {0xA78B, 0xA78E},   {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
// Its third expression's class [!-/:-~！-／：-～‘-‟　-。]: ASCII punctuation, symbols and letters from ':',
// their fullwidth forms, curly quotes, and CJK space, comma and full stop.
constexpr Range kDeepseekPunctuation[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};
// Both DeepSeek splits' [一-龥ࠀ-一가-퟿]: everything from Samaritan to the end of the CJK ideographs
// (U+0800..U+9FA5), and Hangul syllables on (U+AC00..U+D7FF).
constexpr Range kDeepseekCjk[] = {{0x800, 0x9FA5}, {0xAC00, 0xD7FF}};

bool is_deepseek_letter(const Span& s, size_t i) { return in_ranges_not_space(s, i, kDeepseekLetters); }
bool is_deepseek_punctuation(const Span& s, size_t i) { return in_ranges_not_space(s, i, kDeepseekPunctuation); }
bool is_deepseek_cjk(const Span& s, size_t i) { return in_ranges_not_space(s, i, kDeepseekCjk); }

// The lists of expressions, in llama.cpp's order.
constexpr Finder kDeepseekLlmSteps[] = {
    find_one<is_line_break>,                     // [\r\n]
    find_run<is_deepseek_letter, true>,          // \s?[A-Za-zµÀ-ÖØ-ö...]+
    find_run<is_deepseek_punctuation, true>,     // \s?[!-/:-~！-／：-～‘-‟　-。]+
    find_trailing_space,                         // \s+$
    find_run<is_deepseek_cjk, false>,            // [一-龥ࠀ-一가-퟿]+
    find_run<is_number, false>,                  // \p{N}+
};
constexpr Finder kDeepseekCoderSteps[] = {
    find_one<is_line_break>,               // [\r\n]
    find_run<is_letter, true>,             // \s?\p{L}+
    find_run<is_punctuation, true>,        // \s?\p{P}+
    find_run<is_deepseek_cjk, false>,      // [一-龥ࠀ-一가-퟿]+
    find_one<is_number>,                   // \p{N}
};
constexpr Finder kFalconSteps[] = {
    find_run<is_falcon_punctuation, false>,  // [\p{P}\$\+<=>\^~\|`]+
    find_gpt2_word,                          // GPT-2's expression
    find_three_digits,                       // [0-9][0-9][0-9]
};
constexpr Finder kDefaultSteps[] = {
    find_run<is_default_punctuation, false>,  // [\p{P}\$\+<=>\^~\|]+
    find_gpt2_word,                           // GPT-2's expression
    find_run<is_number, false>,               // \p{N}+
    find_three_digits,                        // [0-9][0-9][0-9]
};
// Every digit a word of its own, then GPT-2's rule over the text between them, which therefore never
// sees past a digit (the space before a digit never joins it: " 7" is " " and "7").
constexpr Finder kStarcoderSteps[] = {
    find_one<is_number>,  // \p{N}
    find_gpt2_word,       // GPT-2's expression
};
constexpr Finder kGpt2Steps[] = {find_gpt2_word};
constexpr Finder kGpt4oSteps[] = {find_gpt4o_word};

template <size_t N>
void run(const Span& s, const Finder (&steps)[N], Words& w) {
  cascade(s, 0, s.size(), steps, N, w);
}

}  // namespace

void split_words(PreTokenizer rule, const uint32_t* cps, size_t n, std::vector<uint8_t>* scratch,
                 std::vector<uint32_t>* lengths) {
  const Span span(cps, n, scratch);
  Words words{lengths};
  switch (rule) {
    case PreTokenizer::kGpt2: run(span, kGpt2Steps, words); break;
    case PreTokenizer::kLlama3: split_llama3(span, words, 3, kLetter); break;
    case PreTokenizer::kQwen2: split_llama3(span, words, 1, kLetter); break;
    case PreTokenizer::kQwen35: split_llama3(span, words, 1, kLetter | kMark); break;
    case PreTokenizer::kStarcoder: run(span, kStarcoderSteps, words); break;
    case PreTokenizer::kFalcon: run(span, kFalconSteps, words); break;
    case PreTokenizer::kDeepseekLlm: run(span, kDeepseekLlmSteps, words); break;
    case PreTokenizer::kDeepseekCoder: run(span, kDeepseekCoderSteps, words); break;
    case PreTokenizer::kGpt4o: run(span, kGpt4oSteps, words); break;
    case PreTokenizer::kDefault: run(span, kDefaultSteps, words); break;
  }
}

}  // namespace ringlm
