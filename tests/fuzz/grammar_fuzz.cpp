// grammar_fuzz — any bytes as a GBNF grammar, then any bytes through its matcher. The input is the grammar,
// a 0x01 byte, and text fed in pieces of 1 to 4 bytes. A grammar is refused with a message or compiled;
// a compiled one must match without crashing, and allows() must say what accept() then does.
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
    check(m.accept(piece) == allowed, "allows() and accept() agree");
    if (!allowed) break;
    check(!m.dead(), "an accepted text leaves a live state");
  }
  (void)m.can_end();
  m.reset();
  return 0;
}
