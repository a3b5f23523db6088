// Shared helpers for LockTable tests: a table on a ManualClock, keys with a
// chosen home slot, and a thread-local record of the clock reading each call
// used (so threaded tests can replay the model with the same readings).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "weft/clock.h"
#include "weft/id.h"
#include "weft/lock_table.h"

namespace weft::testing {

/// A key with a recognisable number.
inline Id key(std::uint64_t n) { return Id{0x5E55'0000'0000'0000ULL + n, n * 0x9E3779B97F4A7C15ULL + 1}; }

/// The home slot of `k` in a table of `capacity` slots (same formula as the table).
inline std::uint32_t home_of(const Id& k, std::uint32_t capacity) {
  return static_cast<std::uint32_t>(id_slot(k, capacity));
}

/// The `nth` key (counting from 0) whose home slot is `home`.
inline Id key_with_home(std::uint32_t home, std::uint32_t capacity, int nth = 0) {
  for (std::uint64_t n = 1;; n++) {
    const Id k = key(n * 1000 + static_cast<std::uint64_t>(home));
    if (home_of(k, capacity) == home && nth-- == 0) return k;
  }
}

/// A ManualClock that remembers, per thread, the last reading it returned.
class RecordingClock {
 public:
  explicit RecordingClock(std::uint64_t start_ns = 1'000'000) : manual_(start_ns) {}
  Clock clock() { return Clock{&RecordingClock::read, this}; }
  ManualClock& manual() { return manual_; }
  static std::uint64_t last_reading() { return last_; }
  static void forget() { last_ = 0; }

 private:
  static std::uint64_t read(void* context) {
    last_ = static_cast<RecordingClock*>(context)->manual_.now();
    return last_;
  }
  ManualClock manual_;
  static inline thread_local std::uint64_t last_ = 0;
};

/// A fixture with a created table on a recording clock.
class LockTableTest : public ::testing::Test {
 protected:
  void make(std::uint32_t capacity, std::uint32_t window = 0) {
    LockTable::Config config;
    config.capacity = capacity;
    config.probe_window = window;
    ASSERT_EQ(table.create(config, clock.clock()), LockStatus::ok);
  }
  void SetUp() override { make(64, 8); }
  std::uint64_t now() { return clock.manual().now(); }
  void advance(std::uint64_t ns) { clock.manual().advance(ns); }

  RecordingClock clock;
  LockTable table;
};

}  // namespace weft::testing
