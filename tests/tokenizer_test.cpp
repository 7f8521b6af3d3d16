// Tokenizer tests on small vocabularies built in memory: the Unicode helpers, the three pre-tokenizer
// splits, SentencePiece-style and byte-level BPE merging, special tokens, detokenizing and streaming,
// metadata validation, and the absence of quadratic blow-ups. The real Llama-2 and GPT-2 vocabularies
// are checked against llama.cpp in tests/tokenizer.test.mjs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gguf_builder.h"
#include "text/pretokenizer.h"
#include "test_util.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace ringlm {
namespace {

using unicode::Category;

// ---- a GGUF file holding only tokenizer metadata ----------------------------------------------------

struct Vocab {
  std::string model = "llama";
  std::string pre;  // written when non-empty
  std::vector<std::string> tokens;
  std::vector<float> scores;    // written when non-empty
  std::vector<int32_t> types;   // written when non-empty
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, uint32_t>> u32;  // e.g. {"tokenizer.ggml.bos_token_id", 1}
  std::vector<std::pair<std::string, bool>> flags;    // e.g. {"tokenizer.ggml.add_bos_token", false}
  bool write_model = true;

  int32_t id(const std::string& text) const {
    for (size_t i = 0; i < tokens.size(); i++) {
      if (tokens[i] == text) return int32_t(i);
    }
    ADD_FAILURE() << "no token " << text;
    return -1;
  }
};

std::vector<uint8_t> vocab_file(const Vocab& v) {
  test::GgufBuilder b;
  const uint64_t n_kv = v.write_model + !v.pre.empty() + 1 + !v.scores.empty() + !v.types.empty() + !v.merges.empty() +
                        v.u32.size() + v.flags.size();
  b.header(0, n_kv);
  const auto strings = [&](const std::string& key, const std::vector<std::string>& values) {
    b.put_string(key);
    b.put<uint32_t>(uint32_t(GgufValueType::ARRAY));
    b.put<uint32_t>(uint32_t(GgufValueType::STRING));
    b.put<uint64_t>(values.size());
    for (const std::string& s : values) b.put_string(s);
  };
  if (v.write_model) b.kv_str("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) b.kv_str("tokenizer.ggml.pre", v.pre);
  strings("tokenizer.ggml.tokens", v.tokens);
  if (!v.scores.empty()) {
    b.put_string("tokenizer.ggml.scores");
    b.put<uint32_t>(uint32_t(GgufValueType::ARRAY));
    b.put<uint32_t>(uint32_t(GgufValueType::FLOAT32));
    b.put<uint64_t>(v.scores.size());
    for (float s : v.scores) b.put<float>(s);
  }
  if (!v.types.empty()) {
    b.put_string("tokenizer.ggml.token_type");
    b.put<uint32_t>(uint32_t(GgufValueType::ARRAY));
    b.put<uint32_t>(uint32_t(GgufValueType::INT32));
    b.put<uint64_t>(v.types.size());
    for (int32_t t : v.types) b.put<int32_t>(t);
  }
  if (!v.merges.empty()) strings("tokenizer.ggml.merges", v.merges);
  for (const auto& [key, value] : v.u32) b.kv_u32(key, value);
  for (const auto& [key, value] : v.flags) {
    b.put_string(key);
    b.put<uint32_t>(uint32_t(GgufValueType::BOOL));
    b.put<uint8_t>(value ? 1 : 0);
  }
  b.pad();
  return b.bytes;
}

// Parses the file and builds its tokenizer; the GgufFile keeps views into `bytes`, which the holder owns.
struct Loaded {
  std::vector<uint8_t> bytes;
  GgufFile file;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string why_none;
  Status status;
};

std::unique_ptr<Loaded> load(const Vocab& v) {
  auto l = std::make_unique<Loaded>();
  l->bytes = vocab_file(v);
  Status s = l->file.parse(l->bytes.data(), l->bytes.size());
  if (!s.ok()) {
    l->status = s;
    return l;
  }
  l->status = Tokenizer::from_gguf(l->file, &l->tokenizer, &l->why_none);
  return l;
}

std::string hex(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

// <unk> <s> </s>, the 256 byte tokens, then `pieces` with score -(their position), so that earlier pieces
// merge first. Types: unknown, control, control, byte x 256, normal.
Vocab spm_vocab(const std::vector<std::string>& pieces) {
  Vocab v;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {2, 3, 3};
  for (int b = 0; b < 256; b++) {
    v.tokens.push_back(hex(uint8_t(b)));
    v.types.push_back(6);
  }
  for (const std::string& p : pieces) {
    v.tokens.push_back(p);
    v.types.push_back(1);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 259; i < v.tokens.size(); i++) v.scores[i] = -float(i - 259);
  return v;
}

// GPT-2's byte alphabet as the first 256 tokens (in byte order), then the given merges' results.
std::string byte_char(uint8_t b) {
  const auto printable = [](int c) { return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF); };
  uint32_t cp = b;
  if (!printable(b)) {
    cp = 256;
    for (int c = 0; c < b; c++) cp += !printable(c);
  }
  std::string s;
  unicode::append_utf8(cp, &s);
  return s;
}

Vocab bpe_vocab(const std::string& pre, const std::vector<std::string>& merges) {
  Vocab v;
  v.model = "gpt2";
  v.pre = pre;
  for (int b = 0; b < 256; b++) v.tokens.push_back(byte_char(uint8_t(b)));
  for (const std::string& m : merges) {
    const size_t space = m.find(' ', 1);
    v.tokens.push_back(m.substr(0, space) + m.substr(space + 1));
  }
  v.tokens.push_back("<|endoftext|>");
  v.types.assign(v.tokens.size(), 1);
  v.types.back() = 3;
  v.merges = merges;
  const uint32_t eot = uint32_t(v.tokens.size() - 1);
  v.u32 = {{"tokenizer.ggml.bos_token_id", eot}, {"tokenizer.ggml.eos_token_id", eot}};
  return v;
}

std::vector<int32_t> tokenize(const Tokenizer& t, std::string_view text, bool special = false) {
  TokenizeOptions o;
  o.parse_special = special;
  std::vector<int32_t> ids;
  Status s = t.tokenize(text, o, &ids);
  EXPECT_TRUE(s.ok()) << s.message();
  return ids;
}

std::vector<std::string> texts(const Tokenizer& t, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.emplace_back(t.token_text(id));
  return out;
}

std::string detokenize(const Tokenizer& t, const std::vector<int32_t>& ids, DetokenizeOptions o) {
  std::string text;
  Status s = t.detokenize(ids.data(), ids.size(), o, &text);
  EXPECT_TRUE(s.ok()) << s.message();
  return text;
}

std::vector<std::string> split(PreTokenizer rule, const std::string& text) {
  std::vector<uint32_t> cps;
  unicode::decode_lenient(text, &cps);
  std::vector<uint32_t> lengths;
  std::vector<uint8_t> scratch;
  split_words(rule, cps.data(), cps.size(), &scratch, &lengths);
  std::vector<std::string> words;
  size_t at = 0;
  for (uint32_t n : lengths) {
    std::string w;
    for (size_t i = at; i < at + n; i++) unicode::append_utf8(cps[i], &w);
    words.push_back(w);
    at += n;
  }
  EXPECT_EQ(at, cps.size());
  return words;
}

using Words = std::vector<std::string>;

// ---- Unicode ----------------------------------------------------------------------------------------

TEST(Unicode, Categories) {
  EXPECT_EQ(unicode::category('a'), Category::kLetter);
  EXPECT_EQ(unicode::category('Z'), Category::kLetter);
  EXPECT_EQ(unicode::category('7'), Category::kNumber);
  EXPECT_EQ(unicode::category(' '), Category::kSeparator);
  EXPECT_EQ(unicode::category('\n'), Category::kOther);
  EXPECT_EQ(unicode::category('!'), Category::kPunctuation);
  EXPECT_EQ(unicode::category('$'), Category::kSymbol);
  EXPECT_EQ(unicode::category(0x4E2D), Category::kLetter);    // 中
  EXPECT_EQ(unicode::category(0x0663), Category::kNumber);    // Arabic-Indic three
  EXPECT_EQ(unicode::category(0x2167), Category::kNumber);    // Roman numeral eight (Nl)
  EXPECT_EQ(unicode::category(0x0301), Category::kMark);      // combining acute
  EXPECT_EQ(unicode::category(0x1F600), Category::kSymbol);   // 😀
  EXPECT_EQ(unicode::category(0x200D), Category::kOther);     // zero width joiner (Cf)
  EXPECT_EQ(unicode::category(0xE000), Category::kOther);     // private use
  EXPECT_EQ(unicode::category(0x0378), Category::kUnassigned);
  EXPECT_EQ(unicode::category(0x2EBF0), Category::kLetter);   // CJK Extension I (Unicode 15.1)
  EXPECT_EQ(unicode::category(0x2FFC), Category::kSymbol);    // Unicode 15.1
  EXPECT_EQ(unicode::category(0x10FFFF), Category::kUnassigned);
  EXPECT_EQ(unicode::category(0x110000), Category::kUnassigned);
}

TEST(Unicode, Whitespace) {
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u,
                      0x2029u, 0x202Fu, 0x205Fu, 0x3000u}) {
    EXPECT_TRUE(unicode::is_whitespace(cp)) << cp;
  }
  for (uint32_t cp : {0x08u, 0x0Eu, 0x1Fu, uint32_t('a'), 0x200Bu, 0xFEFFu, 0x180Eu}) EXPECT_FALSE(unicode::is_whitespace(cp)) << cp;
}

TEST(Unicode, LenientDecodeReadsLikeLlamaCpp) {
  const auto decode = [](const std::string& s) {
    std::vector<uint32_t> cps;
    unicode::decode_lenient(s, &cps);
    return cps;
  };
  EXPECT_EQ(decode("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"), (std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F600}));
  EXPECT_EQ(decode("\xC0\x80"), (std::vector<uint32_t>{0}));                // overlong: accepted
  EXPECT_EQ(decode("\xED\xA0\x80"), (std::vector<uint32_t>{0xD800}));       // surrogate: accepted
  EXPECT_EQ(decode("\xE4\xB8" "a"), (std::vector<uint32_t>{0xFFFD, 0xFFFD, 'a'}));  // cut short: byte by byte
  EXPECT_EQ(decode("\x80\xFF"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));
  EXPECT_EQ(decode("\xF7\xBF\xBF\xBF"), (std::vector<uint32_t>{0xFFFD}));   // above U+10FFFF
}

TEST(Unicode, AssemblerMatchesWhatwgTextDecoder) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(unicode::sanitize_utf8("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_EQ(unicode::sanitize_utf8("\xC0\x80"), fffd + fffd);              // C0 never starts a sequence
  EXPECT_EQ(unicode::sanitize_utf8("\xED\xA0\x80"), fffd + fffd + fffd);   // surrogates are invalid
  EXPECT_EQ(unicode::sanitize_utf8("\xE2\x82" "A"), fffd + "A");           // one U+FFFD per maximal subpart
  EXPECT_EQ(unicode::sanitize_utf8("\xF0\x9F\x98"), fffd);                 // cut off at the end
  EXPECT_EQ(unicode::sanitize_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
  EXPECT_EQ(unicode::sanitize_utf8("\xFF" "a"), fffd + "a");

  unicode::Utf8Assembler a;
  std::string out;
  a.push("x\xF0\x9F", &out);
  EXPECT_EQ(out, "x");  // the emoji's first half is held
  EXPECT_TRUE(a.holding());
  a.push("\x98", &out);
  EXPECT_EQ(out, "x");
  a.push("\x80!", &out);
  EXPECT_EQ(out, "x\xF0\x9F\x98\x80!");
  a.push("\xE4", &out);
  a.finish(&out);
  EXPECT_EQ(out, "x\xF0\x9F\x98\x80!" + fffd);
  EXPECT_FALSE(a.holding());
}

// ---- pre-tokenizers ---------------------------------------------------------------------------------

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split(PreTokenizer::kGpt2, "Hello, world!"), (Words{"Hello", ",", " world", "!"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "I'm here, they're 'so'"), (Words{"I", "'m", " here", ",", " they", "'re", " '", "so", "'"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "DON'T"), (Words{"DON", "'", "T"}));  // case-sensitive contractions
  EXPECT_EQ(split(PreTokenizer::kGpt2, "a  b"), (Words{"a", " ", " b"}));    // \s+(?!\S) leaves one space
  EXPECT_EQ(split(PreTokenizer::kGpt2, "a   "), (Words{"a", "   "}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "x\n\ny"), (Words{"x", "\n", "\n", "y"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "abc123 4567"), (Words{"abc", "123", " 4567"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, " $$$\t\ti"), (Words{" $$$", "\t", "\t", "i"}));  // only " " prefixes
  EXPECT_EQ(split(PreTokenizer::kGpt2, "\xE4\xBD\xA0\xE5\xA5\xBD \xE4\xB8\x96"), (Words{"\xE4\xBD\xA0\xE5\xA5\xBD", " \xE4\xB8\x96"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "e\xCC\x81"), (Words{"e", "\xCC\x81"}));  // a mark is not a letter
  EXPECT_EQ(split(PreTokenizer::kGpt2, ""), (Words{}));
}

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(split(PreTokenizer::kLlama3, "Hello, world!"), (Words{"Hello", ",", " world", "!"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "DON'T don't"), (Words{"DON", "'T", " don", "'t"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "x\n\ny"), (Words{"x", "\n\n", "y"}));  // \s*[\r\n]+
  EXPECT_EQ(split(PreTokenizer::kLlama3, "a \n b"), (Words{"a", " \n", " b"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "1234567 89"), (Words{"123", "456", "7", " ", "89"}));  // \p{N}{1,3}
  EXPECT_EQ(split(PreTokenizer::kLlama3, "$hello (x)"), (Words{"$hello", " (", "x", ")"}));  // [^\r\n\p{L}\p{N}]?\p{L}+
  EXPECT_EQ(split(PreTokenizer::kLlama3, "!!!\n\nok"), (Words{"!!!\n\n", "ok"}));  // [^\s\p{L}\p{N}]+[\r\n]*
  EXPECT_EQ(split(PreTokenizer::kLlama3, "\tfoo  "), (Words{"\tfoo", "  "}));
}

TEST(PreTokenizer, Qwen2SplitsDigitsOneByOne) {
  EXPECT_EQ(split(PreTokenizer::kQwen2, "x 2024!"), (Words{"x", " ", "2", "0", "2", "4", "!"}));
  EXPECT_EQ(split(PreTokenizer::kQwen2, "It's 5pm"), (Words{"It", "'s", " ", "5", "pm"}));
}

TEST(PreTokenizer, StarcoderCutsDigitsFirst) {
  // The space before a digit stays on its own: GPT-2's rule never sees past the digit.
  EXPECT_EQ(split(PreTokenizer::kStarcoder, "x 2024!"), (Words{"x", " ", "2", "0", "2", "4", "!"}));
  EXPECT_EQ(split(PreTokenizer::kStarcoder, "a  7b's"), (Words{"a", "  ", "7", "b", "'s"}));
}

TEST(PreTokenizer, DefaultSplitsPunctuationThenGpt2ThenNumbers) {
  EXPECT_EQ(split(PreTokenizer::kDefault, "Hello, world!! 12345 x"),
            (Words{"Hello", ",", " world", "!!", " ", "123", "45", " x"}));
  EXPECT_EQ(split(PreTokenizer::kDefault, "a+b=c $5 ~x `y`"),  // $+<=>^~| join punctuation, ` does not
            (Words{"a", "+", "b", "=", "c", " ", "$", "5", " ", "~", "x", " `", "y", "`"}));
  // In a run of numbers, three ASCII digits at a time, left to right; other numbers stay between.
  EXPECT_EQ(split(PreTokenizer::kDefault, "1\xC2\xB2" "345678"), (Words{"1\xC2\xB2", "345", "678"}));
  EXPECT_EQ(split(PreTokenizer::kDefault, ""), (Words{}));
}

TEST(PreTokenizer, Qwen35JoinsMarksToLetterRuns) {
  const std::string e_acute = "e\xCC\x81";  // e + U+0301 COMBINING ACUTE ACCENT
  EXPECT_EQ(split(PreTokenizer::kQwen35, "caf" + e_acute + " x"), (Words{"caf" + e_acute, " x"}));
  EXPECT_EQ(split(PreTokenizer::kQwen2, "caf" + e_acute + " x"), (Words{"cafe", "\xCC\x81", " x"}));
  // A lone mark after a space starts a run of its own; digits stay one by one.
  EXPECT_EQ(split(PreTokenizer::kQwen35, "a \xCC\x81" "b 12"), (Words{"a", " \xCC\x81" "b", " ", "1", "2"}));
}

TEST(PreTokenizer, FalconCutsPunctuationWithBacktickThenGpt2ThenThreeDigits) {
  EXPECT_EQ(split(PreTokenizer::kFalcon, "a `b` 12 12345"), (Words{"a", " ", "`", "b", "`", " 12", " ", "123", "45"}));
  EXPECT_EQ(split(PreTokenizer::kFalcon, "x+=1;"), (Words{"x", "+=", "1", ";"}));
}

TEST(PreTokenizer, DeepseekLlmUsesItsListedClasses) {
  // Letters from its list (Latin, Greek, Cyrillic...) with one optional whitespace before; ASCII symbols and
  // punctuation the same way; CJK runs; numbers runs; whatever is left stays between them.
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "Hello, world! 123"), (Words{"Hello", ",", " world", "!", " ", "123"}));
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "a\r\nb"), (Words{"a", "\r", "\n", "b"}));
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x81 ok  "),  // 你好！ ok
            (Words{"\xE4\xBD\xA0\xE5\xA5\xBD", "\xEF\xBC\x81", " ok", "  "}));
  // U+3000 is whitespace, not a member of its punctuation class: it joins the word after it.
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "a\xE3\x80\x80" "b"), (Words{"a", "\xE3\x80\x80" "b"}));
  // U+00A9 is in no class: it stays with the space before it. Thai is in the "CJK" class (U+0800..U+9FA5).
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "x \xC2\xA9"), (Words{"x", " \xC2\xA9"}));
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "x \xE0\xB8\x81"), (Words{"x", " ", "\xE0\xB8\x81"}));
}

TEST(PreTokenizer, Gpt4oSplitsByCaseAndKeepsContractions) {
  EXPECT_EQ(split(PreTokenizer::kGpt4o, "HTTPServer iPhone don't DON'T CAPS."),
            (Words{"HTTPServer", " i", "Phone", " don't", " DON'T", " CAPS", "."}));
  // Non-ASCII letters have no case here (both upper and lower): U* gives "\xC3\x80" back to W+, and the
  // capital after it starts a word of its own.
  EXPECT_EQ(split(PreTokenizer::kGpt4o, "\xC3\x80" "B \xC3\x80" "Bcd 1234 !!\n/ a"),
            (Words{"\xC3\x80", "B", " \xC3\x80" "Bcd", " ", "123", "4", " !!\n/", " a"}));
}

TEST(PreTokenizer, DeepseekCoderUsesCategories) {
  EXPECT_EQ(split(PreTokenizer::kDeepseekCoder, "int x = 42;"), (Words{"int", " x", " = ", "4", "2", ";"}));
  EXPECT_EQ(split(PreTokenizer::kDeepseekCoder, "f(a)\n"), (Words{"f", "(", "a", ")", "\n"}));
}

// ---- SentencePiece-style (llama) --------------------------------------------------------------------

TEST(SpmTokenizer, MergesByScoreWithSpacePrefixAndByteFallback) {
  // Earlier pieces have higher scores and merge first.
  const Vocab v = spm_vocab({"\xE2\x96\x81", "l", "o", "h", "e", "w", "r", "d", "ll", "he", "llo", "\xE2\x96\x81h",
                             "\xE2\x96\x81hello", "hello", "\xE2\x96\x81w", "or", "\xE2\x96\x81wor", "ld"});
  auto l = load(v);
  ASSERT_TRUE(l->status.ok()) << l->status.message();
  ASSERT_TRUE(l->tokenizer) << l->why_none;
  const Tokenizer& t = *l->tokenizer;
  EXPECT_EQ(t.model(), "llama");
  EXPECT_TRUE(t.add_bos());
  EXPECT_TRUE(t.add_space_prefix());
  EXPECT_EQ(t.bos(), 1);
  EXPECT_EQ(t.eos(), 2);
  EXPECT_EQ(t.unknown(), 0);

  // "▁hello▁world": ll, he, llo, hello, ▁hello, ▁w, or, ▁wor, ld in score order (▁h goes stale).
  EXPECT_EQ(texts(t, tokenize(t, "hello world")), (Words{"\xE2\x96\x81hello", "\xE2\x96\x81wor", "ld"}));
  EXPECT_EQ(texts(t, tokenize(t, "hello")), (Words{"\xE2\x96\x81hello"}));
  EXPECT_EQ(texts(t, tokenize(t, " hello")), (Words{"\xE2\x96\x81", "\xE2\x96\x81hello"}));
  // 'é' is no token: its two bytes fall back to <0xC3> <0xA9>.
  EXPECT_EQ(texts(t, tokenize(t, "h\xC3\xA9")), (Words{"\xE2\x96\x81h", "<0xC3>", "<0xA9>"}));
  // Invalid UTF-8 is kept byte for byte.
  EXPECT_EQ(texts(t, tokenize(t, "\xFF")), (Words{"\xE2\x96\x81", "<0xFF>"}));
  EXPECT_TRUE(tokenize(t, "").empty());

  // BOS and EOS on request.
  TokenizeOptions o;
  o.add_bos = o.add_eos = true;
  std::vector<int32_t> ids;
  ASSERT_TRUE(t.tokenize("hello", o, &ids).ok());
  EXPECT_EQ(texts(t, ids), (Words{"<s>", "\xE2\x96\x81hello", "</s>"}));
}

TEST(SpmTokenizer, EqualScoresMergeLeftmostFirst) {
  // "aaa": the pairs (a,a)(a,a) tie; the leftmost merges, leaving "aa" + "a".
  Vocab v = spm_vocab({"a", "aa", "\xE2\x96\x81"});
  v.flags = {{"tokenizer.ggml.add_space_prefix", false}};
  auto m = load(v);
  ASSERT_TRUE(m->tokenizer);
  EXPECT_FALSE(m->tokenizer->add_space_prefix());
  EXPECT_EQ(texts(*m->tokenizer, tokenize(*m->tokenizer, "aaa")), (Words{"aa", "a"}));
  EXPECT_EQ(texts(*m->tokenizer, tokenize(*m->tokenizer, "a a")), (Words{"a", "\xE2\x96\x81", "a"}));
}

TEST(SpmTokenizer, SpecialTokensArePlainTextUnlessParsed) {
  const Vocab v = spm_vocab({"\xE2\x96\x81", "<", "s", ">", "/", "x", "\xE2\x96\x81x"});
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer);
  const Tokenizer& t = *l->tokenizer;
  EXPECT_EQ(texts(t, tokenize(t, "x<s>x")), (Words{"\xE2\x96\x81x", "<", "s", ">", "x"}));
  // Parsed: <s> becomes the control token, and a space prefix follows every special token.
  EXPECT_EQ(texts(t, tokenize(t, "x<s>x", true)), (Words{"\xE2\x96\x81x", "<s>", "\xE2\x96\x81x"}));
  EXPECT_EQ(texts(t, tokenize(t, "</s><unk>", true)), (Words{"</s>", "<unk>"}));
  EXPECT_EQ(texts(t, tokenize(t, "<s>", true)), (Words{"<s>"}));
}

TEST(SpmTokenizer, UserDefinedTokensAreAlwaysCutOut) {
  Vocab v = spm_vocab({"\xE2\x96\x81", "a", "b", "<tool>", "\xE2\x96\x81" "a"});
  v.types[size_t(v.id("<tool>"))] = 4;
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer);
  const Tokenizer& t = *l->tokenizer;
  EXPECT_EQ(texts(t, tokenize(t, "a<tool>b")), (Words{"\xE2\x96\x81" "a", "<tool>", "\xE2\x96\x81", "b"}));
}

TEST(SpmTokenizer, DetokenizeInvertsTokenize) {
  const Vocab v = spm_vocab({"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab"});
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer);
  const Tokenizer& t = *l->tokenizer;
  const DetokenizeOptions inverse = t.default_detokenize_options();
  EXPECT_TRUE(inverse.strip_leading_space);
  for (const std::string text : {"ab", " ab", "  a b ", "a\xC3\xA9\xF0\x9F\x98\x80", "\n\tb", ""}) {
    EXPECT_EQ(detokenize(t, tokenize(t, text), inverse), text);
  }
  // Control tokens render only with `special`; the space goes from the start of the text, so after a BOS
  // that renders as nothing it goes from the next token (llama.cpp would keep it: " a a").
  std::vector<int32_t> ids = {1, v.id("\xE2\x96\x81" "a"), v.id("\xE2\x96\x81" "a"), 2};
  EXPECT_EQ(detokenize(t, ids, inverse), "a a");
  DetokenizeOptions special = inverse;
  special.special = true;
  EXPECT_EQ(detokenize(t, ids, special), "<s> a a</s>");
  EXPECT_EQ(detokenize(t, {v.id("\xE2\x96\x81" "a")}, inverse), "a");
  EXPECT_EQ(detokenize(t, {v.id("\xE2\x96\x81" "a")}, DetokenizeOptions{}), " a");
  std::string text;
  const int32_t bad = 100000;
  EXPECT_NE(t.detokenize(&bad, 1, inverse, &text).message().find("outside the vocabulary"), std::string::npos);
}

TEST(SpmTokenizer, StreamingHoldsIncompleteCharacters) {
  const Vocab v = spm_vocab({"\xE2\x96\x81", "a"});
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer);
  const Tokenizer& t = *l->tokenizer;
  // "a😀a": the emoji falls back to four byte tokens.
  const std::vector<int32_t> ids = tokenize(t, "a\xF0\x9F\x98\x80" "a");
  ASSERT_EQ(ids.size(), 7u);  // ▁ a <F0> <9F> <98> <80> a
  TextDecoder d(t, t.default_detokenize_options());
  std::vector<std::string> pieces;
  std::string all;
  for (int32_t id : ids) {
    std::string piece;
    ASSERT_TRUE(d.push(id, &piece).ok());
    pieces.push_back(piece);
    all += piece;
  }
  d.flush(&all);
  EXPECT_EQ(pieces, (Words{"", "a", "", "", "", "\xF0\x9F\x98\x80", "a"}));
  EXPECT_EQ(all, detokenize(t, ids, t.default_detokenize_options()));
  // A stream that ends inside a character: U+FFFD at the flush, not before.
  std::string cut;
  ASSERT_TRUE(d.push(v.id("<0xF0>"), &cut).ok());
  ASSERT_TRUE(d.push(v.id("<0x9F>"), &cut).ok());
  EXPECT_EQ(cut, "");
  d.flush(&cut);
  EXPECT_EQ(cut, "\xEF\xBF\xBD");
  // An impossible byte is replaced at once.
  std::string bad;
  ASSERT_TRUE(d.push(v.id("<0xFF>"), &bad).ok());
  EXPECT_EQ(bad, "\xEF\xBF\xBD");
}

// ---- byte-level BPE (gpt2) --------------------------------------------------------------------------

TEST(BpeTokenizer, MergesByRank) {
  const std::string G = "\xC4\xA0";  // 'Ġ', the stand-in for ' '
  const Vocab v = bpe_vocab("gpt-2", {"t h", G + " th", "th e", G + "th e", "e r", "h e"});
  auto l = load(v);
  ASSERT_TRUE(l->status.ok()) << l->status.message();
  ASSERT_TRUE(l->tokenizer) << l->why_none;
  const Tokenizer& t = *l->tokenizer;
  EXPECT_FALSE(t.add_bos());
  EXPECT_FALSE(t.add_space_prefix());
  EXPECT_EQ(t.bos(), v.id("<|endoftext|>"));
  EXPECT_EQ(texts(t, tokenize(t, "the there")), (Words{"the", G + "the", "r", "e"}));
  // "her": h+e (rank 5) loses to e+r (rank 4).
  EXPECT_EQ(texts(t, tokenize(t, "her")), (Words{"h", "er"}));
  // Invalid UTF-8 reads as U+FFFD, one per byte.
  EXPECT_EQ(texts(t, tokenize(t, "\xFF")), (Words{"\xC3\xAF", "\xC2\xBF", "\xC2\xBD"}));
  // Detokenizing maps the characters back to bytes.
  EXPECT_EQ(detokenize(t, tokenize(t, " the\ttab\n"), t.default_detokenize_options()), " the\ttab\n");
  // Special tokens.
  EXPECT_EQ(texts(t, tokenize(t, "<|endoftext|>", true)), (Words{"<|endoftext|>"}));
  EXPECT_EQ(tokenize(t, "<|endoftext|>").size(), 13u);
  EXPECT_TRUE(t.is_end_of_generation(v.id("<|endoftext|>")));
}

TEST(BpeTokenizer, Llama3IgnoresMergesForWholeTokens) {
  // "abc" is a token but no merge path reaches it: with llama-bpe's ignore_merges it is taken whole.
  Vocab v = bpe_vocab("llama-bpe", {"a b"});
  v.tokens.insert(v.tokens.end() - 1, "abc");
  v.types.insert(v.types.end() - 1, 1);
  v.u32 = {{"tokenizer.ggml.bos_token_id", uint32_t(v.tokens.size() - 1)}};
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer) << l->why_none << l->status.message();
  EXPECT_TRUE(l->tokenizer->add_bos());  // llama-bpe's default
  EXPECT_EQ(texts(*l->tokenizer, tokenize(*l->tokenizer, "abc")), (Words{"abc"}));
  v.pre = "gpt-2";
  auto g = load(v);
  ASSERT_TRUE(g->tokenizer);
  EXPECT_EQ(texts(*g->tokenizer, tokenize(*g->tokenizer, "abc")), (Words{"ab", "c"}));
}

TEST(BpeTokenizer, DetokenizeCleansUpSpacesWhereLlamaCppDoes) {
  // gpt-2 (and most byte-level vocabularies) run llama.cpp's clean_up_tokenization_spaces; qwen2 does not.
  const std::string G = "\xC4\xA0";  // 'Ġ'
  const Vocab v = bpe_vocab("gpt-2", {"H i"});
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer) << l->why_none;
  const Tokenizer& t = *l->tokenizer;
  EXPECT_TRUE(t.clean_spaces());
  const auto ids = [&](std::string_view text) { return tokenize(t, text); };
  const DetokenizeOptions o = t.default_detokenize_options();
  EXPECT_EQ(detokenize(t, ids("Hi ? a ! b . c , d"), o), "Hi? a! b. c, d");
  EXPECT_EQ(detokenize(t, ids("a ' b"), o), "a'b");                  // " ' " joins
  EXPECT_EQ(detokenize(t, ids("a ' ' b"), o), "a'' b");              // the blanked space stops the second
  EXPECT_EQ(detokenize(t, ids("x 's x 'm x 're x 've"), o), "x's x'm x're x've");
  EXPECT_EQ(detokenize(t, ids("x 't x 'd x 'll x 'q"), o), "x 't x 'd x 'll x 'q");
  EXPECT_EQ(detokenize(t, ids(" ?  ?"), o), "? ?");
  // The streaming decoder gives the pieces as they are.
  TextDecoder d(t, o);
  std::string streamed;
  for (int32_t id : ids("Hi ?")) ASSERT_TRUE(d.push(id, &streamed).ok());
  d.flush(&streamed);
  EXPECT_EQ(streamed, "Hi ?");

  auto q = load(bpe_vocab("qwen2", {"H i"}));
  ASSERT_TRUE(q->tokenizer) << q->why_none;
  EXPECT_FALSE(q->tokenizer->clean_spaces());
  EXPECT_EQ(detokenize(*q->tokenizer, tokenize(*q->tokenizer, "Hi ? 's"), o), "Hi ? 's");
}

// ---- metadata ---------------------------------------------------------------------------------------

std::string load_error(const Vocab& v) {
  auto l = load(v);
  EXPECT_FALSE(l->status.ok());
  return l->status.message();
}

TEST(TokenizerMetadata, ErrorsNameTheKey) {
  Vocab v = spm_vocab({"a"});
  v.scores.pop_back();
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.scores' has 259 entries but 'tokenizer.ggml.tokens' has 260"), std::string::npos);

  v = spm_vocab({"a"});
  v.types.push_back(1);
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.token_type' has 261 entries"), std::string::npos);

  v = spm_vocab({"a"});
  v.u32 = {{"tokenizer.ggml.bos_token_id", 260}};
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.bos_token_id' is 260, outside the vocabulary of 260 tokens"), std::string::npos);

  v = spm_vocab({"a"});
  v.u32 = {{"tokenizer.ggml.padding_token_id", 999}};
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.padding_token_id'"), std::string::npos);

  v = spm_vocab({"a", "a"});
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.tokens': token 260 'a' repeats token 259"), std::string::npos);

  v = spm_vocab({"a"});
  v.types[5] = 6;
  v.tokens[5] = "byte";
  EXPECT_NE(load_error(v).find("is a byte token but is not spelled <0xXX>"), std::string::npos);

  v = bpe_vocab("gpt-2", {"a b"});
  v.merges.clear();
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.merges'"), std::string::npos);

  v = spm_vocab({"a"});
  v.tokens.clear();
  v.scores.clear();
  v.types.clear();
  EXPECT_NE(load_error(v).find("'tokenizer.ggml.tokens' is empty"), std::string::npos);
}

TEST(TokenizerMetadata, UnsupportedOrAbsentTokenizersLeaveNone) {
  Vocab v = spm_vocab({"a"});
  v.write_model = false;
  auto l = load(v);
  EXPECT_TRUE(l->status.ok());
  EXPECT_FALSE(l->tokenizer);
  EXPECT_NE(l->why_none.find("no 'tokenizer.ggml.model'"), std::string::npos);

  v.write_model = true;
  v.model = "bert";
  l = load(v);
  EXPECT_TRUE(l->status.ok());
  EXPECT_FALSE(l->tokenizer);
  EXPECT_NE(l->why_none.find("'bert' is not supported"), std::string::npos);

  Vocab b = bpe_vocab("tekken", {"a b"});
  l = load(b);
  EXPECT_TRUE(l->status.ok());
  EXPECT_FALSE(l->tokenizer);
  EXPECT_NE(l->why_none.find("tokenizer.ggml.pre 'tekken' is not supported"), std::string::npos);

  for (const char* pre : {"", "default", "gpt-2", "llama-bpe", "llama3", "qwen2", "stablelm2", "smollm", "qwen35",
                          "falcon", "deepseek-llm", "deepseek-coder", "gpt-4o", "llama4"}) {
    b.pre = pre;
    l = load(b);
    EXPECT_TRUE(l->tokenizer) << pre << ": " << l->why_none;
  }
}

TEST(TokenizerMetadata, SpecialTokensRecognisedByText) {
  Vocab v = spm_vocab({"a", "<|im_end|>", "<|eot_id|>"});
  auto l = load(v);
  ASSERT_TRUE(l->tokenizer);
  const Tokenizer& t = *l->tokenizer;
  // Typed normal in the file, but llama.cpp treats these as control tokens that end generation.
  EXPECT_EQ(t.eot(), v.id("<|im_end|>"));
  EXPECT_TRUE(t.token_attr(v.id("<|eot_id|>")) & kTokenControl);
  EXPECT_TRUE(t.is_end_of_generation(v.id("<|eot_id|>")));
  EXPECT_TRUE(t.is_end_of_generation(2));  // </s>, the EOS
  EXPECT_FALSE(t.is_end_of_generation(v.id("a")));
  EXPECT_EQ(texts(t, tokenize(t, "<|im_end|>", true)), (Words{"<|im_end|>"}));
}

TEST(TokenizerMetadata, EngineLoadsModelsWithoutTokenizer) {
  std::unique_ptr<Engine> engine;
  test::LlamaShape shape;
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &engine).ok());
  const Tokenizer* t = nullptr;
  const Status s = engine->tokenizer(&t);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(t, nullptr);
  EXPECT_NE(s.message().find("tokenizer.ggml.model"), std::string::npos);
}

// ---- no quadratic blow-up ---------------------------------------------------------------------------

double seconds_to_tokenize(const Tokenizer& t, const std::string& text, size_t* n_ids) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenize(t, text);
  *n_ids = ids.size();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Merging 100 KB quadratically would take minutes; the bound only has to tell that apart from the
// milliseconds it takes, on a busy machine and in unoptimised first-run wasm code too.
constexpr double kMaxSeconds = 1.5;

TEST(TokenizerSpeed, LongRunsOfOneCharacter) {
  const std::string run(100000, 'a');
  const std::string spaces(100000, ' ');
  std::vector<std::string> pieces = {"\xE2\x96\x81"};
  for (std::string p = "a"; p.size() <= 16; p += p) pieces.push_back(p);
  for (std::string p = "\xE2\x96\x81\xE2\x96\x81"; p.size() <= 48; p += p) pieces.push_back(p);
  auto spm = load(spm_vocab(pieces));
  ASSERT_TRUE(spm->tokenizer);
  size_t n = 0;
  EXPECT_LT(seconds_to_tokenize(*spm->tokenizer, run, &n), kMaxSeconds);
  EXPECT_EQ(n, 1u + 100000 / 16);  // ▁, then runs of 16
  EXPECT_LT(seconds_to_tokenize(*spm->tokenizer, spaces, &n), kMaxSeconds);

  const std::string G = "\xC4\xA0";
  auto bpe = load(bpe_vocab("gpt-2", {"a a", "aa aa", "aaaa aaaa", G + " " + G, G + G + " " + G + G}));
  ASSERT_TRUE(bpe->tokenizer);
  EXPECT_LT(seconds_to_tokenize(*bpe->tokenizer, run, &n), kMaxSeconds);
  EXPECT_EQ(n, 100000u / 8);
  EXPECT_LT(seconds_to_tokenize(*bpe->tokenizer, spaces, &n), kMaxSeconds);
  EXPECT_EQ(n, 100000u / 4);
  // Many special tokens in a row.
  std::string specials;
  while (specials.size() < 100000) specials += "<|endoftext|>";
  TokenizeOptions o;
  o.parse_special = true;
  std::vector<int32_t> ids;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(bpe->tokenizer->tokenize(specials, o, &ids).ok());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), kMaxSeconds);
  EXPECT_EQ(ids.size(), specials.size() / 13);
}

}  // namespace
}  // namespace ringlm
