#include "generate/options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "generate/logit_bias.h"

namespace ringlm {

namespace {

constexpr double kInt32Max = 2147483647.0;
constexpr double kSafeIntegerMax = 9007199254740991.0;  // 2^53 - 1: the largest seed a JS number holds exactly

// What each option is. The order is the documentation's (ringlm.d.ts, --help, the README).
std::vector<OptionSpec> make_specs() {
  using K = OptionKind;
  return {
      {"maxTokens", "max-tokens", K::Integer, 0, kInt32Max, false, nullptr,
       "tokens to generate at most; 0 runs only the prompt",
       [](GenerateOptions& o) -> OptionField { return &o.max_tokens; }},
      {"temperature", "temp", K::Number, 0, 1e6, false, nullptr,
       "higher is more random; 0 = greedy (always the most likely token)",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.temperature; }},
      {"topK", "top-k", K::Integer, 0, kInt32Max, false, nullptr,
       "sample among the k most likely tokens only; 0 = off",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.top_k; }},
      {"topP", "top-p", K::Number, 0, 1, false, nullptr,
       "sample among the most likely tokens whose probabilities add up to p; 1 = off",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.top_p; }},
      {"minP", "min-p", K::Number, 0, 1, false, nullptr,
       "drop tokens less likely than minP times the most likely one; 0 = off",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.min_p; }},
      {"repeatPenalty", "repeat-penalty", K::Number, 0, 1e6, true, nullptr,
       "positive logits of recent tokens are divided by it, negative ones multiplied; 1 = off",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.repeat_penalty; }},
      {"presencePenalty", "presence-penalty", K::Number, -1e6, 1e6, false, nullptr,
       "subtracted once from the logit of any recent token; 0 = off",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.presence_penalty; }},
      {"frequencyPenalty", "frequency-penalty", K::Number, -1e6, 1e6, false, nullptr,
       "subtracted from a recent token's logit once per occurrence; 0 = off",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.frequency_penalty; }},
      {"penaltyLastN", "penalty-last-n", K::Integer, 0, 1 << 20, false, nullptr,
       "how many recent tokens (prompt included) the penalties look at",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.penalty_last_n; }},
      {"seed", "seed", K::Integer, 0, kSafeIntegerMax, false, "random",
       "the sampler's seed: the same seed gives the same tokens natively, in Node and in browsers",
       [](GenerateOptions& o) -> OptionField { return &o.sampling.seed; }},
      {"stop", "stop", K::Strings, 0, 0, false, nullptr,
       "stop strings: generation ends before them and their text is never emitted",
       [](GenerateOptions& o) -> OptionField { return &o.stop; }},
      {"stopTokens", "stop-tokens", K::TokenIds, 0, 0, false, nullptr,
       "more token ids that end generation as the end-of-generation token does",
       [](GenerateOptions& o) -> OptionField { return &o.stop_tokens; }},
      // Not on the command lines: each runs one generation, with nothing before it to continue.
      {"keepCache", "", K::Boolean, 0, 1, false, nullptr,
       "continue after what the cache holds (a chat's next turn) instead of starting over",
       [](GenerateOptions& o) -> OptionField { return &o.keep_cache; }},
      {"contextPolicy", "context-policy", K::Choice, 0, 0, false,
       "the model's ('shift' with learned positions, else 'sinks')",
       "what happens when the KV ring is full",
       [](GenerateOptions& o) -> OptionField { return &o.policy; }},
      {"sinkTokens", "sink-tokens", K::Integer, 0, kInt32Max, false, nullptr,
       "'sinks': first tokens kept for good",
       [](GenerateOptions& o) -> OptionField { return &o.sink_tokens; }},
      {"keepTokens", "keep-tokens", K::Integer, 0, kInt32Max, false, nullptr,
       "'shift': first tokens kept for good",
       [](GenerateOptions& o) -> OptionField { return &o.keep_tokens; }},
      {"prefillChunk", "prefill-chunk", K::Integer, 1, 1 << 16, false, nullptr,
       "prompt tokens per prefill step (between steps a caller can stream, yield and abort)",
       [](GenerateOptions& o) -> OptionField { return &o.prefill_chunk; }},
      {"special", "special", K::Boolean, 0, 1, false, nullptr,
       "render control tokens' text in the output",
       [](GenerateOptions& o) -> OptionField { return &o.special; }},
      {"kvCache", "no-kv-cache", K::Boolean, 0, 1, false, nullptr,
       "keep keys and values in the KV ring; false re-runs the whole sequence for every new token (same tokens, slower)",
       [](GenerateOptions& o) -> OptionField { return &o.kv_cache; }},
      // Grammars (generate/grammar.h).
      {"grammar", "grammar", K::Text, 0, 0, false, "none",
       "GBNF grammar (llama.cpp's syntax, start rule 'root') the output must match; end of generation only where it can stop",
       [](GenerateOptions& o) -> OptionField { return &o.grammar; }},
      {"grammarTriggers", "grammar-trigger", K::Strings, 0, 0, false, "none",
       "texts that switch the grammar on (a lazy grammar, as for tool calls): the output is free until it writes one, then must match the grammar from that text's first character",
       [](GenerateOptions& o) -> OptionField { return &o.grammar_triggers; }},
      // Output apps read (issue 17).
      {"logitBias", "logit-bias", K::TokenBias, 0, 0, false, "none",
       "token id -> bias added to its logit before the other steps; -Infinity bans the token",
       [](GenerateOptions& o) -> OptionField { return &o.logit_bias; }},
      {"logprobs", "logprobs", K::Integer, 0, 20, false, "off",
       "give each emitted token's log-probability and the n most likely alternatives (of the raw logits)",
       [](GenerateOptions& o) -> OptionField { return &o.logprobs; }},
  };
}

// A number as JS prints it: integers in full, others in the fewest digits that read back the same.
std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int digits = 1; digits <= 17; digits++) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A float option's value as the decimal it was written as (0.95f reads 0.95, not 0.949999988).
double float_as_decimal(float f) {
  if (!std::isfinite(f)) return double(f);
  char buf[40];
  for (int digits = 1; digits <= 9; digits++) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return std::strtod(buf, nullptr);
}

// GenerateOptions is only read through the pointer (the table's accessors take it mutable).
OptionField field_of(const OptionSpec& spec, const GenerateOptions& o) { return spec.field(const_cast<GenerateOptions&>(o)); }

bool parse_number(std::string_view text, double* out) {
  const std::string s(text);
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      const size_t substituted = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substituted});
    }
  }
  return row[b.size()];
}

}  // namespace

const char* option_kind_name(OptionKind kind) {
  switch (kind) {
    case OptionKind::Integer: return "integer";
    case OptionKind::Number: return "number";
    case OptionKind::Boolean: return "boolean";
    case OptionKind::Choice: return "choice";
    case OptionKind::Strings: return "strings";
    case OptionKind::TokenIds: return "token-ids";
    case OptionKind::Text: return "text";
    case OptionKind::TokenBias: return "token-bias";
  }
  return "";
}

const std::vector<OptionSpec>& generate_options() {
  static const std::vector<OptionSpec> specs = make_specs();
  return specs;
}

const OptionSpec* find_option(std::string_view name) {
  for (const OptionSpec& spec : generate_options()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

const OptionSpec* find_option_flag(std::string_view flag) {
  for (const OptionSpec& spec : generate_options()) {
    if (!flag.empty() && flag == spec.flag) return &spec;
  }
  return nullptr;
}

std::vector<std::string> option_choices(const OptionSpec& spec) {
  std::vector<std::string> names;
  if (spec.kind == OptionKind::Choice) {
    for (ContextPolicy p : kContextPolicies) names.emplace_back(context_policy_name(p));
  }
  return names;
}

std::string option_rule(const OptionSpec& spec) {
  switch (spec.kind) {
    case OptionKind::Integer:
    case OptionKind::Number:
      return std::string(spec.kind == OptionKind::Integer ? "an integer" : "a number") + " in " +
             (spec.min_exclusive ? "(" : "[") + format_number(spec.min) + ", " + format_number(spec.max) + "]";
    case OptionKind::Boolean: return "true or false";
    case OptionKind::Choice: {
      std::string names;
      for (const std::string& n : option_choices(spec)) names += (names.empty() ? "'" : ", '") + n + "'";
      return "one of " + names;
    }
    case OptionKind::Strings: return "a string or a list of strings";
    case OptionKind::TokenIds: return "a list of token ids";
    case OptionKind::Text: return "a string";
    case OptionKind::TokenBias: return "a map of token ids to biases (numbers, or -Infinity to ban)";
  }
  return "";
}

double option_number(const OptionSpec& spec, const GenerateOptions& o) {
  const OptionField f = field_of(spec, o);
  if (auto p = std::get_if<int*>(&f)) return double(**p);
  if (auto p = std::get_if<float*>(&f)) return float_as_decimal(**p);
  if (auto p = std::get_if<uint64_t*>(&f)) return double(**p);
  if (auto p = std::get_if<bool*>(&f)) return **p ? 1 : 0;
  return NAN;
}

Status set_option_number(const OptionSpec& spec, double value, GenerateOptions* o) {
  const bool numeric = spec.kind == OptionKind::Integer || spec.kind == OptionKind::Number;
  if (numeric) {
    const bool in_range = std::isfinite(value) && (spec.min_exclusive ? value > spec.min : value >= spec.min) &&
                          value <= spec.max && (spec.kind == OptionKind::Number || value == std::floor(value));
    if (!in_range) {
      return Status::error(std::string(spec.name) + " must be " + option_rule(spec) + " (got " + format_number(value) + ")");
    }
  } else if (spec.kind != OptionKind::Boolean) {
    return Status::error(std::string(spec.name) + " must be " + option_rule(spec));
  }
  // In range, so every conversion below is exact (integers) or the nearest float.
  const OptionField f = spec.field(*o);
  if (auto p = std::get_if<int*>(&f)) **p = int(value);
  else if (auto p = std::get_if<float*>(&f)) **p = float(value);
  else if (auto p = std::get_if<uint64_t*>(&f)) **p = uint64_t(value);
  else if (auto p = std::get_if<bool*>(&f)) **p = value != 0;
  return Status();
}

Status set_option_text(const OptionSpec& spec, std::string_view text, GenerateOptions* o) {
  const OptionField f = spec.field(*o);
  switch (spec.kind) {
    case OptionKind::Integer:
    case OptionKind::Number: {
      double v = 0;
      if (!parse_number(text, &v)) {
        return Status::error(std::string(spec.name) + " must be " + option_rule(spec) + " (got '" + std::string(text) + "')");
      }
      return set_option_number(spec, v, o);
    }
    case OptionKind::Boolean:
      if (text != "true" && text != "false") return Status::error(std::string(spec.name) + " must be true or false");
      return set_option_number(spec, text == "true" ? 1 : 0, o);
    case OptionKind::Choice: {
      ContextPolicy policy;
      RINGLM_TRY(parse_context_policy(text, &policy));
      **std::get_if<std::optional<ContextPolicy>*>(&f) = policy;
      return Status();
    }
    case OptionKind::Strings:
      (*std::get_if<std::vector<std::string>*>(&f))->emplace_back(text);
      return Status();
    case OptionKind::Text:
      (*std::get_if<std::string*>(&f))->assign(text);
      return Status();
    case OptionKind::TokenIds: {
      std::vector<int32_t>& ids = **std::get_if<std::vector<int32_t>*>(&f);
      size_t start = 0;
      for (;;) {
        const size_t comma = std::min(text.find(',', start), text.size());
        double id = 0;
        if (!parse_number(text.substr(start, comma - start), &id) || id != std::floor(id) || id < 0 || id > kInt32Max) {
          return Status::error(std::string(spec.name) + " must be comma-separated token ids (got '" + std::string(text) + "')");
        }
        ids.push_back(int32_t(id));
        if (comma == text.size()) return Status();
        start = comma + 1;
      }
    }
    case OptionKind::TokenBias: return parse_logit_bias(text, *std::get_if<std::vector<LogitBias>*>(&f));
  }
  return Status();
}

Status add_option_token_bias(const OptionSpec& spec, double token, double bias, GenerateOptions* o) {
  if (spec.kind != OptionKind::TokenBias) return Status::error(std::string(spec.name) + " must be " + option_rule(spec));
  RINGLM_TRY(check_logit_bias_entry(token, bias));
  std::get<std::vector<LogitBias>*>(spec.field(*o))->push_back({int32_t(token), float(bias)});
  return Status();
}

Status check_generate_options(const GenerateOptions& o) {
  GenerateOptions scratch;
  const GenerateOptions defaults;
  for (const OptionSpec& spec : generate_options()) {
    if (spec.kind == OptionKind::Integer || spec.kind == OptionKind::Number) {
      // An option with no fixed default may stand at a value outside its range that means "not given" (logprobs' -1).
      if (spec.default_text && option_number(spec, o) == option_number(spec, defaults)) continue;
      RINGLM_TRY(set_option_number(spec, option_number(spec, o), &scratch));
    }
  }
  return Status();
}

Status check_sampling_params(const SamplingParams& p) {
  GenerateOptions o;
  o.sampling = p;
  return check_generate_options(o);
}

std::string closest_name(std::string_view name, const std::vector<std::string>& known) {
  const std::string wanted = lower(name);
  std::string best;
  size_t best_distance = std::max<size_t>(2, wanted.size() / 3) + 1;  // more edits than this: not a typo
  for (const std::string& candidate : known) {
    const std::string k = lower(candidate);
    size_t d = edit_distance(wanted, k);
    // A shortened or lengthened name ("temp" for "temperature") counts as close too.
    const bool prefix = std::min(k.size(), wanted.size()) >= 4 && (k.rfind(wanted, 0) == 0 || wanted.rfind(k, 0) == 0);
    if (prefix) d = std::min<size_t>(d, 2);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace ringlm
