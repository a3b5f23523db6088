// Shared by the multi-process tests (crash_test.cpp, multiprocess_test.cpp):
// payloads that can be recomputed from (thread, ticket, index), the messages
// writer processes send through a pipe, and a checker of T1-T6 on a TurnLog
// opened from a file or shared memory.
//
// An exchange of these tests has exactly two turns: index 0 (user) and index 1
// (assistant, possibly streamed), and each turn's payload is a pure function
// of (thread, ticket, index). So a reader can tell a whole turn from a torn
// one, a turn of another thread, or another exchange's turn, without any
// knowledge of what the writers did.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "weft/turn_log.h"

namespace weft::crash {

inline std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// The id of test thread `index` (`prefix` keeps tests apart).
inline Id thread_id(const char* prefix, std::uint32_t index) {
  return id_from_string(std::string(prefix) + "-thread-" + std::to_string(index));
}

/// The payload of turn `index` of exchange `ticket` on test thread `thread`:
/// a readable prefix, then bytes from a hash; 10 to ~900 bytes.
inline std::string payload_of(std::uint32_t thread, std::uint64_t ticket, std::uint32_t index) {
  std::string out = "T" + std::to_string(thread) + "/K" + std::to_string(ticket) + "/I" + std::to_string(index) + "|";
  std::uint64_t x = splitmix((static_cast<std::uint64_t>(thread) << 40) ^ (ticket << 4) ^ index);
  const std::size_t extra = index == 0 ? x % 96 : x % 880;
  for (std::size_t i = 0; i < extra; i++) {
    if (i % 8 == 0) x = splitmix(x);
    out.push_back(static_cast<char>('a' + ((x >> (8 * (i % 8))) & 0xFF) % 26));
  }
  return out;
}

/// What a writer process tells its parent (one write() of 16 bytes: atomic
/// on a pipe, so a message is whole or absent even if the writer is killed).
struct Message {
  enum Kind : std::uint8_t { begun = 1, committed = 2, not_committed = 3, failed = 4, lease = 5, log_full = 6 };
  std::uint8_t kind = 0;
  std::uint8_t writer = 0;
  std::uint16_t thread = 0;  ///< test thread index; for `lease`: the key index
  std::uint32_t detail = 0;  ///< a LogStatus / LockStatus, or lease phase
  std::uint64_t ticket = 0;  ///< exchange ticket, or fencing token
};
static_assert(sizeof(Message) == 16, "one message is one small write");

/// Sends one message (at most PIPE_BUF bytes: one atomic write); false when
/// the pipe is gone.
template <class M>
bool send(int fd, const M& m) {
  static_assert(sizeof(M) <= 512, "a message is written atomically only up to PIPE_BUF");
  for (int attempt = 0; attempt < 1000; attempt++) {  // bound: EINTR retries
    const ssize_t n = ::write(fd, &m, sizeof m);
    if (n == static_cast<ssize_t>(sizeof m)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return false;
}

/// Reads whole messages of type M available on `fd` (waits at most
/// `timeout_ms` for the first). Returns false at end of file (the writer is
/// gone). Every message is one atomic write of sizeof(M) bytes, and a pipe
/// holds only such writes, so a read of a multiple of sizeof(M) returns
/// whole messages; a short tail is completed with blocking reads.
template <class M, class OnMessage>
bool drain(int fd, int timeout_ms, OnMessage&& on_message) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return true;
  M buffer[64];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n == 0) return false;
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  for (int attempt = 0; n % static_cast<ssize_t>(sizeof(M)) != 0 && attempt < 1000; attempt++) {
    const ssize_t more = ::read(fd, reinterpret_cast<char*>(buffer) + n, sizeof(M) - static_cast<std::size_t>(n) % sizeof(M));
    if (more <= 0) break;
    n += more;
  }
  for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(M)); i++) on_message(buffer[i]);
  return true;
}

/// Checks T1-T6 on a TurnLog that the test's writers filled, against what
/// they confirmed. Keeps each thread's last snapshot (T5 across checks).
class LogChecker {
 public:
  LogChecker(const char* prefix, std::uint32_t threads, std::uint32_t window)
      : prefix_(prefix), threads_(threads), window_(window), previous_(threads), trimmed_(threads, 0) {}

  /// A writer was told commit() returned ok for (thread, ticket).
  void confirm(std::uint32_t thread, std::uint64_t ticket) {
    if (!confirmed_.insert({thread, ticket}).second) {
      violation("T2: exchange (thread %u, ticket %llu) confirmed twice", thread,
                static_cast<unsigned long long>(ticket));
    }
  }
  [[nodiscard]] std::size_t confirmed_exchanges() const { return confirmed_.size(); }
  /// The log trimmed `thread` through `ticket` (retention recycle_oldest
  /// recycled its segments): those exchanges are gone by design [T8].
  void set_trimmed(std::uint32_t thread, std::uint64_t ticket) { trimmed_[thread] = ticket; }

  /// Figures of the last check.
  struct Counts {
    std::size_t visible_exchanges = 0;    ///< exchanges shown by snapshots
    std::size_t visible_turns = 0;        ///< turns shown by snapshots
    std::size_t confirmed_found = 0;      ///< confirmed exchanges shown
    std::size_t confirmed_pending = 0;    ///< confirmed, above the watermark (not yet visible)
    std::size_t confirmed_missing = 0;    ///< confirmed, at or below the watermark, not shown (T1 violation)
    std::size_t confirmed_trimmed = 0;    ///< confirmed, then trimmed by the ring's recycling (T8)
    std::size_t exported_turns = 0;       ///< turns for_each_committed visited
  };

  /// Checks every test thread of `log`. `final_check`: no writer is alive and
  /// every open exchange has expired, so every confirmed exchange must show.
  Counts check(TurnLog& log, bool final_check) {
    Counts c;
    std::vector<TurnView> views(1 << 16);
    for (std::uint32_t th = 0; th < threads_; th++) check_thread(log, th, views, final_check, c);
    // The export path sees the same turns (for_each_committed).
    struct Export {
      std::size_t turns = 0;
    } exported;
    const LogStatus st = log.for_each_committed(
        [](void* context, const TurnView&) {
          static_cast<Export*>(context)->turns++;
          return true;
        },
        &exported);
    if (st != LogStatus::ok) violation("for_each_committed: %s", to_string(st));
    c.exported_turns = exported.turns;
    if (final_check && exported.turns != c.visible_turns) {
      violation("export: for_each_committed visited %zu turns, snapshots show %zu", exported.turns, c.visible_turns);
    }
    last_ = c;
    return c;
  }

  [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
  [[nodiscard]] const Counts& last() const { return last_; }

 private:
  template <class... Args>
  void violation(const char* format, Args... args) {
    char text[512];
    std::snprintf(text, sizeof text, format, args...);
    if (violations_.size() < 100) violations_.emplace_back(text);
    std::fprintf(stderr, "VIOLATION %s\n", text);
  }

  void check_thread(TurnLog& log, std::uint32_t th, std::vector<TurnView>& views, bool final_check, Counts& c) {
    const Id thread = thread_id(prefix_, th);
    Snapshot snap;
    const LogStatus st = log.snapshot(thread, views.data(), views.size(), &snap);
    if (st != LogStatus::ok) {
      violation("snapshot of thread %u: %s", th, to_string(st));
      return;
    }
    const std::uint64_t watermark = snap.visible_through();
    const std::uint64_t trim = trimmed_[th];
    std::vector<std::uint64_t> tickets;  // visible exchanges in order
    std::set<std::pair<std::uint64_t, std::uint64_t>> requests;
    for (std::size_t i = 0; i < snap.size(); i++) {
      const TurnView& v = views[i];
      if (!(v.thread == thread)) violation("T6: thread %u shows a turn of another thread", th);
      if (i > 0) {
        const TurnView& p = views[i - 1];
        if (v.ticket < p.ticket || (v.ticket == p.ticket && v.index <= p.index)) {
          violation("T3: thread %u: (%llu, %u) after (%llu, %u)", th, static_cast<unsigned long long>(v.ticket),
                    v.index, static_cast<unsigned long long>(p.ticket), p.index);
        }
      }
      if (v.ticket > watermark) violation("T4: thread %u shows ticket %llu above its watermark", th,
                                          static_cast<unsigned long long>(v.ticket));
      if (v.ticket <= trim) violation("T8: thread %u shows ticket %llu, trimmed through %llu", th,
                                     static_cast<unsigned long long>(v.ticket), static_cast<unsigned long long>(trim));
      const std::string expected = payload_of(th, v.ticket, v.index);
      if (v.payload_bytes != expected.size() || std::memcmp(v.payload, expected.data(), expected.size()) != 0) {
        violation("T4/T6: thread %u ticket %llu index %u: payload is not the whole turn (%u bytes, %zu expected)",
                  th, static_cast<unsigned long long>(v.ticket), v.index, v.payload_bytes, expected.size());
      }
      const Role role = v.index == 0 ? Role::user : Role::assistant;
      if (v.index > 1 || v.role != role) violation("T3: thread %u ticket %llu: index %u has role %d", th,
                                                   static_cast<unsigned long long>(v.ticket), v.index,
                                                   static_cast<int>(v.role));
      if (tickets.empty() || tickets.back() != v.ticket) {
        tickets.push_back(v.ticket);
        if (!requests.insert({v.request.hi, v.request.lo}).second) {
          violation("T2: thread %u: one request id began two visible exchanges", th);
        }
      }
    }
    // Each visible exchange is whole: exactly turns 0 and 1 (T4: no partial exchange).
    std::map<std::uint64_t, std::uint32_t> turns_of;
    for (std::size_t i = 0; i < snap.size(); i++) turns_of[views[i].ticket] |= 1u << std::min<std::uint32_t>(views[i].index, 31);
    for (const auto& [ticket, mask] : turns_of) {
      if (mask != 3u) violation("T4: thread %u ticket %llu shows turn mask %x, not both turns", th,
                                static_cast<unsigned long long>(ticket), mask);
    }
    // T5: the previous snapshot (an earlier check) is a prefix of this one.
    std::vector<std::uint64_t>& before = previous_[th];
    before.erase(before.begin(), std::upper_bound(before.begin(), before.end(), trim));  // trimmed since: a prefix leaves
    if (before.size() > tickets.size() || !std::equal(before.begin(), before.end(), tickets.begin())) {
      violation("T5: thread %u: an earlier snapshot (%zu exchanges) is not a prefix of this one (%zu)", th,
                before.size(), tickets.size());
    }
    before = tickets;
    // T4 and no gaps among committed exchanges: within the last W tickets at
    // or below the watermark, an exchange is shown exactly when it committed.
    const std::set<std::uint64_t> shown(tickets.begin(), tickets.end());
    for (std::uint64_t k = watermark >= window_ ? watermark - window_ + 1 : 1; k <= watermark; k++) {
      if (k <= trim) continue;  // recycled away [T8]
      ExchangeState state{};
      if (log.state(ExchangeRef{thread, k}, &state) != LogStatus::ok) continue;  // slot reused: too old to ask
      if (state != ExchangeState::committed && state != ExchangeState::aborted && state != ExchangeState::expired) {
        violation("T4: thread %u ticket %llu is below the watermark but not finished", th,
                  static_cast<unsigned long long>(k));
      }
      if ((state == ExchangeState::committed) != (shown.count(k) == 1)) {
        violation("T1/T4: thread %u ticket %llu: state %d but %s", th, static_cast<unsigned long long>(k),
                  static_cast<int>(state), shown.count(k) ? "shown" : "not shown");
      }
    }
    // T1: every confirmed exchange at or below the watermark is shown.
    for (auto it = confirmed_.lower_bound({th, 0}); it != confirmed_.end() && it->first == th; ++it) {
      if (it->second <= trim) {
        c.confirmed_trimmed++;
        continue;
      }
      if (it->second > watermark) {
        c.confirmed_pending++;
        if (final_check) violation("T1: thread %u ticket %llu confirmed but above the final watermark %llu", th,
                                   static_cast<unsigned long long>(it->second),
                                   static_cast<unsigned long long>(watermark));
        continue;
      }
      if (shown.count(it->second) != 0) {
        c.confirmed_found++;
      } else {
        c.confirmed_missing++;
        violation("T1: thread %u ticket %llu was confirmed and is missing", th,
                  static_cast<unsigned long long>(it->second));
      }
    }
    c.visible_exchanges += tickets.size();
    c.visible_turns += snap.size();
  }

  const char* prefix_;
  std::uint32_t threads_;
  std::uint32_t window_;
  std::vector<std::vector<std::uint64_t>> previous_;
  std::vector<std::uint64_t> trimmed_;
  std::set<std::pair<std::uint32_t, std::uint64_t>> confirmed_;
  std::vector<std::string> violations_;
  Counts last_;
};

}  // namespace weft::crash
