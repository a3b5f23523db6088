// The smallest useful program against an installed weft: take a session
// lease, see a second request refused, release, and let it through; then
// one scan kernel (weft/scan.h: links Highway too when weft was built with it).
#include <weft/clock.h>
#include <weft/id.h>
#include <weft/lock_table.h>
#include <weft/scan.h>

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
  const std::uint64_t tags[] = {7, 9, 7, 7, 1};
  std::uint32_t found[weft::scan::output_capacity(5)];
  const std::size_t count = weft::scan::filter_equal(tags, 5, 7, found);
  std::printf("scan (%s): %zu records of thread 7\n", weft::scan::target(), count);
  const bool scanned = count == 3 && found[0] == 0 && found[1] == 2 && found[2] == 3;
  std::printf("%s\n", ok && scanned ? "consumer OK" : "consumer FAILED");
  return ok && scanned ? 0 : 1;
}
