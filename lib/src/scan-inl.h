// The vector code of weft/scan.h, compiled once per Highway target:
// scan.cpp names this file in HWY_TARGET_INCLUDE and hwy/foreach_target.h
// includes it again for each target (SSE4, AVX2, AVX3, NEON, EMU128, ...),
// each time inside that target's namespace (N_AVX2, ...). scan.cpp exports
// the per-target functions (HWY_EXPORT) and calls the one the CPU supports
// (HWY_DYNAMIC_DISPATCH). Nothing here is public.
//
// Every kernel runs whole vectors while they fit and finishes the last
// n % lanes inputs with the scalar twin's loop, so its result is the twin's
// on every target (tests/scan_test.cpp checks it per target).
//
// Output bound of the index kernels: CompressStore stores a whole vector of
// indices at out + count. A full vector of inputs starts at i with
// i + lanes <= n, and count <= i (at most one index per input so far), so the
// store ends at or before out + n: the kernels never write past n entries,
// inside the output_capacity(n) the header asks callers for.

// Per-target include guard (toggled by foreach_target.h for each target).
#if defined(WEFT_SRC_SCAN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WEFT_SRC_SCAN_INL_H_
#undef WEFT_SRC_SCAN_INL_H_
#else
#define WEFT_SRC_SCAN_INL_H_
#endif

#include <cassert>
#include <cstddef>
#include <cstdint>

#include <hwy/highway.h>

#include "detail/scan_checksum.h"
#include "weft/scan.h"

HWY_BEFORE_NAMESPACE();
namespace weft {
inline namespace WEFT_SEAM_NS {
namespace scan_impl {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Name of this target ("AVX2", ...), for scan::target().
inline const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

#if HWY_TARGET == HWY_SCALAR
// Highway's one-lane fallback target (the last entry of every dispatch
// table) cannot split a 64-bit lane into 32-bit halves; it has nothing to
// add to the scalar twins, so it runs them.
inline std::size_t FilterEqual(const std::uint64_t* keys, std::size_t n, std::uint64_t key,
                               std::uint32_t* out) {
  return scan::scalar::filter_equal(keys, n, key, out);
}
inline std::size_t FirstUnfinished(const std::uint64_t* states, std::size_t n) {
  return scan::scalar::first_unfinished(states, n);
}
inline void ChecksumBlocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                           std::uint64_t* checksums) {
  scan::scalar::checksum_blocks(blocks, count, block_words, checksums);
}
inline std::size_t VerifyBlocks(const std::uint64_t* blocks, std::size_t count,
                                std::size_t block_words, const std::uint64_t* checksums,
                                std::uint32_t* out) {
  return scan::scalar::verify_blocks(blocks, count, block_words, checksums, out);
}
#else

// Writes out + 0 .. the indices first + j of the lanes j where `match` (a
// mask over 64-bit lanes) is true, ascending; returns how many. Stores a
// whole vector of 32-bit indices (see the output bound above).
template <class D64, class M>
HWY_INLINE std::size_t CompressIndices(D64 d64, M match, std::size_t first,
                                       std::uint32_t* HWY_RESTRICT out) {
  const hn::Rebind<std::uint32_t, D64> d32;  // as many lanes, 32 bits each
  const auto match32 = hn::MaskFromVec(hn::TruncateTo(d32, hn::VecFromMask(d64, match)));
  const auto indices = hn::Iota(d32, static_cast<std::uint32_t>(first));
  return hn::CompressStore(indices, match32, d32, out);
}

// filter_equal: compares four vectors at a time; a group without a match
// (the common case: one thread's records among many) costs one test.
inline std::size_t FilterEqual(const std::uint64_t* HWY_RESTRICT keys, std::size_t n,
                               std::uint64_t key, std::uint32_t* HWY_RESTRICT out) {
  const hn::ScalableTag<std::uint64_t> d;
  const std::size_t lanes = hn::Lanes(d);
  assert(lanes <= scan::output_padding);
  const auto wanted = hn::Set(d, key);
  std::size_t count = 0;
  std::size_t i = 0;
  if (n >= 4 * lanes) {
    for (; i <= n - 4 * lanes; i += 4 * lanes) {
      const auto m0 = hn::Eq(hn::LoadU(d, keys + i), wanted);
      const auto m1 = hn::Eq(hn::LoadU(d, keys + i + lanes), wanted);
      const auto m2 = hn::Eq(hn::LoadU(d, keys + i + 2 * lanes), wanted);
      const auto m3 = hn::Eq(hn::LoadU(d, keys + i + 3 * lanes), wanted);
      if (hn::AllFalse(d, hn::Or(hn::Or(m0, m1), hn::Or(m2, m3)))) continue;
      count += CompressIndices(d, m0, i, out + count);
      count += CompressIndices(d, m1, i + lanes, out + count);
      count += CompressIndices(d, m2, i + 2 * lanes, out + count);
      count += CompressIndices(d, m3, i + 3 * lanes, out + count);
    }
  }
  for (; i + lanes <= n; i += lanes) {
    const auto match = hn::Eq(hn::LoadU(d, keys + i), wanted);
    count += CompressIndices(d, match, i, out + count);
  }
  for (; i < n; ++i) {
    if (keys[i] == key) out[count++] = static_cast<std::uint32_t>(i);
  }
  assert(count <= n);
  return count;
}

// first_unfinished. A state is finished when its kind (low byte) is 3 or 4,
// that is when ((state - 3) & 0xFE) == 0: kinds 3 and 4 give 0 and 1 in the
// low byte, every other kind something with a bit of 0xFE set (kinds below 3
// wrap to 0xFD..0xFF; the borrow only reaches bits above the byte). So the
// OR of (state - 3) over many states, masked with 0xFE, is zero exactly when
// all of them finished: two operations a state, one test per four vectors.
inline std::size_t FirstUnfinished(const std::uint64_t* HWY_RESTRICT states, std::size_t n) {
  static_assert(scan::state_kind_committed == 3 && scan::state_kind_aborted == 4,
                "the (state - 3) & 0xFE test assumes finished kinds are 3 and 4");
  const hn::ScalableTag<std::uint64_t> d;
  const std::size_t lanes = hn::Lanes(d);
  const auto three = hn::Set(d, std::uint64_t{3});
  const auto fe = hn::Set(d, std::uint64_t{0xFE});
  const auto zero = hn::Zero(d);
  std::size_t i = 0;
  if (n >= 4 * lanes) {
    for (; i <= n - 4 * lanes; i += 4 * lanes) {
      const auto u0 = hn::Sub(hn::LoadU(d, states + i), three);
      const auto u1 = hn::Sub(hn::LoadU(d, states + i + lanes), three);
      const auto u2 = hn::Sub(hn::LoadU(d, states + i + 2 * lanes), three);
      const auto u3 = hn::Sub(hn::LoadU(d, states + i + 3 * lanes), three);
      const auto any = hn::And(hn::Or(hn::Or(u0, u1), hn::Or(u2, u3)), fe);
      if (!hn::AllTrue(d, hn::Eq(any, zero))) break;  // found in this group: below
    }
  }
  for (; i + lanes <= n; i += lanes) {
    const auto kind_off = hn::And(hn::Sub(hn::LoadU(d, states + i), three), fe);
    const intptr_t first = hn::FindFirstTrue(d, hn::Not(hn::Eq(kind_off, zero)));
    if (first >= 0) return i + static_cast<std::size_t>(first);
  }
  for (; i < n; ++i) {
    const std::uint64_t kind = states[i] & scan::state_kind_mask;
    if (kind != scan::state_kind_committed && kind != scan::state_kind_aborted) return i;
  }
  return n;
}

// One round of block_checksum() in every lane: v = h ^ x;
// lo32(v) * hi32(v) + rotr(v, 23) + checksum_round
// (detail/scan_checksum.h). The 32 x 32 -> 64-bit
// multiply is one instruction on every target (64-bit lane multiplies are
// not, before AVX-512DQ).
template <class D>
HWY_INLINE hn::Vec<D> ChecksumStep(D d, hn::Vec<D> h, hn::Vec<D> x) {
  const hn::Repartition<std::uint32_t, D> d32;
  const auto v = hn::Xor(h, x);
  const auto product = hn::MulEven(hn::BitCast(d32, v), hn::BitCast(d32, hn::ShiftRight<32>(v)));
  return hn::Add(hn::Add(product, hn::RotateRight<detail::checksum_rotate>(v)), hn::Set(d, detail::checksum_round));
}

// block_checksum() of `lanes` consecutive blocks, one block a lane: lane j
// gathers word w of block j from base[j * block_words + w].
template <class D>
HWY_INLINE hn::Vec<D> ChecksumLanes(D d, const std::uint64_t* HWY_RESTRICT base,
                                    std::size_t block_words, hn::Vec<hn::RebindToSigned<D>> offsets) {
  auto h = hn::Set(d, detail::checksum_seed);
  for (std::size_t w = 0; w < block_words; ++w) {
    h = ChecksumStep(d, h, hn::GatherIndex(d, base + w, offsets));
  }
  h = ChecksumStep(d, h, hn::Set(d, static_cast<std::uint64_t>(block_words)));
  h = ChecksumStep(d, h, hn::Set(d, detail::checksum_round));
  return hn::Xor(h, hn::ShiftRight<detail::checksum_final_shift>(h));
}

// Offsets j * block_words of lane j (block_words < 2^32, checked by the
// caller): one 32 x 32 -> 64-bit multiply.
template <class D>
HWY_INLINE hn::Vec<hn::RebindToSigned<D>> BlockOffsets(D d, std::size_t block_words) {
  const hn::Repartition<std::uint32_t, D> d32;
  const hn::RebindToSigned<D> di;
  const auto lane = hn::BitCast(d32, hn::Iota(d, 0));
  const auto words = hn::BitCast(d32, hn::Set(d, static_cast<std::uint64_t>(block_words)));
  return hn::BitCast(di, hn::MulEven(lane, words));
}

inline void ChecksumBlocks(const std::uint64_t* HWY_RESTRICT blocks, std::size_t count,
                           std::size_t block_words, std::uint64_t* HWY_RESTRICT checksums) {
  const hn::ScalableTag<std::uint64_t> d;
  const std::size_t lanes = hn::Lanes(d);
  const auto offsets = BlockOffsets(d, block_words);
  std::size_t b = 0;
  for (; b + lanes <= count; b += lanes) {
    hn::StoreU(ChecksumLanes(d, blocks + b * block_words, block_words, offsets), d,
               checksums + b);
  }
  for (; b < count; ++b) checksums[b] = detail::checksum_block(blocks + b * block_words, block_words);
}

inline std::size_t VerifyBlocks(const std::uint64_t* HWY_RESTRICT blocks, std::size_t count,
                                std::size_t block_words, const std::uint64_t* HWY_RESTRICT checksums,
                                std::uint32_t* HWY_RESTRICT out) {
  const hn::ScalableTag<std::uint64_t> d;
  const std::size_t lanes = hn::Lanes(d);
  assert(lanes <= scan::output_padding);
  const auto offsets = BlockOffsets(d, block_words);
  std::size_t failed = 0;
  std::size_t b = 0;
  for (; b + lanes <= count; b += lanes) {
    const auto computed = ChecksumLanes(d, blocks + b * block_words, block_words, offsets);
    const auto bad = hn::Not(hn::Eq(computed, hn::LoadU(d, checksums + b)));
    if (hn::AllFalse(d, bad)) continue;
    failed += CompressIndices(d, bad, b, out + failed);
  }
  for (; b < count; ++b) {
    if (detail::checksum_block(blocks + b * block_words, block_words) != checksums[b]) {
      out[failed++] = static_cast<std::uint32_t>(b);
    }
  }
  assert(failed <= count);
  return failed;
}

#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace scan_impl
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
