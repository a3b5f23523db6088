// Real-thread stress of the LockTable (run under TSan in the tsan preset):
// 4 threads, 200,000 operations over 8 sessions in a 16-slot table (so slots
// are reused and windows overlap), with a shared fake clock that a ticker
// thread (and every refused request) moves. Some holders "die" (stop without
// releasing) with short leases; live holders use leases far longer than the
// test's clock span, so every takeover is of a dead holder and exclusion
// among live holders can be checked exactly:
//   L1: per-session occupancy counters (exclusive adds 1<<20, shared adds 1)
//       are checked on every entry to a critical section.
//   L3: per-session token history: each new exclusive holder's token is
//       larger than every token the session had before.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "support/lock_fixture.h"

namespace weft::testing {
namespace {

constexpr int sessions = 8;
constexpr int threads = 4;
constexpr int ops_total = 200'000;
constexpr std::uint64_t live_lease = 1'000'000'000'000ULL;  // never ends in this test
constexpr std::uint64_t dead_lease = 50;                    // ends after a few ticks
constexpr std::uint64_t exclusive_weight = 1u << 20;

struct Shared {
  std::array<std::atomic<std::uint64_t>, sessions> occupancy{};
  std::array<std::atomic<Token>, sessions> last_exclusive_token{};
  std::atomic<int> violations{0};
  std::atomic<std::uint64_t> acquired{0}, busy{0}, full{0}, contended{0}, dead{0},
      renewed{0}, cancels_seen{0};
};

void report(Shared& shared, const char* what, int session) {
  if (shared.violations.fetch_add(1) < 5) std::printf("violation: %s on session %d\n", what, session);
}

void worker(LockTable& table, RecordingClock& clock, const std::vector<Id>& keys, Shared& shared,
            int id) {
  std::mt19937 random(static_cast<unsigned>(id * 7 + 1));
  const OwnerId owner = 1000 + static_cast<OwnerId>(id);
  for (int op = 0; op < ops_total / threads; op++) {
    const int s = static_cast<int>(random() % sessions);
    const Id& k = keys[static_cast<std::size_t>(s)];
    const unsigned pick = random() % 100;
    if (pick < 5) {
      (void)table.request_cancel(k);
      continue;
    }
    const LockMode mode = pick < 40 ? LockMode::shared : LockMode::exclusive;
    const bool will_die = pick >= 97 && mode == LockMode::exclusive;
    // A holder that dies is a process of its own: an owner id nobody reuses
    // (the same owner coming back would re-enter its old lease, by design).
    const OwnerId who = will_die ? 1'000'000 + static_cast<OwnerId>(id) * 100'000 + static_cast<OwnerId>(op) : owner;
    const auto r = table.try_acquire(k, who, mode, will_die ? dead_lease : live_lease);
    if (r.status == LockStatus::busy) {
      // Time passes while requests are refused, so dead holders' leases end
      // even when the ticker thread is not scheduled.
      clock.manual().advance(1);
      shared.busy++;
      continue;
    }
    if (r.status == LockStatus::table_full) { shared.full++; continue; }
    if (r.status == LockStatus::contended) { shared.contended++; continue; }
    if (r.status != LockStatus::acquired) { report(shared, "unexpected status", s); continue; }
    shared.acquired++;
    if (will_die) {
      // A holder with a short lease may be preempted past its deadline right
      // here and taken over; its guarantees end with its lease. So it records
      // its token first and judges the record only if the lease still held
      // afterwards (then no takeover can have come first). It never enters
      // the occupancy count, and leaves without releasing.
      const std::uint64_t deadline = RecordingClock::last_reading() + dead_lease;
      const Token before = shared.last_exclusive_token[s].exchange(r.token);
      if (clock.manual().now() <= deadline && before >= r.token) {
        report(shared, "token did not increase (L3)", s);
      }
      shared.dead++;
      continue;
    }
    const std::uint64_t weight = mode == LockMode::exclusive ? exclusive_weight : 1;
    if (mode == LockMode::exclusive && r.depth == 1) {
      const Token before = shared.last_exclusive_token[s].exchange(r.token);
      if (before >= r.token) report(shared, "token did not increase (L3)", s);
    }
    const std::uint64_t now_in = shared.occupancy[s].fetch_add(weight) + weight;
    if (mode == LockMode::exclusive && now_in != exclusive_weight) {
      report(shared, "exclusive holder not alone (L1)", s);
    }
    if (mode == LockMode::shared && now_in >= exclusive_weight) {
      report(shared, "shared holder beside an exclusive one (L1)", s);
    }
    if (random() % 4 == 0) {
      const auto renewed = table.renew(k, r.token, live_lease);
      if (renewed.status == LockStatus::renewed) shared.renewed++;
      else report(shared, "live holder could not renew", s);
    }
    const auto poll = table.poll_cancel(k, r.token);
    if (poll.status != LockStatus::ok) report(shared, "live holder could not poll", s);
    if (poll.requested) shared.cancels_seen++;
    shared.occupancy[s].fetch_sub(weight);
    const auto released = table.release(k, r.token);
    if (released.status != LockStatus::released) report(shared, "live holder could not release", s);
  }
}

TEST(L1_L3_stress, four_threads_two_hundred_thousand_operations_keep_exclusion_and_fencing) {
  RecordingClock clock;
  LockTable table;
  LockTable::Config config;
  config.capacity = 16;
  config.probe_window = 8;
  ASSERT_EQ(table.create(config, clock.clock()), LockStatus::ok);
  std::vector<Id> keys;
  for (int s = 0; s < sessions; s++) keys.push_back(key(static_cast<std::uint64_t>(s)));

  Shared shared;
  std::atomic<bool> stop{false};
  std::latch start(threads + 1);
  std::thread ticker([&] {
    start.arrive_and_wait();
    while (!stop.load()) {
      clock.manual().advance(1);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      worker(table, clock, keys, shared, t);
    });
  }
  for (auto& w : workers) w.join();
  stop.store(true);
  ticker.join();

  const LockStats stats = table.stats();
  std::printf(
      "stress: %d ops, acquired %llu, busy %llu, table_full %llu, contended %llu, dead %llu, "
      "renewed %llu, cancels seen %llu; table: expiries %llu, cas retries %llu, backouts %llu\n",
      ops_total, (unsigned long long)shared.acquired.load(), (unsigned long long)shared.busy.load(),
      (unsigned long long)shared.full.load(), (unsigned long long)shared.contended.load(),
      (unsigned long long)shared.dead.load(), (unsigned long long)shared.renewed.load(),
      (unsigned long long)shared.cancels_seen.load(), (unsigned long long)stats.expiries,
      (unsigned long long)stats.cas_retries, (unsigned long long)stats.backouts);
  EXPECT_EQ(shared.violations.load(), 0);
  EXPECT_GT(shared.acquired.load(), 10'000u);
  EXPECT_GT(shared.busy.load(), 0u);  // contention was real
  EXPECT_EQ(shared.full.load(), 0u);  // 8 sessions never fill 16 slots
  // Every live holder released: only dead holders' sessions may still be held.
  for (int s = 0; s < sessions; s++) {
    const LockInfo info = table.inspect(keys[static_cast<std::size_t>(s)]);
    if (info.held) {
      EXPECT_EQ(info.mode, LockMode::exclusive) << s;
      EXPECT_LT(info.deadline_ns, clock.manual().now() + dead_lease + 1) << s;
    }
    EXPECT_EQ(shared.occupancy[static_cast<std::size_t>(s)].load(), 0u);
  }
}

}  // namespace
}  // namespace weft::testing
