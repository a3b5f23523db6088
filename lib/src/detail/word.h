// Internal: the shared words of a region, in both word-size configurations.
//
//   W     the state word: every word that is compare-exchanged or fetch-added
//         (packed states, counters, tickets, sequences). 64 bits, or 32 with
//         WEFT_WORD_BITS=32; its fields are narrower there (see the limits in
//         weft/lock_table.h, weft/turn_log.h and docs/EMBEDDED.md).
//   Wide  a 64-bit value that is only loaded and stored (ids, deadlines,
//         checksums, geometry): one word, or with 32-bit words two halves,
//         low half first (the same bytes as a little-endian 64-bit word, so
//         a region's header reads alike in both configurations and a
//         mismatch is recognised, never misread). A Wide is written only
//         before the word that publishes it, or while that word says
//         "being written" (a claim, the LockTable's writing bit); readers
//         load it between two loads of that word and discard what changed in
//         between, so the two halves never tear in a value anyone uses.
#pragma once

#include <bit>
#include <cstdint>

#include "weft/atomic.h"

static_assert(std::endian::native == std::endian::little,
              "weft: regions are little-endian (docs/EMBEDDED.md); big-endian targets are not supported");

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace detail {

#if WEFT_WORD_BITS == 32
using W = std::uint32_t;
WEFT_ASSERT_LOCK_FREE(std::uint32_t);

struct Wide {
  weft::atomic<std::uint32_t> lo;
  weft::atomic<std::uint32_t> hi;
  std::uint64_t load(std::memory_order order) const noexcept {
    const std::uint64_t l = lo.load(order);
    return static_cast<std::uint64_t>(hi.load(order)) << 32 | l;
  }
  void store(std::uint64_t value, std::memory_order order) noexcept {
    lo.store(static_cast<std::uint32_t>(value), order);
    hi.store(static_cast<std::uint32_t>(value >> 32), order);
  }
};
#else
using W = std::uint64_t;
WEFT_ASSERT_LOCK_FREE(std::uint64_t);
using Wide = weft::atomic<std::uint64_t>;
#endif

static_assert(sizeof(Wide) == 8, "a Wide is 8 bytes in both configurations");
static_assert(sizeof(W) * 8 == WEFT_WORD_BITS, "the state word has the configured size");

/// The largest value a state word holds.
inline constexpr W word_max = ~W{0};

/// True when `value` fits a state word.
constexpr bool fits_word(std::uint64_t value) { return value <= word_max; }

/// Raises `word` to at least `value` (a CAS-max, never lowering it): the CAS
/// with `order`, the load with acquire (seq_cst when `order` is). Bound:
/// each failed CAS saw the word rise.
inline void raise_word(weft::atomic<W>& word, std::uint64_t value,
                       std::memory_order order = std::memory_order_acq_rel) noexcept {
  const std::memory_order load = order == std::memory_order_seq_cst ? order : std::memory_order_acquire;
  W seen = word.load(load);
  while (seen < value && !word.compare_exchange_weak(seen, static_cast<W>(value), order)) {
  }
}

}  // namespace detail
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
