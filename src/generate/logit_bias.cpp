#include "generate/logit_bias.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace ringlm {

namespace {
std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

Status check_logit_bias_entry(double token, double bias) {
  if (!(token >= 0 && token <= 2147483647.0 && token == std::floor(token))) {
    return Status::error("logitBias: token ids must be whole numbers >= 0 (got " + number_text(token) + ")");
  }
  // A finite bias too large for a float would become +infinity in the step: refused as +infinity is.
  if (std::isnan(bias) || (bias != -INFINITY && !std::isfinite(float(bias)))) {
    return Status::error("logitBias: the bias of token " + number_text(token) +
                         " must be a finite number or -Infinity (to ban it) (got " + number_text(bias) + ")");
  }
  return Status();
}

Status check_logit_bias(const std::vector<LogitBias>& biases, int vocab_size) {
  std::vector<bool> banned(size_t(vocab_size), false);
  size_t n_banned = 0;
  for (const LogitBias& b : biases) {
    RINGLM_TRY(check_logit_bias_entry(b.token, b.bias));
    if (b.token >= vocab_size) {
      return Status::error("logitBias: token id " + std::to_string(b.token) + " is out of range (vocabulary size " +
                           std::to_string(vocab_size) + ")");
    }
    if (b.bias == -INFINITY && !banned[size_t(b.token)]) {
      banned[size_t(b.token)] = true;
      n_banned++;
    }
  }
  if (n_banned == size_t(vocab_size)) return Status::error("logitBias bans every token of the vocabulary: nothing could be sampled");
  return Status();
}

Status parse_logit_bias(std::string_view text, std::vector<LogitBias>* out) {
  const std::string s(text);
  const size_t eq = s.find('=');
  const auto bad = [&] {
    return Status::error("logitBias must be given as ID=BIAS, e.g. 15043=-inf or 29889=2.5 (got '" + s + "')");
  };
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) return bad();
  char* end = nullptr;
  const double token = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + eq) return bad();
  const double bias = std::strtod(s.c_str() + eq + 1, &end);
  if (end != s.c_str() + s.size() || std::isspace(static_cast<unsigned char>(s[eq + 1]))) return bad();
  RINGLM_TRY(check_logit_bias_entry(token, bias));
  out->push_back({int32_t(token), float(bias)});
  return Status();
}

void sample_logit_bias(Candidates& c, const LogitBias* biases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const LogitBias& b = biases[i];
    // At the chain's start candidate i is token i; a checked id is always within the vocabulary.
    if (size_t(b.token) < c.size && c.data[b.token].id == b.token) c.data[b.token].logit += b.bias;
  }
  if (n > 0) c.sorted = false;
}

}  // namespace ringlm
