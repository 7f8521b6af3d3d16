// grammar_fuzz — any bytes as a GBNF grammar, then any bytes through its matcher. The input is the grammar,
// a 0x01 byte, and text fed in pieces of 1 to 4 bytes. A grammar is refused with a message or compiled;
// a compiled one must match without crashing, allows() must say what accept() then does, and a walk (the
// token trie's steps: bytes pushed, popped and pushed again) must say what allows() says.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "generate/grammar.h"
#include "generate/grammar_matcher.h"

using namespace ringlm;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "grammar_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(input.find('\x01'), input.size());
  Grammar grammar;
  const Status s = Grammar::parse(input.substr(0, split), &grammar);
  if (!s.ok()) {
    check(s.message().rfind("grammar: line ", 0) == 0, "every error says where");
    return 0;
  }
  GrammarMatcher m(grammar);
  std::string_view text = split < input.size() ? input.substr(split + 1) : std::string_view();
  for (size_t n = 1; !text.empty(); n = n % 4 + 1) {
    const std::string_view piece = text.substr(0, n);
    text.remove_prefix(piece.size());
    const bool allowed = m.allows(piece);
    // A walk that backs up and goes on again, as the token trie's walk does, judges as allows() does.
    m.walk_begin();
    size_t taken = 0;
    while (taken < piece.size() && m.walk_push(static_cast<uint8_t>(piece[taken]))) taken++;
    for (size_t i = taken; i > taken / 2; i--) m.walk_pop();
    size_t again = taken / 2;
    while (again < piece.size() && m.walk_push(static_cast<uint8_t>(piece[again]))) again++;
    check(again == taken, "a walk goes as far again after backing up");
    check((again == piece.size() && m.walk_allows()) == allowed, "a walk judges as allows() does");
    for (; again > 0; again--) m.walk_pop();
    check(m.accept(piece) == allowed, "allows() and accept() agree");
    if (!allowed) break;
    check(!m.dead(), "an accepted text leaves a live state");
  }
  (void)m.can_end();
  m.reset();
  return 0;
}
