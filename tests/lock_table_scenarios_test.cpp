// Scenario tests S2.a-S2.j (session locking) and S4.b, S4.c, S4.e (task
// registries) from docs/SCENARIOS.md, on the hooks build. Where a scenario is a
// race, race-point latches force the exact interleaving it describes, so the
// outcome is deterministic: no sleeps, no luck.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "support/lock_fixture.h"
#include "support/orchestration.h"
#include "weft/hooks.h"

namespace weft::testing {
namespace {

namespace hooks = weft::hooks;

constexpr std::uint64_t lease = 1'000'000;
constexpr OwnerId alice = 11;
constexpr OwnerId bob = 22;

class Scenario : public Orchestrated<LockTableTest> {
 protected:
  void SetUp() override {
    Orchestrated<LockTableTest>::SetUp();
    make(16, 4);
  }

  // Forces "both checked that the session is free before either claimed it":
  // actor 2 starts its scan only after actor 1 finished its scan, and actor 1
  // claims only once actor 2 is about to publish. Actor 1's claim then fails
  // and it must see actor 2's holder.
  void both_past_the_free_check() {
    hooks::signal_at("lock_table.acquire.after_scan", &first_scanned_, 1);
    hooks::pause_at("lock_table.acquire.scan", &first_scanned_, 2);
    hooks::pause_at("lock_table.acquire.before_claim", &second_publishing_, 1);
    hooks::signal_at("lock_table.publish.before", &second_publishing_, 2);
  }

 private:
  hooks::Latch first_scanned_{1};
  hooks::Latch second_publishing_{1};
};

// S2.a: two edits of the same session; both have checked "is it free?"
// before either claims. The second gets busy (HTTP 409).
TEST_F(Scenario, S2_a_two_edits_of_one_session_second_gets_busy) {
  both_past_the_free_check();
  AcquireResult first, second;
  std::thread t1 = actor(1, [&] { first = table.try_acquire(key(1), alice, LockMode::exclusive, lease); });
  std::thread t2 = actor(2, [&] { second = table.try_acquire(key(1), bob, LockMode::exclusive, lease); });
  t1.join();
  t2.join();
  EXPECT_EQ(second.status, LockStatus::acquired);
  EXPECT_EQ(first.status, LockStatus::busy);
  EXPECT_EQ(first.holder, bob);
  EXPECT_GE(table.stats().cas_retries, 1u);  // the first one's claim CAS lost
}

// S2.a, harder: the two edits claim *different* empty slots of the window
// (a third session left between their scans). The insert-if-absent
// verification makes the later claimer back out.
TEST_F(Scenario, S2_a_two_edits_claiming_different_slots_leave_one_holder) {
  const std::uint32_t home = 5;
  const Id k = key_with_home(home, 16, 0);
  const Id other = key_with_home(home, 16, 1);
  const auto held = table.try_acquire(other, 99, LockMode::exclusive, lease);  // slot 5
  ASSERT_EQ(held.status, LockStatus::acquired);

  hooks::Latch t1_scanned(1), t2_done(1);
  hooks::signal_at("lock_table.acquire.after_scan", &t1_scanned, 1);
  hooks::pause_at("lock_table.acquire.before_claim", &t2_done, 1);  // t1 will claim slot 6
  AcquireResult first, second;
  std::thread t1 = actor(1, [&] { first = table.try_acquire(k, alice, LockMode::exclusive, lease); });
  ASSERT_TRUE(wait(t1_scanned));
  ASSERT_EQ(table.release(other, held.token).status, LockStatus::released);  // slot 5 free
  std::thread t2 = actor(2, [&] { second = table.try_acquire(k, bob, LockMode::exclusive, lease); });
  t2.join();  // t2 claimed slot 5, verified, published
  t2_done.count_down();
  t1.join();  // t1 claims slot 6, sees slot 5 held with the same key, backs out
  EXPECT_EQ(second.status, LockStatus::acquired);
  EXPECT_EQ(first.status, LockStatus::busy);
  EXPECT_EQ(table.stats().backouts, 1u);
  EXPECT_EQ(table.inspect(k).owner, bob);
}

// S2.a, hardest: both claimers are keyed at once. The one earlier in the
// window waits for the later one, which backs out (the wait path).
TEST_F(Scenario, S2_a_two_keyed_claimers_at_once_resolve_to_the_earlier_slot) {
  const std::uint32_t home = 9;
  const Id k = key_with_home(home, 16, 0);
  const Id other = key_with_home(home, 16, 1);
  const auto held = table.try_acquire(other, 99, LockMode::exclusive, lease);  // slot 9
  ASSERT_EQ(held.status, LockStatus::acquired);

  hooks::Latch t1_scanned(1), t2_scanned(1), t1_keyed(1), t2_waiting(1), go_t1(1);
  hooks::signal_at("lock_table.acquire.after_scan", &t1_scanned, 1);
  hooks::pause_at("lock_table.acquire.before_claim", &go_t1, 1);
  hooks::signal_at("lock_table.acquire.keyed", &t1_keyed, 1);
  hooks::pause_at("lock_table.acquire.keyed", &t2_waiting, 1);
  hooks::signal_at("lock_table.acquire.after_scan", &t2_scanned, 2);
  hooks::pause_at("lock_table.acquire.before_claim", &t1_keyed, 2);
  hooks::signal_at("lock_table.verify.wait", &t2_waiting, 2);

  AcquireResult first, second;
  std::thread t1 = actor(1, [&] { first = table.try_acquire(k, alice, LockMode::exclusive, lease); });
  ASSERT_TRUE(wait(t1_scanned));  // t1 chose slot 10
  ASSERT_EQ(table.release(other, held.token).status, LockStatus::released);
  std::thread t2 = actor(2, [&] { second = table.try_acquire(k, bob, LockMode::exclusive, lease); });
  ASSERT_TRUE(wait(t2_scanned));  // t2 chose slot 9
  go_t1.count_down();             // t1 keys slot 10 and stops; t2 keys slot 9 and waits
  t1.join();
  t2.join();
  EXPECT_EQ(second.status, LockStatus::acquired);
  EXPECT_EQ(first.status, LockStatus::busy);
  EXPECT_EQ(table.stats().backouts, 1u);
}

// S2.b: two reads of the same session both succeed; neither blocks.
TEST_F(Scenario, S2_b_two_reads_of_one_session_both_succeed) {
  both_past_the_free_check();
  AcquireResult first, second;
  std::thread t1 = actor(1, [&] { first = table.try_acquire(key(1), alice, LockMode::shared, lease); });
  std::thread t2 = actor(2, [&] { second = table.try_acquire(key(1), bob, LockMode::shared, lease); });
  t1.join();
  t2.join();
  EXPECT_EQ(first.status, LockStatus::acquired);
  EXPECT_EQ(second.status, LockStatus::acquired);
  EXPECT_EQ(first.token, second.token);
  EXPECT_EQ(first.depth, 2u);  // actor 1 joined actor 2's group
  EXPECT_EQ(table.inspect(key(1)).count, 2u);
  EXPECT_GE(table.stats().cas_retries, 1u);
}

// S2.c: an edit arrives while a background verification holds the session.
// The edit is refused, asks for cancellation; the verification sees the flag,
// stops and releases; the edit then gets the session. State stays consistent.
TEST_F(Scenario, S2_c_edit_during_background_verification_cancels_it_cleanly) {
  hooks::Latch verifying(1), cancel_asked(1);
  std::atomic<int> steps_done{0};
  Token verification_token = 0;
  std::thread verification([&] {
    const auto v = table.try_acquire(key(1), alice, LockMode::shared, lease);
    ASSERT_EQ(v.status, LockStatus::acquired);
    verification_token = v.token;
    verifying.count_down();
    ASSERT_TRUE(wait(cancel_asked));
    for (int step = 0; step < 1000; step++) {  // bounded work loop
      const auto poll = table.poll_cancel(key(1), v.token);
      ASSERT_EQ(poll.status, LockStatus::ok);
      if (poll.requested) break;
      steps_done++;
    }
    EXPECT_EQ(table.release(key(1), v.token).status, LockStatus::released);
  });
  ASSERT_TRUE(wait(verifying));
  const auto refused = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  EXPECT_EQ(refused.status, LockStatus::busy);
  EXPECT_EQ(table.request_cancel(key(1)), LockStatus::ok);
  cancel_asked.count_down();
  verification.join();
  EXPECT_EQ(steps_done.load(), 0);  // it stopped at its first poll
  const auto edit = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  ASSERT_EQ(edit.status, LockStatus::acquired);
  EXPECT_GT(edit.token, verification_token);
  EXPECT_FALSE(table.poll_cancel(key(1), edit.token).requested);  // flag cleared
}

// S2.d: two users on different sessions succeed independently, even when one
// is stopped half-way through its acquire (keyed, not yet published).
TEST_F(Scenario, S2_d_different_sessions_never_wait_for_each_other) {
  const Id a = key_with_home(3, 16, 0);
  const Id b = key_with_home(3, 16, 1);  // same window
  hooks::Latch a_keyed(1), b_done(1);
  hooks::signal_at("lock_table.acquire.keyed", &a_keyed, 1);
  hooks::pause_at("lock_table.acquire.keyed", &b_done, 1);
  AcquireResult first, second;
  std::thread t1 = actor(1, [&] { first = table.try_acquire(a, alice, LockMode::exclusive, lease); });
  ASSERT_TRUE(wait(a_keyed));  // a is half-way: keyed, not published
  std::thread t2 = actor(2, [&] {
    second = table.try_acquire(b, bob, LockMode::exclusive, lease);
    b_done.count_down();
  });
  t2.join();
  t1.join();
  EXPECT_EQ(second.status, LockStatus::acquired);
  EXPECT_EQ(first.status, LockStatus::acquired);
}

// S2.e: rapid-fire requests on one session are acquired or refused, never
// corrupting: at most one holder at a time, and the session ends free.
TEST_F(Scenario, S2_e_rapid_fire_requests_are_acquired_or_busy_never_corrupting) {
  std::atomic<int> inside{0}, overlaps{0}, acquired{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; i++) {
        const auto r = table.try_acquire(key(1), 100 + static_cast<OwnerId>(t),
                                         LockMode::exclusive, lease);
        if (r.status == LockStatus::busy) { refused++; continue; }
        if (r.status != LockStatus::acquired) { other++; continue; }
        acquired++;
        if (inside.fetch_add(1) != 0) overlaps++;
        inside.fetch_sub(1);
        if (table.release(key(1), r.token).status != LockStatus::released) other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(acquired.load() + refused.load(), 8000);
  EXPECT_FALSE(table.inspect(key(1)).held);
}

// S2.f: a lock whose holder vanished is released by its timeout.
TEST_F(Scenario, S2_f_stale_lock_of_a_vanished_holder_expires) {
  const auto vanished = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  ASSERT_EQ(vanished.status, LockStatus::acquired);
  EXPECT_EQ(table.try_acquire(key(1), bob, LockMode::exclusive, lease).status, LockStatus::busy);
  advance(lease + 1);
  const auto fresh = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  ASSERT_EQ(fresh.status, LockStatus::acquired);
  EXPECT_GT(fresh.token, vanished.token);
  EXPECT_EQ(table.release(key(1), vanished.token).status, LockStatus::stale);
  EXPECT_EQ(table.inspect(key(1)).owner, bob);
}

// S2.f under a race: the takeover is stopped half-way (keyed) while the
// vanished holder comes back to release. The late release must not free the
// new holder's lock: it waits out the transition and is told `stale`.
TEST_F(Scenario, S2_f_late_release_racing_a_takeover_is_stale) {
  const auto vanished = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  advance(lease + 1);
  hooks::Latch keyed(1), release_waiting(1);
  hooks::signal_at("lock_table.publish.before", &keyed, 2);
  hooks::pause_at("lock_table.publish.before", &release_waiting, 2);
  hooks::signal_at("lock_table.wait_transition", &release_waiting, 1);
  ReleaseResult late;
  AcquireResult fresh;
  std::thread taker = actor(2, [&] { fresh = table.try_acquire(key(1), bob, LockMode::exclusive, lease); });
  ASSERT_TRUE(wait(keyed));  // the takeover is keyed; its publish is paused
  std::thread late_releaser = actor(1, [&] { late = table.release(key(1), vanished.token); });
  taker.join();
  late_releaser.join();
  EXPECT_EQ(fresh.status, LockStatus::acquired);
  EXPECT_EQ(late.status, LockStatus::stale);
  EXPECT_TRUE(table.inspect(key(1)).held);
  EXPECT_EQ(table.inspect(key(1)).token, fresh.token);
}

// S2.g: a released lock can be taken again, also by a request that was
// refused while the release was under way.
TEST_F(Scenario, S2_g_release_and_reacquire) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  hooks::Latch refused(1);
  hooks::pause_at("lock_table.release.before_cas", &refused, 1);
  ReleaseResult released;
  std::thread releaser = actor(1, [&] { released = table.release(key(1), a.token); });
  const auto during = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  EXPECT_EQ(during.status, LockStatus::busy);
  refused.count_down();
  releaser.join();
  EXPECT_EQ(released.status, LockStatus::released);
  const auto again = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  ASSERT_EQ(again.status, LockStatus::acquired);
  EXPECT_GT(again.token, a.token);
  EXPECT_EQ(table.release(key(1), again.token).status, LockStatus::released);
  EXPECT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, lease).status,
            LockStatus::acquired);
}

// S2.h: an add (new session) and a delete (release) race in one window while
// the deleted session is re-added: no lost item, no duplicate, no stray slot.
TEST_F(Scenario, S2_h_add_and_delete_racing_lose_nothing) {
  const Id deleted = key_with_home(7, 16, 0);
  const Id added = key_with_home(7, 16, 1);
  const auto d = table.try_acquire(deleted, alice, LockMode::exclusive, lease);  // slot 7
  hooks::Latch scanned(1), readded(1);
  hooks::signal_at("lock_table.acquire.after_scan", &scanned, 1);
  hooks::pause_at("lock_table.acquire.before_claim", &readded, 1);
  AcquireResult add;
  std::thread adder = actor(1, [&] { add = table.try_acquire(added, bob, LockMode::exclusive, lease); });
  ASSERT_TRUE(wait(scanned));  // the adder chose slot 8
  ASSERT_EQ(table.release(deleted, d.token).status, LockStatus::released);
  const auto back = table.try_acquire(deleted, alice, LockMode::exclusive, lease);  // slot 7 again
  ASSERT_EQ(back.status, LockStatus::acquired);
  readded.count_down();
  adder.join();
  ASSERT_EQ(add.status, LockStatus::acquired);
  EXPECT_EQ(table.inspect(deleted).token, back.token);
  EXPECT_EQ(table.inspect(added).token, add.token);
  EXPECT_EQ(table.release(deleted, back.token).status, LockStatus::released);
  EXPECT_EQ(table.release(added, add.token).status, LockStatus::released);
  EXPECT_FALSE(table.inspect(deleted).held);
  EXPECT_FALSE(table.inspect(added).held);
}

// S2.i: ten sessions created concurrently all exist, with distinct tokens.
TEST_F(Scenario, S2_i_ten_sessions_created_concurrently_all_exist) {
  make(16, 16);
  std::vector<AcquireResult> results(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; i++) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          table.try_acquire(key(static_cast<std::uint64_t>(i)), 100 + static_cast<OwnerId>(i),
                            LockMode::exclusive, lease);
    });
  }
  for (auto& t : threads) t.join();
  std::set<Token> tokens;
  for (int i = 0; i < 10; i++) {
    const auto& r = results[static_cast<std::size_t>(i)];
    ASSERT_EQ(r.status, LockStatus::acquired) << i;
    tokens.insert(r.token);
    const LockInfo info = table.inspect(key(static_cast<std::uint64_t>(i)));
    EXPECT_TRUE(info.held);
    EXPECT_EQ(info.owner, 100 + static_cast<OwnerId>(i));
  }
  EXPECT_EQ(tokens.size(), 10u);
}

// S2.j: five threads each update three of four "tables" under their session
// locks. try_acquire never blocks, so a thread that meets busy releases what
// it holds and tries again: no deadlock, and every update lands. The counters
// are plain ints: the lock's release/acquire ordering is what makes them safe
// (TSan checks it in the tsan preset).
TEST_F(Scenario, S2_j_multi_table_update_from_five_threads_completes) {
  constexpr int tables = 4, workers = 5, updates = 200;
  int counters[tables] = {0, 0, 0, 0};
  std::atomic<int> gave_up{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; w++) {
    threads.emplace_back([&, w] {
      const OwnerId me = 500 + static_cast<OwnerId>(w);
      for (int u = 0; u < updates; u++) {
        const int skip = (w + u) % tables;
        bool done = false;
        for (int attempt = 0; attempt < 100'000 && !done; attempt++) {  // bounded wait
          Token held[tables] = {0, 0, 0, 0};
          bool all = true;
          for (int i = 0; i < tables && all; i++) {
            const int t = (w + i) % tables;  // different orders per worker
            if (t == skip) continue;
            const auto r = table.try_acquire(key(900 + static_cast<std::uint64_t>(t)), me,
                                             LockMode::exclusive, lease);
            if (r.status == LockStatus::acquired) held[t] = r.token;
            else all = false;
          }
          if (all) {
            for (int t = 0; t < tables; t++) if (t != skip) counters[t]++;
            done = true;
          }
          for (int t = 0; t < tables; t++) {
            if (held[t] != 0) (void)table.release(key(900 + static_cast<std::uint64_t>(t)), held[t]);
          }
          if (!done) std::this_thread::yield();
        }
        if (!done) gave_up++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(gave_up.load(), 0);
  int total = 0;
  for (int t = 0; t < tables; t++) total += counters[t];
  EXPECT_EQ(total, workers * updates * (tables - 1));
}

// S4.b: two requests both see "no task" for a session; with the lock table's
// insert-if-absent, exactly one of them creates the task.
TEST_F(Scenario, S4_b_check_then_create_starts_exactly_one_task) {
  both_past_the_free_check();
  std::atomic<int> tasks{0};
  auto request = [&](OwnerId me) {
    const auto r = table.try_acquire(key(42), me, LockMode::exclusive, lease);
    if (r.status == LockStatus::acquired) tasks++;  // "create the task"
  };
  std::thread t1 = actor(1, [&] { request(alice); });
  std::thread t2 = actor(2, [&] { request(bob); });
  t1.join();
  t2.join();
  EXPECT_EQ(tasks.load(), 1);
  EXPECT_EQ(table.inspect(key(42)).owner, bob);
}

TEST_F(Scenario, S4_b_sixteen_racing_requests_start_exactly_one_task_per_session) {
  make(64, 16);
  std::atomic<int> tasks[4] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; t++) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < 4; s++) {
        const auto r = table.try_acquire(key(70 + static_cast<std::uint64_t>(s)),
                                         200 + static_cast<OwnerId>(t), LockMode::exclusive,
                                         lease);
        if (r.status == LockStatus::acquired) tasks[s]++;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int s = 0; s < 4; s++) EXPECT_EQ(tasks[s].load(), 1) << "session " << s;
}

// S4.c: /clear races with a starting task: clear cancels what runs, waits for
// it to stop, then clears; the task never writes after the clear.
TEST_F(Scenario, S4_c_clear_during_task_cancels_then_clears) {
  std::vector<int> history;  // guarded by the session lock
  hooks::Latch task_started(1);
  std::atomic<bool> task_stopped{false};
  std::thread task([&] {
    const auto r = table.try_acquire(key(5), alice, LockMode::exclusive, lease);
    ASSERT_EQ(r.status, LockStatus::acquired);
    history.push_back(1);
    task_started.count_down();
    for (int step = 0; step < 1'000'000; step++) {  // bounded
      if (table.poll_cancel(key(5), r.token).requested) break;
      std::this_thread::yield();
    }
    task_stopped = true;
    EXPECT_EQ(table.release(key(5), r.token).status, LockStatus::released);
  });
  ASSERT_TRUE(wait(task_started));
  ASSERT_EQ(table.request_cancel(key(5)), LockStatus::ok);
  AcquireResult clear{};
  for (int attempt = 0; attempt < 1'000'000; attempt++) {  // bounded
    clear = table.try_acquire(key(5), bob, LockMode::exclusive, lease);
    if (clear.status == LockStatus::acquired) break;
    std::this_thread::yield();
  }
  ASSERT_EQ(clear.status, LockStatus::acquired);
  EXPECT_TRUE(task_stopped.load());
  history.clear();
  EXPECT_EQ(table.release(key(5), clear.token).status, LockStatus::released);
  task.join();
  EXPECT_TRUE(history.empty());
}

// S4.e: clear holds the session lock and calls get-or-create, which takes the
// same lock again: with the same owner it nests instead of deadlocking.
TEST_F(Scenario, S4_e_nested_acquire_by_the_same_owner_does_not_deadlock) {
  const OwnerId clear_request = 77;
  auto get_or_create = [&]() {
    const auto inner = table.try_acquire(key(8), clear_request, LockMode::exclusive, lease);
    EXPECT_EQ(inner.status, LockStatus::acquired);
    EXPECT_EQ(inner.depth, 2u);
    EXPECT_EQ(table.release(key(8), inner.token).depth_left, 1u);
  };
  const auto outer = table.try_acquire(key(8), clear_request, LockMode::exclusive, lease);
  ASSERT_EQ(outer.status, LockStatus::acquired);
  get_or_create();
  EXPECT_EQ(table.try_acquire(key(8), bob, LockMode::exclusive, lease).status, LockStatus::busy);
  EXPECT_EQ(table.release(key(8), outer.token).depth_left, 0u);
  EXPECT_FALSE(table.inspect(key(8)).held);
}

}  // namespace
}  // namespace weft::testing
