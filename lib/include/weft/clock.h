// weft/clock.h: the injected monotonic clock.
//
// weft never reads a clock of its own: every structure takes a Clock, so tests
// and the simulator control time and leases expire when they say.
#pragma once

#include <cstdint>

#include "weft/atomic.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

/// A monotonic clock as a function pointer and its context (C-compatible, no
/// virtual call). `now_ns` must never go backwards and must be safe to call
/// from any thread.
struct Clock {
  std::uint64_t (*now_ns)(void* context) = nullptr;  ///< reads the time in ns
  void* context = nullptr;                            ///< passed to now_ns

  /// Reads the clock.
  [[nodiscard]] std::uint64_t now() const noexcept { return now_ns(context); }
  /// True when the clock can be read.
  [[nodiscard]] bool valid() const noexcept { return now_ns != nullptr; }
};

#if WEFT_HOSTED
/// The process's steady clock (std::chrono::steady_clock) in nanoseconds.
/// (Hosted builds only; on bare metal the caller supplies its own Clock.)
[[nodiscard]] Clock steady_clock() noexcept;

/// A monotonic clock that reads the time of the kernel's last tick instead of
/// the hardware counter: CLOCK_MONOTONIC_COARSE on Linux, steady_clock()
/// elsewhere. Its resolution is the tick (coarse_clock_resolution_ns(), 1 to
/// 4 ms on Linux); a read costs a few nanoseconds where steady_clock() costs
/// 20 or more under a hypervisor, and a TurnLog exchange reads the clock four
/// times (docs/BENCHMARKS.md). For services whose exchange timeouts and leases
/// are many ticks long (seconds, not milliseconds): an expiry or a lease end
/// is seen up to one tick late. On Linux it has the time base of
/// steady_clock() and lags it by less than a tick; still, give every handle
/// of one region the same clock (a lease is judged on the table's clock, and
/// two clocks a tick apart would disagree on when it ends).
[[nodiscard]] Clock coarse_clock() noexcept;

/// The resolution of coarse_clock() in ns (1 where it is steady_clock()).
[[nodiscard]] std::uint64_t coarse_clock_resolution_ns() noexcept;

/// A clock that only moves when told to: for tests and simulations. Shared
/// between threads; advance() and set() are atomic.
class ManualClock {
 public:
  /// A clock reading `start_ns`.
  explicit ManualClock(std::uint64_t start_ns = 1'000'000'000ULL) noexcept
      : now_ns_(start_ns) {}
  /// Moves time forward by `delta_ns`; returns the new reading.
  std::uint64_t advance(std::uint64_t delta_ns) noexcept {
    return now_ns_.fetch_add(delta_ns, std::memory_order_relaxed) + delta_ns;
  }
  /// Sets the reading to `t_ns` if that is not in the past; returns the reading.
  std::uint64_t set(std::uint64_t t_ns) noexcept;
  /// Reads the time.
  [[nodiscard]] std::uint64_t now() const noexcept {
    return now_ns_.load(std::memory_order_relaxed);
  }
  /// This clock as a Clock for weft structures (valid while *this lives).
  [[nodiscard]] Clock clock() noexcept;

 private:
  weft::atomic<std::uint64_t> now_ns_;  // a test clock: needs lock-free 64-bit atomics
};
#endif  // WEFT_HOSTED

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
