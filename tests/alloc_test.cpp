// Zero heap allocations after construction: every allocation is counted
// (global operator new replaced; in sanitizer builds, the runtime's malloc
// hook, which sees malloc too), and the counter must not move while the table
// acquires, re-enters, renews, cancels, expires, takes over and releases.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <new>

#include "weft/clock.h"
#include "weft/id.h"
#include "weft/lock_table.h"
#include "weft/turn_log.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define WEFT_ALLOC_TEST_SANITIZER_HOOKS 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_ALLOC_TEST_SANITIZER_HOOKS 1
#endif

namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

#ifdef WEFT_ALLOC_TEST_SANITIZER_HOOKS
// Sanitizer runtimes own operator new and malloc; they offer a hook that sees
// every allocation (malloc and new alike), which is even stricter.
#include <sanitizer/allocator_interface.h>
namespace {
void on_malloc(const volatile void*, std::size_t) {
  allocations.fetch_add(1, std::memory_order_relaxed);
}
void on_free(const volatile void*) {}
const int installed = __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free);
}  // namespace
#else
namespace {
void* counted(std::size_t size, std::size_t alignment) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(size)
                : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  return p;
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t a) {
  if (void* p = counted(size, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t a) {
  if (void* p = counted(size, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted(size, 0); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#endif

namespace {

TEST(no_heap_after_init, lock_table_operations_allocate_nothing) {
#ifdef WEFT_ALLOC_TEST_SANITIZER_HOOKS
  ASSERT_NE(installed, 0) << "the sanitizer allocation hook is not installed";
#endif
  weft::ManualClock clock;
  weft::LockTable table;
  weft::LockTable::Config config;
  config.capacity = 64;
  const std::size_t before_create = allocations.load();
  ASSERT_EQ(table.create(config, clock.clock()), weft::LockStatus::ok);
  EXPECT_EQ(allocations.load(), before_create + 1) << "create() allocates exactly once";

  const std::size_t after_init = allocations.load();
  for (std::uint64_t round = 0; round < 1000; round++) {
    const weft::Id key{round % 17, round % 5};
    const auto a = table.try_acquire(key, 7, weft::LockMode::exclusive, 100);
    const auto again = table.try_acquire(key, 7, weft::LockMode::exclusive, 100);
    (void)table.renew(key, a.token, 200);
    (void)table.request_cancel(key);
    (void)table.poll_cancel(key, a.token);
    (void)table.inspect(key);
    (void)table.try_acquire(key, 8, weft::LockMode::shared, 100);  // busy
    if (round % 3 == 0) {
      clock.advance(1000);  // expire; the next acquire takes over
      (void)table.try_acquire(key, 9, weft::LockMode::shared, 100);
      (void)table.try_acquire(key, 10, weft::LockMode::shared, 100);
    } else {
      (void)table.release(key, again.token);
      (void)table.release(key, a.token);
    }
  }
  (void)table.stats();
  EXPECT_EQ(allocations.load(), after_init);
  EXPECT_GT(table.stats().expiries, 0u);
}

// Soak: pushes more than 100 times the ring's capacity through a TurnLog
// with retention on, reading snapshots as it goes. Memory stays the region
// (no allocation after create()), the ring recycles, and what each thread
// keeps is a contiguous run of its latest committed exchanges: turns left
// only as a prefix [T8].
TEST(no_heap_after_init, turn_log_soak_cycles_the_ring_with_bounded_memory) {
  weft::ManualClock clock;
  weft::TurnLog log;
  weft::TurnLog::Config config;
  config.segment_bytes = 4096;
  config.segment_count = 4;
  config.thread_capacity = 16;
  config.exchanges_per_thread = 8;
  config.reader_slots = 4;
  config.retention = weft::TurnLog::Retention::recycle_oldest;
  ASSERT_EQ(log.create(config, clock.clock()), weft::LogStatus::ok);
  const std::size_t ring_bytes = std::size_t{config.segment_bytes} * config.segment_count;
  constexpr int threads = 8;
  weft::Id ids[threads];
  for (int t = 0; t < threads; t++) ids[t] = weft::Id{0xC0, static_cast<std::uint64_t>(t) + 1};
  static weft::TurnView views[512];
  char payload[100];
  std::memset(payload, 'x', sizeof payload);
  std::uint64_t last_committed[threads] = {};

  const std::size_t after_init = allocations.load();
  std::size_t pushed = 0;
  for (std::uint64_t n = 0; pushed < 100 * ring_bytes; n++) {
    const int t = static_cast<int>(n % threads);
    const auto begun = log.begin_exchange(ids[t], weft::Id{0xBEEF, n + 1}, weft::BeginPolicy::queue);
    ASSERT_EQ(begun.status, weft::LogStatus::ok) << n;
    ASSERT_EQ(log.append(begun.exchange, weft::Role::user, payload, sizeof payload), weft::LogStatus::ok) << n;
    ASSERT_EQ(log.append(begun.exchange, weft::Role::assistant, payload, sizeof payload), weft::LogStatus::ok) << n;
    ASSERT_EQ(log.commit(begun.exchange), weft::LogStatus::ok) << n;
    last_committed[t] = begun.exchange.ticket;
    pushed += 2 * sizeof payload;
    if (n % 97 == 0) {
      weft::Snapshot snap;
      ASSERT_EQ(log.snapshot(ids[t], views, 512, &snap), weft::LogStatus::ok);
      ASSERT_GT(snap.size(), 0u);
      // A contiguous run of tickets ending at the last commit: a prefix left.
      EXPECT_EQ(views[snap.size() - 1].ticket, last_committed[t]);
      for (std::size_t i = 1; i < snap.size(); i++) {
        const std::uint64_t step = views[i].ticket - views[i - 1].ticket;
        EXPECT_TRUE(step == 0 || step == 1) << "hole in the history of thread " << t;
      }
    }
  }
  EXPECT_EQ(allocations.load(), after_init) << "the TurnLog allocated after create()";
  const weft::LogStats stats = log.stats();
  EXPECT_GE(pushed, 20 * ring_bytes);
  EXPECT_GT(stats.segments_recycled, 100u);
  EXPECT_EQ(stats.log_full, 0u);
  std::printf("soak: %zu bytes through a %zu-byte ring (%.0fx), %llu segments recycled\n", pushed,
              ring_bytes, static_cast<double>(pushed) / static_cast<double>(ring_bytes),
              static_cast<unsigned long long>(stats.segments_recycled));
}

}  // namespace
