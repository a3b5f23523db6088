// The hooks registry itself: actions fire for the right tag, actor and hit
// number; latches order real threads; a wrong orchestration times out
// instead of hanging.
#include <gtest/gtest.h>

#include <thread>

#include "weft/atomic.h"
#include "weft/hooks.h"

namespace {

namespace hooks = weft::hooks;

class Hooks : public ::testing::Test {
 protected:
  void TearDown() override { hooks::clear(); }
};

TEST_F(Hooks, race_point_counts_only_its_tag) {
  const int handle = hooks::count_at("a");
  WEFT_RACE_POINT("a");
  WEFT_RACE_POINT("b");
  WEFT_RACE_POINT("a");
  EXPECT_EQ(hooks::hits(handle), 2u);
}

TEST_F(Hooks, skip_and_times_select_which_hits_fire) {
  hooks::Action action;
  action.kind = hooks::ActionKind::count;
  action.skip = 1;
  action.times = 2;
  const int handle = hooks::install("t", action);
  for (int i = 0; i < 5; i++) WEFT_RACE_POINT("t");
  EXPECT_EQ(hooks::hits(handle), 2u);
}

TEST_F(Hooks, actor_filter_matches_only_that_thread) {
  int calls = 0;
  hooks::call_at("x", [](void* c, const char*) { ++*static_cast<int*>(c); }, &calls, 2);
  hooks::set_actor(1);
  WEFT_RACE_POINT("x");
  hooks::set_actor(2);
  WEFT_RACE_POINT("x");
  hooks::set_actor(0);
  EXPECT_EQ(calls, 1);
}

TEST_F(Hooks, latch_orders_two_threads_exactly) {
  hooks::Latch second_passed(1);
  hooks::pause_at("first", &second_passed, 1);
  hooks::signal_at("second", &second_passed, 2);
  std::atomic<int> order{0};
  int first_saw = -1;
  std::thread t1([&] {
    hooks::set_actor(1);
    WEFT_RACE_POINT("first");
    first_saw = order.fetch_add(1);
  });
  std::thread t2([&] {
    hooks::set_actor(2);
    order.fetch_add(1);
    WEFT_RACE_POINT("second");
  });
  t1.join();
  t2.join();
  EXPECT_EQ(first_saw, 1);  // thread 1 ran on only after thread 2's step
  EXPECT_EQ(hooks::timeouts(), 0u);
}

TEST_F(Hooks, a_latch_that_never_opens_times_out_and_is_counted) {
  hooks::Latch never(1);
  hooks::Action action;
  action.kind = hooks::ActionKind::wait;
  action.latch = &never;
  action.timeout_ns = 1'000'000;  // 1 ms
  ASSERT_GE(hooks::install("stuck", action), 0);
  WEFT_RACE_POINT("stuck");
  EXPECT_EQ(hooks::timeouts(), 1u);
}

TEST_F(Hooks, malformed_actions_and_a_full_registry_are_refused) {
  hooks::Action wait_without_latch;
  wait_without_latch.kind = hooks::ActionKind::wait;
  EXPECT_EQ(hooks::install("x", wait_without_latch), -1);
  EXPECT_EQ(hooks::install(nullptr, hooks::Action{}), -1);
  hooks::Action count;
  for (int i = 0; i < hooks::actions_max; i++) ASSERT_GE(hooks::install("fill", count), 0);
  EXPECT_EQ(hooks::install("one too many", count), -1);
}

TEST_F(Hooks, a_huge_timeout_waits_instead_of_timing_out_at_once) {
  hooks::Latch open_soon(1);
  std::thread opener([&] { open_soon.count_down(); });
  EXPECT_TRUE(open_soon.wait_for(~0ULL));  // "forever" is clamped, not overflowed
  opener.join();
}

}  // namespace
