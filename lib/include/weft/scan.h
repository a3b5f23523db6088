// weft/scan.h: bulk scan kernels over plain arrays, vectorised with Google
// Highway and dispatched at run time to the best instruction set the CPU has.
//
// Three kernels, each with a one-sentence contract and a scalar twin in
// weft::scan::scalar that defines its result:
//
//   kernel              contract
//   -----------------   -------------------------------------------------------
//   filter_equal        the indices i < n with keys[i] == key, ascending
//   first_unfinished    the index of the first record state word whose kind is
//                       neither committed nor aborted, or n (the watermark)
//   verify_blocks       the indices of the blocks whose block_checksum() differs
//                       from the stored checksum, ascending
//   (checksum_blocks    block_checksum() of every block: how checksums are made)
//   checksum_bytes      a 64-bit checksum of a byte string (the TurnLog's
//                       record checksum: appends make it, recovery checks it)
//
// The dispatched function and its scalar twin return the same result for the
// same input on every target (tests/scan_test.cpp holds them equal on random
// inputs for every target the machine supports). Where weft was built without
// Highway (-DWEFT_HIGHWAY=OFF, or no Highway for the target: cross builds)
// the dispatched functions run the scalar twins.
//
// ## Quiescent data only
//
// The kernels read caller-owned arrays with plain (vector) loads. They are
// for data nobody writes while the scan runs: a region being recovered or
// verified before any writer attaches, or a reader's private copy of an
// index. Never point them at a live structure's shared words (weft::atomic):
// a vector load is not an atomic load, and it would hide a race from
// ThreadSanitizer instead of reporting it.
//
// ## Output buffers
//
// filter_equal and verify_blocks write indices as std::uint32_t (n and count
// are at most 2^32 - 1). Their vector code stores whole vectors of indices
// (Highway's Compress, then a full-vector store), so a call may write anywhere in
// out[0, output_capacity(n)): the first `returned` entries are the result,
// the rest is scratch. Size the buffer with output_capacity().
//
// ## Cost
//
// No heap, no exceptions, no locks; every loop is bounded by n (times
// block_words). The first call resolves the target (CPUID, once per process).
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/atomic.h"

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace scan {

/// Entries past n that filter_equal / verify_blocks may write (whole-vector
/// stores): 64 indices, enough for 2048-bit vectors (the widest Highway
/// target has 256-byte vectors).
inline constexpr std::size_t output_padding = 64;

/// Capacity, in std::uint32_t entries, that the out array of filter_equal /
/// verify_blocks must have for n inputs.
[[nodiscard]] constexpr std::size_t output_capacity(std::size_t n) noexcept {
  return n + output_padding;
}

/// Largest n (or block count) the index-producing kernels accept: indices
/// are 32-bit.
inline constexpr std::size_t index_count_max = 0xFFFFFFFFu;

/// Record state kinds the watermark scan reads (the low 8 bits of a TurnLog
/// record state word; the bits above are the payload offset).
inline constexpr std::uint64_t state_kind_mask = 0xFF;
inline constexpr std::uint64_t state_kind_committed = 3;  ///< finished: visible
inline constexpr std::uint64_t state_kind_aborted = 4;    ///< finished: skipped

/// Which code the dispatched functions run.
enum class Mode : std::uint8_t {
  dispatch = 0,  ///< the best Highway target of this CPU (the default)
  scalar = 1,    ///< the scalar twins (also what builds without Highway run)
};

/// Chooses the code of every later dispatched call, process-wide (an atomic
/// flag, relaxed: calls already running finish with what they chose).
void set_mode(Mode mode) noexcept;

/// The current mode.
[[nodiscard]] Mode mode() noexcept;

/// True when weft was built with Highway (the kernels have vector code).
[[nodiscard]] bool highway_enabled() noexcept;

/// Name of the code the next dispatched call runs: Highway's target name
/// ("AVX3", "AVX2", "SSE4", "NEON", "EMU128", ...) or "scalar" (Mode::scalar,
/// or a build without Highway). Static storage; never null.
[[nodiscard]] const char* target() noexcept;

/// Writes to out[0, k) the indices i < n, ascending, with keys[i] == key;
/// returns k. `out` holds output_capacity(n) entries (entries k and beyond
/// are scratch). keys may be null when n == 0; n <= index_count_max.
[[nodiscard]] std::size_t filter_equal(const std::uint64_t* keys, std::size_t n,
                                       std::uint64_t key, std::uint32_t* out) noexcept;

/// The commit watermark: the smallest i < n whose state kind
/// (states[i] & state_kind_mask) is neither committed nor aborted, or n when
/// every record finished. states may be null when n == 0.
[[nodiscard]] std::size_t first_unfinished(const std::uint64_t* states, std::size_t n) noexcept;

/// The checksum of one block of `block_words` 64-bit words (the definition
/// checksum_blocks and verify_blocks vectorise; any block_words, 0 too):
///
///   h = 0x9E3779B97F4A7C15
///   for each word x:   h = step(h, x)
///   h = step(h, block_words); h = step(h, 0xC2B2AE3D27D4EB4F)
///   return h ^ (h >> 29)
///   where step(h, x) = lo32(v) * hi32(v) + rotr(v, 23) + 0xC2B2AE3D27D4EB4F,
///         v = h ^ x, all arithmetic mod 2^64
///
/// A 64-bit non-cryptographic hash: a corrupted block goes unnoticed with a
/// probability near 2^-64 (the tests flip every bit of sample blocks and see
/// each flip caught). It guards against media and copy errors, not attackers.
[[nodiscard]] std::uint64_t block_checksum(const std::uint64_t* words,
                                           std::size_t block_words) noexcept;

/// The checksum of n bytes at `bytes` (null when n == 0): TurnLog's record
/// checksum, computed by every append and checked by recovery. Definition
/// (detail/scan_checksum.h; four lanes, 32-byte stripes, little-endian words):
///
///   acc[j] = 0x9E3779B97F4A7C15 + j * 0xC2B2AE3D27D4EB4F      j = 0..3
///   for each stripe s (the last one zero-padded):
///     v = word j of s ^ (key[j] + s * 0x9FB21C651E98DF25)
///     acc[j] += lo32(v) * hi32(v) + word (j ^ 1) of s
///   f = acc[0] ^ rotl(acc[1], 16) ^ rotl(acc[2], 32) ^ rotl(acc[3], 48)
///   h = step(step(f, n), 0xC2B2AE3D27D4EB4F); return h ^ (h >> 29)
///
/// with step() as in block_checksum and key[] the four constants of
/// detail::bytes_key. Like block_checksum it guards against media and copy
/// errors (a flipped bit, a torn or zeroed stretch, stripes out of order),
/// not attackers. The vector code runs one stripe a step (a 256-bit vector,
/// or two 128-bit ones). Plain loads, but a record's payload is
/// written once before it is published, so reading it is not a race: under
/// ThreadSanitizer (and in Mode::scalar) the scalar twin runs, whose loads
/// the sanitizer sees.
[[nodiscard]] std::uint64_t checksum_bytes(const void* bytes, std::size_t n) noexcept;

/// Writes block_checksum() of each of `count` blocks to checksums[0, count).
/// Block b is blocks[b * block_words, (b + 1) * block_words).
void checksum_blocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                     std::uint64_t* checksums) noexcept;

/// Verifies `count` blocks against their stored checksums: writes to
/// out[0, k) the indices b, ascending, with block_checksum(block b) !=
/// checksums[b]; returns k (0: every block verified). `out` holds
/// output_capacity(count) entries; count <= index_count_max.
[[nodiscard]] std::size_t verify_blocks(const std::uint64_t* blocks, std::size_t count,
                                        std::size_t block_words,
                                        const std::uint64_t* checksums,
                                        std::uint32_t* out) noexcept;

/// The scalar twins: plain loops, the definition of each kernel's result,
/// callable directly whatever the mode.
namespace scalar {

/// The scalar twin of scan::filter_equal (writes at most k entries).
[[nodiscard]] std::size_t filter_equal(const std::uint64_t* keys, std::size_t n,
                                       std::uint64_t key, std::uint32_t* out) noexcept;
/// The scalar twin of scan::first_unfinished.
[[nodiscard]] std::size_t first_unfinished(const std::uint64_t* states, std::size_t n) noexcept;
/// The scalar twin of scan::checksum_bytes.
[[nodiscard]] std::uint64_t checksum_bytes(const void* bytes, std::size_t n) noexcept;
/// The scalar twin of scan::checksum_blocks.
void checksum_blocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                     std::uint64_t* checksums) noexcept;
/// The scalar twin of scan::verify_blocks (writes at most k entries).
[[nodiscard]] std::size_t verify_blocks(const std::uint64_t* blocks, std::size_t count,
                                        std::size_t block_words,
                                        const std::uint64_t* checksums,
                                        std::uint32_t* out) noexcept;

}  // namespace scalar
}  // namespace scan
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
