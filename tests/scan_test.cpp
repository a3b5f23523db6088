// weft/scan.h: every kernel equals its scalar twin on random inputs, on every
// Highway target this CPU supports (and in Mode::scalar); hand-computed
// results; the output-capacity rule is enough (exact-size heap buffers, so
// the asan preset reports any write past it; guard entries in every build).
#include "weft/scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#if defined(WEFT_HAVE_HIGHWAY)
#include <hwy/targets.h>
#endif

namespace {

namespace scan = weft::scan;
using u64 = std::uint64_t;
using u32 = std::uint32_t;

// ---- the code paths under test --------------------------------------------

// One way the dispatched functions can run: a Highway target forced with
// hwy::SetSupportedTargetsForTest, or (hwy_target 0) Mode::scalar.
struct Path {
  std::int64_t hwy_target = 0;
  std::string name;    // the test's name suffix
  std::string target;  // what scan::target() must say
};

// Names the path in test names and messages (instead of its bytes).
[[maybe_unused]] void PrintTo(const Path& path, std::ostream* os) { *os << path.name; }

std::vector<Path> paths_of_this_machine() {
  std::vector<Path> paths;
#if defined(WEFT_HAVE_HIGHWAY)
  for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
    paths.push_back(Path{target, hwy::TargetName(target), hwy::TargetName(target)});
  }
#endif
  paths.push_back(Path{0, "scalar_mode", "scalar"});
  return paths;
}

class ScanOnEveryTarget : public testing::TestWithParam<Path> {
 protected:
  void SetUp() override {
    if (GetParam().hwy_target == 0) {
      scan::set_mode(scan::Mode::scalar);
      return;
    }
    scan::set_mode(scan::Mode::dispatch);
#if defined(WEFT_HAVE_HIGHWAY)
    hwy::SetSupportedTargetsForTest(GetParam().hwy_target);
#endif
  }
  void TearDown() override {
    scan::set_mode(scan::Mode::dispatch);
#if defined(WEFT_HAVE_HIGHWAY)
    hwy::SetSupportedTargetsForTest(0);  // back to what the CPU supports
#endif
  }
};

std::string path_name(const testing::TestParamInfo<Path>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(targets, ScanOnEveryTarget, testing::ValuesIn(paths_of_this_machine()),
                         path_name);

// ---- buffers ---------------------------------------------------------------

// An index output of exactly output_capacity(n) entries on the heap (ASan
// reports a write past it), inside an array with guard entries after it that
// every build checks.
class IndexBuffer {
 public:
  explicit IndexBuffer(std::size_t n)
      : capacity_(scan::output_capacity(n)), guarded_(capacity_ + guard_entries, guard_value) {
    exact_ = std::make_unique<u32[]>(capacity_);
  }
  u32* exact() { return exact_.get(); }
  u32* guarded() { return guarded_.data(); }
  // True when nothing wrote past the capacity of guarded().
  bool guards_intact() const {
    for (std::size_t i = capacity_; i < guarded_.size(); ++i) {
      if (guarded_[i] != guard_value) return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t guard_entries = 80;
  static constexpr u32 guard_value = 0xDEADBEEF;
  std::size_t capacity_;
  std::unique_ptr<u32[]> exact_;
  std::vector<u32> guarded_;
};

// Sizes: every size to 70 (all tails of every vector width and of the
// four-vector groups), some around powers of two, random ones to 5000.
std::vector<std::size_t> sizes(std::mt19937_64& rng) {
  std::vector<std::size_t> result;
  for (std::size_t n = 0; n <= 70; ++n) result.push_back(n);
  for (const std::size_t n : {127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 4095, 4096, 4097}) {
    result.push_back(n);
  }
  for (int k = 0; k < 24; ++k) result.push_back(static_cast<std::size_t>(rng() % 5001));
  return result;
}

// Start offsets into a larger array: aligned and not.
constexpr std::size_t start_offsets[] = {0, 1, 3, 7};

std::vector<u32> as_vector(const u32* indices, std::size_t count) {
  return std::vector<u32>(indices, indices + count);
}

// ---- filter_equal ----------------------------------------------------------

TEST_P(ScanOnEveryTarget, dispatches_to_the_target_under_test) {
  EXPECT_EQ(std::string(scan::target()), GetParam().target);
}

TEST_P(ScanOnEveryTarget, filter_finds_the_hand_computed_indices) {
  const u64 keys[] = {5, 7, 5, 9, 5, 0, 0xFFFFFFFFFFFFFFFFULL, 5};
  IndexBuffer out(8);
  const std::size_t count = scan::filter_equal(keys, 8, 5, out.exact());
  EXPECT_EQ(as_vector(out.exact(), count), (std::vector<u32>{0, 2, 4, 7}));
  EXPECT_EQ(scan::filter_equal(keys, 8, 0xFFFFFFFFFFFFFFFFULL, out.exact()), 1u);
  EXPECT_EQ(out.exact()[0], 6u);
  EXPECT_EQ(scan::filter_equal(keys, 8, 42, out.exact()), 0u);
  EXPECT_EQ(scan::filter_equal(nullptr, 0, 5, out.exact()), 0u);
  // Keys that differ from the wanted one only in the upper or lower half.
  const u64 halves[] = {0x0000000100000005ULL, 0x0000000200000005ULL, 0x0000000100000006ULL,
                        0x0000000100000005ULL};
  EXPECT_EQ(scan::filter_equal(halves, 4, 0x0000000100000005ULL, out.exact()), 2u);
  EXPECT_EQ(as_vector(out.exact(), 2), (std::vector<u32>{0, 3}));
}

TEST_P(ScanOnEveryTarget, filter_equals_its_scalar_twin_on_random_indexes) {
  std::mt19937_64 rng(0x5CA11u);
  // Matches per 1000 records: none, sparse (one thread among many), half,
  // every record (the most output the kernel can write).
  const unsigned per_mille[] = {0, 20, 500, 1000};
  int cases = 0;
  for (const std::size_t n : sizes(rng)) {
    for (const std::size_t start : start_offsets) {
      for (const unsigned matches : per_mille) {
        const u64 key = rng() | 1;
        std::vector<u64> storage(start + n);
        for (std::size_t i = 0; i < n; ++i) {
          const bool hit = rng() % 1000 < matches;
          storage[start + i] = hit ? key : (rng() % 4 == 0 ? key ^ (u64{1} << (rng() % 64)) : rng());
        }
        const u64* keys = storage.data() + start;
        IndexBuffer simd(n);
        IndexBuffer twin(n);
        const std::size_t count = scan::filter_equal(keys, n, key, simd.exact());
        const std::size_t expected = scan::scalar::filter_equal(keys, n, key, twin.exact());
        ASSERT_EQ(count, expected) << "n " << n << " start " << start << " per mille " << matches;
        ASSERT_EQ(as_vector(simd.exact(), count), as_vector(twin.exact(), expected))
            << "n " << n << " start " << start << " per mille " << matches;
        (void)scan::filter_equal(keys, n, key, simd.guarded());
        ASSERT_TRUE(simd.guards_intact()) << "n " << n << " wrote past output_capacity(n)";
        ++cases;
      }
    }
  }
  RecordProperty("cases", cases);
}

TEST_P(ScanOnEveryTarget, filter_output_fits_the_capacity_rule_when_every_record_matches) {
  // Every record matching is the most a call can write; exact-size buffers
  // for every size up to 300 (ASan in the asan preset, guards everywhere).
  for (std::size_t n = 0; n <= 300; ++n) {
    std::vector<u64> keys(n, 77);
    IndexBuffer out(n);
    ASSERT_EQ(scan::filter_equal(keys.data(), n, 77, out.exact()), n);
    ASSERT_EQ(scan::filter_equal(keys.data(), n, 77, out.guarded()), n);
    ASSERT_TRUE(out.guards_intact()) << "n " << n;
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out.exact()[i], i);
  }
}

// ---- first_unfinished ------------------------------------------------------

constexpr u64 state(u64 kind, u64 payload_offset) { return payload_offset << 8 | kind; }

TEST_P(ScanOnEveryTarget, watermark_is_the_hand_computed_index) {
  const u64 states[] = {state(3, 0), state(4, 10), state(3, 0xFFFFFF), state(4, 1),
                        state(2, 40), state(3, 50), state(1, 0)};
  EXPECT_EQ(scan::first_unfinished(states, 7), 4u);  // kind 2 (written) is not finished
  EXPECT_EQ(scan::first_unfinished(states, 4), 4u);  // all finished: n
  EXPECT_EQ(scan::first_unfinished(nullptr, 0), 0u);
  // Every kind but committed and aborted stops the watermark, whatever the
  // payload offset above it (kinds 2 and 5 sit next to 3 and 4; 255 + 5 and
  // 0 - 3 wrap in the vector test).
  for (u64 kind = 0; kind < 256; ++kind) {
    std::vector<u64> run(40, state(3, 7));
    run[33] = state(kind, 0x123456);
    const bool finished = kind == 3 || kind == 4;
    EXPECT_EQ(scan::first_unfinished(run.data(), run.size()), finished ? 40u : 33u)
        << "kind " << kind;
  }
}

TEST_P(ScanOnEveryTarget, watermark_equals_its_scalar_twin_on_random_states) {
  std::mt19937_64 rng(0xA7E4u);
  int cases = 0;
  for (const std::size_t n : sizes(rng)) {
    for (const std::size_t start : start_offsets) {
      for (int shape = 0; shape < 4; ++shape) {
        std::vector<u64> storage(start + n);
        u64* states = storage.data() + start;
        for (std::size_t i = 0; i < n; ++i) {
          states[i] = state(3 + rng() % 2, rng() >> 8);  // committed or aborted
        }
        if (shape == 1 && n > 0) {  // one unfinished record somewhere
          states[rng() % n] = state(rng() % 3, rng() >> 8);
        } else if (shape == 2) {  // random kinds everywhere
          for (std::size_t i = 0; i < n; ++i) states[i] = rng();
        } else if (shape == 3 && n > 0) {  // unfinished near the end, more after it
          const std::size_t at = n - 1 - rng() % std::min<std::size_t>(n, 9);
          for (std::size_t i = at; i < n; ++i) states[i] = state(rng() % 256, rng() >> 8);
          states[at] = state(1, 0);
        }
        ASSERT_EQ(scan::first_unfinished(states, n), scan::scalar::first_unfinished(states, n))
            << "n " << n << " start " << start << " shape " << shape;
        ++cases;
      }
    }
  }
  RecordProperty("cases", cases);
}

// ---- checksums -------------------------------------------------------------

// block_checksum() written out again from the header's comment, to hold the
// implementation to its documented definition.
u64 reference_checksum(const u64* words, std::size_t block_words) {
  const auto step = [](u64 h, u64 x) {
    const u64 v = h ^ x;
    return (v & 0xFFFFFFFFULL) * (v >> 32) + ((v >> 23) | (v << 41)) + 0xC2B2AE3D27D4EB4FULL;
  };
  u64 h = 0x9E3779B97F4A7C15ULL;
  for (std::size_t w = 0; w < block_words; ++w) h = step(h, words[w]);
  h = step(h, block_words);
  h = step(h, 0xC2B2AE3D27D4EB4FULL);
  return h ^ (h >> 29);
}

TEST(scan, block_checksum_follows_its_documented_definition_and_values) {
  const u64 words[] = {1, 2, 3, 0xFFFFFFFFFFFFFFFFULL, 0, 0x0123456789ABCDEFULL};
  for (std::size_t w = 0; w <= 6; ++w) {
    EXPECT_EQ(scan::block_checksum(words, w), reference_checksum(words, w)) << w;
  }
  // Pinned values: checksums are stored, so the definition is a format.
  EXPECT_EQ(scan::block_checksum(nullptr, 0), 0xFC918A0DE69253C9ULL);
  EXPECT_EQ(scan::block_checksum(words, 3), 0x25B6A77A90ADEDA9ULL);
  // Word order and block length matter.
  const u64 swapped[] = {2, 1, 3};
  const u64 zeros[] = {0, 0};
  EXPECT_NE(scan::block_checksum(words, 3), scan::block_checksum(swapped, 3));
  EXPECT_NE(scan::block_checksum(zeros, 1), scan::block_checksum(zeros, 2));
}

TEST(scan, block_checksum_catches_every_single_bit_flip_of_sample_blocks) {
  std::mt19937_64 rng(0xB17u);
  for (const std::size_t block_words : {1, 2, 5, 8, 16}) {
    std::vector<u64> block(block_words);
    for (u64& w : block) w = rng();
    const u64 good = scan::block_checksum(block.data(), block_words);
    for (std::size_t w = 0; w < block_words; ++w) {
      for (int bit = 0; bit < 64; ++bit) {
        block[w] ^= u64{1} << bit;
        ASSERT_NE(scan::block_checksum(block.data(), block_words), good)
            << "word " << w << " bit " << bit;
        block[w] ^= u64{1} << bit;
      }
    }
  }
}

TEST_P(ScanOnEveryTarget, checksums_equal_the_scalar_twin_and_verify_finds_exactly_the_corrupt_blocks) {
  std::mt19937_64 rng(0xC4EC5u);
  int cases = 0;
  for (const std::size_t block_words : {0, 1, 2, 3, 4, 5, 8, 13}) {
    for (const std::size_t count : {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257, 1001}) {
      const std::size_t start = rng() % 4;
      std::vector<u64> storage(start + count * block_words + 1);
      for (u64& w : storage) w = rng();
      const u64* blocks = storage.data() + start;
      std::vector<u64> sums(count + 1, 0x5A5A5A5A5A5A5A5AULL);  // + a guard
      std::vector<u64> twin_sums(count);
      scan::checksum_blocks(blocks, count, block_words, sums.data());
      scan::scalar::checksum_blocks(blocks, count, block_words, twin_sums.data());
      ASSERT_EQ(std::vector<u64>(sums.begin(), sums.begin() + static_cast<std::ptrdiff_t>(count)),
                twin_sums)
          << "words " << block_words << " count " << count;
      ASSERT_EQ(sums[count], 0x5A5A5A5A5A5A5A5AULL) << "checksum_blocks wrote past count";
      for (std::size_t b = 0; b < count; ++b) {
        ASSERT_EQ(sums[b], reference_checksum(blocks + b * block_words, block_words));
      }

      IndexBuffer out(count);
      ASSERT_EQ(scan::verify_blocks(blocks, count, block_words, sums.data(), out.exact()), 0u);

      // Corrupt some blocks (a word when there are words, else the stored sum).
      std::vector<u32> corrupt;
      for (std::size_t b = 0; b < count; ++b) {
        if (rng() % 5 != 0) continue;
        corrupt.push_back(static_cast<u32>(b));
        if (block_words > 0) {
          storage[start + b * block_words + rng() % block_words] ^= u64{1} << (rng() % 64);
        } else {
          sums[b] ^= 1;
        }
      }
      const std::size_t failed = scan::verify_blocks(blocks, count, block_words, sums.data(), out.exact());
      ASSERT_EQ(as_vector(out.exact(), failed), corrupt)
          << "words " << block_words << " count " << count;
      IndexBuffer twin(count);
      const std::size_t twin_failed =
          scan::scalar::verify_blocks(blocks, count, block_words, sums.data(), twin.exact());
      ASSERT_EQ(as_vector(twin.exact(), twin_failed), corrupt);
      (void)scan::verify_blocks(blocks, count, block_words, sums.data(), out.guarded());
      ASSERT_TRUE(out.guards_intact()) << "count " << count << " wrote past output_capacity";
      ++cases;
    }
  }
  RecordProperty("cases", cases);
}

TEST_P(ScanOnEveryTarget, verify_output_fits_the_capacity_rule_when_every_block_fails) {
  for (std::size_t count = 0; count <= 200; ++count) {
    std::vector<u64> blocks(count * 2, 9);
    std::vector<u64> wrong(count, 0);
    IndexBuffer out(count);
    ASSERT_EQ(scan::verify_blocks(blocks.data(), count, 2, wrong.data(), out.exact()), count);
    ASSERT_EQ(scan::verify_blocks(blocks.data(), count, 2, wrong.data(), out.guarded()), count);
    ASSERT_TRUE(out.guards_intact()) << "count " << count;
  }
}

// ---- checksum_bytes (the TurnLog's record checksum) ------------------------

// checksum_bytes() written out again from the header's comment: bytes
// assembled little-endian one by one, the padding spelled out.
u64 reference_bytes_checksum(const unsigned char* bytes, std::size_t n) {
  const auto step = [](u64 h, u64 x) {
    const u64 v = h ^ x;
    return (v & 0xFFFFFFFFULL) * (v >> 32) + ((v >> 23) | (v << 41)) + 0xC2B2AE3D27D4EB4FULL;
  };
  const u64 key[4] = {0xBE4BA423396CFEB8ULL, 0x1CAD21F72C81017CULL, 0xDB979083E96DD4DEULL,
                      0x1F67B3B7A4A44072ULL};
  u64 acc[4];
  for (u64 j = 0; j < 4; ++j) acc[j] = 0x9E3779B97F4A7C15ULL + j * 0xC2B2AE3D27D4EB4FULL;
  for (std::size_t s = 0; s * 32 < n; ++s) {
    u64 word[4] = {};
    for (std::size_t b = 0; b < 32; ++b) {
      const std::size_t at = s * 32 + b;
      if (at < n) word[b / 8] |= u64{bytes[at]} << (8 * (b % 8));
    }
    for (std::size_t j = 0; j < 4; ++j) {
      const u64 v = word[j] ^ (key[j] + s * 0x9FB21C651E98DF25ULL);
      acc[j] += (v & 0xFFFFFFFFULL) * (v >> 32) + word[j ^ 1];
    }
  }
  const auto rotl = [](u64 x, int r) { return x << r | x >> (64 - r); };
  const u64 folded = acc[0] ^ rotl(acc[1], 16) ^ rotl(acc[2], 32) ^ rotl(acc[3], 48);
  u64 h = step(step(folded, n), 0xC2B2AE3D27D4EB4FULL);
  return h ^ (h >> 29);
}

std::vector<unsigned char> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<unsigned char> bytes(n);
  for (unsigned char& b : bytes) b = static_cast<unsigned char>(rng());
  return bytes;
}

TEST(scan, checksum_bytes_follows_its_documented_definition_and_values) {
  std::mt19937_64 rng(0xB7E5u);
  for (std::size_t n = 0; n <= 300; ++n) {
    const auto bytes = random_bytes(rng, n);
    ASSERT_EQ(scan::scalar::checksum_bytes(bytes.data(), n), reference_bytes_checksum(bytes.data(), n)) << n;
    ASSERT_EQ(scan::checksum_bytes(bytes.data(), n), reference_bytes_checksum(bytes.data(), n)) << n;
  }
  // Pinned values: checksums are stored in regions, so the definition is a format.
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(scan::checksum_bytes(nullptr, 0), 0x49134369B92E7DCCULL);
  EXPECT_EQ(scan::checksum_bytes(fox.data(), fox.size()), 0x207FF98CFFD573D7ULL);
  // Trailing zeros and length matter.
  const unsigned char zeros[64] = {};
  EXPECT_NE(scan::checksum_bytes(zeros, 31), scan::checksum_bytes(zeros, 32));
  EXPECT_NE(scan::checksum_bytes(zeros, 32), scan::checksum_bytes(zeros, 33));
}

TEST(scan, checksum_bytes_catches_bit_flips_zeroed_stretches_and_stripes_out_of_order) {
  std::mt19937_64 rng(0xF11Bu);
  for (const std::size_t n : {1, 7, 32, 33, 100, 256, 1000}) {
    auto bytes = random_bytes(rng, n);
    const u64 good = scan::checksum_bytes(bytes.data(), n);
    for (std::size_t at = 0; at < n; ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        bytes[at] ^= static_cast<unsigned char>(1u << bit);
        ASSERT_NE(scan::checksum_bytes(bytes.data(), n), good) << "n " << n << " byte " << at << " bit " << bit;
        bytes[at] ^= static_cast<unsigned char>(1u << bit);
      }
    }
    if (n >= 64) {  // two whole stripes swapped; a stretch zeroed (a torn write)
      auto swapped = bytes;
      std::swap_ranges(swapped.begin(), swapped.begin() + 32, swapped.begin() + 32);
      EXPECT_NE(scan::checksum_bytes(swapped.data(), n), good) << n;
      auto zeroed = bytes;
      std::fill(zeroed.begin() + 8, zeroed.begin() + 40, 0);
      EXPECT_NE(scan::checksum_bytes(zeroed.data(), n), good) << n;
    }
  }
}

TEST_P(ScanOnEveryTarget, checksum_bytes_equals_the_scalar_twin_at_every_length_and_alignment) {
  std::mt19937_64 rng(0xB1735u);
  int cases = 0;
  for (const std::size_t n : sizes(rng)) {
    for (const std::size_t start : start_offsets) {
      const auto storage = random_bytes(rng, start + n);
      const unsigned char* bytes = storage.data() + start;
      ASSERT_EQ(scan::checksum_bytes(bytes, n), scan::scalar::checksum_bytes(bytes, n))
          << "n " << n << " start " << start;
      ++cases;
    }
  }
  // A long string (many stripes through the vector loop) once.
  const auto big = random_bytes(rng, 1 << 20);
  EXPECT_EQ(scan::checksum_bytes(big.data(), big.size()), reference_bytes_checksum(big.data(), big.size()));
  RecordProperty("cases", cases);
}

// ---- mode ------------------------------------------------------------------

TEST(scan, scalar_mode_runs_the_twins_and_names_them) {
  scan::set_mode(scan::Mode::scalar);
  EXPECT_EQ(scan::mode(), scan::Mode::scalar);
  EXPECT_STREQ(scan::target(), "scalar");
  scan::set_mode(scan::Mode::dispatch);
  EXPECT_EQ(scan::mode(), scan::Mode::dispatch);
  if (scan::highway_enabled()) {
    EXPECT_STRNE(scan::target(), "scalar");
  } else {
    EXPECT_STREQ(scan::target(), "scalar");  // built without Highway: the twins
  }
}

TEST(scan, output_capacity_leaves_room_for_a_whole_vector) {
  static_assert(scan::output_capacity(0) == scan::output_padding);
  static_assert(scan::output_capacity(1000) == 1000 + scan::output_padding);
  static_assert(scan::output_padding >= 2048 / 64, "a 2048-bit vector of 64-bit lanes");
  SUCCEED();
}

}  // namespace
