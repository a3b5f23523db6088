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

TEST(clock, coarse_clock_is_monotonic_and_within_a_tick_of_steady) {
  const weft::Clock coarse = weft::coarse_clock();
  const weft::Clock steady = weft::steady_clock();
  ASSERT_TRUE(coarse.valid());
  const std::uint64_t tick = weft::coarse_clock_resolution_ns();
  ASSERT_GE(tick, 1u);
  ASSERT_LE(tick, 100'000'000u);  // a tick of 100 ms would make it useless for leases
  std::uint64_t last = 0;
  for (int i = 0; i < 100000; i++) {
    const std::uint64_t before = steady.now();
    const std::uint64_t c = coarse.now();
    const std::uint64_t after = steady.now();
    ASSERT_GE(c, last) << "read " << i;
    ASSERT_LE(c, after + tick) << "read " << i;  // never ahead of the fine clock by a tick
    // It lags by less than a tick (plus slack for a preemption between reads).
    ASSERT_GE(c + 2 * tick + 50'000'000u, before) << "read " << i;
    last = c;
  }
}

}  // namespace
