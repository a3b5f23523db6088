// Internal: how a bounded wait loop gives way to the thread it waits for.
#pragma once

#include <cstdint>

#include "weft/atomic.h"
#if WEFT_HOSTED
#include <thread>
#endif

#if defined(WEFT_SEAM_SIM)
#include "weft/sim/sim.h"
#endif

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace detail {

/// Called once per iteration of a bounded spin: a CPU pause for the first
/// iterations (the other thread is usually a few stores from done), then a
/// yield so that a preempted thread on an oversubscribed core can finish.
/// In the simulator it is a scheduling point where a microsecond passes.
inline void backoff(std::uint32_t spin) noexcept {
#if defined(WEFT_SEAM_SIM)
  if (sim::active()) {
    (void)spin;
    sim::sleep_for(1000);
    return;
  }
#endif
  WEFT_RACE_POINT("backoff");
  if (spin < 32) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
    return;
  }
#if WEFT_HOSTED
  std::this_thread::yield();
#elif defined(__arm__)
  __asm__ __volatile__("yield");  // bare metal: no scheduler to yield to; the bound ends the wait
#endif
}

}  // namespace detail
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
