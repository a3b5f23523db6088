// Real-thread stress of the TurnLog (run under TSan in the tsan preset):
// 4 writer threads run exchanges on 12 conversation threads with mixed
// policies, streaming turns, contexts, duplicate re-sends, aborts and
// abandoned exchanges that expire; 2 reader threads take snapshots all the
// while. Every snapshot and context, and the final state, go through the
// TurnChecker (T1, T3-T7); duplicates are checked on the spot (T2).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "weft/sim/turn_checker.h"
#include "support/turn_fixture.h"

namespace weft::testing {
using namespace weft::sim;  // the checkers
namespace {

constexpr int conversations = 12;
constexpr int writers = 4;
constexpr int readers = 2;
constexpr int exchanges_per_writer = 1500;
constexpr std::uint64_t timeout_ns = 500;
constexpr std::size_t tickets_max = 8192;

struct StressRun {
  TurnLog& log;
  ManualClock& clock;
  TurnChecker checker{conversations, tickets_max};
  std::vector<Id> ids;
  std::atomic<int> violations{0};
  std::atomic<int> writers_done{0};
  std::atomic<std::uint64_t> committed{0}, aborted{0}, abandoned{0}, busy{0}, in_flight{0},
      duplicates{0}, contexts{0}, snapshots{0}, not_ready{0};

  StressRun(TurnLog& l, ManualClock& c) : log(l), clock(c) {
    for (int i = 0; i < conversations; i++) ids.push_back(id_from_string("conv-" + std::to_string(i)));
  }
  void violation(const std::string& what) {
    if (violations.fetch_add(1) < 5) std::printf("violation: %s\n", what.c_str());
  }
};

void writer(StressRun& run, int me) {
  TurnLog::set_thread_lane(static_cast<std::uint32_t>(me));  // with append lanes: one each
  std::mt19937 random(static_cast<unsigned>(me) * 7919u + 3);
  std::vector<TurnView> views(4096);
  for (int n = 0; n < exchanges_per_writer; n++) {
    run.clock.advance(1);
    const int conv = static_cast<int>(random() % conversations);
    const Id& thread = run.ids[static_cast<std::size_t>(conv)];
    const Id request = id_from_string("w" + std::to_string(me) + "-" + std::to_string(n));
    const BeginPolicy policy = random() % 10 < 7 ? BeginPolicy::queue : BeginPolicy::reject_if_busy;
    const BeginResult begun = run.log.begin_exchange(thread, request, policy);
    if (begun.status == LogStatus::busy) { run.busy++; continue; }
    if (begun.status == LogStatus::too_many_in_flight) { run.in_flight++; continue; }
    if (begun.status != LogStatus::ok) { run.violation(std::string("begin: ") + to_string(begun.status)); continue; }
    const ExchangeRef x = begun.exchange;
    if (random() % 20 == 0) {  // the client re-sends the same request [T2]
      const BeginResult again = run.log.begin_exchange(thread, request, policy);
      const bool same = again.status == LogStatus::duplicate && again.exchange.ticket == x.ticket;
      // A new exchange only once x left the window (the last W = 16 tickets
      // before the new one): its ticket is at least x's + W + 1.
      const bool outside_window = again.status == LogStatus::ok && again.exchange.ticket >= x.ticket + 17;
      if (!same && !outside_window) run.violation(std::string("T2: re-send gave ") + to_string(again.status));
      if (again.status == LogStatus::ok && again.exchange.ticket != x.ticket) (void)run.log.abort(again.exchange);
      run.duplicates++;
    }
    const int turns = 1 + static_cast<int>(random() % 3);
    bool ok = true;
    for (int i = 0; i < turns && ok; i++) {
      const std::string text = TurnChecker::payload(conv, x.ticket, static_cast<std::uint32_t>(i), turns);
      const Role role = i == 0 ? Role::user : (i == 2 ? Role::tool : Role::assistant);
      LogStatus st;
      if (i == 1 && random() % 2 == 0) {  // a streamed turn, in two chunks
        TurnWriter stream;
        st = run.log.begin_turn(x, role, text.size() + 8, &stream);
        if (st == LogStatus::ok) {
          (void)stream.write(text.data(), 3);
          (void)stream.write(text.data() + 3, text.size() - 3);
          st = stream.finish();
        }
      } else {
        st = run.log.append(x, role, text.data(), text.size());
      }
      ok = st == LogStatus::ok;
      if (i == 0 && ok && random() % 2 == 0) {  // build the context [T7]
        const auto before = run.checker.committed_so_far(conv, x.ticket - 1);
        Snapshot context;
        const LogStatus cs = run.log.context(x, views.data(), views.size(), &context);
        if (cs == LogStatus::ok) {
          run.contexts++;
          const std::string bad = run.checker.check_snapshot(conv, thread, views.data(), context.size(),
                                                             x.ticket - 1, before, nullptr);
          if (!bad.empty()) run.violation("context: " + bad);
        } else if (cs == LogStatus::not_ready) {
          run.not_ready++;
        } else {
          run.violation(std::string("context: ") + to_string(cs));
        }
      }
    }
    const unsigned fate = random() % 100;
    if (!ok) {
      (void)run.log.abort(x);
      run.checker.record(conv, x.ticket, TurnChecker::failed, turns);
    } else if (fate < 4) {  // the request dies: the exchange will expire
      run.checker.record(conv, x.ticket, TurnChecker::abandoned, turns);
      run.abandoned++;
    } else if (fate < 12) {
      (void)run.log.abort(x);
      run.checker.record(conv, x.ticket, TurnChecker::aborted, turns);
      run.aborted++;
    } else {
      const LogStatus st = run.log.commit(x);
      run.checker.record(conv, x.ticket, st == LogStatus::ok ? TurnChecker::committed : TurnChecker::failed, turns);
      if (st == LogStatus::ok) run.committed++;
    }
  }
  run.writers_done++;
}

void reader(StressRun& run, int me) {
  std::mt19937 random(static_cast<unsigned>(me) + 101);
  std::vector<TurnView> views(4096);
  std::vector<std::vector<std::string>> previous(conversations);
  while (run.writers_done.load() < writers) {
    const int conv = static_cast<int>(random() % conversations);
    const Id& thread = run.ids[static_cast<std::size_t>(conv)];
    const auto before = run.checker.committed_so_far(conv, tickets_max - 1);
    Snapshot snap;
    const LogStatus st = run.log.snapshot(thread, views.data(), views.size(), &snap);
    if (st != LogStatus::ok) { run.violation(std::string("snapshot: ") + to_string(st)); continue; }
    run.snapshots++;
    auto& prev = previous[static_cast<std::size_t>(conv)];
    const std::string bad = run.checker.check_snapshot(conv, thread, views.data(), snap.size(),
                                                       snap.visible_through(), before, &prev);
    if (!bad.empty()) run.violation("snapshot: " + bad);
    prev.clear();
    for (std::size_t i = 0; i < snap.size(); i++) {
      prev.emplace_back(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes);
    }
  }
}

void stress(std::uint32_t lanes) {
  ManualClock clock;
  TurnLog log;
  TurnLog::Config config;
  config.segment_bytes = 64 * 1024;
  config.segment_count = 64;
  config.thread_capacity = 64;
  config.exchanges_per_thread = 16;
  config.reader_slots = 16;
  config.exchange_timeout_ns = timeout_ns;
  config.append_lanes = lanes;
  ASSERT_EQ(log.create(config, clock.clock()), LogStatus::ok);
  StressRun run(log, clock);
  std::latch start(writers + readers);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; w++) threads.emplace_back([&, w] { start.arrive_and_wait(); writer(run, w); });
  for (int r = 0; r < readers; r++) threads.emplace_back([&, r] { start.arrive_and_wait(); reader(run, r); });
  for (auto& t : threads) t.join();

  // The end: abandoned exchanges expire, and the final histories hold every
  // committed exchange exactly once, complete, in order [T1, T3, T4, T10].
  clock.advance(timeout_ns + 1);
  std::vector<TurnView> views(8192);
  for (int conv = 0; conv < conversations; conv++) {
    const Id& thread = run.ids[static_cast<std::size_t>(conv)];
    Snapshot snap;
    ASSERT_EQ(log.snapshot(thread, views.data(), views.size(), &snap), LogStatus::ok);
    const auto committed = run.checker.committed_so_far(conv, tickets_max - 1);
    const std::string bad = run.checker.check_snapshot(conv, thread, views.data(), snap.size(),
                                                       snap.visible_through(), committed, nullptr);
    EXPECT_EQ(bad, "") << "conv " << conv;
    std::set<std::uint64_t> tickets;
    for (std::size_t i = 0; i < snap.size(); i++) tickets.insert(views[i].ticket);
    EXPECT_EQ(tickets.size(), committed.size()) << "conv " << conv;
    if (tickets.size() != committed.size()) {
      ExchangeState st{};
      const LogStatus r = log.state(ExchangeRef{thread, snap.visible_through() + 1}, &st);
      std::printf("conv %d: watermark %llu, next exchange: %s, state %d\n", conv, (unsigned long long)snap.visible_through(), to_string(r), (int)st);
      for (auto t : committed) if (!tickets.count(t)) std::printf("  missing %llu\n", (unsigned long long)t);
    }
  }
  EXPECT_EQ(run.checker.check_seen_were_committed(), "");
  const LogStats stats = log.stats();
  std::printf(
      "turn stress: committed %llu, aborted %llu, abandoned %llu (expired %llu), busy %llu, "
      "in flight %llu, re-sends %llu, contexts %llu (not ready %llu), snapshots %llu, cas retries %llu\n",
      (unsigned long long)run.committed.load(), (unsigned long long)run.aborted.load(),
      (unsigned long long)run.abandoned.load(), (unsigned long long)stats.expiries,
      (unsigned long long)run.busy.load(), (unsigned long long)run.in_flight.load(),
      (unsigned long long)run.duplicates.load(), (unsigned long long)run.contexts.load(),
      (unsigned long long)run.not_ready.load(), (unsigned long long)run.snapshots.load(),
      (unsigned long long)stats.cas_retries);
  EXPECT_EQ(run.violations.load(), 0);
  EXPECT_GT(run.committed.load(), 1000u);
  EXPECT_GT(run.snapshots.load(), 0u);
  EXPECT_GT(stats.expiries, 0u);
  EXPECT_EQ(stats.log_full, 0u);  // the ring has room for the run: a log_full is a lane opening too much
}

TEST(T1_T7_stress, writers_and_readers_on_twelve_threads_keep_every_contract) { stress(1); }

// The same with four append lanes: the writers append to segments of their
// own, and every contract still holds.
TEST(T1_T7_stress, four_append_lanes_keep_every_contract) { stress(4); }

}  // namespace
}  // namespace weft::testing
