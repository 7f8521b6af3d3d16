// The fast paths of constrained sampling against the slow, obvious ones: a grammar's whole-vocabulary mask (a
// depth-first walk of the token trie) must say exactly what asking allows() token by token says, in every state
// a generation passes through; and sample_constrained (best candidates first, then the mask) must keep exactly
// the `want` best allowed candidates that filtering everything and sorting keeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "generate/grammar.h"
#include "generate/grammar_matcher.h"
#include "generate/sampler.h"
#include "generate/token_trie.h"
#include "gguf_builder.h"
#include "test_util.h"

using namespace ringlm;

namespace {

// A vocabulary with shared beginnings, digits, JSON punctuation, multi-byte characters and (the 256 byte
// tokens) every lone byte, continuation bytes and invalid ones included.
std::vector<std::string> mask_pieces() {
  std::vector<std::string> p = test::test_pieces();
  for (const char* w : {"0", "1", "12", "123", "9", "3.5", "-", "{", "}", "\"", "\":", "{\"", "\xe2\x96\x81{", "\xe2\x96\x81\"",
                        "[", "]", "true", "tr", "null", "\\", "\\u", "\xce\xb1", "\xce\xb1\xce\xb2", "\xe3\x81\x81",
                        "\xf0\x9f\x98\x80", "\xc3\xa0", "\n", "\n\n", "- ", "e4", "abc", "ab"}) {
    p.push_back(w);
  }
  return p;
}

const char* const kGrammars[] = {
    // llama.cpp's JSON grammar
    "root   ::= object\n"
    "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "object ::= \"{\" ws ( string \":\" ws value (\",\" ws string \":\" ws value)* )? \"}\" ws\n"
    "array  ::= \"[\" ws ( value (\",\" ws value)* )? \"]\" ws\n"
    "string ::= \"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4}) )* \"\\\"\" ws\n"
    "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
    "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n",
    "root ::= [0-9]+\n",
    "root ::= greek \" \" (kana | [\xc3\xa0-\xc3\xbf])+\ngreek ::= [\xce\xb1-\xcf\x89]{2,6}\nkana ::= [\xe3\x81\x81-\xe3\x82\x9f]{1,4}\n",
    "root ::= \"\\\"\" [^\"\\n aeiou]{1,12} \"\\\"\" ([^x]{3,} \".\")?\n",
    "root ::= item+\nitem ::= \"- \" [^\\r\\n\\x0b\\x0c\\x85\\u2028\\u2029]+ \"\\n\"\n",
    "root ::= [a-z]+ (\" \" [a-z]+)*\n",
};

struct Vocabulary {
  std::unique_ptr<Engine> engine;
  const Tokenizer* tokenizer = nullptr;
};

Vocabulary load_vocabulary() {
  test::LlamaShape shape;
  shape.pieces = mask_pieces();
  Vocabulary v;
  const Status s = test::load_engine(test::make_llama(shape), &v.engine);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(v.engine->tokenizer(&v.tokenizer).ok());
  return v;
}

// A small deterministic generator for the walks (not the sampler's).
uint32_t next_random(uint32_t* s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

}  // namespace

TEST(GrammarMask, TrieHoldsEveryTokenWithText) {
  const Vocabulary v = load_vocabulary();
  TokenTrie trie;
  ASSERT_TRUE(TokenTrie::build(*v.tokenizer, &trie).ok());
  std::vector<int> seen(size_t(v.tokenizer->n_tokens()), 0);
  for (size_t i = 0; i < trie.n_nodes(); i++) {
    const TokenTrie::Node& node = trie.nodes()[i];
    for (uint32_t k = 0; k < node.n_tokens; k++) seen[size_t(trie.order()[node.first_token + k])]++;
  }
  for (int32_t t = 0; t < v.tokenizer->n_tokens(); t++) {
    std::string_view p;
    ASSERT_TRUE(v.tokenizer->piece(t, true, &p).ok());
    const bool has_text = !p.empty() && p.find('\0') == std::string_view::npos;
    EXPECT_EQ(seen[size_t(t)], has_text ? 1 : 0) << "token " << t;
  }
}

// In each state of random walks through the grammars (allowed tokens accepted one after another), the mask
// equals allows() for every token, with the trie and without it.
TEST(GrammarMask, MaskEqualsAskingTokenByToken) {
  const Vocabulary v = load_vocabulary();
  TokenTrie trie;
  ASSERT_TRUE(TokenTrie::build(*v.tokenizer, &trie).ok());
  const size_t n = size_t(v.tokenizer->n_tokens());
  std::vector<uint8_t> fast(n), slow(n);
  for (const char* text : kGrammars) {
    Grammar g;
    ASSERT_TRUE(Grammar::parse(text, &g).ok()) << text;
    for (uint32_t seed = 1; seed <= 6; seed++) {
      GrammarConstraint with_trie(g, *v.tokenizer, {}, &trie);
      GrammarConstraint without(g, *v.tokenizer, {});
      uint32_t rng = seed;
      for (int step = 0; step < 40; step++) {
        with_trie.allowed_tokens(fast.data(), n);
        without.allowed_tokens(slow.data(), n);
        std::vector<int32_t> allowed;
        for (size_t t = 0; t < n; t++) {
          ASSERT_EQ(fast[t], with_trie.allows(int32_t(t)) ? 1 : 0) << text << " seed " << seed << " step " << step << " token " << t;
          ASSERT_EQ(fast[t], slow[t]) << text << " token " << t;
          if (fast[t] && !v.tokenizer->is_end_of_generation(int32_t(t))) allowed.push_back(int32_t(t));
        }
        if (allowed.empty()) break;
        const int32_t pick = allowed[next_random(&rng) % allowed.size()];
        with_trie.accept(pick);
        without.accept(pick);
      }
    }
  }
}

namespace {
// The reference: every allowed candidate, sorted (higher logit first, then lower id), the first `want`.
std::vector<int32_t> reference_pick(const std::vector<float>& logits, TokenConstraint& constraint, size_t want) {
  std::vector<Candidate> all;
  for (size_t t = 0; t < logits.size(); t++) {
    if (constraint.allows(int32_t(t))) all.push_back({int32_t(t), logits[t], 0.0f});
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
  std::vector<int32_t> ids;
  for (size_t i = 0; i < std::min(want, all.size()); i++) ids.push_back(all[i].id);
  return ids;
}
}  // namespace

// Whatever path sample_constrained takes (the best candidates only, more windows, or the mask), it keeps the
// same candidates in the same order as filtering everything and sorting; ties (equal logits) included.
TEST(GrammarMask, SampleConstrainedKeepsTheBestAllowed) {
  const Vocabulary v = load_vocabulary();
  TokenTrie trie;
  ASSERT_TRUE(TokenTrie::build(*v.tokenizer, &trie).ok());
  const size_t n = size_t(v.tokenizer->n_tokens());
  std::vector<uint8_t> mask(n);
  std::vector<Candidate> data(n);
  for (const char* text : kGrammars) {
    Grammar g;
    ASSERT_TRUE(Grammar::parse(text, &g).ok());
    GrammarConstraint constraint(g, *v.tokenizer, {}, &trie);
    uint32_t rng = 7;
    for (int step = 0; step < 12; step++) {
      std::vector<float> logits(n);
      for (size_t t = 0; t < n; t++) logits[t] = float(next_random(&rng) % 64) / 8.0f;  // many ties
      if (step % 3 == 0) logits[next_random(&rng) % n] = -INFINITY;
      for (size_t want : {size_t(1), size_t(5), size_t(40), n}) {
        const std::vector<int32_t> expected = reference_pick(logits, constraint, want);
        for (size_t t = 0; t < n; t++) data[t] = {int32_t(t), logits[t], 0.0f};
        Candidates c{data.data(), n, false};
        sample_constrained(c, constraint, want, mask.data(), n);
        std::vector<int32_t> got;
        for (size_t i = 0; i < c.size; i++) got.push_back(c.data[i].id);
        ASSERT_EQ(got, expected) << text << " step " << step << " want " << want;
      }
      // Go on with the best allowed token that is not an end token, if any.
      int32_t next = -1;
      for (int32_t t : reference_pick(logits, constraint, n)) {
        if (!v.tokenizer->is_end_of_generation(t)) {
          next = t;
          break;
        }
      }
      if (next < 0) break;
      constraint.accept(next);
    }
  }
}

// Lazy grammars (triggers) against the obvious rule, written out with a plain matcher: while no trigger has been
// written, a token is allowed unless the text with it holds a trigger and the text from that trigger's start
// (the first one) cannot begin a match; end tokens are allowed and the text may end. Once a trigger is written,
// the text from its start is held to the grammar as a grammar without triggers holds the whole text. Random walks
// through a vocabulary where triggers are written within one token ("{\"") and across tokens ("{" then "\":").
TEST(GrammarMask, TriggersLeaveTheTextFreeUntilOneIsWritten) {
  const Vocabulary v = load_vocabulary();
  TokenTrie trie;
  ASSERT_TRUE(TokenTrie::build(*v.tokenizer, &trie).ok());
  const size_t n = size_t(v.tokenizer->n_tokens());
  const auto piece = [&](int32_t t) {
    std::string_view p;
    EXPECT_TRUE(v.tokenizer->piece(t, true, &p).ok());
    return std::string(p);
  };
  Grammar g;
  ASSERT_TRUE(Grammar::parse("root ::= \"{\\\"\" [a-z]+ \"\\\":\" [0-9]+ \"}\"\n", &g).ok());
  const std::vector<std::vector<std::string>> trigger_sets = {{"{\""}, {"tr", "{\""}, {"\xce\xb1\xce\xb2{"}};
  int triggered = 0, refused_while_waiting = 0;
  std::vector<uint8_t> mask(n);
  for (const auto& triggers : trigger_sets) {
    for (uint32_t seed = 1; seed <= 12; seed++) {
      GrammarConstraint lazy(g, *v.tokenizer, {}, &trie, triggers);
      std::string text;        // everything written
      size_t start = std::string::npos;  // where the first trigger starts in it
      uint32_t rng = seed;
      for (int step = 0; step < 30; step++) {
        lazy.allowed_tokens(mask.data(), n);
        std::vector<int32_t> allowed;
        for (size_t t = 0; t < n; t++) {
          const int32_t id = int32_t(t);
          bool expected;
          if (v.tokenizer->is_end_of_generation(id)) {
            GrammarMatcher m(g);
            expected = start == std::string::npos || (m.accept(text.substr(start)) && m.can_end());
          } else {
            const std::string with = text + piece(id);
            size_t at = std::string::npos;
            for (const std::string& trig : triggers) at = std::min(at, with.find(trig));
            if (start != std::string::npos) at = start;
            GrammarMatcher m(g);
            const std::string rest = at == std::string::npos ? "" : with.substr(at);
            expected = at == std::string::npos || (!piece(id).empty() && rest.find('\0') == std::string::npos && m.allows(rest));
            if (start == std::string::npos && at != std::string::npos && !expected) refused_while_waiting++;
          }
          ASSERT_EQ(lazy.allows(id), expected) << "seed " << seed << " step " << step << " text '" << text << "' token '" << piece(id) << "'";
          ASSERT_EQ(mask[t], expected ? 1 : 0) << "token " << t;
          if (expected && !v.tokenizer->is_end_of_generation(id)) allowed.push_back(id);
        }
        EXPECT_EQ(lazy.can_end(), mask[size_t(v.tokenizer->end_of_generation()[0])] == 1);
        if (allowed.empty()) break;
        // Lean toward the tokens that write triggers, so that most walks switch the grammar on.
        int32_t pick = allowed[next_random(&rng) % allowed.size()];
        for (int32_t t : allowed) {
          const std::string p = piece(t);
          if ((p.find('{') != std::string::npos || p.find('"') != std::string::npos || p == "tr" || p == "\xce\xb1\xce\xb2") &&
              next_random(&rng) % 3 == 0) {
            pick = t;
            break;
          }
        }
        lazy.accept(pick);
        text += piece(pick);
        if (start == std::string::npos) {
          for (const std::string& trig : triggers) start = std::min(start, text.find(trig));
          if (start != std::string::npos) triggered++;
        }
        ASSERT_EQ(lazy.waiting_for_trigger(), start == std::string::npos);
      }
    }
  }
  EXPECT_GT(triggered, 12) << "walks that wrote a trigger";
  EXPECT_GT(refused_while_waiting, 0) << "tokens refused because the trigger they complete cannot go on";
}
