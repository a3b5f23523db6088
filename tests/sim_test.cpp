// The simulator: it finds a lost update that real threads rarely show, the
// same seed gives the same schedule, a printed schedule replays the failure,
// runaway loops are reported with where they spin, exhaustive search
// terminates with a count, and virtual time drives lease expiry.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "weft/atomic.h"
#include "weft/lock_table.h"
#include "weft/sim/sim.h"

namespace {

namespace sim = weft::sim;

// Two increments done as load-then-store: the classic lost update.
void lost_update(sim::Run& run) {
  auto* counter = run.own(new weft::atomic<int>(0));
  for (int t = 0; t < 2; t++) {
    run.thread("incrementer", [counter] {
      const int seen = counter->load();
      counter->store(seen + 1);
    });
  }
  run.check([counter] { return counter->load() == 2 ? std::string() : "lost update: " + std::to_string(counter->load()); });
}

void atomic_increments(sim::Run& run) {
  auto* counter = run.own(new weft::atomic<int>(0));
  for (int t = 0; t < 3; t++) run.thread("incrementer", [counter] { counter->fetch_add(1); });
  run.check([counter] { return counter->load() == 3 ? std::string() : "lost an increment"; });
}

TEST(sim, random_strategy_finds_a_lost_update_and_reports_a_replayable_schedule) {
  sim::Options options;
  options.schedules = 1000;
  const sim::Report report = sim::explore(lost_update, options);
  ASSERT_EQ(report.violations, 1u);
  EXPECT_NE(report.failure.find("lost update"), std::string::npos);
  EXPECT_FALSE(report.schedule.empty());
  EXPECT_FALSE(report.table.empty());
  sim::Options replay;
  replay.strategy = sim::Strategy::replay;
  replay.replay = report.minimised;
  const sim::Report again = sim::explore(lost_update, replay);
  EXPECT_EQ(again.violations, 1u) << report.minimised;
  EXPECT_EQ(again.failure, report.failure);
}

TEST(sim, the_same_seed_gives_the_same_schedule) {
  sim::Options options;
  options.seed = 42;
  options.strategy = sim::Strategy::pct;
  const sim::Report a = sim::explore(lost_update, options);
  const sim::Report b = sim::explore(lost_update, options);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.schedules, b.schedules);
  EXPECT_EQ(a.failing_seed, b.failing_seed);
}

TEST(sim, determinism_self_check_passes_for_controlled_code) {
  sim::Options options;
  options.schedules = 50;
  options.check_determinism = true;
  const sim::Report report = sim::explore(atomic_increments, options);
  EXPECT_EQ(report.violations, 0u);
  EXPECT_EQ(report.nondeterminism, "");
}

TEST(sim, exhaustive_search_terminates_and_counts_its_schedules) {
  sim::Options options;
  options.strategy = sim::Strategy::exhaustive;
  options.schedules = 1'000'000;
  options.preemption_bound = 2;
  const sim::Report clean = sim::explore(atomic_increments, options);
  EXPECT_TRUE(clean.exhausted);
  EXPECT_EQ(clean.violations, 0u);
  EXPECT_GT(clean.schedules, 3u);
  const sim::Report buggy = sim::explore(lost_update, options);
  EXPECT_EQ(buggy.violations, 1u);
}

TEST(sim, a_runaway_loop_is_reported_with_the_point_it_spins_on) {
  sim::Options options;
  options.schedules = 1;
  options.step_bound = 5000;
  const sim::Report report = sim::explore(
      [](sim::Run& run) {
        auto* flag = run.own(new weft::atomic<int>(0));
        run.thread("spinner", [flag] {
          while (flag->load() == 0) WEFT_RACE_POINT("test.spin");
        });
      },
      options);
  ASSERT_EQ(report.violations, 1u);
  EXPECT_NE(report.failure.find("runaway loop"), std::string::npos);
  EXPECT_NE(report.failure.find("test.spin"), std::string::npos) << report.failure;
}

TEST(sim, virtual_time_expires_a_lease_without_waiting) {
  sim::Options options;
  options.schedules = 200;
  const sim::Report report = sim::explore(
      [](sim::Run& run) {
        auto* table = run.own(new weft::LockTable());
        weft::LockTable::Config config;
        config.capacity = 8;
        (void)table->create(config, run.clock());
        auto* second = run.own(new weft::AcquireResult());
        const weft::Id key{1, 2};
        auto* held = run.own(new weft::atomic<int>(0));
        run.thread("holder", [table, key, held] {
          (void)table->try_acquire(key, 1, weft::LockMode::exclusive, 1'000'000'000);  // 1 s, then vanishes
          held->store(1);
        });
        run.thread("later", [table, key, second, held] {
          for (int i = 0; i < 1000 && held->load() == 0; i++) sim::sleep_for(1000);
          sim::sleep_for(2'000'000'000);  // two virtual seconds
          *second = table->try_acquire(key, 2, weft::LockMode::exclusive, 1000);
        });
        run.check([second] {
          return second->status == weft::LockStatus::acquired ? std::string() : "lease did not expire";
        });
      },
      options);
  EXPECT_EQ(report.violations, 0u) << report.failure;
}

TEST(sim_death, a_crash_inside_simulated_code_prints_the_schedule_so_far) {
  sim::Options options;
  options.schedules = 1;
  EXPECT_DEATH(
      {
        (void)sim::explore(
            [](sim::Run& run) {
              auto* flag = run.own(new weft::atomic<int>(0));
              run.thread("crasher", [flag] {
                flag->store(1);
                std::abort();
              });
            },
            options);
      },
      "schedule so far: v1:");
}

}  // namespace

// Found by turn_log_fuzzer: the checker's sleep_for() did not move the
// clock, so final checks that wait for timeouts looked too early.
TEST(sim, the_checker_runs_on_the_runs_clock_and_its_sleep_moves_it) {
  sim::Options options;
  options.schedules = 3;
  std::uint64_t seen_before = 0, seen_after = 0;
  const sim::Report report = sim::explore(
      [&](sim::Run& run) {
        const weft::Clock clock = run.clock();
        run.thread("idle", [] {});
        run.check([&seen_before, &seen_after, clock] {
          seen_before = clock.now();
          sim::sleep_for(2'000'000'000ULL);
          seen_after = clock.now();
          return std::string();
        });
      },
      options);
  EXPECT_EQ(report.violations, 0u);
  EXPECT_EQ(seen_after - seen_before, 2'000'000'000ULL);
}
