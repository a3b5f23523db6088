#include "weft/clock.h"

#if WEFT_HOSTED  // bare metal: the caller injects its clock; nothing here
#include <chrono>

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace {

std::uint64_t read_steady(void*) noexcept {
  const auto since = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since).count());
}

std::uint64_t read_manual(void* context) noexcept {
  return static_cast<ManualClock*>(context)->now();
}

}  // namespace

Clock steady_clock() noexcept { return Clock{&read_steady, nullptr}; }

std::uint64_t ManualClock::set(std::uint64_t t_ns) noexcept {
  std::uint64_t seen = now_ns_.load(std::memory_order_relaxed);
  // Bound: each failed CAS means another thread moved the clock forward; the
  // loop ends when seen >= t_ns or the CAS lands. Clocks only move forward, so
  // it cannot spin on a value that keeps falling back.
  while (seen < t_ns &&
         !now_ns_.compare_exchange_weak(seen, t_ns, std::memory_order_relaxed)) {
  }
  return seen < t_ns ? t_ns : seen;
}

Clock ManualClock::clock() noexcept { return Clock{&read_manual, this}; }

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
#endif  // WEFT_HOSTED
