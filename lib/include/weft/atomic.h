// weft/atomic.h: the one seam through which weft touches shared memory.
//
// Every shared word in weft is a `weft::atomic<T>` and every interesting
// moment of a protocol is marked with `WEFT_RACE_POINT("tag")`. Which code the
// seam compiles to is chosen once per build by a compile definition that the
// CMake targets export (never set it by hand in a translation unit):
//
//   seam        definition          weft::atomic<T>      WEFT_RACE_POINT(tag)
//   ---------   -----------------   ------------------   --------------------------
//   production  (none)              exactly std::atomic   nothing at all
//   hooks       WEFT_SEAM_HOOKS=1   exactly std::atomic   weft::hooks::detail::hit()
//   sim         WEFT_SEAM_SIM=1     weft::sim::atomic     a scheduling point (weft::sim)
//
// In production the seam costs nothing: `weft::atomic<T>` is an alias of
// `std::atomic<T>` (tests/seam_production_test.cpp proves it with a
// static_assert, and a CTest checks that the production library has no hook
// symbols). In the hooks build a test installs actions per tag (latches,
// callbacks, counters, delays; see weft/hooks.h) and so forces exact
// interleavings of real threads without sleeps.
//
// Word-size rule: a shared word is at most 64 bits (32 with WEFT_WORD_BITS=32)
// and lock-free on every target; `WEFT_ASSERT_LOCK_FREE(T)` states it at each
// use.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(WEFT_SEAM_HOOKS) && defined(WEFT_SEAM_SIM)
#error "weft: WEFT_SEAM_HOOKS and WEFT_SEAM_SIM are exclusive"
#endif

#if defined(WEFT_SEAM_SIM)
#include "weft/sim/atomic.h"
#endif

// Every seam compiles weft into its own inline namespace, so objects built
// with different seams can share a binary without one silently replacing
// the other's functions (weft::LockTable is weft::seam_hooks::LockTable in a
// hooks build, and so on). Callers never write the inline name.
//
// The word size is a second build choice, WEFT_WORD_BITS (64 by default; 32
// for targets without lock-free 64-bit atomics, such as Cortex-M). It is also
// exported by the CMake targets and also names the inline namespace, so a
// binary cannot mix the two configurations by accident.
#ifndef WEFT_WORD_BITS
#define WEFT_WORD_BITS 64
#endif
#if WEFT_WORD_BITS != 64 && WEFT_WORD_BITS != 32
#error "weft: WEFT_WORD_BITS must be 64 or 32"
#endif
// WEFT_HOSTED=0 (CMake: -DWEFT_HOSTED=OFF) builds the core for bare metal:
// no steady_clock(), no ManualClock, no thread yield; the caller injects the
// clock (docs/EMBEDDED.md).
#ifndef WEFT_HOSTED
#define WEFT_HOSTED 1
#endif
#if WEFT_WORD_BITS == 32
#if defined(WEFT_SEAM_HOOKS)
#define WEFT_SEAM_NS seam_hooks_w32
#elif defined(WEFT_SEAM_SIM)
#define WEFT_SEAM_NS seam_sim_w32
#else
#define WEFT_SEAM_NS seam_production_w32
#endif
#else
#if defined(WEFT_SEAM_HOOKS)
#define WEFT_SEAM_NS seam_hooks
#elif defined(WEFT_SEAM_SIM)
#define WEFT_SEAM_NS seam_sim
#else
#define WEFT_SEAM_NS seam_production
#endif
#endif

namespace weft {

#if defined(WEFT_SEAM_SIM)
/// The atomic type every shared word of weft uses. In the sim seam: the same
/// operations, each a scheduling point of the simulator (weft/sim/atomic.h).
template <class T>
using atomic = sim::atomic<T>;
#else
/// The atomic type every shared word of weft uses. In the production and
/// hooks seams it is exactly `std::atomic<T>`, with the same guarantees.
template <class T>
using atomic = std::atomic<T>;
#endif

inline namespace WEFT_SEAM_NS {
/// Bits of the widest shared word weft uses: 64, or 32 in the configuration
/// for targets without lock-free 64-bit atomics (WEFT_WORD_BITS=32; see
/// "Words that fit every target" in docs/DESIGN.md and docs/EMBEDDED.md).
/// Wider values (ids, deadlines, checksums) are written as several words
/// before, or under, the word that publishes them. Regions record it, and
/// attaching a region made with the other word size is refused
/// (`word_size_mismatch`).
inline constexpr unsigned word_bits = WEFT_WORD_BITS;

#if WEFT_WORD_BITS == 32
/// The widest shared word weft uses (here 32 bits).
using word = std::uint32_t;
#else
/// The widest shared word weft uses (64 bits).
using word = std::uint64_t;
#endif
}  // inline namespace WEFT_SEAM_NS

}  // namespace weft

/// States that `weft::atomic<T>` is lock-free (and so address-free, usable in
/// shared memory) on the target being compiled.
#define WEFT_ASSERT_LOCK_FREE(T)                                        \
  static_assert(::weft::atomic<T>::is_always_lock_free,                 \
                "weft: shared words must be lock-free on every target: " \
                #T " is not")

#if defined(WEFT_SEAM_HOOKS)
namespace weft::hooks::detail {
/// Called at every race point in the hooks build. Costs one relaxed load when
/// no action is installed.
void hit(const char* tag) noexcept;
}  // namespace weft::hooks::detail
/// Marks a moment where an interleaving matters (hooks build: runs the actions
/// installed for `tag`).
#define WEFT_RACE_POINT(tag) ::weft::hooks::detail::hit(tag)
#elif defined(WEFT_SEAM_SIM)
/// Marks a moment where an interleaving matters (sim build: a scheduling
/// point recorded in the trace with its tag).
#define WEFT_RACE_POINT(tag) \
  ::weft::sim::detail::step(::weft::sim::Op::race_point, nullptr, __FILE__, __LINE__, tag)
#else
/// Marks a moment where an interleaving matters (production: compiles to
/// nothing; the argument is not evaluated).
#define WEFT_RACE_POINT(tag) static_cast<void>(0)
#endif
