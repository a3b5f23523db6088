// L9 linearizability: rounds of real threads call the LockTable at once on
// two sessions while the clock moves; every round's history must match a
// sequential run of the model (support/lock_model.h) with the same clock
// readings. The checker itself is shown to reject wrong histories first.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "support/lock_fixture.h"
#include "weft/sim/lock_checker.h"

namespace weft::testing {
using namespace weft::sim;  // the checkers
namespace {

// ---- the checker can fail --------------------------------------------------

LockOp acquired(int thread, std::uint64_t invoke, std::uint64_t response, OwnerId owner,
                Token token, std::uint64_t now = 0) {
  LockOp op;
  op.kind = LockOp::acquire;
  op.thread = thread;
  op.invoke = invoke;
  op.response = response;
  op.owner = owner;
  op.lease = 100;
  op.now = now;
  op.status = LockStatus::acquired;
  op.out_token = token;
  op.depth = 1;
  return op;
}

TEST(L9_checker, rejects_two_overlapping_exclusive_acquires_that_both_succeed) {
  std::vector<LockOp> history = {acquired(1, 0, 2, 11, 1), acquired(2, 1, 3, 22, 2)};
  LinearizabilityChecker checker(history);
  EXPECT_FALSE(checker.check(LockModel(1))) << checker.describe();
}

TEST(L9_checker, rejects_a_token_that_goes_backwards) {
  LockOp release;
  release.kind = LockOp::release;
  release.invoke = 2;
  release.response = 3;
  release.token = 5;
  release.status = LockStatus::released;
  std::vector<LockOp> history = {acquired(1, 0, 1, 11, 5), release, acquired(1, 4, 5, 11, 4)};
  LinearizabilityChecker checker(history);
  EXPECT_FALSE(checker.check(LockModel(1)));
}

TEST(L9_checker, rejects_a_busy_that_real_time_order_forbids) {
  // The release returned before the second acquire began: busy is wrong.
  LockOp release;
  release.kind = LockOp::release;
  release.invoke = 2;
  release.response = 3;
  release.token = 1;
  release.status = LockStatus::released;
  LockOp busy = acquired(2, 4, 5, 22, 0);
  busy.status = LockStatus::busy;
  busy.holder = 11;
  busy.until = 100;
  std::vector<LockOp> history = {acquired(1, 0, 1, 11, 1), release, busy};
  LinearizabilityChecker checker(history);
  EXPECT_FALSE(checker.check(LockModel(1)));
}

TEST(L9_checker, accepts_a_busy_that_overlaps_the_release) {
  LockOp release;
  release.kind = LockOp::release;
  release.invoke = 2;
  release.response = 5;
  release.token = 1;
  release.status = LockStatus::released;
  LockOp busy = acquired(2, 3, 4, 22, 0);
  busy.status = LockStatus::busy;
  busy.holder = 11;
  busy.until = 100;
  std::vector<LockOp> history = {acquired(1, 0, 1, 11, 1), release, busy};
  LinearizabilityChecker checker(history);
  EXPECT_TRUE(checker.check(LockModel(1))) << checker.describe();
}

// ---- real threads ----------------------------------------------------------

struct Round {
  std::vector<LockOp> history;
};

// One thread's part of a round: `ops` random calls on the two keys, each
// after moving the clock a little (so leases of 1-40 ns expire under the
// threads however they are scheduled).
void run_thread(LockTable& table, ManualClock& time, const std::vector<Id>& keys, int thread, unsigned seed,
                int ops, std::atomic<std::uint64_t>& sequence, std::vector<LockOp>& out) {
  std::mt19937 random(seed);
  Token last_token[2] = {0, 0};
  const OwnerId owner = 100 + static_cast<OwnerId>(thread % 2);  // threads 0 and 2 share an owner
  for (int i = 0; i < ops; i++) {
    time.advance(random() % 16);
    LockOp op;
    op.thread = thread;
    op.key = static_cast<int>(random() % 2);
    const Id& k = keys[static_cast<std::size_t>(op.key)];
    const unsigned pick = random() % 10;
    RecordingClock::forget();
    op.invoke = sequence.fetch_add(1);
    if (pick < 4) {
      op.kind = LockOp::acquire;
      op.owner = owner;
      op.mode = random() % 3 == 0 ? LockMode::shared : LockMode::exclusive;
      op.lease = 1 + random() % 40;
      const auto r = table.try_acquire(k, op.owner, op.mode, op.lease);
      op.take(r);
      if (r.status == LockStatus::acquired) last_token[op.key] = r.token;
    } else if (pick < 7) {
      op.kind = LockOp::release;
      op.token = last_token[op.key] != 0 ? last_token[op.key] : 1 + random() % 8;
      const auto r = table.release(k, op.token);
      op.take(r);
    } else if (pick < 8) {
      op.kind = LockOp::renew;
      op.token = last_token[op.key] != 0 ? last_token[op.key] : 1;
      op.lease = 1 + random() % 40;
      const auto r = table.renew(k, op.token, op.lease);
      op.take(r);
    } else if (pick < 9) {
      op.kind = LockOp::cancel;
      op.status = table.request_cancel(k);
    } else {
      op.kind = LockOp::poll;
      op.token = last_token[op.key] != 0 ? last_token[op.key] : 1;
      const auto r = table.poll_cancel(k, op.token);
      op.take(r);
    }
    op.response = sequence.fetch_add(1);
    op.now = RecordingClock::last_reading();
    out.push_back(op);
  }
}

TEST(L9_linearizability, concurrent_histories_match_the_model_with_the_same_clock_readings) {
  constexpr int rounds = 400;
  constexpr int threads = 3;
  constexpr int ops_per_thread = 5;
  // Keys whose probe windows (4 slots) are far apart: no eviction between them.
  const std::vector<Id> keys = {key_with_home(2, 64), key_with_home(30, 64)};
  std::size_t states = 0;
  int busy_seen = 0;
  int takeovers_seen = 0;
  for (int round = 0; round < rounds; round++) {
    RecordingClock clock(1000);
    LockTable table;
    LockTable::Config config;
    config.capacity = 64;
    config.probe_window = 4;
    ASSERT_EQ(table.create(config, clock.clock()), LockStatus::ok);
    std::atomic<std::uint64_t> sequence{0};
    std::vector<std::vector<LockOp>> parts(threads);
    std::latch start(threads + 1);
    std::atomic<int> finished{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        run_thread(table, clock.manual(), keys, t, static_cast<unsigned>(round * 7919 + t), ops_per_thread,
                   sequence, parts[static_cast<std::size_t>(t)]);
        finished.fetch_add(1);
      });
    }
    start.arrive_and_wait();
    // The clock moves while they run, until the last one is done (however
    // slowly a sanitizer makes them run), so leases expire under them.
    for (int tick = 0; finished.load() < threads && tick < 10'000'000; tick++) {
      clock.manual().advance(3);
      std::this_thread::yield();
    }
    for (auto& w : workers) w.join();
    std::vector<LockOp> history;
    for (auto& part : parts) history.insert(history.end(), part.begin(), part.end());
    for (const LockOp& op : history) {
      ASSERT_NE(op.status, LockStatus::contended) << op.describe();
      busy_seen += op.status == LockStatus::busy;
    }
    takeovers_seen += static_cast<int>(table.stats().expiries);
    LinearizabilityChecker checker(history);
    ASSERT_TRUE(checker.check(LockModel(2)))
        << "round " << round << " is not linearizable:\n" << checker.describe();
    states += checker.states();
  }
  // The rounds must have exercised contention and expiry, or they prove little.
  EXPECT_GT(busy_seen, 0);
  EXPECT_GT(takeovers_seen, 0);
  std::printf("L9: %d rounds, %zu search states, %d busy, %d takeovers\n", rounds, states,
              busy_seen, takeovers_seen);
}

}  // namespace
}  // namespace weft::testing
