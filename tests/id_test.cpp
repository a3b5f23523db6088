// The documented string-to-id hash is MurmurHash3_x64_128: check it against
// published reference outputs so other languages can reproduce our keys.
#include <gtest/gtest.h>

#include <string_view>

#include "weft/id.h"

namespace {

TEST(id, murmur3_x64_128_of_empty_input_with_seed_zero_is_zero) {
  const weft::Id id = weft::murmur3_x64_128("", 0, 0);
  EXPECT_EQ(id.hi, 0u);
  EXPECT_EQ(id.lo, 0u);
}

TEST(id, murmur3_x64_128_matches_the_reference_digest) {
  // Reference: MurmurHash3_x64_128("The quick brown fox jumps over the lazy
  // dog", seed 0) = bytes 6c1b07bc7bbc4be347939ac4a93c437a.
  const std::string_view fox = "The quick brown fox jumps over the lazy dog";
  const weft::Id id = weft::murmur3_x64_128(fox.data(), fox.size(), 0);
  EXPECT_EQ(id.hi, 0xe34bbc7bbc071b6cULL);
  EXPECT_EQ(id.lo, 0x7a433ca9c49a9347ULL);
}

TEST(id, id_from_string_is_stable_and_separates_close_strings) {
  const weft::Id a = weft::id_from_string("session-1");
  const weft::Id b = weft::id_from_string("session-2");
  EXPECT_EQ(a, weft::id_from_string("session-1"));
  EXPECT_FALSE(a == b);
  EXPECT_EQ(weft::id_from_string("session-1"),
            weft::murmur3_x64_128("session-1", 9, 0x77656674u));
}

TEST(id, every_tail_length_is_hashed) {
  // Lengths 0..33 cover every tail case (0-15 bytes) twice; all distinct.
  const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  weft::Id previous{};
  for (std::size_t n = 1; n < 34; n++) {
    const weft::Id id = weft::murmur3_x64_128(text, n, 1);
    EXPECT_FALSE(id == previous) << n;
    previous = id;
  }
}

}  // namespace

// id_slot places keys and threads in regions: the same slot on every target
// (these values are the exact high half of id_mix64 x n, computed apart;
// 32-bit targets take the path without a 128-bit integer).
TEST(id, id_slot_is_the_high_half_of_the_product_on_every_target) {
  constexpr std::uint64_t all = ~std::uint64_t{0};
  EXPECT_EQ(weft::id_slot(weft::Id{1, 2}, 1000), 907u);
  EXPECT_EQ(weft::id_slot(weft::Id{all, all}, (std::uint64_t{1} << 40) + 3), 161991752429u);
  EXPECT_EQ(weft::id_slot(weft::Id{0x0123456789ABCDEFULL, 0xFEDCBA9876543210ULL}, 7), 5u);
  EXPECT_EQ(weft::id_slot(weft::Id{5, 0}, all), 15450398106449630580u);
  for (std::uint64_t n = 1; n < 300; n++) EXPECT_LT(weft::id_slot(weft::Id{n, n * 7}, n), n);
}
