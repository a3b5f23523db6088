// The smallest useful program against an installed weft: take a session
// lease, see a second request refused, release, and let it through.
#include <weft/clock.h>
#include <weft/id.h>
#include <weft/lock_table.h>

#include <cstdio>

int main() {
  weft::LockTable table;
  weft::LockTable::Config config;
  config.capacity = 128;
  if (table.create(config, weft::steady_clock()) != weft::LockStatus::ok) return 1;

  const weft::Id session = weft::id_from_string("user-42/chat-7");
  const std::uint64_t lease_ns = 30'000'000'000ULL;  // 30 s
  const auto first = table.try_acquire(session, /*owner=*/1, weft::LockMode::exclusive, lease_ns);
  const auto second = table.try_acquire(session, /*owner=*/2, weft::LockMode::exclusive, lease_ns);
  std::printf("first request: %s (token %llu)\n", weft::to_string(first.status),
              static_cast<unsigned long long>(first.token));
  std::printf("second request: %s (held by owner %llu)\n", weft::to_string(second.status),
              static_cast<unsigned long long>(second.holder));
  const auto released = table.release(session, first.token);
  const auto third = table.try_acquire(session, /*owner=*/2, weft::LockMode::exclusive, lease_ns);
  std::printf("after release: %s (token %llu)\n", weft::to_string(third.status),
              static_cast<unsigned long long>(third.token));
  const bool ok = first.status == weft::LockStatus::acquired &&
                  second.status == weft::LockStatus::busy &&
                  released.status == weft::LockStatus::released &&
                  third.status == weft::LockStatus::acquired && third.token > first.token;
  std::printf("%s\n", ok ? "consumer OK" : "consumer FAILED");
  return ok ? 0 : 1;
}
