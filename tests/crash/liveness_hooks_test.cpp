// Liveness across processes, at race points only the hooks build can stop a
// process at: a child installs a callback at a race point that reports to
// the parent and waits there; the parent kills it with SIGKILL in the middle
// of a transition, and checks what the survivors can still do.
//
// Findings (see docs/DURABILITY.md, "Liveness across processes"):
// - TurnLog, joined processes (Config::process_slots > 1, TurnLog::join):
//   killed at any transition (a thread or exchange claim, a segment being
//   prepared or recycled, inside an append, inside a reap) blocks nobody:
//   the first survivor that waits too long on it reaps the dead process.
//   Killed inside join(), a takeover or leave: the next joiner clears the
//   slot; no process slot is lost.
// - TurnLog, a process that did not join (shared slot 0): killed between
//   claiming an exchange slot and opening it (`turn_log.begin.claimed`)
//   leaves the slot `claiming`; every later begin on that thread waits for
//   it, runs out of its bound and answers `contended` until recover_log()
//   after a restart. Exchanges of other threads are not affected.
// - LockTable, joined processes (LockTable::join): killed keyed, before
//   publishing, or writing a renewed deadline: the next acquirer of the key
//   that waits on it reaps the dead process; the key is usable again (once
//   a published lease ends, L4).
// - LockTable, a process that did not join: killed with a slot `keyed`
//   (`lock_table.acquire.keyed`) leaves that key in transition for good:
//   every acquire of the key answers `contended` after transition_spins_max
//   yields. Other keys are not affected.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "weft/hooks.h"
#include "weft/mapping.h"
#include "weft/recovery.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

int report_fd = -1;

// Installed in the child: tell the parent, then wait to be killed.
void stop_here(void*, const char*) {
  const char ready = 'R';
  if (::write(report_fd, &ready, 1) != 1) std::_Exit(10);
  for (;;) ::pause();
}

class HookedLivenessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "weft-liveness-hooks-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  // Forks; the child installs stop_here() at `tag`, runs `body` and is killed
  // when it reaches the tag.
  template <class Body>
  void kill_child_at(const char* tag, Body body) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      report_fd = fds[1];
      hooks::Action action;
      action.kind = hooks::ActionKind::callback;
      action.callback = &stop_here;
      if (hooks::install(tag, action) < 0) std::_Exit(3);
      body();
      std::_Exit(4);  // never reached the tag
    }
    ::close(fds[1]);
    char ready = 0;
    ASSERT_EQ(::read(fds[0], &ready, 1), 1) << "the child never reached " << tag;
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    ::close(fds[0]);
  }

  std::string dir;
};

// A process that did not join: see the file comment. Its claim is marked
// with the shared slot 0, which nobody may reap while processes run.
TEST_F(HookedLivenessTest, a_process_that_did_not_join_and_dies_claiming_an_exchange_blocks_its_thread_until_recovery) {
  TurnLog::Config config;
  config.segment_bytes = 4096;
  config.segment_count = 4;
  config.thread_capacity = 16;
  config.exchanges_per_thread = 4;
  config.reader_slots = 4;
  config.exchange_timeout_ns = 20'000'000;  // 20 ms
  const std::string path = dir + "/log";
  MapResult m = create_file_mapping(path.c_str(), TurnLog::region_bytes(config));
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  ASSERT_EQ(format_log(m.mapping, config, steady_clock(), &log), MapStatus::ok);
  kill_child_at("turn_log.begin.claimed", [&] {
    MapResult mine = open_file_mapping(path.c_str());
    TurnLog child_log;
    if (mine.status != MapStatus::ok || attach_log(mine.mapping, steady_clock(), &child_log) != MapStatus::ok) {
      std::_Exit(5);
    }
    (void)child_log.begin_exchange(id_from_string("stuck"), id_from_string("dies-claiming"), BeginPolicy::queue);
  });
  ::usleep(100'000);  // five expiry timeouts: nothing expires a claim
  EXPECT_EQ(log.begin_exchange(id_from_string("stuck"), id_from_string("next"), BeginPolicy::queue).status,
            LogStatus::contended)
      << "a claim of slot 0 was taken from its (dead) holder: nothing tells a dead slot-0 holder from a live one";
  EXPECT_EQ(log.begin_exchange(id_from_string("stuck"), id_from_string("again"), BeginPolicy::queue).status,
            LogStatus::contended);
  // Other threads are not affected.
  const BeginResult other = log.begin_exchange(id_from_string("other"), id_from_string("r"), BeginPolicy::queue);
  EXPECT_EQ(other.status, LogStatus::ok);
  EXPECT_EQ(log.commit(other.exchange), LogStatus::ok);
  // Recovery on restart (weft/recovery.h) finishes the dead claim as aborted.
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.exchanges_repaired, 1u);
  const BeginResult next = log.begin_exchange(id_from_string("stuck"), id_from_string("next"), BeginPolicy::reject_if_busy);
  ASSERT_EQ(next.status, LogStatus::ok);
  EXPECT_EQ(next.exchange.ticket, 2u);
  ExchangeState dead{};
  EXPECT_EQ(log.state(ExchangeRef{id_from_string("stuck"), 1}, &dead), LogStatus::ok);
  EXPECT_EQ(dead, ExchangeState::aborted);
  // The dead claim's request id is no duplicate of anything.
  EXPECT_EQ(log.begin_exchange(id_from_string("stuck"), id_from_string("dies-claiming"), BeginPolicy::queue).status,
            LogStatus::ok);
}

// A process that did not join (documented in lock_table.h and
// docs/DURABILITY.md): see the file comment.
TEST_F(HookedLivenessTest, a_process_that_did_not_join_and_dies_mid_acquire_leaves_its_key_contended) {
  LockTable::Config config;
  config.capacity = 64;
  const std::string path = dir + "/table";
  MapResult m = create_file_mapping(path.c_str(), LockTable::region_bytes(config.capacity));
  ASSERT_EQ(m.status, MapStatus::ok);
  LockTable table;
  ASSERT_EQ(format_table(m.mapping, config, steady_clock(), &table), MapStatus::ok);
  kill_child_at("lock_table.acquire.keyed", [&] {
    MapResult mine = open_file_mapping(path.c_str());
    LockTable child_table;
    if (mine.status != MapStatus::ok || attach_table(mine.mapping, steady_clock(), &child_table) != MapStatus::ok) {
      std::_Exit(5);
    }
    (void)child_table.try_acquire(id_from_string("stuck-key"), 7, LockMode::exclusive, 10'000'000);  // 10 ms lease
  });
  ::usleep(50'000);  // five leases: the lease never began, so nothing expires
  EXPECT_EQ(table.try_acquire(id_from_string("stuck-key"), 8, LockMode::exclusive, 1'000'000'000).status,
            LockStatus::contended)
      << "a keyed state of slot 0 was taken from its (dead) holder: nothing tells a dead slot-0 holder from a live one";
  EXPECT_EQ(table.try_acquire(id_from_string("free-key"), 8, LockMode::exclusive, 1'000'000'000).status,
            LockStatus::acquired);
}


// ---- joined processes: every transition a process can die in -----------------
// With Config::process_slots > 1 and every process joined (posix_liveness),
// a process killed at any of these race points leaves nothing that blocks
// the others for good [T10]: the first survivor that waits too long on what
// it holds reaps it. Each case: a child joins, runs exchanges (a new thread,
// 300-byte turns, a ring of four 4 KiB segments that turns over) until it
// reaches the race point and is killed there; the parent (joined) then
// begins on the child's thread and runs 300 exchanges through the ring.

TurnLog::Config joined_config() {
  TurnLog::Config config;
  config.segment_bytes = 4096;
  config.segment_count = 4;
  config.thread_capacity = 16;
  config.exchanges_per_thread = 4;
  config.reader_slots = 4;
  config.exchange_timeout_ns = 200'000'000;  // 200 ms: the survivors' calls wait for reaps under load
  config.retention = TurnLog::Retention::recycle_oldest;
  config.process_slots = 4;
  return config;
}

// Appends `n` one-turn exchanges on `thread`; returns how many committed.
int run_exchanges(TurnLog& log, const char* thread, int n, int first_request = 0) {
  static const std::string payload(300, 'x');
  for (int i = 0; i < n; i++) {
    const std::string request = std::string(thread) + "-" + std::to_string(first_request + i);
    const BeginResult b = log.begin_exchange(id_from_string(thread), id_from_string(request), BeginPolicy::queue);
    if (b.status != LogStatus::ok) {
      std::fprintf(stderr, "%s: begin %d: %s\n", thread, i, to_string(b.status));
      return i;
    }
    if (const LogStatus st = log.append(b.exchange, Role::user, payload.data(), payload.size()); st != LogStatus::ok) {
      std::fprintf(stderr, "%s: append %d: %s\n", thread, i, to_string(st));
      (void)log.abort(b.exchange);
      return i;
    }
    if (const LogStatus st = log.commit(b.exchange); st != LogStatus::ok) {
      std::fprintf(stderr, "%s: commit %d: %s\n", thread, i, to_string(st));
      return i;
    }
  }
  return n;
}

class JoinedLivenessTest : public HookedLivenessTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    HookedLivenessTest::SetUp();
    path = dir + "/log";
    m = create_file_mapping(path.c_str(), TurnLog::region_bytes(joined_config()));
    ASSERT_EQ(m.status, MapStatus::ok);
    ASSERT_EQ(format_log(m.mapping, joined_config(), steady_clock(), &log), MapStatus::ok);
  }
  // The child's part: attach, join, run exchanges on `thread` (until killed).
  void child_runs(const char* thread, int exchanges = 2000) {
    MapResult mine = open_file_mapping(path.c_str());
    TurnLog child_log;
    if (mine.status != MapStatus::ok || attach_log(mine.mapping, steady_clock(), &child_log) != MapStatus::ok) {
      std::_Exit(5);
    }
    if (child_log.join(posix_liveness()) != LogStatus::ok) std::_Exit(6);
    (void)run_exchanges(child_log, thread, exchanges);
  }
  // The parent's checks once the child is dead.
  void survivors_go_on() {
    ::usleep(600'000);  // three expiry timeouts: the child's open exchange, if any, expires
    const BeginResult b = log.begin_exchange(id_from_string("child"), id_from_string("after-death"), BeginPolicy::queue);
    EXPECT_EQ(b.status, LogStatus::ok);
    if (b.status == LogStatus::ok) {
      EXPECT_EQ(log.abort(b.exchange), LogStatus::ok);
    }
    const std::uint64_t recycled = log.stats().segments_recycled;
    EXPECT_EQ(run_exchanges(log, "live", 300), 300);
    EXPECT_GT(log.stats().segments_recycled, recycled + 10);
  }
  std::string path;
  MapResult m;
  TurnLog log;
};

TEST_P(JoinedLivenessTest, a_joined_process_killed_here_blocks_nobody) {
  ASSERT_EQ(log.join(posix_liveness()), LogStatus::ok);
  kill_child_at(GetParam(), [&] { child_runs("child"); });
  survivors_go_on();
}

INSTANTIATE_TEST_SUITE_P(RacePoints, JoinedLivenessTest,
                         ::testing::Values("turn_log.thread.claimed",         // thread slot claimed, key not yet written
                                           "turn_log.begin.claimer_marked",   // exchange slot marked, not yet claimed
                                           "turn_log.begin.claimed",          // exchange slot claiming, not yet open
                                           "turn_log.open_next.preparing",    // segment preparing
                                           "turn_log.append.reserved",        // record busy, position not yet placed
                                           "turn_log.append.placed",          // inside an append (segment pinned)
                                           "turn_log.recycle.marked",         // segment recycling, head not moved
                                           "turn_log.recycle.head_moved"),    // head moved, segment not yet retired
                         [](const ::testing::TestParamInfo<const char*>& point) {
                           std::string name = point.param;
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

// A reaper killed while it cleans a dead process's slot: the slot it was
// reaping stays `reaping` by a dead reaper; the next survivor that needs it
// reaps the reaper and adopts the slot.
TEST_F(JoinedLivenessTest, a_reaper_killed_while_reaping_is_reaped_in_its_turn) {
  ASSERT_EQ(log.join(posix_liveness()), LogStatus::ok);
  kill_child_at("turn_log.append.placed", [&] { child_runs("child"); });  // dies pinning a segment
  ::usleep(600'000);  // its exchange expires
  kill_child_at("process.reap.clean", [&] { child_runs("reaper"); });    // reaps the first, dies doing it
  survivors_go_on();
  EXPECT_EQ(log.reap(), 0u);  // nothing left to reap
}

// Killed inside join(), after claiming a free slot's identity word and
// before making the slot live: the next joiner finds a free slot whose
// identity is a dead process's, clears it and takes it. No slot is lost.
TEST_F(JoinedLivenessTest, a_process_killed_inside_join_loses_no_process_slot) {
  kill_child_at("process.join.claimed", [&] { child_runs("child"); });
  ASSERT_EQ(log.join(posix_liveness()), LogStatus::ok);
  TurnLog second, third;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &second), MapStatus::ok);
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &third), MapStatus::ok);
  EXPECT_EQ(second.join(posix_liveness()), LogStatus::ok);
  EXPECT_EQ(third.join(posix_liveness()), LogStatus::ok);  // all 3 joinable slots
  TurnLog fourth;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &fourth), MapStatus::ok);
  EXPECT_EQ(fourth.join(posix_liveness()), LogStatus::too_many_processes);  // every holder lives
  survivors_go_on();
}

// Killed taking over a dead process's slot (its identity word replaced, the
// generation not yet moved on): the slot is live with the dead taker's
// identity, so the next joiner takes it over in its turn.
TEST_F(JoinedLivenessTest, a_process_killed_taking_over_a_slot_is_taken_over_in_its_turn) {
  for (int i = 0; i < 3; i++) kill_child_at("turn_log.append.placed", [&] { child_runs(("child" + std::to_string(i)).c_str()); });
  // Every joinable slot is a dead process's; this child takes one over and dies there.
  kill_child_at("process.join.taking_over", [&] { child_runs("child"); });
  ASSERT_EQ(log.join(posix_liveness()), LogStatus::ok);
  survivors_go_on();
}

// Killed leaving (the destructor freed the slot, the identity word not yet
// cleared) or freeing a reaped slot: the next joiner clears the identity.
TEST_F(JoinedLivenessTest, a_process_killed_leaving_loses_no_process_slot) {
  kill_child_at("process.leave.freed", [&] { child_runs("child", 3); });  // runs 3 exchanges, then leaves
  ASSERT_EQ(log.join(posix_liveness()), LogStatus::ok);
  TurnLog second, third;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &second), MapStatus::ok);
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &third), MapStatus::ok);
  EXPECT_EQ(second.join(posix_liveness()), LogStatus::ok);
  EXPECT_EQ(third.join(posix_liveness()), LogStatus::ok);
  survivors_go_on();
}

// ---- LockTable, joined processes ------------------------------------------------
// A process killed in the middle of a transition of a LockTable slot: its
// claim or keyed state carries its process slot, a deadline it was writing
// is marked with it, and the first acquirer of the key that waits on it too
// long reaps it. The lease itself, if it was published, ends at its deadline
// (L4). Each case: the parent holds the key with a 1 ms lease that runs out,
// the child joins and takes the key over (10 ms lease), then renews it for
// a second (the deadline is written); it is killed at the race point; the
// parent must get the key within two seconds.
class JoinedLockTableTest : public HookedLivenessTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(JoinedLockTableTest, a_joined_process_killed_here_leaves_the_key_usable) {
  LockTable::Config config;
  config.capacity = 64;
  config.process_slots = 4;
  const std::string path = dir + "/table";
  MapResult m = create_file_mapping(path.c_str(), LockTable::region_bytes(config));
  ASSERT_EQ(m.status, MapStatus::ok);
  LockTable table;
  ASSERT_EQ(format_table(m.mapping, config, steady_clock(), &table), MapStatus::ok);
  ASSERT_EQ(table.join(posix_liveness()), LockStatus::ok);
  const Id key = id_from_string("stuck-key");
  ASSERT_EQ(table.try_acquire(key, 1, LockMode::exclusive, 1'000'000).status, LockStatus::acquired);
  ::usleep(5'000);  // the parent's lease ran out: the child takes it over
  kill_child_at(GetParam(), [&] {
    MapResult mine = open_file_mapping(path.c_str());
    LockTable child_table;
    if (mine.status != MapStatus::ok || attach_table(mine.mapping, steady_clock(), &child_table) != MapStatus::ok ||
        child_table.join(posix_liveness()) != LockStatus::ok) {
      std::_Exit(5);
    }
    const AcquireResult a = child_table.try_acquire(key, 7, LockMode::exclusive, 10'000'000);  // 10 ms
    if (a.status != LockStatus::acquired) std::_Exit(6);
    (void)child_table.renew(key, a.token, 1'000'000'000);  // 1 s: writes the deadline
    (void)child_table.try_acquire(id_from_string("fresh-key"), 7, LockMode::exclusive, 10'000'000);  // a claim
  });
  LockStatus last = LockStatus::ok;
  bool acquired = false;
  for (int i = 0; i < 2000 && !acquired; i++) {  // up to about 2 s (a renewed lease ends after 1 s)
    const AcquireResult a = table.try_acquire(key, 8, LockMode::exclusive, 1'000'000'000);
    last = a.status;
    acquired = a.status == LockStatus::acquired;
    if (!acquired) ::usleep(1'000);
  }
  EXPECT_TRUE(acquired) << "the key stays " << to_string(last) << " after its holder's process died";
  EXPECT_EQ(table.try_acquire(id_from_string("fresh-key"), 8, LockMode::exclusive, 1'000'000'000).status,
            LockStatus::acquired);
}

INSTANTIATE_TEST_SUITE_P(RacePoints, JoinedLockTableTest,
                         ::testing::Values("lock_table.acquire.keyed",     // a takeover keyed (the side words not yet written)
                                           "lock_table.publish.before",    // side words written, not yet published
                                           "lock_table.writing.deadline",  // renewing: `writing` set, deadline not yet written
                                           "lock_table.acquire.before_claim"),  // a claim of a fresh key (nothing taken yet)
                         [](const ::testing::TestParamInfo<const char*>& point) {
                           std::string name = point.param;
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace weft::testing
