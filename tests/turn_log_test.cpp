// Single-threaded tests of the TurnLog: one group per contract (T1-T10) and
// the error paths. Concurrency is in turn_log_stress_test.cpp and the S1/S3
// scenario tests.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "support/turn_fixture.h"
#include "weft/log_inspect.h"
#include "weft/recovery.h"

namespace weft::testing {
namespace {

using T1_no_loss = TurnLogTest;

TEST_F(T1_no_loss, every_committed_turn_is_in_the_history_exactly_once) {
  for (int i = 0; i < 20; i++) {
    const auto x = begin("t", "r" + std::to_string(i));
    ASSERT_EQ(say(x, Role::user, "q" + std::to_string(i)), LogStatus::ok);
    ASSERT_EQ(say(x, Role::assistant, "a" + std::to_string(i)), LogStatus::ok);
    ASSERT_EQ(log.commit(x), LogStatus::ok);
  }
  const Texts h = texts("t");
  ASSERT_EQ(h.size(), 40u);
  for (int i = 0; i < 20; i++) {
    EXPECT_EQ(h[2 * i], "q" + std::to_string(i));
    EXPECT_EQ(h[2 * i + 1], "a" + std::to_string(i));
  }
}

TEST_F(T1_no_loss, bad_calls_after_commits_lose_nothing) {
  const auto x = begin("t", "r1");
  ASSERT_EQ(say(x, Role::user, "q"), LogStatus::ok);
  ASSERT_EQ(log.commit(x), LogStatus::ok);
  EXPECT_EQ(log.commit(x), LogStatus::finished);
  EXPECT_EQ(say(x, Role::user, "late"), LogStatus::finished);
  EXPECT_EQ(log.abort(x), LogStatus::finished);
  EXPECT_EQ(log.commit(ExchangeRef{tid("t"), 99}), LogStatus::unknown_exchange);
  std::string huge(TurnLog::payload_bytes_max(TurnLog::Config{}) + 1, 'x');
  const auto y = begin("t", "r2");
  EXPECT_EQ(say(y, Role::user, huge), LogStatus::payload_too_large);
  EXPECT_EQ(texts("t"), (Texts{"q"}));
}

using T2_no_duplication = TurnLogTest;

TEST_F(T2_no_duplication, a_second_begin_with_the_same_request_id_is_duplicate_with_the_same_ticket) {
  const auto first = log.begin_exchange(tid("t"), tid("req-1"), BeginPolicy::queue);
  ASSERT_EQ(first.status, LogStatus::ok);
  const auto again = log.begin_exchange(tid("t"), tid("req-1"), BeginPolicy::queue);
  EXPECT_EQ(again.status, LogStatus::duplicate);
  EXPECT_EQ(again.exchange.ticket, first.exchange.ticket);
  ASSERT_EQ(say(first.exchange, Role::user, "q"), LogStatus::ok);
  ASSERT_EQ(log.commit(first.exchange), LogStatus::ok);
  // Still a duplicate after the commit (inside the dedup window).
  EXPECT_EQ(log.begin_exchange(tid("t"), tid("req-1"), BeginPolicy::reject_if_busy).status,
            LogStatus::duplicate);
  EXPECT_EQ(texts("t"), (Texts{"q"}));
  EXPECT_EQ(log.stats().exchanges_begun, 1u);
  EXPECT_EQ(log.stats().duplicates, 2u);
}

// S2: a client re-sends while its first request is still open and W - 1
// later requests have begun. Every slot is taken, next_ticket waits at the
// slot of the first; the re-send must still find it [T2], not answer
// too_many_in_flight (the stress test caught this under qemu's timing).
TEST_F(T2_no_duplication, a_resend_is_duplicate_while_all_w_exchanges_are_open) {
  constexpr int w = 8;  // the fixture's exchanges_per_thread
  std::vector<ExchangeRef> open;
  for (int i = 0; i < w; i++) open.push_back(begin("t", "r" + std::to_string(i)));
  ASSERT_EQ(log.begin_exchange(tid("t"), tid("another"), BeginPolicy::queue).status,
            LogStatus::too_many_in_flight);
  for (int i = 0; i < w; i++) {
    const auto again = log.begin_exchange(tid("t"), tid("r" + std::to_string(i)), BeginPolicy::queue);
    EXPECT_EQ(again.status, LogStatus::duplicate) << "r" << i;
    EXPECT_EQ(again.exchange.ticket, open[static_cast<std::size_t>(i)].ticket) << "r" << i;
  }
  // Once the first is finished its slot takes ticket W + 1, and r0 has left
  // the window (the last W tickets): a re-send of it is a new exchange.
  ASSERT_EQ(log.commit(open[0]), LogStatus::ok);
  const auto next = log.begin_exchange(tid("t"), tid("r-next"), BeginPolicy::queue);
  ASSERT_EQ(next.status, LogStatus::ok);
  EXPECT_EQ(next.exchange.ticket, static_cast<std::uint64_t>(w) + 1);
  EXPECT_EQ(log.begin_exchange(tid("t"), tid("r1"), BeginPolicy::queue).status, LogStatus::duplicate);
  EXPECT_EQ(log.stats().exchanges_begun, static_cast<std::uint64_t>(w) + 1);
}

TEST_F(T2_no_duplication, the_same_request_id_on_another_thread_is_a_new_exchange) {
  EXPECT_EQ(log.begin_exchange(tid("a"), tid("req"), BeginPolicy::queue).status, LogStatus::ok);
  EXPECT_EQ(log.begin_exchange(tid("b"), tid("req"), BeginPolicy::queue).status, LogStatus::ok);
}

using T3_order = TurnLogTest;

TEST_F(T3_order, history_is_in_ticket_order_even_when_the_second_exchange_commits_first) {
  const auto x1 = begin("t", "r1");
  const auto x2 = begin("t", "r2");
  ASSERT_EQ(say(x2, Role::user, "Q2"), LogStatus::ok);  // lands first in the log
  ASSERT_EQ(say(x1, Role::user, "Q1"), LogStatus::ok);
  ASSERT_EQ(say(x2, Role::assistant, "A2"), LogStatus::ok);
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  ASSERT_EQ(say(x1, Role::assistant, "A1"), LogStatus::ok);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  const auto h = history("t");
  EXPECT_EQ(texts_of(h), (Texts{"Q1", "A1", "Q2", "A2"}));
  EXPECT_EQ(h[0].role, Role::user);
  EXPECT_EQ(h[0].index, 0u);
  EXPECT_EQ(h[2].ticket, 2u);
}

using T4_atomic_visibility = TurnLogTest;

TEST_F(T4_atomic_visibility, an_exchange_is_invisible_until_it_and_all_before_it_finished) {
  const auto x1 = begin("t", "r1");
  ASSERT_EQ(say(x1, Role::user, "Q1"), LogStatus::ok);
  EXPECT_TRUE(texts("t").empty());  // not committed yet
  const auto x2 = begin("t", "r2");
  ASSERT_EQ(say(x2, Role::user, "Q2"), LogStatus::ok);
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  EXPECT_TRUE(texts("t").empty());  // 2 waits for 1
  ASSERT_EQ(say(x1, Role::assistant, "A1"), LogStatus::ok);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"Q1", "A1", "Q2"}));
}

TEST_F(T4_atomic_visibility, an_aborted_exchange_never_shows_and_does_not_block_the_next) {
  const auto x1 = begin("t", "r1");
  ASSERT_EQ(say(x1, Role::user, "lost"), LogStatus::ok);
  const auto x2 = begin("t", "r2");
  ASSERT_EQ(say(x2, Role::user, "kept"), LogStatus::ok);
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  ASSERT_EQ(log.abort(x1), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"kept"}));
  ExchangeState state{};
  ASSERT_EQ(log.state(x1, &state), LogStatus::ok);
  EXPECT_EQ(state, ExchangeState::aborted);
}

TEST_F(T4_atomic_visibility, a_streaming_turn_is_invisible_until_finished_and_dropped_if_abandoned) {
  const auto x = begin("t", "r1");
  {
    TurnWriter writer;
    ASSERT_EQ(log.begin_turn(x, Role::user, 64, &writer), LogStatus::ok);
    ASSERT_EQ(writer.write("hel", 3), LogStatus::ok);
    ASSERT_EQ(writer.write("lo", 2), LogStatus::ok);
    EXPECT_EQ(writer.write(std::string(60, 'x').data(), 60), LogStatus::payload_too_large);
    ASSERT_EQ(writer.finish(), LogStatus::ok);
  }
  {
    TurnWriter abandoned;
    ASSERT_EQ(log.begin_turn(x, Role::assistant, 16, &abandoned), LogStatus::ok);
    ASSERT_EQ(abandoned.write("half", 4), LogStatus::ok);
  }  // destroyed unfinished: its record is aborted
  ASSERT_EQ(say(x, Role::assistant, "done"), LogStatus::ok);
  ASSERT_EQ(log.commit(x), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"hello", "done"}));
}

using T5_monotonic_snapshots = TurnLogTest;

TEST_F(T5_monotonic_snapshots, successive_snapshots_are_prefixes_of_each_other) {
  std::vector<std::vector<Turn>> seen;
  std::vector<ExchangeRef> open;
  for (int i = 0; i < 6; i++) open.push_back(begin("t", "r" + std::to_string(i)));
  for (int i = 5; i >= 0; i--) {  // commit backwards: visibility jumps at the end
    ASSERT_EQ(say(open[static_cast<std::size_t>(i)], Role::user, "q" + std::to_string(i)), LogStatus::ok);
    ASSERT_EQ(log.commit(open[static_cast<std::size_t>(i)]), LogStatus::ok);
    seen.push_back(history("t"));
  }
  for (std::size_t i = 1; i < seen.size(); i++) {
    ASSERT_GE(seen[i].size(), seen[i - 1].size());
    for (std::size_t j = 0; j < seen[i - 1].size(); j++) EXPECT_EQ(seen[i][j], seen[i - 1][j]);
  }
  EXPECT_EQ(seen.back().size(), 6u);
}

using T6_isolation = TurnLogTest;

TEST_F(T6_isolation, a_turn_of_one_thread_never_appears_in_another) {
  const auto a = begin("alice", "r1");
  const auto b = begin("bob", "r1");
  ASSERT_EQ(say(a, Role::user, "from alice"), LogStatus::ok);
  ASSERT_EQ(say(b, Role::user, "from bob"), LogStatus::ok);
  ASSERT_EQ(log.commit(b), LogStatus::ok);
  ASSERT_EQ(log.commit(a), LogStatus::ok);
  EXPECT_EQ(texts("alice"), (Texts{"from alice"}));
  EXPECT_EQ(texts("bob"), (Texts{"from bob"}));
  EXPECT_TRUE(texts("carol").empty());
}

using T7_context = TurnLogTest;

TEST_F(T7_context, context_of_ticket_k_is_the_committed_turns_before_k) {
  const auto x1 = begin("t", "r1");
  const auto x2 = begin("t", "r2");
  const auto x3 = begin("t", "r3");
  Texts ctx;
  EXPECT_EQ(context_texts(x1, ctx), LogStatus::ok);
  EXPECT_TRUE(ctx.empty());
  EXPECT_EQ(context_texts(x2, ctx), LogStatus::not_ready);
  ASSERT_EQ(say(x1, Role::user, "Q1"), LogStatus::ok);
  ASSERT_EQ(say(x1, Role::assistant, "A1"), LogStatus::ok);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  EXPECT_EQ(context_texts(x2, ctx), LogStatus::ok);
  EXPECT_EQ(ctx, (Texts{"Q1", "A1"}));
  ASSERT_EQ(say(x2, Role::user, "Q2 aborted"), LogStatus::ok);
  ASSERT_EQ(log.abort(x2), LogStatus::ok);
  EXPECT_EQ(context_texts(x3, ctx), LogStatus::ok);
  EXPECT_EQ(ctx, (Texts{"Q1", "A1"}));  // aborted turns are not context
}

TEST_F(T7_context, wait_context_times_out_on_the_injected_clock_and_succeeds_when_ready) {
  const auto x1 = begin("t", "r1");
  const auto x2 = begin("t", "r2");
  std::vector<TurnView> views(8);
  Snapshot snap;
  // A clock that does not move: the poll bound ends the wait.
  EXPECT_EQ(log.wait_context(x2, views.data(), views.size(), &snap, 10), LogStatus::timed_out);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  EXPECT_EQ(log.wait_context(x2, views.data(), views.size(), &snap, 10), LogStatus::ok);
}

class T8_retention : public TurnLogTest {
 protected:
  // A ring that recycles its oldest segment, for these tests.
  static TurnLog::Config recycling_ring(std::uint32_t segment_bytes, std::uint32_t segments, std::uint32_t threads) {
    TurnLog::Config config;
    config.segment_bytes = segment_bytes;
    config.segment_count = segments;
    config.thread_capacity = threads;
    config.exchanges_per_thread = 4;
    config.reader_slots = 4;
    config.retention = TurnLog::Retention::recycle_oldest;
    return config;
  }
  // One exchange of one user turn, committed.
  void commit_one(const std::string& thread, const std::string& request, const std::string& text) {
    const auto x = begin(thread, request);
    ASSERT_EQ(say(x, Role::user, text), LogStatus::ok);
    ASSERT_EQ(log.commit(x), LogStatus::ok);
  }
};

TEST_F(T8_retention, trim_removes_only_a_finished_prefix) {
  const auto x1 = begin("t", "r1");
  ASSERT_EQ(say(x1, Role::user, "one"), LogStatus::ok);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  const auto x2 = begin("t", "r2");
  ASSERT_EQ(say(x2, Role::user, "two"), LogStatus::ok);
  // Exchange 2 is open: its context is "one", so nothing may leave yet.
  EXPECT_EQ(log.trim_thread(tid("t"), 5), LogStatus::busy);
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"one", "two"}));
  const auto x3 = begin("t", "r3");
  ASSERT_EQ(say(x3, Role::user, "three"), LogStatus::ok);
  ASSERT_EQ(log.commit(x3), LogStatus::ok);
  EXPECT_EQ(log.trim_thread(tid("t"), 2), LogStatus::ok);  // a prefix: 1 and 2
  EXPECT_EQ(texts("t"), (Texts{"three"}));
  EXPECT_EQ(log.trim_thread(tid("t"), 99), LogStatus::ok);  // clamped to the finished prefix
  EXPECT_TRUE(texts("t").empty());
}

TEST_F(T8_retention, recycling_never_frees_what_a_pinned_snapshot_reads) {
  const TurnLog::Config config = recycling_ring(1024, 3, 8);  // 3 records a segment
  make(config);
  const auto x = begin("t", "r0");
  ASSERT_EQ(say(x, Role::user, "pinned turn"), LogStatus::ok);
  ASSERT_EQ(log.commit(x), LogStatus::ok);
  std::vector<TurnView> views(4);
  Snapshot pinned;
  ASSERT_EQ(log.snapshot(tid("t"), views.data(), views.size(), &pinned), LogStatus::ok);
  ASSERT_EQ(pinned.size(), 1u);
  // Fill the ring: the pinned first segment cannot be reused.
  LogStatus last = LogStatus::ok;
  int appended = 0;
  for (int i = 0; i < 40 && last == LogStatus::ok; i++) {
    const auto y = log.begin_exchange(tid("other"), tid("r" + std::to_string(i)), BeginPolicy::queue);
    ASSERT_EQ(y.status, LogStatus::ok);
    last = log.append(y.exchange, Role::user, "filler", 6);
    if (last == LogStatus::ok) appended++;
    (void)log.commit(y.exchange);
  }
  EXPECT_EQ(last, LogStatus::log_full);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(views[0].payload), views[0].payload_bytes),
            "pinned turn");
  pinned.release();
  // Unpinned: the ring moves on, recycling the oldest segments.
  const auto z = log.begin_exchange(tid("other"), tid("after"), BeginPolicy::queue);
  ASSERT_EQ(z.status, LogStatus::ok);
  EXPECT_EQ(log.append(z.exchange, Role::user, "moves on", 8), LogStatus::ok);
  EXPECT_GT(log.stats().segments_recycled, 0u);
  EXPECT_TRUE(texts("t").empty());  // trimmed as a prefix of its thread
  EXPECT_GT(appended, 3);
}

// An opener resets only the records the segment's last sequence reserved;
// the rest must still be empty from an earlier opening. Small turns fill
// every record of every segment, then large turns reuse the ring with 2-3
// records a segment plus one reservation that does not fit (reserved,
// never written), then small turns again. A stale state would show as a
// committed record nobody appended there [T1, T8].
TEST_F(T8_retention, a_reused_segment_shows_none_of_its_earlier_records) {
  const TurnLog::Config config = recycling_ring(4096, 3, 8);  // 15 records, 3072 payload bytes
  make(config);
  const auto phase = [&](const std::string& thread, int count, std::size_t bytes) {
    for (int i = 0; i < count; i++) {
      commit_one(thread, thread + std::to_string(i), std::string(bytes, static_cast<char>('a' + i % 26)));
    }
  };
  const auto committed_in_ready_segments = [&] {
    std::uint64_t committed = 0;
    for (std::uint32_t i = 0; i < config.segment_count; i++) {
      SegmentReport seg;
      EXPECT_EQ(inspect_segment(const_cast<void*>(log.region()), TurnLog::region_bytes(config), i, &seg), LogStatus::ok);
      if (seg.state == SegmentState::ready) committed += seg.committed;
      EXPECT_EQ(seg.malformed, 0u);
    }
    return committed;
  };
  phase("t", 100, 8);
  phase("u", 20, 1200);
  EXPECT_EQ(committed_in_ready_segments(), texts("u").size());
  phase("v", 25, 8);
  const std::size_t v = texts("v").size();
  EXPECT_EQ(v, 25u);
  EXPECT_EQ(committed_in_ready_segments(), texts("u").size() + v);
  EXPECT_GE(log.stats().segments_recycled, 10u);
}

// The recycler turns a busy record whose writer is gone (no pin: it died)
// into an aborted one and does not trim its thread through it: the ticket
// may still be above the thread's watermark. With more threads in the
// segment than the recycler's cache holds, a second pass trims record by
// record; it used to trim through that record too, and an exchange of the
// same thread that was still open, committed later, never showed [T1, T8].
// The dead writer is forged: a published record set back to busy.
TEST_F(T8_retention, a_dead_writers_record_trims_nothing_when_the_recycler_cache_overflows) {
  const TurnLog::Config config = recycling_ring(16384, 4, 64);  // 63 records
  make(config);
  const auto first = begin("x", "first");    // ticket 1: open throughout
  const auto second = begin("x", "second");  // ticket 2: its record's writer "dies"
  ASSERT_EQ(say(second, Role::user, "lost with its writer"), LogStatus::ok);  // segment 1, record 0
  for (int t = 0; t < 40; t++) {  // 40 more threads in segment 1: more than the cache's 32 entries
    commit_one("t" + std::to_string(t), "r", "filler");
  }
  LogLayout layout;
  ASSERT_EQ(inspect_log(const_cast<void*>(log.region()), TurnLog::region_bytes(config), &layout), LogStatus::ok);
  // Segment 1, record 0: its state word (nothing runs meanwhile: a copy does).
  unsigned char* state = static_cast<unsigned char*>(const_cast<void*>(log.region())) + layout.segments_offset +
                         config.segment_bytes + 64;
  weft::word s = 0;
  std::memcpy(&s, state, sizeof s);
  ASSERT_EQ(s & 0xFF, 2u);  // written
  s = static_cast<weft::word>((s & ~weft::word{0xFF}) | 1);  // busy, and nobody pinned
  std::memcpy(state, &s, sizeof s);
  for (int i = 0; log.stats().segments_recycled == 0 && i < 1000; i++) {  // the ring laps segment 1
    commit_one("t" + std::to_string(i % 40), "lap" + std::to_string(i), "filler");
  }
  ASSERT_GT(log.stats().segments_recycled, 0u);
  ASSERT_EQ(say(first, Role::user, "kept"), LogStatus::ok);
  ASSERT_EQ(log.commit(first), LogStatus::ok);
  EXPECT_EQ(texts("x"), (Texts{"kept"}));
}

// Opening ahead (TurnLog::open_ahead_segments_min): with one lane and four
// segments, the newest segment's middle record prepares the next segment,
// which stays behind `current` until a writer crosses into it; around the
// ring, that preparation recycles the oldest segment and the history stays
// a suffix of the thread with nothing missing.
TEST_F(T8_retention, a_ring_of_four_segments_opens_its_next_segment_at_the_middle_of_the_newest) {
  const TurnLog::Config config = recycling_ring(1024, 4, 8);  // 3 records a segment: the middle is record 1
  make(config);
  LogLayout layout;
  const auto newest = [&] {
    EXPECT_EQ(inspect_log(const_cast<void*>(log.region()), TurnLog::region_bytes(config), &layout), LogStatus::ok);
    return layout.current;
  };
  Texts said;
  const auto one = [&](int i) {
    said.push_back("turn " + std::to_string(i));
    commit_one("t", "r" + std::to_string(i), said.back());
  };
  one(0);  // sequence 1, record 0
  EXPECT_EQ(log.stats().segments_opened, 1u);
  one(1);  // record 1, the middle: sequence 2 is prepared
  EXPECT_EQ(log.stats().segments_opened, 2u);
  EXPECT_EQ(newest(), 1u) << "a prepared segment is not the newest until a writer crosses into it";
  one(2);
  EXPECT_EQ(newest(), 1u);
  one(3);  // crosses into the prepared sequence 2
  EXPECT_EQ(newest(), 2u);
  EXPECT_EQ(log.stats().segments_opened, 2u) << "the crossing opened a segment of its own";
  EXPECT_EQ(texts("t"), said);
  // Sequences 2, 3 and 4 take turns 3-10; turn 10 is 4's middle record and
  // prepares sequence 5 in sequence 1's place, recycling it (turns 0-2).
  for (int i = 4; i <= 10; i++) one(i);
  EXPECT_EQ(log.stats().segments_recycled, 1u);
  EXPECT_EQ(newest(), 4u);
  EXPECT_EQ(layout.head, 2u);
  EXPECT_EQ(texts("t"), Texts(said.begin() + 3, said.end()));
  for (int i = 11; i <= 30; i++) one(i);  // around the ring again
  const Texts kept = texts("t");
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept, Texts(said.end() - static_cast<std::ptrdiff_t>(kept.size()), said.end()));
  // Turn 30 is record 0 of sequence 11, which turn 28 (the middle of 10)
  // prepared in 7's place: sequences 8-11 (turns 21-30) are retained.
  EXPECT_EQ(kept.size(), 10u);
}

// Large turns fill a segment by bytes before its record headers run out:
// the record that takes its middle payload byte opens ahead.
TEST_F(T8_retention, large_turns_open_the_next_segment_at_the_middle_payload_byte) {
  make(recycling_ring(4096, 4, 8));  // 15 records, 3072 payload bytes: byte 1536 is the middle
  const auto one = [&](int i) { commit_one("t", "r" + std::to_string(i), std::string(600, static_cast<char>('a' + i))); };
  one(0);  // bytes 0-599
  one(1);  // 600-1199
  EXPECT_EQ(log.stats().segments_opened, 1u);
  one(2);  // 1200-1799, record 2 of 15: the middle byte, not the middle record
  EXPECT_EQ(log.stats().segments_opened, 2u);
  one(3);
  one(4);  // 2400-2999: the segment holds five
  one(5);  // crosses into the prepared segment
  EXPECT_EQ(log.stats().segments_opened, 2u);
  EXPECT_EQ(texts("t").size(), 6u);
}

// Below open_ahead_segments_min segments, and with more than one append
// lane, the next segment is opened by the writer that crosses, not before.
TEST_F(T8_retention, smaller_rings_and_append_lanes_open_segments_at_the_crossing) {
  for (const std::uint32_t lanes : {1u, 2u}) {
    TurnLog::Config config = recycling_ring(1024, lanes == 1 ? 3 : 4, 8);
    config.append_lanes = lanes;
    log.~TurnLog();
    new (&log) TurnLog();
    make(config);
    struct LaneZero {  // the thread's lane goes back to the CPU's whatever fails
      LaneZero() { TurnLog::set_thread_lane(0); }
      ~LaneZero() { TurnLog::set_thread_lane(TurnLog::lane_auto); }
    } lane_zero;
    for (int i = 0; i < 3; i++) commit_one("t", "r" + std::to_string(i), "x");
    EXPECT_EQ(log.stats().segments_opened, 1u) << lanes << " lane(s)";
    const auto x = begin("t", "crossing");
    ASSERT_EQ(say(x, Role::user, "x"), LogStatus::ok);
    EXPECT_EQ(log.stats().segments_opened, 2u) << lanes << " lane(s)";
  }
}

// A segment that is not ready keeps its last fill until it is opened
// again, and its opener resets only the records below that fill. Recovery
// empties every record of such a segment, so a fill damaged low cannot
// carry older states into its next sequence. Segment 1 stays retired here:
// a snapshot pins it while the ring laps.
TEST_F(T8_retention, recovery_empties_the_records_of_segments_that_are_not_ready) {
  const TurnLog::Config config = recycling_ring(4096, 3, 8);  // 15 records
  make(config);
  commit_one("t", "r0", "first");  // segment 1, record 0
  std::vector<TurnView> views(4);
  Snapshot pinned;
  ASSERT_EQ(log.snapshot(tid("t"), views.data(), views.size(), &pinned), LogStatus::ok);
  LogStatus last = LogStatus::ok;
  for (int i = 0; i < 100 && last == LogStatus::ok; i++) {
    const auto y = begin("u", "r" + std::to_string(i));
    last = say(y, Role::user, "filler");
    (void)log.commit(y);
  }
  ASSERT_EQ(last, LogStatus::log_full);  // segment 1 was recycled but cannot be reused: retired
  pinned.release();
  void* region = const_cast<void*>(log.region());
  const std::size_t bytes = TurnLog::region_bytes(config);
  SegmentReport seg;
  ASSERT_EQ(inspect_segment(region, bytes, 1, &seg), LogStatus::ok);
  ASSERT_EQ(seg.state, SegmentState::retired);
  LogLayout layout;
  ASSERT_EQ(inspect_log(region, bytes, &layout), LogStatus::ok);
  // Segment 1: its header (word, fill, ...) and record 0's state word
  // (nothing runs meanwhile: copies do).
  unsigned char* base = static_cast<unsigned char*>(region) + layout.segments_offset + config.segment_bytes;
  const auto word_at = [](const unsigned char* at) {
    weft::word w = 0;
    std::memcpy(&w, at, sizeof w);
    return w;
  };
  ASSERT_NE(word_at(base + 64), 0u);
  const weft::word low = 0;
  std::memcpy(base + sizeof(weft::word), &low, sizeof low);  // the fill, damaged low
  RecoveryReport report;
  ASSERT_EQ(recover_log(region, bytes, &report), LogStatus::ok);
  EXPECT_EQ(word_at(base + 64), 0u);  // empty: the next opener need not know
}

TEST_F(T8_retention, keep_all_returns_log_full_instead_of_dropping_history) {
  TurnLog::Config config;
  config.segment_bytes = 1024;
  config.segment_count = 2;
  config.thread_capacity = 8;
  config.exchanges_per_thread = 64;
  make(config);
  LogStatus last = LogStatus::ok;
  int committed = 0;
  for (int i = 0; i < 60 && last == LogStatus::ok; i++) {
    const auto x = begin("t", "r" + std::to_string(i));
    last = say(x, Role::user, "turn " + std::to_string(i));
    if (last == LogStatus::ok && log.commit(x) == LogStatus::ok) committed++;
    else (void)log.abort(x);
  }
  EXPECT_EQ(last, LogStatus::log_full);
  EXPECT_EQ(static_cast<int>(texts("t").size()), committed);
  EXPECT_GT(log.stats().log_full, 0u);
}

// Append lanes: a thread that runs steps on request, so one thread keeps
// its lane across steps.
class StepThread {
 public:
  StepThread() : thread_([this] { loop(); }) {}
  ~StepThread() {
    run([] {}, true);
    thread_.join();
  }
  void run(const std::function<void()>& step, bool last = false) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      step_ = step;
      last_ = last;
      pending_ = true;
    }
    changed_.notify_all();
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !pending_; });
  }

 private:
  void loop() {
    for (;;) {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return pending_; });
      step_();
      pending_ = false;
      const bool last = last_;
      lock.unlock();
      changed_.notify_all();
      if (last) return;
    }
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> step_;
  bool pending_ = false, last_ = false;
  std::thread thread_;
};

class AppendLanes : public TurnLogTest {
 protected:
  // A log with two append lanes.
  static TurnLog::Config two_lanes(std::uint32_t segment_bytes, std::uint32_t segments) {
    TurnLog::Config config;
    config.segment_bytes = segment_bytes;
    config.segment_count = segments;
    config.append_lanes = 2;
    return config;
  }
};

TEST_F(AppendLanes, lanes_are_part_of_the_geometry_and_bad_counts_are_refused) {
  TurnLog::Config config;
  config.segment_count = 4;
  const std::size_t one = TurnLog::region_bytes(config);
  config.append_lanes = 3;
  EXPECT_EQ(TurnLog::region_bytes(config), one + 2 * 64);
  config.append_lanes = 4;  // as many lanes as segments: refused
  EXPECT_EQ(TurnLog::region_bytes(config), 0u);
  config.append_lanes = 0;
  EXPECT_EQ(TurnLog::region_bytes(config), 0u);
  config.segment_count = 1024;
  config.append_lanes = TurnLog::append_lanes_max + 1;
  EXPECT_EQ(TurnLog::region_bytes(config), 0u);
  TurnLog bad;
  EXPECT_EQ(bad.create(config, clock.clock()), LogStatus::bad_region);
}

// Two threads on two lanes append to two segments; each lane keeps its own
// until it is full, and both histories are whole and in order.
TEST_F(AppendLanes, two_threads_on_two_lanes_append_to_segments_of_their_own) {
  const TurnLog::Config config = two_lanes(4096, 8);
  make(config);
  StepThread a, b;
  a.run([] { TurnLog::set_thread_lane(0); });
  b.run([] { TurnLog::set_thread_lane(1); });
  auto exchange = [this](const std::string& thread, int i) {
    const auto x = begin(thread, thread + std::to_string(i));
    ASSERT_EQ(say(x, Role::user, thread + " q" + std::to_string(i)), LogStatus::ok);
    ASSERT_EQ(say(x, Role::assistant, thread + " a" + std::to_string(i)), LogStatus::ok);
    ASSERT_EQ(log.commit(x), LogStatus::ok);
  };
  for (int i = 0; i < 3; i++) {
    a.run([&] { exchange("a", i); });
    b.run([&] { exchange("b", i); });
  }
  LogLayout layout;
  ASSERT_EQ(inspect_log(const_cast<void*>(log.region()), TurnLog::region_bytes(config), &layout), LogStatus::ok);
  EXPECT_EQ(layout.config.append_lanes, 2u);
  EXPECT_EQ(layout.current, 2u);  // one segment per lane, not one shared
  for (std::uint32_t i = 1; i <= 2; i++) {
    SegmentReport seg;
    ASSERT_EQ(inspect_segment(const_cast<void*>(log.region()), TurnLog::region_bytes(config), i, &seg), LogStatus::ok);
    EXPECT_EQ(seg.records, 6u) << "segment " << i << ": three exchanges of one thread";
  }
  const std::vector<std::string> want_a = {"a q0", "a a0", "a q1", "a a1", "a q2", "a a2"};
  const std::vector<std::string> want_b = {"b q0", "b a0", "b q1", "b a1", "b q2", "b a2"};
  EXPECT_EQ(texts("a"), want_a);
  EXPECT_EQ(texts("b"), want_b);
}

// A lane whose segment was recycled under it (its thread went quiet while
// the other lane ran the ring round) moves to a new segment on its next
// append; the other lane's turns and its own later ones are all there.
TEST_F(AppendLanes, a_lane_whose_segment_was_recycled_moves_on) {
  TurnLog::Config config = two_lanes(1024, 4);  // 3 records a segment
  config.thread_capacity = 8;
  config.exchanges_per_thread = 4;
  config.retention = TurnLog::Retention::recycle_oldest;
  make(config);
  StepThread quiet;
  quiet.run([&] {
    TurnLog::set_thread_lane(0);
    const auto x = begin("quiet", "q0");
    ASSERT_EQ(say(x, Role::user, "early"), LogStatus::ok);
    ASSERT_EQ(log.commit(x), LogStatus::ok);
  });
  StepThread busy;
  busy.run([&] {
    TurnLog::set_thread_lane(1);
    for (int i = 0; i < 30; i++) {
      const auto y = begin("busy", "b" + std::to_string(i));
      ASSERT_EQ(say(y, Role::user, "turn " + std::to_string(i)), LogStatus::ok);
      ASSERT_EQ(log.commit(y), LogStatus::ok);
    }
  });
  EXPECT_GT(log.stats().segments_recycled, 0u);
  EXPECT_TRUE(texts("quiet").empty());  // its segment went round: trimmed as a prefix
  quiet.run([&] {
    const auto x = begin("quiet", "q1");
    ASSERT_EQ(say(x, Role::user, "later"), LogStatus::ok);
    ASSERT_EQ(log.commit(x), LogStatus::ok);
  });
  EXPECT_EQ(texts("quiet"), std::vector<std::string>{"later"});
  const auto busy_turns = texts("busy");
  ASSERT_FALSE(busy_turns.empty());
  EXPECT_EQ(busy_turns.back(), "turn 29");
}

// A lane word no opener wrote (damage, a forged region) costs no segment:
// the lane takes the newest one that was opened for it (or opens the next
// for itself) and appends there. recover_log() starts every lane over.
TEST_F(AppendLanes, a_damaged_lane_word_wastes_no_segment_and_recovery_clears_it) {
  const TurnLog::Config config = two_lanes(4096, 8);
  make(config);
  const std::size_t bytes = TurnLog::region_bytes(config);
  auto* base = static_cast<unsigned char*>(const_cast<void*>(log.region()));
  StepThread a;
  auto exchange = [this](const std::string& request) {
    const auto x = begin("t", request);
    ASSERT_EQ(say(x, Role::user, request), LogStatus::ok);
    ASSERT_EQ(log.commit(x), LogStatus::ok);
  };
  a.run([&] {
    TurnLog::set_thread_lane(0);
    exchange("one");
  });
  LogLayout layout;
  ASSERT_EQ(inspect_log(base, bytes, &layout), LogStatus::ok);
  ASSERT_EQ(layout.current, 1u);
  const std::size_t lanes_at = layout.segments_offset + std::size_t{config.segment_count} * config.segment_bytes;
  const std::uint64_t forged = 1000;  // far beyond the newest segment
  std::memcpy(base + lanes_at, &forged, sizeof forged);
  a.run([&] { exchange("two"); });
  ASSERT_EQ(inspect_log(base, bytes, &layout), LogStatus::ok);
  EXPECT_EQ(layout.current, 1u);  // the lane takes back the newest segment, opened for it: nothing wasted
  EXPECT_EQ(texts("t"), (std::vector<std::string>{"one", "two"}));
  RecoveryReport report;
  ASSERT_EQ(recover_log(base, bytes, &report), LogStatus::ok);
  std::uint64_t lane0 = 1;
  std::memcpy(&lane0, base + lanes_at, sizeof lane0);
  EXPECT_EQ(lane0, 0u);
  a.run([&] { exchange("three"); });
  EXPECT_EQ(texts("t"), (std::vector<std::string>{"one", "two", "three"}));
}

using T9_fencing = TurnLogTest;

TEST_F(T9_fencing, an_exchange_with_a_stale_fence_cannot_commit) {
  const auto stale = log.begin_exchange(tid("t"), tid("old holder"), BeginPolicy::queue, 5);
  ASSERT_EQ(stale.status, LogStatus::ok);
  ASSERT_EQ(say(stale.exchange, Role::user, "from the old holder"), LogStatus::ok);
  const auto fresh = log.begin_exchange(tid("t"), tid("new holder"), BeginPolicy::queue, 7);
  ASSERT_EQ(fresh.status, LogStatus::ok);
  ASSERT_EQ(say(fresh.exchange, Role::user, "from the new holder"), LogStatus::ok);
  EXPECT_EQ(log.commit(stale.exchange), LogStatus::stale_fence);
  ASSERT_EQ(log.commit(fresh.exchange), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"from the new holder"}));
}

TEST_F(T9_fencing, lock_table_tokens_fence_a_holder_whose_lease_was_taken_over) {
  ManualClock lease_clock;
  LockTable locks;
  ASSERT_EQ(locks.create(LockTable::Config{}, lease_clock.clock()), LockStatus::ok);
  const auto a = locks.try_acquire(tid("t"), 1, LockMode::exclusive, 100);
  const auto xa = log.begin_exchange(tid("t"), tid("a"), BeginPolicy::queue, a.token);
  lease_clock.advance(101);
  const auto b = locks.try_acquire(tid("t"), 2, LockMode::exclusive, 100);
  ASSERT_EQ(b.status, LockStatus::acquired);
  const auto xb = log.begin_exchange(tid("t"), tid("b"), BeginPolicy::queue, b.token);
  // The newer token's begin ended the old holder's exchange: it learns at
  // its next call.
  EXPECT_EQ(say(xa.exchange, Role::user, "a"), LogStatus::stale_fence);
  ASSERT_EQ(say(xb.exchange, Role::user, "b"), LogStatus::ok);
  EXPECT_EQ(log.commit(xa.exchange), LogStatus::stale_fence);
  EXPECT_EQ(log.commit(xb.exchange), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"b"}));
}

using T10_progress = TurnLogTest;

TEST_F(T10_progress, a_stalled_exchange_expires_and_the_thread_moves_on) {
  const auto stalled = begin("t", "r1");
  ASSERT_EQ(say(stalled, Role::user, "never answered"), LogStatus::ok);
  const auto next = begin("t", "r2");
  ASSERT_EQ(say(next, Role::user, "Q2"), LogStatus::ok);
  ASSERT_EQ(log.commit(next), LogStatus::ok);
  EXPECT_TRUE(texts("t").empty());  // 2 waits for 1
  advance(1001);                     // past the timeout since 1's last progress
  EXPECT_EQ(texts("t"), (Texts{"Q2"}));
  EXPECT_EQ(say(stalled, Role::assistant, "too late"), LogStatus::expired);
  EXPECT_EQ(log.commit(stalled), LogStatus::expired);
  EXPECT_EQ(log.stats().expiries, 1u);
}

TEST_F(T10_progress, the_timeout_counts_from_the_last_progress_not_from_the_begin) {
  const auto slow = begin("t", "r1");
  advance(900);
  ASSERT_EQ(say(slow, Role::user, "still working"), LogStatus::ok);
  advance(900);  // 1800 since begin, 900 since progress
  ASSERT_EQ(log.commit(slow), LogStatus::ok);
  EXPECT_EQ(texts("t"), (Texts{"still working"}));
}

TEST_F(T10_progress, waiting_for_the_context_is_progress_not_a_stall) {
  const auto dead = begin("t", "r1");  // its request died
  const auto waiting = begin("t", "r2");
  ASSERT_EQ(say(waiting, Role::user, "Q2"), LogStatus::ok);
  advance(600);
  Texts ctx;
  EXPECT_EQ(context_texts(waiting, ctx), LogStatus::not_ready);  // alive, asking
  advance(600);  // 1200 since r1's begin: r1 expires; r2 asked 600 ago: alive
  EXPECT_EQ(context_texts(waiting, ctx), LogStatus::ok);
  EXPECT_EQ(say(waiting, Role::assistant, "A2"), LogStatus::ok);
  EXPECT_EQ(log.commit(waiting), LogStatus::ok);
  EXPECT_EQ(log.commit(dead), LogStatus::expired);
  EXPECT_EQ(texts("t"), (Texts{"Q2", "A2"}));
}

TEST_F(T10_progress, a_stalled_exchange_blocks_no_other_thread) {
  const auto stalled = begin("a", "r1");
  ASSERT_EQ(say(stalled, Role::user, "stuck"), LogStatus::ok);
  const auto other = begin("b", "r1");
  ASSERT_EQ(say(other, Role::user, "free"), LogStatus::ok);
  ASSERT_EQ(log.commit(other), LogStatus::ok);
  EXPECT_EQ(texts("b"), (Texts{"free"}));
}

// ---- errors -------------------------------------------------------------------

using TurnLogErrors = TurnLogTest;

TEST_F(TurnLogErrors, begin_policies_and_limits_are_explicit_results) {
  const auto x1 = begin("t", "r1", BeginPolicy::reject_if_busy);
  EXPECT_EQ(log.begin_exchange(tid("t"), tid("r2"), BeginPolicy::reject_if_busy).status,
            LogStatus::busy);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  EXPECT_EQ(log.begin_exchange(tid("t"), tid("r2"), BeginPolicy::reject_if_busy).status,
            LogStatus::ok);
  for (int i = 3; i <= 9; i++) (void)log.begin_exchange(tid("t"), tid("r" + std::to_string(i)), BeginPolicy::queue);
  EXPECT_EQ(log.begin_exchange(tid("t"), tid("r10"), BeginPolicy::queue).status,
            LogStatus::too_many_in_flight);  // 8 unfinished: the window is full
  EXPECT_EQ(log.stats().too_many_in_flight, 1u);
}

TEST_F(TurnLogErrors, bad_arguments_are_invalid_argument) {
  EXPECT_EQ(log.begin_exchange(Id{}, tid("r"), BeginPolicy::queue).status, LogStatus::invalid_argument);
  EXPECT_EQ(log.begin_exchange(tid("t"), Id{}, BeginPolicy::queue).status, LogStatus::invalid_argument);
  EXPECT_EQ(log.begin_exchange(tid("t"), tid("r"), static_cast<BeginPolicy>(9)).status,
            LogStatus::invalid_argument);
  const auto x = begin("t", "r");
  EXPECT_EQ(log.append(x, static_cast<Role>(0), "x", 1), LogStatus::invalid_argument);
  EXPECT_EQ(log.append(x, Role::user, nullptr, 3), LogStatus::invalid_argument);
  EXPECT_EQ(log.commit(ExchangeRef{}), LogStatus::invalid_argument);
  Snapshot snap;
  EXPECT_EQ(log.snapshot(tid("t"), nullptr, 4, &snap), LogStatus::invalid_argument);
}

TEST_F(TurnLogErrors, too_many_turns_and_a_small_buffer_are_reported) {
  const auto x = begin("t", "r");
  for (std::uint32_t i = 0; i < TurnLog::turns_per_exchange_max; i++) {
    ASSERT_EQ(say(x, Role::tool, "t" + std::to_string(i)), LogStatus::ok);
  }
  EXPECT_EQ(say(x, Role::tool, "one more"), LogStatus::too_many_turns);
  ASSERT_EQ(log.commit(x), LogStatus::ok);
  std::vector<TurnView> views(3);
  Snapshot snap;
  EXPECT_EQ(log.snapshot(tid("t"), views.data(), views.size(), &snap), LogStatus::buffer_too_small);
  EXPECT_EQ(texts("t").size(), TurnLog::turns_per_exchange_max);
}

TEST_F(TurnLogErrors, a_full_thread_table_is_thread_table_full) {
  TurnLog::Config config;
  config.segment_bytes = 1024;
  config.thread_capacity = 4;
  make(config);
  for (int i = 0; i < 4; i++) (void)begin("t" + std::to_string(i), "r");
  EXPECT_EQ(log.begin_exchange(tid("t9"), tid("r"), BeginPolicy::queue).status,
            LogStatus::thread_table_full);
}

TEST(TurnLogRegion, init_and_attach_validate_the_region) {
  ManualClock clock;
  TurnLog::Config config;
  config.segment_bytes = 1024;
  config.segment_count = 2;
  config.thread_capacity = 4;
  const std::size_t bytes = TurnLog::region_bytes(config);
  ASSERT_GT(bytes, 0u);
  std::vector<unsigned char> storage(bytes + 64);
  auto* region = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<std::uintptr_t>(storage.data()) + 63) / 64 * 64);
  TurnLog log;
  EXPECT_EQ(log.init(region, bytes - 1, config, clock.clock()), LogStatus::region_too_small);
  EXPECT_EQ(log.init(region + 8, bytes, config, clock.clock()), LogStatus::bad_region);
  TurnLog::Config bad = config;
  bad.exchanges_per_thread = 3;  // not a power of two
  EXPECT_EQ(log.init(region, bytes, bad, clock.clock()), LogStatus::bad_region);
  ASSERT_EQ(log.init(region, bytes, config, clock.clock()), LogStatus::ok);
  const auto x = log.begin_exchange(tid("t"), tid("r"), BeginPolicy::queue);
  ASSERT_EQ(log.append(x.exchange, Role::user, "hi", 2), LogStatus::ok);
  ASSERT_EQ(log.commit(x.exchange), LogStatus::ok);

  TurnLog second;
  ASSERT_EQ(second.attach(region, bytes, clock.clock()), LogStatus::ok);
  std::vector<TurnView> views(4);
  Snapshot snap;
  ASSERT_EQ(second.snapshot(tid("t"), views.data(), views.size(), &snap), LogStatus::ok);
  EXPECT_EQ(snap.size(), 1u);
  snap.release();
  EXPECT_EQ(second.attach(region, bytes - 1, clock.clock()), LogStatus::region_too_small);
  region[0] ^= 0xFF;  // magic
  TurnLog third;
  EXPECT_EQ(third.attach(region, bytes, clock.clock()), LogStatus::bad_region);
  TurnLog never;
  EXPECT_EQ(never.commit(x.exchange), LogStatus::not_initialized);
}

// A geometry larger than the address space (32-bit targets) is refused, never
// cut to size_t: a forged header that says so cannot make attach() accept a
// small region (found by review: on armhf the offsets wrapped and attach said
// ok for 8 KiB that claimed 2^26 threads).
// The fill word counts a segment's records in a fixed field, and writers
// that race the seal of a full segment count one each beyond the last
// record: the largest segment has record headers to spare in that field
// (2^23 - 1 records with 64-bit words; 1023 in a 256 KiB segment with
// 32-bit words), and more bytes only mean more payload.
TEST(TurnLogRegion, the_largest_segment_leaves_its_record_count_headroom) {
  TurnLog::Config c;
  c.segment_bytes = TurnLog::segment_bytes_max;
  c.segment_count = 2;
  const std::uint64_t records = weft::word_bits == 64 ? (std::uint64_t{1} << 23) - 1 : 1023;
  const bool fits = TurnLog::region_bytes(c) != 0;  // two 4 GiB segments do not fit a 32-bit address space
  EXPECT_EQ(fits, sizeof(std::size_t) == 8 || weft::word_bits == 32);
  EXPECT_EQ(TurnLog::payload_bytes_max(c), fits ? c.segment_bytes - 64 - records * 64 : 0u);
  c.segment_bytes = 64 * 1024;  // below the cap: one header per 256 bytes, as always
  EXPECT_EQ(TurnLog::payload_bytes_max(c), c.segment_bytes - 64 - (c.segment_bytes - 64) / 256 * 64);
}

TEST(TurnLogRegion, a_geometry_beyond_the_address_space_is_refused_not_wrapped) {
  ManualClock clock;
  TurnLog::Config huge;
  huge.segment_bytes = 4096;
  huge.segment_count = 2;
  huge.thread_capacity = 1u << 26;
  huge.exchanges_per_thread = 2;
  huge.reader_slots = 4;
  const std::uint64_t true_bytes = TurnLog::region_bytes(huge);
  if (sizeof(std::size_t) < 8) {
    EXPECT_EQ(true_bytes, 0u) << "more than a 32-bit address space";
  } else {
    EXPECT_GT(true_bytes, std::uint64_t{1} << 32);
  }
  TurnLog::Config small = huge;
  small.thread_capacity = 4;
  const std::size_t bytes = TurnLog::region_bytes(small);
  std::vector<unsigned char> storage(bytes + 64);
  auto* region = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<std::uintptr_t>(storage.data()) + 63) / 64 * 64);
  TurnLog log;
  EXPECT_NE(log.init(region, bytes, huge, clock.clock()), LogStatus::ok);
  ASSERT_EQ(log.init(region, bytes, small, clock.clock()), LogStatus::ok);
  // Forge the header: 2^26 threads, and a region size equal to what a 32-bit
  // size_t would have wrapped the true size to (header fields are 8 bytes
  // each: thread_capacity at 40, region_bytes at 80).
  const std::uint64_t threads = 1u << 26;
  std::memcpy(region + 40, &threads, 8);
  const std::uint64_t wrapped = static_cast<std::uint32_t>(
      bytes + (threads - 4) * (64 + 2 * 128));  // threads' slots and their exchange slots
  std::memcpy(region + 80, &wrapped, 8);
  TurnLog forged;
  EXPECT_EQ(forged.attach(region, bytes, clock.clock()), LogStatus::bad_region);
}

// [T9] a streamed turn of an exchange that a newer fence ended says
// stale_fence, as every other call on that exchange does (it said expired).
TEST_F(TurnLogTest, a_streamed_turn_of_a_fenced_out_exchange_says_stale_fence) {
  const BeginResult old = log.begin_exchange(tid("doc"), tid("old"), BeginPolicy::queue, 5);
  ASSERT_EQ(old.status, LogStatus::ok);
  TurnWriter w;
  ASSERT_EQ(log.begin_turn(old.exchange, Role::assistant, 16, &w), LogStatus::ok);
  const BeginResult newer = log.begin_exchange(tid("doc"), tid("new"), BeginPolicy::queue, 6);
  ASSERT_EQ(newer.status, LogStatus::ok);
  ASSERT_EQ(w.write("late", 4), LogStatus::ok);
  EXPECT_EQ(w.finish(), LogStatus::stale_fence);
  EXPECT_EQ(log.append(old.exchange, Role::user, "x", 1), LogStatus::stale_fence);
  EXPECT_EQ(log.commit(old.exchange), LogStatus::stale_fence);
  // An exchange its owner aborted says finished, not expired.
  const BeginResult third = log.begin_exchange(tid("doc"), tid("third"), BeginPolicy::queue, 7);
  ASSERT_EQ(third.status, LogStatus::ok);
  TurnWriter v;
  ASSERT_EQ(log.begin_turn(third.exchange, Role::assistant, 16, &v), LogStatus::ok);
  ASSERT_EQ(log.abort(third.exchange), LogStatus::ok);
  EXPECT_EQ(v.finish(), LogStatus::finished);
}

TEST_F(TurnLogTest, for_each_committed_visits_visible_records_in_log_order) {
  const auto x1 = begin("a", "r1");
  const auto x2 = begin("b", "r1");
  ASSERT_EQ(say(x2, Role::user, "b1"), LogStatus::ok);
  ASSERT_EQ(say(x1, Role::user, "a1"), LogStatus::ok);
  ASSERT_EQ(log.commit(x1), LogStatus::ok);
  ASSERT_EQ(log.commit(x2), LogStatus::ok);
  const auto x3 = begin("a", "r2");
  ASSERT_EQ(say(x3, Role::user, "open"), LogStatus::ok);
  std::vector<std::string> seen;
  ASSERT_EQ(log.for_each_committed(
                [](void* c, const TurnView& v) {
                  static_cast<std::vector<std::string>*>(c)->emplace_back(
                      reinterpret_cast<const char*>(v.payload), v.payload_bytes);
                  return true;
                },
                &seen),
            LogStatus::ok);
  EXPECT_EQ(seen, (std::vector<std::string>{"b1", "a1"}));
}

TEST(TurnLogStatus, every_status_has_a_name) {
  for (int s = 0; s <= static_cast<int>(LogStatus::too_many_processes); s++) {
    EXPECT_STRNE(to_string(static_cast<LogStatus>(s)), "unknown") << s;
  }
}

}  // namespace
}  // namespace weft::testing
