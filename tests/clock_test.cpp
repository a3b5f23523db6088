#include <gtest/gtest.h>

#include "weft/clock.h"

namespace {

TEST(clock, manual_clock_moves_only_when_told_and_never_back) {
  weft::ManualClock manual(100);
  const weft::Clock clock = manual.clock();
  EXPECT_EQ(clock.now(), 100u);
  EXPECT_EQ(manual.advance(5), 105u);
  EXPECT_EQ(clock.now(), 105u);
  EXPECT_EQ(manual.set(50), 105u);  // refuses to go back
  EXPECT_EQ(manual.set(200), 200u);
  EXPECT_EQ(clock.now(), 200u);
}

TEST(clock, steady_clock_is_monotonic) {
  const weft::Clock clock = weft::steady_clock();
  ASSERT_TRUE(clock.valid());
  const std::uint64_t a = clock.now();
  const std::uint64_t b = clock.now();
  EXPECT_LE(a, b);
}

}  // namespace
