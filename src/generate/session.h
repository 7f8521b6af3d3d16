// session.h — generation: a prompt in, a stream of sampled tokens out.
//
//   begin(prompt)  check the options, empty the cache (unless continuing), set the ring's policy
//   step()         one unit of work: a chunk of the prompt (prefill), or one new token (decode)
//   ...            until step() reports the end: an end-of-generation or stop token, or a stop string
//                  ("stop"), maxTokens or a full context under the `stop` policy ("length")
//   abort()        the caller may stop between any two steps ("abort")
//
// With kvCache off (the no-cache baseline) every new token re-runs the whole sequence so far (prompt and
// generated tokens) from an empty cache and keeps only the last row of logits, so it samples exactly what
// the cached loop samples, at a cost that grows with the position. The sequence must fit the context: under
// `stop` it ends where the cached loop ends ("length"); under `sinks` and `shift`, which the cached loop
// would follow by dropping tokens, begin() refuses a prompt + maxTokens beyond the context size.
//
// Work is cut into steps so the caller (the JS async iterator) can stream tokens, keep a page
// responsive and check an AbortSignal between them; every step leaves the engine consistent.
// Text comes out UTF-8-safe (never half a character) and a stop string's text is never emitted,
// even when it spans tokens: text that could still turn into a stop string is held back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "model/engine.h"
#include "generate/grammar_matcher.h"
#include "generate/logprobs.h"
#include "generate/options.h"
#include "generate/sampler.h"
#include "common/checked_array.h"
#include "common/status.h"
#include "text/tokenizer.h"

namespace ringlm {

enum class FinishReason { None, Stop, Length, Abort };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "abort", ""


struct Timings {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double prefill_ms = 0;
  double decode_ms = 0;  // sampling + decoding of the generated tokens
  // Each generated token's share of decode_ms, in order, for the first kMaxTokenTimes tokens only: a
  // generation may run forever on the ring, and its bookkeeping must not grow with it.
  static constexpr size_t kMaxTokenTimes = 8192;
  std::vector<double> token_ms;
  double prefill_tokens_per_s() const { return prefill_ms > 0 ? prompt_tokens * 1000.0 / prefill_ms : 0; }
  double decode_tokens_per_s() const { return decode_ms > 0 ? generated_tokens * 1000.0 / decode_ms : 0; }
};

// Holds back text that may be the start of a stop string; releases the rest.
class StopStrings {
public:
  void reset(const std::vector<std::string>& stops);
  // Add text; append what is safe to emit to *out. Returns true when a stop string was found
  // (the text before it has been emitted, the rest dropped).
  bool push(const std::string& text, std::string* out);
  // End of stream: release what is held.
  void flush(std::string* out);

private:
  std::vector<std::string> stops_;
  std::string held_;
};

struct Step {
  enum class Kind { Prefill, Token, Done } kind = Kind::Done;
  int32_t token = -1;     // Token: the id sampled; Done: the end-of-generation token that ended it, if one did
  std::string text;       // Token and Done: text completed by this step (may be empty)
  int prompt_done = 0;    // Prefill: prompt tokens processed so far
  FinishReason finish = FinishReason::None;  // Done: why
};

class Session {
public:
  explicit Session(Engine& engine) : engine_(engine) { timings_.token_ms.reserve(Timings::kMaxTokenTimes); }

  // Start generating after `prompt` (token ids; at least one unless continuing a session whose
  // last token is pending). Fails on bad options, with nothing changed.
  Status begin(const int32_t* prompt, int n, const GenerateOptions& options);
  Status step(Step* out);
  // Stop between steps; the next step() reports Done with FinishReason::Abort.
  void abort() { aborted_ = true; }
  bool running() const { return running_; }

  const Timings& timings() const { return timings_; }
  // With the logprobs option: the last sampled token's log-probability and the most likely tokens (valid
  // until the next step); null without it.
  const TokenLogprobs* logprobs() const { return options_.logprobs >= 0 ? &logprobs_ : nullptr; }
  const Sampler& sampler() const { return sampler_; }
  Sampler& sampler() { return sampler_; }
  // The last sampled token when it is not yet in the cache (it goes first in a continuation).
  int32_t pending_token() const { return pending_; }
  void set_pending_token(int32_t t) { pending_ = t; }
  // Forget everything (the engine's reset() empties the cache; this empties our side).
  void reset();

  // The whole state — the KV ring, the logits, the sampler, the pending token — as bytes, and back.
  // Not while generating. restore() checks the bytes belong to this model and context size.
  Status save(CheckedArray<uint8_t>* out) const;
  Status restore(const uint8_t* data, size_t size);

private:
  Status finish(FinishReason reason, bool by_stop_string, Step* out);
  // kvCache off: run sequence_ from an empty cache; logits() then holds its last row.
  Status rerun_sequence();

  Engine& engine_;
  GenerateOptions options_;
  Sampler sampler_;
  const Tokenizer* tokenizer_ = nullptr;
  std::unique_ptr<TextDecoder> decoder_;
  StopStrings stops_;
  TokenLogprobs logprobs_;
  std::vector<int32_t> prompt_;
  std::vector<int32_t> sequence_;  // kvCache off: the prompt and the tokens generated so far
  size_t prompt_done_ = 0;
  int generated_ = 0;
  int32_t pending_ = -1;  // sampled, emitted, not yet decoded
  bool sampler_ready_ = false;
  bool running_ = false, aborted_ = false;
  Timings timings_;
  std::unique_ptr<GrammarConstraint> grammar_;  // options' grammar, for this generation; null without one
  std::unique_ptr<TokenTrie> token_trie_;       // the tokenizer's pieces for grammars, kept across generations
  const Tokenizer* token_trie_of_ = nullptr;
};

}  // namespace ringlm
