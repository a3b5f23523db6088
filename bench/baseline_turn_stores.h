// baseline_turn_stores.h: what the weft TurnLog is compared with in
// bench/weft_bench.cpp. Every store does the same work per exchange as the
// weft adapter: `turns` turns of `payload_bytes` each, every payload byte
// copied once, on one of the writer's conversations.
//
// - SeedStore<std::mutex> / SeedStore<std::shared_mutex>: the "seeds' design"
//   users have today: one lock over std::unordered_map<thread id,
//   conversation>, each conversation a std::vector of turns whose payload is
//   a std::string copy. Four critical sections per exchange, like weft's
//   four calls (begin: next ticket; one per turn; commit: watermark). Kind to
//   the baseline: the payload string is built before the lock is taken, the
//   map is filled at setup (no rehash while measured), and retention is a
//   ring over a vector reserved at setup (the evicted string is freed after
//   the lock is released). Snapshots copy the committed turns under the lock
//   (a shared lock for std::shared_mutex): the vector may move once unlocked.
// - QueueStore<MoodycamelQueue> / QueueStore<BoostQueue>: raw append: the
//   payload is copied into the writer's arena and a 48-byte record pointing
//   to it is enqueued. No tickets, no exchange, no reader side. Memory stays
//   bounded: every `drain_every_exchanges` a writer dequeues twice what it
//   enqueued since (bulk where the queue has it); the drain is inside the
//   timed loop (it is part of keeping a queue bounded) but never inside a
//   timed latency sample.
// - CeilingStore<false>: the bare contended fetch_add loop: one fetch_add per
//   turn on one shared counter (what weft's append reserves with).
//   CeilingStore<true>: the ideal log append: that fetch_add reserves bytes of
//   a shared ring of the TurnLog's size, then the payload is memcpy'd there.
#pragma once

// moodycamel's header trips GCC 12's -Wnull-dereference after inlining
// (its producer list walk); the warning is about its code, not ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <concurrentqueue/concurrentqueue.h>
#pragma GCC diagnostic pop
#include <weft/id.h>
#include <weft/turn_log.h>

#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "weft_bench_harness.h"

namespace weft_bench {

/// Hash of a weft::Id for the standard and TBB maps (the mix weft itself uses).
struct IdHash {
  std::size_t operator()(const weft::Id& id) const noexcept {
    return static_cast<std::size_t>(weft::id_mix64(id));
  }
};

/// What one benchmark run of the append family is about.
struct AppendSetup {
  int writers = 1;                     ///< threads that append
  int conversations_per_writer = 16;   ///< each writer owns these, round robin
  std::size_t payload_bytes = 32;      ///< bytes per turn
  std::size_t turns_kept_total = 0;    ///< retention: turns the weft ring holds
};

/// The id of conversation `index` of writer `writer` (never zero).
inline weft::Id conversation_id(int writer, int index) noexcept {
  assert(writer >= 0);
  assert(index >= 0);
  return weft::Id{0x5745465400000000ULL + static_cast<std::uint64_t>(writer) * 4096 +
                      static_cast<std::uint64_t>(index) + 1,
                  0xC0FFEEULL};
}

/// Per-call timestamps of one timed exchange: mark() after each call,
/// `append_ended` when the call was an append.
template <bool Timed>
struct Laps {
  static constexpr int marks_max = 2 + 2 * static_cast<int>(weft::TurnLog::turns_per_exchange_max);
  std::uint64_t at[marks_max];
  bool is_append[marks_max];
  int count = 0;
  void mark(bool append_ended) noexcept {
    assert(count < marks_max);
    at[count] = ticks_now();
    is_append[count] = append_ended;
    count++;
  }
};
/// The untimed iterations: nothing to store, nothing to read.
template <>
struct Laps<false> {
  static constexpr int count = 0;
  void mark(bool) noexcept {}
};

/// What went wrong in a run, by kind (reported as counters, never silent).
struct Outcomes {
  std::uint64_t turns = 0;             ///< turns appended
  std::uint64_t exchanges_failed = 0;  ///< exchanges not completed (any reason below)
  std::uint64_t log_full = 0;
  std::uint64_t contended = 0;
  std::uint64_t too_many_in_flight = 0;
  std::uint64_t other_errors = 0;      ///< any other status (printed once)
  std::uint64_t drained = 0;           ///< queues: records dequeued to stay bounded
};

// ---- the seeds' design -------------------------------------------------------

struct SeedTurn {
  std::uint64_t ticket = 0;
  std::uint32_t index = 0;
  weft::Role role = weft::Role::user;
  std::string payload;
};

struct SeedConversation {
  std::uint64_t next_ticket = 0;
  std::uint64_t committed_through = 0;
  std::vector<SeedTurn> turns;  // a ring once full: `oldest` is where the next turn goes
  std::size_t oldest = 0;
};

template <class Mutex>
class SeedStore {
 public:
  static constexpr bool shared_readers = std::is_same_v<Mutex, std::shared_mutex>;
  static constexpr std::uint32_t sample_period = 16;

  void setup(const AppendSetup& setup) {
    assert(setup.writers >= 1);
    assert(setup.turns_kept_total > 0);
    const int total = setup.writers * setup.conversations_per_writer;
    kept_per_conversation_ = std::max<std::size_t>(8, setup.turns_kept_total / static_cast<std::size_t>(total));
    conversations_.clear();
    conversations_.reserve(static_cast<std::size_t>(total) * 2);
    for (int w = 0; w < setup.writers; w++) {
      for (int c = 0; c < setup.conversations_per_writer; c++) {
        conversations_[conversation_id(w, c)].turns.reserve(kept_per_conversation_);
      }
    }
  }

  struct Writer {
    int index = 0;
  };
  Writer make_writer(int writer_index) { return Writer{writer_index}; }

  template <bool Timed>
  void exchange(Writer&, const weft::Id& thread, const unsigned char* payload, std::size_t bytes,
                int turns, Outcomes& outcomes, Laps<Timed>& laps) {
    laps.mark(false);
    std::uint64_t ticket = 0;
    {
      std::lock_guard<Mutex> guard(mutex_);
      ticket = ++find(thread).next_ticket;
    }
    laps.mark(false);
    for (int i = 0; i < turns; i++) {
      std::string copy(reinterpret_cast<const char*>(payload), bytes);  // built outside the lock
      std::string evicted;
      {
        std::lock_guard<Mutex> guard(mutex_);
        SeedConversation& c = find(thread);
        SeedTurn turn{ticket, static_cast<std::uint32_t>(i), i % 2 == 0 ? weft::Role::user : weft::Role::assistant,
                      std::move(copy)};
        if (c.turns.size() < kept_per_conversation_) {
          c.turns.push_back(std::move(turn));
        } else {  // retention: the oldest turn leaves
          evicted = std::move(c.turns[c.oldest].payload);
          c.turns[c.oldest] = std::move(turn);
          c.oldest = (c.oldest + 1) % c.turns.size();
        }
      }
      outcomes.turns++;
      laps.mark(true);
    }
    {
      std::lock_guard<Mutex> guard(mutex_);
      SeedConversation& c = find(thread);
      c.committed_through = std::max(c.committed_through, ticket);
    }
    laps.mark(false);
  }

  struct Reader {
    std::vector<SeedTurn> copy;
    std::uint64_t errors = 0;
  };
  Reader make_reader() {
    Reader r;
    r.copy.reserve(kept_per_conversation_);
    return r;
  }
  /// Copies the committed history of `thread` (oldest first) under the lock:
  /// the only consistent view this design has (the vector may move once unlocked).
  std::size_t snapshot(Reader& r, const weft::Id& thread) {
    r.copy.clear();
    auto copy_out = [&] {
      const SeedConversation& c = find(thread);
      const std::size_t n = c.turns.size();
      for (std::size_t k = 0; k < n; k++) {
        const SeedTurn& t = c.turns[(c.oldest + k) % n];
        if (t.ticket <= c.committed_through) r.copy.push_back(t);
      }
    };
    if constexpr (shared_readers) {
      std::shared_lock<Mutex> guard(mutex_);
      copy_out();
    } else {
      std::lock_guard<Mutex> guard(mutex_);
      copy_out();
    }
    return r.copy.size();
  }

 private:
  SeedConversation& find(const weft::Id& thread) {
    const auto it = conversations_.find(thread);
    if (it == conversations_.end()) std::abort();  // every conversation is made at setup
    return it->second;
  }

  Mutex mutex_;
  std::unordered_map<weft::Id, SeedConversation, IdHash> conversations_;
  std::size_t kept_per_conversation_ = 8;
};

// ---- raw append into concurrent queues ---------------------------------------

/// The record a queue baseline enqueues per turn (trivially copyable).
struct QueuedTurn {
  const unsigned char* payload;
  std::uint64_t thread_hi;
  std::uint64_t thread_lo;
  std::uint64_t ticket;
  std::uint32_t index;
  std::uint32_t payload_bytes;
  std::uint8_t role;
};
static_assert(std::is_trivially_copyable_v<QueuedTurn>, "boost::lockfree::queue needs a trivial record");

/// moodycamel::ConcurrentQueue with a producer and a consumer token per writer.
struct MoodycamelQueue {
  using Queue = moodycamel::ConcurrentQueue<QueuedTurn>;
  struct Tokens {
    std::optional<moodycamel::ProducerToken> producer;
    std::optional<moodycamel::ConsumerToken> consumer;
  };
  std::unique_ptr<Queue> queue;
  void reset(std::size_t capacity) { queue = std::make_unique<Queue>(capacity); }
  void push(Tokens& tokens, const QueuedTurn& record) {
    if (!tokens.producer) tokens.producer.emplace(*queue);  // after the start barrier
    const bool pushed = queue->enqueue(*tokens.producer, record);
    assert(pushed);
    (void)pushed;
  }
  std::size_t drain(Tokens& tokens, std::size_t most) {
    if (!tokens.consumer) tokens.consumer.emplace(*queue);
    QueuedTurn batch[256];
    std::size_t taken = 0;
    while (taken < most) {
      const std::size_t got = queue->try_dequeue_bulk(*tokens.consumer, batch, std::min<std::size_t>(256, most - taken));
      if (got == 0) break;
      benchmark::DoNotOptimize(batch[0]);
      taken += got;
    }
    return taken;
  }
};

/// boost::lockfree::queue (Michael-Scott with a free list), nodes reserved up front.
struct BoostQueue {
  using Queue = boost::lockfree::queue<QueuedTurn>;
  struct Tokens {};
  std::unique_ptr<Queue> queue;
  void reset(std::size_t capacity) { queue = std::make_unique<Queue>(capacity); }
  void push(Tokens&, const QueuedTurn& record) {
    const bool pushed = queue->push(record);  // allocates only if the reserve ran out
    assert(pushed);
    (void)pushed;
  }
  std::size_t drain(Tokens&, std::size_t most) {
    QueuedTurn record{};
    std::size_t taken = 0;
    while (taken < most && queue->pop(record)) taken++;
    benchmark::DoNotOptimize(record);
    return taken;
  }
};

template <class Q>
class QueueStore {
 public:
  static constexpr std::uint32_t sample_period = 64;
  static constexpr std::uint64_t drain_every_exchanges = 512;
  // Per writer; records are never read back, so wrapping over queued ones is
  // harmless (it is still 4 drain periods of two 4 KiB turns per exchange).
  static constexpr std::size_t arena_bytes = 16u << 20;
  static_assert(arena_bytes >= 4 * drain_every_exchanges * 2 * 4096, "arena spans four drain periods");

  void setup(const AppendSetup& setup) {
    assert(setup.writers >= 1);
    q_.reset(static_cast<std::size_t>(setup.writers) * drain_every_exchanges * 4);
  }

  struct Writer {
    int index = 0;
    std::vector<unsigned char> arena;
    std::size_t arena_at = 0;
    std::uint64_t exchanges = 0;
    std::uint64_t pushed_since_drain = 0;
    typename Q::Tokens tokens;
  };
  Writer make_writer(int writer_index) {
    Writer w;
    w.index = writer_index;
    w.arena.assign(arena_bytes, 0);  // touched before the timed loop
    return w;
  }

  template <bool Timed>
  void exchange(Writer& w, const weft::Id& thread, const unsigned char* payload, std::size_t bytes,
                int turns, Outcomes& outcomes, Laps<Timed>& laps) {
    laps.mark(false);
    w.exchanges++;
    for (int i = 0; i < turns; i++) {
      if (w.arena_at + bytes > w.arena.size()) w.arena_at = 0;
      unsigned char* copy = w.arena.data() + w.arena_at;
      std::memcpy(copy, payload, bytes);
      w.arena_at += (bytes + 7) & ~std::size_t{7};
      q_.push(w.tokens, QueuedTurn{copy, thread.hi, thread.lo, w.exchanges, static_cast<std::uint32_t>(i),
                                   static_cast<std::uint32_t>(bytes), static_cast<std::uint8_t>(i % 2 + 1)});
      outcomes.turns++;
      laps.mark(true);
    }
    w.pushed_since_drain += static_cast<std::uint64_t>(turns);
    if constexpr (!Timed) {  // never inside a latency sample
      if (w.exchanges % drain_every_exchanges == 0) {
        outcomes.drained += q_.drain(w.tokens, 2 * w.pushed_since_drain);
        w.pushed_since_drain = 0;
      }
    }
  }

 private:
  Q q_;
};

// ---- the ceiling ---------------------------------------------------------------

template <bool CopyPayload>
class CeilingStore {
 public:
  static constexpr std::uint32_t sample_period = 1024;  // the work is a few ns: keep the timer out
  static constexpr std::size_t ring_bytes = 16u << 20;  // the weft ring's size
  static constexpr std::size_t slack_bytes = 8192;      // > the largest payload
  static_assert((ring_bytes & (ring_bytes - 1)) == 0, "a mask, not a division, picks the offset");

  void setup(const AppendSetup&) {
    fill_.value.store(0, std::memory_order_relaxed);
    if (CopyPayload && ring_.empty()) ring_.assign(ring_bytes + slack_bytes, 0);  // touched now
  }

  struct Writer {
    int index = 0;
  };
  Writer make_writer(int writer_index) { return Writer{writer_index}; }

  template <bool Timed>
  void exchange(Writer&, const weft::Id&, const unsigned char* payload, std::size_t bytes, int turns,
                Outcomes& outcomes, Laps<Timed>& laps) {
    laps.mark(false);
    const std::uint64_t size = ((bytes + 7) & ~std::uint64_t{7}) + weft::TurnLog::record_header_bytes;
    for (int i = 0; i < turns; i++) {
      const std::uint64_t at = fill_.value.fetch_add(size, std::memory_order_relaxed);
      if constexpr (CopyPayload) {
        std::memcpy(ring_.data() + (at & (ring_bytes - 1)), payload, bytes);  // slack: no wrap test
      } else {
        benchmark::DoNotOptimize(at);
      }
      outcomes.turns++;
      laps.mark(true);
    }
  }

 private:
  struct alignas(64) Padded {
    std::atomic<std::uint64_t> value{0};
  };
  Padded fill_;
  std::vector<unsigned char> ring_;
};

}  // namespace weft_bench
