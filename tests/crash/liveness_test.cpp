// Liveness across processes: what a process killed (SIGKILL) at a precise
// point leaves behind in a shared, file-backed TurnLog, and whether the
// survivors keep going (T10: "a stalled or killed appender blocks no other
// thread's appends or reads"). Each test forks a child that stops at one
// point and tells the parent so through a pipe; the parent kills it there.
//
// Findings (see docs/DURABILITY.md, "Liveness across processes"):
// - killed with an exchange open (between turns): the exchange expires after
//   exchange_timeout_ns, its thread proceeds, the ring keeps recycling. T10 holds.
// - killed inside an append (between begin_turn's reservation and finish())
//   or holding a Snapshot, having joined the log (TurnLog::join with
//   posix_liveness): the survivors find the segment or reader pin held too
//   long, ask whether its process lives, reap it, and the ring keeps
//   recycling. T10 holds.
// - the same in a process that did not join (the shared process slot 0):
//   its pin stays until recover_log() after a restart; under recycle_oldest
//   every append is log_full once the ring comes round. Documented: every
//   process of a shared region should join.
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
  c.process_slots = 8;  // the parent and up to six children at once
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
// Whether the child joins the log (its own process slot) or uses slot 0.
enum class Join { yes, no };

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
    ASSERT_EQ(log.join(posix_liveness()), LogStatus::ok);  // the survivor reaps as a joined process
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  // Forks a child that opens the file, does its part up to `stop`, reports
  // and waits; kills it there with SIGKILL.
  void kill_child_at(StopAt stop, Join join = Join::yes) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    children++;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) child(stop, join, fds[1]);
    ::close(fds[1]);
    char ready = 0;
    if (::read(fds[0], &ready, 1) != 1) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      FAIL() << "the child failed before its stop point: exit status "
             << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    ASSERT_EQ(ready, 'R');
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    ::close(fds[0]);
  }

  [[noreturn]] void child(StopAt stop, Join join, int fd) {
    MapResult m = open_file_mapping(path.c_str());
    TurnLog mine;
    if (m.status != MapStatus::ok || attach_log(m.mapping, steady_clock(), &mine) != MapStatus::ok) std::_Exit(3);
    if (join == Join::yes && mine.join(posix_liveness()) != LogStatus::ok) std::_Exit(11);
    const std::string request = "dead-request-" + std::to_string(children);
    const BeginResult b = mine.begin_exchange(id_from_string("dead"), id_from_string(request), BeginPolicy::queue);
    if (b.status != LogStatus::ok) std::_Exit(4);
    const char text[] = "question of a process about to die";
    if (mine.append(b.exchange, Role::user, text, sizeof text - 1) != LogStatus::ok) std::_Exit(5);
    TurnWriter stream;
    TurnView views[64];
    Snapshot snap;
    switch (stop) {
      case StopAt::between_turns: break;
      case StopAt::inside_append:  // reserved, half written, never finished
        if (mine.begin_turn(b.exchange, Role::assistant, 64, &stream) != LogStatus::ok) std::_Exit(6);
        (void)stream.write("half an ans", 11);
        break;
      case StopAt::holding_snapshot:
        if (mine.commit(b.exchange) != LogStatus::ok) std::_Exit(7);
        if (mine.snapshot(id_from_string("dead"), views, 64, &snap) != LogStatus::ok) std::_Exit(8);
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
  int children = 0;
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

// The same, with nobody ever calling on the dead process's thread again:
// the append that needs the ring expires the stalled exchange itself [T10].
TEST_F(LivenessTest, an_exchange_left_open_on_a_thread_nobody_calls_again_expires_when_the_ring_needs_it) {
  kill_child_at(StopAt::between_turns);
  wait_past_timeout();
  EXPECT_EQ(append_live(300), 300);
  EXPECT_GT(log.stats().segments_recycled, 10u);
  EXPECT_EQ(dead_state(), ExchangeState::expired);
}

TEST_F(LivenessTest, a_process_killed_after_commit_leaves_nothing_behind) {
  kill_child_at(StopAt::after_commit);
  EXPECT_EQ(dead_state(), ExchangeState::committed);
  EXPECT_EQ(append_live(300), 300);
  EXPECT_GT(log.stats().segments_recycled, 10u);
}

// A joined appender killed inside an append: its segment pin is counted
// under its process slot; the first append that finds the ring refused by
// it asks posix_liveness whether the process lives, reaps it, and the ring
// recycles past its (expired, aborted) record [T10].
TEST_F(LivenessTest, a_joined_process_killed_inside_an_append_is_reaped_and_the_ring_recycles) {
  kill_child_at(StopAt::inside_append);
  wait_past_timeout();
  EXPECT_EQ(dead_state(), ExchangeState::expired);
  EXPECT_EQ(append_live(300), 300);
  EXPECT_GT(log.stats().segments_recycled, 10u);
  EXPECT_EQ(log.reap(), 0u);  // reaped already, by the append that needed it
}

// A joined reader killed holding a snapshot: its reader pin carries its
// process slot and is reaped when the ring needs the segment [T8, T10].
TEST_F(LivenessTest, a_joined_process_killed_holding_a_snapshot_is_reaped_and_the_ring_recycles) {
  kill_child_at(StopAt::holding_snapshot);
  EXPECT_EQ(append_live(300), 300);
  EXPECT_GT(log.stats().segments_recycled, 10u);
}

// More dead readers than reader slots: a snapshot that finds every slot
// taken reaps and takes one of theirs; more deaths than process slots: each
// new child's join() takes over a dead process's slot.
TEST_F(LivenessTest, reader_slots_and_process_slots_of_dead_joined_processes_come_back) {
  const int deaths = static_cast<int>(ring_config().reader_slots) + 4;  // 12 > 8 reader slots > 7 process slots
  for (int i = 0; i < deaths; i++) kill_child_at(StopAt::holding_snapshot);  // a child that cannot join exits 11
  TurnView views[64];
  Snapshot snap;
  EXPECT_EQ(log.snapshot(id_from_string("dead"), views, 64, &snap), LogStatus::ok);
  snap.release();
  EXPECT_EQ(append_live(300), 300);
}

// A live process is never reaped, however long it holds its pin: a second
// handle of this (living) process holds a snapshot; the ring stops at it.
TEST_F(LivenessTest, a_live_joined_process_keeps_its_pin) {
  MapResult m = open_file_mapping(path.c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog other;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &other), MapStatus::ok);
  ASSERT_EQ(other.join(posix_liveness()), LogStatus::ok);
  EXPECT_NE(other.process_slot(), log.process_slot());
  ASSERT_EQ(append_live(1), 1);
  TurnView views[64];
  Snapshot snap;
  ASSERT_EQ(other.snapshot(id_from_string("live"), views, 8, &snap), LogStatus::ok);
  EXPECT_LT(append_live(300), 300);  // log_full at the pinned segment
  EXPECT_EQ(log.reap(), 0u);
  snap.release();
  EXPECT_EQ(append_live(300), 300);
}

// A process that did not join shares slot 0: what it dies holding is not
// attributed to it, so nothing can be reaped while processes run; the
// segment stays pinned and, under recycle_oldest, every append of every
// thread is log_full once the ring comes round, until recover_log() after a
// restart (RecoveryAfterDeath below). Documented in docs/DURABILITY.md.
TEST_F(LivenessTest, a_process_that_did_not_join_and_dies_inside_an_append_pins_its_segment_until_recovery) {
  kill_child_at(StopAt::inside_append, Join::no);
  wait_past_timeout();
  EXPECT_EQ(dead_state(), ExchangeState::expired);
  const int before_full = append_live(300);
  EXPECT_LT(before_full, 300);
  EXPECT_GE(before_full, 40);  // about one ring (60 records less the dead exchange's segment) went in
  wait_past_timeout();
  EXPECT_EQ(append_live(10), 0);
  EXPECT_EQ(log.reap(), 0u);
}

// The same for a reader that did not join.
TEST_F(LivenessTest, a_process_that_did_not_join_and_dies_holding_a_snapshot_pins_the_ring_until_recovery) {
  kill_child_at(StopAt::holding_snapshot, Join::no);
  wait_past_timeout();
  EXPECT_LT(append_live(300), 300);
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
  kill_child_at(StopAt::inside_append, Join::no);
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
  kill_child_at(StopAt::holding_snapshot, Join::no);
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
