// A checker for TurnLog histories, fed by what the calls returned (not by the
// log's internals). Writers encode each turn as "c<conv> t<ticket> i<index>
// n<turns>" and record each exchange's outcome after its call returned;
// readers hand every snapshot to check_snapshot(); check_final() checks the
// end state. Contracts checked: T1 no loss, T2 (by the callers), T3 order,
// T4 atomic visibility, T5 monotonic snapshots, T6 isolation, T7 context.
// Extra turns another thread streamed into an exchange (Role::tool, payload
// tool_payload(); see is_extra()) must read tool_payload() whole and belong
// to a committed exchange, and are not counted among the exchange's turns.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "weft/turn_log.h"

namespace weft::sim {

class TurnChecker {
 public:
  enum Outcome : int { unknown = 0, committed = 1, aborted = 2, abandoned = 3, failed = 4 };

  TurnChecker(int conversations, std::size_t tickets_max)
      : conversations_(conversations), tickets_max_(tickets_max),
        outcomes_(new std::atomic<int>[static_cast<std::size_t>(conversations) * tickets_max]()),
        turns_(new std::atomic<int>[static_cast<std::size_t>(conversations) * tickets_max]()) {}

  /// The payload a writer appends for turn `index` of `turns`.
  static std::string payload(int conv, std::uint64_t ticket, std::uint32_t index, int turns) {
    return "c" + std::to_string(conv) + " t" + std::to_string(ticket) + " i" + std::to_string(index) +
           " n" + std::to_string(turns);
  }

  /// The payload of a tool turn another thread streams into an exchange
  /// (Role::tool; checked whole, not counted among the exchange's turns).
  static std::string tool_payload(int conv, std::uint64_t ticket) {
    return "tool result for c" + std::to_string(conv) + " t" + std::to_string(ticket);
  }

  /// True for a turn another thread streamed in (Role::tool and a payload
  /// that begins like tool_payload(): possibly cut short if damaged).
  static bool is_extra(const TurnView& v) {
    static constexpr char prefix[] = "tool result";
    return v.role == Role::tool && v.payload_bytes >= 4 && std::memcmp(v.payload, prefix, 4) == 0;
  }

  /// Records an exchange's outcome once its call returned.
  void record(int conv, std::uint64_t ticket, Outcome outcome, int turns) {
    if (ticket >= tickets_max_) return;
    turns_[at(conv, ticket)].store(turns, std::memory_order_relaxed);
    outcomes_[at(conv, ticket)].store(outcome, std::memory_order_release);
  }
  Outcome outcome(int conv, std::uint64_t ticket) const {
    return ticket < tickets_max_ ? static_cast<Outcome>(outcomes_[at(conv, ticket)].load(std::memory_order_acquire))
                                 : unknown;
  }

  /// Checks a snapshot (or a context: then `last` is ticket-1 and
  /// `committed_before` was read before the call). `previous` is the same
  /// reader's previous snapshot of this thread (T5), or null.
  /// Returns "" or a description of the first violation.
  std::string check_snapshot(int conv, const Id& thread, const TurnView* views, std::size_t n,
                             std::uint64_t last, const std::vector<std::uint64_t>& committed_before,
                             const std::vector<std::string>* previous) {
    std::set<std::uint64_t> tickets;
    std::uint32_t ordinal = 0;  // the turn's place among its exchange's non-tool turns
    for (std::size_t i = 0; i < n; i++) {
      const TurnView& v = views[i];
      const std::string text(reinterpret_cast<const char*>(v.payload), v.payload_bytes);
      if (i > 0) {
        const TurnView& p = views[i - 1];
        if (p.ticket > v.ticket || (p.ticket == v.ticket && p.index >= v.index)) return "T3: out of order at " + text;
      }
      if (i == 0 || views[i - 1].ticket != v.ticket) ordinal = 0;
      if (is_extra(v)) {  // a tool turn streamed in by another thread: whole, of its exchange
        if (text != tool_payload(conv, v.ticket)) return "T4: a tool turn reads '" + text + "'";
        if (!(v.thread == thread)) return "T6: a tool turn of another thread";
        const Outcome o = outcome(conv, v.ticket);
        if (o == aborted || o == abandoned || o == failed) return "T4/T9: a tool turn of an unfinished or aborted exchange";
        continue;
      }
      int c = -1, index = -1, turns = -1;
      unsigned long long ticket = 0;
      if (std::sscanf(text.c_str(), "c%d t%llu i%d n%d", &c, &ticket, &index, &turns) != 4) {
        return "T4: unreadable turn '" + text + "' (half written?)";
      }
      if (!(v.thread == thread) || c != conv) return "T6: turn of conv " + std::to_string(c) + " in conv " + std::to_string(conv);
      if (ticket != v.ticket || static_cast<std::uint32_t>(index) != ordinal) return "T4: header and payload disagree: " + text;
      if (v.ticket > last) return "T4: ticket " + std::to_string(v.ticket) + " beyond the watermark " + std::to_string(last);
      if (v.index == 0 && v.role != Role::user) return "T3: exchange does not lead with the user turn: " + text;
      // T4: the exchange is complete: indices 0..turns-1, consecutive (tool
      // turns streamed in between take indices of their own).
      const bool first_of_exchange = i == 0 || views[i - 1].ticket != v.ticket;
      if (first_of_exchange && v.index != 0) return "T4: exchange starts at index " + std::to_string(v.index);
      std::size_t next = i + 1;
      while (next < n && views[next].ticket == v.ticket && is_extra(views[next])) next++;
      const bool last_of_exchange = next == n || views[next].ticket != v.ticket;
      if (last_of_exchange && static_cast<int>(ordinal) != turns - 1) return "T4: partial exchange: " + text;
      // A missing turn of the exchange's own shows as a payload index that
      // is not its ordinal (above). Raw indices may have holes: a turn whose
      // reservation failed (a tool stream that lost the race with the
      // commit, log_full) keeps its index and is never shown.
      ordinal++;
      const Outcome o = outcome(conv, v.ticket);
      if (o == aborted || o == abandoned || o == failed) return "T4/T9: a turn of an unfinished or aborted exchange: " + text;
      tickets.insert(v.ticket);
      remember_seen(conv, v.ticket);
    }
    for (std::uint64_t t : committed_before) {  // T1: committed before the call, at or below the cut
      if (t <= last && tickets.count(t) == 0) return "T1: committed ticket " + std::to_string(t) + " missing";
    }
    if (previous != nullptr) {  // T5: the previous snapshot is a prefix of this one
      if (previous->size() > n) return "T5: snapshot shrank";
      for (std::size_t i = 0; i < previous->size(); i++) {
        const std::string text(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes);
        if ((*previous)[i] != text) return "T5: not a prefix of the previous snapshot at " + text;
      }
    }
    return "";
  }

  /// Tickets of `conv` recorded committed so far (call before a snapshot).
  std::vector<std::uint64_t> committed_so_far(int conv, std::uint64_t up_to) const {
    std::vector<std::uint64_t> out;
    for (std::uint64_t t = 1; t <= up_to && t < tickets_max_; t++) {
      if (outcome(conv, t) == committed) out.push_back(t);
    }
    return out;
  }

  /// Every exchange seen visible by any reader must end committed.
  std::string check_seen_were_committed() const {
    std::lock_guard<std::mutex> lock(seen_mutex_);
    for (const auto& [conv, ticket] : seen_) {
      if (outcome(conv, ticket) != committed) {
        return "T4: conv " + std::to_string(conv) + " ticket " + std::to_string(ticket) +
               " was seen but did not commit";
      }
    }
    return "";
  }

  int conversations() const { return conversations_; }

 private:
  std::size_t at(int conv, std::uint64_t ticket) const {
    return static_cast<std::size_t>(conv) * tickets_max_ + ticket;
  }
  void remember_seen(int conv, std::uint64_t ticket) {
    std::lock_guard<std::mutex> lock(seen_mutex_);
    seen_.insert({conv, ticket});
  }

  int conversations_;
  std::size_t tickets_max_;
  std::unique_ptr<std::atomic<int>[]> outcomes_;
  std::unique_ptr<std::atomic<int>[]> turns_;
  mutable std::mutex seen_mutex_;
  std::set<std::pair<int, std::uint64_t>> seen_;
};

}  // namespace weft::sim
