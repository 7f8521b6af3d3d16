#include "generate/token_trie.h"

#include <algorithm>

namespace ringlm {

TokenTrie::TokenTrie(const Tokenizer& tokenizer) {
  const int32_t n = tokenizer.n_tokens();
  std::vector<std::string_view> pieces(size_t(n > 0 ? n : 0));
  for (int32_t id = 0; id < n; id++) {
    std::string_view p;
    if (!tokenizer.piece(id, true, &p).ok() || p.empty() || p.find('\0') != std::string_view::npos) continue;
    pieces[size_t(id)] = p;
    order_.push_back(id);
  }
  // Sorted, equal pieces keep id order and a prefix comes before what extends it: each node's tokens are one run.
  std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return pieces[size_t(a)] < pieces[size_t(b)]; });

  nodes_.push_back({0, 0, 0, 0});
  std::vector<uint32_t> path{0};  // path[d]: the open node at depth d (the root at 0)
  std::string_view prev;
  for (size_t k = 0; k < order_.size(); k++) {
    const std::string_view p = pieces[size_t(order_[k])];
    size_t common = 0;
    while (common < p.size() && common < prev.size() && p[common] == prev[common]) common++;
    while (path.size() > common + 1) {  // the previous piece's nodes below the shared prefix are complete
      nodes_[path.back()].end = uint32_t(nodes_.size());
      path.pop_back();
    }
    for (size_t d = common; d < p.size(); d++) {
      path.push_back(uint32_t(nodes_.size()));
      nodes_.push_back({0, uint32_t(k), 0, static_cast<uint8_t>(p[d])});
    }
    Node& last = nodes_[path.back()];
    if (last.n_tokens == 0) last.first_token = uint32_t(k);
    last.n_tokens++;
    prev = p;
  }
  while (!path.empty()) {
    nodes_[path.back()].end = uint32_t(nodes_.size());
    path.pop_back();
  }
}

}  // namespace ringlm
