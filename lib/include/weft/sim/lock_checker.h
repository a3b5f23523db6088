// A sequential model of the LockTable and a linearizability checker (Wing &
// Gong's search with memoisation of (operations done, model state), as in
// Lowe's "Testing for linearizability"). A recorded concurrent history is
// linearizable when some order of its operations that respects real time
// (an operation that returned before another began comes first) replays on
// the model with the same results and the same clock readings.
//
// Limits, on purpose: the model has no slots, so histories must not depend on
// capacity (no table_full, no eviction of one key by another: tests keep the
// keys' probe windows apart).
#pragma once

#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "weft/lock_table.h"

namespace weft::sim {

/// One call and what it returned.
struct LockOp {
  enum Kind : std::uint8_t { acquire, release, renew, cancel, poll };
  Kind kind = acquire;
  int key = 0;               ///< index into the test's key list
  OwnerId owner = 0;         ///< acquire
  LockMode mode = LockMode::exclusive;  ///< acquire
  std::uint64_t lease = 0;   ///< acquire, renew
  Token token = 0;           ///< release, renew, poll: the token presented
  std::uint64_t now = 0;     ///< acquire, renew: the clock reading the call used
  // results
  LockStatus status = LockStatus::ok;
  Token out_token = 0;       ///< acquire
  std::uint32_t depth = 0;   ///< acquire: depth; release: depth_left
  OwnerId holder = 0;        ///< acquire busy
  std::uint64_t until = 0;   ///< acquire busy: holder's deadline; renew: new deadline
  LockMode holder_mode = LockMode::exclusive;  ///< acquire busy
  bool requested = false;    ///< poll
  // real time, from one shared counter
  std::uint64_t invoke = 0;
  std::uint64_t response = 0;
  int thread = 0;

  /// Takes what try_acquire returned.
  void take(const AcquireResult& r) {
    status = r.status;
    out_token = r.token;
    depth = r.depth;
    holder = r.holder;
    until = r.holder_until_ns;
    holder_mode = r.holder_mode;
  }
  /// Takes what release returned.
  void take(const ReleaseResult& r) {
    status = r.status;
    depth = r.depth_left;
  }
  /// Takes what renew returned.
  void take(const RenewResult& r) {
    status = r.status;
    until = r.deadline_ns;
  }
  /// Takes what poll_cancel returned.
  void take(const CancelPoll& r) {
    status = r.status;
    requested = r.requested;
  }

  std::string describe() const {
    static const char* names[] = {"acquire", "release", "renew", "cancel", "poll"};
    std::ostringstream out;
    out << "t" << thread << " [" << invoke << "," << response << "] " << names[kind]
        << "(key " << key;
    if (kind == acquire) out << ", owner " << owner << (mode == LockMode::shared ? ", shared" : ", excl")
                             << ", lease " << lease << ", now " << now;
    if (kind == release || kind == renew || kind == poll) out << ", token " << token;
    if (kind == renew) out << ", lease " << lease << ", now " << now;
    out << ") -> " << to_string(status);
    if (status == LockStatus::acquired) out << " token " << out_token << " depth " << depth;
    if (status == LockStatus::busy) out << " holder " << holder << " until " << until;
    if (status == LockStatus::released) out << " left " << depth;
    if (status == LockStatus::renewed) out << " until " << until;
    if (kind == poll && status == LockStatus::ok) out << " requested " << requested;
    return out.str();
  }
};

/// `n` session keys for a table of `capacity` slots whose probe windows lie
/// at least 8 slots apart (the model has no slots, so a checked history must
/// not depend on one key evicting another), or, with `neighbours`, that all
/// share one home slot (then their claims move each other's slots: use leases
/// that do not expire during the history).
inline std::vector<Id> session_keys(int n, std::uint64_t capacity, bool neighbours = false) {
  std::vector<Id> keys;
  for (std::uint64_t k = 1; static_cast<int>(keys.size()) < n; k++) {
    const Id key{0x5E55, k};
    const std::uint64_t home = id_slot(key, capacity);
    bool fits = true;
    for (const Id& other : keys) {
      const std::uint64_t h = id_slot(other, capacity);
      const std::uint64_t d = h > home ? h - home : home - h;
      fits = fits && (neighbours ? d == 0 : d >= 8 && d <= capacity - 8);
    }
    if (fits) keys.push_back(key);
  }
  return keys;
}

/// The sequential specification of one session.
struct SessionModel {
  bool held = false;
  LockMode mode = LockMode::exclusive;
  OwnerId owner = 0;
  Token token = 0;
  std::uint64_t deadline = 0;
  std::uint32_t count = 0;
  bool cancel = false;
  Token max_token = 0;  ///< highest token ever given for this session

  bool operator<(const SessionModel& o) const {
    return std::tie(held, mode, owner, token, deadline, count, cancel, max_token) <
           std::tie(o.held, o.mode, o.owner, o.token, o.deadline, o.count, o.cancel, o.max_token);
  }
};

/// The model: sessions by key index. apply() returns false when the recorded
/// result is not what the model would return (and then the model is junk).
struct LockModel {
  std::vector<SessionModel> sessions;

  explicit LockModel(int keys) : sessions(static_cast<std::size_t>(keys)) {}

  static LockStatus mismatch(Token presented, Token current) {
    return presented < current ? LockStatus::stale : LockStatus::not_owner;
  }

  bool apply(const LockOp& op) {
    SessionModel& s = sessions[static_cast<std::size_t>(op.key)];
    switch (op.kind) {
      case LockOp::acquire: {
        if (!s.held || op.now > s.deadline) {  // new holder (or takeover)
          if (op.status != LockStatus::acquired || op.depth != 1) return false;
          if (op.out_token <= s.max_token) return false;  // L3
          s = SessionModel{true, op.mode, op.owner, op.out_token, op.now + op.lease, 1,
                           false, op.out_token};
          return true;
        }
        const bool reentry = s.mode == LockMode::exclusive && s.owner == op.owner;
        const bool join = s.mode == LockMode::shared && op.mode == LockMode::shared;
        if (reentry || join) {
          if (s.count + 1 > LockTable::holders_max) return op.status == LockStatus::too_many_holders;
          if (op.status != LockStatus::acquired || op.out_token != s.token ||
              op.depth != s.count + 1) {
            return false;
          }
          s.count += 1;
          if (op.now + op.lease > s.deadline) s.deadline = op.now + op.lease;
          return true;
        }
        return op.status == LockStatus::busy && op.holder == s.owner &&
               op.until == s.deadline && op.holder_mode == s.mode;
      }
      case LockOp::release: {
        if (!s.held) return op.status == LockStatus::not_held;
        if (op.token != s.token) return op.status == mismatch(op.token, s.token);
        if (op.status != LockStatus::released || op.depth != s.count - 1) return false;
        s.count -= 1;
        if (s.count == 0) {
          const Token keep = s.max_token;
          s = SessionModel{};
          s.max_token = keep;
        }
        return true;
      }
      case LockOp::renew: {
        if (!s.held) return op.status == LockStatus::not_held;
        if (op.token != s.token) return op.status == mismatch(op.token, s.token);
        if (op.now > s.deadline) return op.status == LockStatus::stale;
        const std::uint64_t deadline = op.now + op.lease > s.deadline ? op.now + op.lease : s.deadline;
        if (op.status != LockStatus::renewed || op.until != deadline) return false;
        s.deadline = deadline;
        return true;
      }
      case LockOp::cancel: {
        if (!s.held) return op.status == LockStatus::not_held;
        if (op.status != LockStatus::ok) return false;
        s.cancel = true;
        return true;
      }
      case LockOp::poll: {
        if (!s.held) return op.status == LockStatus::not_held;
        if (op.token != s.token) return op.status == mismatch(op.token, s.token);
        return op.status == LockStatus::ok && op.requested == s.cancel;
      }
    }
    return false;
  }

  bool operator<(const LockModel& o) const { return sessions < o.sessions; }
};

/// Wing & Gong search over `history` (at most 64 operations) from `start`.
class LinearizabilityChecker {
 public:
  explicit LinearizabilityChecker(const std::vector<LockOp>& history) : history_(history) {}

  /// True when some real-time-respecting order replays on the model.
  bool check(const LockModel& start) {
    if (history_.size() > 64) return false;
    return search(0, start);
  }
  /// How many (done-set, model) states the search visited.
  std::size_t states() const { return seen_.size(); }

  /// The history, one operation a line, for a failure message.
  std::string describe() const {
    std::string text;
    for (const LockOp& op : history_) text += "  " + op.describe() + "\n";
    return text;
  }

 private:
  bool search(std::uint64_t done, const LockModel& model) {
    const std::size_t n = history_.size();
    if (done == (n == 64 ? ~0ULL : (1ULL << n) - 1)) return true;
    if (!seen_.insert({done, model}).second) return false;
    // The earliest response among pending operations: an operation invoked
    // after it cannot go next.
    std::uint64_t first_response = ~0ULL;
    for (std::size_t i = 0; i < n; i++) {
      if ((done >> i & 1) == 0 && history_[i].response < first_response) {
        first_response = history_[i].response;
      }
    }
    for (std::size_t i = 0; i < n; i++) {
      if ((done >> i & 1) != 0 || history_[i].invoke > first_response) continue;
      LockModel next = model;
      if (next.apply(history_[i]) && search(done | (1ULL << i), next)) return true;
    }
    return false;
  }

  const std::vector<LockOp>& history_;
  std::set<std::pair<std::uint64_t, LockModel>> seen_;
};

}  // namespace weft::sim
