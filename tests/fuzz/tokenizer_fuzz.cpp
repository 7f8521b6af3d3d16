// tokenizer_fuzz — arbitrary bytes through the real vocabularies (Llama-2 SentencePiece, also with Gemma's
// settings; GPT-2 under the gpt-2, llama-bpe, qwen2, qwen35, deepseek-llm, deepseek-coder, falcon and
// gpt-4o pre-tokenizers): tokenize, detokenize, stream-detokenize, and
// detokenize arbitrary ids. Checked: every id is inside the vocabulary, detokenized text is valid
// UTF-8, streaming gives what detokenize gives (before its clean-up of spaces, for vocabularies that
// have one: detokenize may only drop spaces), and plain text survives a round trip.
//
// The vocabularies are the files tools/gguf/vocab-models.mjs writes, read from $RINGLM_FUZZ_MODELS
// (default build/models). The first input byte picks the options; its low two bits and the last byte's
// pick the vocabulary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

using namespace ringlm;

namespace {

struct Vocabulary {
  std::vector<uint8_t> bytes;  // the file: the GgufFile and the Tokenizer point into it
  GgufFile file;
  std::unique_ptr<Tokenizer> tokenizer;
};

constexpr const char* kFiles[] = {"vocab-llama-spm.gguf",   "vocab-gpt2.gguf",         "vocab-llama-bpe.gguf",
                                  "vocab-qwen2.gguf",       "vocab-gemma-spm.gguf",    "vocab-qwen35.gguf",
                                  "vocab-deepseek-llm.gguf", "vocab-deepseek-coder.gguf", "vocab-falcon.gguf",
                                  "vocab-gpt4o.gguf"};
constexpr size_t kVocabularies = std::size(kFiles);
Vocabulary g_vocab[kVocabularies];

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tokenizer_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = uint8_t(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; k++) {
      const uint8_t d = uint8_t(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// `cleaned` is `raw` with some spaces left out, each one before one of ?!.,' (llama.cpp's clean-up of
// spaces, Tokenizer::clean_spaces(); the one after a " ' " goes too).
bool drops_only_spaces(const std::string& raw, const std::string& cleaned) {
  size_t j = 0;
  for (size_t i = 0; i < raw.size(); i++) {
    if (j < cleaned.size() && raw[i] == cleaned[j]) {
      j++;
    } else if (raw[i] != ' ') {
      return false;
    }
  }
  return j == cleaned.size();
}

// Text that llama.cpp's clean-up of spaces would change: a space before one of ?!.,'
bool has_space_before_punctuation(std::string_view text) {
  for (size_t i = 1; i < text.size(); i++) {
    if (text[i - 1] == ' ' && std::string_view("?!.,'").find(text[i]) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("RINGLM_FUZZ_MODELS");
  const std::string base = dir ? dir : "build/models";
  for (size_t i = 0; i < kVocabularies; i++) {
    const std::string path = base + "/" + kFiles[i];
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "tokenizer_fuzz: cannot read %s (run node tools/gguf/vocab-models.mjs, or set RINGLM_FUZZ_MODELS)\n",
                   path.c_str());
      std::exit(1);
    }
    Vocabulary& v = g_vocab[i];
    v.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::string why;
    const Status s = v.file.parse(v.bytes.data(), v.bytes.size());
    const Status t = s.ok() ? Tokenizer::from_gguf(v.file, &v.tokenizer, &why) : s;
    if (!t.ok() || !v.tokenizer) {
      std::fprintf(stderr, "tokenizer_fuzz: %s: no tokenizer: %s%s\n", path.c_str(), t.message().c_str(), why.c_str());
      std::exit(1);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const Tokenizer& tok = *g_vocab[((flags & 3) | ((data[size - 1] & 3) << 2)) % kVocabularies].tokenizer;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const int32_t n_tokens = tok.n_tokens();

  TokenizeOptions to;
  to.add_bos = (flags & 4) && tok.bos() >= 0;
  to.add_eos = (flags & 8) && tok.eos() >= 0;
  to.parse_special = flags & 16;
  std::vector<int32_t> ids;
  const Status ts = tok.tokenize(text, to, &ids);
  check(ts.ok(), "tokenize accepts any bytes");
  for (int32_t id : ids) check(id >= 0 && id < n_tokens, "token ids are inside the vocabulary");

  DetokenizeOptions dopt = tok.default_detokenize_options();
  dopt.special = flags & 32;
  if (flags & 64) dopt.strip_leading_space = !dopt.strip_leading_space;
  std::string out;
  check(tok.detokenize(ids.data(), ids.size(), dopt, &out).ok(), "detokenize of tokenize's ids");
  check(valid_utf8(out), "detokenized text is valid UTF-8");

  // Streaming, one id at a time, gives the same text (before detokenize's clean-up of spaces).
  TextDecoder stream(tok, dopt);
  std::string streamed;
  for (int32_t id : ids) check(stream.push(id, &streamed).ok(), "streaming push");
  stream.flush(&streamed);
  if (tok.clean_spaces()) {
    check(drops_only_spaces(streamed, out), "detokenize drops only spaces from the streamed text");
  } else {
    check(streamed == out, "streamed text equals detokenize");
  }

  // Plain valid UTF-8, no specials asked for, default options: the text comes back. (SentencePiece
  // cannot tell a typed U+2581 from a space, user-defined tokens are always parsed, and the clean-up
  // of spaces removes some: skip those.)
  if (!(flags & (4 | 8 | 16 | 32 | 64)) && valid_utf8(std::string(text)) &&
      text.find("\xe2\x96\x81") == std::string_view::npos && text.find('<') == std::string_view::npos &&
      !(tok.clean_spaces() && has_space_before_punctuation(text))) {
    check(out == text, "detokenize(tokenize(text)) == text");
  }

  // The bytes as ids: out-of-range ones are errors, never crashes.
  std::vector<int32_t> raw((size - 1) / 4);
  if (!raw.empty()) std::memcpy(raw.data(), data + 1, raw.size() * 4);
  for (int32_t& id : raw) if (flags & 128) id = int32_t(uint32_t(id) % uint32_t(n_tokens + 2)) - 1;
  std::string raw_text;
  const Status rs = tok.detokenize(raw.data(), raw.size(), dopt, &raw_text);
  bool in_range = true;
  for (int32_t id : raw) in_range = in_range && id >= 0 && id < n_tokens;
  check(rs.ok() == in_range, "detokenize fails exactly on out-of-range ids");
  if (rs.ok()) check(valid_utf8(raw_text), "detokenized ids give valid UTF-8");
  return 0;
}
