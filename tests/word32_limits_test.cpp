// The 32-bit word configuration (WEFT_WORD_BITS=32, the Cortex-M build) at
// the ends of its ranges: tokens and tickets never wrap around; at the end
// the structures refuse with `exhausted` and change nothing. Reaching 2^32
// tokens or 2^28 tickets by calls would take minutes, so the tests move the
// counters there by writing the region's bytes, at offsets this file states
// and checks (the counter must hold what the calls so far made it).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "weft/lock_table.h"
#include "weft/turn_log.h"

static_assert(weft::word_bits == 32, "this file is built only with WEFT_WORD_BITS=32");

namespace weft::testing {
namespace {

std::uint32_t load32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void store32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }

// A region the test owns, so it can write its bytes.
struct alignas(64) Buffer {
  unsigned char bytes[64 * 1024];
};

TEST(Word32Limits, limits_are_the_documented_ones) {
  EXPECT_EQ(LockTable::holders_max, 255u);
  EXPECT_EQ(LockTable::tokens_max, 0xFFFFFFFFull);
  EXPECT_EQ(TurnLog::tickets_max, (1ull << 28) - 1);
  EXPECT_EQ(TurnLog::sequences_max, (1ull << 22) - 1);
  EXPECT_EQ(TurnLog::segment_bytes_max, 256u * 1024u);
  TurnLog::Config c;
  c.segment_bytes = TurnLog::segment_bytes_max + 64;
  EXPECT_EQ(TurnLog::region_bytes(c), 0u) << "a segment larger than the 32-bit fill word holds is refused";
}

TEST(Word32Limits, the_last_token_is_issued_then_acquire_says_exhausted_and_changes_nothing) {
  ManualClock clock;
  LockTable table;
  LockTable::Config config;
  config.capacity = 16;
  static Buffer buffer;
  ASSERT_EQ(table.init(buffer.bytes, sizeof buffer.bytes, config, clock.clock()), LockStatus::ok);
  const auto expiring = table.try_acquire(Id{1, 1}, 11, LockMode::exclusive, 1000);
  ASSERT_EQ(expiring.status, LockStatus::acquired);
  ASSERT_EQ(expiring.token, 1u);

  // Header: magic 8, format_version 4, word_bits 4, capacity 4, probe_window 4,
  // region_bytes 8; the token counter starts the next cache line (offset 64).
  unsigned char* region = buffer.bytes;
  ASSERT_EQ(load32(region + 64), 1u) << "the token counter is not where this test expects it";
  store32(region + 64, 0xFFFFFFFEu);

  const auto last = table.try_acquire(Id{2, 2}, 22, LockMode::exclusive, 1'000'000);
  ASSERT_EQ(last.status, LockStatus::acquired);
  EXPECT_EQ(last.token, 0xFFFFFFFFu);

  // A new key: the claim backs out, the slot stays free.
  const auto refused = table.try_acquire(Id{3, 3}, 33, LockMode::exclusive, 1'000'000);
  EXPECT_EQ(refused.status, LockStatus::exhausted);
  EXPECT_EQ(refused.token, 0u);
  EXPECT_FALSE(table.inspect(Id{3, 3}).held);

  // A takeover of an expired lease: the old lease stays as it was.
  clock.advance(10'000);
  const auto takeover = table.try_acquire(Id{1, 1}, 44, LockMode::exclusive, 1'000'000);
  EXPECT_EQ(takeover.status, LockStatus::exhausted);
  const LockInfo old = table.inspect(Id{1, 1});
  ASSERT_TRUE(old.held);
  EXPECT_EQ(old.owner, 11u);
  EXPECT_EQ(old.token, 1u);

  // What needs no new token still works: reentry, release.
  const auto again = table.try_acquire(Id{2, 2}, 22, LockMode::exclusive, 1'000'000);
  EXPECT_EQ(again.status, LockStatus::acquired);
  EXPECT_EQ(again.token, 0xFFFFFFFFu);
  EXPECT_EQ(table.release(Id{2, 2}, last.token).status, LockStatus::released);
  EXPECT_EQ(table.release(Id{2, 2}, last.token).status, LockStatus::released);
  EXPECT_EQ(table.try_acquire(Id{2, 2}, 22, LockMode::exclusive, 1'000'000).status, LockStatus::exhausted);
  EXPECT_EQ(load32(region + 64), 0xFFFFFFFFu) << "the counter never wraps";
}

TEST(Word32Limits, a_thread_past_the_last_ticket_gets_exhausted_never_a_wrapped_ticket) {
  ManualClock clock;
  TurnLog log;
  TurnLog::Config config;
  config.segment_bytes = 4096;
  config.segment_count = 4;
  config.thread_capacity = 4;
  config.exchanges_per_thread = 4;
  config.reader_slots = 4;
  static Buffer buffer;
  ASSERT_LE(TurnLog::region_bytes(config), sizeof buffer.bytes);
  ASSERT_EQ(log.init(buffer.bytes, sizeof buffer.bytes, config, clock.clock()), LogStatus::ok);
  const Id thread{0x1111222233334444ull, 0x5555666677778888ull};
  const auto first = log.begin_exchange(thread, Id{9, 1}, BeginPolicy::queue);
  ASSERT_EQ(first.status, LogStatus::ok);
  ASSERT_EQ(log.commit(first.exchange), LogStatus::ok);

  // Thread slot (32-bit words): state 4, key hi 8, key lo 8, next_ticket 4.
  // Find the slot by its key (little-endian halves of hi, then lo).
  unsigned char* region = buffer.bytes;
  unsigned char key[16];
  std::memcpy(key, &thread.hi, 8);
  std::memcpy(key + 8, &thread.lo, 8);
  unsigned char* slot_key = nullptr;
  for (std::size_t i = 0; i + 16 <= TurnLog::region_bytes(config); i += 4) {
    if (std::memcmp(region + i, key, 16) == 0) {
      slot_key = region + i;
      break;
    }
  }
  ASSERT_NE(slot_key, nullptr);
  ASSERT_EQ(load32(slot_key + 16), 2u) << "next_ticket is not where this test expects it";

  store32(slot_key + 16, static_cast<std::uint32_t>(TurnLog::tickets_max));
  const auto last = log.begin_exchange(thread, Id{9, 2}, BeginPolicy::queue);
  ASSERT_EQ(last.status, LogStatus::ok);
  EXPECT_EQ(last.exchange.ticket, TurnLog::tickets_max);
  const auto refused = log.begin_exchange(thread, Id{9, 3}, BeginPolicy::queue);
  EXPECT_EQ(refused.status, LogStatus::exhausted);
  EXPECT_EQ(log.begin_exchange(thread, Id{9, 2}, BeginPolicy::queue).status, LogStatus::duplicate)
      << "a retry of a begun request is still recognised";
  EXPECT_EQ(load32(slot_key + 16), static_cast<std::uint32_t>(TurnLog::tickets_max) + 1);
}

TEST(Word32Limits, a_fence_wider_than_a_word_is_invalid) {
  ManualClock clock;
  TurnLog log;
  TurnLog::Config config;
  config.segment_bytes = 4096;
  config.segment_count = 2;
  config.thread_capacity = 2;
  config.exchanges_per_thread = 2;
  config.reader_slots = 2;
  ASSERT_EQ(log.create(config, clock.clock()), LogStatus::ok);
  EXPECT_EQ(log.begin_exchange(Id{1, 1}, Id{2, 2}, BeginPolicy::queue, TurnLog::fence_max + 1).status,
            LogStatus::invalid_argument);
  EXPECT_EQ(log.begin_exchange(Id{1, 1}, Id{2, 2}, BeginPolicy::queue, TurnLog::fence_max).status, LogStatus::ok);
}

}  // namespace
}  // namespace weft::testing
