// grammar_matcher.h — where a text stands in a grammar, and which tokens may come next.
//
// GrammarMatcher is a pushdown matcher over UTF-8 bytes. Its state is a set of stacks, as in llama.cpp:
// each stack's top is a character class due next and below it the places to return to when rules end; an
// empty stack means the text so far is a complete match. A character moves every stack whose top matches it
// on (and drops the rest); after each move the rules are expanded until every top is a character class again.
// Stacks are linked nodes shared between stacks (a node is a position and the node below it), kept unique
// in a hash table, so equal stacks are one and a set of stacks is a set of node ids. Checking a token
// appends nodes and then takes them back, so checking allocates nothing once the buffers have grown.
//
// Bytes must form valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF; llama.cpp accepts
// some of those). A text may end inside a character: the bytes so far must be able to start a character the
// grammar allows next (judged as llama.cpp judges it: see Grammar::class_may_match), and the next bytes
// must finish it.
//
// GrammarConstraint applies a grammar to a vocabulary, as the sampler's TokenConstraint: a token is allowed
// when its text (control tokens' text included, as llama.cpp renders it for grammars) can continue the
// text so far; end-of-generation tokens (and stop tokens) when the text is a complete match. A token with
// no text or a NUL byte is never allowed. allowed_tokens() judges the whole vocabulary in one depth-first walk
// of its token trie (generate/token_trie.h) with the matcher's walk_*() steps: a prefix the grammar refuses
// is refused once for every token that starts with it.
//
// With triggers the grammar is lazy (llama.cpp's grammar triggers, which its tool calls use): the text is free
// until it first holds one of the trigger texts, and from the first byte of that trigger on it must match the
// grammar. A trigger may be written across tokens; the token that completes it is allowed only when the text
// from the trigger's start through that token can begin a match, so the switch never strands the grammar.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "generate/grammar.h"
#include "generate/sampler.h"
#include "generate/token_trie.h"
#include "text/tokenizer.h"

namespace ringlm {

class GrammarMatcher {
public:
  explicit GrammarMatcher(const Grammar& grammar);
  GrammarMatcher(const GrammarMatcher&) = delete;
  GrammarMatcher& operator=(const GrammarMatcher&) = delete;

  void reset();                           // back to the empty text
  bool allows(std::string_view bytes);    // can the text go on with these bytes? (changes nothing)
  bool accept(std::string_view bytes);    // go on with them; false (and nothing changed) if they cannot
  bool can_end() const;                   // is the text so far a complete match?
  bool dead() const { return tops_.empty(); }
  // A byte that may begin what comes next: true for every first byte allows() could accept (a quick filter).
  bool may_start_with(uint8_t byte);

  // Walks: many texts that share beginnings judged depth first (GrammarConstraint's token trie), a byte at a
  // time from the current state, each byte's state kept until popped. The current state does not change.
  void walk_begin();             // start a walk at the current state, no bytes taken
  bool walk_push(uint8_t byte);  // take one byte more; false (nothing taken) if no text can go on with it
  void walk_pop();               // give back the last byte taken
  bool walk_allows() const;      // would allows() accept the bytes taken so far?

private:
  static constexpr uint32_t kNone = UINT32_MAX;        // below the bottom of a stack
  static constexpr uint32_t kComplete = UINT32_MAX - 1;  // the empty stack: a complete match

  struct Node {
    uint32_t pos;     // an element of the grammar
    uint32_t parent;  // the node below, or kNone
  };
  // A character being read: `remain` more bytes, the next in [next_lo, next_hi].
  struct Utf8 {
    uint32_t value = 0;
    int remain = 0;
    uint8_t next_lo = 0x80, next_hi = 0xBF;
  };
  enum class ByteResult { Invalid, Partial, Complete };
  static ByteResult push_byte(Utf8& u, uint8_t b, uint32_t* cp);
  // The characters a partial sequence can still become.
  static void partial_range(const Utf8& u, uint32_t* lo, uint32_t* hi);

  uint32_t intern(uint32_t pos, uint32_t parent);
  void rollback(size_t mark);
  void rehash(size_t buckets);
  void compact();
  // Expand (pos, parent) — and what is queued in work_ — until every stack's top is a class; add them to *out.
  void close(std::vector<uint32_t>* out);
  // Read one character: the stacks walk_stacks_[begin, end) that take it, moved on, appended to walk_stacks_.
  void advance(size_t begin, size_t end, uint32_t cp);
  // A walk through `bytes`; false as soon as a byte is refused.
  bool walk_text(std::string_view bytes);

  const Grammar& grammar_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> chain_;   // per node: the next node in its hash bucket
  std::vector<uint32_t> stamp_;   // per node: the step that last visited it
  std::vector<uint32_t> buckets_;
  uint32_t step_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> work_;
  std::vector<uint32_t> tops_;
  // A walk: per byte taken, a level (level 0: the current state, no byte). A level's stacks are
  // walk_stacks_[begin, end): its own, appended when its byte completed a character, else its parent's.
  struct Level {
    uint32_t begin, end;
    Utf8 u;               // the character being read
    uint32_t mark;        // nodes_.size() before the level: its nodes are taken back when it is popped
    uint32_t stacks_size; // walk_stacks_.size() before the level
  };
  std::vector<Level> levels_;
  std::vector<uint32_t> walk_stacks_;
  Utf8 partial_;
  bool complete_seen_ = false;
  // Compaction: nodes of past states are garbage; copy the live ones out now and then.
  size_t compact_at_ = 4096;
  std::vector<Node> spare_nodes_;
  std::vector<uint32_t> remap_, chain_ids_;
  // may_start_with(), worked out once per state.
  std::array<uint8_t, 256> first_bytes_{};
  bool first_bytes_ready_ = false;
};

class GrammarConstraint : public TokenConstraint {
public:
  // `end_tokens`: tokens besides the vocabulary's end-of-generation ones that end a generation (stop tokens).
  // `trie`: the tokenizer's pieces as a trie (not owned; it must outlive this), which makes allowed_tokens()
  // walk each shared beginning once; without one, allowed_tokens() asks token by token.
  // `triggers` (each non-empty): the grammar starts at the first of them the text writes; none: at once.
  GrammarConstraint(Grammar grammar, const Tokenizer& tokenizer, const std::vector<int32_t>& end_tokens,
                    const TokenTrie* trie = nullptr, std::vector<std::string> triggers = {});
  bool allows(int32_t token) override;
  void allowed_tokens(uint8_t* mask, size_t n) override;
  void accept(int32_t token);
  // Before a trigger the text may end anywhere; after it, where the grammar can.
  bool can_end() const { return waiting_ || matcher_.can_end(); }
  bool waiting_for_trigger() const { return waiting_; }

private:
  std::string_view piece(int32_t token) const;
  // Lazy grammars: the text since the start of the first trigger in (the text so far) + piece, or nothing
  // (data() null) when that text holds no trigger. The view is into joined_, valid until the next call.
  std::string_view from_trigger(std::string_view piece);
  Grammar grammar_;
  const Tokenizer& tokenizer_;
  const TokenTrie* trie_;
  std::vector<uint8_t> is_end_;
  std::vector<int32_t> end_ids_;
  GrammarMatcher matcher_;
  std::vector<std::string> triggers_;
  bool waiting_ = false;  // triggers given, none written yet
  size_t keep_ = 0;       // bytes of text kept while waiting: the longest trigger's length - 1
  std::string tail_;      // the last keep_ bytes of the text (a trigger may begin in them)
  std::string joined_;    // scratch: tail_ then a piece; sized at construction, so the token path never grows it
  struct Frame {
    uint32_t node, next_child;
  };
  std::vector<Frame> frames_;  // allowed_tokens()'s depth-first walk
};

}  // namespace ringlm
