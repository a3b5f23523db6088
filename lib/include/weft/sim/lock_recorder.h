// weft/sim/lock_recorder.h: record a LockTable's concurrent history inside a
// simulation and check it (L1 by the caller, L2-L9 by linearizability).
//
// A LockRecorder owns a LockTable on the run's virtual clock and `nkeys`
// session keys whose probe windows are apart (the model has no slots). Call
// acquire / release / renew / cancel / poll from simulated threads instead
// of the table's own functions: each call is recorded with its real-time
// order and the clock reading it used. check() then asks the Wing & Gong
// search whether some sequential run of the model explains the history.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weft/lock_table.h"
#include "weft/sim/lock_checker.h"
#include "weft/sim/sim.h"

namespace weft::sim {

/// Records a LockTable history in a simulation (see the file comment).
class LockRecorder {
 public:
  LockTable table;                 ///< the table under test
  std::vector<Id> keys;            ///< the sessions (index = LockOp::key)
  std::vector<LockOp> history;     ///< every recorded call, in response order
  std::uint64_t sequence = 0;      ///< real-time counter (one step per invoke/response)
  std::uint64_t readings[64] = {}; ///< last clock reading per logical thread
  Clock sim_clock;                 ///< the run's virtual clock
  int holders[4] = {};             ///< exclusive holders inside a critical section, per key (L1)
  std::string violation;           ///< first violation a thread reported (fail())

  /// The table's clock: the virtual clock, remembering each thread's reading.
  static std::uint64_t read(void* self) {
    auto* w = static_cast<LockRecorder*>(self);
    const std::uint64_t now = w->sim_clock.now();
    const int t = current_thread();
    if (t >= 0 && t < 64) w->readings[t] = now;
    return now;
  }
  /// A table of 64 slots (probe window 4) and `nkeys` keys (at most 4) whose
  /// windows are apart; or, with `neighbours`, keys with one home slot, so
  /// their claims and releases move each other's slots (then use leases that
  /// do not expire during the run: the model knows no eviction of one key by
  /// another).
  explicit LockRecorder(Run& run, int nkeys, bool neighbours = false) : sim_clock(run.clock()) {
    LockTable::Config config;
    config.capacity = 64;
    config.probe_window = 4;
    (void)table.create(config, Clock{&LockRecorder::read, this});
    keys = session_keys(nkeys, config.capacity, neighbours);
  }
  /// Starts recording a call (its invocation time).
  LockOp begin_op(LockOp::Kind kind, int key) {
    LockOp op;
    op.kind = kind;
    op.key = key;
    op.thread = current_thread();
    op.invoke = sequence++;
    return op;
  }
  /// Ends recording a call (response time, and the clock reading if it read one).
  void end_op(LockOp& op, bool reads_clock) {
    op.response = sequence++;
    if (reads_clock) op.now = readings[op.thread];
    history.push_back(op);
  }
  /// try_acquire, recorded.
  AcquireResult acquire(int key, OwnerId owner, LockMode mode, std::uint64_t lease) {
    LockOp op = begin_op(LockOp::acquire, key);
    op.owner = owner;
    op.mode = mode;
    op.lease = lease;
    const AcquireResult r = table.try_acquire(keys[static_cast<std::size_t>(key)], owner, mode, lease);
    op.take(r);
    end_op(op, true);
    return r;
  }
  /// release, recorded.
  ReleaseResult release(int key, Token token) {
    LockOp op = begin_op(LockOp::release, key);
    op.token = token;
    const ReleaseResult r = table.release(keys[static_cast<std::size_t>(key)], token);
    op.take(r);
    end_op(op, false);
    return r;
  }
  /// renew, recorded.
  RenewResult renew(int key, Token token, std::uint64_t lease) {
    LockOp op = begin_op(LockOp::renew, key);
    op.token = token;
    op.lease = lease;
    const RenewResult r = table.renew(keys[static_cast<std::size_t>(key)], token, lease);
    op.take(r);
    end_op(op, true);
    return r;
  }
  /// request_cancel, recorded.
  LockStatus cancel(int key) {
    LockOp op = begin_op(LockOp::cancel, key);
    op.status = table.request_cancel(keys[static_cast<std::size_t>(key)]);
    end_op(op, false);
    return op.status;
  }
  /// poll_cancel, recorded.
  CancelPoll poll(int key, Token token) {
    LockOp op = begin_op(LockOp::poll, key);
    op.token = token;
    const CancelPoll r = table.poll_cancel(keys[static_cast<std::size_t>(key)], token);
    op.take(r);
    end_op(op, false);
    return r;
  }
  /// Reports a violation seen while running (the first one is kept).
  void fail(const std::string& what) {
    if (violation.empty()) violation = what;
  }
  /// "" when the run was clean: no violation reported, no unexpected
  /// contended/table_full, and the history is linearizable (L2-L9).
  std::string check() {
    if (!violation.empty()) return violation;
    for (const LockOp& op : history) {
      if (op.status == LockStatus::contended || op.status == LockStatus::table_full) {
        return std::string("unexpected ") + to_string(op.status) + ": " + op.describe();
      }
    }
    LinearizabilityChecker checker(history);
    if (!checker.check(LockModel(static_cast<int>(keys.size())))) {
      return "L9: the history matches no sequential run of the model:\n" + checker.describe();
    }
    return "";
  }
};


}  // namespace weft::sim
