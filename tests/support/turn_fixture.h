// Shared helpers for TurnLog tests: a log on a recording clock, readable
// payloads, and a snapshot helper that returns a thread's history as text.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "support/lock_fixture.h"
#include "weft/turn_log.h"

namespace weft::testing {

/// A thread id or request id from a name.
inline Id tid(std::string_view name) { return id_from_string(name); }

/// One visible turn, copied out for comparisons.
struct Turn {
  std::uint64_t ticket = 0;
  std::uint32_t index = 0;
  Role role = Role::user;
  std::string text;
  bool operator==(const Turn&) const = default;
};

/// Copies the views out of a snapshot.
inline std::vector<Turn> turns_of(const TurnView* views, std::size_t n) {
  std::vector<Turn> out;
  for (std::size_t i = 0; i < n; i++) {
    out.push_back(Turn{views[i].ticket, views[i].index, views[i].role,
                       std::string(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes)});
  }
  return out;
}

/// Just the texts of a thread's history.
inline std::vector<std::string> texts_of(const std::vector<Turn>& turns) {
  std::vector<std::string> out;
  for (const Turn& t : turns) out.push_back(t.text);
  return out;
}

class TurnLogTest : public ::testing::Test {
 protected:
  void make(TurnLog::Config config) { ASSERT_EQ(log.create(config, clock.clock()), LogStatus::ok); }
  void SetUp() override {
    TurnLog::Config config;
    config.segment_bytes = 4096;
    config.segment_count = 8;
    config.thread_capacity = 64;
    config.exchanges_per_thread = 8;
    config.reader_slots = 16;
    config.exchange_timeout_ns = 1000;
    make(config);
  }
  ExchangeRef begin(std::string_view thread, std::string_view request,
                    BeginPolicy policy = BeginPolicy::queue) {
    const BeginResult r = log.begin_exchange(tid(thread), tid(request), policy);
    EXPECT_EQ(r.status, LogStatus::ok) << thread << "/" << request;
    return r.exchange;
  }
  LogStatus say(const ExchangeRef& x, Role role, std::string_view text) {
    return log.append(x, role, text.data(), text.size());
  }
  std::vector<Turn> history(std::string_view thread) {
    std::vector<TurnView> views(256);
    Snapshot snap;
    const LogStatus st = log.snapshot(tid(thread), views.data(), views.size(), &snap);
    EXPECT_EQ(st, LogStatus::ok);
    return turns_of(views.data(), snap.size());
  }
  std::vector<std::string> texts(std::string_view thread) { return texts_of(history(thread)); }
  LogStatus context_texts(const ExchangeRef& x, std::vector<std::string>& out) {
    std::vector<TurnView> views(256);
    Snapshot snap;
    const LogStatus st = log.context(x, views.data(), views.size(), &snap);
    out = texts_of(turns_of(views.data(), snap.size()));
    return st;
  }
  void advance(std::uint64_t ns) { clock.manual().advance(ns); }

  RecordingClock clock;
  TurnLog log;
};

using Texts = std::vector<std::string>;

}  // namespace weft::testing
