// GBNF grammars: the parser's errors (what and where), and the matcher on whole texts, texts cut at every
// byte (a token may end inside a character), completion, and grammars that stress the stacks.
#include <gtest/gtest.h>

#include <string>

#include "generate/grammar.h"
#include "generate/grammar_matcher.h"

using namespace ringlm;

namespace {

Grammar parse_ok(const std::string& text) {
  Grammar g;
  const Status s = Grammar::parse(text, &g);
  EXPECT_TRUE(s.ok()) << s.message() << "\n" << text;
  return g;
}

std::string parse_error(const std::string& text) {
  Grammar g;
  const Status s = Grammar::parse(text, &g);
  EXPECT_FALSE(s.ok()) << text;
  return s.message();
}

// Whether `text` is a complete match; also fed in two pieces at every byte boundary, which must agree.
bool matches(const Grammar& g, const std::string& text) {
  GrammarMatcher whole(g);
  const bool ok = whole.accept(text) && whole.can_end();
  for (size_t cut = 0; cut <= text.size(); cut++) {
    GrammarMatcher m(g);
    const bool split = m.allows(text.substr(0, cut)) && m.accept(text.substr(0, cut)) && m.accept(text.substr(cut)) && m.can_end();
    EXPECT_EQ(split, ok) << "cut at byte " << cut << " of '" << text << "'";
  }
  return ok;
}

// Whether `text` can be the beginning of a match.
bool prefix(const Grammar& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.allows(text);
}

}  // namespace

TEST(Grammar, LiteralsClassesAndRepetition) {
  const Grammar g = parse_ok(R"(
# a comment
root ::= "ab" [0-9]{2,3} tail? ("x" | "y")*   # another
tail ::= [^a-c\n] "!"
)");
  EXPECT_TRUE(matches(g, "ab12"));
  EXPECT_TRUE(matches(g, "ab123"));
  EXPECT_FALSE(matches(g, "ab1"));
  EXPECT_FALSE(matches(g, "ab1234"));
  EXPECT_TRUE(matches(g, "ab12d!xyx"));
  EXPECT_FALSE(matches(g, "ab12a!"));
  EXPECT_TRUE(matches(g, "ab12é!"));
  EXPECT_TRUE(prefix(g, "ab1"));
  EXPECT_FALSE(prefix(g, "ac"));
}

TEST(Grammar, RepetitionCountsAndLiteralsAsOneSymbol) {
  const Grammar g = parse_ok("root ::= \"ab\"{2} \"c\"{1,} \"d\"{0,2} \"e\"{3,3}\n");
  EXPECT_TRUE(matches(g, "ababcccddeee"));
  EXPECT_TRUE(matches(g, "ababceee"));
  EXPECT_FALSE(matches(g, "abceee"));
  EXPECT_FALSE(matches(g, "ababcdddeee"));
  const Grammar h = parse_ok("root ::= \"a\"{2}?\n");  // a repetition of a repetition: ("aa")?
  EXPECT_TRUE(matches(h, ""));
  EXPECT_TRUE(matches(h, "aa"));
  EXPECT_FALSE(matches(h, "a"));
}

TEST(Grammar, EscapesAndUnicode) {
  const Grammar g = parse_ok(R"(root ::= "\x41\u00e9\U0001F600\t\"\\" [\[\]\-] [ぁ-ゟ]+ .)" "\n");
  EXPECT_TRUE(matches(g, "Aé😀\t\"\\-ぁあz"));
  EXPECT_TRUE(matches(g, "Aé😀\t\"\\]ゟ\n"));
  EXPECT_FALSE(matches(g, "Aé😀\t\"\\-ぁ"));
  // [a-] is 'a' and '-'.
  const Grammar h = parse_ok("root ::= [a-]+\n");
  EXPECT_TRUE(matches(h, "a-a"));
  EXPECT_FALSE(matches(h, "b"));
}

TEST(Grammar, NewlinesInsideGroupsAndAfterBars) {
  const Grammar g = parse_ok("root ::= (\n  \"a\"\n  | \"b\"\n) x |\n  \"c\"\nx ::= \"x\"\r\n");
  EXPECT_TRUE(matches(g, "ax"));
  EXPECT_TRUE(matches(g, "bx"));
  EXPECT_TRUE(matches(g, "c"));
  EXPECT_FALSE(matches(g, "a"));
}

TEST(Grammar, PartialCharacters) {
  // é is C3 A9. A text ending after C3 may continue only if some character starting with C3 can come.
  const Grammar g = parse_ok("root ::= [é-ê] \"!\"\n");
  EXPECT_TRUE(prefix(g, "\xC3"));
  EXPECT_FALSE(prefix(g, "\xC4"));
  EXPECT_FALSE(prefix(g, "\xC3\xA8"));  // è
  EXPECT_TRUE(matches(g, "ê!"));
  // Negated classes refuse a partial character when an excluded one could start with it (llama.cpp's rule).
  const Grammar n = parse_ok("root ::= [^é]+\n");
  EXPECT_FALSE(prefix(n, "\xC3"));
  EXPECT_TRUE(prefix(n, "\xC4"));
  GrammarMatcher whole(n);  // whole, à is fine (cut after its first byte it is not: see above)
  EXPECT_TRUE(whole.accept("àb") && whole.can_end());
  // Invalid UTF-8 is never allowed: overlong forms, surrogates, stray continuation bytes, bytes past U+10FFFF.
  const Grammar any = parse_ok("root ::= .*\n");
  for (const char* bad : {"\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80", "\x80", "\xF5", "\xF4\x90", "a\xFF"}) {
    EXPECT_FALSE(prefix(any, bad)) << bad;
  }
  EXPECT_TRUE(prefix(any, "\xF0\x9F"));  // the start of 😀
  GrammarMatcher m(any);
  EXPECT_TRUE(m.accept("\xF0\x9F"));
  EXPECT_FALSE(m.can_end());  // inside a character
  EXPECT_FALSE(m.allows("a"));
  EXPECT_TRUE(m.accept("\x98\x80"));
  EXPECT_TRUE(m.can_end());
}

TEST(Grammar, CompletionAndDeadEnds) {
  const Grammar g = parse_ok("root ::= \"yes\" | \"no\"\n");
  GrammarMatcher m(g);
  EXPECT_FALSE(m.can_end());
  EXPECT_TRUE(m.accept("ye"));
  EXPECT_FALSE(m.accept("x"));  // refused: nothing changes
  EXPECT_TRUE(m.accept("s"));
  EXPECT_TRUE(m.can_end());
  EXPECT_FALSE(m.allows("!"));  // complete and nothing may follow
  // An alternative that can never end is never started: here the text must be "c".
  const Grammar dead = parse_ok("root ::= \"a\" loop | \"c\"\nloop ::= \"x\" loop\n");
  EXPECT_FALSE(prefix(dead, "a"));
  EXPECT_TRUE(matches(dead, "c"));
}

TEST(Grammar, RightRecursionAndLongTextsStayFlat) {
  // 200,000 characters through a right-recursive rule and nested groups: the stacks stay a few nodes deep
  // (tail calls) and the arena is compacted, so this is quick and small.
  const Grammar g = parse_ok("root ::= item+\nitem ::= [a-z] | \"(\" root \")\"\n");
  GrammarMatcher m(g);
  for (int i = 0; i < 100000; i++) ASSERT_TRUE(m.accept("ab"));
  EXPECT_TRUE(m.can_end());
  // Nesting does grow the stack, as it must: 5,000 deep and back.
  GrammarMatcher n(g);
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(n.accept("("));
  EXPECT_TRUE(n.accept("x"));
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(n.accept(")"));
  EXPECT_TRUE(n.can_end());
}

TEST(Grammar, AmbiguityDoesNotExplode) {
  // Many ways to read the same text: the stacks are a set, so equal ones are one.
  const Grammar g = parse_ok("root ::= (a | a a | a a a)*\na ::= \"x\" | \"x\"\n");
  GrammarMatcher m(g);
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(m.accept("x"));
  EXPECT_TRUE(m.can_end());
}

TEST(Grammar, ErrorsSayWhatAndWhere) {
  EXPECT_EQ(parse_error("root ::= \"a\"\nfoo = \"b\"\n"), "grammar: line 2, column 5: expected '::=' after the rule name 'foo', found '='");
  EXPECT_EQ(parse_error("root ::= \"abc\n"), "grammar: line 1, column 10: unterminated string: no closing '\"'");
  EXPECT_EQ(parse_error("root ::= [a-z\n"), "grammar: line 1, column 10: unterminated character class: no closing ']'");
  EXPECT_EQ(parse_error("root ::= (\"a\" | \"b\"\n"), "grammar: line 2, column 1: expected ')' to close the group opened at line 1, column 10, found the end of the grammar");
  EXPECT_EQ(parse_error("root ::= \"\\q\"\n"), "grammar: line 1, column 11: unknown escape '\\q' (known: \\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\] \\-)");
  EXPECT_EQ(parse_error("root ::= \"\\x4\"\n"), "grammar: line 1, column 14: expected 2 hexadecimal digits, found '\"'");
  EXPECT_EQ(parse_error("root ::= [z-a]\n"), "grammar: line 1, column 11: character range is backwards (its end comes before its start)");
  EXPECT_EQ(parse_error("root ::= * \"a\"\n"), "grammar: line 1, column 10: '*' has nothing before it to repeat");
  EXPECT_EQ(parse_error("root ::= \"a\"{3,2}\n"), "grammar: line 1, column 13: repetition {3,2}: the maximum is below the minimum");
  EXPECT_EQ(parse_error("root ::= \"a\"{2001}\n"), "grammar: line 1, column 14: repetition count 2001 is above 2000");
  EXPECT_EQ(parse_error("root ::= \"a\" ) \"b\"\n"), "grammar: line 1, column 14: expected a newline or the end of the grammar after rule 'root', found ')'");
  EXPECT_EQ(parse_error("root ::= <[12]>\n"), "grammar: line 1, column 10: token references (<[id]>, <text>, !<...>) are not supported; write the text as a literal");
  EXPECT_EQ(parse_error("root ::= \"\\U00110000\"\n"), "grammar: line 1, column 11: escape above U+10FFFF, the last Unicode code point");
  EXPECT_EQ(parse_error(""), "grammar: line 1, column 1: no rule named 'root' (the rule a generation starts from)");
  EXPECT_EQ(parse_error("root ::= item\nitem ::= \"a\" | tiem\n"), "grammar: line 2, column 16: rule 'tiem' is used but never defined");
  EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\"\n"), "grammar: line 2, column 1: rule 'root' is defined twice (first at line 1, column 1)");
  EXPECT_EQ(parse_error("root ::= \"a\" root\n"), "grammar: line 1, column 1: the grammar accepts no string: rule 'root' can never be completed "
                                                   "(every way through it needs a rule that never ends, or a class that matches no character)");
  EXPECT_NE(parse_error("root ::= [^\\x00-\\U0010FFFF]\n").find("accepts no string"), std::string::npos);
  EXPECT_EQ(parse_error("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]\n"),
            "grammar: line 2, column 1: rule 'expr' is left-recursive (expr -> expr before any character): rewrite it with "
            "repetition, e.g. expr ::= term (\"+\" term)*");
  // Through a rule that may be empty, and through another rule.
  EXPECT_NE(parse_error("root ::= a\na ::= opt b \"x\" | \"y\"\nopt ::= \"z\"?\nb ::= a\n").find("left-recursive (a -> b -> a"), std::string::npos);
  std::string deep = "root ::= ";
  for (int i = 0; i < 300; i++) deep += "(";
  EXPECT_EQ(parse_error(deep + "\"a\"\n"), "grammar: line 1, column 210: groups nested more than 200 deep");
  // Huge expansions are refused, not built.
  EXPECT_NE(parse_error("root ::= \"" + std::string(600, 'a') + "\"{1999}\n").find("too large"), std::string::npos);
  // Nested repetitions multiply (llama.cpp's rule): refused before anything is built.
  EXPECT_EQ(parse_error("root ::= ((\"ab\"{0}){2000} \"c\"{0}){2000}\n"),
            "grammar: line 1, column 20: this repetition makes 2000 copies of rules (nested repetitions multiply); at most 1999 are allowed");
  EXPECT_NE(parse_error("root ::= ((\"ab\"{0,40}){50})\n").find("copies of rules"), std::string::npos);
  EXPECT_EQ(parse_error(std::string("root ::= \"a\0\"\n", 14)), "grammar: line 1, column 12: a NUL character is not allowed in a grammar");
}

TEST(Grammar, LlamaCppExampleGrammarsParse) {
  // The JSON grammar of llama.cpp's grammars/ (its syntax, written here again).
  const Grammar json = parse_ok(R"(root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
)");
  EXPECT_TRUE(matches(json, "{\"a\": [1, 2.5, \"x\\n\", true, null], \"b\": {}}"));
  EXPECT_FALSE(matches(json, "{\"a\": [1, 2.5,]}"));
  EXPECT_TRUE(prefix(json, "{\"a\": [1"));
}
