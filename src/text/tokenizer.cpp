#include "text/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ringlm {

namespace {

constexpr char kSpaceMark[] = "\xE2\x96\x81";  // U+2581 '▁', SentencePiece's stand-in for ' '

std::string quoted(std::string_view s, size_t max = 40) {
  std::string out = "'";
  out.append(s.substr(0, max));
  if (s.size() > max) out += "...";
  return out + "'";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex_byte(uint8_t b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[b >> 4], kHex[b & 15]};
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes take the
// codepoints 256, 257, ... in byte order, so that every byte is a visible character in the vocabulary.
uint32_t byte_to_char(uint8_t b) {
  const auto printable = [](int c) { return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF); };
  if (printable(b)) return b;
  uint32_t n = 0;
  for (int c = 0; c < b; c++) n += !printable(c);
  return 256 + n;
}

// Token texts that llama.cpp recognises as special whatever their token_type says (its vocabulary
// loader's "auto-detect special tokens by text" step); each one found is made a control token.
constexpr const char* kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
    "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>", "<end_of_utterance>"};
constexpr const char* kEndOfMessageTexts[] = {"<|eom_id|>"};
constexpr const char* kFimPrefixTexts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>",
    "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"};
constexpr const char* kFimSuffixTexts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "hole\xEF\xBD\x9C>", "<SUF>",
    "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"};
constexpr const char* kFimMiddleTexts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>",
    "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"};
constexpr const char* kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr const char* kFimRepoTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr const char* kFimSeparatorTexts[] = {"<|file_sep|>"};
// Tokens that end generation, by text.
constexpr const char* kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>", "[e~["};
// gpt-oss's structural tokens are always rendered and always cut out of text.
constexpr const char* kAlwaysUserDefinedTexts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

template <size_t N>
bool one_of(std::string_view text, const char* const (&list)[N]) {
  for (const char* s : list) {
    if (text == s) return true;
  }
  return false;
}

// tokenizer.ggml.pre values ringlm implements, with llama.cpp's settings for each (src/llama-vocab.cpp,
// llama_vocab::impl::load). One row per name, as llama.cpp lists them, so that each row can be checked against
// that list; the settings a row shares with its neighbours are named once below.
struct PreSettings {
  PreTokenizer rule;
  bool ignore_merges;  // a word that is a whole token is taken as it is
  bool add_bos;        // default of add_bos_token
  bool clean_spaces;   // detokenize runs clean_up_tokenization_spaces (" ," -> ","); no key overrides it
};
struct PreInfo {
  const char* name;
  PreSettings settings;
};
constexpr PreSettings kGpt2Clean{PreTokenizer::kGpt2, false, false, true};
constexpr PreSettings kGpt2Raw{PreTokenizer::kGpt2, false, false, false};
constexpr PreSettings kLlama3Bos{PreTokenizer::kLlama3, true, true, true};  // llama3, llama-bpe and kin
constexpr PreSettings kLlama3Clean{PreTokenizer::kLlama3, false, false, true};  // same split, llama.cpp's defaults
constexpr PreSettings kQwen2Raw{PreTokenizer::kQwen2, false, false, false};
constexpr PreSettings kQwen2Clean{PreTokenizer::kQwen2, false, false, true};
constexpr PreSettings kStarcoderClean{PreTokenizer::kStarcoder, false, false, true};
constexpr PreSettings kStarcoderRaw{PreTokenizer::kStarcoder, false, false, false};
constexpr PreSettings kGpt4oRaw{PreTokenizer::kGpt4o, false, false, false};
constexpr PreInfo kPreTokenizers[] = {
    {"gpt-2", kGpt2Clean},          {"phi-2", kGpt2Clean},         {"jina-es", kGpt2Clean},
    {"jina-de", kGpt2Clean},        {"gigachat", kGpt2Clean},      {"jina-v2-es", kGpt2Clean},
    {"jina-v2-de", kGpt2Clean},     {"a.x-4.0", kGpt2Clean},       {"mellum", kGpt2Clean},
    {"modern-bert", kGpt2Clean},    {"exaone4", kGpt2Clean},       {"mpt", kGpt2Clean},
    {"olmo", kGpt2Clean},           {"jais", kGpt2Clean},          {"trillion", kGpt2Raw},
    {"granite-docling", kGpt2Raw},
    {"llama3", kLlama3Bos},         {"llama-v3", kLlama3Bos},      {"llama-bpe", kLlama3Bos},
    {"falcon3", kLlama3Bos},        {"falcon-h1", kLlama3Bos},     {"pixtral", kLlama3Bos},
    {"midm-2.0", kLlama3Bos},       {"lfm2", kLlama3Bos},          {"jina-v5-nano", kLlama3Bos},
    {"dbrx", kLlama3Clean},         {"smaug-bpe", kLlama3Clean},
    {"qwen2", kQwen2Raw},           {"deepseek-r1-qwen", kQwen2Raw}, {"kormo", kQwen2Raw},
    {"f2llmv2", kQwen2Raw},         {"hunyuan", kQwen2Raw},        {"solar-open", kQwen2Raw},
    {"grok-2", kQwen2Raw},          {"megrez", kQwen2Clean},       {"stablelm2", kQwen2Clean},
    {"qwen35", {PreTokenizer::kQwen35, false, false, false}},
    {"starcoder", kStarcoderClean}, {"refact", kStarcoderClean},   {"codeshell", kStarcoderClean},
    {"exaone", kStarcoderClean},    {"minerva-7b", kStarcoderClean}, {"smollm", kStarcoderRaw},
    {"command-r", kStarcoderRaw},   {"mellum2", kStarcoderClean},
    {"falcon", {PreTokenizer::kFalcon, false, false, true}},
    {"deepseek-llm", {PreTokenizer::kDeepseekLlm, false, false, false}},
    {"deepseek-coder", {PreTokenizer::kDeepseekCoder, false, false, false}},
    {"gpt-4o", kGpt4oRaw},          {"llama4", kGpt4oRaw},         {"kanana2", kGpt4oRaw},
    {"talkie", kGpt4oRaw},          {"minimax-m2", kGpt4oRaw},
};

// A piece of text being merged: bytes [start, start + n) of the working text, in a doubly linked list.
struct Symbol {
  uint32_t start;
  uint32_t n;  // 0 once merged into its left neighbour
  int32_t prev, next;
};

// Candidate merges of two adjacent symbols. `size` (their joint length when queued) tells stale entries
// apart: symbols only grow, so a merge is still valid exactly when both still have the sizes they had.
struct SpmBigram {
  float priority;  // the merged token's score
  int32_t left, right;
  uint32_t size;
  // Max-heap order: the highest score on top, the leftmost on ties.
  bool operator<(const SpmBigram& o) const { return priority < o.priority || (priority == o.priority && left > o.left); }
};
struct BpeBigram {
  int32_t priority;  // the merge's rank
  int32_t left, right;
  uint32_t size;
  // Max-heap order: the lowest rank on top, the leftmost on ties.
  bool operator<(const BpeBigram& o) const { return priority > o.priority || (priority == o.priority && left > o.left); }
};

// Cut `text` into one symbol per character (as sequence_length() counts characters).
void make_symbols(std::string_view text, std::vector<Symbol>* symbols) {
  symbols->clear();
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::min(unicode::sequence_length(uint8_t(text[at])), text.size() - at);
    const int32_t i = int32_t(symbols->size());
    symbols->push_back({uint32_t(at), uint32_t(n), i - 1, at + n == text.size() ? -1 : i + 1});
    at += n;
  }
}

// Merge symbols `left` and its right neighbour `right`.
void merge(std::vector<Symbol>& symbols, int32_t left, int32_t right) {
  Symbol& l = symbols[size_t(left)];
  Symbol& r = symbols[size_t(right)];
  l.n += r.n;
  r.n = 0;
  l.next = r.next;
  if (r.next >= 0) symbols[size_t(r.next)].prev = left;
}

// The merge loop SentencePiece and BPE share. `text` is cut into one symbol per character; every
// adjacent pair that `priority(start, left_size, joint_size, &p)` accepts is queued, then the best queued
// pair (Bigram's heap order: highest score, or lowest rank) is merged until none is left, queueing the
// pairs each merge creates with its neighbours. Entries made stale by an earlier merge are skipped.
// Then `emit` gets each final symbol's text, left to right; its first error stops the loop.
template <typename Bigram, typename Priority, typename Emit>
Status merge_best_pairs(std::string_view text, std::vector<Symbol>& symbols, std::vector<Bigram>& queue, Priority priority,
                        Emit emit) {
  make_symbols(text, &symbols);
  queue.clear();
  const auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[size_t(left)];
    const uint32_t size = l.n + symbols[size_t(right)].n;
    decltype(Bigram::priority) p;
    if (!priority(l.start, l.n, size, &p)) return;
    queue.push_back({p, left, right, size});
    std::push_heap(queue.begin(), queue.end());
  };
  for (int32_t i = 1; i < int32_t(symbols.size()); i++) try_pair(i - 1, i);
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end());
    const Bigram b = queue.back();
    queue.pop_back();
    const Symbol& l = symbols[size_t(b.left)];
    const Symbol& r = symbols[size_t(b.right)];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale: one side has merged since
    merge(symbols, b.left, b.right);
    try_pair(symbols[size_t(b.left)].prev, b.left);
    try_pair(b.left, symbols[size_t(b.left)].next);
  }
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[size_t(i)].next) {
    RINGLM_TRY(emit(text.substr(symbols[size_t(i)].start, symbols[size_t(i)].n)));
  }
  return Status();
}

}  // namespace

// ---- StringIndex ------------------------------------------------------------------------------------

uint32_t StringIndex::hash(std::string_view key, uint32_t tag) {
  uint32_t h = 2166136261u ^ (tag * 0x9E3779B9u);
  for (char c : key) h = (h ^ uint8_t(c)) * 16777619u;  // FNV-1a
  h ^= h >> 15;
  h *= 0x2C1B3C6Du;
  return h ^ (h >> 12);
}

void StringIndex::reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  count_ = 0;
  for (const Slot& s : old) {
    if (s.value >= 0) insert(std::string_view(s.data, s.size), s.tag, s.value);
  }
}

bool StringIndex::insert(std::string_view key, uint32_t tag, int32_t value) {
  if (2 * (count_ + 1) > slots_.size()) reserve(count_ + 1);
  const uint32_t h = hash(key, tag);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.value < 0) {
      s = Slot{key.data(), uint32_t(key.size()), tag, h, value};
      count_++;
      return true;
    }
    if (s.hash == h && s.tag == tag && std::string_view(s.data, s.size) == key) return false;
  }
}

int32_t StringIndex::find(std::string_view key, uint32_t tag) const {
  if (slots_.empty()) return -1;
  const uint32_t h = hash(key, tag);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.value < 0) return -1;
    if (s.hash == h && s.tag == tag && s.size == key.size() && std::memcmp(s.data, key.data(), key.size()) == 0) {
      return s.value;
    }
  }
}

// ---- loading ----------------------------------------------------------------------------------------

struct Tokenizer::Fragment {
  int32_t token;  // a special token, or -1 for text
  uint32_t offset, length;
};

struct Tokenizer::Scratch {
  std::vector<Fragment> fragments, next;
  std::string text;  // llama: the escaped fragment; gpt2: the current word, byte-encoded
  std::vector<uint32_t> cps, word_lengths;
  std::vector<uint8_t> traits;
  std::vector<Symbol> symbols;
  std::vector<SpmBigram> spm_queue;
  std::vector<BpeBigram> bpe_queue;
};

Status Tokenizer::from_gguf(const GgufFile& file, std::unique_ptr<Tokenizer>* out, std::string* why_none) {
  out->reset();
  why_none->clear();
  std::unique_ptr<Tokenizer> t(new Tokenizer());

  if (!file.find("tokenizer.ggml.model")) {
    *why_none = "the model file has no tokenizer (no 'tokenizer.ggml.model' metadata)";
    return Status();
  }
  RINGLM_TRY(file.get_string("tokenizer.ggml.model", &t->model_, true));
  RINGLM_TRY(file.get_string("tokenizer.ggml.pre", &t->pre_, false));  // only gpt2 vocabularies use it
  if (t->model_ == "llama") {
    t->kind_ = Kind::kSpm;
    t->add_space_prefix_ = true;
    t->add_bos_ = true;
  } else if (t->model_ == "gpt2") {
    t->kind_ = Kind::kBpe;
    const PreInfo* info = nullptr;
    // Files converted before the key existed have none; llama.cpp then splits with its 'default' rule.
    static constexpr PreInfo kFallback = {"default", {PreTokenizer::kDefault, false, false, true}};
    if (t->pre_.empty() || t->pre_ == kFallback.name) info = &kFallback;
    for (const PreInfo& p : kPreTokenizers) {
      if (t->pre_ == p.name) info = &p;
    }
    if (!info) {
      *why_none = "tokenizer.ggml.pre " + quoted(t->pre_) + " is not supported (ringlm implements the GPT-2, Llama 3, "
            "Qwen 2, Qwen 3.5, StarCoder, Falcon, DeepSeek LLM and Coder, GPT-4o and default splits: 'gpt-2', "
            "'llama-bpe', 'qwen2', 'qwen35', 'smollm', 'falcon', 'deepseek-llm', 'deepseek-coder', 'gpt-4o', 'default' "
            "and the names llama.cpp gives the same rules)";
      return Status();
    }
    t->pre_tokenizer_ = info->settings.rule;
    t->ignore_merges_ = info->settings.ignore_merges;
    t->add_bos_ = info->settings.add_bos;
    t->clean_spaces_ = info->settings.clean_spaces;
  } else if (t->model_ == "none" || t->model_ == "no_vocab") {
    *why_none = "the model file declares no vocabulary (tokenizer.ggml.model = " + quoted(t->model_) + ")";
    return Status();
  } else {
    *why_none = "tokenizer.ggml.model " + quoted(t->model_) + " is not supported (ringlm implements 'llama' and 'gpt2')";
    return Status();
  }
  RINGLM_TRY(file.get_bool("tokenizer.ggml.add_space_prefix", &t->add_space_prefix_, false));

  RINGLM_TRY(t->load_vocabulary(file));
  if (t->kind_ == Kind::kBpe) RINGLM_TRY(t->load_merges(file));
  RINGLM_TRY(t->load_special_ids(file));
  t->build_pieces();
  *out = std::move(t);
  return Status();
}

// The array of strings at `key`, which the file must have (`why_needed` ends the message when it does
// not), with at most INT32_MAX entries: token ids and merge ranks are int32.
static Status find_string_array(const GgufFile& file, const char* key, const char* why_needed, const GgufValue** out) {
  *out = file.find(key);
  if (!*out) return Status::error(std::string("missing metadata key '") + key + "'" + why_needed);
  if ((*out)->type != GgufValueType::ARRAY || (*out)->elem_type != GgufValueType::STRING) {
    return Status::error(std::string("key '") + key + "' must be an array of strings");
  }
  if ((*out)->count > uint64_t(std::numeric_limits<int32_t>::max())) {
    return Status::error(std::string("key '") + key + "' has too many entries");
  }
  return Status();
}

Status Tokenizer::load_vocabulary(const GgufFile& file) {
  const GgufValue* tokens = nullptr;
  RINGLM_TRY(find_string_array(file, "tokenizer.ggml.tokens", "", &tokens));
  const uint64_t n = tokens->count;
  if (n == 0) return Status::error("key 'tokenizer.ggml.tokens' is empty");

  const auto check_numbers = [&](const char* key, const GgufValue** out, bool integers) -> Status {
    *out = file.find(key);
    if (!*out) return Status();
    const GgufValue& v = **out;
    const bool numeric = v.type == GgufValueType::ARRAY && v.elem_type != GgufValueType::STRING &&
                         v.elem_type != GgufValueType::BOOL && v.elem_type != GgufValueType::ARRAY;
    const bool integral = v.elem_type != GgufValueType::FLOAT32 && v.elem_type != GgufValueType::FLOAT64;
    if (!numeric || (integers && !integral)) {
      return Status::error(std::string("key '") + key + "' must be an array of " + (integers ? "integers" : "numbers"));
    }
    if (v.count != n) {
      return Status::error(std::string("key '") + key + "' has " + std::to_string(v.count) +
                           " entries but 'tokenizer.ggml.tokens' has " + std::to_string(n));
    }
    return Status();
  };
  const GgufValue* scores = nullptr;
  const GgufValue* types = nullptr;
  RINGLM_TRY(check_numbers("tokenizer.ggml.scores", &scores, false));
  RINGLM_TRY(check_numbers("tokenizer.ggml.token_type", &types, true));

  // Texts first, into one arena (the index keeps views into it, so it must not move afterwards).
  size_t total = 0;
  for (uint64_t i = 0; i < n; i++) total += tokens->strings[i].empty() ? 32 : tokens->strings[i].size();
  if (total > std::numeric_limits<uint32_t>::max()) return Status::error("key 'tokenizer.ggml.tokens' is too large");
  text_bytes_.reserve(total);
  text_offsets_.assign(1, 0);
  for (uint64_t i = 0; i < n; i++) {
    std::string_view text = tokens->strings[i];
    if (text.empty()) {
      text_bytes_ += "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp names empty tokens
    } else {
      text_bytes_.append(text);
    }
    text_offsets_.push_back(uint32_t(text_bytes_.size()));
  }

  scores_.assign(size_t(n), 0.0f);
  attrs_.assign(size_t(n), kTokenNormal);
  token_index_.reserve(size_t(n));
  for (int32_t i = 0; i < int32_t(n); i++) {
    if (scores) {
      scores_[size_t(i)] = float(scores->array_number(uint64_t(i)));
      if (std::isnan(scores_[size_t(i)])) {
        return Status::error("key 'tokenizer.ggml.scores': the score of token " + std::to_string(i) + " is NaN");
      }
    }
    if (types) {
      switch (types->array_integer(uint64_t(i))) {
        case 1: attrs_[size_t(i)] = kTokenNormal; break;
        case 2: attrs_[size_t(i)] = kTokenUnknown; break;
        case 3: attrs_[size_t(i)] = kTokenControl; break;
        case 4: attrs_[size_t(i)] = kTokenUserDefined; break;
        case 5: attrs_[size_t(i)] = kTokenUnused; break;
        case 6: attrs_[size_t(i)] = kTokenByte; break;
        default: attrs_[size_t(i)] = kTokenUndefined; break;
      }
    }
    const std::string_view text = token_text(i);
    if (!token_index_.insert(text, 0, i)) {
      return Status::error("key 'tokenizer.ggml.tokens': token " + std::to_string(i) + " " + quoted(text) +
                           " repeats token " + std::to_string(token_index_.find(text)));
    }
    if (attrs_[size_t(i)] & kTokenByte) {
      // Byte tokens are spelled <0xXX> (llama.cpp reads the two hex digits at offset 3).
      const bool ok = text.size() == 6 && text.substr(0, 3) == "<0x" && text[5] == '>' &&
                      hex_digit(text[3]) >= 0 && hex_digit(text[4]) >= 0;
      if (!ok) {
        return Status::error("key 'tokenizer.ggml.token_type': token " + std::to_string(i) + " " + quoted(text) +
                             " is a byte token but is not spelled <0xXX>");
      }
    }
  }

  if (kind_ == Kind::kSpm) {
    for (int32_t i = 0; i < int32_t(n); i++) {
      const std::string_view text = token_text(i);
      size_t prev = 0, at = unicode::sequence_length(uint8_t(text[0]));
      while (at < text.size()) {
        const size_t len = std::min(unicode::sequence_length(uint8_t(text[at])), text.size() - at);
        spm_pairs_.insert(text.substr(prev, at + len - prev), uint32_t(at - prev), 1);
        prev = at;
        at += len;
      }
    }
  }

  // Byte fallback (llama): the <0xXX> token of each byte, or else a token that is that byte itself.
  for (int b = 0; b < 256; b++) {
    int32_t id = token_index_.find("<0x" + hex_byte(uint8_t(b)) + ">");
    if (id < 0) id = token_index_.find(std::string(1, char(b)));
    spm_byte_tokens_[b] = id;
  }
  for (int b = 0; b < 256; b++) {
    byte_chars_[b].clear();
    unicode::append_utf8(byte_to_char(uint8_t(b)), &byte_chars_[b]);
  }
  return Status();
}

Status Tokenizer::load_merges(const GgufFile& file) {
  const GgufValue* merges = nullptr;
  RINGLM_TRY(find_string_array(file, "tokenizer.ggml.merges", " (a gpt2 tokenizer needs its merges)", &merges));
  // Line r is "left right" (split at the first space after the first character) and has rank r.
  size_t total = 0;
  for (std::string_view line : merges->strings) total += line.size();
  if (total > std::numeric_limits<uint32_t>::max()) return Status::error("key 'tokenizer.ggml.merges' is too large");
  merge_bytes_.reserve(total);
  struct Entry { uint32_t offset, size, left; };
  std::vector<Entry> entries;
  entries.reserve(merges->strings.size());
  for (std::string_view line : merges->strings) {
    const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) {
      entries.push_back({0, 0, 0});  // llama.cpp keeps such lines as a pair of empty strings: they never match
      continue;
    }
    entries.push_back({uint32_t(merge_bytes_.size()), uint32_t(line.size() - 1), uint32_t(space)});
    merge_bytes_.append(line.substr(0, space));
    merge_bytes_.append(line.substr(space + 1));
  }
  merge_index_.reserve(entries.size());
  for (size_t r = 0; r < entries.size(); r++) {
    const Entry& e = entries[r];
    if (e.size == 0) continue;
    merge_index_.insert(std::string_view(merge_bytes_.data() + e.offset, e.size), e.left, int32_t(r));  // first rank wins
  }
  return Status();
}

Status Tokenizer::load_special_ids(const GgufFile& file) {
  const int32_t n = n_tokens();
  // llama.cpp's defaults per kind; a default outside the vocabulary is dropped.
  if (kind_ == Kind::kSpm) {
    bos_ = 1, eos_ = 2, unknown_ = 0;
  } else {
    bos_ = 11, eos_ = 11, unknown_ = -1;
  }
  for (int32_t* id : {&bos_, &eos_, &unknown_}) {
    if (*id >= n) *id = -1;
  }
  const auto read_id = [&](const char* key, int32_t* id) -> Status {
    if (!file.find(key)) return Status();
    uint64_t v = 0;
    RINGLM_TRY(file.get_uint(key, &v, true));
    if (v >= uint64_t(n)) {
      return Status::error(std::string("key '") + key + "' is " + std::to_string(v) + ", outside the vocabulary of " +
                           std::to_string(n) + " tokens");
    }
    *id = int32_t(v);
    return Status();
  };
  RINGLM_TRY(read_id("tokenizer.ggml.bos_token_id", &bos_));
  RINGLM_TRY(read_id("tokenizer.ggml.eos_token_id", &eos_));
  RINGLM_TRY(read_id("tokenizer.ggml.eot_token_id", &eot_));
  RINGLM_TRY(read_id("tokenizer.ggml.eom_token_id", &eom_));
  RINGLM_TRY(read_id("tokenizer.ggml.unknown_token_id", &unknown_));
  RINGLM_TRY(read_id("tokenizer.ggml.padding_token_id", &padding_));
  RINGLM_TRY(file.get_bool("tokenizer.ggml.add_bos_token", &add_bos_, false));
  RINGLM_TRY(file.get_bool("tokenizer.ggml.add_eos_token", &add_eos_, false));

  // Special tokens recognised by their text, as llama.cpp does (in its order): each becomes a control token.
  int32_t fim_pad = -1, fim_repo = -1, fim_separator = -1;
  const auto detect = [&](int32_t* id, const auto& texts) {
    if (*id >= 0) return;
    for (int32_t i = 0; i < n; i++) {
      if (one_of(token_text(i), texts)) {
        *id = i;
        attrs_[size_t(i)] |= kTokenControl;
        return;
      }
    }
  };
  int32_t fim_prefix = -1, fim_suffix = -1, fim_middle = -1;
  detect(&eot_, kEndOfTurnTexts);
  detect(&eom_, kEndOfMessageTexts);
  detect(&fim_prefix, kFimPrefixTexts);
  detect(&fim_suffix, kFimSuffixTexts);
  detect(&fim_middle, kFimMiddleTexts);
  detect(&fim_pad, kFimPadTexts);
  detect(&fim_repo, kFimRepoTexts);
  detect(&fim_separator, kFimSeparatorTexts);

  std::vector<bool> ends(size_t(n), false);
  for (int32_t id : {fim_pad, fim_repo, fim_separator, eos_, eot_, eom_}) {
    if (id >= 0) ends[size_t(id)] = true;
  }
  int32_t end_id = -1, slash_s = -1;
  bool has_return = false, has_call = false, has_flush = false, has_tool_response = false;
  for (int32_t i = 0; i < n; i++) {
    const std::string_view text = token_text(i);
    if (one_of(text, kEndOfGenerationTexts)) {
      ends[size_t(i)] = true;
      attrs_[size_t(i)] |= kTokenControl;
    }
    if (one_of(text, kAlwaysUserDefinedTexts)) attrs_[size_t(i)] = kTokenUserDefined;
  }
  for (int32_t i = 0; i < n; i++) {
    if (!ends[size_t(i)]) continue;
    const std::string_view text = token_text(i);
    if (text == "<|return|>") has_return = true;
    if (text == "<|call|>" || text == "<|calls|>") has_call = true;
    if (text == "<|flush|>") has_flush = true;
    if (text == "<|end|>") end_id = i;
    if (text == "<|tool_response>") has_tool_response = true;
    if (text == "</s>") slash_s = i;
  }
  // llama.cpp's workarounds: with <|return|> and <|call|> (gpt-oss) or <|calls|> and <|flush|>, "<|end|>"
  // ends a message, not generation; with <|tool_response> (gemma 4), "</s>" is ordinary text.
  if (end_id >= 0 && has_call && (has_return || has_flush)) {
    ends[size_t(end_id)] = false;
    attrs_[size_t(end_id)] = kTokenUserDefined;
  }
  if (slash_s >= 0 && has_tool_response) {
    ends[size_t(slash_s)] = false;
    attrs_[size_t(slash_s)] = kTokenNormal;
  }
  end_of_generation_.clear();
  for (int32_t i = 0; i < n; i++) {
    if (ends[size_t(i)]) end_of_generation_.push_back(i);
  }

  // Text cut out before tokenizing: control, user-defined and unknown tokens, longest first.
  special_tokens_.clear();
  for (int32_t i = 0; i < n; i++) {
    if (attrs_[size_t(i)] & (kTokenControl | kTokenUserDefined | kTokenUnknown)) special_tokens_.push_back(i);
  }
  std::stable_sort(special_tokens_.begin(), special_tokens_.end(),
                   [&](int32_t a, int32_t b) { return token_text(a).size() > token_text(b).size(); });
  return Status();
}

// Each token's piece, as llama.cpp's token_to_piece(special = true) renders it.
void Tokenizer::build_pieces() {
  uint8_t char_to_byte[324 + 1];  // inverse of byte_to_char (codepoints 0..323)
  bool has_byte[324] = {};
  for (int b = 0; b < 256; b++) {
    const uint32_t c = byte_to_char(uint8_t(b));
    char_to_byte[c] = uint8_t(b);
    has_byte[c] = true;
  }
  piece_offsets_.assign(1, 0);
  piece_bytes_.clear();
  piece_bytes_.reserve(text_bytes_.size());
  std::vector<uint32_t> cps;
  for (int32_t id = 0; id < n_tokens(); id++) {
    const std::string_view text = token_text(id);
    const uint8_t attr = attrs_[size_t(id)];
    if (attr & (kTokenControl | kTokenUnknown | kTokenUserDefined)) {
      piece_bytes_.append(text);
    } else if (attr & kTokenNormal) {
      if (kind_ == Kind::kSpm) {
        for (size_t i = 0; i < text.size(); i++) {
          if (text.compare(i, 3, kSpaceMark) == 0) {
            piece_bytes_ += ' ';
            i += 2;
          } else {
            piece_bytes_ += text[i];
          }
        }
      } else {
        unicode::decode_lenient(text, &cps);
        for (uint32_t c : cps) {
          if (c < 324 && has_byte[c]) {
            piece_bytes_ += char(char_to_byte[c]);
          } else {
            // What llama.cpp writes for a character outside the byte alphabet.
            std::string utf8;
            unicode::append_utf8(c, &utf8);
            piece_bytes_ += "[UNK_BYTE_0x";
            for (char u : utf8) {
              static constexpr char kHex[] = "0123456789abcdef";
              piece_bytes_ += kHex[uint8_t(u) >> 4];
              piece_bytes_ += kHex[uint8_t(u) & 15];
            }
            piece_bytes_.append(text);
            piece_bytes_ += ']';
          }
        }
      }
    } else if (attr & kTokenByte) {
      piece_bytes_ += char(hex_digit(text[3]) * 16 + hex_digit(text[4]));  // <0xXX>, checked at load
    }
    piece_offsets_.push_back(uint32_t(piece_bytes_.size()));
  }
}

// ---- tokenizing -------------------------------------------------------------------------------------

std::string_view Tokenizer::token_text(int32_t id) const {
  return std::string_view(text_bytes_.data() + text_offsets_[size_t(id)], text_offsets_[size_t(id) + 1] - text_offsets_[size_t(id)]);
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), id);
}

// Cut the text around special tokens: for each one in turn (longest first), every occurrence in what is
// still text becomes that token.
void Tokenizer::partition(std::string_view text, bool parse_special, std::vector<Fragment>* fragments) const {
  fragments->clear();
  if (text.empty()) return;
  fragments->push_back({-1, 0, uint32_t(text.size())});
  std::vector<Fragment> next;
  for (int32_t id : special_tokens_) {
    if (!parse_special && (attrs_[size_t(id)] & (kTokenControl | kTokenUnknown))) continue;
    const std::string_view special = token_text(id);
    if (text.find(special) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : *fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view span = text.substr(0, size_t(f.offset) + f.length);
      size_t at = f.offset;
      for (;;) {
        const size_t match = span.find(special, at);
        if (match == std::string_view::npos) {
          if (at < span.size()) next.push_back({-1, uint32_t(at), uint32_t(span.size() - at)});
          break;
        }
        if (match > at) next.push_back({-1, uint32_t(at), uint32_t(match - at)});
        next.push_back({id, 0, 0});
        at = match + special.size();
      }
    }
    fragments->swap(next);
  }
}

Status Tokenizer::tokenize(std::string_view text, const TokenizeOptions& options, std::vector<int32_t>* ids) const {
  if (text.size() >= (1u << 30)) return Status::error("text of " + std::to_string(text.size()) + " bytes is too long to tokenize (at most 1 GiB)");
  if (options.add_bos && bos_ < 0) return Status::error("cannot add BOS: this vocabulary has no BOS token");
  if (options.add_eos && eos_ < 0) return Status::error("cannot add EOS: this vocabulary has no EOS token");
  Scratch s;
  partition(text, options.parse_special, &s.fragments);
  if (options.add_bos) ids->push_back(bos_);
  bool after_special = true;  // llama: a space goes before the text and after every special token
  for (const Fragment& f : s.fragments) {
    if (f.token >= 0) {
      ids->push_back(f.token);
      after_special = true;
      continue;
    }
    const std::string_view span = text.substr(f.offset, f.length);
    if (kind_ == Kind::kSpm) {
      RINGLM_TRY(tokenize_spm(span, add_space_prefix_ && after_special, s, ids));
    } else {
      tokenize_bpe(span, s, ids);
    }
    after_special = false;
  }
  if (options.add_eos) ids->push_back(eos_);
  return Status();
}

Status Tokenizer::tokenize_spm(std::string_view text, bool space_prefix, Scratch& s, std::vector<int32_t>* ids) const {
  std::string& escaped = s.text;
  escaped.clear();
  escaped.reserve(text.size() + 3);
  if (space_prefix) escaped += kSpaceMark;
  for (char c : text) {
    if (c == ' ') {
      escaped += kSpaceMark;
    } else {
      escaped += c;
    }
  }
  // Cut between characters that no token joins (see spm_pairs_); merge each part on its own.
  size_t part = 0, prev = 0;
  for (size_t at = 0; at < escaped.size();) {
    const size_t len = std::min(unicode::sequence_length(uint8_t(escaped[at])), escaped.size() - at);
    if (at > part && spm_pairs_.find(std::string_view(escaped.data() + prev, at + len - prev), uint32_t(at - prev)) < 0) {
      RINGLM_TRY(spm_segment(std::string_view(escaped.data() + part, at - part), s, ids));
      part = at;
    }
    prev = at;
    at += len;
  }
  return spm_segment(std::string_view(escaped.data() + part, escaped.size() - part), s, ids);
}

Status Tokenizer::spm_segment(std::string_view escaped, Scratch& s, std::vector<int32_t>* ids) const {
  const auto score = [&](uint32_t start, uint32_t, uint32_t size, float* p) {
    const int32_t id = token_index_.find(escaped.substr(start, size));
    if (id >= 0) *p = scores_[size_t(id)];
    return id >= 0;
  };
  return merge_best_pairs(escaped, s.symbols, s.spm_queue, score, [&](std::string_view piece) {
    const int32_t id = token_index_.find(piece);
    if (id >= 0) {
      ids->push_back(id);
      return Status();
    }
    for (char c : piece) {  // no token: one token per byte
      const int32_t byte_id = spm_byte_tokens_[uint8_t(c)];
      if (byte_id < 0) {
        return Status::error("cannot tokenize byte 0x" + hex_byte(uint8_t(c)) + ": the vocabulary has no <0x" +
                             hex_byte(uint8_t(c)) + "> token");
      }
      ids->push_back(byte_id);
    }
    return Status();
  });
}

void Tokenizer::tokenize_bpe(std::string_view text, Scratch& s, std::vector<int32_t>* ids) const {
  unicode::decode_lenient(text, &s.cps);
  s.word_lengths.clear();
  split_words(pre_tokenizer_, s.cps.data(), s.cps.size(), &s.traits, &s.word_lengths);
  size_t at = 0;
  std::string utf8;
  for (uint32_t length : s.word_lengths) {
    s.text.clear();
    for (size_t i = at; i < at + length; i++) {
      utf8.clear();
      unicode::append_utf8(s.cps[i], &utf8);
      for (char c : utf8) s.text += byte_chars_[uint8_t(c)];
    }
    at += length;
    bpe_word(s.text, s, ids);
  }
}

void Tokenizer::bpe_word(std::string_view encoded, Scratch& s, std::vector<int32_t>* ids) const {
  if (ignore_merges_) {
    const int32_t id = token_index_.find(encoded);
    if (id >= 0) {
      ids->push_back(id);
      return;
    }
  }
  const auto rank = [&](uint32_t start, uint32_t left_size, uint32_t size, int32_t* p) {
    *p = merge_index_.find(encoded.substr(start, size), left_size);
    return *p >= 0;
  };
  // Never fails: every piece has a token, or its bytes are looked up one by one.
  (void)merge_best_pairs(encoded, s.symbols, s.bpe_queue, rank, [&](std::string_view piece) {
    const int32_t id = token_index_.find(piece);
    if (id >= 0) {
      ids->push_back(id);
      return Status();
    }
    // No such token (only in odd vocabularies): llama.cpp looks up each byte of the piece on its own.
    for (char c : piece) {
      const int32_t byte_id = token_index_.find(std::string_view(&c, 1));
      if (byte_id >= 0) ids->push_back(byte_id);
    }
    return Status();
  });
}

// ---- detokenizing -----------------------------------------------------------------------------------

DetokenizeOptions Tokenizer::default_detokenize_options() const {
  DetokenizeOptions o;
  o.strip_leading_space = add_space_prefix_;
  return o;
}

Status Tokenizer::piece(int32_t id, bool special, std::string_view* out) const {
  if (id < 0 || id >= n_tokens()) {
    return Status::error("token id " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(n_tokens()) + " tokens)");
  }
  *out = std::string_view();
  if (!special && (attrs_[size_t(id)] & (kTokenControl | kTokenUnknown))) return Status();
  *out = std::string_view(piece_bytes_.data() + piece_offsets_[size_t(id)], piece_offsets_[size_t(id) + 1] - piece_offsets_[size_t(id)]);
  return Status();
}

namespace {
// The leading-space rule: the first piece that renders anything loses one leading ' '.
std::string_view strip_at_start(std::string_view p, bool strip, bool* started) {
  if (*started || p.empty()) return p;
  *started = true;
  if (strip && p[0] == ' ') p.remove_prefix(1);
  return p;
}

// llama.cpp's clean_up_tokenization_spaces, on bytes, in its three passes: " ?", " !", " .", " ," lose the
// space; " ' " becomes "'"; " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it). Each
// pass reads the text the previous one left. Rewriting in place is safe: a pass writes only where it has
// already read, and reads t[i - 1] before anything is written there.
void clean_up_spaces(std::string* text) {
  std::string& t = *text;
  const auto pass = [&](auto keep_space_before) {
    size_t out = t.empty() ? 0 : 1;
    for (size_t i = 1; i < t.size(); i++) {
      if (t[i - 1] == ' ' && !keep_space_before(i)) out--;
      t[out++] = t[i];
    }
    t.resize(out);
  };
  pass([&](size_t i) { return t[i] != '?' && t[i] != '!' && t[i] != '.' && t[i] != ','; });
  // " ' ": the space before goes, and the space after is blanked (so that the character after it sees no
  // space before it) and skipped.
  size_t out = t.empty() ? 0 : 1;
  for (size_t i = 1; i < t.size(); i++) {
    const char c = t[i];
    if (c == '\'' && i + 1 < t.size() && t[i - 1] == ' ' && t[i + 1] == ' ') {
      out--;
      t[++i] = '\0';
    }
    t[out++] = c;
  }
  t.resize(out);
  pass([&](size_t i) {
    if (t[i] != '\'' || i + 1 >= t.size()) return true;
    const char a = t[i + 1];
    if (a == 's' || a == 'm') return false;
    if (a == 't' || a == 'd' || i + 2 >= t.size()) return true;
    const char b = t[i + 2];
    return !((a == 'r' && b == 'e') || (a == 'v' && b == 'e'));
  });
}
}  // namespace

Status Tokenizer::detokenize(const int32_t* ids, size_t n, const DetokenizeOptions& options, std::string* text) const {
  std::string bytes;
  bool started = false;
  for (size_t i = 0; i < n; i++) {
    std::string_view p;
    RINGLM_TRY(piece(ids[i], options.special, &p));
    bytes.append(strip_at_start(p, options.strip_leading_space, &started));
  }
  if (clean_spaces_) clean_up_spaces(&bytes);
  *text = unicode::sanitize_utf8(bytes);
  return Status();
}

Status TextDecoder::push(int32_t id, std::string* text) {
  std::string_view p;
  RINGLM_TRY(tokenizer_.piece(id, options_.special, &p));
  assembler_.push(strip_at_start(p, options_.strip_leading_space, &started_), text);
  return Status();
}

void TextDecoder::flush(std::string* text) {
  assembler_.finish(text);
  started_ = false;
}

}  // namespace ringlm
