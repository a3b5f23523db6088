// Liveness across processes: what a process killed (SIGKILL) at a precise
// point leaves behind in a shared, file-backed TurnLog, and whether the
// survivors keep going (T10: "a stalled or killed appender blocks no other
// thread's appends or reads"). Each test forks a child that stops at one
// point and tells the parent so through a pipe; the parent kills it there.
//
// Findings (see docs/DURABILITY.md, "Liveness across processes"):
// - killed with an exchange open (between turns): the exchange expires after
//   exchange_timeout_ns, its thread proceeds, the ring keeps recycling. T10 holds.
// - killed inside an append (between begin_turn's reservation and finish()):
//   the exchange expires and its record is aborted, but the segment's
//   `writers` pin (+1 in LogEngine::reserve) is never given back. Retention
//   (recycle_oldest) refuses that segment for ever: every append of every
//   thread gets log_full once the ring comes round. T10 does not hold.
// - killed holding a Snapshot: its reader slot's pin is never cleared; the
//   same permanent log_full, and one reader slot fewer for ever.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "weft/mapping.h"
#include "weft/recovery.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t timeout_ms = 50;

TurnLog::Config ring_config() {
  TurnLog::Config c;
  c.segment_bytes = 4096;  // 15 records a segment
  c.segment_count = 4;
  c.thread_capacity = 16;
  c.exchanges_per_thread = 4;
  c.reader_slots = 8;
  c.exchange_timeout_ns = timeout_ms * 1'000'000ULL;
  c.retention = TurnLog::Retention::recycle_oldest;
  return c;
}

// Where the child stops before the parent kills it.
enum class StopAt { between_turns, inside_append, holding_snapshot, after_commit };

class LivenessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "weft-liveness-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    path = dir + "/log";
    mapping = create_file_mapping(path.c_str(), TurnLog::region_bytes(ring_config()));
    ASSERT_EQ(mapping.status, MapStatus::ok);
    ASSERT_EQ(format_log(mapping.mapping, ring_config(), steady_clock(), &log), MapStatus::ok);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  // Forks a child that opens the file, does its part up to `stop`, reports
  // and waits; kills it there with SIGKILL.
  void kill_child_at(StopAt stop) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) child(stop, fds[1]);
    ::close(fds[1]);
    char ready = 0;
    ASSERT_EQ(::read(fds[0], &ready, 1), 1) << "the child failed before its stop point";
    ASSERT_EQ(ready, 'R');
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    ::close(fds[0]);
  }

  [[noreturn]] void child(StopAt stop, int fd) {
    MapResult m = open_file_mapping(path.c_str());
    TurnLog mine;
    if (m.status != MapStatus::ok || attach_log(m.mapping, steady_clock(), &mine) != MapStatus::ok) std::_Exit(3);
    const BeginResult b = mine.begin_exchange(id_from_string("dead"), id_from_string("dead-request"), BeginPolicy::queue);
    if (b.status != LogStatus::ok) std::_Exit(4);
    const char text[] = "question of a process about to die";
    if (mine.append(b.exchange, Role::user, text, sizeof text - 1) != LogStatus::ok) std::_Exit(5);
    TurnWriter stream;
    TurnView views[8];
    Snapshot snap;
    switch (stop) {
      case StopAt::between_turns: break;
      case StopAt::inside_append:  // reserved, half written, never finished
        if (mine.begin_turn(b.exchange, Role::assistant, 64, &stream) != LogStatus::ok) std::_Exit(6);
        (void)stream.write("half an ans", 11);
        break;
      case StopAt::holding_snapshot:
        if (mine.commit(b.exchange) != LogStatus::ok) std::_Exit(7);
        if (mine.snapshot(id_from_string("dead"), views, 8, &snap) != LogStatus::ok) std::_Exit(8);
        break;
      case StopAt::after_commit:
        if (mine.commit(b.exchange) != LogStatus::ok) std::_Exit(9);
        break;
    }
    const char ready = 'R';
    if (::write(fd, &ready, 1) != 1) std::_Exit(10);
    for (;;) ::pause();  // killed here
  }

  // Appends `exchanges` one-turn exchanges on thread "live" (one ring is 60
  // records); returns how many committed before the first log_full (all of
  // them if none).
  int append_live(int exchanges) {
    for (int i = 0; i < exchanges; i++) {
      const std::string request = "live-" + std::to_string(next_request++);
      const BeginResult b = log.begin_exchange(id_from_string("live"), id_from_string(request), BeginPolicy::queue);
      EXPECT_EQ(b.status, LogStatus::ok);
      const LogStatus st = log.append(b.exchange, Role::user, "q", 1);
      if (st == LogStatus::log_full) {
        (void)log.abort(b.exchange);
        return i;
      }
      EXPECT_EQ(st, LogStatus::ok);
      EXPECT_EQ(log.commit(b.exchange), LogStatus::ok);
    }
    return exchanges;
  }

  static void wait_past_timeout() { std::this_thread::sleep_for(std::chrono::milliseconds(3 * timeout_ms)); }

  ExchangeState dead_state() {
    ExchangeState s{};
    EXPECT_EQ(log.state(ExchangeRef{id_from_string("dead"), 1}, &s), LogStatus::ok);
    return s;
  }

  std::string dir, path;
  MapResult mapping;
  TurnLog log;
  int next_request = 0;
};

TEST_F(LivenessTest, a_process_killed_between_turns_leaves_an_exchange_that_expires_and_blocks_nothing) {
  kill_child_at(StopAt::between_turns);
  // Its thread is busy until the exchange expires [T10] ...
  EXPECT_EQ(log.begin_exchange(id_from_string("dead"), id_from_string("next"), BeginPolicy::reject_if_busy).status,
            LogStatus::busy);
  wait_past_timeout();
  const BeginResult next = log.begin_exchange(id_from_string("dead"), id_from_string("next"), BeginPolicy::reject_if_busy);
  EXPECT_EQ(next.status, LogStatus::ok);
  EXPECT_EQ(dead_state(), ExchangeState::expired);
  EXPECT_EQ(log.abort(next.exchange), LogStatus::ok);
  // ... and the ring keeps recycling past its record: 5 rings of appends.
  EXPECT_EQ(append_live(300), 300);
  EXPECT_GT(log.stats().segments_recycled, 10u);
}

TEST_F(LivenessTest, a_process_killed_after_commit_leaves_nothing_behind) {
  kill_child_at(StopAt::after_commit);
  EXPECT_EQ(dead_state(), ExchangeState::committed);
  EXPECT_EQ(append_live(300), 300);
  EXPECT_GT(log.stats().segments_recycled, 10u);
}

// KNOWN BUG (reported; not fixed here): the killed appender's segment pin
// (SegmentHeader::writers, taken in LogEngine::reserve, given back only in
// TurnWriter::finish / drop or begin_turn's failure path) stays for ever, so
// LogEngine::try_recycle refuses that segment for ever (R5 check `writers !=
// 0`) and every append of every thread is log_full once the ring comes
// round, even after the dead exchange expired. This test pins today's
// behaviour; the fix must reach the contract (T10: after the expiry, 300 of
// 300 appends go in), and then this test fails and gives way to one that
// states it.
TEST_F(LivenessTest, KNOWN_BUG_a_process_killed_inside_an_append_pins_its_segment_for_ever) {
  kill_child_at(StopAt::inside_append);
  wait_past_timeout();
  // The dead exchange expires (T10 for its own thread) and its half-written
  // record is aborted: nothing of it is busy or unfinished any more ...
  EXPECT_EQ(dead_state(), ExchangeState::expired);
  const int before_full = append_live(300);
  EXPECT_LT(before_full, 300) << "the ring recycled past a dead writer's pin: the bug is fixed, state the contract instead";
  EXPECT_GE(before_full, 40);  // about one ring (60 records less the dead exchange's segment) went in
  // ... yet the log stays full for every thread, for ever.
  wait_past_timeout();
  EXPECT_EQ(append_live(10), 0);
}

// KNOWN BUG (reported; not fixed here): a reader slot's pin (ReaderSlot::pin,
// set in LogEngine::pin, cleared by Snapshot::release) of a killed process
// stays for ever: LogEngine::pins_clear refuses to reuse that segment, so the
// log is full for good under recycle_oldest, and the slot is lost (after
// reader_slots such deaths every snapshot is too_many_readers).
TEST_F(LivenessTest, KNOWN_BUG_a_process_killed_holding_a_snapshot_pins_the_ring_for_ever) {
  kill_child_at(StopAt::holding_snapshot);
  wait_past_timeout();
  EXPECT_LT(append_live(300), 300) << "recycled past a dead reader's pin: the bug is fixed, state the contract instead";
  EXPECT_EQ(append_live(10), 0);
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// Recovery on restart (weft/recovery.h): once every process that used the
// region is gone, recover_log() clears what the dead left behind, and the
// ring recycles again. Here the parent is the only user left (it calls
// nothing on the log while recovering).
using RecoveryAfterDeath = LivenessTest;

TEST_F(RecoveryAfterDeath, clears_a_dead_appenders_pin_and_drops_its_torn_record) {
  kill_child_at(StopAt::inside_append);
  RecoveryReport report;
  ASSERT_EQ(recover_log(mapping.mapping.data(), mapping.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.writer_pins_cleared, 1u);
  EXPECT_EQ(report.dropped_torn, 1u);             // the half-written answer
  EXPECT_EQ(report.written_unfinished, 1u);       // the question of its open exchange (left to expiry)
  EXPECT_EQ(report.records_kept, 0u);
  wait_past_timeout();
  EXPECT_EQ(dead_state(), ExchangeState::expired);
  EXPECT_EQ(append_live(300), 300);  // the ring recycles past it
}

TEST_F(RecoveryAfterDeath, clears_a_dead_readers_pin) {
  kill_child_at(StopAt::holding_snapshot);
  RecoveryReport report;
  ASSERT_EQ(recover_log(mapping.mapping.data(), mapping.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.reader_pins_cleared, 1u);
  EXPECT_EQ(report.records_kept, 1u);  // its committed question
  EXPECT_EQ(append_live(300), 300);
}

TEST_F(RecoveryAfterDeath, of_a_clean_log_changes_nothing) {
  kill_child_at(StopAt::after_commit);
  EXPECT_EQ(append_live(20), 20);
  RecoveryReport report;
  ASSERT_EQ(recover_log(mapping.mapping.data(), mapping.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.records_kept, 21u);
  EXPECT_EQ(report.dropped_checksum + report.dropped_malformed + report.dropped_torn, 0u);
  EXPECT_EQ(report.writer_pins_cleared + report.reader_pins_cleared, 0u);
  EXPECT_EQ(report.segments_repaired + report.threads_repaired + report.exchanges_repaired, 0u);
  RecoveryReport none;
  EXPECT_EQ(recover_log(mapping.mapping.data(), 64, &none), LogStatus::region_too_small);
  EXPECT_EQ(recover_log(mapping.mapping.data(), mapping.mapping.size(), nullptr), LogStatus::invalid_argument);
}

}  // namespace
}  // namespace weft::testing
