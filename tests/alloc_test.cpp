// Zero heap allocations after construction: every allocation is counted
// (global operator new replaced; in sanitizer builds, the runtime's malloc
// hook, which sees malloc too), and the counter must not move while the table
// acquires, re-enters, renews, cancels, expires, takes over and releases.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "weft/clock.h"
#include "weft/id.h"
#include "weft/lock_table.h"

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

}  // namespace
