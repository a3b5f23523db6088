// A region formatted with one word size (WEFT_WORD_BITS 64 or 32) is refused
// by the other with word_size_mismatch, never misread; each size attaches its
// own regions. Both configurations are linked into this binary (their inline
// namespaces differ), so the test runs wherever the tests run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "word_size_side.h"

namespace {

using namespace weft_word_size;

// A zeroed, 64-byte aligned buffer.
struct Region {
  explicit Region(std::size_t n)
      : bytes(n), memory(static_cast<unsigned char*>(std::aligned_alloc(64, (n + 63) / 64 * 64)), &std::free) {
    std::memset(memory.get(), 0, bytes);
  }
  std::size_t bytes;
  std::unique_ptr<unsigned char, decltype(&std::free)> memory;
};

TEST(WordSize, both_configurations_are_in_this_binary) {
  EXPECT_EQ(side_word_bits_64(), 64u);
  EXPECT_EQ(side_word_bits_32(), 32u);
}

TEST(WordSize, a_turn_log_of_one_size_is_refused_by_the_other_and_attached_by_its_own) {
  const std::size_t bytes = std::max(log_bytes_64(), log_bytes_32());
  Region r64(bytes), r32(bytes);
  ASSERT_STREQ(format_log_64(r64.memory.get(), bytes), "ok");
  ASSERT_STREQ(format_log_32(r32.memory.get(), bytes), "ok");
  EXPECT_STREQ(attach_log_32(r64.memory.get(), bytes), "word_size_mismatch");
  EXPECT_STREQ(attach_log_64(r32.memory.get(), bytes), "word_size_mismatch");
  EXPECT_STREQ(attach_log_64(r64.memory.get(), bytes), "ok");
  EXPECT_STREQ(attach_log_32(r32.memory.get(), bytes), "ok");
}

TEST(WordSize, a_lock_table_of_one_size_is_refused_by_the_other_and_attached_by_its_own) {
  const std::size_t bytes = std::max(table_bytes_64(), table_bytes_32());
  Region r64(bytes), r32(bytes);
  ASSERT_STREQ(format_table_64(r64.memory.get(), bytes), "acquired");
  ASSERT_STREQ(format_table_32(r32.memory.get(), bytes), "acquired");
  EXPECT_STREQ(attach_table_32(r64.memory.get(), bytes), "word_size_mismatch");
  EXPECT_STREQ(attach_table_64(r32.memory.get(), bytes), "word_size_mismatch");
  EXPECT_STREQ(attach_table_64(r64.memory.get(), bytes), "ok");
  EXPECT_STREQ(attach_table_32(r32.memory.get(), bytes), "ok");
}

TEST(WordSize, a_damaged_word_size_field_is_a_bad_region_not_a_mismatch) {
  const std::size_t bytes = log_bytes_64();
  Region r(bytes);
  ASSERT_STREQ(format_log_64(r.memory.get(), bytes), "ok");
  r.memory.get()[16] = 48;  // the TurnLog's word_bits field (little-endian, offset 16)
  EXPECT_STREQ(attach_log_64(r.memory.get(), bytes), "bad_region");
}

}  // namespace
