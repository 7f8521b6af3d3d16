// token_trie.h — a vocabulary's pieces as a byte trie, so a grammar can judge every token at once.
//
// Checking tokens one by one repeats the work of their shared beginnings: in a SentencePiece vocabulary half of
// the tokens start with a space, and where the grammar refuses a space each of them is refused again. Walked depth
// first, the trie takes each distinct prefix once and skips a whole subtree where its prefix is refused.
//
// Layout: nodes in depth-first (pre-)order; node 0 is the root (the empty prefix). A node's children follow it,
// each followed by its own subtree, and `end` is the index just past the node's subtree, so a refused child is
// skipped by jumping to its `end`. The tokens whose piece ends at a node are a run of `order`, the token ids
// sorted by piece. Built once per tokenizer (Session keeps it across generations).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "text/tokenizer.h"

namespace ringlm {

class TokenTrie {
public:
  struct Node {
    uint32_t end;          // index past this node's subtree
    uint32_t first_token;  // into order(): the tokens whose piece ends here
    uint32_t n_tokens;
    uint32_t byte;          // the byte that leads here from the parent (0 for the root)
  };

  // Every token with a non-empty piece (control tokens' text included, as grammars see it) and no NUL byte.
  explicit TokenTrie(const Tokenizer& tokenizer);

  const std::vector<Node>& nodes() const { return nodes_; }
  const int32_t* order() const { return order_.data(); }
  size_t n_tokens() const { return order_.size(); }

private:
  std::vector<Node> nodes_;
  std::vector<int32_t> order_;
};

}  // namespace ringlm
