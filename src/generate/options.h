// options.h — the generation options, and the one table that describes them.
//
// GenerateOptions is what Session::begin() takes; its member initializers are the defaults. The table
// (generate_options()) says, for every option, the name the JS API and the command lines use, its kind,
// the values it allows and what it does, and where it lives in GenerateOptions. Every front end works
// from it: wasm/bindings.cpp exports it as data and converts JS options through it, the JS API checks
// names, types and ranges against it (an unknown name is an error that suggests the closest one), both
// command lines build their flags from it, the demo page its controls, and a test holds ringlm.d.ts to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "generate/sampler.h"
#include "model/kv_cache.h"

namespace ringlm {

struct GenerateOptions {
  SamplingParams sampling;
  int max_tokens = 256;              // tokens to generate at most; 0 = only run the prompt
  std::vector<std::string> stop;     // stop strings (not emitted)
  std::vector<int32_t> stop_tokens;  // more tokens that end generation like EOS (a chat template's end of turn)
  bool keep_cache = false;           // continue after what the cache holds instead of starting over
  bool reseed = true;                // continuing: restart the generator from sampling.seed (else go on)
  std::optional<ContextPolicy> policy;  // unset: the model's (Engine::default_context_policy)
  int sink_tokens = 4;               // anchors kept for good under `sinks`
  int keep_tokens = 4;               // anchors kept for good under `shift`
  int prefill_chunk = 64;            // prompt tokens per step
  bool special = false;              // render control tokens' text in the output
  bool kv_cache = true;              // false: re-run the whole sequence for every new token (the no-cache baseline)
  // Grammars (generate/grammar.h): GBNF text the output must match; empty: none.
  std::string grammar;
  std::vector<std::string> grammar_triggers;  // none: the grammar holds from the start; else from the first of these written
  // Output apps read (issue 17): biases on chosen tokens, and each emitted token's log-probability.
  std::vector<LogitBias> logit_bias;  // added to the raw logits first (generate/logit_bias.h)
  int logprobs = -1;                  // -1: off; n: each token's log-prob and the n most likely (generate/logprobs.h)
};

enum class OptionKind {
  Integer,   // a whole number in [min, max]
  Number,    // a finite number in [min, max] (or (min, max] with min_exclusive)
  Boolean,
  Choice,    // one of a few names (contextPolicy: the KV ring's policies)
  Strings,   // a list of strings
  TokenIds,  // a list of token ids
  Text,      // one string (a grammar)
  TokenBias, // token id -> additive bias: a map in JS, ID=BIAS (repeatable) on a command line
};
const char* option_kind_name(OptionKind kind);  // "integer", "number", "boolean", "choice", "strings", "token-ids", "text", "token-bias"

// Where an option's value lives in a GenerateOptions.
using OptionField = std::variant<int*, float*, uint64_t*, bool*, std::optional<ContextPolicy>*, std::vector<std::string>*,
                                 std::vector<int32_t>*, std::string*, std::vector<LogitBias>*>;

struct OptionSpec {
  const char* name;  // as the JS API spells it (camelCase)
  const char* flag;  // the command lines' long flag, without "--" ("temp" for temperature); "" for none.
                     // A Boolean's flag takes no value and sets the opposite of its default ("no-kv-cache").
  OptionKind kind;
  double min, max;   // Integer and Number: the values allowed
  bool min_exclusive;
  // Set when the option has no fixed default: what is used instead ("random"). Otherwise the default is
  // the member initializer in GenerateOptions.
  const char* default_text;
  const char* doc;   // one line: what it does
  OptionField (*field)(GenerateOptions& o);
};

// Every option Session::begin() reads, in the order the documentation lists them.
const std::vector<OptionSpec>& generate_options();
// The option called `name` (its JS name) or with long flag `flag`; null when there is none.
const OptionSpec* find_option(std::string_view name);
const OptionSpec* find_option_flag(std::string_view flag);
// Choice: the names allowed, in order.
std::vector<std::string> option_choices(const OptionSpec& spec);
// The allowed values in words: "an integer in [0, 2147483647]", "one of 'stop', 'shift', 'sinks'".
std::string option_rule(const OptionSpec& spec);

// Integer, Number, Boolean (0 / 1): the value in `o`, or the default (a default-constructed GenerateOptions).
double option_number(const OptionSpec& spec, const GenerateOptions& o);
// Check `value` against the spec ("topP must be a number in [0, 1] (got 1.5)"), then store it.
Status set_option_number(const OptionSpec& spec, double value, GenerateOptions* o);
// Choice: the name; Strings: one more string; Text: the string; TokenBias: one more "ID=BIAS"; Integer / Number:
// the number written out (a command line).
Status set_option_text(const OptionSpec& spec, std::string_view text, GenerateOptions* o);
// TokenBias: one more entry (a JS map's), checked (generate/logit_bias.h: check_logit_bias_entry).
Status add_option_token_bias(const OptionSpec& spec, double token, double bias, GenerateOptions* o);

// Every numeric option within its range: what begin() checks first.
Status check_generate_options(const GenerateOptions& o);
// The same for the sampler's options alone (a snapshot's, or a sampler used on its own).
Status check_sampling_params(const SamplingParams& p);

// Of `known`, the name closest to `name` (a typo: case ignored, a few letters changed, added or dropped),
// or "" when none is close.
std::string closest_name(std::string_view name, const std::vector<std::string>& known);

}  // namespace ringlm
