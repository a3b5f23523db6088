// MurmurHash3_x64_128, written from the published algorithm (public domain
// reference by Austin Appleby). Reads bytes little-endian so the result is the
// same on every target.
#include "weft/id.h"

#include <bit>
#include <cstring>

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace {

constexpr std::uint64_t c1 = 0x87C37B91114253D5ULL;
constexpr std::uint64_t c2 = 0x4CF5AD432745937FULL;

constexpr std::uint64_t rotl64(std::uint64_t x, int r) noexcept {
  return (x << r) | (x >> (64 - r));
}

constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDULL;
  k ^= k >> 33;
  k *= 0xC4CEB9FE1A85EC53ULL;
  k ^= k >> 33;
  return k;
}

std::uint64_t load_le64(const unsigned char* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; i++) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// A whole little-endian 64-bit word: one load where the target is
// little-endian (the byte loop above is not always turned into one).
std::uint64_t load_le64(const unsigned char* p) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  } else {
    return load_le64(p, 8);
  }
}

}  // namespace

Id murmur3_x64_128(const void* bytes, std::size_t length, std::uint32_t seed) noexcept {
  const auto* data = static_cast<const unsigned char*>(bytes);
  const std::size_t blocks = length / 16;
  std::uint64_t h1 = seed;
  std::uint64_t h2 = seed;
  for (std::size_t i = 0; i < blocks; i++) {
    std::uint64_t k1 = load_le64(data + i * 16);
    std::uint64_t k2 = load_le64(data + i * 16 + 8);
    k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
    h1 = rotl64(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52DCE729;
    k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
    h2 = rotl64(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495AB5;
  }
  const unsigned char* tail = data + blocks * 16;
  const std::size_t rest = length & 15;
  if (rest > 8) {
    std::uint64_t k2 = load_le64(tail + 8, rest - 8);
    k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
  }
  if (rest > 0) {
    std::uint64_t k1 = load_le64(tail, rest < 8 ? rest : 8);
    k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
  }
  h1 ^= length; h2 ^= length;
  h1 += h2; h2 += h1;
  h1 = fmix64(h1); h2 = fmix64(h2);
  h1 += h2; h2 += h1;
  return Id{h1, h2};
}

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
