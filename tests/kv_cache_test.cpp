// KvCache: allocation, slots, positions, and the wrap-around policies' bookkeeping.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "model/kv_cache.h"

using ringlm::ContextPolicy;
using ringlm::KvCache;

TEST(KvCache, AllocatesOnceWithBatchSlack) {
  KvCache c;
  ASSERT_TRUE(c.allocate(3, 5, 8, 2).ok());
  EXPECT_EQ(c.capacity(), 5);
  EXPECT_EQ(c.slots(), 7);
  EXPECT_EQ(c.bytes(), 2u * 3 * 7 * 8 * sizeof(float));
  EXPECT_EQ(c.policy(), ContextPolicy::Stop);
  const float* base = c.key(0, 0);
  ASSERT_TRUE(c.set_policy(ContextPolicy::Sinks, 2).ok());
  for (int i = 0; i < 100; i++) {
    c.make_room(1);
    c.append(0);
  }
  EXPECT_EQ(c.key(0, 0), base) << "no reallocation, ever";
}

TEST(KvCache, LayersAndSlotsDoNotAlias) {
  KvCache c;
  ASSERT_TRUE(c.allocate(2, 3, 4, 1).ok());
  for (int l = 0; l < 2; l++)
    for (int s = 0; s < 4; s++)
      for (int i = 0; i < 4; i++) {
        c.key(l, s)[i] = float(100 * l + 10 * s + i);
        c.value(l, s)[i] = -float(100 * l + 10 * s + i);
      }
  for (int l = 0; l < 2; l++)
    for (int s = 0; s < 4; s++)
      for (int i = 0; i < 4; i++) {
        EXPECT_EQ(c.key(l, s)[i], float(100 * l + 10 * s + i));
        EXPECT_EQ(c.value(l, s)[i], -float(100 * l + 10 * s + i));
      }
}

TEST(KvCache, StopFillsExactlyToCapacity) {
  KvCache c;
  ASSERT_TRUE(c.allocate(1, 5, 2, 4).ok());
  EXPECT_EQ(c.make_room(3), 3);
  for (int i = 0; i < 3; i++) EXPECT_EQ(c.append(0), i);
  EXPECT_EQ(c.make_room(4), 2) << "only two of four fit";
  c.append(0);
  c.append(0);
  EXPECT_EQ(c.make_room(1), 0);
  EXPECT_EQ(c.kept(), 5);
  c.clear();
  EXPECT_EQ(c.next_position(), 0);
  EXPECT_EQ(c.make_room(1), 1);
}

TEST(KvCache, SinksKeepAnchorsAndASlidingWindow) {
  KvCache c;
  const int capacity = 7, anchors = 2, batch = 3;
  ASSERT_TRUE(c.allocate(1, capacity, 2, batch).ok());
  ASSERT_TRUE(c.set_policy(ContextPolicy::Sinks, anchors).ok());
  for (int32_t p = 0; p < 40; p++) {
    EXPECT_EQ(c.make_room(1), 1);
    const int slot = c.append(0);
    EXPECT_EQ(slot, c.slot_of(p));
    // A query at p sees min(p+1, capacity) tokens: anchors + [window_start, p].
    const int32_t ws = c.window_start(p);
    const int seen = std::min<int32_t>(anchors, p + 1) + std::max(0, int(p + 1 - ws));
    EXPECT_EQ(seen, std::min(p + 1, capacity)) << p;
    // Its kept position is seen - 1; the anchor shift brings p there.
    if (p >= anchors) EXPECT_EQ(p + c.anchor_shift(p), seen - 1) << p;
  }
  EXPECT_EQ(c.dropped(), 40 - capacity);
  // Within one batch, no two tokens visible to the same query share a slot.
  for (int32_t p = 10; p < 40; p++) {
    std::set<int> used;
    for (int32_t q = 0; q < anchors; q++) used.insert(c.slot_of(q));
    for (int32_t q = c.window_start(p); q <= p + batch - 1; q++) EXPECT_TRUE(used.insert(c.slot_of(q)).second) << p << " " << q;
  }
}

TEST(KvCache, ShiftDropsHalfOfTheRestWhenFull) {
  KvCache c;
  const int capacity = 10, keep = 2;
  ASSERT_TRUE(c.allocate(1, capacity, 2, 4).ok());
  ASSERT_TRUE(c.set_policy(ContextPolicy::Shift, keep).ok());
  for (int i = 0; i < 10; i++) {
    ASSERT_GE(c.make_room(1), 1);
    c.append(0);
  }
  EXPECT_EQ(c.kept(), 10);
  EXPECT_EQ(c.dropped(), 0);
  // Full: the next token triggers a shift of (10 - 2) / 2 = 4 tokens.
  EXPECT_EQ(c.make_room(8), 4) << "after dropping 4, room for 4";
  EXPECT_EQ(c.dropped(), 4);
  EXPECT_EQ(c.window_start(10), 6);
  EXPECT_EQ(c.anchor_shift(10), keep - 6);
  EXPECT_EQ(c.kept(), 6);
}

TEST(KvCache, RejectsBadSizes) {
  KvCache c;
  EXPECT_FALSE(c.allocate(0, 4, 4, 1).ok());
  EXPECT_FALSE(c.allocate(1, 0, 4, 1).ok());
  EXPECT_FALSE(c.allocate(1, 4, -1, 1).ok());
  ASSERT_TRUE(c.allocate(1, 4, 4, 1).ok());
  EXPECT_FALSE(c.set_policy(ContextPolicy::Sinks, 4).ok()) << "anchors must leave room for a window";
  EXPECT_FALSE(c.set_policy(ContextPolicy::Shift, -1).ok());
}

TEST(KvCache, PolicyNamesRoundTripAndUnknownNamesAreRefusedByName) {
  for (ContextPolicy p : {ContextPolicy::Stop, ContextPolicy::Shift, ContextPolicy::Sinks}) {
    ContextPolicy back = ContextPolicy::Stop;
    ASSERT_TRUE(ringlm::parse_context_policy(ringlm::context_policy_name(p), &back).ok());
    EXPECT_EQ(back, p);
  }
  ContextPolicy p = ContextPolicy::Shift;
  const ringlm::Status s = ringlm::parse_context_policy("Sinks", &p);
  ASSERT_FALSE(s.ok()) << "names are case-sensitive, as in the JS options";
  EXPECT_EQ(s.message(), "contextPolicy must be one of 'stop', 'shift', 'sinks' (got 'Sinks')");
  EXPECT_EQ(p, ContextPolicy::Shift) << "unchanged on failure";
}

TEST(KvCache, OnlyStopRefusesTokensAndSaysWhenFull) {
  KvCache c;
  ASSERT_TRUE(c.allocate(1, 6, 2, 2).ok());
  for (ContextPolicy policy : {ContextPolicy::Stop, ContextPolicy::Shift, ContextPolicy::Sinks}) {
    ASSERT_TRUE(c.set_policy(policy, policy == ContextPolicy::Stop ? 0 : 2).ok());
    for (int i = 0; i < 20; i++) {
      const bool stop = policy == ContextPolicy::Stop;
      EXPECT_EQ(c.fits(6 - i), !stop || i <= 6) << i;
      EXPECT_EQ(c.fits(7 - i), !stop) << "one more than the free slots, " << i;
      EXPECT_EQ(c.full(), stop && i >= 6) << i;
      if (c.full()) break;
      ASSERT_EQ(c.make_room(1), 1);
      c.append(i);
    }
  }
}

TEST(KvCache, RestoreRefusesStatesTheRingCannotBeIn) {
  KvCache c;
  ASSERT_TRUE(c.allocate(1, 8, 2, 2).ok());
  ASSERT_TRUE(c.set_policy(ContextPolicy::Shift, 2).ok());
  for (int i = 0; i < 5; i++) {
    c.make_room(1);
    c.append(i + 1);
  }
  for (int slot = 0; slot < c.slots(); slot++) {
    for (int i = 0; i < 2; i++) {
      c.key(0, slot)[i] = float(slot * 10 + i) + 0.5f;
      c.value(0, slot)[i] = -float(slot * 10 + i) - 0.25f;
    }
  }
  KvCache::State good;
  c.save(&good);
  const int vocab = 10;
  ASSERT_TRUE(c.check(good, vocab).ok());

  const auto refused = [&](KvCache::State s, const char* expected) {
    const ringlm::Status st = c.restore(s, vocab);
    EXPECT_FALSE(st.ok()) << expected;
    EXPECT_NE(st.message().find(expected), std::string::npos) << st.message();
    EXPECT_EQ(c.next_position(), 5) << "a refused state changes nothing";
  };
  KvCache::State s = good;
  s.policy = 3;
  refused(s, "context policy 3 does not exist");
  s = good;
  std::vector<int32_t> tokens(static_cast<const int32_t*>(good.tokens), static_cast<const int32_t*>(good.tokens) + good.n_tokens);
  tokens[3] = vocab;
  s.tokens = tokens.data();
  refused(s, "token id 10 in the cache");
  s = good;
  s.shift_start = 1;  // below the anchors
  refused(s, "positions do not fit");
  s = good;
  s.next_pos = 100;  // a window longer than the capacity
  refused(s, "positions do not fit");
  s = good;
  s.anchors = 8;
  refused(s, "positions do not fit");
  s = good;
  s.n_values--;
  refused(s, "another size");

  KvCache other;
  ASSERT_TRUE(other.allocate(1, 8, 2, 2).ok());
  ASSERT_TRUE(other.restore(good, vocab).ok());
  for (int slot = 0; slot < c.slots(); slot++) {
    EXPECT_EQ(std::memcmp(other.key(0, slot), c.key(0, slot), 2 * sizeof(float)), 0) << "keys of slot " << slot;
    EXPECT_EQ(std::memcmp(other.value(0, slot), c.value(0, slot), 2 * sizeof(float)), 0) << "values of slot " << slot;
  }
  EXPECT_EQ(other.next_position(), 5);
  EXPECT_EQ(other.policy(), ContextPolicy::Shift);
  EXPECT_EQ(other.anchors(), 2);
  EXPECT_EQ(other.token(other.slot_of(4)), 5);
}
