// weft/id.h: 128-bit identifiers (session keys, thread ids, request ids).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "weft/atomic.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

/// A 128-bit identifier. A UUID fits (`hi` = its first 8 bytes read as a
/// big-endian integer, `lo` = the last 8); strings map to one through
/// id_from_string(). weft never stores an Id in one atomic word: it writes the
/// two halves before the word that publishes them.
struct Id {
  std::uint64_t hi = 0;  ///< high 64 bits
  std::uint64_t lo = 0;  ///< low 64 bits

  /// Equal when both halves are equal.
  friend constexpr bool operator==(const Id& a, const Id& b) noexcept {
    return a.hi == b.hi && a.lo == b.lo;
  }
};

/// MurmurHash3_x64_128 (Austin Appleby's public-domain reference, the same
/// bytes and result as `MurmurHash3_x64_128(data, len, seed, out)` on a
/// little-endian machine) of `bytes` with `seed`: `hi` = out[0], `lo` = out[1].
/// Stable across versions, platforms and languages.
[[nodiscard]] Id murmur3_x64_128(const void* bytes, std::size_t length,
                                 std::uint32_t seed) noexcept;

/// The documented string-to-id hash: murmur3_x64_128 of the string's bytes
/// with seed 0x77656674 ("weft"). Any language can reproduce it.
[[nodiscard]] inline Id id_from_string(std::string_view text) noexcept {
  return murmur3_x64_128(text.data(), text.size(), 0x77656674u);
}

/// A 64-bit mix of an id, used to place it in hash tables. Region formats
/// depend on it (through id_slot): changing it changes format_version.
[[nodiscard]] constexpr std::uint64_t id_mix64(const Id& id) noexcept {
  std::uint64_t x = id.hi ^ (id.lo * 0x9E3779B97F4A7C15ULL);
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

/// The slot of a table of `n` slots where `id` starts its probe (its home):
/// the high 64 bits of id_mix64(id) x n, a multiply where a remainder would
/// divide. The LockTable's key homes and the TurnLog's thread homes are
/// placed by it, so it is part of their region formats. n > 0.
[[nodiscard]] constexpr std::uint64_t id_slot(const Id& id, std::uint64_t n) noexcept {
  const std::uint64_t hash = id_mix64(id);
#if defined(__SIZEOF_INT128__)
  __extension__ using u128 = unsigned __int128;  // a GNU extension: no -Wpedantic warning
  return static_cast<std::uint64_t>((static_cast<u128>(hash) * n) >> 64);
#else  // the exact 64 x 64 -> 128-bit product's high half from 32-bit halves
  const std::uint64_t a_lo = hash & 0xFFFFFFFFu, a_hi = hash >> 32;
  const std::uint64_t b_lo = n & 0xFFFFFFFFu, b_hi = n >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + (lo_hi & 0xFFFFFFFFu);
  return hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (cross >> 32);
#endif
}

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
