// weft/sim/atomic.h: the sim seam. In a build with WEFT_SEAM_SIM every
// weft::atomic<T> is a weft::sim::atomic<T>: the same operations as
// std::atomic<T>, each preceded by a scheduling point where the simulator may
// switch logical threads, and each recorded (kind, object, source line) in the
// run's trace. Outside a simulation (no run active on this OS thread) the
// scheduling point does nothing.
//
// The simulator explores interleavings of sequentially consistent steps: it
// does not model weaker orderings (store buffers, reordering). Those are
// covered by the TSan runs of the real-thread stress tests.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::sim {

/// What a scheduling point is about to do.
enum class Op : std::uint8_t { load, store, rmw, cas, race_point };

namespace detail {
/// The scheduling point: yields to the simulator when a run is active.
void step(Op op, const void* object, const char* file, int line, const char* tag) noexcept;
}  // namespace detail

/// std::atomic<T> with a scheduling point before every operation.
template <class T>
class atomic {
 public:
  /// Same as std::atomic<T>::is_always_lock_free.
  static constexpr bool is_always_lock_free = std::atomic<T>::is_always_lock_free;

  atomic() noexcept : value_() {}
  /// Holds `v`.
  constexpr atomic(T v) noexcept : value_(v) {}  // NOLINT: mirrors std::atomic
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  /// std::atomic<T>::load after a scheduling point.
  T load(std::memory_order order = std::memory_order_seq_cst, const char* file = __builtin_FILE(),
         int line = __builtin_LINE()) const noexcept {
    detail::step(Op::load, this, file, line, nullptr);
    return value_.load(order);
  }
  /// std::atomic<T>::store after a scheduling point.
  void store(T v, std::memory_order order = std::memory_order_seq_cst,
             const char* file = __builtin_FILE(), int line = __builtin_LINE()) noexcept {
    detail::step(Op::store, this, file, line, nullptr);
    value_.store(v, order);
  }
  /// std::atomic<T>::exchange after a scheduling point.
  T exchange(T v, std::memory_order order = std::memory_order_seq_cst,
             const char* file = __builtin_FILE(), int line = __builtin_LINE()) noexcept {
    detail::step(Op::rmw, this, file, line, nullptr);
    return value_.exchange(v, order);
  }
  /// std::atomic<T>::fetch_add after a scheduling point.
  T fetch_add(T v, std::memory_order order = std::memory_order_seq_cst,
              const char* file = __builtin_FILE(), int line = __builtin_LINE()) noexcept {
    detail::step(Op::rmw, this, file, line, nullptr);
    return value_.fetch_add(v, order);
  }
  /// std::atomic<T>::fetch_sub after a scheduling point.
  T fetch_sub(T v, std::memory_order order = std::memory_order_seq_cst,
              const char* file = __builtin_FILE(), int line = __builtin_LINE()) noexcept {
    detail::step(Op::rmw, this, file, line, nullptr);
    return value_.fetch_sub(v, order);
  }
  /// std::atomic<T>::compare_exchange_strong after a scheduling point.
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst,
                               const char* file = __builtin_FILE(),
                               int line = __builtin_LINE()) noexcept {
    detail::step(Op::cas, this, file, line, nullptr);
    return value_.compare_exchange_strong(expected, desired, order);
  }
  /// std::atomic<T>::compare_exchange_weak after a scheduling point. Never
  /// fails spuriously in the simulator (the schedule decides what happens).
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order order = std::memory_order_seq_cst,
                             const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) noexcept {
    detail::step(Op::cas, this, file, line, nullptr);
    return value_.compare_exchange_strong(expected, desired, order);
  }

 private:
  std::atomic<T> value_;
};

}  // namespace weft::sim
