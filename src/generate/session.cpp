#include "generate/session.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "generate/logit_bias.h"

namespace ringlm {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
}  // namespace

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Abort: return "abort";
    case FinishReason::None: break;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Stop strings
// ---------------------------------------------------------------------------------------------

void StopStrings::reset(const std::vector<std::string>& stops) {
  stops_.clear();
  for (const std::string& s : stops) {
    if (!s.empty()) stops_.push_back(s);
  }
  held_.clear();
}

bool StopStrings::push(const std::string& text, std::string* out) {
  if (stops_.empty()) {
    *out += text;
    return false;
  }
  held_ += text;
  // The earliest complete stop string ends generation.
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    out->append(held_, 0, first);
    held_.clear();
    return true;
  }
  // Hold back the longest tail that is the beginning of some stop string.
  size_t keep = 0;
  for (const std::string& s : stops_) {
    for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; n--) {
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
    }
  }
  out->append(held_, 0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return false;
}

void StopStrings::flush(std::string* out) {
  *out += held_;
  held_.clear();
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

Status Session::begin(const int32_t* prompt, int n, const GenerateOptions& o) {
  if (running_) return Status::error("a generation is already running");
  RINGLM_TRY(check_generate_options(o));
  if (n < 0) return Status::error("negative prompt length");
  RINGLM_TRY(engine_.tokenizer(&tokenizer_));
  const int vocab = engine_.model().config.vocab_size;
  for (int i = 0; i < n; i++) {
    if (prompt[i] < 0 || prompt[i] >= vocab) {
      return Status::error("prompt token id " + std::to_string(prompt[i]) + " at index " + std::to_string(i) +
                           " is out of range (vocabulary size " + std::to_string(vocab) + ")");
    }
  }
  for (int32_t t : o.stop_tokens) {
    if (t < 0 || t >= vocab) {
      return Status::error("stop token id " + std::to_string(t) + " is out of range (vocabulary size " + std::to_string(vocab) + ")");
    }
  }
  RINGLM_TRY(check_logit_bias(o.logit_bias, vocab));
  if (!o.kv_cache && o.keep_cache) {
    return Status::error("keepCache needs the KV cache: with kvCache false nothing is kept to continue from");
  }
  const bool continuing = o.keep_cache && engine_.position() > 0;
  const ContextPolicy policy = o.policy.value_or(engine_.default_context_policy());
  // Without the cache the whole sequence is re-run for each token, so it must fit the ring: past the
  // context the cached loop would drop tokens under `sinks` / `shift`, which a re-run cannot reproduce.
  if (!o.kv_cache && policy != ContextPolicy::Stop && int64_t(n) + o.max_tokens > engine_.context_size()) {
    return Status::error("kvCache false re-runs the whole sequence, which must fit the context: prompt " + std::to_string(n) +
                         " + maxTokens " + std::to_string(o.max_tokens) + " tokens > contextSize " +
                         std::to_string(engine_.context_size()) + " (lower maxTokens, load a larger contextSize, or use contextPolicy 'stop')");
  }
  const int anchors = policy == ContextPolicy::Shift ? o.keep_tokens : policy == ContextPolicy::Sinks ? o.sink_tokens : 0;
  if (!continuing) {
    RINGLM_TRY(engine_.context_policy_allowed(policy));
    RINGLM_TRY(engine_.cache().check_policy(policy, anchors));
  }
  prompt_.clear();
  if (continuing && pending_ >= 0) prompt_.push_back(pending_);  // the last token of the previous turn
  prompt_.insert(prompt_.end(), prompt, prompt + n);
  if (prompt_.empty()) return Status::error("the prompt is empty: give at least one token");
  // A grammar is checked before anything changes: a bad one leaves the session as it was.
  std::unique_ptr<GrammarConstraint> grammar;
  if (!o.grammar_triggers.empty() && o.grammar.empty()) {
    return Status::error("grammarTriggers switch a grammar on: give the grammar too");
  }
  for (size_t i = 0; i < o.grammar_triggers.size(); i++) {
    if (o.grammar_triggers[i].empty()) return Status::error("grammarTriggers[" + std::to_string(i) + "] is empty: a trigger is a text the output writes");
  }
  if (!o.grammar.empty()) {
    Grammar g;
    RINGLM_TRY(Grammar::parse(o.grammar, &g));
    if (!token_trie_ || token_trie_of_ != tokenizer_) {  // built once per tokenizer, on the first grammar
      auto trie = std::make_unique<TokenTrie>();
      RINGLM_TRY(TokenTrie::build(*tokenizer_, trie.get()));
      token_trie_ = std::move(trie);
      token_trie_of_ = tokenizer_;
    }
    grammar = std::make_unique<GrammarConstraint>(std::move(g), *tokenizer_, o.stop_tokens, token_trie_.get(), o.grammar_triggers);
  }
  // Validates the sampling options. A continuation keeps the penalty history and, unless asked to
  // reseed, the generator's state, so a chat's turns sample as one stream.
  if (continuing && sampler_ready_) {
    RINGLM_TRY(sampler_.reconfigure(o.sampling, o.reseed));
  } else {
    RINGLM_TRY(sampler_.init(vocab, o.sampling));
    sampler_ready_ = true;
  }

  grammar_ = std::move(grammar);
  sampler_.set_constraint(grammar_.get());
  sampler_.set_logit_bias(o.logit_bias);
  logprobs_.reserve(o.logprobs);  // the per-token path then allocates nothing

  if (!continuing) RINGLM_TRY(engine_.set_context_policy(policy, anchors));
  options_ = o;
  // Generated text follows the prompt, so its first token keeps its leading space ("is" + "▁Paris"
  // reads "is Paris"), as llama.cpp prints it.
  DetokenizeOptions dopt = tokenizer_->default_detokenize_options();
  dopt.special = o.special;
  dopt.strip_leading_space = false;
  decoder_ = std::make_unique<TextDecoder>(*tokenizer_, dopt);
  stops_.reset(o.stop);
  for (int32_t t : prompt_) sampler_.accept(t);  // penalties see the prompt, as llama.cpp's do
  prompt_done_ = 0;
  generated_ = 0;
  pending_ = -1;
  aborted_ = false;
  running_ = true;
  timings_.prompt_tokens = int(prompt_.size());
  timings_.generated_tokens = 0;
  timings_.prefill_ms = timings_.decode_ms = 0;
  timings_.token_ms.clear();  // its capacity, reserved by the constructor, stays
  sequence_.clear();
  if (!o.kv_cache) {
    sequence_.reserve(prompt_.size() + size_t(std::min(o.max_tokens, engine_.context_size())));
    sequence_ = prompt_;
  }
  return Status();
}

Status Session::finish(FinishReason reason, bool by_stop_string, Step* out) {
  std::string tail;
  if (!by_stop_string) {  // release what the decoder and the stop strings still hold
    std::string rest;
    decoder_->flush(&rest);
    if (stops_.push(rest, &tail)) {
      reason = FinishReason::Stop;  // the flush completed a stop string
    } else {
      stops_.flush(&tail);
    }
  }
  out->kind = Step::Kind::Done;
  out->text = tail;
  out->finish = reason;
  running_ = false;
  timings_.generated_tokens = generated_;
  return Status();
}

Status Session::step(Step* out) {
  *out = Step();
  if (!running_) return Status::error("no generation is running");
  if (aborted_) return finish(FinishReason::Abort, false, out);

  // Prompt, a chunk at a time.
  if (prompt_done_ < prompt_.size()) {
    const auto t0 = Clock::now();
    const int n = int(std::min(prompt_.size() - prompt_done_, size_t(options_.prefill_chunk)));
    if (!engine_.cache().fits(n)) return finish(FinishReason::Length, false, out);  // the prompt does not fit: see README
    RINGLM_TRY(engine_.prefill(&prompt_[prompt_done_], n, false));
    prompt_done_ += size_t(n);
    timings_.prefill_ms += ms_since(t0);
    out->kind = Step::Kind::Prefill;
    out->prompt_done = int(prompt_done_);
    if (prompt_done_ < prompt_.size() || options_.max_tokens > 0) return Status();
    return finish(FinishReason::Length, false, out);
  }

  const auto t0 = Clock::now();
  if (pending_ >= 0 && options_.kv_cache) {  // put the previous token in the cache, if it still fits
    if (engine_.cache().full()) return finish(FinishReason::Length, false, out);
    RINGLM_TRY(engine_.decode(pending_));
    pending_ = -1;
  } else if (pending_ >= 0) {  // no cache: run everything again, the previous token last
    // Where the cached loop finds its ring full (the `stop` policy; others were refused by begin()).
    if (int(sequence_.size()) >= engine_.context_size()) return finish(FinishReason::Length, false, out);
    sequence_.push_back(pending_);
    pending_ = -1;
    RINGLM_TRY(rerun_sequence());
  }
  const int32_t token = sampler_.sample(engine_.logits());
  if (token < 0) {  // the grammar allows no token: it is complete, or the vocabulary cannot write what it needs
    if (grammar_ && grammar_->can_end()) return finish(FinishReason::Stop, false, out);
    return Status::error("grammar: no token of the vocabulary can continue the text here");
  }
  if (grammar_) grammar_->accept(token);
  if (options_.logprobs >= 0) logprobs_.compute(engine_.logits(), engine_.model().config.vocab_size, token);
  sampler_.accept(token);
  pending_ = token;
  generated_++;
  const double ms = ms_since(t0);
  timings_.decode_ms += ms;
  if (timings_.token_ms.size() < Timings::kMaxTokenTimes) timings_.token_ms.push_back(ms);
  const auto& stop_tokens = options_.stop_tokens;
  if (tokenizer_->is_end_of_generation(token) ||
      std::find(stop_tokens.begin(), stop_tokens.end(), token) != stop_tokens.end()) {
    RINGLM_TRY(finish(FinishReason::Stop, false, out));
    out->token = token;  // which one: a chat's next turn starts after it (it stays pending)
    return Status();
  }

  std::string text, released;
  RINGLM_TRY(decoder_->push(token, &text));
  const bool stopped = stops_.push(text, &released);
  out->kind = Step::Kind::Token;
  out->token = token;
  out->text = released;
  // The token that ends generation (stop string, maxTokens) comes with the finish reason.
  if (stopped || generated_ >= options_.max_tokens) {
    Step done;
    RINGLM_TRY(finish(stopped ? FinishReason::Stop : FinishReason::Length, stopped, &done));
    out->text += done.text;
    out->finish = done.finish;
  }
  return Status();
}

Status Session::rerun_sequence() {
  engine_.reset();
  for (size_t done = 0; done < sequence_.size();) {
    const int n = int(std::min(sequence_.size() - done, size_t(options_.prefill_chunk)));
    RINGLM_TRY(engine_.prefill(&sequence_[done], n, false));
    done += size_t(n);
  }
  return Status();
}

void Session::reset() {
  running_ = false;
  pending_ = -1;
  sampler_ready_ = false;
}

// ---------------------------------------------------------------------------------------------
// Snapshots: a little-endian byte layout with a header that names what it fits.
// ---------------------------------------------------------------------------------------------

namespace {
constexpr uint32_t kSnapshotMagic = 0x534d4c52;  // "RLMS"
// 2: token ids per slot (re-runs for learned positions); 3: the model file's fingerprint.
constexpr uint32_t kSnapshotVersion = 3;

// Writes the snapshot's fields in order. Run twice: first without a buffer, only counting the bytes, so the
// buffer is allocated once at its size with a check (a snapshot is about the size of the ring, and a failed
// allocation must be an error, not an abort), then again to fill it.
struct Writer {
  uint8_t* out = nullptr;  // null: count only
  size_t size = 0;
  void put_bytes(const void* p, size_t n) {
    if (out && n) std::memcpy(out + size, p, n);
    size += n;
  }
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "snapshot fields are written as their bytes");
    put_bytes(&v, sizeof(T));
  }
  template <typename T>
  void put_array(const void* p, size_t n) {
    put<uint64_t>(n);
    put_bytes(p, n * sizeof(T));
  }
};

struct Reader {
  const uint8_t* p;
  size_t left;
  bool ok = true;
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>, "snapshot fields are read as their bytes");
    T v{};
    if (left < sizeof(T)) { ok = false; return v; }
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    left -= sizeof(T);
    return v;
  }
  // An array of at most `max` values of T, as a view of the bytes (maybe unaligned: read them with memcpy).
  template <typename T>
  const void* view_array(size_t max, size_t* n_out) {
    const uint64_t n = get<uint64_t>();
    *n_out = 0;
    if (!ok || n > max || n > left / sizeof(T)) { ok = false; return nullptr; }
    const void* at = p;
    p += size_t(n) * sizeof(T);
    left -= size_t(n) * sizeof(T);
    *n_out = size_t(n);
    return at;
  }
  template <typename T>
  std::vector<T> get_array(size_t max) {
    size_t n = 0;
    const void* at = view_array<T>(max, &n);
    std::vector<T> v(n);
    if (n > 0) std::memcpy(v.data(), at, n * sizeof(T));  // (memcpy from/to null is undefined, even of 0 bytes)
    return v;
  }
};
}  // namespace

Status Session::save(CheckedArray<uint8_t>* out) const {
  if (running_) return Status::error("cannot save the state while a generation is running");
  const Config& c = engine_.model().config;
  KvCache::State cache;
  engine_.cache().save(&cache);
  const std::vector<int32_t> recent = sampler_.recent_tokens();
  const auto write = [&](Writer& w) {
    w.put(kSnapshotMagic);
    w.put(kSnapshotVersion);
    w.put<uint64_t>(engine_.fingerprint());
    w.put<int32_t>(c.n_layers);
    w.put<int32_t>(c.kv_dim());
    w.put<int32_t>(c.vocab_size);
    w.put<int32_t>(engine_.cache().slots());
    w.put<int32_t>(cache.policy);
    w.put<int32_t>(cache.anchors);
    w.put<int32_t>(cache.next_pos);
    w.put<int32_t>(cache.shift_start);
    w.put<int64_t>(cache.dropped);
    w.put_array<float>(cache.keys, cache.n_values);
    w.put_array<float>(cache.values, cache.n_values);
    w.put_array<int32_t>(cache.tokens, cache.n_tokens);
    w.put_array<float>(engine_.logits(), size_t(c.vocab_size));
    w.put<uint8_t>(sampler_ready_);
    w.put(sampler_.params());
    w.put<uint64_t>(sampler_.rng_state());
    w.put_array<int32_t>(recent.data(), recent.size());
    w.put<int32_t>(pending_);
  };
  Writer count;
  write(count);
  RINGLM_TRY(out->resize(count.size, "the saved state"));
  Writer fill{out->data()};
  write(fill);
  return Status();
}

Status Session::restore(const uint8_t* data, size_t size) {
  if (running_) return Status::error("cannot restore a state while a generation is running");
  Reader r{data, size};
  const Config& c = engine_.model().config;
  // The header first: whose state this is. Nothing is changed until every check below has passed.
  if (r.get<uint32_t>() != kSnapshotMagic) return Status::error("not a ringlm state");
  const uint32_t version = r.get<uint32_t>();
  if (!r.ok) return Status::error("the state is truncated or corrupt");
  if (version != kSnapshotVersion) {
    return Status::error("the state has format version " + std::to_string(version) + "; this ringlm reads version " +
                         std::to_string(kSnapshotVersion) + " only (save it again with this version)");
  }
  const uint64_t fingerprint = r.get<uint64_t>();
  const int32_t layers = r.get<int32_t>(), kv_dim = r.get<int32_t>(), vocab = r.get<int32_t>(), slots = r.get<int32_t>();
  if (!r.ok) return Status::error("the state is truncated or corrupt");
  if (fingerprint != engine_.fingerprint() || layers != c.n_layers || kv_dim != c.kv_dim() || vocab != c.vocab_size) {
    return Status::error("the state belongs to another model (its file's fingerprint differs from this one's)");
  }
  if (slots != engine_.cache().slots()) {
    const int batch = engine_.cache().slots() - engine_.context_size();  // slots beyond the capacity
    return Status::error("the state was saved with contextSize " + std::to_string(int64_t(slots) - batch) +
                         "; this model was loaded with contextSize " + std::to_string(engine_.context_size()));
  }
  KvCache::State cache;
  cache.policy = r.get<int32_t>();
  cache.anchors = r.get<int32_t>();
  cache.next_pos = r.get<int32_t>();
  cache.shift_start = r.get<int32_t>();
  cache.dropped = r.get<int64_t>();
  const size_t cache_floats = size_t(layers) * size_t(slots) * size_t(kv_dim);
  size_t n_values = 0, n_logits = 0;
  cache.keys = r.view_array<float>(cache_floats, &cache.n_values);
  cache.values = r.view_array<float>(cache_floats, &n_values);
  cache.tokens = r.view_array<int32_t>(size_t(slots), &cache.n_tokens);
  const void* logits = r.view_array<float>(size_t(vocab), &n_logits);
  const bool sampler_ready = r.get<uint8_t>() != 0;
  const SamplingParams params = r.get<SamplingParams>();
  const uint64_t rng = r.get<uint64_t>();
  const std::vector<int32_t> recent = r.get_array<int32_t>(1 << 20);
  const int32_t pending = r.get<int32_t>();
  if (!r.ok || r.left != 0 || n_values != cache.n_values || n_logits != size_t(vocab) || pending < -1 || pending >= vocab) {
    return Status::error("the state is truncated or corrupt");
  }
  // The ring's own fields are checked by the ring (KvCache::restore, through the engine), before
  // anything is changed; the sampler's options here.
  RINGLM_TRY(engine_.cache().check(cache, vocab));
  RINGLM_TRY(check_sampling_params(params));
  if (sampler_ready) {
    RINGLM_TRY(sampler_.init(vocab, params));
    sampler_.restore(rng, recent.data(), recent.size());
  }
  RINGLM_TRY(engine_.restore(cache, logits));
  sampler_ready_ = sampler_ready;
  pending_ = pending;
  return Status();
}

}  // namespace ringlm
