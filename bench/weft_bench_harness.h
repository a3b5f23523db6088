// weft_bench_harness.h: what every benchmark of bench/weft_bench.cpp shares.
//
// - Ticks: the time-stamp counter (lfence; rdtsc), converted to ns with a
//   factor calibrated once against std::chrono::steady_clock at start-up.
//   A start/stop pair costs about 20-40 ns on a VM (the `timer_floor`
//   benchmark measures it in every run), so latency is *sampled*.
// - Sampler: decides which iterations are timed. A countdown with a random
//   reload in [period/2, 3*period/2) (no aliasing with periodic work such as
//   segment opens or queue drains) costs one decrement and one branch on the
//   iterations it does not time, so throughput is not distorted. The period
//   is chosen per implementation so the timer stays near 1% of the work.
// - Histogram: log-linear buckets of ticks (exact below 64 ticks, then 32
//   sub-buckets per power of two: at most 3.1% relative error), 12 KiB per
//   thread, allocated before the timed loop.
// - RunLatency: merges the threads' histograms after Google Benchmark's end
//   barrier; the last thread to merge publishes p50/p99/p99.9 (ns) as
//   counters. Google Benchmark sums counters over threads and only one thread
//   sets them, so the reported value is the merged percentile.
#pragma once

#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace weft_bench {

// ---- ticks -------------------------------------------------------------------

/// Reads the time-stamp counter after every earlier instruction completed.
inline std::uint64_t ticks_now() noexcept {
  _mm_lfence();
  return __rdtsc();
}

/// Ticks per nanosecond, measured once (calibrate_ticks()).
inline double& ticks_per_ns() noexcept {
  static double value = 0;
  return value;
}

/// Calibrates ticks_per_ns() against steady_clock over `window_ms`.
inline void calibrate_ticks(int window_ms) {
  assert(window_ms > 0);
  const auto wall_start = std::chrono::steady_clock::now();
  const std::uint64_t tick_start = ticks_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(window_ms));
  const std::uint64_t tick_end = ticks_now();
  const auto wall_end = std::chrono::steady_clock::now();
  const double wall_ns = std::chrono::duration<double, std::nano>(wall_end - wall_start).count();
  assert(wall_ns > 0);
  assert(tick_end > tick_start);
  ticks_per_ns() = static_cast<double>(tick_end - tick_start) / wall_ns;
}

// ---- sampling ----------------------------------------------------------------

/// Picks the iterations whose latency is timed (about one in `period`).
class Sampler {
 public:
  Sampler(std::uint32_t period, std::uint64_t seed) noexcept
      : period_(period), state_(seed * 0x9E3779B97F4A7C15ULL + 1) {
    assert(period >= 1);
    reload();
  }
  /// True on the iterations to time.
  bool due() noexcept {
    if (--countdown_ != 0) return false;
    reload();
    return true;
  }
  [[nodiscard]] std::uint32_t period() const noexcept { return period_; }

 private:
  void reload() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    countdown_ = period_ == 1 ? 1 : period_ / 2 + static_cast<std::uint32_t>(state_ % period_);
    assert(countdown_ >= 1);
  }
  std::uint32_t period_;
  std::uint64_t state_;
  std::uint32_t countdown_ = 1;
};

/// A small fast generator for picking keys (xorshift64).
class KeyPicker {
 public:
  explicit KeyPicker(std::uint64_t seed) noexcept : state_(seed * 0xD1B54A32D192ED03ULL + 7) {}
  /// A value in [0, bound).
  std::uint64_t next(std::uint64_t bound) noexcept {
    assert(bound > 0);
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_ % bound;
  }

 private:
  std::uint64_t state_;
};

// ---- histogram ---------------------------------------------------------------

/// Log-linear histogram of tick counts.
class Histogram {
 public:
  static constexpr int sub_bits = 5;                       // 32 sub-buckets per octave
  static constexpr std::uint64_t exact_below = 2u << sub_bits;  // 64: one bucket per value
  static constexpr std::size_t bucket_count = 64 + 58 * 32;
  static_assert(exact_below == 64, "the exact range is the first 64 buckets");

  void record(std::uint64_t ticks) noexcept {
    counts_[index_of(ticks)]++;
    total_++;
  }
  void merge(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < bucket_count; i++) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }
  void clear() noexcept {
    counts_.fill(0);
    total_ = 0;
  }
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }

  /// The value (ticks, bucket midpoint) below which a fraction `q` of samples lie.
  [[nodiscard]] double percentile_ticks(double q) const noexcept {
    assert(q > 0 && q <= 1);
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.999999);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; i++) {
      seen += counts_[i];
      if (seen >= rank) return midpoint_of(i);
    }
    return midpoint_of(bucket_count - 1);
  }

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < exact_below) return static_cast<std::size_t>(v);
    const int octave = std::bit_width(v) - 1;  // >= 6
    const int shift = octave - sub_bits;       // >= 1
    const std::uint64_t top = v >> shift;      // in [32, 64)
    const std::size_t index = 64 + static_cast<std::size_t>(shift - 1) * 32 + (top - 32);
    return std::min(index, bucket_count - 1);
  }
  static double midpoint_of(std::size_t index) noexcept {
    if (index < exact_below) return static_cast<double>(index);
    const std::size_t shift = (index - 64) / 32 + 1;
    const std::uint64_t top = (index - 64) % 32 + 32;
    const double low = static_cast<double>(top << shift);
    return low + static_cast<double>(std::uint64_t{1} << shift) / 2;
  }

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
};

// ---- merging across threads --------------------------------------------------

/// Up to three latency series of one benchmark run (e.g. "exchange" and
/// "append"), merged across the run's threads. One static instance per
/// benchmark function; reset by thread 0 before the timed loop.
class RunLatency {
 public:
  static constexpr int series_max = 3;

  /// Thread 0, before the loop (Google Benchmark's start barrier orders it
  /// before every other thread's loop; nobody touches it before that).
  void reset(int threads) {
    assert(threads >= 1);
    std::lock_guard<std::mutex> guard(mutex_);
    for (auto& h : merged_) h.clear();
    merged_threads_ = 0;
    threads_ = threads;
  }

  /// Every thread, after the loop: merges its series; the last one publishes
  /// `<name>_p50_ns`, `_p99_ns`, `_p999_ns` and `<name>_samples` into its state.
  void merge_and_publish(benchmark::State& state, const Histogram* series,
                         const char* const* names, int series_count) {
    assert(series_count >= 1 && series_count <= series_max);
    std::lock_guard<std::mutex> guard(mutex_);
    for (int i = 0; i < series_count; i++) merged_[i].merge(series[i]);
    merged_threads_++;
    assert(merged_threads_ <= threads_);
    if (merged_threads_ != threads_) return;
    const double per_ns = ticks_per_ns();
    assert(per_ns > 0);
    for (int i = 0; i < series_count; i++) {
      const std::string name = names[i];
      const Histogram& h = merged_[i];
      state.counters[name + "_p50_ns"] = h.percentile_ticks(0.50) / per_ns;
      state.counters[name + "_p99_ns"] = h.percentile_ticks(0.99) / per_ns;
      state.counters[name + "_p999_ns"] = h.percentile_ticks(0.999) / per_ns;
      state.counters[name + "_samples"] = static_cast<double>(h.total());
    }
  }

 private:
  std::mutex mutex_;
  std::array<Histogram, series_max> merged_{};
  int merged_threads_ = 0;
  int threads_ = 1;
};

/// Adds `value` to a counter summed over threads (Google Benchmark's default).
inline void add_counter(benchmark::State& state, const char* name, double value) {
  state.counters[name] = benchmark::Counter(value);
}

}  // namespace weft_bench
