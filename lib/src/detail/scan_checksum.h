// Internal: the scalar definition of weft::scan::block_checksum(), shared by
// the scalar twins (scan.cpp) and the tails of the vector kernels
// (scan-inl.h), which compute the same rounds in vector lanes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/atomic.h"

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace detail {

inline constexpr std::uint64_t checksum_seed = 0x9E3779B97F4A7C15ULL;   // 2^64 / golden ratio
inline constexpr std::uint64_t checksum_round = 0xC2B2AE3D27D4EB4FULL;  // xxHash64's prime 2
inline constexpr int checksum_rotate = 23;
inline constexpr int checksum_final_shift = 29;

/// One round: v = h ^ x; lo32(v) * hi32(v) + rotr(v, 23) + checksum_round.
constexpr std::uint64_t checksum_step(std::uint64_t h, std::uint64_t x) noexcept {
  const std::uint64_t v = h ^ x;
  const std::uint64_t product = (v & 0xFFFFFFFFULL) * (v >> 32);
  const std::uint64_t rotated = v >> checksum_rotate | v << (64 - checksum_rotate);
  return product + rotated + checksum_round;
}

/// block_checksum() of block_words words.
constexpr std::uint64_t checksum_block(const std::uint64_t* words, std::size_t block_words) noexcept {
  std::uint64_t h = checksum_seed;
  for (std::size_t w = 0; w < block_words; ++w) h = checksum_step(h, words[w]);
  h = checksum_step(h, static_cast<std::uint64_t>(block_words));
  h = checksum_step(h, checksum_round);
  return h ^ (h >> checksum_final_shift);
}

}  // namespace detail
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
