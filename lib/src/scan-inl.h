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
// Output bound of the index kernels: they store a whole vector of indices
// at out + count. A full vector of inputs starts at i with
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

#include <bit>
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
inline std::uint64_t ChecksumBytes(const unsigned char* bytes, std::size_t n) {
  return scan::scalar::checksum_bytes(bytes, n);
}
#else

// Writes out + 0 .. the indices first + j of the lanes j where `match` (a
// mask over 64-bit lanes) is true, ascending; returns how many. Compresses
// in a register and stores the whole vector of 32-bit indices (see the
// output bound above). Highway 1.0.3's CompressStore stores only the valid
// lanes on AVX3, but with vpcompressd to memory, which is microcoded on AMD
// Zen 4: the AVX3 filter ran at 0.9x the scalar twin with it, 3.7x without
// (bench/scan_bench.cpp).
template <class D64, class M>
HWY_INLINE std::size_t CompressIndices(D64 d64, M match, std::size_t first,
                                       std::uint32_t* HWY_RESTRICT out) {
  const hn::Rebind<std::uint32_t, D64> d32;  // as many lanes, 32 bits each
  const auto match32 = hn::MaskFromVec(hn::TruncateTo(d32, hn::VecFromMask(d64, match)));
  const auto indices = hn::Iota(d32, static_cast<std::uint32_t>(first));
  hn::StoreU(hn::Compress(indices, match32), d32, out);
  return hn::CountTrue(d32, match32);
}

// filter_equal: compares four vectors at a time; a group without a match
// (the common case: one thread's records among many) costs one test. A group
// with a match turns its four masks into one word of bits (StoreMaskBits) and
// writes one index per set bit. That is 1.7x (AVX3) to 2.6x (AVX2) faster on
// Zen 4 at one match in 64 than compressing each vector of indices, which
// needs a mask conversion and a table-driven permute per vector
// (bench/scan_bench.cpp). Scalable targets (SVE, RVV: the lane count is not
// known at compile time and four masks may not fit one word) compress.
#if !HWY_HAVE_SCALABLE
// The set bits of one group's four masks, vector j's lanes at bits
// j * lanes ... (lanes <= 8: fixed-width targets; 32 bits hold them).
template <class D64, class M>
HWY_INLINE std::uint32_t GroupBits(D64 d, M m0, M m1, M m2, M m3) {
  constexpr std::size_t lanes = hn::MaxLanes(D64());
  static_assert(lanes <= 8, "four masks of at most 8 lanes fit 32 bits");
  std::uint8_t bytes[4][8];  // StoreMaskBits writes (lanes + 7) / 8 bytes
  hn::StoreMaskBits(d, m0, bytes[0]);
  hn::StoreMaskBits(d, m1, bytes[1]);
  hn::StoreMaskBits(d, m2, bytes[2]);
  hn::StoreMaskBits(d, m3, bytes[3]);
  constexpr std::uint32_t low = (std::uint32_t{1} << lanes) - 1;
  return (bytes[0][0] & low) | (bytes[1][0] & low) << lanes | (bytes[2][0] & low) << (2 * lanes) |
         (bytes[3][0] & low) << (3 * lanes);
}
#endif

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
#if !HWY_HAVE_SCALABLE
      // Bound: one round per match, at most 4 * lanes.
      for (std::uint32_t bits = GroupBits(d, m0, m1, m2, m3); bits != 0; bits &= bits - 1) {
        out[count++] = static_cast<std::uint32_t>(i + static_cast<std::size_t>(std::countr_zero(bits)));
      }
#else
      count += CompressIndices(d, m0, i, out + count);
      count += CompressIndices(d, m1, i + lanes, out + count);
      count += CompressIndices(d, m2, i + 2 * lanes, out + count);
      count += CompressIndices(d, m3, i + 3 * lanes, out + count);
#endif
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

// How a lane gets the words of its block. Fixed-width targets load rows
// (contiguous words of one block) and transpose them into columns (one word
// of each block, a block per lane): 4 blocks a vector on AVX2 / AVX3 (256-bit
// vectors; an 8 x 8 transpose costs more than it gains), 2 on the 128-bit
// targets. Gathers were the first version: on AMD Zen 4 they ran at half the
// scalar twin's speed. Scalable targets (SVE, RVV: width unknown at compile
// time) gather.
#if HWY_HAVE_SCALABLE
using BlockTag = hn::ScalableTag<std::uint64_t>;
constexpr std::size_t block_lanes = 0;  // gather
#elif HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
using BlockTag = hn::CappedTag<std::uint64_t, 4>;
constexpr std::size_t block_lanes = 4;
#else
using BlockTag = hn::CappedTag<std::uint64_t, 2>;
constexpr std::size_t block_lanes = 2;
#endif

#if HWY_HAVE_SCALABLE
// block_checksum() of Lanes(d) consecutive blocks, one block a lane: lane j
// gathers word w of block j from base[j * block_words + w] (offsets
// j * block_words by one 32 x 32 -> 64-bit multiply; block_words < 2^32 is
// checked by the caller).
inline hn::Vec<BlockTag> ChecksumLanes(BlockTag d, const std::uint64_t* HWY_RESTRICT base,
                                       std::size_t block_words) {
  const hn::Repartition<std::uint32_t, BlockTag> d32;
  const hn::RebindToSigned<BlockTag> di;
  const auto offsets = hn::BitCast(
      di, hn::MulEven(hn::BitCast(d32, hn::Iota(d, 0)),
                      hn::BitCast(d32, hn::Set(d, static_cast<std::uint64_t>(block_words)))));
  auto h = hn::Set(d, detail::checksum_seed);
  for (std::size_t w = 0; w < block_words; ++w) {
    h = ChecksumStep(d, h, hn::GatherIndex(d, base + w, offsets));
  }
  h = ChecksumStep(d, h, hn::Set(d, static_cast<std::uint64_t>(block_words)));
  h = ChecksumStep(d, h, hn::Set(d, detail::checksum_round));
  return hn::Xor(h, hn::ShiftRight<detail::checksum_final_shift>(h));
}
#else
// Words w .. w + block_lanes - 1 of the block_lanes blocks at base (a block
// every block_words words) as columns: column[m] lane j = base[j * block_words + w + m].
inline void LoadColumns(BlockTag d, const std::uint64_t* HWY_RESTRICT base,
                        std::size_t block_words, std::size_t w, hn::Vec<BlockTag>* column) {
  const auto r0 = hn::LoadU(d, base + w);
  const auto r1 = hn::LoadU(d, base + block_words + w);
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  static_assert(block_lanes == 4, "4 blocks a vector");
  {
    const auto r2 = hn::LoadU(d, base + 2 * block_words + w);
    const auto r3 = hn::LoadU(d, base + 3 * block_words + w);
    const auto t0 = hn::InterleaveLower(d, r0, r1);  // r0[0] r1[0] | r0[2] r1[2]
    const auto t1 = hn::InterleaveUpper(d, r0, r1);  // r0[1] r1[1] | r0[3] r1[3]
    const auto t2 = hn::InterleaveLower(d, r2, r3);  // r2[0] r3[0] | r2[2] r3[2]
    const auto t3 = hn::InterleaveUpper(d, r2, r3);  // r2[1] r3[1] | r2[3] r3[3]
    column[0] = hn::ConcatLowerLower(d, t2, t0);     // r0[0] r1[0] r2[0] r3[0]
    column[1] = hn::ConcatLowerLower(d, t3, t1);
    column[2] = hn::ConcatUpperUpper(d, t2, t0);
    column[3] = hn::ConcatUpperUpper(d, t3, t1);
  }
#else
  static_assert(block_lanes == 2, "2 blocks a vector");
  column[0] = hn::InterleaveLower(d, r0, r1);  // r0[0] r1[0]
  column[1] = hn::InterleaveUpper(d, r0, r1);  // r0[1] r1[1]
#endif
}

// block_checksum() of block_lanes consecutive blocks, one block a lane.
inline hn::Vec<BlockTag> ChecksumLanes(BlockTag d, const std::uint64_t* HWY_RESTRICT base,
                                       std::size_t block_words) {
  assert(hn::Lanes(d) == block_lanes);
  auto h = hn::Set(d, detail::checksum_seed);
  std::size_t w = 0;
  for (; w + block_lanes <= block_words; w += block_lanes) {
    hn::Vec<BlockTag> column[block_lanes];
    LoadColumns(d, base, block_words, w, column);
    for (std::size_t m = 0; m < block_lanes; ++m) h = ChecksumStep(d, h, column[m]);
  }
  for (; w < block_words; ++w) {  // the last block_words % block_lanes words
    HWY_ALIGN std::uint64_t words[block_lanes];
    for (std::size_t j = 0; j < block_lanes; ++j) words[j] = base[j * block_words + w];
    h = ChecksumStep(d, h, hn::Load(d, words));
  }
  h = ChecksumStep(d, h, hn::Set(d, static_cast<std::uint64_t>(block_words)));
  h = ChecksumStep(d, h, hn::Set(d, detail::checksum_round));
  return hn::Xor(h, hn::ShiftRight<detail::checksum_final_shift>(h));
}
#endif

inline void ChecksumBlocks(const std::uint64_t* HWY_RESTRICT blocks, std::size_t count,
                           std::size_t block_words, std::uint64_t* HWY_RESTRICT checksums) {
  const BlockTag d;
  const std::size_t lanes = hn::Lanes(d);
  std::size_t b = 0;
  for (; b + lanes <= count; b += lanes) {
    hn::StoreU(ChecksumLanes(d, blocks + b * block_words, block_words), d,
               checksums + b);
  }
  for (; b < count; ++b) checksums[b] = detail::checksum_block(blocks + b * block_words, block_words);
}

inline std::size_t VerifyBlocks(const std::uint64_t* HWY_RESTRICT blocks, std::size_t count,
                                std::size_t block_words, const std::uint64_t* HWY_RESTRICT checksums,
                                std::uint32_t* HWY_RESTRICT out) {
  const BlockTag d;
  const std::size_t lanes = hn::Lanes(d);
  assert(lanes <= scan::output_padding);
  std::size_t failed = 0;
  std::size_t b = 0;
  for (; b + lanes <= count; b += lanes) {
    const auto computed = ChecksumLanes(d, blocks + b * block_words, block_words);
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

// checksum_bytes: the four accumulators of detail::checksum_bytes in vector
// lanes, one 32-byte stripe a step: in one 256-bit vector on AVX2 / AVX3,
// in two 128-bit vectors (words 0-1 and 2-3) elsewhere. The neighbour word
// each lane adds (word j ^ 1) is the other 64-bit half of its 128-bit block:
// Shuffle01 on every target. Scalable targets (SVE, RVV) and big-endian
// ones run the scalar twin.
#if HWY_HAVE_SCALABLE
inline std::uint64_t ChecksumBytes(const unsigned char* bytes, std::size_t n) {
  return scan::scalar::checksum_bytes(bytes, n);
}
#else
template <class D>
HWY_INLINE hn::Vec<D> BytesStep(D, hn::Vec<D> acc, hn::Vec<D> x, hn::Vec<D> key) {
  const hn::Repartition<std::uint32_t, D> d32;
  const auto v = hn::Xor(x, key);
  const auto product = hn::MulEven(hn::BitCast(d32, v), hn::BitCast(d32, hn::ShiftRight<32>(v)));
  return hn::Add(acc, hn::Add(product, hn::Shuffle01(x)));
}

inline std::uint64_t ChecksumBytes(const unsigned char* HWY_RESTRICT bytes, std::size_t n) {
  std::uint64_t acc[4];
  detail::bytes_start(acc);
  const std::size_t stripes = n / detail::bytes_stripe;
  if constexpr (std::endian::native == std::endian::little) {
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    const hn::CappedTag<std::uint64_t, 4> d;
    auto a = hn::LoadU(d, acc);
    auto key = hn::LoadU(d, detail::bytes_key);
    const auto step = hn::Set(d, detail::bytes_key_step);
    for (std::size_t s = 0; s < stripes; ++s) {  // bound: n / 32
      const auto x = hn::LoadU(d, reinterpret_cast<const std::uint64_t*>(bytes + s * detail::bytes_stripe));
      a = BytesStep(d, a, x, key);
      key = hn::Add(key, step);
    }
    hn::StoreU(a, d, acc);
#else
    const hn::CappedTag<std::uint64_t, 2> d;
    auto a0 = hn::LoadU(d, acc);
    auto a1 = hn::LoadU(d, acc + 2);
    auto k0 = hn::LoadU(d, detail::bytes_key);
    auto k1 = hn::LoadU(d, detail::bytes_key + 2);
    const auto step = hn::Set(d, detail::bytes_key_step);
    for (std::size_t s = 0; s < stripes; ++s) {  // bound: n / 32
      const auto* words = reinterpret_cast<const std::uint64_t*>(bytes + s * detail::bytes_stripe);
      a0 = BytesStep(d, a0, hn::LoadU(d, words), k0);
      a1 = BytesStep(d, a1, hn::LoadU(d, words + 2), k1);
      k0 = hn::Add(k0, step);
      k1 = hn::Add(k1, step);
    }
    hn::StoreU(a0, d, acc);
    hn::StoreU(a1, d, acc + 2);
#endif
  } else {
    return scan::scalar::checksum_bytes(bytes, n);
  }
  return detail::bytes_finish(acc, bytes + stripes * detail::bytes_stripe, n);
}
#endif  // HWY_HAVE_SCALABLE

#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace scan_impl
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
