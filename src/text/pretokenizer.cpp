#include "text/pretokenizer.h"

#include "text/unicode.h"

namespace ringlm {

namespace {

// What the rules ask of a codepoint. Positions past the span read as kOutside: no bit set, and the
// codepoint kEnd, which equals no character.
enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4, kInside = 8, kPunctuation = 16 };
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
  // [^\s\p{L}\p{N}]: any character inside the span that is none of those.
  bool other(size_t i) const { return (traits(i) & (kLetter | kNumber | kSpace | kInside)) == kInside; }

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

void split_gpt2(const Span& s, Words& w) {
  for (size_t pos = 0; pos < s.size();) {
    const uint32_t cp = s.cp(pos);
    if (const size_t n = contraction(s, pos, /*fold=*/false)) {
      w.until(pos += n);
      continue;
    }
    // " ?X+" for X in letters, numbers, others: the optional space is judged by what follows it.
    const size_t first = cp == ' ' ? pos + 1 : pos;
    if (s.letter(first)) {
      for (pos = first; s.letter(pos);) pos++;
      w.until(pos);
      continue;
    }
    if (s.number(first)) {
      for (pos = first; s.number(pos);) pos++;
      w.until(pos);
      continue;
    }
    if (s.other(first)) {
      for (pos = first; s.other(pos);) pos++;
      w.until(pos);
      continue;
    }
    size_t spaces = 0;
    while (s.space(pos + spaces)) spaces++;
    if (spaces > 1 && pos + spaces < s.size()) {
      w.until(pos += spaces - 1);  // \s+(?!\S): leave the last space to the word after it
    } else if (spaces > 0) {
      w.until(pos += spaces);
    } else {
      w.until(++pos);
    }
  }
}

// Llama 3 (digits_per_word 3) and Qwen 2 (1).
void split_llama3(const Span& s, Words& w, size_t digits_per_word) {
  for (size_t pos = 0; pos < s.size();) {
    const uint32_t cp = s.cp(pos);
    if (const size_t n = contraction(s, pos, /*fold=*/true)) {
      w.until(pos += n);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (cp != '\r' && cp != '\n' && !s.number(pos) && (s.letter(pos) || s.letter(pos + 1))) {
      for (pos++; s.letter(pos);) pos++;
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
    if ((s.traits(first) & (kLetter | kNumber | kSpace)) == 0) {
      for (pos = first; s.other(pos);) pos++;
      while (s.cp(pos) == '\r' || s.cp(pos) == '\n') pos++;
      w.until(pos);
      continue;
    }
    // \s*[\r\n]+ : a whitespace run reaching a line break ends after its last \r or \n
    size_t spaces = 0, after_line_break = 0;
    while (s.space(pos + spaces)) {
      const uint32_t c = s.cp(pos + spaces);
      spaces++;
      if (c == '\r' || c == '\n') after_line_break = pos + spaces;
    }
    if (after_line_break > 0) {
      w.until(pos = after_line_break);
    } else if (spaces > 1 && pos + spaces < s.size()) {
      w.until(pos += spaces - 1);  // \s+(?!\S)
    } else if (spaces > 0) {
      w.until(pos += spaces);
    } else {
      w.until(++pos);
    }
  }
}

// llama.cpp runs a list of expressions one after another, each over the pieces the previous one left
// (its matches and the text between them alike); here the first, \p{N}, leaves single digits and the
// runs between them, and GPT-2's rule then splits each run without seeing past its ends (so the
// space before a digit never joins it: " 7" is " " and "7").
void split_starcoder(const Span& s, Words& w) {
  for (size_t pos = 0; pos < s.size();) {
    if (s.number(pos)) {
      w.until(++pos);
      continue;
    }
    size_t end = pos;
    while (end < s.size() && !s.number(end)) end++;
    Words run{w.lengths};
    split_gpt2(Span(s, pos, end), run);
    w.last = pos = end;
  }
}

// The default split's first expression, [\p{P}\$\+<=>\^~\|]+: punctuation and these ASCII symbols.
bool default_punctuation(const Span& s, size_t i) {
  const uint32_t cp = s.cp(i);
  return s.punctuation(i) || cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' || cp == '^' ||
         cp == '~' || cp == '|';
}

bool ascii_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }

// The last two expressions over one word of GPT-2's split, [begin, end) of s: \p{N}+ cuts out runs
// of numbers, then [0-9][0-9][0-9] cuts three ASCII digits at a time out of each run, left to right.
void split_numbers(const Span& s, size_t begin, size_t end, Words& w) {
  for (size_t pos = begin; pos < end;) {
    if (!s.number(pos)) {
      while (pos < end && !s.number(pos)) pos++;
      w.until(pos);
      continue;
    }
    size_t run_end = pos;
    while (run_end < end && s.number(run_end)) run_end++;
    // In the run, every three consecutive ASCII digits found scanning left to right are a word; the
    // text between them (other numbers, shorter digit runs) is a word of its own.
    for (size_t i = pos; i + 3 <= run_end;) {
      if (ascii_digit(s.cp(i)) && ascii_digit(s.cp(i + 1)) && ascii_digit(s.cp(i + 2))) {
        w.until(i);
        w.until(i += 3);
      } else {
        i++;
      }
    }
    w.until(pos = run_end);
  }
}

void split_default(const Span& s, Words& w, std::vector<uint32_t>* gpt2_words) {
  for (size_t pos = 0; pos < s.size();) {
    if (default_punctuation(s, pos)) {
      while (pos < s.size() && default_punctuation(s, pos)) pos++;
      w.until(pos);
      continue;
    }
    size_t end = pos;
    while (end < s.size() && !default_punctuation(s, end)) end++;
    gpt2_words->clear();
    Words run{gpt2_words};
    split_gpt2(Span(s, pos, end), run);
    for (const uint32_t n : *gpt2_words) {
      split_numbers(s, pos, pos + n, w);
      pos += n;
    }
  }
}

}  // namespace

void split_words(PreTokenizer rule, const uint32_t* cps, size_t n, std::vector<uint8_t>* scratch,
                 std::vector<uint32_t>* lengths) {
  const Span span(cps, n, scratch);
  Words words{lengths};
  switch (rule) {
    case PreTokenizer::kGpt2: split_gpt2(span, words); break;
    case PreTokenizer::kLlama3: split_llama3(span, words, 3); break;
    case PreTokenizer::kQwen2: split_llama3(span, words, 1); break;
    case PreTokenizer::kStarcoder: split_starcoder(span, words); break;
    case PreTokenizer::kDefault: {
      thread_local std::vector<uint32_t> gpt2_words;  // grows to the longest text seen, then stays
      split_default(span, words, &gpt2_words);
      break;
    }
  }
}

}  // namespace ringlm
