// A fixture layer for tests that force interleavings through race-point
// hooks: clears the registry around each test, fails the test if a latch
// timed out, and starts threads that report an actor id.
#pragma once

#include <gtest/gtest.h>

#include <thread>

#include "weft/hooks.h"

namespace weft::testing {

/// Adds hook orchestration to the fixture `Base`.
template <class Base>
class Orchestrated : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    hooks::clear();
  }
  void TearDown() override {
    EXPECT_EQ(hooks::timeouts(), 0u) << "an orchestration latch timed out";
    hooks::clear();
  }
  /// Runs `body` on a thread whose race points report actor `id`.
  template <class F>
  static std::thread actor(int id, F body) {
    return std::thread([id, body] {
      hooks::set_actor(id);
      body();
    });
  }
  /// Waits for `latch` (10 s at most); false if it never opened.
  static bool wait(hooks::Latch& latch) { return latch.wait_for(10'000'000'000ULL); }
};

}  // namespace weft::testing
