#include "generate/grammar_matcher.h"

#include <algorithm>

namespace ringlm {

namespace {
uint32_t hash_node(uint32_t pos, uint32_t parent) {
  uint64_t h = (uint64_t(pos) << 32 | parent) * 0x9E3779B97F4A7C15ull;
  return uint32_t(h >> 32);
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// UTF-8, strictly: the ranges of the second byte that rule out overlong forms, surrogates and
// code points past U+10FFFF.
// ---------------------------------------------------------------------------------------------

GrammarMatcher::ByteResult GrammarMatcher::push_byte(Utf8& u, uint8_t b, uint32_t* cp) {
  if (u.remain > 0) {
    if (b < u.next_lo || b > u.next_hi) return ByteResult::Invalid;
    u.value = (u.value << 6) | (b & 0x3F);
    u.next_lo = 0x80;
    u.next_hi = 0xBF;
    if (--u.remain > 0) return ByteResult::Partial;
    *cp = u.value;
    return ByteResult::Complete;
  }
  if (b < 0x80) {
    *cp = b;
    return ByteResult::Complete;
  }
  u.next_lo = 0x80;
  u.next_hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    u.value = b & 0x1F;
    u.remain = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    u.value = b & 0x0F;
    u.remain = 2;
    if (b == 0xE0) u.next_lo = 0xA0;
    if (b == 0xED) u.next_hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    u.value = b & 0x07;
    u.remain = 3;
    if (b == 0xF0) u.next_lo = 0x90;
    if (b == 0xF4) u.next_hi = 0x8F;
  } else {
    return ByteResult::Invalid;
  }
  return ByteResult::Partial;
}

void GrammarMatcher::partial_range(const Utf8& u, uint32_t* lo, uint32_t* hi) {
  const int rest = 6 * (u.remain - 1);  // bits after the next byte
  *lo = ((u.value << 6) | (u.next_lo & 0x3F)) << rest;
  *hi = (((u.value << 6) | (u.next_hi & 0x3F)) << rest) | ((1u << rest) - 1);
}

// ---------------------------------------------------------------------------------------------
// Stack nodes: unique (position, parent) pairs in an arena with chained hash buckets. Nodes added
// while checking a token are taken back in reverse order, each being the head of its bucket then.
// ---------------------------------------------------------------------------------------------

GrammarMatcher::GrammarMatcher(const Grammar& grammar) : grammar_(grammar) {
  rehash(1024);
  reset();
}

uint32_t GrammarMatcher::intern(uint32_t pos, uint32_t parent) {
  const uint32_t b = hash_node(pos, parent) & uint32_t(buckets_.size() - 1);
  for (uint32_t id = buckets_[b]; id != kNone; id = chain_[id]) {
    if (nodes_[id].pos == pos && nodes_[id].parent == parent) return id;
  }
  const uint32_t id = uint32_t(nodes_.size());
  nodes_.push_back({pos, parent});
  chain_.push_back(buckets_[b]);
  stamp_.push_back(0);
  buckets_[b] = id;
  if (nodes_.size() > buckets_.size()) rehash(buckets_.size() * 2);
  return id;
}

void GrammarMatcher::rehash(size_t n) {
  buckets_.assign(n, kNone);
  for (uint32_t id = 0; id < nodes_.size(); id++) {  // in order, so the newest node heads its bucket
    const uint32_t b = hash_node(nodes_[id].pos, nodes_[id].parent) & uint32_t(n - 1);
    chain_[id] = buckets_[b];
    buckets_[b] = id;
  }
}

void GrammarMatcher::rollback(size_t mark) {
  while (nodes_.size() > mark) {
    const uint32_t id = uint32_t(nodes_.size() - 1);
    buckets_[hash_node(nodes_[id].pos, nodes_[id].parent) & uint32_t(buckets_.size() - 1)] = chain_[id];
    nodes_.pop_back();
    chain_.pop_back();
    stamp_.pop_back();
  }
}

// Copy the nodes the current stacks use into a fresh arena (parents before children), drop the rest.
void GrammarMatcher::compact() {
  remap_.assign(nodes_.size(), kNone);
  spare_nodes_.clear();
  for (uint32_t& top : tops_) {
    if (top == kComplete) continue;
    chain_ids_.clear();
    for (uint32_t id = top; id != kNone && remap_[id] == kNone; id = nodes_[id].parent) chain_ids_.push_back(id);
    for (size_t i = chain_ids_.size(); i-- > 0;) {
      const Node& n = nodes_[chain_ids_[i]];
      remap_[chain_ids_[i]] = uint32_t(spare_nodes_.size());
      spare_nodes_.push_back({n.pos, n.parent == kNone ? kNone : remap_[n.parent]});
    }
    top = remap_[top];
  }
  nodes_.swap(spare_nodes_);
  chain_.resize(nodes_.size());
  stamp_.assign(nodes_.size(), 0);
  rehash(buckets_.size());
  compact_at_ = std::max<size_t>(4096, nodes_.size() * 4);
}

// ---------------------------------------------------------------------------------------------
// Moving through the grammar
// ---------------------------------------------------------------------------------------------

void GrammarMatcher::close(std::vector<uint32_t>* out) {
  while (!work_.empty()) {
    const auto [pos, parent] = work_.back();
    work_.pop_back();
    const uint32_t id = intern(pos, parent);
    if (stamp_[id] == step_) continue;  // this step has been here already
    stamp_[id] = step_;
    const GrammarElement& e = grammar_.element(pos);
    if (e.type == GrammarElement::Chars) {
      out->push_back(id);
    } else if (e.type == GrammarElement::End) {  // the rule is done: return to the node below
      if (parent == kNone) {
        if (!complete_seen_) out->push_back(kComplete);
        complete_seen_ = true;
      } else {
        work_.push_back({nodes_[parent].pos, nodes_[parent].parent});
      }
    } else {  // a rule: each of its alternatives, with what follows the reference below it
      const bool last = grammar_.element(pos + 1).type == GrammarElement::End;  // a tail call keeps stacks flat
      const uint32_t below = last ? parent : intern(pos + 1, parent);
      uint32_t n = 0;
      const uint32_t* alts = grammar_.alternatives(e.index, &n);
      for (uint32_t i = n; i-- > 0;) work_.push_back({alts[i], below});
    }
  }
}

void GrammarMatcher::advance(size_t begin, size_t end, uint32_t cp) {
  step_++;
  complete_seen_ = false;
  for (size_t i = begin; i < end; i++) {  // by index: close() appends to walk_stacks_, which may move it
    const uint32_t top = walk_stacks_[i];
    if (top == kComplete) continue;
    const Node n = nodes_[top];
    if (!grammar_.class_matches(grammar_.element(n.pos).index, cp)) continue;
    work_.push_back({n.pos + 1, n.parent});
    close(&walk_stacks_);
  }
}

void GrammarMatcher::reset() {
  rollback(0);
  tops_.clear();
  partial_ = Utf8();
  step_++;
  complete_seen_ = false;
  uint32_t n = 0;
  const uint32_t* alts = grammar_.alternatives(grammar_.root(), &n);
  for (uint32_t i = n; i-- > 0;) work_.push_back({alts[i], kNone});
  close(&tops_);
  first_bytes_ready_ = false;
}

void GrammarMatcher::walk_begin() {
  walk_stacks_.assign(tops_.begin(), tops_.end());
  levels_.clear();
  levels_.push_back({0, uint32_t(tops_.size()), partial_, uint32_t(nodes_.size()), 0});
}

bool GrammarMatcher::walk_push(uint8_t byte) {
  const Level& top = levels_.back();
  Level next{top.begin, top.end, top.u, uint32_t(nodes_.size()), uint32_t(walk_stacks_.size())};
  uint32_t cp = 0;
  const ByteResult r = push_byte(next.u, byte, &cp);
  if (r == ByteResult::Invalid) return false;
  if (r == ByteResult::Complete) {
    next.begin = uint32_t(walk_stacks_.size());
    advance(top.begin, top.end, cp);
    next.end = uint32_t(walk_stacks_.size());
    if (next.begin == next.end) {
      rollback(next.mark);
      return false;
    }
  }
  levels_.push_back(next);
  return true;
}

void GrammarMatcher::walk_pop() {
  const Level l = levels_.back();
  levels_.pop_back();
  rollback(l.mark);
  walk_stacks_.resize(l.stacks_size);
}

bool GrammarMatcher::walk_allows() const {
  const Level& l = levels_.back();
  if (l.u.remain == 0) return l.end > l.begin;
  // The text ends inside a character: some stack must be able to take a character it can still become.
  uint32_t lo, hi;
  partial_range(l.u, &lo, &hi);
  for (uint32_t i = l.begin; i < l.end; i++) {
    const uint32_t top = walk_stacks_[i];
    if (top != kComplete && grammar_.class_may_match(grammar_.element(nodes_[top].pos).index, lo, hi)) return true;
  }
  return false;
}

bool GrammarMatcher::walk_text(std::string_view bytes) {
  walk_begin();
  for (char ch : bytes) {
    if (!walk_push(static_cast<uint8_t>(ch))) return false;
  }
  return walk_allows();
}

bool GrammarMatcher::allows(std::string_view bytes) {
  const size_t mark = nodes_.size();
  const bool ok = walk_text(bytes);
  rollback(mark);
  return ok;
}

bool GrammarMatcher::accept(std::string_view bytes) {
  const size_t mark = nodes_.size();
  if (!walk_text(bytes)) {
    rollback(mark);
    return false;
  }
  const Level& l = levels_.back();
  tops_.assign(walk_stacks_.begin() + l.begin, walk_stacks_.begin() + l.end);
  partial_ = l.u;
  first_bytes_ready_ = false;
  if (nodes_.size() > compact_at_) compact();
  return true;
}

bool GrammarMatcher::can_end() const {
  return partial_.remain == 0 && std::find(tops_.begin(), tops_.end(), kComplete) != tops_.end();
}

bool GrammarMatcher::may_start_with(uint8_t byte) {
  if (!first_bytes_ready_) {
    first_bytes_.fill(0);
    for (int b = 0; b < 256; b++) {
      Utf8 u = partial_;
      uint32_t cp = 0, lo, hi;
      const ByteResult r = push_byte(u, uint8_t(b), &cp);
      if (r == ByteResult::Invalid) continue;
      if (r == ByteResult::Complete) {
        lo = hi = cp;
      } else {
        partial_range(u, &lo, &hi);
      }
      // A superset of what allows() accepts: a class may match unless it surely misses the whole range.
      for (uint32_t top : tops_) {
        if (top == kComplete) continue;
        const uint32_t c = grammar_.element(nodes_[top].pos).index;
        if (lo == hi ? grammar_.class_matches(c, lo) : grammar_.class_meets(c, lo, hi)) {
          first_bytes_[size_t(b)] = 1;
          break;
        }
      }
    }
    first_bytes_ready_ = true;
  }
  return first_bytes_[byte] != 0;
}

// ---------------------------------------------------------------------------------------------
// A grammar over a vocabulary
// ---------------------------------------------------------------------------------------------

GrammarConstraint::GrammarConstraint(Grammar grammar, const Tokenizer& tokenizer, const std::vector<int32_t>& end_tokens,
                                     const TokenTrie* trie, std::vector<std::string> triggers)
    : grammar_(std::move(grammar)), tokenizer_(tokenizer), trie_(trie), is_end_(size_t(tokenizer.n_tokens()), 0), matcher_(grammar_),
      triggers_(std::move(triggers)) {
  for (int32_t t : tokenizer.end_of_generation()) is_end_[size_t(t)] = 1;
  for (int32_t t : end_tokens) {
    if (t >= 0 && t < tokenizer.n_tokens()) is_end_[size_t(t)] = 1;
  }
  for (size_t t = 0; t < is_end_.size(); t++) {
    if (is_end_[t]) end_ids_.push_back(int32_t(t));
  }
  if (!triggers_.empty()) {
    waiting_ = true;
    size_t longest = 0, longest_piece = 0;
    for (const std::string& t : triggers_) longest = std::max(longest, t.size());
    for (int32_t t = 0; t < tokenizer.n_tokens(); t++) longest_piece = std::max(longest_piece, piece(t).size());
    keep_ = longest > 0 ? longest - 1 : 0;
    tail_.reserve(keep_);
    joined_.reserve(keep_ + longest_piece);
  }
}

std::string_view GrammarConstraint::from_trigger(std::string_view p) {
  joined_.assign(tail_);
  joined_.append(p);  // within the capacity reserved for the longest piece
  size_t first = std::string::npos;
  for (const std::string& t : triggers_) first = std::min(first, joined_.find(t));
  if (first == std::string::npos) return {};
  return std::string_view(joined_).substr(first);
}

std::string_view GrammarConstraint::piece(int32_t token) const {
  std::string_view p;
  if (!tokenizer_.piece(token, true, &p).ok()) return {};
  return p;
}

bool GrammarConstraint::allows(int32_t token) {
  if (token < 0 || size_t(token) >= is_end_.size()) return false;
  if (waiting_) {  // free text, unless this token completes a trigger: then the grammar judges it from the trigger on
    if (is_end_[size_t(token)]) return true;
    const std::string_view rest = from_trigger(piece(token));
    if (rest.data() == nullptr) return true;
    return rest.find('\0') == std::string_view::npos && matcher_.allows(rest);
  }
  if (is_end_[size_t(token)]) return matcher_.can_end();
  const std::string_view p = piece(token);
  if (p.empty() || p.find('\0') != std::string_view::npos) return false;
  if (!matcher_.may_start_with(static_cast<uint8_t>(p[0]))) return false;
  return matcher_.allows(p);
}

void GrammarConstraint::accept(int32_t token) {
  if (token < 0 || size_t(token) >= is_end_.size() || is_end_[size_t(token)]) return;
  if (waiting_) {
    const std::string_view rest = from_trigger(piece(token));
    if (rest.data() == nullptr) {  // no trigger yet: keep the end of the text, where the next one may begin
      tail_.assign(joined_, joined_.size() - std::min(joined_.size(), keep_), std::string::npos);
      return;
    }
    waiting_ = false;
    matcher_.accept(rest);
    return;
  }
  matcher_.accept(piece(token));
}

void GrammarConstraint::allowed_tokens(uint8_t* mask, size_t n) {
  // While waiting nearly every token is allowed: asking token by token is what the mask would do anyway.
  if (!trie_ || waiting_) return TokenConstraint::allowed_tokens(mask, n);
  std::fill(mask, mask + n, uint8_t(0));
  const TokenTrie::Node* nodes = trie_->nodes();
  const int32_t* order = trie_->order();
  // Depth first: a frame per node on the path, each matcher walk level a byte of it (the root: no byte).
  matcher_.walk_begin();
  frames_.clear();
  frames_.push_back({0, 1});
  while (!frames_.empty()) {
    Frame& f = frames_.back();
    if (f.next_child >= nodes[f.node].end) {  // every child done: back up a byte
      frames_.pop_back();
      if (!frames_.empty()) matcher_.walk_pop();
      continue;
    }
    const uint32_t child = f.next_child;
    f.next_child = nodes[child].end;  // the next sibling: past this child's subtree
    const TokenTrie::Node& node = nodes[child];
    if (!matcher_.walk_push(uint8_t(node.byte))) continue;  // refused: the whole subtree with it
    if (node.n_tokens > 0 && matcher_.walk_allows()) {
      for (uint32_t k = 0; k < node.n_tokens; k++) {
        const int32_t t = order[node.first_token + k];
        if (size_t(t) < n) mask[t] = 1;
      }
    }
    frames_.push_back({child, child + 1});
  }
  // End tokens are judged by whether the text may end, not by their text.
  const uint8_t end_ok = matcher_.can_end() ? 1 : 0;
  for (int32_t t : end_ids_) {
    if (size_t(t) < n) mask[t] = end_ok;
  }
}

}  // namespace ringlm
