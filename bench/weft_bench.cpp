// weft_bench: the performance suite of weft's TurnLog and LockTable against
// the designs they replace, their lock-free peers and the hardware ceiling,
// all in one binary and one run (docs/BENCHMARKS.md is written from it).
//
// What is measured
//
//   append/<impl>/<P>B/turns:<T>   one iteration = one exchange: begin, T
//       turns of P bytes (user, assistant, ...), commit; P in {32, 256,
//       4096}, T = 2 (T = 8 for 32 B as well: the most turns an exchange
//       takes, to show append without begin/commit dominating); 1, 2, 4, 8
//       threads (8 on 2 cores is oversubscription), each thread owning 16
//       conversations, round robin. items_per_second = turns per second.
//       impl: weft (steady_clock, the production default), weft_coarseclock
//       (coarse_clock: the kernel's tick), weft_manualclock (a clock that
//       never moves: shows what reading the clock costs), weft_ring256m
//       (a ring of 1024 segments, 256 MiB, instead of 64: what a ring a
//       preempted writer cannot outlast costs at 8 threads),
//       weft_separate_logs (every thread its own TurnLog: what the shared
//       append point costs; not a way to use weft), weft_lanes and
//       weft_lanes_coarseclock (Config::append_lanes = 8: each writer
//       thread appends to segments of its own),
//       seed_mutex and seed_shared_mutex (std::mutex / std::shared_mutex +
//       unordered_map<thread id, vector<turn>>), moodycamel and boost_lockfree
//       (raw enqueue of a turn record), ceiling_faa (a bare contended
//       fetch_add per turn) and ceiling_faa_memcpy (that fetch_add reserving
//       bytes of a shared ring plus the payload memcpy).
//   snapshot/<impl>/256B            writers as above plus one extra reader
//       thread taking snapshots of the writers' conversations back to back:
//       writers' turns/s and latency, snapshots/s and snapshot latency.
//   lock/<impl>/<space>/<mode>      one iteration = try-acquire of a random
//       key and, if acquired, its release; key space small (8 keys,
//       contended) or large (2^20 keys); exclusive or shared; 1-8 threads.
//       items_per_second = acquire+release pairs per second (busy results are
//       counted apart). impl: weft, weft_coarseclock and weft_manualclock
//       (exclusive only),
//       mutex_map, tbb_chm, libcuckoo, ceiling_cas.
//   timer_floor                     the cost of one latency sample itself.
//
// Latency: p50/p99/p99.9 in ns from log-linear histograms of sampled
// iterations (lfence+rdtsc, calibrated against steady_clock), merged over
// threads, as counters <series>_p50_ns ... (see weft_bench_harness.h).
// Every status other than success is a counter (log_full, contended, busy,
// table_full, errors, ...): never retried silently.
//
// How to run
//
//   cmake --preset bench && nice -n 10 cmake --build --preset bench
//   build/bench/bench/weft_bench                                   # everything
//   build/bench/bench/weft_bench --benchmark_filter='append/.*/32B'
//   build/bench/bench/weft_bench --benchmark_min_time=0.01          # smoke
//   build/bench/bench/weft_bench --profile=exchange/weft/32 --profile_ops=20000
//       (no Google Benchmark: runs that many operations on one thread inside
//        weft_bench_profiled(), for valgrind --tool=callgrind
//        --toggle-collect=weft_bench_profiled)
//   bash ci/bench.sh [--quick]       builds, runs, profiles, writes docs/BENCHMARKS.md
#include <weft/clock.h>
#include <weft/id.h>
#include <weft/lock_table.h>
#include <weft/turn_log.h>

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "baseline_lock_tables.h"
#include "baseline_turn_stores.h"
#include "weft_bench_harness.h"

namespace weft_bench {
namespace {

constexpr int conversations_per_writer = 16;
static_assert((conversations_per_writer & (conversations_per_writer - 1)) == 0, "a mask picks the conversation");
constexpr std::uint64_t lease_ns = 30'000'000'000ULL;
constexpr std::uint32_t lock_capacity = 4096;  // sessions held at once: >> 8 threads

/// Prints the first unexpected status of a kind (then only counts it).
void note_unexpected(const char* where, const char* status) {
  static std::atomic<int> printed{0};
  if (printed.fetch_add(1, std::memory_order_relaxed) < 5) {
    std::fprintf(stderr, "weft_bench: %s returned %s (counted as other_errors)\n", where, status);
  }
}

/// A region in caller memory, aligned for both structures, touched once (no
/// page faults while measured), reused by every run of one benchmark.
class Region {
 public:
  static constexpr std::size_t alignment = weft::TurnLog::region_alignment;
  static_assert(alignment == weft::LockTable::region_alignment, "one region type serves both structures");

  Region() = default;
  ~Region() { release(); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  unsigned char* get(std::size_t bytes) {
    if (bytes_ != bytes) {
      release();
      data_ = static_cast<unsigned char*>(::operator new[](bytes, std::align_val_t{alignment}));
      bytes_ = bytes;
      std::memset(data_, 0, bytes);
    }
    assert(data_ != nullptr);
    return data_;
  }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete[](data_, std::align_val_t{alignment});
    data_ = nullptr;
    bytes_ = 0;
  }
  unsigned char* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// The clock of the weft adapters: steady_clock (the default), coarse_clock
/// (the kernel's tick), or a ManualClock that never moves. No lease or
/// exchange expires in any of them: timeouts are far longer than a run.
enum class Time { steady, coarse, manual };
template <Time T>
weft::Clock bench_clock() {
  if constexpr (T == Time::manual) {
    static weft::ManualClock manual;
    return manual.clock();
  } else if constexpr (T == Time::coarse) {
    return weft::coarse_clock();
  } else {
    return weft::steady_clock();
  }
}

// ---- weft TurnLog adapter -----------------------------------------------------

// Segments: 64 is the suite's ring (16 MiB); weft_ring256m runs 1024 (256
// MiB) to show what a ring that outlasts a preempted writer changes.
template <Time T, std::uint64_t Segments = 64, std::uint32_t Lanes = 1>
class WeftStore {
 public:
  static constexpr std::uint32_t sample_period = 16;

  /// The geometry of the suite: the chat_service example's (256 KiB x 64 = 16 MiB).
  static weft::TurnLog::Config config() {
    weft::TurnLog::Config c;
    c.segment_bytes = 256 * 1024;
    c.segment_count = Segments;
    c.thread_capacity = 256;
    c.exchanges_per_thread = 16;
    c.reader_slots = 64;
    c.retention = weft::TurnLog::Retention::recycle_oldest;
    c.append_lanes = Lanes;
    return c;
  }
  /// Turns the ring retains for `payload_bytes` (sizes the baselines' retention).
  /// Mirrors lib/src/turn_log.cpp Geometry::make: records per segment are not
  /// in the public API.
  static std::size_t turns_kept(std::size_t payload_bytes) {
    const weft::TurnLog::Config c = config();
    const std::size_t records = (c.segment_bytes - 64) / 256;
    const std::size_t by_bytes = weft::TurnLog::payload_bytes_max(c) / ((payload_bytes + 7) & ~std::size_t{7});
    return std::min(records, by_bytes) * (c.segment_count - 1);
  }
  /// Most turns one snapshot can return (every record of the ring).
  static std::size_t ring_records() {
    const weft::TurnLog::Config c = config();
    return (c.segment_bytes - 64) / 256 * c.segment_count;
  }

  void setup(const AppendSetup&) {
    const weft::TurnLog::Config c = config();
    const std::size_t bytes = weft::TurnLog::region_bytes(c);
    assert(bytes > 0);
    const weft::LogStatus st = log_.init(region_.get(bytes), bytes, c, bench_clock<T>());
    if (st != weft::LogStatus::ok) {
      std::fprintf(stderr, "weft_bench: TurnLog::init: %s\n", weft::to_string(st));
      std::abort();
    }
  }

  struct Writer {
    std::uint64_t request_hi = 0;
    std::uint64_t requests = 0;
  };
  Writer make_writer(int writer_index) {
    return Writer{0x5245515500000000ULL + static_cast<std::uint64_t>(writer_index), 0};
  }

  template <bool Timed>
  void exchange(Writer& w, const weft::Id& thread, const unsigned char* payload, std::size_t bytes,
                int turns, Outcomes& outcomes, Laps<Timed>& laps) {
    laps.mark(false);
    const weft::BeginResult begun =
        log_.begin_exchange(thread, weft::Id{w.request_hi, ++w.requests}, weft::BeginPolicy::queue);
    if (begun.status != weft::LogStatus::ok) {
      fail("begin_exchange", begun.status, outcomes);
      return;
    }
    laps.mark(false);
    for (int i = 0; i < turns; i++) {
      const weft::Role role = i % 2 == 0 ? weft::Role::user : weft::Role::assistant;
      const weft::LogStatus st = log_.append(begun.exchange, role, payload, bytes);
      laps.mark(true);
      if (st != weft::LogStatus::ok) {
        (void)log_.abort(begun.exchange);  // its turns never show; counted below
        fail("append", st, outcomes);
        return;
      }
      outcomes.turns++;
    }
    const weft::LogStatus st = log_.commit(begun.exchange);
    laps.mark(false);
    if (st != weft::LogStatus::ok) fail("commit", st, outcomes);
  }

  struct Reader {
    std::vector<weft::TurnView> views;
    std::uint64_t errors = 0;
  };
  Reader make_reader() { return Reader{std::vector<weft::TurnView>(ring_records()), 0}; }
  /// One pinned snapshot of `thread`; weft hands out views, it copies nothing.
  std::size_t snapshot(Reader& r, const weft::Id& thread) {
    weft::Snapshot pinned;
    const weft::LogStatus st = log_.snapshot(thread, r.views.data(), r.views.size(), &pinned);
    if (st != weft::LogStatus::ok) {
      note_unexpected("snapshot", weft::to_string(st));
      r.errors++;
      return 0;
    }
    benchmark::DoNotOptimize(r.views[0]);
    return pinned.size();
  }

  weft::TurnLog& log() { return log_; }

 private:
  static void fail(const char* where, weft::LogStatus st, Outcomes& outcomes) {
    outcomes.exchanges_failed++;
    switch (st) {
      case weft::LogStatus::log_full: outcomes.log_full++; break;
      case weft::LogStatus::contended: outcomes.contended++; break;
      case weft::LogStatus::too_many_in_flight: outcomes.too_many_in_flight++; break;
      default:
        outcomes.other_errors++;
        note_unexpected(where, weft::to_string(st));
        break;
    }
    std::this_thread::yield();  // whatever pins the ring or the slot needs the CPU
  }

  Region region_;
  weft::TurnLog log_;
};

/// weft_separate_logs: every writer thread appends to a TurnLog of its own
/// (the suite's geometry each), so no two threads share a segment, a fill
/// word, a pin or a record line. Not a way to use weft (a conversation's
/// exchanges must all go to one log): it measures what the shared append
/// point costs, the most per-writer append points could win.
template <Time T>
class SeparateWeftLogs {
 public:
  static constexpr std::uint32_t sample_period = WeftStore<T>::sample_period;
  static constexpr int writers_max = 8;

  void setup(const AppendSetup& s) {
    if (s.writers > writers_max) {
      std::fprintf(stderr, "weft_bench: weft_separate_logs runs at most %d writers\n", writers_max);
      std::abort();
    }
    for (int i = 0; i < s.writers; i++) logs_[static_cast<std::size_t>(i)].setup(s);
  }
  struct Writer {
    typename WeftStore<T>::Writer inner;
    int index = 0;
  };
  Writer make_writer(int writer_index) {
    return Writer{logs_[static_cast<std::size_t>(writer_index)].make_writer(writer_index), writer_index};
  }
  template <bool Timed>
  void exchange(Writer& w, const weft::Id& thread, const unsigned char* payload, std::size_t bytes,
                int turns, Outcomes& outcomes, Laps<Timed>& laps) {
    logs_[static_cast<std::size_t>(w.index)].template exchange<Timed>(w.inner, thread, payload, bytes, turns,
                                                                      outcomes, laps);
  }

 private:
  std::array<WeftStore<T>, writers_max> logs_;
};

// ---- weft LockTable adapter ---------------------------------------------------

template <Time T>
class WeftLocks {
 public:
  static constexpr std::uint32_t sample_period = 32;
  void setup(const LockSetup&) {
    weft::LockTable::Config c;
    c.capacity = lock_capacity;
    const std::size_t bytes = weft::LockTable::region_bytes(c.capacity);
    const weft::LockStatus st = table_.init(region_.get(bytes), bytes, c, bench_clock<T>());
    if (st != weft::LockStatus::ok) {
      std::fprintf(stderr, "weft_bench: LockTable::init: %s\n", weft::to_string(st));
      std::abort();
    }
  }
  LockOutcome cycle(std::uint64_t, const weft::Id& key, std::uint64_t owner, weft::LockMode mode) {
    const weft::AcquireResult got = table_.try_acquire(key, owner, mode, lease_ns);
    switch (got.status) {
      case weft::LockStatus::acquired: break;
      case weft::LockStatus::busy: return LockOutcome::busy;
      case weft::LockStatus::contended: return LockOutcome::contended;
      case weft::LockStatus::table_full: return LockOutcome::table_full;
      default:
        note_unexpected("try_acquire", weft::to_string(got.status));
        return LockOutcome::error;
    }
    const weft::ReleaseResult released = table_.release(key, got.token);
    if (released.status == weft::LockStatus::released) return LockOutcome::cycled;
    if (released.status == weft::LockStatus::contended) return LockOutcome::contended;
    note_unexpected("release", weft::to_string(released.status));
    return LockOutcome::error;
  }

 private:
  Region region_;
  weft::LockTable table_;
};

/// Gives the map baselines the (key number, key) signature of the weft adapter.
template <class Map>
struct KeyedLocks : Map {
  LockOutcome cycle(std::uint64_t, const weft::Id& key, std::uint64_t owner, weft::LockMode mode) {
    return Map::cycle(key, owner, mode);
  }
};
struct CeilingLocks : CasCeilingLocks {
  LockOutcome cycle(std::uint64_t number, const weft::Id&, std::uint64_t owner, weft::LockMode mode) {
    return CasCeilingLocks::cycle(number, owner, mode);
  }
};

// ---- the append family ----------------------------------------------------------

/// What thread `writer` appends: its payload bytes and conversation ids.
struct WriterInput {
  std::vector<unsigned char> payload;
  std::array<weft::Id, conversations_per_writer> conversations{};
  WriterInput(int writer, std::size_t payload_bytes) : payload(payload_bytes) {
    for (std::size_t i = 0; i < payload_bytes; i++) payload[i] = static_cast<unsigned char>('a' + (i + static_cast<std::size_t>(writer)) % 26);
    for (int c = 0; c < conversations_per_writer; c++) conversations[static_cast<std::size_t>(c)] = conversation_id(writer, c);
  }
};

/// Files a timed exchange's laps: first-to-last into series 0 (exchange),
/// each interval that ended an append into series 1 (append).
template <bool Timed>
void file_laps(const Laps<Timed>& laps, Histogram* series) {
  if (laps.count < 2) return;
  series[0].record(laps.at[laps.count - 1] - laps.at[0]);
  for (int i = 1; i < laps.count; i++) {
    if (laps.is_append[i]) series[1].record(laps.at[i] - laps.at[i - 1]);
  }
}

void publish_outcomes(benchmark::State& state, const Outcomes& o) {
  state.SetItemsProcessed(static_cast<std::int64_t>(o.turns));
  add_counter(state, "exchanges_failed", static_cast<double>(o.exchanges_failed));
  add_counter(state, "log_full", static_cast<double>(o.log_full));
  add_counter(state, "contended", static_cast<double>(o.contended));
  add_counter(state, "too_many_in_flight", static_cast<double>(o.too_many_in_flight));
  add_counter(state, "other_errors", static_cast<double>(o.other_errors));
  add_counter(state, "drained", static_cast<double>(o.drained));
}

AppendSetup append_setup(int writers, std::size_t payload_bytes) {
  AppendSetup s;
  s.writers = writers;
  s.conversations_per_writer = conversations_per_writer;
  s.payload_bytes = payload_bytes;
  s.turns_kept_total = WeftStore<Time::steady>::turns_kept(payload_bytes);
  return s;
}

/// One writer's timed loop; shared by the append and snapshot families.
/// Writer 0 raises `started` (if given) in its first iteration: the writers
/// are past Google Benchmark's start barrier.
template <class Store>
void write_loop(benchmark::State& state, Store& store, std::size_t payload_bytes, int turns,
                Outcomes& outcomes, Histogram* series, std::atomic<bool>* started = nullptr) {
  const int writer = state.thread_index();
  auto w = store.make_writer(writer);  // touches nothing shared
  const WriterInput input(writer, payload_bytes);
  Sampler sampler(Store::sample_period, static_cast<std::uint64_t>(writer) + 1);
  std::uint64_t i = 0;
  for (auto _ : state) {
    if (i == 0 && started != nullptr && writer == 0) started->store(true, std::memory_order_release);
    const weft::Id& thread = input.conversations[i++ & (conversations_per_writer - 1)];
    if (!sampler.due()) {
      Laps<false> laps;
      store.template exchange<false>(w, thread, input.payload.data(), payload_bytes, turns, outcomes, laps);
      continue;
    }
    Laps<true> laps;
    store.template exchange<true>(w, thread, input.payload.data(), payload_bytes, turns, outcomes, laps);
    file_laps(laps, series);
  }
  state.counters["sample_period"] = state.thread_index() == 0 ? Store::sample_period : 0;
}

template <class Store>
void bm_append(benchmark::State& state, std::size_t payload_bytes, int turns) {
  static Store store;
  static RunLatency latency;
  if (state.thread_index() == 0) {  // ordered before every loop by the start barrier
    store.setup(append_setup(state.threads(), payload_bytes));
    latency.reset(state.threads());
  }
  Outcomes outcomes;
  Histogram series[2];
  write_loop(state, store, payload_bytes, turns, outcomes, series);
  publish_outcomes(state, outcomes);
  static const char* const names[] = {"exchange", "append"};
  latency.merge_and_publish(state, series, names, 2);
}

// ---- the snapshot family ---------------------------------------------------------

/// The reader thread of a snapshot run: snapshots of the writers'
/// conversations, back to back, from the writers' first iteration until
/// told to stop (before it, the conversations do not exist yet and a
/// snapshot of an unknown thread returns at once: it would skew the figures).
template <class Store>
struct SnapshotReader {
  std::atomic<bool> started{false};
  std::atomic<bool> stop{false};
  std::uint64_t snapshots = 0;
  std::uint64_t turns_seen = 0;
  std::uint64_t errors = 0;
  Histogram latency;

  void run(Store& store, int writers) {
    auto reader = store.make_reader();
    KeyPicker picker(99);
    while (!started.load(std::memory_order_acquire) && !stop.load(std::memory_order_acquire)) {
      std::this_thread::yield();
    }
    while (!stop.load(std::memory_order_acquire)) {
      const auto writer = static_cast<int>(picker.next(static_cast<std::uint64_t>(writers)));
      const auto conversation = static_cast<int>(picker.next(conversations_per_writer));
      const std::uint64_t start = ticks_now();
      turns_seen += store.snapshot(reader, conversation_id(writer, conversation));
      latency.record(ticks_now() - start);
      snapshots++;
    }
    errors = reader.errors;
  }
};

template <class Store>
void bm_snapshot(benchmark::State& state, std::size_t payload_bytes) {
  static Store store;
  static RunLatency latency;
  static SnapshotReader<Store> reader;
  static std::thread reader_thread;
  if (state.thread_index() == 0) {
    store.setup(append_setup(state.threads(), payload_bytes));
    latency.reset(state.threads());
    reader.started.store(false);
    reader.stop.store(false);
    reader.snapshots = reader.turns_seen = reader.errors = 0;
    reader.latency.clear();
    const int writers = state.threads();
    reader_thread = std::thread([writers] { reader.run(store, writers); });
  }
  Outcomes outcomes;
  Histogram series[3];
  write_loop(state, store, payload_bytes, 2, outcomes, series, &reader.started);
  if (state.thread_index() == 0) {  // every writer has passed the end barrier
    reader.stop.store(true, std::memory_order_release);
    reader_thread.join();
    series[2] = reader.latency;
    state.counters["snapshots"] = benchmark::Counter(static_cast<double>(reader.snapshots), benchmark::Counter::kIsRate);
    state.counters["snapshot_turns_avg"] =
        reader.snapshots == 0 ? 0.0 : static_cast<double>(reader.turns_seen) / static_cast<double>(reader.snapshots);
    state.counters["snapshot_errors"] = static_cast<double>(reader.errors);
  }
  publish_outcomes(state, outcomes);
  static const char* const names[] = {"exchange", "append", "snapshot"};
  latency.merge_and_publish(state, series, names, 3);
}

// ---- the lock family ---------------------------------------------------------------

struct LockTally {
  std::uint64_t cycled = 0, busy = 0, contended = 0, table_full = 0, errors = 0;
  void add(LockOutcome o) {
    switch (o) {
      case LockOutcome::cycled: cycled++; break;
      case LockOutcome::busy: busy++; break;
      case LockOutcome::contended: contended++; break;
      case LockOutcome::table_full: table_full++; break;
      case LockOutcome::error: errors++; break;
    }
  }
};

template <class Locks>
void bm_lock(benchmark::State& state, std::uint64_t key_space, weft::LockMode mode) {
  static Locks locks;
  static RunLatency latency;
  assert((key_space & (key_space - 1)) == 0);
  if (state.thread_index() == 0) {
    locks.setup(LockSetup{state.threads(), key_space, mode});
    latency.reset(state.threads());
  }
  const auto owner = static_cast<std::uint64_t>(state.thread_index()) + 1;
  KeyPicker picker(owner);
  Sampler sampler(Locks::sample_period, owner + 17);
  LockTally tally;
  Histogram series[1];
  for (auto _ : state) {
    const std::uint64_t k = picker.next(key_space);
    if (!sampler.due()) {
      tally.add(locks.cycle(k, lock_key(k), owner, mode));
      continue;
    }
    const std::uint64_t start = ticks_now();
    tally.add(locks.cycle(k, lock_key(k), owner, mode));
    series[0].record(ticks_now() - start);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(tally.cycled));
  add_counter(state, "busy", static_cast<double>(tally.busy));
  add_counter(state, "contended", static_cast<double>(tally.contended));
  add_counter(state, "table_full", static_cast<double>(tally.table_full));
  add_counter(state, "other_errors", static_cast<double>(tally.errors));
  state.counters["sample_period"] = state.thread_index() == 0 ? Locks::sample_period : 0;
  static const char* const names[] = {"lock"};
  latency.merge_and_publish(state, series, names, 1);
}

// ---- timer floor -------------------------------------------------------------------

void bm_timer_floor(benchmark::State& state) {
  static RunLatency latency;
  latency.reset(1);
  Histogram series[1];
  for (auto _ : state) {
    const std::uint64_t start = ticks_now();
    series[0].record(ticks_now() - start);
  }
  state.counters["ticks_per_ns"] = ticks_per_ns();
  static const char* const names[] = {"timer"};
  latency.merge_and_publish(state, series, names, 1);
}

// ---- registration ----------------------------------------------------------------------

constexpr int thread_counts[] = {1, 2, 4, 8};

using AppendFn = void (*)(benchmark::State&, std::size_t, int);
struct AppendImpl {
  const char* name;
  AppendFn fn;
};
const AppendImpl append_impls[] = {
    {"weft", bm_append<WeftStore<Time::steady>>},
    {"weft_coarseclock", bm_append<WeftStore<Time::coarse>>},
    {"weft_manualclock", bm_append<WeftStore<Time::manual>>},
    {"weft_ring256m", bm_append<WeftStore<Time::steady, 1024>>},
    {"weft_separate_logs", bm_append<SeparateWeftLogs<Time::steady>>},
    {"weft_lanes", bm_append<WeftStore<Time::steady, 64, 8>>},
    {"weft_lanes_coarseclock", bm_append<WeftStore<Time::coarse, 64, 8>>},
    {"seed_mutex", bm_append<SeedStore<std::mutex>>},
    {"seed_shared_mutex", bm_append<SeedStore<std::shared_mutex>>},
    {"moodycamel", bm_append<QueueStore<MoodycamelQueue>>},
    {"boost_lockfree", bm_append<QueueStore<BoostQueue>>},
    {"ceiling_faa", bm_append<CeilingStore<false>>},
    {"ceiling_faa_memcpy", bm_append<CeilingStore<true>>},
};

using LockFn = void (*)(benchmark::State&, std::uint64_t, weft::LockMode);
struct LockImpl {
  const char* name;
  LockFn fn;
  bool exclusive_only;
};
const LockImpl lock_impls[] = {
    {"weft", bm_lock<WeftLocks<Time::steady>>, false},
    {"weft_coarseclock", bm_lock<WeftLocks<Time::coarse>>, true},
    {"weft_manualclock", bm_lock<WeftLocks<Time::manual>>, true},
    {"mutex_map", bm_lock<KeyedLocks<MutexMapLocks>>, false},
    {"tbb_chm", bm_lock<KeyedLocks<TbbLocks>>, false},
    {"libcuckoo", bm_lock<KeyedLocks<CuckooLocks>>, false},
    {"ceiling_cas", bm_lock<CeilingLocks>, false},
};

void register_append() {
  // Every implementation of one (payload, threads) back to back: ratios
  // compare runs seconds apart, not minutes.
  for (const std::size_t payload_bytes : {std::size_t{32}, std::size_t{256}, std::size_t{4096}}) {
    for (const int threads : thread_counts) {
      for (const AppendImpl& impl : append_impls) {
        const std::string name = std::string("append/") + impl.name + "/" + std::to_string(payload_bytes) + "B/turns:2";
        benchmark::RegisterBenchmark(name.c_str(), impl.fn, payload_bytes, 2)->Threads(threads)->UseRealTime();
      }
    }
  }
  for (const int threads : thread_counts) {  // 8 turns per exchange: append with begin/commit amortised
    for (const AppendImpl& impl : append_impls) {
      const std::string n = impl.name;
      if (n != "weft" && n != "seed_mutex" && n != "ceiling_faa") continue;
      const std::string name = "append/" + n + "/32B/turns:8";
      benchmark::RegisterBenchmark(name.c_str(), impl.fn, std::size_t{32}, 8)->Threads(threads)->UseRealTime();
    }
  }
}

void register_snapshot() {
  for (const int writers : {1, 3, 7}) {  // + 1 reader thread: 2, 4, 8 threads in all
    benchmark::RegisterBenchmark("snapshot/weft/256B", bm_snapshot<WeftStore<Time::steady>>, std::size_t{256})
        ->Threads(writers)->UseRealTime();
    benchmark::RegisterBenchmark("snapshot/seed_mutex/256B", bm_snapshot<SeedStore<std::mutex>>, std::size_t{256})
        ->Threads(writers)->UseRealTime();
    benchmark::RegisterBenchmark("snapshot/seed_shared_mutex/256B", bm_snapshot<SeedStore<std::shared_mutex>>,
                                 std::size_t{256})
        ->Threads(writers)->UseRealTime();
  }
}

void register_lock() {
  const std::pair<const char*, std::uint64_t> spaces[] = {{"small", 8}, {"large", std::uint64_t{1} << 20}};
  const std::pair<const char*, weft::LockMode> modes[] = {{"exclusive", weft::LockMode::exclusive},
                                                          {"shared", weft::LockMode::shared}};
  for (const auto& [space_name, key_space] : spaces) {
    for (const auto& [mode_name, mode] : modes) {
      for (const int threads : thread_counts) {
        for (const LockImpl& impl : lock_impls) {
          if (impl.exclusive_only && mode != weft::LockMode::exclusive) continue;
          const std::string name = std::string("lock/") + impl.name + "/" + space_name + "/" + mode_name;
          benchmark::RegisterBenchmark(name.c_str(), impl.fn, key_space, mode)->Threads(threads)->UseRealTime();
        }
      }
    }
  }
}

// ---- profile mode (for callgrind) --------------------------------------------------------

/// The only function callgrind collects in: `ops` calls of `op`.
extern "C" __attribute__((noinline)) void weft_bench_profiled(const std::function<void()>* op, std::uint64_t ops) {
  for (std::uint64_t i = 0; i < ops; i++) (*op)();
}

/// Runs `ops` operations of one exchange implementation on this thread.
template <class Store>
void profile_exchange(std::size_t payload_bytes, std::uint64_t ops) {
  static Store store;
  store.setup(append_setup(1, payload_bytes));
  auto w = store.make_writer(0);
  const WriterInput input(0, payload_bytes);
  Outcomes outcomes;
  std::uint64_t i = 0;
  const std::function<void()> op = [&] {
    Laps<false> laps;
    store.template exchange<false>(w, input.conversations[i++ & (conversations_per_writer - 1)],
                                   input.payload.data(), payload_bytes, 2, outcomes, laps);
  };
  // Outside the collection: first touches, and one lap of the retention ring
  // (weft's and the seeds'), so every collected segment turnover recycles.
  const std::size_t warm = append_setup(1, payload_bytes).turns_kept_total / 2 + 1000;
  for (std::size_t k = 0; k < warm; k++) op();
  weft_bench_profiled(&op, ops);
  std::printf("profiled %llu exchanges, %llu turns, %llu failed\n", static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(outcomes.turns), static_cast<unsigned long long>(outcomes.exchanges_failed));
}

template <class Locks>
void profile_lock(std::uint64_t key_space, weft::LockMode mode, std::uint64_t ops) {
  static Locks locks;
  locks.setup(LockSetup{1, key_space, mode});
  KeyPicker picker(1);
  LockTally tally;
  const std::function<void()> op = [&] {
    const std::uint64_t k = picker.next(key_space);
    tally.add(locks.cycle(k, lock_key(k), 1, mode));
  };
  for (int warm = 0; warm < 1000; warm++) op();
  weft_bench_profiled(&op, ops);
  std::printf("profiled %llu lock cycles, %llu busy\n", static_cast<unsigned long long>(tally.cycled),
              static_cast<unsigned long long>(tally.busy));
}

/// Splits "a/b/c" into its parts.
std::vector<std::string> split_path(const std::string& text) {
  std::vector<std::string> parts(1);
  for (const char ch : text) {
    if (ch == '/') {
      parts.emplace_back();
    } else {
      parts.back().push_back(ch);
    }
  }
  return parts;
}

/// Keeps a second thread alive: glibc's locks skip their atomic instructions
/// while a process has one thread, which a server never is.
class IdleThread {
 public:
  IdleThread() : thread_([this] { std::unique_lock<std::mutex> lock(mutex_); done_cv_.wait(lock, [this] { return done_; }); }) {}
  ~IdleThread() {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }
  IdleThread(const IdleThread&) = delete;
  IdleThread& operator=(const IdleThread&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

/// --profile=exchange/<impl>/<payload> or lock/<impl>/<small|large>/<exclusive|shared>.
int run_profile(const std::string& what, std::uint64_t ops) {
  const IdleThread idle;
  const std::vector<std::string> p = split_path(what);
  if (p.size() == 3 && p[0] == "exchange") {
    const std::size_t bytes = std::strtoull(p[2].c_str(), nullptr, 10);
    if (bytes == 0 || bytes > 4096) return std::fprintf(stderr, "weft_bench: payload 1-4096\n"), 2;
    if (p[1] == "weft") return profile_exchange<WeftStore<Time::steady>>(bytes, ops), 0;
    if (p[1] == "weft_coarseclock") return profile_exchange<WeftStore<Time::coarse>>(bytes, ops), 0;
    if (p[1] == "weft_lanes") return profile_exchange<WeftStore<Time::steady, 64, 8>>(bytes, ops), 0;
    if (p[1] == "weft_manualclock") return profile_exchange<WeftStore<Time::manual>>(bytes, ops), 0;
    if (p[1] == "seed_mutex") return profile_exchange<SeedStore<std::mutex>>(bytes, ops), 0;
    if (p[1] == "moodycamel") return profile_exchange<QueueStore<MoodycamelQueue>>(bytes, ops), 0;
    if (p[1] == "ceiling_faa_memcpy") return profile_exchange<CeilingStore<true>>(bytes, ops), 0;
  }
  if (p.size() == 4 && p[0] == "lock" && (p[2] == "small" || p[2] == "large") &&
      (p[3] == "exclusive" || p[3] == "shared")) {
    const std::uint64_t key_space = p[2] == "small" ? 8 : std::uint64_t{1} << 20;
    const weft::LockMode mode = p[3] == "shared" ? weft::LockMode::shared : weft::LockMode::exclusive;
    if (p[1] == "weft") return profile_lock<WeftLocks<Time::steady>>(key_space, mode, ops), 0;
    if (p[1] == "weft_coarseclock") return profile_lock<WeftLocks<Time::coarse>>(key_space, mode, ops), 0;
    if (p[1] == "weft_manualclock") return profile_lock<WeftLocks<Time::manual>>(key_space, mode, ops), 0;
    if (p[1] == "mutex_map") return profile_lock<KeyedLocks<MutexMapLocks>>(key_space, mode, ops), 0;
    if (p[1] == "tbb_chm") return profile_lock<KeyedLocks<TbbLocks>>(key_space, mode, ops), 0;
    if (p[1] == "libcuckoo") return profile_lock<KeyedLocks<CuckooLocks>>(key_space, mode, ops), 0;
  }
  std::fprintf(stderr, "weft_bench: unknown --profile=%s\n", what.c_str());
  return 2;
}

}  // namespace
}  // namespace weft_bench

int main(int argc, char** argv) {
  std::string profile;
  std::uint64_t profile_ops = 20000;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    if (arg.rfind("--profile=", 0) == 0) profile = arg.substr(10);
    if (arg.rfind("--profile_ops=", 0) == 0) profile_ops = std::strtoull(arg.c_str() + 14, nullptr, 10);
  }
  if (!profile.empty()) return weft_bench::run_profile(profile, profile_ops);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  weft_bench::calibrate_ticks(100);
  benchmark::AddCustomContext("ticks_per_ns", std::to_string(weft_bench::ticks_per_ns()));
  benchmark::AddCustomContext("turn_log_geometry", "segment_bytes=262144 segment_count=64 recycle_oldest");
  benchmark::AddCustomContext("lock_table_capacity", std::to_string(weft_bench::lock_capacity));
  benchmark::RegisterBenchmark("timer_floor", weft_bench::bm_timer_floor);
  weft_bench::register_append();
  weft_bench::register_snapshot();
  weft_bench::register_lock();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
