#include "generate/grammar.h"

#include <algorithm>
#include <map>

namespace ringlm {

namespace {

constexpr uint32_t kMaxRepetition = 2000;       // llama.cpp's limit on {m,n} counts
constexpr size_t kMaxElements = size_t(1) << 20;  // the compiled grammar, after repetitions are expanded
constexpr int kMaxNesting = 200;                 // ( groups ) inside each other: the parser recurses on them
constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kNoLimit = UINT32_MAX;

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// The valid characters a class may ever match: a token's text is UTF-8 without NUL (llama.cpp stops at NUL).
bool range_has_scalar(uint32_t lo, uint32_t hi) {
  lo = std::max<uint32_t>(lo, 1);
  hi = std::min(hi, kMaxCodePoint);
  if (lo > hi) return false;
  return !(lo >= 0xD800 && hi <= 0xDFFF);  // nothing but surrogates
}

}  // namespace

bool Grammar::class_matches(uint32_t c, uint32_t cp) const {
  const CharClass& k = classes_[c];
  if (k.any) return true;
  bool in = false;
  for (uint32_t i = 0; i < k.n_ranges && !in; i++) {
    const CharRange& r = ranges_[k.first_range + i];
    in = r.lo <= cp && cp <= r.hi;
  }
  return in != k.negated;
}

bool Grammar::class_may_match(uint32_t c, uint32_t lo, uint32_t hi) const {
  const CharClass& k = classes_[c];
  if (k.any) return true;
  for (uint32_t i = 0; i < k.n_ranges; i++) {
    const CharRange& r = ranges_[k.first_range + i];
    if (r.lo <= hi && lo <= r.hi) return !k.negated;
  }
  return k.negated;
}

bool Grammar::class_meets(uint32_t c, uint32_t lo, uint32_t hi) const {
  const CharClass& k = classes_[c];
  if (k.any) return true;
  for (uint32_t i = 0; i < k.n_ranges; i++) {
    const CharRange& r = ranges_[k.first_range + i];
    if (k.negated ? r.lo <= lo && hi <= r.hi : r.lo <= hi && lo <= r.hi) return !k.negated;
  }
  return k.negated;
}

// ---------------------------------------------------------------------------------------------
// The parser: recursive descent over the text, into rules of alternatives of elements.
// ---------------------------------------------------------------------------------------------

class GrammarParser {
public:
  explicit GrammarParser(std::string_view text) : text_(text) {}

  Status run(Grammar* out) {
    for (size_t i = 0; i < text_.size(); i++) {
      if (text_[i] == '\0') return error_at(i, "a NUL character is not allowed in a grammar");
    }
    skip_space(true);
    while (!at_end()) RINGLM_TRY(parse_rule());
    return compile(out);
  }

private:
  using Sequence = std::vector<GrammarElement>;
  struct ParsedRule {
    std::string name;
    std::vector<Sequence> alts;
    bool defined = false;
    size_t defined_at = 0, first_use = 0;
  };

  // --- reading the text ---
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  Status error_at(size_t offset, const std::string& what) const { return Status::error("grammar: " + where(offset) + ": " + what); }
  Status error(const std::string& what) const { return error_at(pos_, what); }

  // "line 3, column 7" for a byte offset into the text.
  std::string where(size_t offset) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && i < text_.size(); i++) {
      if (text_[i] == '\n') {
        line++;
        column = 1;
      } else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) {
        column++;  // a character, not a UTF-8 continuation byte
      }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
  }

  // What is at pos_, for messages: "'x'" or "the end of the grammar" or "a newline".
  std::string found() const {
    if (at_end()) return "the end of the grammar";
    if (peek() == '\n' || peek() == '\r') return "a newline";
    size_t n = 1;
    while (pos_ + n < text_.size() && (static_cast<unsigned char>(text_[pos_ + n]) & 0xC0) == 0x80) n++;
    return "'" + std::string(text_.substr(pos_, n)) + "'";
  }

  // Spaces, tabs and # comments; newlines too where the syntax allows them.
  void skip_space(bool newlines) {
    while (!at_end()) {
      const char c = peek();
      if (c == '#') {
        while (!at_end() && peek() != '\n' && peek() != '\r') pos_++;
      } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
        pos_++;
      } else {
        break;
      }
    }
  }

  // One UTF-8 character of the grammar text.
  Status read_utf8(uint32_t* cp) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(peek(i)); };
    const unsigned char b0 = byte(0);
    int n = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : (b0 >> 3) == 30 ? 4 : 0;
    uint32_t v = n == 1 ? b0 : n == 2 ? b0 & 0x1F : n == 3 ? b0 & 0x0F : b0 & 0x07;
    for (int i = 1; i < n; i++) {
      if ((byte(size_t(i)) & 0xC0) != 0x80) n = 0;
      else v = (v << 6) | (byte(size_t(i)) & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (n == 0 || v < min[n] || v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) return error("invalid UTF-8");
    pos_ += size_t(n);
    *cp = v;
    return Status();
  }

  Status read_hex(int digits, uint32_t* out) {
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
      const char c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return error("expected " + std::to_string(digits) + " hexadecimal digits, found " + found());
      v = (v << 4) | uint32_t(d);
      pos_++;
    }
    *out = v;
    return Status();
  }

  // A character of a literal or class: itself, or an escape.
  Status read_char(uint32_t* cp) {
    if (at_end()) return error("unexpected end of the grammar");
    if (peek() != '\\') return read_utf8(cp);
    const size_t start = pos_;
    pos_++;
    const char e = peek();
    pos_++;
    switch (e) {
      case 'x': RINGLM_TRY(read_hex(2, cp)); break;
      case 'u': RINGLM_TRY(read_hex(4, cp)); break;
      case 'U': RINGLM_TRY(read_hex(8, cp)); break;
      case 't': *cp = '\t'; break;
      case 'r': *cp = '\r'; break;
      case 'n': *cp = '\n'; break;
      case '\\': case '"': case '[': case ']': case '-': *cp = uint32_t(e); break;
      default:
        pos_ = start;
        return error("unknown escape '\\" + std::string(1, e) + "' (known: \\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\] \\-)");
    }
    if (*cp > kMaxCodePoint) return error_at(start, "escape above U+10FFFF, the last Unicode code point");
    return Status();
  }

  Status read_int(uint32_t* out) {
    if (!(peek() >= '0' && peek() <= '9')) return error("expected a number, found " + found());
    const size_t start = pos_;
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = std::min<uint64_t>(v * 10 + uint64_t(peek() - '0'), uint64_t(1) << 40);
      pos_++;
    }
    if (v > kMaxRepetition) return error_at(start, "repetition count " + std::string(text_.substr(start, pos_ - start)) + " is above " + std::to_string(kMaxRepetition));
    *out = uint32_t(v);
    return Status();
  }

  // --- rules ---
  uint32_t rule_id(const std::string& name, size_t used_at) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    const uint32_t id = uint32_t(rules_.size());
    rules_.push_back(ParsedRule{name, {}, false, 0, used_at});
    ids_.emplace(name, id);
    return id;
  }
  uint32_t generated_rule(uint32_t parent) {
    rules_.push_back(ParsedRule{rules_[parent].name, {}, true, pos_, pos_});
    return uint32_t(rules_.size() - 1);
  }

  Status parse_rule() {
    const size_t start = pos_;
    while (is_word_char(peek())) pos_++;
    if (pos_ == start) return error("expected a rule name, found " + found());
    const std::string name(text_.substr(start, pos_ - start));
    skip_space(false);
    if (!(peek() == ':' && peek(1) == ':' && peek(2) == '=')) return error("expected '::=' after the rule name '" + name + "', found " + found());
    pos_ += 3;
    skip_space(true);
    const uint32_t id = rule_id(name, start);
    if (rules_[id].defined) {
      return error_at(start, "rule '" + name + "' is defined twice (first at " + where(rules_[id].defined_at) + ")");
    }
    rules_[id].defined = true;
    rules_[id].defined_at = start;
    RINGLM_TRY(parse_alternates(id, false, 0));
    if (peek() == '\r') pos_ += peek(1) == '\n' ? 2 : 1;
    else if (peek() == '\n') pos_++;
    else if (!at_end()) return error("expected a newline or the end of the grammar after rule '" + name + "', found " + found());
    skip_space(true);
    return Status();
  }

  Status parse_alternates(uint32_t id, bool nested, int depth) {
    std::vector<Sequence> alts(1);
    RINGLM_TRY(parse_sequence(id, nested, depth, &alts.back()));
    while (peek() == '|') {
      pos_++;
      skip_space(true);
      alts.emplace_back();
      RINGLM_TRY(parse_sequence(id, nested, depth, &alts.back()));
    }
    rules_[id].alts = std::move(alts);
    return Status();
  }

  Status parse_sequence(uint32_t id, bool nested, int depth, Sequence* seq) {
    size_t last_symbol = seq->size();  // where the last symbol's elements begin (a literal is one symbol)
    bool have_symbol = false;
    // The rules the last symbol stands for (a group: all it made), times the repetitions applied to it. As in
    // llama.cpp, repeating it must not reach kMaxRepetition such rules: nested repetitions multiply, and a
    // matcher would have to follow every one of them at once.
    uint64_t weight = 1;
    while (!at_end()) {
      const char c = peek();
      const size_t here = pos_;
      if (c == '"') {
        pos_++;
        last_symbol = seq->size();
        have_symbol = true;
        weight = 1;
        while (peek() != '"') {
          if (at_end()) return error_at(here, "unterminated string: no closing '\"'");
          uint32_t cp;
          RINGLM_TRY(read_char(&cp));
          seq->push_back({GrammarElement::Chars, add_class(false, false, {{cp, cp}})});
        }
        pos_++;
      } else if (c == '[') {
        pos_++;
        const bool negated = peek() == '^';
        if (negated) pos_++;
        std::vector<CharRange> ranges;
        while (peek() != ']') {
          if (at_end()) return error_at(here, "unterminated character class: no closing ']'");
          const size_t item = pos_;
          uint32_t lo, hi;
          RINGLM_TRY(read_char(&lo));
          hi = lo;
          if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
            pos_++;
            RINGLM_TRY(read_char(&hi));
            if (hi < lo) return error_at(item, "character range is backwards (its end comes before its start)");
          }
          ranges.push_back({lo, hi});
        }
        pos_++;
        last_symbol = seq->size();
        have_symbol = true;
        weight = 1;
        seq->push_back({GrammarElement::Chars, add_class(negated, false, ranges)});
      } else if (c == '.') {
        pos_++;
        last_symbol = seq->size();
        have_symbol = true;
        weight = 1;
        seq->push_back({GrammarElement::Chars, add_class(false, true, {})});
      } else if (is_word_char(c)) {
        while (is_word_char(peek())) pos_++;
        last_symbol = seq->size();
        have_symbol = true;
        weight = 1;
        seq->push_back({GrammarElement::RuleRef, rule_id(std::string(text_.substr(here, pos_ - here)), here)});
      } else if (c == '(') {
        if (depth >= kMaxNesting) return error("groups nested more than " + std::to_string(kMaxNesting) + " deep");
        pos_++;
        skip_space(true);
        const size_t rules_before = rules_.size();
        const uint32_t sub = generated_rule(id);
        RINGLM_TRY(parse_alternates(sub, true, depth + 1));
        weight = std::max<uint64_t>(1, rules_.size() - rules_before - 1);
        if (peek() != ')') return error("expected ')' to close the group opened at " + where(here) + ", found " + found());
        pos_++;
        last_symbol = seq->size();
        have_symbol = true;
        seq->push_back({GrammarElement::RuleRef, sub});
      } else if (c == '<' || c == '!') {
        return error("token references (<[id]>, <text>, !<...>) are not supported; write the text as a literal");
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!have_symbol) return error("'" + std::string(1, c) + "' has nothing before it to repeat");
        uint32_t min = 0, max = kNoLimit;
        pos_++;
        if (c == '+') min = 1;
        if (c == '?') max = 1;
        if (c == '{') {
          skip_space(nested);
          RINGLM_TRY(read_int(&min));
          skip_space(nested);
          if (peek() == '}') {
            max = min;
          } else if (peek() == ',') {
            pos_++;
            skip_space(nested);
            if (peek() >= '0' && peek() <= '9') {
              RINGLM_TRY(read_int(&max));
              skip_space(nested);
              if (max < min) return error_at(here, "repetition {" + std::to_string(min) + "," + std::to_string(max) + "}: the maximum is below the minimum");
            }
            if (peek() != '}') return error("expected '}' to close the repetition, found " + found());
          } else {
            return error("expected ',' or '}' in the repetition, found " + found());
          }
          pos_++;
        }
        const uint64_t times = max != kNoLimit && max > 0 ? max : std::max<uint32_t>(min, 1);
        if (weight * times >= kMaxRepetition) {
          return error_at(here, "this repetition makes " + std::to_string(weight * times) + " copies of rules (nested repetitions multiply); at most " +
                                    std::to_string(kMaxRepetition - 1) + " are allowed");
        }
        RINGLM_TRY(repeat(id, seq, last_symbol, min, max, here));
        weight *= times;
        // As in llama.cpp, a further repetition applies to what this one made ("a"{2}? is ("aa")?).
        have_symbol = seq->size() > last_symbol;
      } else {
        break;
      }
      skip_space(nested);
      if (elements_ > kMaxElements) return error_at(here, "the grammar is too large (more than " + std::to_string(kMaxElements) + " elements once repetitions are expanded)");
    }
    return Status();
  }

  // Replace the symbol seq[from..] by its repetition {min,max} (max kNoLimit: no limit), as llama.cpp
  // rewrites it: S{m,n} is S m times, then n-m nested optional copies (R1 ::= S | ε, Rk ::= S Rk-1 | ε);
  // S{m,} is S m times, then R ::= S R | ε.
  Status repeat(uint32_t id, Sequence* seq, size_t from, uint32_t min, uint32_t max, size_t at) {
    const Sequence symbol(seq->begin() + std::ptrdiff_t(from), seq->end());
    const size_t cost = symbol.size() * (size_t(min) + (max == kNoLimit ? 2 : size_t(max - min) * 2));
    elements_ += cost;
    if (elements_ > kMaxElements) return error_at(at, "the grammar is too large (more than " + std::to_string(kMaxElements) + " elements once repetitions are expanded)");
    seq->resize(from);
    for (uint32_t i = 0; i < min; i++) seq->insert(seq->end(), symbol.begin(), symbol.end());
    if (max == kNoLimit) {
      const uint32_t r = generated_rule(id);
      Sequence again = symbol;
      again.push_back({GrammarElement::RuleRef, r});
      rules_[r].alts = {again, {}};
      seq->push_back({GrammarElement::RuleRef, r});
    } else if (max > min) {
      uint32_t inner = 0;
      for (uint32_t k = 0; k < max - min; k++) {
        const uint32_t r = generated_rule(id);
        Sequence once = symbol;
        if (k > 0) once.push_back({GrammarElement::RuleRef, inner});
        rules_[r].alts = {once, {}};
        inner = r;
      }
      seq->push_back({GrammarElement::RuleRef, inner});
    }
    return Status();
  }

  uint32_t add_class(bool negated, bool any, const std::vector<CharRange>& ranges) {
    CharClass k;
    k.negated = negated;
    k.any = any;
    k.first_range = uint32_t(ranges_.size());
    k.n_ranges = uint32_t(ranges.size());
    ranges_.insert(ranges_.end(), ranges.begin(), ranges.end());
    classes_.push_back(k);
    elements_++;
    return uint32_t(classes_.size() - 1);
  }

  // Whether the class matches at least one character a token can hold.
  bool class_nonempty(const CharClass& k) const {
    if (k.any) return true;
    std::vector<CharRange> r(ranges_.begin() + k.first_range, ranges_.begin() + k.first_range + k.n_ranges);
    if (!k.negated) {
      for (const CharRange& x : r) {
        if (range_has_scalar(x.lo, x.hi)) return true;
      }
      return false;
    }
    // Negated: some valid character lies in a gap between the sorted ranges.
    std::sort(r.begin(), r.end(), [](const CharRange& a, const CharRange& b) { return a.lo < b.lo; });
    uint32_t next = 1;  // the first character not yet known to be excluded
    for (const CharRange& x : r) {
      if (x.lo > next && range_has_scalar(next, x.lo - 1)) return true;
      if (x.hi >= next) next = x.hi == UINT32_MAX ? UINT32_MAX : x.hi + 1;
      if (next > kMaxCodePoint) return false;
    }
    return range_has_scalar(next, kMaxCodePoint);
  }

  // --- checks and the flat form ---
  Status compile(Grammar* out) {
    for (const ParsedRule& r : rules_) {
      if (!r.defined) return error_at(r.first_use, "rule '" + r.name + "' is used but never defined");
    }
    auto root = ids_.find("root");
    if (root == ids_.end()) return error_at(text_.size(), "no rule named 'root' (the rule a generation starts from)");
    const size_t n = rules_.size();

    // Nullable (derives the empty string) and productive (derives some finite string), as fixpoints.
    std::vector<char> nullable(n, 0), productive(n, 0);
    std::vector<char> class_ok(classes_.size());
    for (size_t c = 0; c < classes_.size(); c++) class_ok[c] = class_nonempty(classes_[c]);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; r++) {
        for (const Sequence& alt : rules_[r].alts) {
          bool all_nullable = true, all_productive = true;
          for (const GrammarElement& e : alt) {
            if (e.type == GrammarElement::Chars) {
              all_nullable = false;
              all_productive &= class_ok[e.index] != 0;
            } else {
              all_nullable &= nullable[e.index] != 0;
              all_productive &= productive[e.index] != 0;
            }
          }
          if (all_nullable && !nullable[r]) nullable[r] = changed = true;
          if (all_productive && !productive[r]) productive[r] = changed = true;
        }
      }
    }

    // Left recursion: a rule that can reach itself without reading a character. The matcher expands rules
    // until a character is due, so it would never stop; llama.cpp refuses these grammars too.
    std::vector<std::vector<uint32_t>> leftmost(n);
    for (size_t r = 0; r < n; r++) {
      for (const Sequence& alt : rules_[r].alts) {
        for (const GrammarElement& e : alt) {
          if (e.type != GrammarElement::RuleRef) break;
          leftmost[r].push_back(e.index);
          if (!nullable[e.index]) break;
        }
      }
    }
    RINGLM_TRY(check_left_recursion(leftmost));

    if (!productive[root->second]) {
      return error_at(rules_[root->second].defined_at,
                      "the grammar accepts no string: rule 'root' can never be completed (every way through it needs a rule "
                      "that never ends, or a class that matches no character)");
    }

    // The flat form, live alternatives only.
    Grammar g;
    g.classes_ = classes_;
    g.ranges_ = ranges_;
    g.rules_.resize(n);
    for (size_t r = 0; r < n; r++) {
      g.rules_[r].first_alt = uint32_t(g.alt_starts_.size());
      for (const Sequence& alt : rules_[r].alts) {
        bool live = true;
        for (const GrammarElement& e : alt) live &= e.type == GrammarElement::Chars ? class_ok[e.index] != 0 : productive[e.index] != 0;
        if (!live) continue;
        g.alt_starts_.push_back(uint32_t(g.elements_.size()));
        g.elements_.insert(g.elements_.end(), alt.begin(), alt.end());
        g.elements_.push_back({GrammarElement::End, 0});
      }
      g.rules_[r].n_alts = uint32_t(g.alt_starts_.size()) - g.rules_[r].first_alt;
    }
    g.root_ = root->second;
    *out = std::move(g);
    return Status();
  }

  // Iterative depth-first search for a cycle in the leftmost-reference graph (no recursion: the wasm stack
  // is small and a grammar may have thousands of rules).
  Status check_left_recursion(const std::vector<std::vector<uint32_t>>& edges) const {
    const size_t n = edges.size();
    std::vector<uint8_t> state(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<uint32_t, size_t>> path;
    for (size_t start = 0; start < n; start++) {
      if (state[start]) continue;
      path.push_back({uint32_t(start), 0});
      state[start] = 1;
      while (!path.empty()) {
        auto& [r, next] = path.back();
        if (next == edges[r].size()) {
          state[r] = 2;
          path.pop_back();
          continue;
        }
        const uint32_t s = edges[r][next++];
        if (state[s] == 1) {
          std::string cycle;
          bool on = false;
          for (const auto& p : path) {
            on |= p.first == s;
            if (on && (cycle.empty() || rules_[p.first].name != cycle.substr(cycle.rfind(' ') + 1))) {
              cycle += (cycle.empty() ? "" : " -> ") + rules_[p.first].name;
            }
          }
          cycle += " -> " + rules_[s].name;
          return error_at(rules_[s].defined_at, "rule '" + rules_[s].name + "' is left-recursive (" + cycle +
                                                    " before any character): rewrite it with repetition, e.g. "
                                                    "expr ::= term (\"+\" term)*");
        }
        if (state[s] == 0) {
          state[s] = 1;
          path.push_back({s, 0});
        }
      }
    }
    return Status();
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t elements_ = 0;
  std::vector<ParsedRule> rules_;
  std::map<std::string, uint32_t> ids_;
  std::vector<CharClass> classes_;
  std::vector<CharRange> ranges_;
};

Status Grammar::parse(std::string_view text, Grammar* out) {
  GrammarParser parser(text);
  return parser.run(out);
}

}  // namespace ringlm
