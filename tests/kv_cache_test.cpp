// KvCache: allocation, slots, positions and clearing.
#include <gtest/gtest.h>

#include "kv_cache.h"

using ringlm::KvCache;

TEST(KvCache, AllocatesOnceAndHandsOutSlotsUntilFull) {
  KvCache c;
  ASSERT_TRUE(c.allocate(3, 5, 8).ok());
  EXPECT_EQ(c.capacity(), 5);
  EXPECT_EQ(c.size(), 0);
  EXPECT_EQ(c.bytes(), 2u * 3 * 5 * 8 * sizeof(float));
  const float* base = c.key(0, 0);
  for (int i = 0; i < 5; i++) EXPECT_EQ(c.append(10 + i, 20 + i), i);
  EXPECT_EQ(c.append(99, 99), -1) << "a full cache refuses new tokens";
  EXPECT_EQ(c.size(), 5);
  EXPECT_EQ(c.position(3), 13);
  EXPECT_EQ(c.rope_position(3), 23);
  EXPECT_EQ(c.key(0, 0), base) << "no reallocation";
}

TEST(KvCache, LayersAndSlotsDoNotAlias) {
  KvCache c;
  ASSERT_TRUE(c.allocate(2, 3, 4).ok());
  for (int l = 0; l < 2; l++) {
    for (int s = 0; s < 3; s++) {
      for (int i = 0; i < 4; i++) {
        c.key(l, s)[i] = float(100 * l + 10 * s + i);
        c.value(l, s)[i] = -float(100 * l + 10 * s + i);
      }
    }
  }
  for (int l = 0; l < 2; l++) {
    for (int s = 0; s < 3; s++) {
      for (int i = 0; i < 4; i++) {
        EXPECT_EQ(c.key(l, s)[i], float(100 * l + 10 * s + i));
        EXPECT_EQ(c.value(l, s)[i], -float(100 * l + 10 * s + i));
      }
    }
  }
}

TEST(KvCache, ClearAndTruncateForgetPositions) {
  KvCache c;
  ASSERT_TRUE(c.allocate(1, 4, 2).ok());
  c.append(0, 0);
  c.append(1, 1);
  c.append(2, 2);
  c.truncate(1);
  EXPECT_EQ(c.size(), 1);
  EXPECT_EQ(c.position(1), -1);
  EXPECT_EQ(c.append(7, 7), 1);
  c.clear();
  EXPECT_EQ(c.size(), 0);
  EXPECT_EQ(c.position(0), -1);
}

TEST(KvCache, RejectsBadSizes) {
  KvCache c;
  EXPECT_FALSE(c.allocate(0, 4, 4).ok());
  EXPECT_FALSE(c.allocate(1, 0, 4).ok());
  EXPECT_FALSE(c.allocate(1, 4, -1).ok());
}
