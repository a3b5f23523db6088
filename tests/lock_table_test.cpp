// Single-threaded tests of the LockTable, one group per contract (L1-L8; L9
// has its own threaded file), plus the API's error paths. Threaded tests live
// in lock_table_linearizability_test.cpp, lock_table_stress_test.cpp and the
// scenario tests.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "support/lock_fixture.h"

namespace weft::testing {
namespace {

constexpr std::uint64_t lease = 1'000'000;  // 1 ms
constexpr OwnerId alice = 11;
constexpr OwnerId bob = 22;
constexpr OwnerId carol = 33;

using L1_exclusion = LockTableTest;
using LockTableApi_ = LockTableTest;

TEST_F(L1_exclusion, second_exclusive_acquire_is_busy_and_names_the_holder) {
  const auto first = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  ASSERT_EQ(first.status, LockStatus::acquired);
  const auto second = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  EXPECT_EQ(second.status, LockStatus::busy);
  EXPECT_EQ(second.holder, alice);
  EXPECT_EQ(second.holder_mode, LockMode::exclusive);
  EXPECT_EQ(second.holder_until_ns, now() + lease);
}

TEST_F(L1_exclusion, shared_holders_coexist_and_exclude_an_exclusive_one) {
  const auto a = table.try_acquire(key(1), alice, LockMode::shared, lease);
  const auto b = table.try_acquire(key(1), bob, LockMode::shared, lease);
  ASSERT_EQ(a.status, LockStatus::acquired);
  ASSERT_EQ(b.status, LockStatus::acquired);
  EXPECT_EQ(b.depth, 2u);
  EXPECT_EQ(a.token, b.token);  // one group, one fencing token
  const auto c = table.try_acquire(key(1), carol, LockMode::exclusive, lease);
  EXPECT_EQ(c.status, LockStatus::busy);
  EXPECT_EQ(c.holder_mode, LockMode::shared);
  EXPECT_EQ(table.inspect(key(1)).count, 2u);
}

TEST_F(LockTableApi_, inspect_says_whether_its_view_is_consistent) {
  EXPECT_EQ(table.inspect(key(1)).status, LockStatus::ok);  // free: a consistent "not held"
  EXPECT_FALSE(table.inspect(key(1)).held);
  (void)table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  EXPECT_EQ(table.inspect(key(1)).status, LockStatus::ok);
  EXPECT_TRUE(table.inspect(key(1)).held);
  LockTable none;
  EXPECT_EQ(none.inspect(key(1)).status, LockStatus::not_initialized);
}

TEST_F(L1_exclusion, exclusive_holder_excludes_shared_requests_of_others) {
  ASSERT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, lease).status,
            LockStatus::acquired);
  EXPECT_EQ(table.try_acquire(key(1), bob, LockMode::shared, lease).status, LockStatus::busy);
}

TEST_F(L1_exclusion, shared_holder_cannot_upgrade_while_shared) {
  // Upgrades are not supported: try_acquire never blocks, so this is busy,
  // not a self-deadlock.
  ASSERT_EQ(table.try_acquire(key(1), alice, LockMode::shared, lease).status,
            LockStatus::acquired);
  EXPECT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, lease).status,
            LockStatus::busy);
}

using L2_ownership = LockTableTest;

TEST_F(L2_ownership, rejects_release_with_a_foreign_token_and_changes_nothing) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  ASSERT_EQ(a.status, LockStatus::acquired);
  const LockInfo before = table.inspect(key(1));
  EXPECT_EQ(table.release(key(1), a.token + 100).status, LockStatus::not_owner);
  const LockInfo after = table.inspect(key(1));
  EXPECT_TRUE(after.held);
  EXPECT_EQ(after.token, before.token);
  EXPECT_EQ(after.count, before.count);
  EXPECT_EQ(after.deadline_ns, before.deadline_ns);
}

TEST_F(L2_ownership, rejects_release_with_a_stale_token_after_takeover) {
  const auto old_holder = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  advance(lease + 1);
  const auto new_holder = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  ASSERT_EQ(new_holder.status, LockStatus::acquired);
  // The famous lock-service bug: a late release by the expired holder must
  // not delete the new holder's lock.
  EXPECT_EQ(table.release(key(1), old_holder.token).status, LockStatus::stale);
  const LockInfo info = table.inspect(key(1));
  EXPECT_TRUE(info.held);
  EXPECT_EQ(info.owner, bob);
  EXPECT_EQ(info.token, new_holder.token);
}

TEST_F(L2_ownership, rejects_renew_with_wrong_token) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  const std::uint64_t deadline = table.inspect(key(1)).deadline_ns;
  advance(10);
  EXPECT_EQ(table.renew(key(1), a.token + 1, lease).status, LockStatus::not_owner);
  EXPECT_EQ(table.inspect(key(1)).deadline_ns, deadline);
}

TEST_F(L2_ownership, double_release_is_not_held) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  EXPECT_EQ(table.release(key(1), a.token).status, LockStatus::released);
  EXPECT_EQ(table.release(key(1), a.token).status, LockStatus::not_held);
}

using L3_fencing = LockTableTest;

TEST_F(L3_fencing, tokens_strictly_increase_across_holders_and_slot_reuse) {
  std::vector<Token> tokens;
  for (int round = 0; round < 50; round++) {
    // Other keys come and go so the session lands in different slots.
    const auto other = table.try_acquire(key(1000 + round % 3), carol,
                                         LockMode::exclusive, lease);
    const auto a = table.try_acquire(key(1), round % 2 ? alice : bob,
                                     round % 3 ? LockMode::exclusive : LockMode::shared,
                                     lease);
    ASSERT_EQ(a.status, LockStatus::acquired);
    tokens.push_back(a.token);
    if (round % 4 == 0) {
      advance(lease + 1);  // expire: next round takes over
    } else {
      ASSERT_EQ(table.release(key(1), a.token).status, LockStatus::released);
    }
    if (other.status == LockStatus::acquired) {
      (void)table.release(key(1000 + round % 3), other.token);
    }
  }
  for (std::size_t i = 1; i < tokens.size(); i++) EXPECT_LT(tokens[i - 1], tokens[i]);
}

TEST_F(L3_fencing, reentry_keeps_the_token) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  const auto again = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  EXPECT_EQ(again.token, a.token);
}

using L4_expiry = LockTableTest;

TEST_F(L4_expiry, lease_holds_until_its_deadline_inclusive) {
  ASSERT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, lease).status,
            LockStatus::acquired);
  advance(lease);  // now == deadline: still held
  EXPECT_EQ(table.try_acquire(key(1), bob, LockMode::exclusive, lease).status,
            LockStatus::busy);
  advance(1);  // now > deadline: taken over
  const auto b = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  EXPECT_EQ(b.status, LockStatus::acquired);
  EXPECT_EQ(table.stats().expiries, 1u);
}

TEST_F(L4_expiry, expired_holder_cannot_renew_even_before_a_takeover) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  advance(lease + 1);
  EXPECT_EQ(table.renew(key(1), a.token, lease).status, LockStatus::stale);
}

TEST_F(L4_expiry, old_token_is_stale_everywhere_after_takeover) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  advance(lease + 1);
  const auto b = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  ASSERT_EQ(b.status, LockStatus::acquired);
  EXPECT_GT(b.token, a.token);
  EXPECT_EQ(table.renew(key(1), a.token, lease).status, LockStatus::stale);
  EXPECT_EQ(table.poll_cancel(key(1), a.token).status, LockStatus::stale);
  EXPECT_EQ(table.release(key(1), a.token).status, LockStatus::stale);
}

TEST_F(L4_expiry, expiry_is_measured_from_the_last_renewal_not_from_acquisition) {
  // The well-known unblocker bug: a timeout measured from the start fires on
  // a healthy holder that kept renewing.
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  advance(lease * 9 / 10);
  const auto renewed = table.renew(key(1), a.token, lease);
  ASSERT_EQ(renewed.status, LockStatus::renewed);
  EXPECT_EQ(renewed.deadline_ns, now() + lease);
  advance(lease / 2);  // past the first deadline, before the renewed one
  EXPECT_EQ(table.try_acquire(key(1), bob, LockMode::exclusive, lease).status,
            LockStatus::busy);
}

TEST_F(L4_expiry, renew_never_shortens_a_lease) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, 10 * lease);
  const std::uint64_t deadline = table.inspect(key(1)).deadline_ns;
  const auto renewed = table.renew(key(1), a.token, lease);
  EXPECT_EQ(renewed.status, LockStatus::renewed);
  EXPECT_EQ(renewed.deadline_ns, deadline);
}

TEST_F(L4_expiry, an_expired_slot_of_another_key_is_evicted_when_space_is_needed) {
  make(4, 4);  // one window covers the whole table
  for (std::uint64_t i = 0; i < 4; i++) {
    ASSERT_EQ(table.try_acquire(key(i), alice, LockMode::exclusive, lease).status,
              LockStatus::acquired);
  }
  EXPECT_EQ(table.try_acquire(key(9), bob, LockMode::exclusive, lease).status,
            LockStatus::table_full);
  advance(lease + 1);
  EXPECT_EQ(table.try_acquire(key(9), bob, LockMode::exclusive, lease).status,
            LockStatus::acquired);
}

using L5_independence = LockTableTest;

TEST_F(L5_independence, keys_sharing_a_window_do_not_interfere) {
  make(16, 4);
  const Id a = key_with_home(3, 16, 0);
  const Id b = key_with_home(3, 16, 1);
  const auto ha = table.try_acquire(a, alice, LockMode::exclusive, lease);
  const auto hb = table.try_acquire(b, bob, LockMode::exclusive, lease);
  ASSERT_EQ(ha.status, LockStatus::acquired);
  ASSERT_EQ(hb.status, LockStatus::acquired);
  EXPECT_EQ(table.release(a, ha.token).status, LockStatus::released);
  const LockInfo info = table.inspect(b);
  EXPECT_TRUE(info.held);
  EXPECT_EQ(info.owner, bob);
  EXPECT_EQ(table.request_cancel(a), LockStatus::not_held);
  EXPECT_FALSE(table.inspect(b).cancel_requested);
}

TEST_F(L5_independence, a_full_window_affects_only_keys_of_that_window) {
  make(16, 2);
  const Id a = key_with_home(5, 16, 0);
  const Id b = key_with_home(5, 16, 1);
  const Id c = key_with_home(5, 16, 2);
  const Id far = key_with_home(12, 16, 0);
  ASSERT_EQ(table.try_acquire(a, alice, LockMode::exclusive, lease).status, LockStatus::acquired);
  ASSERT_EQ(table.try_acquire(b, alice, LockMode::exclusive, lease).status, LockStatus::acquired);
  EXPECT_EQ(table.try_acquire(c, alice, LockMode::exclusive, lease).status, LockStatus::table_full);
  EXPECT_EQ(table.try_acquire(far, alice, LockMode::exclusive, lease).status, LockStatus::acquired);
}

using L6_reentrancy = LockTableTest;

TEST_F(L6_reentrancy, same_owner_nests_and_must_release_each_level) {
  const auto a1 = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  const auto a2 = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  const auto a3 = table.try_acquire(key(1), alice, LockMode::shared, lease);  // nests too
  ASSERT_EQ(a3.status, LockStatus::acquired);
  EXPECT_EQ(a1.depth, 1u);
  EXPECT_EQ(a2.depth, 2u);
  EXPECT_EQ(a3.depth, 3u);
  EXPECT_EQ(table.release(key(1), a1.token).depth_left, 2u);
  EXPECT_EQ(table.release(key(1), a1.token).depth_left, 1u);
  EXPECT_EQ(table.try_acquire(key(1), bob, LockMode::exclusive, lease).status, LockStatus::busy);
  EXPECT_EQ(table.release(key(1), a1.token).depth_left, 0u);
  EXPECT_EQ(table.try_acquire(key(1), bob, LockMode::exclusive, lease).status,
            LockStatus::acquired);
}

TEST_F(L6_reentrancy, reentry_extends_the_deadline_to_the_later_one) {
  (void)table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  advance(lease / 2);
  (void)table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  EXPECT_EQ(table.inspect(key(1)).deadline_ns, now() + lease);
}

TEST_F(L6_reentrancy, depth_is_bounded_with_a_clear_error) {
  Token token = 0;
  for (std::uint32_t i = 0; i < LockTable::holders_max; i++) {
    const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
    ASSERT_EQ(a.status, LockStatus::acquired);
    token = a.token;
  }
  EXPECT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, lease).status,
            LockStatus::too_many_holders);
  EXPECT_EQ(table.inspect(key(1)).count, LockTable::holders_max);
  EXPECT_EQ(table.release(key(1), token).depth_left, LockTable::holders_max - 1);
}

using L7_cancel = LockTableTest;

TEST_F(L7_cancel, request_raises_a_flag_the_holder_polls_and_release_clears_it) {
  const auto a = table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  EXPECT_FALSE(table.poll_cancel(key(1), a.token).requested);
  EXPECT_EQ(table.request_cancel(key(1)), LockStatus::ok);
  EXPECT_EQ(table.request_cancel(key(1)), LockStatus::ok);  // idempotent
  const auto poll = table.poll_cancel(key(1), a.token);
  EXPECT_EQ(poll.status, LockStatus::ok);
  EXPECT_TRUE(poll.requested);
  // Renew and reentry keep the flag.
  EXPECT_EQ(table.renew(key(1), a.token, 2 * lease).status, LockStatus::renewed);
  EXPECT_TRUE(table.poll_cancel(key(1), a.token).requested);
  ASSERT_EQ(table.release(key(1), a.token).status, LockStatus::released);
  const auto b = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  EXPECT_FALSE(table.poll_cancel(key(1), b.token).requested);
}

TEST_F(L7_cancel, cancel_of_a_free_session_is_not_held) {
  EXPECT_EQ(table.request_cancel(key(1)), LockStatus::not_held);
}

TEST_F(L7_cancel, takeover_clears_the_flag) {
  (void)table.try_acquire(key(1), alice, LockMode::exclusive, lease);
  ASSERT_EQ(table.request_cancel(key(1)), LockStatus::ok);
  advance(lease + 1);
  const auto b = table.try_acquire(key(1), bob, LockMode::exclusive, lease);
  EXPECT_FALSE(table.poll_cancel(key(1), b.token).requested);
}

using L8_capacity = LockTableTest;

TEST_F(L8_capacity, full_table_is_table_full_and_released_slots_are_reused) {
  make(8, 8);
  std::vector<Token> tokens;
  for (std::uint64_t i = 0; i < 8; i++) {
    const auto a = table.try_acquire(key(i), alice, LockMode::exclusive, lease);
    ASSERT_EQ(a.status, LockStatus::acquired);
    tokens.push_back(a.token);
  }
  EXPECT_EQ(table.try_acquire(key(100), alice, LockMode::exclusive, lease).status,
            LockStatus::table_full);
  EXPECT_EQ(table.stats().table_full, 1u);
  ASSERT_EQ(table.release(key(3), tokens[3]).status, LockStatus::released);
  const auto reused = table.try_acquire(key(100), bob, LockMode::exclusive, lease);
  ASSERT_EQ(reused.status, LockStatus::acquired);
  // No ABA: the old session's token is useless on the reused slot.
  EXPECT_EQ(table.release(key(3), tokens[3]).status, LockStatus::not_held);
  EXPECT_EQ(table.release(key(100), tokens[3]).status, LockStatus::stale);
  EXPECT_TRUE(table.inspect(key(100)).held);
}

TEST_F(L8_capacity, many_cycles_through_a_small_table_keep_it_consistent) {
  make(4, 4);
  for (std::uint64_t round = 0; round < 2000; round++) {
    const Id k = key(round % 7);
    const auto a = table.try_acquire(k, alice, LockMode::exclusive, lease);
    ASSERT_EQ(a.status, LockStatus::acquired) << "round " << round;
    ASSERT_EQ(table.release(k, a.token).status, LockStatus::released);
  }
  EXPECT_EQ(table.stats().acquisitions, 2000u);
  EXPECT_EQ(table.stats().releases, 2000u);
}

// ---- bad input: an error code, never undefined behaviour ------------------

using LockTableApi = LockTableTest;

TEST_F(LockTableApi, rejects_bad_arguments_with_invalid_argument) {
  EXPECT_EQ(table.try_acquire(key(1), 0, LockMode::exclusive, lease).status,
            LockStatus::invalid_argument);
  EXPECT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, 0).status,
            LockStatus::invalid_argument);
  EXPECT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, LockTable::lease_max_ns + 1).status,
            LockStatus::invalid_argument);
  EXPECT_EQ(table.try_acquire(key(1), alice, static_cast<LockMode>(7), lease).status,
            LockStatus::invalid_argument);
  EXPECT_EQ(table.release(key(1), 0).status, LockStatus::invalid_argument);
  EXPECT_EQ(table.renew(key(1), 5, 0).status, LockStatus::invalid_argument);
  EXPECT_EQ(table.poll_cancel(key(1), 0).status, LockStatus::invalid_argument);
  EXPECT_FALSE(table.inspect(key(1)).held);
  EXPECT_EQ(table.stats().acquisitions, 0u);
}

TEST(LockTableRegion, an_uninitialised_table_answers_not_initialized) {
  LockTable table;
  EXPECT_EQ(table.try_acquire(key(1), alice, LockMode::exclusive, lease).status,
            LockStatus::not_initialized);
  EXPECT_EQ(table.release(key(1), 1).status, LockStatus::not_initialized);
  EXPECT_EQ(table.renew(key(1), 1, lease).status, LockStatus::not_initialized);
  EXPECT_EQ(table.request_cancel(key(1)), LockStatus::not_initialized);
  EXPECT_EQ(table.poll_cancel(key(1), 1).status, LockStatus::not_initialized);
  EXPECT_EQ(table.capacity(), 0u);
}

TEST(LockTableRegion, init_validates_the_region) {
  ManualClock clock;
  LockTable table;
  alignas(64) static unsigned char region[LockTable::region_bytes(4) + 64];
  LockTable::Config config;
  config.capacity = 4;
  EXPECT_EQ(table.init(nullptr, sizeof region, config, clock.clock()), LockStatus::bad_region);
  EXPECT_EQ(table.init(region + 8, sizeof region - 8, config, clock.clock()),
            LockStatus::bad_region);  // misaligned
  EXPECT_EQ(table.init(region, LockTable::region_bytes(4) - 1, config, clock.clock()),
            LockStatus::region_too_small);
  EXPECT_EQ(table.init(region, sizeof region, config, Clock{}), LockStatus::bad_region);
  config.probe_window = 5;
  EXPECT_EQ(table.init(region, sizeof region, config, clock.clock()), LockStatus::bad_region);
  config.probe_window = 0;
  config.capacity = 0;
  EXPECT_EQ(table.init(region, sizeof region, config, clock.clock()), LockStatus::bad_region);
  config.capacity = 4;
  EXPECT_EQ(table.init(region, sizeof region, config, clock.clock()), LockStatus::ok);
  EXPECT_EQ(table.capacity(), 4u);
  EXPECT_EQ(table.probe_window(), 4u);
}

TEST(LockTableRegion, attach_sees_what_another_view_wrote_and_rejects_garbage) {
  ManualClock clock;
  alignas(64) static unsigned char region[LockTable::region_bytes(16)];
  LockTable writer;
  LockTable::Config config;
  config.capacity = 16;
  ASSERT_EQ(writer.init(region, sizeof region, config, clock.clock()), LockStatus::ok);
  const auto a = writer.try_acquire(key(1), alice, LockMode::exclusive, lease);
  ASSERT_EQ(a.status, LockStatus::acquired);

  LockTable reader;
  ASSERT_EQ(reader.attach(region, sizeof region, clock.clock()), LockStatus::ok);
  EXPECT_EQ(reader.inspect(key(1)).token, a.token);
  EXPECT_EQ(reader.try_acquire(key(1), bob, LockMode::exclusive, lease).status, LockStatus::busy);
  EXPECT_EQ(reader.attach(region, sizeof region - 1, clock.clock()), LockStatus::region_too_small);

  alignas(64) static unsigned char garbage[LockTable::region_bytes(16)];
  std::memset(garbage, 0xAB, sizeof garbage);
  LockTable bad;
  EXPECT_EQ(bad.attach(garbage, sizeof garbage, clock.clock()), LockStatus::bad_region);
  std::memcpy(garbage, region, sizeof garbage);
  garbage[8] ^= 1;  // format version
  EXPECT_EQ(bad.attach(garbage, sizeof garbage, clock.clock()), LockStatus::bad_region);
}

// A capacity whose region is larger than the address space (32-bit
// targets) is refused, never wrapped: region_bytes() says 0, and a forged
// header that claims 2^26 slots in a small region does not attach (found by
// review: on armhf region_bytes(2^26) wrapped to the header size and attach said ok).
TEST(LockTableRegion, a_capacity_beyond_the_address_space_is_refused_not_wrapped) {
  const std::uint64_t true_bytes = LockTable::header_bytes + 64 * std::uint64_t{0xFFFFFFFFu};
  if (sizeof(std::size_t) < 8) {
    EXPECT_EQ(LockTable::region_bytes(0xFFFFFFFFu), 0u);
  } else {
    EXPECT_EQ(LockTable::region_bytes(0xFFFFFFFFu), true_bytes);
  }
  ManualClock clock;
  alignas(64) static unsigned char region[LockTable::region_bytes(4)];
  LockTable table;
  LockTable::Config config;
  config.capacity = 4;
  ASSERT_EQ(table.init(region, sizeof region, config, clock.clock()), LockStatus::ok);
  // Header: magic 8, format_version 4, word_bits 4, capacity 4 (offset 16),
  // probe_window 4, region_bytes 8 (offset 24).
  const std::uint32_t slots = 1u << 26;
  std::memcpy(region + 16, &slots, 4);
  const std::uint64_t wrapped = static_cast<std::uint32_t>(LockTable::header_bytes + 64 * std::uint64_t{slots});
  std::memcpy(region + 24, &wrapped, 8);
  LockTable forged;
  EXPECT_EQ(forged.attach(region, sizeof region, clock.clock()), LockStatus::bad_region);
}

TEST(LockTableStatus, every_status_has_a_name) {
  std::set<std::string> names;
  for (int s = 0; s <= static_cast<int>(LockStatus::word_size_mismatch); s++) {
    names.insert(to_string(static_cast<LockStatus>(s)));
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(LockStatus::word_size_mismatch) + 1);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace weft::testing
