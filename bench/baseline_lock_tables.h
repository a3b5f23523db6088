// baseline_lock_tables.h: what the weft LockTable is compared with in
// bench/weft_bench.cpp. One operation is try-acquire of a key and, when it
// was acquired, its release. Exclusive mode: acquire = insert-if-absent of
// key -> holder, release = erase. Shared mode: a key held shared is joined
// (holder count + 1), release takes one holder away and erases at zero.
// A key held by someone else (exclusive) is `busy`: the call moves on to the
// next key, it never waits (weft's try_acquire semantics).
//
// - MutexMapLocks: std::mutex + std::unordered_map (buckets reserved at setup).
// - TbbLocks: tbb::concurrent_hash_map. Exclusive: insert(value) / erase(key)
//   (no accessor held); shared: an accessor (per-element write lock) around
//   the count.
// - CuckooLocks: libcuckoo::cuckoohash_map. Exclusive: insert / erase;
//   shared: uprase_fn / erase_fn.
// - CasCeilingLocks: the ceiling: a table of weft's size (4096 slots, one
//   cache line each), the slot picked by a mask of the key number (no hash,
//   no probing, no key stored, no lease): acquire = CAS 0 -> owner, release =
//   store 0; shared: fetch_add / fetch_sub of a holder count.
//
// The baselines issue no fencing token, keep no lease deadline and read no
// clock: what the issue asks of them. weft's try_acquire does all three (the
// token from a table-wide counter, the deadline from the injected clock).
#pragma once

#include <libcuckoo/cuckoohash_map.hh>
#include <tbb/concurrent_hash_map.h>
#include <weft/id.h>
#include <weft/lock_table.h>

#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "baseline_turn_stores.h"

namespace weft_bench {

/// What one benchmark run of the lock family is about.
struct LockSetup {
  int threads = 1;
  std::uint64_t key_space = 8;  ///< keys 0 .. key_space-1, picked uniformly
  weft::LockMode mode = weft::LockMode::exclusive;
};

/// The session key of key number `k`.
inline weft::Id lock_key(std::uint64_t k) noexcept {
  return weft::Id{k + 1, k * 0x9E3779B97F4A7C15ULL + 0x5EEDULL};
}

/// What a lock operation ended as.
enum class LockOutcome { cycled, busy, contended, table_full, error };

/// A holder record of the map baselines.
struct Holder {
  std::uint64_t owner = 0;
  bool shared = false;
  std::uint32_t count = 0;
};

struct TbbIdHashCompare {
  static std::size_t hash(const weft::Id& id) noexcept { return IdHash{}(id); }
  static bool equal(const weft::Id& a, const weft::Id& b) noexcept { return a == b; }
};

class MutexMapLocks {
 public:
  static constexpr std::uint32_t sample_period = 32;
  void setup(const LockSetup&) {
    holders_.clear();
    holders_.reserve(1024);
  }
  LockOutcome cycle(const weft::Id& key, std::uint64_t owner, weft::LockMode mode) {
    const bool shared = mode == weft::LockMode::shared;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      auto [it, inserted] = holders_.try_emplace(key, Holder{owner, shared, 1});
      if (!inserted) {
        if (!shared || !it->second.shared) return LockOutcome::busy;
        it->second.count++;
      }
    }
    std::lock_guard<std::mutex> guard(mutex_);
    const auto it = holders_.find(key);
    assert(it != holders_.end());
    if (--it->second.count == 0) holders_.erase(it);
    return LockOutcome::cycled;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<weft::Id, Holder, IdHash> holders_;
};

class TbbLocks {
 public:
  static constexpr std::uint32_t sample_period = 32;
  using Map = tbb::concurrent_hash_map<weft::Id, Holder, TbbIdHashCompare>;
  void setup(const LockSetup&) { map_ = std::make_unique<Map>(1024); }
  LockOutcome cycle(const weft::Id& key, std::uint64_t owner, weft::LockMode mode) {
    if (mode == weft::LockMode::exclusive) {
      if (!map_->insert(Map::value_type(key, Holder{owner, false, 1}))) return LockOutcome::busy;
      const bool erased = map_->erase(key);
      assert(erased);
      (void)erased;
      return LockOutcome::cycled;
    }
    {
      Map::accessor a;
      if (map_->insert(a, key)) {
        a->second = Holder{owner, true, 1};
      } else {
        if (!a->second.shared) return LockOutcome::busy;
        a->second.count++;
      }
    }
    Map::accessor a;
    const bool found = map_->find(a, key);
    assert(found);
    (void)found;
    if (--a->second.count == 0) map_->erase(a);
    return LockOutcome::cycled;
  }

 private:
  std::unique_ptr<Map> map_;
};

class CuckooLocks {
 public:
  static constexpr std::uint32_t sample_period = 32;
  using Map = libcuckoo::cuckoohash_map<weft::Id, Holder, IdHash>;
  void setup(const LockSetup&) { map_ = std::make_unique<Map>(1024); }
  LockOutcome cycle(const weft::Id& key, std::uint64_t owner, weft::LockMode mode) {
    if (mode == weft::LockMode::exclusive) {
      if (!map_->insert(key, Holder{owner, false, 1})) return LockOutcome::busy;
      const bool erased = map_->erase(key);
      assert(erased);
      (void)erased;
      return LockOutcome::cycled;
    }
    bool joined = true;
    map_->uprase_fn(
        key,
        [&](Holder& h) {
          if (h.shared) {
            h.count++;
          } else {
            joined = false;
          }
          return false;
        },
        Holder{owner, true, 1});
    if (!joined) return LockOutcome::busy;
    const bool found = map_->erase_fn(key, [](Holder& h) { return --h.count == 0; });
    assert(found);
    (void)found;
    return LockOutcome::cycled;
  }

 private:
  std::unique_ptr<Map> map_;
};

class CasCeilingLocks {
 public:
  static constexpr std::uint32_t sample_period = 1024;
  static constexpr std::uint64_t slots = 4096;  // weft's table capacity in the suite
  static_assert((slots & (slots - 1)) == 0, "a mask picks the slot");
  void setup(const LockSetup&) {
    if (!words_) words_ = std::make_unique<Word[]>(slots);
    for (std::uint64_t i = 0; i < slots; i++) words_[i].value.store(0, std::memory_order_relaxed);
  }
  LockOutcome cycle(std::uint64_t key_number, std::uint64_t owner, weft::LockMode mode) {
    std::atomic<std::uint64_t>& word = words_[key_number & (slots - 1)].value;
    if (mode == weft::LockMode::shared) {  // a count of shared holders: never busy
      word.fetch_add(1, std::memory_order_acquire);
      word.fetch_sub(1, std::memory_order_release);
      return LockOutcome::cycled;
    }
    std::uint64_t expected = 0;
    if (!word.compare_exchange_strong(expected, owner, std::memory_order_acquire)) return LockOutcome::busy;
    word.store(0, std::memory_order_release);
    return LockOutcome::cycled;
  }

 private:
  struct alignas(64) Word {  // one cache line per slot, as weft's slots
    std::atomic<std::uint64_t> value{0};
  };
  std::unique_ptr<Word[]> words_;
};

}  // namespace weft_bench
