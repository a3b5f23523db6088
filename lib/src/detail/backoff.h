// Internal: how a bounded wait loop gives way to the thread it waits for.
#pragma once

#include <cstdint>
#include <thread>

namespace weft::detail {

/// Called once per iteration of a bounded spin: a CPU pause for the first
/// iterations (the other thread is usually a few stores from done), then a
/// yield so that a preempted thread on an oversubscribed core can finish.
inline void backoff(std::uint32_t spin) noexcept {
  if (spin < 32) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
    return;
  }
  std::this_thread::yield();
}

}  // namespace weft::detail
