#include "generate/token_trie.h"

#include <algorithm>
#include <vector>

namespace ringlm {

Status TokenTrie::build(const Tokenizer& tokenizer, TokenTrie* out) {
  TokenTrie t;
  const int32_t n = std::max<int32_t>(0, tokenizer.n_tokens());
  const std::string of = " for the grammar's token trie of " + std::to_string(n) + " tokens";
  CheckedArray<std::string_view> pieces;
  RINGLM_TRY(pieces.resize(uint64_t(n), "the pieces" + of));
  RINGLM_TRY(t.order_.resize(uint64_t(n), "the token order" + of));
  size_t kept = 0;
  uint64_t most_nodes = 1;  // the root, then at most one node per byte of every piece
  for (int32_t id = 0; id < n; id++) {
    std::string_view p;
    if (!tokenizer.piece(id, true, &p).ok() || p.empty() || p.find('\0') != std::string_view::npos) continue;
    pieces[size_t(id)] = p;
    t.order_[kept++] = id;
    most_nodes += p.size();
  }
  RINGLM_TRY(t.order_.resize(kept, "the token order" + of));
  RINGLM_TRY(t.nodes_.resize(most_nodes, "the nodes" + of));
  int32_t* order = t.order_.data();
  // Sorted, equal pieces keep id order and a prefix comes before what extends it: each node's tokens are one run.
  std::stable_sort(order, order + kept, [&](int32_t a, int32_t b) { return pieces[size_t(a)] < pieces[size_t(b)]; });

  Node* nodes = t.nodes_.data();
  size_t n_nodes = 0;
  nodes[n_nodes++] = {0, 0, 0, 0};
  std::vector<uint32_t> path{0};  // path[d]: the open node at depth d (the root at 0); as deep as the longest piece
  std::string_view prev;
  for (size_t k = 0; k < kept; k++) {
    const std::string_view p = pieces[size_t(order[k])];
    size_t common = 0;
    while (common < p.size() && common < prev.size() && p[common] == prev[common]) common++;
    while (path.size() > common + 1) {  // the previous piece's nodes below the shared prefix are complete
      nodes[path.back()].end = uint32_t(n_nodes);
      path.pop_back();
    }
    for (size_t d = common; d < p.size(); d++) {
      path.push_back(uint32_t(n_nodes));
      nodes[n_nodes++] = {0, uint32_t(k), 0, static_cast<uint8_t>(p[d])};
    }
    Node& last = nodes[path.back()];
    if (last.n_tokens == 0) last.first_token = uint32_t(k);
    last.n_tokens++;
    prev = p;
  }
  while (!path.empty()) {
    nodes[path.back()].end = uint32_t(n_nodes);
    path.pop_back();
  }
  RINGLM_TRY(t.nodes_.resize(n_nodes, "the nodes" + of));  // shrinks: only the size changes
  *out = std::move(t);
  return Status();
}

}  // namespace ringlm
