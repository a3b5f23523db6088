#include "weft/clock.h"

#if WEFT_HOSTED  // bare metal: the caller injects its clock; nothing here
#include <chrono>
#include <ctime>

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace {

std::uint64_t read_steady(void*) noexcept {
  const auto since = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since).count());
}

#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
#define WEFT_COARSE_CLOCK 1
std::uint64_t ns_of(const timespec& ts) noexcept {
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}
std::uint64_t read_coarse(void*) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // cannot fail: a valid clock id and address
  return ns_of(ts);
}
#endif

std::uint64_t read_manual(void* context) noexcept {
  return static_cast<ManualClock*>(context)->now();
}

}  // namespace

Clock steady_clock() noexcept { return Clock{&read_steady, nullptr}; }

#ifdef WEFT_COARSE_CLOCK
Clock coarse_clock() noexcept { return Clock{&read_coarse, nullptr}; }

std::uint64_t coarse_clock_resolution_ns() noexcept {
  timespec res{};
  if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 || ns_of(res) == 0) return 1;
  return ns_of(res);
}
#else
Clock coarse_clock() noexcept { return steady_clock(); }

std::uint64_t coarse_clock_resolution_ns() noexcept { return 1; }
#endif

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
