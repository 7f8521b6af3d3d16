// CheckedArray: allocations whose size the caller chooses fail with an error that names them, never abort,
// and a failed resize leaves the array as it was.
#include <gtest/gtest.h>

#include <cstdint>

#include "common/checked_array.h"

using ringlm::CheckedArray;

TEST(CheckedArray, GrowsZeroedAndKeepsWhatItHeld) {
  CheckedArray<float> a;
  ASSERT_TRUE(a.resize(3, "three").ok());
  EXPECT_EQ(a.size(), 3u);
  for (size_t i = 0; i < 3; i++) EXPECT_EQ(a[i], 0.0f);
  a[0] = 1.5f;
  a[2] = -2.0f;
  ASSERT_TRUE(a.resize(1000, "more").ok());
  EXPECT_EQ(a.size(), 1000u);
  EXPECT_EQ(a[0], 1.5f);
  EXPECT_EQ(a[2], -2.0f);
  for (size_t i = 3; i < 1000; i++) ASSERT_EQ(a[i], 0.0f) << i;
  const float* before = a.data();
  ASSERT_TRUE(a.resize(10, "fewer").ok());  // shrinking only changes the size
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(a.capacity(), 1000u);
  EXPECT_EQ(a.data(), before);
}

TEST(CheckedArray, RefusesWhatCannotBeAllocatedAndStaysAsItWas) {
  CheckedArray<float> a;
  ASSERT_TRUE(a.resize(4, "four").ok());
  a[3] = 7.0f;
  const float* before = a.data();
  // 2^62 floats: past every address space (and past size_t in wasm, where it must not wrap around).
  const ringlm::Status s = a.resize(uint64_t(1) << 62, "the test rows");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cannot allocate the test rows (17592186044416.0 MiB): the memory is not available");
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.data(), before);
  EXPECT_EQ(a[3], 7.0f);
  if (sizeof(size_t) == 4) {
    // In wasm a count that fits size_t but not the 4 GiB memory is the allocator's refusal, also an error.
    EXPECT_FALSE(a.resize(SIZE_MAX / sizeof(float), "nearly 4 GiB").ok());
    EXPECT_EQ(a[3], 7.0f);
  }
}
