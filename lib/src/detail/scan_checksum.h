// Internal: the scalar definition of weft::scan::block_checksum(), shared by
// the scalar twins (scan.cpp) and the tails of the vector kernels
// (scan-inl.h), which compute the same rounds in vector lanes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// ---- the byte checksum (scan::checksum_bytes: TurnLog's record checksum) ----
//
// Four 64-bit accumulators run over 32-byte stripes, one word of the stripe
// each (words are little-endian). Stripe s, lane j, word x:
//   v = x ^ (bytes_key[j] + s * bytes_key_step)
//   acc[j] += lo32(v) * hi32(v) + (word j ^ 1 of the stripe)
// The last, partial stripe is zero-padded. Then the lanes are folded
// (acc[0] ^ rotl(acc[1], 16) ^ rotl(acc[2], 32) ^ rotl(acc[3], 48)) and go
// with the length through two checksum_step rounds and the final shift. No lane
// depends on another inside the loop and the multiply is off the
// accumulator's dependency chain (an add), so the scalar loop runs the four
// lanes in parallel and a vector runs them in one register: 4 words a step.
// The key moves with the stripe index so that stripes in another order sum
// to another checksum.
inline constexpr std::size_t bytes_stripe = 32;
inline constexpr std::uint64_t bytes_key[4] = {0xBE4BA423396CFEB8ULL, 0x1CAD21F72C81017CULL,
                                               0xDB979083E96DD4DEULL, 0x1F67B3B7A4A44072ULL};
inline constexpr std::uint64_t bytes_key_step = 0x9FB21C651E98DF25ULL;

/// A little-endian 64-bit load from any address.
inline std::uint64_t load_le64(const unsigned char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return x;
}

/// One stripe (4 words) into the accumulators, with key k[j] for lane j.
inline void bytes_stripe_step(std::uint64_t* acc, const std::uint64_t* x, const std::uint64_t* k) noexcept {
  for (int j = 0; j < 4; ++j) {
    const std::uint64_t v = x[j] ^ k[j];
    acc[j] += (v & 0xFFFFFFFFULL) * (v >> 32) + x[j ^ 1];
  }
}

/// The accumulators' starting values.
inline void bytes_start(std::uint64_t* acc) noexcept {
  for (int j = 0; j < 4; ++j) acc[j] = checksum_seed + static_cast<std::uint64_t>(j) * checksum_round;
}

/// The key of stripe `s` for lane j.
constexpr std::uint64_t bytes_key_of(std::size_t j, std::uint64_t s) noexcept {
  return bytes_key[j] + s * bytes_key_step;
}

/// Finishes: the last n % 32 bytes (at `tail`, stripe n / 32) zero-padded
/// into one more stripe, then the fold of the lanes and n.
inline std::uint64_t bytes_finish(std::uint64_t* acc, const unsigned char* tail, std::size_t n) noexcept {
  const std::size_t rest = n % bytes_stripe;
  if (rest != 0) {
    unsigned char padded[bytes_stripe] = {};
    std::memcpy(padded, tail, rest);
    const std::uint64_t s = n / bytes_stripe;
    std::uint64_t x[4], k[4];
    for (int j = 0; j < 4; ++j) {
      x[j] = load_le64(padded + 8 * j);
      k[j] = bytes_key_of(static_cast<std::size_t>(j), s);
    }
    bytes_stripe_step(acc, x, k);
  }
  // The lanes folded by rotations (a change in one or two lanes cannot
  // cancel out but with probability near 2^-64), then two rounds.
  const std::uint64_t folded = acc[0] ^ std::rotl(acc[1], 16) ^ std::rotl(acc[2], 32) ^ std::rotl(acc[3], 48);
  std::uint64_t h = checksum_step(folded, static_cast<std::uint64_t>(n));
  h = checksum_step(h, checksum_round);
  return h ^ (h >> checksum_final_shift);
}

/// scan::checksum_bytes() of n bytes, the definition the vector code follows.
inline std::uint64_t checksum_bytes(const void* bytes, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(bytes);
  std::uint64_t acc[4];
  bytes_start(acc);
  const std::size_t stripes = n / bytes_stripe;
  for (std::size_t s = 0; s < stripes; ++s) {  // bound: n / 32
    std::uint64_t x[4], k[4];
    for (int j = 0; j < 4; ++j) {
      x[j] = load_le64(p + s * bytes_stripe + 8 * static_cast<std::size_t>(j));
      k[j] = bytes_key_of(static_cast<std::size_t>(j), s);
    }
    bytes_stripe_step(acc, x, k);
  }
  return bytes_finish(acc, p + stripes * bytes_stripe, n);
}

}  // namespace detail
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
