// tokenizer.h — text to token ids and back, read from a GGUF file's tokenizer.ggml.* metadata and
// computed exactly as llama.cpp computes them for the same file.
//
// Two kinds of vocabulary, named by tokenizer.ggml.model:
//   "llama"  SentencePiece-style BPE. Spaces are written U+2581 '▁' and one is put before the text (and
//            after every special token) when add_space_prefix is on, as it is by default. The text is cut
//            into characters; adjacent pieces merge while their concatenation is a token, the merge whose
//            token has the highest score first (leftmost on ties). A piece that is no token falls back to
//            its bytes' tokens <0xXX>. No pre-splitting into words.
//   "gpt2"   byte-level BPE. A pre-tokenizer cuts the text into words (tokenizer.ggml.pre picks GPT-2's,
//            Llama 3's, Qwen's, StarCoder's, Falcon's, DeepSeek's or GPT-4o's rules, see pretokenizer.h); each byte of a word becomes one of 256 printable
//            characters (GPT-2's bytes_to_unicode), and adjacent pieces merge by tokenizer.ggml.merges, the
//            pair listed earliest first (leftmost on ties). Invalid UTF-8 reads as U+FFFD, byte by byte.
// First of all, the text is cut around special tokens: user-defined tokens always, and control/unknown
// tokens (<s>, <|endoftext|>) only when parse_special is asked for; otherwise their text is plain text.
//
// Detokenizing concatenates each token's piece (its text with '▁' read as ' ', the byte of a <0xXX> token, or a
// gpt2 token's characters mapped back to bytes; control and unknown tokens give nothing unless `special`)
// and, when add_space_prefix is on, drops one space from the start of the text, so text -> tokens -> text
// gives back the text (except that a llama vocabulary cannot tell a '▁' in the text from a space: it comes back
// as ' ', in llama.cpp too). For the gpt2 vocabularies where llama.cpp does (its clean_spaces setting: on for
// gpt-2, llama-bpe, falcon, the default split and most others, off for qwen2, qwen35, smollm, deepseek-llm,
// deepseek-coder, gpt-4o, command-r... as llama.cpp's table says; no GGUF key changes it), detokenize() then runs
// llama.cpp's clean_up_tokenization_spaces: " ?" " !" " ." " ," lose the space, " ' " becomes "'", and " 's" " 'm"
// " 're" " 've" lose it (so [Hello, Ġ?] gives "Hello?", and "Hello ?" does not round-trip there either). The
// streaming TextDecoder gives the raw pieces, without that clean-up. One difference from llama_detokenize:
// llama.cpp drops the prefix space from the very first token only, even when it is a BOS that renders as
// nothing ([<s>, ▁Hello] gives " Hello" there, "Hello" here, as Hugging Face's decoders give it).
//
// Metadata read: tokenizer.ggml.{model, pre, tokens, scores, token_type, merges, bos_token_id, eos_token_id,
// eot_token_id, eom_token_id, unknown_token_id, padding_token_id, add_bos_token, add_eos_token, add_space_prefix}.
//
// Where ringlm differs from llama.cpp (only for files where llama.cpp itself is ill-defined or aborts):
// duplicate token texts, ids outside the vocabulary and array lengths that disagree are load errors;
// llama.cpp's per-model attribute hacks keyed on general.name (phi-3, gpt-oss, jina) are not applied;
// when several EOT-looking tokens lack a type, the lowest id is taken (llama.cpp takes one in hash order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "text/pretokenizer.h"
#include "common/status.h"
#include "text/unicode.h"

namespace ringlm {

// What a token is, from tokenizer.ggml.token_type (1 normal, 2 unknown, 3 control, 4 user-defined,
// 5 unused, 6 byte; anything else: undefined). Bits, as llama.cpp keeps them.
enum TokenAttr : uint8_t {
  kTokenUndefined = 0,
  kTokenUnknown = 1 << 0,
  kTokenUnused = 1 << 1,
  kTokenNormal = 1 << 2,
  kTokenControl = 1 << 3,
  kTokenUserDefined = 1 << 4,
  kTokenByte = 1 << 5,
};

struct TokenizeOptions {
  bool add_bos = false;        // put the BOS token first (an error if the vocabulary has none)
  bool add_eos = false;        // put the EOS token last (likewise)
  bool parse_special = false;  // text of control/unknown tokens becomes those tokens
};

struct DetokenizeOptions {
  bool special = false;              // render control/unknown tokens as their text
  bool strip_leading_space = false;  // drop one ' ' from the start of the text (see default_detokenize_options)
};

// A small open-addressing index from byte strings to ids. Keys are views into storage the owner keeps
// alive and unchanged; a key also carries a `tag` (0 unless the owner needs two keys with one text).
class StringIndex {
public:
  void reserve(size_t n);
  // Adds key -> value unless the key is present (then returns false and keeps the first value).
  bool insert(std::string_view key, uint32_t tag, int32_t value);
  int32_t find(std::string_view key, uint32_t tag = 0) const;  // -1 when absent

private:
  struct Slot {
    const char* data = nullptr;
    uint32_t size = 0;
    uint32_t tag = 0;
    uint32_t hash = 0;
    int32_t value = -1;  // -1: empty slot
  };
  static uint32_t hash(std::string_view key, uint32_t tag);
  std::vector<Slot> slots_;
  size_t count_ = 0;
  size_t mask_ = 0;
};

class Tokenizer {
public:
  // Build the tokenizer the file describes.
  //  - Malformed metadata (a wrong type, array lengths that disagree, an id outside the vocabulary,
  //    duplicate tokens): an error naming the key.
  //  - No tokenizer metadata, or a kind ringlm does not implement (tokenizer.ggml.model other than llama
  //    and gpt2, an unsupported tokenizer.ggml.pre): success with *out left empty and *why_none saying why.
  static Status from_gguf(const GgufFile& file, std::unique_ptr<Tokenizer>* out, std::string* why_none);

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text (any bytes; invalid UTF-8 is allowed) to token ids, appended to *ids.
  Status tokenize(std::string_view text, const TokenizeOptions& options, std::vector<int32_t>* ids) const;

  // The bytes token `id` stands for in text (see the top of this file); empty for control and unknown
  // tokens unless `special`. May be invalid UTF-8 on its own.
  Status piece(int32_t id, bool special, std::string_view* out) const;

  // Token ids to text: the pieces' bytes, spaces cleaned up where llama.cpp does (clean_spaces()), as valid
  // UTF-8 (invalid bytes become U+FFFD, WHATWG-style).
  Status detokenize(const int32_t* ids, size_t n, const DetokenizeOptions& options, std::string* text) const;

  // Detokenize options that invert tokenize(): strip_leading_space on when the model adds a space prefix.
  DetokenizeOptions default_detokenize_options() const;

  // ---- the vocabulary ----
  const std::string& model() const { return model_; }  // "llama" or "gpt2"
  const std::string& pre() const { return pre_; }      // tokenizer.ggml.pre ("" when absent)
  int32_t n_tokens() const { return int32_t(attrs_.size()); }
  std::string_view token_text(int32_t id) const;      // the vocabulary's spelling ("▁the", "Ġthe")
  uint8_t token_attr(int32_t id) const { return attrs_[size_t(id)]; }
  float token_score(int32_t id) const { return scores_[size_t(id)]; }
  int32_t find_token(std::string_view text) const { return token_index_.find(text); }

  // Special tokens: -1 when the vocabulary has none.
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }
  int32_t eom() const { return eom_; }
  int32_t unknown() const { return unknown_; }
  int32_t padding() const { return padding_; }
  // Tokens that end generation: EOS, EOT, EOM.
  const std::vector<int32_t>& end_of_generation() const { return end_of_generation_; }
  bool is_end_of_generation(int32_t id) const;

  bool add_bos() const { return add_bos_; }  // tokenizer.ggml.add_bos_token, or the kind's default
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  bool clean_spaces() const { return clean_spaces_; }  // detokenize() cleans up spaces (see the top of this file)

private:
  Tokenizer() = default;
  enum class Kind { kSpm, kBpe };
  struct Fragment;  // a span of raw text, or a special token
  struct Scratch;   // per-call working memory

  Status load_vocabulary(const GgufFile& file);
  Status load_merges(const GgufFile& file);
  Status load_special_ids(const GgufFile& file);
  void build_pieces();

  void partition(std::string_view text, bool parse_special, std::vector<Fragment>* fragments) const;
  Status tokenize_spm(std::string_view text, bool space_prefix, Scratch& s, std::vector<int32_t>* ids) const;
  Status spm_segment(std::string_view text, Scratch& s, std::vector<int32_t>* ids) const;
  void tokenize_bpe(std::string_view text, Scratch& s, std::vector<int32_t>* ids) const;
  void bpe_word(std::string_view encoded, Scratch& s, std::vector<int32_t>* ids) const;

  Kind kind_ = Kind::kSpm;
  std::string model_, pre_;
  PreTokenizer pre_tokenizer_ = PreTokenizer::kGpt2;
  bool ignore_merges_ = false;  // llama3: a word that is a token as a whole is that token

  // Token i's text is text_bytes_[text_offsets_[i], text_offsets_[i + 1]).
  std::string text_bytes_;
  std::vector<uint32_t> text_offsets_;
  std::vector<float> scores_;
  std::vector<uint8_t> attrs_;
  StringIndex token_index_;  // text -> id

  // gpt2: merge rank by (left + right text, left length); the concatenations live in merge_bytes_.
  std::string merge_bytes_;
  StringIndex merge_index_;
  std::string byte_chars_[256];     // bytes_to_unicode: byte -> UTF-8 of its printable stand-in
  int32_t spm_byte_tokens_[256];    // llama: byte -> <0xXX> token (or the one-byte token), -1 if none
  // llama: every pair of adjacent characters inside some token (text of both, tag = the first's length).
  // Where two adjacent characters of a text form no such pair, no merge can join them: the text is cut
  // there and each part merged on its own, which gives the same tokens with far smaller work queues.
  StringIndex spm_pairs_;

  // Piece of token i (with special tokens rendered): piece_bytes_[piece_offsets_[i], piece_offsets_[i + 1]).
  std::string piece_bytes_;
  std::vector<uint32_t> piece_offsets_;

  std::vector<int32_t> special_tokens_;  // control, user-defined and unknown tokens, longest text first

  int32_t bos_ = -1, eos_ = -1, eot_ = -1, eom_ = -1, unknown_ = -1, padding_ = -1;
  std::vector<int32_t> end_of_generation_;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, clean_spaces_ = false;
};

// Streaming detokenization, one token at a time, for generation: push() returns only whole characters,
// holding back bytes that end inside a UTF-8 sequence until a later token completes it; flush() ends the
// stream (anything still held becomes U+FFFD) and starts a new one. Pushing ids one by one then flushing
// gives detokenize() of all of them before its clean-up of spaces (Tokenizer::clean_spaces()): the stream
// cannot take back a space it has sent when the next token turns out to be "?".
class TextDecoder {
public:
  TextDecoder(const Tokenizer& tokenizer, const DetokenizeOptions& options)
      : tokenizer_(tokenizer), options_(options) {}

  // Append the text that token `id` completes to *text.
  Status push(int32_t id, std::string* text);
  // Append what is still held (as U+FFFD) and start over.
  void flush(std::string* text);

private:
  const Tokenizer& tokenizer_;
  DetokenizeOptions options_;
  bool started_ = false;  // some token has rendered text (the leading space is no longer at the start)
  unicode::Utf8Assembler assembler_;
};

}  // namespace ringlm
