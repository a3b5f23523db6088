// Regression tests for TurnLog races, each forcing its
// interleaving through race points: zombie appenders and late helpers must
// not touch the exchange that reuses their slot, a stale fence cannot commit
// after a newer one began, dedup never returns another request's ticket, the
// ring never wedges or reports log_full while it has room, a streaming turn
// finished after its exchange ended is an error, and cleanup does not trim
// the context of an open exchange. Each failed before its fix.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "support/turn_fixture.h"
#include "weft/atomic.h"
#include "support/orchestration.h"
#include "weft/hooks.h"

namespace weft::testing {
namespace {
namespace hooks = weft::hooks;

class TurnLogRegression : public Orchestrated<TurnLogTest> {
 protected:
  void make_w2() {
    TurnLog::Config c;
    c.segment_bytes = 4096; c.segment_count = 8; c.thread_capacity = 64;
    c.exchanges_per_thread = 2; c.reader_slots = 16; c.exchange_timeout_ns = 1000;
    make(c);
  }
};

// an appender paused after open_exchange()/turns.fetch_add (zombie)
// keeps writing into ExchangeSlot[k mod W] after exchange k expired and the
// slot was reused by ticket k+W: it overwrites positions[] of the new
// exchange. Commit of k+W then publishes the zombie's record (ticket k, an
// EXPIRED exchange: T4/T9) and loses its own committed turn (T1).
TEST_F(TurnLogRegression, zombie_appender_corrupts_the_exchange_that_reuses_its_slot) {
  make_w2();
  hooks::Latch zombie_paused(1), slot_reused(1);
  hooks::signal_at("turn_log.append.before_reserve", &zombie_paused, 1);
  hooks::pause_at("turn_log.append.before_reserve", &slot_reused, 1);
  const ExchangeRef x1 = begin("chat", "r1");
  LogStatus zombie = LogStatus::contended;
  std::thread z = actor(1, [&] { zombie = say(x1, Role::user, "ZOMBIE of expired ticket 1"); });
  ASSERT_TRUE(zombie_paused.wait_for(10'000'000'000ULL));
  advance(2000);
  const ExchangeRef x2 = begin("chat", "r2");  // expires ticket 1
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  const ExchangeRef x3 = begin("chat", "r3");  // ticket 3 reuses slot 1 (W = 2)
  ASSERT_EQ(x3.ticket, 3u);
  ASSERT_EQ(say(x3, Role::user, "Q3"), LogStatus::ok);  // index 0 of ticket 3
  slot_reused.count_down();
  z.join();
  EXPECT_NE(zombie, LogStatus::ok) << "append to an expired exchange returned ok";
  ASSERT_EQ(log.commit(x3), LogStatus::ok);
  for (const Turn& t : history("chat")) printf("visible: ticket %lu index %u '%s'\n", (unsigned long)t.ticket, t.index, t.text.c_str());
  EXPECT_EQ(texts("chat"), (Texts{"Q3"}));  // T1: Q3 committed; T4: nothing of ticket 1
  for (const Turn& t : history("chat")) EXPECT_NE(t.ticket, 1u) << "turn of expired ticket 1 visible: " << t.text;
}

// (T9) the fence check in commit() and the decision are not atomic.
// A holder whose fence went stale commits after the newer holder's begin
// returned (and after state() still said `open`).
TEST_F(TurnLogRegression, commit_with_stale_fence_lands_after_newer_fence_began) {
  hooks::Latch checked(1), newer_began(1);
  hooks::signal_at("turn_log.commit.before_decide", &checked, 1);
  hooks::pause_at("turn_log.commit.before_decide", &newer_began, 1);
  const BeginResult a = log.begin_exchange(tid("doc"), tid("old-holder"), BeginPolicy::queue, 5);
  ASSERT_EQ(a.status, LogStatus::ok);
  ASSERT_EQ(say(a.exchange, Role::user, "stale write"), LogStatus::ok);
  LogStatus old_commit = LogStatus::ok;
  std::thread old = actor(1, [&] { old_commit = log.commit(a.exchange); });
  ASSERT_TRUE(checked.wait_for(10'000'000'000ULL));
  const BeginResult b = log.begin_exchange(tid("doc"), tid("new-holder"), BeginPolicy::queue, 6);
  ASSERT_EQ(b.status, LogStatus::ok);  // fence 6 has been seen by the log
  ExchangeState st{};
  ASSERT_EQ(log.state(a.exchange, &st), LogStatus::ok);
  EXPECT_EQ(st, ExchangeState::aborted);  // the newer fence ended the older holder's exchange
  newer_began.count_down();
  old.join();
  EXPECT_EQ(old_commit, LogStatus::stale_fence);
  ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  EXPECT_TRUE(texts("doc").empty());
}

// An appender that finds the next segment being recycled by another one must
// not get log_full while the ring has room.
TEST_F(TurnLogRegression, concurrent_recycle_gives_a_spurious_log_full) {
  TurnLog::Config c;
  c.segment_bytes = 1024;  // 3 records a segment
  c.segment_count = 2; c.thread_capacity = 16; c.exchanges_per_thread = 16; c.reader_slots = 8;
  c.exchange_timeout_ns = 1000; c.retention = TurnLog::Retention::recycle_oldest;
  log.~TurnLog(); new (&log) TurnLog();
  make(c);
  // Fill both segments with committed turns (6 records), sealing the second.
  int n = 0;
  auto one = [&](std::string_view thread) {
    const auto x = log.begin_exchange(tid(thread), tid("q" + std::to_string(n++)), BeginPolicy::queue);
    EXPECT_EQ(x.status, LogStatus::ok);
    const LogStatus s = say(x.exchange, Role::user, "x");
    (void)log.commit(x.exchange);
    return s;
  };
  for (int i = 0; i < 6; i++) ASSERT_EQ(one("a"), LogStatus::ok);
  hooks::Latch recycling(1), go(1), t1_done(1);
  hooks::signal_at("turn_log.recycle.before_trim", &recycling, 1);
  hooks::pause_at("turn_log.recycle.before_trim", &go, 1);
  LogStatus first = LogStatus::contended;
  std::thread t1 = actor(1, [&] {  // crosses, recycles segment 1
    first = one("b");
    t1_done.count_down();
  });
  ASSERT_TRUE(recycling.wait_for(10'000'000'000ULL));
  // Meanwhile another appender needs the same segment: it waits for the
  // recycler (its first back-off lets the recycler go on, then waits for it
  // to be done: a loaded machine may not run the recycler within the
  // back-offs' bound) instead of reporting log_full.
  hooks::signal_at("backoff", &go, 2);
  hooks::pause_at("backoff", &t1_done, 2);
  LogStatus second = LogStatus::contended;
  std::thread t2 = actor(2, [&] { second = one("c"); });
  t2.join();
  t1.join();
  EXPECT_EQ(first, LogStatus::ok);
  EXPECT_EQ(second, LogStatus::ok) << "log_full while the ring was being recycled";
}

// (bad input is not an error) a streaming turn finished after its
// exchange committed returns ok, but the turn is never visible.
TEST_F(TurnLogRegression, streaming_turn_finished_after_commit_is_silently_lost) {
  const ExchangeRef x = begin("chat", "r1");
  TurnWriter w;
  ASSERT_EQ(log.begin_turn(x, Role::assistant, 16, &w), LogStatus::ok);
  ASSERT_EQ(log.commit(x), LogStatus::ok);
  ASSERT_EQ(w.write("late", 4), LogStatus::ok);
  const LogStatus st = w.finish();
  const auto h = texts("chat");
  EXPECT_TRUE(st != LogStatus::ok || h == Texts{"late"}) << "finish() ok but turn not in history";
}

// (T1) a streamed turn published after its exchange committed is dropped
// again by its writer (the commit did not publish it). The writer let go of
// its segment before that check: meanwhile the finished exchange's segment
// was recycled and the record reused by another conversation's turn, and
// the check aborted THAT turn (its append said ok, its exchange committed,
// the turn was gone).
TEST_F(TurnLogRegression, a_late_streamed_turn_drops_another_conversations_turn_from_a_recycled_segment) {
  TurnLog::Config c;
  c.segment_bytes = 512;  // one record per segment
  c.segment_count = 2; c.thread_capacity = 8; c.exchanges_per_thread = 2; c.reader_slots = 4;
  c.exchange_timeout_ns = 1'000'000'000; c.retention = TurnLog::Retention::recycle_oldest;
  make(c);
  const ExchangeRef x = begin("chat", "r1");
  hooks::Latch before_publish(1), committed(1), after_publish(1), recycled(1);
  hooks::signal_at("turn_log.append.before_publish", &before_publish, 1);
  hooks::pause_at("turn_log.append.before_publish", &committed, 1);
  hooks::signal_at("turn_log.append.published", &after_publish, 1);
  hooks::pause_at("turn_log.append.published", &recycled, 1);
  LogStatus late = LogStatus::contended;
  std::thread writer = actor(1, [&] {
    TurnWriter w;
    ASSERT_EQ(log.begin_turn(x, Role::assistant, 16, &w), LogStatus::ok);
    ASSERT_EQ(w.write("late", 4), LogStatus::ok);
    late = w.finish();
  });
  ASSERT_TRUE(before_publish.wait_for(10'000'000'000ULL));
  ASSERT_EQ(log.commit(x), LogStatus::ok);  // the streamed turn is still busy: not part of it
  committed.count_down();
  ASSERT_TRUE(after_publish.wait_for(10'000'000'000ULL));
  // Another conversation fills the ring: its second turn needs the segment
  // of "chat"'s finished exchange.
  const ExchangeRef y = begin("other", "r1");
  ASSERT_EQ(say(y, Role::user, "B1"), LogStatus::ok);
  ASSERT_EQ(log.commit(y), LogStatus::ok);
  const ExchangeRef z = begin("other", "r2");
  const LogStatus b2 = say(z, Role::user, "B2");  // ok only if that segment was recycled
  recycled.count_down();
  writer.join();
  EXPECT_NE(late, LogStatus::ok) << "a turn finished after its exchange committed";
  ASSERT_EQ(log.commit(z), LogStatus::ok);
  EXPECT_EQ(texts("other"), b2 == LogStatus::ok ? (Texts{"B1", "B2"}) : (Texts{"B1"}))
      << "B2's append said " << to_string(b2) << " and its exchange committed";
  EXPECT_EQ(texts("chat"), (Texts{}));
}

// ---- The following pause inside windows marked with race points
// (turn_log.finish.start, turn_log.begin.dedup_loaded, turn_log.begin.claimed,
// turn_log.open_next.checked). ----

// a helper/decider that runs finish(k, committing) late (preempted
// between its decision or its state load and the flip loop) reads
// turns/positions of ExchangeSlot[k mod W] after the slot was reused by
// ticket k+W and flips THAT exchange's written records to committed. When
// k+W then aborts, its turn is visible (T4/T9).
TEST_F(TurnLogRegression, late_finish_helper_publishes_records_of_the_exchange_that_reuses_the_slot) {
  make_w2();
  const ExchangeRef x1 = begin("chat", "r1");
  ASSERT_EQ(say(x1, Role::user, "Q1"), LogStatus::ok);
  hooks::Latch decided(1), reused(1);
  hooks::signal_at("turn_log.finish.start", &decided, 1);
  hooks::pause_at("turn_log.finish.start", &reused, 1);
  std::thread committer = actor(1, [&] { EXPECT_EQ(log.commit(x1), LogStatus::ok); });
  ASSERT_TRUE(decided.wait_for(10'000'000'000ULL));  // x1 is `committing`, committer preempted
  const ExchangeRef x2 = begin("chat", "r2");          // helps finish x1, watermark 1
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  const ExchangeRef x3 = begin("chat", "r3");          // ticket 3 reuses slot 1
  ASSERT_EQ(x3.ticket, 3u);
  ASSERT_EQ(say(x3, Role::user, "Q3 of an exchange that will ABORT"), LogStatus::ok);
  reused.count_down();
  committer.join();
  ASSERT_EQ(log.abort(x3), LogStatus::ok);
  EXPECT_EQ(texts("chat"), (Texts{"Q1"}));
}

// (T2) the dedup scan reads request_hi/lo after loading the slot's
// state without re-validating it; if the slot is reclaimed in between by a
// later ticket with the same request id, begin returns `duplicate` with the
// OLD ticket, which belongs to another request. Windows of up to 16 read
// a slot only where the request's fingerprint matches (the slot of another
// request is skipped, never loaded), so the race is forced with a window of
// 32, where every slot is read.
TEST_F(TurnLogRegression, dedup_returns_the_wrong_ticket_when_the_slot_is_reused_during_the_scan) {
  TurnLog::Config c;
  c.segment_bytes = 4096; c.segment_count = 8; c.thread_capacity = 64;
  c.exchanges_per_thread = 32; c.reader_slots = 16; c.exchange_timeout_ns = 1000;
  make(c);
  const ExchangeRef x1 = begin("chat", "X");
  hooks::Latch loaded(1), reused(1);
  hooks::signal_at("turn_log.begin.dedup_loaded", &loaded, 1);
  hooks::pause_at("turn_log.begin.dedup_loaded", &reused, 1);
  BeginResult slow;
  std::thread t = actor(1, [&] { slow = log.begin_exchange(tid("chat"), tid("R"), BeginPolicy::queue); });
  ASSERT_TRUE(loaded.wait_for(10'000'000'000ULL));  // loaded slot 1 = (ticket 1, open)
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  for (int i = 2; i <= 32; i++) {
    const ExchangeRef y = begin("chat", "Y" + std::to_string(i));
    ASSERT_EQ(log.commit(y), LogStatus::ok);
  }
  const ExchangeRef r = begin("chat", "R");  // ticket 33, slot 1
  ASSERT_EQ(r.ticket, 33u);
  reused.count_down();
  t.join();
  ASSERT_EQ(slow.status, LogStatus::duplicate);
  EXPECT_EQ(slow.exchange.ticket, 33u) << "duplicate points at ticket of request X";
}

// (T2) the dedup filter never hides a duplicate: with windows of 2, 8 and
// 16 (filtered) and 32 (every slot read), a stream of begins drawn from a
// small pool of request ids is a duplicate exactly when the same request
// holds a ticket of the window (the W tickets before the next one, every
// one still in its slot), and then names that ticket.
TEST_F(TurnLogRegression, dedup_filter_finds_every_duplicate_in_the_window) {
  for (const std::uint32_t w : {2u, 8u, 16u, 32u}) {
    TurnLog::Config c;
    c.segment_bytes = 64 * 1024; c.segment_count = 8; c.thread_capacity = 64;
    c.exchanges_per_thread = w; c.reader_slots = 16; c.exchange_timeout_ns = 1'000'000'000;
    c.retention = TurnLog::Retention::recycle_oldest;
    log.~TurnLog();
    new (&log) TurnLog();
    make(c);
    std::mt19937_64 rng(w);
    std::vector<std::string> by_ticket(1);  // request of each ticket (index 0 unused)
    for (int i = 0; i < 3000; i++) {
      const std::string request = "q" + std::to_string(rng() % (2 * w + 3));
      std::uint64_t expected = 0;
      const std::uint64_t next = by_ticket.size();  // the ticket a new exchange would take
      for (std::uint64_t k = next - 1; k >= 1 && k + w >= next; k--) {  // the window: W tickets back
        if (by_ticket[k] == request) {
          expected = k;
          break;
        }
      }
      const BeginResult b = log.begin_exchange(tid("chat"), tid(request), BeginPolicy::queue);
      if (expected != 0) {
        ASSERT_EQ(b.status, LogStatus::duplicate) << "w " << w << " begin " << i << " " << request;
        ASSERT_EQ(b.exchange.ticket, expected) << "w " << w << " begin " << i;
        continue;
      }
      ASSERT_EQ(b.status, LogStatus::ok) << "w " << w << " begin " << i << " " << request;
      ASSERT_EQ(b.exchange.ticket, by_ticket.size());
      by_ticket.push_back(request);
      ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
    }
  }
}

// open_next(cur) re-checks `current` at the top of each iteration,
// then CASes the physical segment from *any* free state to preparing(cur+1).
// A thread preempted after that check while the ring laps (2 x segment_count
// segments) finds the segment `free` with a NEWER sequence (freed by the
// opener of a later sequence) and re-prepares it with its stale, older
// sequence: from then on every open_next sees an older `ready` sequence,
// try_recycle fails (head != old) and the log is log_full for ever.
struct LapCtx {
  TurnLog* log;
  int hits_after_4 = 0;
  hooks::Latch* paused;
  hooks::Latch* resume;
};
void lap_cb(void* c, const char*) {
  auto* ctx = static_cast<LapCtx*>(c);
  if (ctx->log->stats().segments_recycled != 4) return;
  if (++ctx->hits_after_4 != 2) return;  // iteration 3 of open_next(5): segment free(seq 4)
  ctx->paused->count_down();
  (void)ctx->resume->wait_for(10'000'000'000ULL);
}
TEST_F(TurnLogRegression, a_stale_open_next_reprepares_a_segment_with_an_old_sequence_and_wedges_the_ring) {
  TurnLog::Config c;
  c.segment_bytes = 1024; c.segment_count = 2; c.thread_capacity = 16; c.exchanges_per_thread = 16;
  c.reader_slots = 8; c.exchange_timeout_ns = 1'000'000'000; c.retention = TurnLog::Retention::recycle_oldest;
  log.~TurnLog(); new (&log) TurnLog();
  make(c);
  int n = 0;
  auto one = [&](std::string_view thread) {
    const auto x = log.begin_exchange(tid(thread), tid("q" + std::to_string(n++)), BeginPolicy::queue);
    EXPECT_EQ(x.status, LogStatus::ok);
    const LogStatus s = say(x.exchange, Role::user, "x");
    (void)log.commit(x.exchange);
    return s;
  };
  for (int i = 0; i < 3; i++) ASSERT_EQ(one("main"), LogStatus::ok);  // seq 1 full
  hooks::Latch a1_checked(1), a1_go(1), a2_paused(1), a2_go(1);
  hooks::signal_at("turn_log.open_next.checked", &a1_checked, 1);
  hooks::pause_at("turn_log.open_next.checked", &a1_go, 1);
  LapCtx ctx{&log, 0, &a2_paused, &a2_go};
  ASSERT_GE(hooks::call_at("turn_log.open_next.checked", lap_cb, &ctx, 2), 0);
  std::thread a1 = actor(1, [&] { (void)one("slow"); });  // seals seq 1, stops in open_next(1)
  ASSERT_TRUE(a1_checked.wait_for(10'000'000'000ULL));
  std::thread a2 = actor(2, [&] {  // laps the ring: seq 2..5, stops in open_next(5)
    for (int i = 0; i < 13; i++) (void)one("churn");
  });
  ASSERT_TRUE(a2_paused.wait_for(10'000'000'000ULL));
  a1_go.count_down();
  a1.join();
  a2_go.count_down();
  a2.join();
  hooks::clear();
  // Everything is committed and nothing is pinned: the ring must recycle.
  LogStatus st = LogStatus::ok;
  for (int i = 0; i < 10 && st == LogStatus::ok; i++) st = one("after");
  EXPECT_EQ(st, LogStatus::ok) << "ring wedged: " << to_string(st) << ", opened "
                               << log.stats().segments_opened << ", recycled " << log.stats().segments_recycled;
}


// T7 / S1.c: cleanup must not trim the context of an in-flight exchange.
TEST_F(TurnLogRegression, cleanup_trim_removes_the_context_an_open_exchange_still_needs) {
  const ExchangeRef x1 = begin("chat", "r1");
  ASSERT_EQ(say(x1, Role::user, "Q1"), LogStatus::ok);
  ASSERT_EQ(say(x1, Role::assistant, "A1"), LogStatus::ok);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  const ExchangeRef x2 = begin("chat", "r2");      // in flight
  EXPECT_EQ(log.trim_thread(tid("chat"), 100), LogStatus::busy);  // background cleanup waits
  Texts ctx;
  ASSERT_EQ(context_texts(x2, ctx), LogStatus::ok);
  EXPECT_EQ(ctx, (Texts{"Q1", "A1"}));
}


// A commit that lands while the export runs must not make the export skip
// ticket 1 of a thread and include its ticket 2.
struct ExportCtx { TurnLog* log; ExchangeRef x1; std::vector<std::uint64_t> tickets_of_t; Id t; };
bool export_visit(void* c, const TurnView& v) {
  auto* e = static_cast<ExportCtx*>(c);
  if (v.thread == e->t) e->tickets_of_t.push_back(v.ticket);
  else (void)e->log->commit(e->x1);  // x1 commits while the export runs
  return true;
}
TEST_F(TurnLogRegression, for_each_committed_exports_a_prefix_of_each_thread_while_commits_go_on) {
  const ExchangeRef x1 = begin("t", "r1");
  const ExchangeRef x2 = begin("t", "r2");
  ASSERT_EQ(say(x1, Role::user, "Q1"), LogStatus::ok);   // position p
  const ExchangeRef u = begin("u", "u1");
  ASSERT_EQ(say(u, Role::user, "U"), LogStatus::ok);     // position p+1
  ASSERT_EQ(log.commit(u), LogStatus::ok);
  ASSERT_EQ(say(x2, Role::user, "Q2"), LogStatus::ok);   // position p+2
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  ExportCtx e{&log, x1, {}, tid("t")};
  ASSERT_EQ(log.for_each_committed(export_visit, &e), LogStatus::ok);
  EXPECT_TRUE(e.tickets_of_t.empty() || e.tickets_of_t.front() == 1u)
      << "exported ticket " << e.tickets_of_t.front() << " without ticket 1";
}

}  // namespace
}  // namespace weft::testing
