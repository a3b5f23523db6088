// Scenario tests S1.a-S1.e (conversation threads) and S3 (duplicate inserts)
// from docs/SCENARIOS.md, on the hooks build. The service's own race points
// (after the user turn, between context and model call, around cleanup) are
// marked with WEFT_RACE_POINT in the test's service code, exactly where the
// reference service had them; latches on them force each interleaving.
#include <gtest/gtest.h>

#include <atomic>
#include <array>
#include <barrier>
#include <set>
#include <thread>
#include <vector>

#include "support/turn_fixture.h"
#include "weft/atomic.h"
#include "support/orchestration.h"
#include "weft/hooks.h"

namespace weft::testing {
namespace {

namespace hooks = weft::hooks;

class TurnScenario : public Orchestrated<TurnLogTest> {
 protected:

  // The reference chat service's request handler, with its race points.
  // Returns the context the model saw.
  Texts handle(std::string_view thread, std::string_view request, std::string_view question,
               std::string_view answer) {
    const auto begun = log.begin_exchange(tid(thread), tid(request), BeginPolicy::queue);
    EXPECT_EQ(begun.status, LogStatus::ok);
    const ExchangeRef x = begun.exchange;
    WEFT_RACE_POINT("service.before_save");
    EXPECT_EQ(say(x, Role::user, question), LogStatus::ok);
    WEFT_RACE_POINT("service.after_user_turn");
    std::vector<TurnView> views(64);
    Snapshot context;
    LogStatus st = log.context(x, views.data(), views.size(), &context);
    if (st == LogStatus::not_ready) {
      WEFT_RACE_POINT("service.context_not_ready");
      st = log.wait_context(x, views.data(), views.size(), &context, 10'000'000'000ULL);
    }
    EXPECT_EQ(st, LogStatus::ok);
    const Texts seen = texts_of(turns_of(views.data(), context.size()));
    WEFT_RACE_POINT("service.between_context_and_model");
    EXPECT_EQ(say(x, Role::assistant, answer), LogStatus::ok);
    WEFT_RACE_POINT("service.before_commit");
    EXPECT_EQ(log.commit(x), LogStatus::ok);
    return seen;
  }
};

// S1.a: "Who is Donald Trump" and "who are his children" on one thread;
// request 2 builds its context while request 1 has saved only its question.
TEST_F(TurnScenario, S1_a_double_send_keeps_both_exchanges_in_order_with_full_context) {
  hooks::Latch r1_saved_question(1), r2_asked_context(1);
  hooks::signal_at("service.after_user_turn", &r1_saved_question, 1);
  hooks::pause_at("service.after_user_turn", &r2_asked_context, 1);
  hooks::signal_at("service.context_not_ready", &r2_asked_context, 2);
  Texts context1, context2;
  std::thread r1 = actor(1, [&] {
    context1 = handle("chat", "req-1", "Who is Donald Trump", "A1: the 45th president");
  });
  ASSERT_TRUE(wait(r1_saved_question));
  std::thread r2 = actor(2, [&] {
    context2 = handle("chat", "req-2", "who are his children", "A2: Don Jr, Ivanka, ...");
  });
  r1.join();
  r2.join();
  EXPECT_TRUE(context1.empty());
  EXPECT_EQ(context2, (Texts{"Who is Donald Trump", "A1: the 45th president"}));
  EXPECT_EQ(texts("chat"), (Texts{"Who is Donald Trump", "A1: the 45th president",
                                   "who are his children", "A2: Don Jr, Ivanka, ..."}));
}

// S1.b: two users on two threads with different delay patterns: no turn
// crosses threads, even with one paused half-way through writing a turn.
TEST_F(TurnScenario, S1_b_interleaved_users_never_cross_threads) {
  hooks::Latch b_done(1);
  hooks::pause_at("turn_log.append.before_publish", &b_done, 1);  // A stops mid-turn
  std::thread a = actor(1, [&] { (void)handle("thread-A", "a1", "QA", "AA"); });
  std::thread b = actor(2, [&] {
    (void)handle("thread-B", "b1", "QB1", "AB1");
    (void)handle("thread-B", "b2", "QB2", "AB2");
    b_done.count_down();
  });
  a.join();
  b.join();
  EXPECT_EQ(texts("thread-A"), (Texts{"QA", "AA"}));
  EXPECT_EQ(texts("thread-B"), (Texts{"QB1", "AB1", "QB2", "AB2"}));
}

// S1.b with the ring turning over: a writer that crosses into the next
// segment while another writer is still preparing it ahead (or recycling
// the oldest segment for it) waits for that writer (its first back-off lets
// it go on) and gets its turn in, instead of log_full or a second opening.
class TurnoverScenario : public TurnScenario {
 protected:
  void SetUp() override {
    TurnScenario::SetUp();
    TurnLog::Config c;
    c.segment_bytes = 1024;  // 3 records a segment: the middle is record 1
    c.segment_count = TurnLog::open_ahead_segments_min;
    c.thread_capacity = 8; c.exchanges_per_thread = 4; c.reader_slots = 4;
    c.retention = TurnLog::Retention::recycle_oldest;
    log.~TurnLog();
    new (&log) TurnLog();
    make(c);
  }
  LogStatus one(std::string_view thread, const std::string& text) {
    const auto x = log.begin_exchange(tid(thread), tid(text), BeginPolicy::queue);
    EXPECT_EQ(x.status, LogStatus::ok);
    const LogStatus s = say(x.exchange, Role::user, text);
    (void)log.commit(x.exchange);
    return s;
  }
  // Actor 1 appends "a<n>", the newest segment's middle record, and stops at
  // `stop_at` while opening the next segment ahead; actor 2 then fills the
  // segment and crosses.
  void cross_while_actor_1_opens_ahead(const char* stop_at, int n) {
    hooks::Latch stopped(1), go(1), a_done(1);
    hooks::signal_at(stop_at, &stopped, 1);
    hooks::pause_at(stop_at, &go, 1);
    LogStatus first = LogStatus::contended, second = LogStatus::contended, crossing = LogStatus::contended;
    std::thread a = actor(1, [&] {
      first = one("A", "a" + std::to_string(n));
      a_done.count_down();
    });
    if (!stopped.wait_for(10'000'000'000ULL)) {  // let actor 1 go before failing
      go.count_down();
      a.join();
      FAIL() << "actor 1 never reached " << stop_at;
    }
    // Actor 2's first back-off lets actor 1 go on, then waits for it to be
    // done: a loaded machine may not run actor 1 within the back-offs' bound.
    hooks::signal_at("backoff", &go, 2);
    hooks::pause_at("backoff", &a_done, 2);
    std::thread b = actor(2, [&] {
      second = one("B", "b" + std::to_string(n));
      crossing = one("B", "b" + std::to_string(n + 1));
    });
    b.join();
    a.join();
    hooks::clear();
    EXPECT_EQ(first, LogStatus::ok);
    EXPECT_EQ(second, LogStatus::ok);
    EXPECT_EQ(crossing, LogStatus::ok) << "the crossing writer did not wait for the segment opened ahead";
  }
};

TEST_F(TurnoverScenario, S1_b_a_writer_crossing_into_a_segment_being_prepared_ahead_waits_for_it) {
  ASSERT_EQ(one("A", "a0"), LogStatus::ok);  // sequence 1, record 0
  cross_while_actor_1_opens_ahead("turn_log.open_next.preparing", 1);  // records 1 and 2, then the crossing
  EXPECT_EQ(log.stats().segments_opened, 2u) << "the crossing opened a segment of its own";
  EXPECT_EQ(texts("A"), (Texts{"a0", "a1"}));
  EXPECT_EQ(texts("B"), (Texts{"b1", "b2"}));
}

TEST_F(TurnoverScenario, S1_b_a_writer_crossing_while_the_oldest_segment_is_recycled_ahead_waits_for_it) {
  // Sequences 1-3 and record 0 of sequence 4: turns 0-9 of thread A.
  Texts a;
  for (int i = 0; i < 10; i++) {
    a.push_back("a" + std::to_string(i));
    ASSERT_EQ(one("A", a.back()), LogStatus::ok);
  }
  ASSERT_EQ(log.stats().segments_recycled, 0u);
  // Record 1 of sequence 4 prepares sequence 5 in sequence 1's place.
  cross_while_actor_1_opens_ahead("turn_log.recycle.before_trim", 10);
  a.push_back("a10");
  EXPECT_EQ(log.stats().segments_recycled, 1u);
  EXPECT_EQ(log.stats().segments_opened, 5u);
  EXPECT_EQ(texts("A"), Texts(a.begin() + 3, a.end())) << "sequence 1 (a0-a2) recycled, nothing else";
  EXPECT_EQ(texts("B"), (Texts{"b10", "b11"}));
}

// S1.c: cleanup runs while a request is in flight (its context pinned, its
// turns written, its commit not yet done): trimming the thread is refused
// while the request may still need its history, and the ring refuses to
// recycle what the request reads or has in flight (log_full rather than
// overwrite). Once the request commits, nothing was lost, and cleanup may
// then trim a prefix.
TEST_F(TurnScenario, S1_c_cleanup_never_removes_what_an_in_flight_request_needs) {
  TurnLog::Config config;
  config.segment_bytes = 1024;  // 3 records a segment
  config.segment_count = 4;
  config.thread_capacity = 16;
  config.exchanges_per_thread = 16;
  config.reader_slots = 8;
  config.retention = TurnLog::Retention::recycle_oldest;
  make(config);
  (void)handle("chat", "old-1", "old question", "old answer");
  hooks::Latch in_flight(1), cleanup_done(1);
  hooks::signal_at("service.before_commit", &in_flight, 1);
  hooks::pause_at("service.before_commit", &cleanup_done, 1);
  std::vector<TurnView> views(8);
  Snapshot context;
  std::thread request = actor(1, [&] {
    const auto x = log.begin_exchange(tid("chat"), tid("req"), BeginPolicy::queue).exchange;
    EXPECT_EQ(say(x, Role::user, "new question"), LogStatus::ok);
    EXPECT_EQ(log.context(x, views.data(), views.size(), &context), LogStatus::ok);
    EXPECT_EQ(say(x, Role::assistant, "new answer"), LogStatus::ok);
    WEFT_RACE_POINT("service.before_commit");
    EXPECT_EQ(log.commit(x), LogStatus::ok);
  });
  ASSERT_TRUE(wait(in_flight));
  WEFT_RACE_POINT("service.before_cleanup");
  EXPECT_EQ(log.trim_thread(tid("chat"), 100), LogStatus::busy);  // ticket 2 is open: refused
  LogStatus churn = LogStatus::ok;
  for (int i = 0; i < 30 && churn == LogStatus::ok; i++) {  // fills the ring
    const auto y = log.begin_exchange(tid("churn"), tid("c" + std::to_string(i)), BeginPolicy::queue);
    ASSERT_EQ(y.status, LogStatus::ok);
    churn = log.append(y.exchange, Role::user, "churn", 5);
    (void)log.commit(y.exchange);
  }
  WEFT_RACE_POINT("service.after_cleanup");
  EXPECT_EQ(churn, LogStatus::log_full);  // the oldest segment is needed: not recycled
  EXPECT_EQ(log.stats().segments_recycled, 0u);
  ASSERT_EQ(context.size(), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(views[0].payload), views[0].payload_bytes),
            "old question");  // the pinned context still reads what it was given
  cleanup_done.count_down();
  request.join();
  EXPECT_EQ(texts("chat"), (Texts{"old question", "old answer", "new question", "new answer"}));
  EXPECT_EQ(log.trim_thread(tid("chat"), 1), LogStatus::ok);  // idle now: a prefix may go
  EXPECT_EQ(texts("chat"), (Texts{"new question", "new answer"}));
}

// S1.d: a request dies between its user turn and its assistant turn: readers
// never see the half exchange; the thread is not stuck (the exchange expires
// after the timeout); the outcome is `expired`.
TEST_F(TurnScenario, S1_d_a_request_dying_after_its_user_turn_expires_and_unblocks_the_thread) {
  const auto dead = log.begin_exchange(tid("chat"), tid("dead"), BeginPolicy::queue).exchange;
  ASSERT_EQ(say(dead, Role::user, "half"), LogStatus::ok);  // ... and the request dies
  const auto next = log.begin_exchange(tid("chat"), tid("next"), BeginPolicy::queue).exchange;
  ASSERT_EQ(say(next, Role::user, "Q2"), LogStatus::ok);
  ASSERT_EQ(say(next, Role::assistant, "A2"), LogStatus::ok);
  ASSERT_EQ(log.commit(next), LogStatus::ok);
  EXPECT_TRUE(texts("chat").empty());
  advance(1001);
  EXPECT_EQ(texts("chat"), (Texts{"Q2", "A2"}));
  ExchangeState state{};
  ASSERT_EQ(log.state(dead, &state), LogStatus::ok);
  EXPECT_EQ(state, ExchangeState::expired);
}

// S1.d: a request dies in the middle of writing a turn (stopped before its
// publish); the exchange expires, its record is dropped; when the zombie
// wakes up its publish fails and nothing half-written is ever visible.
TEST_F(TurnScenario, S1_d_a_writer_stopped_mid_turn_never_shows_half_a_turn) {
  hooks::Latch writing(1), expired(1);
  hooks::signal_at("turn_log.append.before_publish", &writing, 1);
  hooks::pause_at("turn_log.append.before_publish", &expired, 1);
  const auto x = log.begin_exchange(tid("chat"), tid("zombie"), BeginPolicy::queue).exchange;
  LogStatus zombie_result = LogStatus::ok;
  std::thread zombie = actor(1, [&] { zombie_result = say(x, Role::assistant, "half a turn"); });
  ASSERT_TRUE(wait(writing));
  EXPECT_TRUE(texts("chat").empty());
  advance(1001);
  const auto y = log.begin_exchange(tid("chat"), tid("after"), BeginPolicy::queue).exchange;  // expires x
  ASSERT_EQ(say(y, Role::user, "fresh"), LogStatus::ok);
  ASSERT_EQ(log.commit(y), LogStatus::ok);
  expired.count_down();
  zombie.join();
  EXPECT_EQ(zombie_result, LogStatus::expired);
  EXPECT_EQ(texts("chat"), (Texts{"fresh"}));
}

// S1.e: request 2 finishes writing (and commits) before request 1: the
// history is still in ticket order.
TEST_F(TurnScenario, S1_e_out_of_order_writes_keep_ticket_order) {
  hooks::Latch r1_begun(1), r2_committed(1);
  hooks::signal_at("service.before_save", &r1_begun, 1);
  hooks::pause_at("service.before_commit", &r2_committed, 1);
  std::thread r1 = actor(1, [&] { (void)handle("chat", "r1", "Q1", "A1"); });
  ASSERT_TRUE(wait(r1_begun));
  std::thread r2 = actor(2, [&] {
    const auto x = log.begin_exchange(tid("chat"), tid("r2"), BeginPolicy::queue).exchange;
    EXPECT_EQ(x.ticket, 2u);
    EXPECT_EQ(say(x, Role::user, "Q2"), LogStatus::ok);
    EXPECT_EQ(say(x, Role::assistant, "A2"), LogStatus::ok);
    EXPECT_EQ(log.commit(x), LogStatus::ok);
    r2_committed.count_down();
  });
  r2.join();
  r1.join();
  EXPECT_EQ(texts("chat"), (Texts{"Q1", "A1", "Q2", "A2"}));
}

// S3: two workers with the same session id both pass the "exists?" check
// before either inserts: exactly one exchange, the other gets duplicate.
TEST_F(TurnScenario, S3_two_workers_past_the_check_insert_exactly_once) {
  hooks::Latch first_checked(1), second_claiming(1);
  hooks::signal_at("turn_log.begin.before_claim", &first_checked, 1);
  hooks::pause_at("turn_log.begin.before_claim", &second_claiming, 1);
  hooks::pause_at("turn_log.begin.start", &first_checked, 2);
  hooks::signal_at("turn_log.begin.before_claim", &second_claiming, 2);
  BeginResult a, b;
  std::thread w1 = actor(1, [&] { a = log.begin_exchange(tid("trace"), tid("episode-7"), BeginPolicy::queue); });
  std::thread w2 = actor(2, [&] { b = log.begin_exchange(tid("trace"), tid("episode-7"), BeginPolicy::queue); });
  w1.join();
  w2.join();
  const int oks = (a.status == LogStatus::ok) + (b.status == LogStatus::ok);
  const int dups = (a.status == LogStatus::duplicate) + (b.status == LogStatus::duplicate);
  EXPECT_EQ(oks, 1);
  EXPECT_EQ(dups, 1);
  EXPECT_EQ(a.exchange.ticket, b.exchange.ticket);
  EXPECT_EQ(log.stats().exchanges_begun, 1u);
}

// S3 under load: 16 threads race to begin the same (thread, request id),
// 1,000 times: one exchange per id, every other caller gets duplicate with
// the same ticket, and no error storm.
TEST_F(TurnScenario, S3_sixteen_threads_racing_one_thousand_ids_insert_each_once) {
  TurnLog::Config config;
  config.segment_bytes = 64 * 1024;
  config.thread_capacity = 16;
  config.exchanges_per_thread = 16;
  make(config);
  constexpr int workers = 16, ids = 1000;
  std::vector<std::array<BeginResult, workers>> results(ids);
  std::barrier round(workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; w++) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < ids; i++) {
        const BeginResult r = log.begin_exchange(tid("trace-store"), tid("session-" + std::to_string(i)),
                                                 BeginPolicy::queue);
        results[static_cast<std::size_t>(i)][static_cast<std::size_t>(w)] = r;
        round.arrive_and_wait();
        if (r.status == LogStatus::ok) (void)log.commit(r.exchange);
        round.arrive_and_wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::uint64_t> tickets;
  for (int i = 0; i < ids; i++) {
    int oks = 0;
    const std::uint64_t ticket = results[static_cast<std::size_t>(i)][0].exchange.ticket;
    for (const BeginResult& r : results[static_cast<std::size_t>(i)]) {
      oks += r.status == LogStatus::ok;
      ASSERT_TRUE(r.status == LogStatus::ok || r.status == LogStatus::duplicate) << to_string(r.status);
      ASSERT_EQ(r.exchange.ticket, ticket) << "id " << i;
    }
    ASSERT_EQ(oks, 1) << "id " << i;
    tickets.insert(ticket);
  }
  EXPECT_EQ(tickets.size(), static_cast<std::size_t>(ids));
  EXPECT_EQ(log.stats().exchanges_begun, static_cast<std::uint64_t>(ids));
  EXPECT_EQ(log.stats().duplicates, static_cast<std::uint64_t>(ids) * (workers - 1));
}

}  // namespace
}  // namespace weft::testing
