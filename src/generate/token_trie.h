// token_trie.h — a vocabulary's pieces as a byte trie, so a grammar can judge every token at once.
//
// Checking tokens one by one repeats the work of their shared beginnings: in a SentencePiece vocabulary half of
// the tokens start with a space, and where the grammar refuses a space each of them is refused again. Walked depth
// first, the trie takes each distinct prefix once and skips a whole subtree where its prefix is refused.
//
// Layout: nodes in depth-first (pre-)order; node 0 is the root (the empty prefix). A node's children follow it,
// each followed by its own subtree, and `end` is the index just past the node's subtree, so a refused child is
// skipped by jumping to its `end`. The tokens whose piece ends at a node are a run of `order`, the token ids
// sorted by piece. Built once per tokenizer (Session keeps it across generations). Its size follows the
// vocabulary (~30 MB for 262,144 tokens), so it is allocated with a check: a memory that cannot grow gives an
// error, not an abort.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/checked_array.h"
#include "common/status.h"
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
  static Status build(const Tokenizer& tokenizer, TokenTrie* out);

  const Node* nodes() const { return nodes_.data(); }
  size_t n_nodes() const { return nodes_.size(); }
  const int32_t* order() const { return order_.data(); }
  size_t n_tokens() const { return order_.size(); }
  uint64_t bytes() const { return nodes_.capacity() * sizeof(Node) + order_.capacity() * sizeof(int32_t); }

private:
  CheckedArray<Node> nodes_;
  CheckedArray<int32_t> order_;
};

}  // namespace ringlm
