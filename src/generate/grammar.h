// grammar.h — GBNF grammars (llama.cpp's syntax, grammars/README.md there), parsed and compiled for
// the matcher in grammar_matcher.h.
//
//   root  ::= "1. " move (" " move)*          a rule: a name, ::=, alternatives separated by |
//   move  ::= [a-h] [1-8] | "O-O" [+#]?       literals with escapes, classes with ranges
//   name  ::= [^\n"]{1,20}                     negated classes, {m}, {m,}, {m,n}, * + ?, ( groups ), .
//   # comments run to the end of the line
//
// Meanings follow llama.cpp's parser: a literal string is one symbol ("ab"* repeats "ab"); newlines end a
// rule except inside parentheses and after |; escapes are \xHH \uHHHH \UHHHHHHHH \t \r \n \\ \" \[ \] \-;
// in a class, '-' before ']' is itself; `.` is any character. Where llama.cpp is silent or odd, ringlm
// refuses with an error that says where (line and column) rather than guess: a rule defined twice (llama.cpp
// keeps the last), a range written backwards, a code point above U+10FFFF, a repetition count above 2000
// (llama.cpp turns {0,3000} into * silently), left recursion, a rule never defined, no `root`, a grammar
// that accepts no string at all, groups nested deeper than 200. Token references (<[id]>, <text>, !<...>)
// are refused by name: not supported.
//
// The compiled form is flat: every alternative is a run of elements ending in End; a rule is a list of
// alternatives; repetitions and groups become generated rules as in llama.cpp (S* is R ::= S R | ε).
// Alternatives that can never be completed (they need a rule that derives no finite string, or a class
// that matches no character) are marked dead, so a matcher never follows a path that cannot end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringlm {

struct GrammarElement {
  enum Type : uint8_t { End, RuleRef, Chars };
  Type type;
  uint32_t index;  // RuleRef: the rule; Chars: the character class
};

// A set of code points: ranges, possibly negated; `any` (.) matches every character.
struct CharClass {
  bool negated = false;
  bool any = false;
  uint32_t first_range = 0, n_ranges = 0;  // into Grammar::ranges
};

struct CharRange {
  uint32_t lo, hi;  // inclusive
};

class Grammar {
public:
  // Parse and compile GBNF text; the start rule is `root`. Errors: "line 3, column 7: expected ..." (columns in
  // characters, both from 1).
  static Status parse(std::string_view text, Grammar* out);

  bool empty() const { return rules_.empty(); }
  uint32_t root() const { return root_; }
  const GrammarElement& element(uint32_t pos) const { return elements_[pos]; }
  // Rule r's live alternatives: positions of their first elements.
  const uint32_t* alternatives(uint32_t r, uint32_t* n) const {
    *n = rules_[r].n_alts;
    return alt_starts_.data() + rules_[r].first_alt;
  }
  // Whether class c matches code point cp.
  bool class_matches(uint32_t c, uint32_t cp) const;
  // Whether some character in [lo, hi] may match class c, as llama.cpp judges a token that ends inside a
  // character: a plain class if one of its items meets the range, a negated one only if none of its
  // items does (so [^é] refuses a lead byte that could start é even though it could start à too).
  bool class_may_match(uint32_t c, uint32_t lo, uint32_t hi) const;
  // Whether class c may match some character in [lo, hi]: true unless it surely matches none (a quick filter).
  bool class_meets(uint32_t c, uint32_t lo, uint32_t hi) const;
  size_t element_count() const { return elements_.size(); }

private:
  friend class GrammarParser;
  struct Rule {
    uint32_t first_alt = 0, n_alts = 0;  // into alt_starts_
  };
  std::vector<GrammarElement> elements_;
  std::vector<uint32_t> alt_starts_;
  std::vector<Rule> rules_;
  std::vector<CharClass> classes_;
  std::vector<CharRange> ranges_;
  uint32_t root_ = 0;
};

}  // namespace ringlm
