// weft/scan.h: the scalar twins, and the dispatch to the vector code of
// scan-inl.h (compiled once per Highway target) when weft is built with
// Highway (WEFT_HAVE_HIGHWAY, set by CMake's WEFT_HIGHWAY option).
#include "weft/scan.h"

#include <atomic>
#include <cassert>

#include "detail/scan_checksum.h"

#if defined(WEFT_HAVE_HIGHWAY)
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "scan-inl.h"  // found through lib/src on the include path
#include <hwy/foreach_target.h>  // must come before highway.h
#include <hwy/highway.h>

#include "scan-inl.h"  // the static target's copy
#endif

// ThreadSanitizer does not see vector loads: under it checksum_bytes runs
// the scalar twin, whose loads it does see (a payload read while written
// would be reported, not hidden).
#if defined(__SANITIZE_THREAD__)
#define WEFT_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_UNDER_TSAN 1
#endif
#endif
#ifndef WEFT_UNDER_TSAN
#define WEFT_UNDER_TSAN 0
#endif

namespace weft {
inline namespace WEFT_SEAM_NS {

#if defined(WEFT_HAVE_HIGHWAY)
namespace scan_impl {
// One table of per-target function pointers per kernel; HWY_DYNAMIC_DISPATCH
// indexes it with the target chosen for this CPU (resolved on first use).
HWY_EXPORT(TargetName);
HWY_EXPORT(FilterEqual);
HWY_EXPORT(FirstUnfinished);
HWY_EXPORT(ChecksumBlocks);
HWY_EXPORT(VerifyBlocks);
HWY_EXPORT(ChecksumBytes);

const char* dispatch_target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }
std::size_t dispatch_filter_equal(const std::uint64_t* keys, std::size_t n, std::uint64_t key,
                                  std::uint32_t* out) {
  return HWY_DYNAMIC_DISPATCH(FilterEqual)(keys, n, key, out);
}
std::size_t dispatch_first_unfinished(const std::uint64_t* states, std::size_t n) {
  return HWY_DYNAMIC_DISPATCH(FirstUnfinished)(states, n);
}
void dispatch_checksum_blocks(const std::uint64_t* blocks, std::size_t count,
                              std::size_t block_words, std::uint64_t* checksums) {
  HWY_DYNAMIC_DISPATCH(ChecksumBlocks)(blocks, count, block_words, checksums);
}
std::size_t dispatch_verify_blocks(const std::uint64_t* blocks, std::size_t count,
                                   std::size_t block_words, const std::uint64_t* checksums,
                                   std::uint32_t* out) {
  return HWY_DYNAMIC_DISPATCH(VerifyBlocks)(blocks, count, block_words, checksums, out);
}
std::uint64_t dispatch_checksum_bytes(const void* bytes, std::size_t n) {
  return HWY_DYNAMIC_DISPATCH(ChecksumBytes)(static_cast<const unsigned char*>(bytes), n);
}
}  // namespace scan_impl
#endif

namespace scan {
namespace {

// Process configuration, not a shared word of a weft structure: a plain
// std::atomic in every seam (a simulator scheduling point here would be
// noise), relaxed because it orders nothing else.
// A 32-bit word: 1-byte atomics are not lock-free on every target (riscv64
// gcc routes them through libatomic).
std::atomic<std::uint32_t> configured_mode{static_cast<std::uint32_t>(Mode::dispatch)};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "weft: the scan mode must be lock-free on every target");

#if defined(WEFT_HAVE_HIGHWAY)
bool use_vectors() noexcept {
  return configured_mode.load(std::memory_order_relaxed) ==
         static_cast<std::uint32_t>(Mode::dispatch);
}

// The gathering kernels (scalable targets) compute block offsets with
// 32 x 32-bit multiplies.
constexpr std::size_t vector_block_words_max = 0xFFFFFFFFu;

// checksum_bytes runs the vector code from this length on (bench/scan_bench.cpp).
[[maybe_unused]] constexpr std::size_t checksum_bytes_vector_min = 128;  // unused under TSan
#endif

}  // namespace

void set_mode(Mode mode) noexcept {
  assert(mode == Mode::dispatch || mode == Mode::scalar);
  configured_mode.store(static_cast<std::uint32_t>(mode), std::memory_order_relaxed);
}

Mode mode() noexcept {
  return static_cast<Mode>(configured_mode.load(std::memory_order_relaxed));
}

bool highway_enabled() noexcept {
#if defined(WEFT_HAVE_HIGHWAY)
  return true;
#else
  return false;
#endif
}

const char* target() noexcept {
#if defined(WEFT_HAVE_HIGHWAY)
  if (use_vectors()) return scan_impl::dispatch_target_name();
#endif
  return "scalar";
}

std::uint64_t block_checksum(const std::uint64_t* words, std::size_t block_words) noexcept {
  assert(words != nullptr || block_words == 0);
  return detail::checksum_block(words, block_words);
}

std::size_t filter_equal(const std::uint64_t* keys, std::size_t n, std::uint64_t key,
                         std::uint32_t* out) noexcept {
  assert(keys != nullptr || n == 0);
  assert(out != nullptr);
  assert(n <= index_count_max);
#if defined(WEFT_HAVE_HIGHWAY)
  if (use_vectors()) return scan_impl::dispatch_filter_equal(keys, n, key, out);
#endif
  return scalar::filter_equal(keys, n, key, out);
}

std::size_t first_unfinished(const std::uint64_t* states, std::size_t n) noexcept {
  assert(states != nullptr || n == 0);
#if defined(WEFT_HAVE_HIGHWAY)
  if (use_vectors()) return scan_impl::dispatch_first_unfinished(states, n);
#endif
  return scalar::first_unfinished(states, n);
}

void checksum_blocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                     std::uint64_t* checksums) noexcept {
  assert(blocks != nullptr || count == 0 || block_words == 0);
  assert(checksums != nullptr || count == 0);
#if defined(WEFT_HAVE_HIGHWAY)
  if (use_vectors() && block_words <= vector_block_words_max) {
    scan_impl::dispatch_checksum_blocks(blocks, count, block_words, checksums);
    return;
  }
#endif
  scalar::checksum_blocks(blocks, count, block_words, checksums);
}

std::size_t verify_blocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                          const std::uint64_t* checksums, std::uint32_t* out) noexcept {
  assert(blocks != nullptr || count == 0 || block_words == 0);
  assert(checksums != nullptr || count == 0);
  assert(out != nullptr);
  assert(count <= index_count_max);
#if defined(WEFT_HAVE_HIGHWAY)
  if (use_vectors() && block_words <= vector_block_words_max) {
    return scan_impl::dispatch_verify_blocks(blocks, count, block_words, checksums, out);
  }
#endif
  return scalar::verify_blocks(blocks, count, block_words, checksums, out);
}

std::uint64_t checksum_bytes(const void* bytes, std::size_t n) noexcept {
  assert(bytes != nullptr || n == 0);
#if defined(WEFT_HAVE_HIGHWAY) && !WEFT_UNDER_TSAN
  // Short strings: the vector code's set-up costs more than it saves.
  if (n >= checksum_bytes_vector_min && use_vectors()) return scan_impl::dispatch_checksum_bytes(bytes, n);
#endif
  return scalar::checksum_bytes(bytes, n);
}

namespace scalar {

std::uint64_t checksum_bytes(const void* bytes, std::size_t n) noexcept {
  assert(bytes != nullptr || n == 0);
  return detail::checksum_bytes(bytes, n);
}

std::size_t filter_equal(const std::uint64_t* keys, std::size_t n, std::uint64_t key,
                         std::uint32_t* out) noexcept {
  assert(keys != nullptr || n == 0);
  assert(n <= index_count_max);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (keys[i] == key) out[count++] = static_cast<std::uint32_t>(i);
  }
  return count;
}

std::size_t first_unfinished(const std::uint64_t* states, std::size_t n) noexcept {
  assert(states != nullptr || n == 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t kind = states[i] & state_kind_mask;
    if (kind != state_kind_committed && kind != state_kind_aborted) return i;
  }
  return n;
}

void checksum_blocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                     std::uint64_t* checksums) noexcept {
  assert(blocks != nullptr || count == 0 || block_words == 0);
  for (std::size_t b = 0; b < count; ++b) {
    checksums[b] = detail::checksum_block(blocks + b * block_words, block_words);
  }
}

std::size_t verify_blocks(const std::uint64_t* blocks, std::size_t count, std::size_t block_words,
                          const std::uint64_t* checksums, std::uint32_t* out) noexcept {
  assert(blocks != nullptr || count == 0 || block_words == 0);
  assert(count <= index_count_max);
  std::size_t failed = 0;
  for (std::size_t b = 0; b < count; ++b) {
    if (detail::checksum_block(blocks + b * block_words, block_words) != checksums[b]) {
      out[failed++] = static_cast<std::uint32_t>(b);
    }
  }
  return failed;
}

}  // namespace scalar
}  // namespace scan
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
