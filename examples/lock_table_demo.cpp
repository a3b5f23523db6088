// A slide-editor backend in miniature (scenario S2): worker threads send
// edits (exclusive), reads (shared) and background verifications (shared,
// cancellable) to a handful of sessions at once, on the real steady clock.
// Some workers "crash" while holding a session; their leases expire and the
// next request takes the session over with a higher fencing token.
//
// The program checks what it claims while it runs: an edit is never inside a
// session together with anyone else, fencing tokens only grow per session,
// and every session ends free. It prints what happened and exits non-zero if
// a check failed.
//
//   usage: lock_table_demo [threads] [requests_per_thread]
#include <weft/clock.h>
#include <weft/id.h>
#include <weft/lock_table.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int sessions = 6;
constexpr std::uint64_t edit_lease_ns = 2'000'000'000; // 2 s: never ends while a live holder works
constexpr std::uint64_t crash_lease_ns = 2'000'000;     // a crashed holder's lease: 2 ms
constexpr std::uint64_t exclusive_weight = 1u << 20;

struct Outcomes {
  std::atomic<std::uint64_t> edits{0}, reads{0}, verifications{0}, busy{0}, cancelled{0},
      crashed{0}, takeovers_seen{0}, violations{0};
  std::array<std::atomic<std::uint64_t>, sessions> occupancy{};
  std::array<std::atomic<weft::Token>, sessions> last_edit_token{};
};

void violation(Outcomes& out, const char* what, int session) {
  if (out.violations.fetch_add(1) < 5) std::printf("  VIOLATION: %s (session %d)\n", what, session);
}

void worker(weft::LockTable& table, const std::vector<weft::Id>& keys, Outcomes& out, int id,
            int requests) {
  std::mt19937 random(static_cast<unsigned>(id) * 2654435761u);
  for (int n = 0; n < requests; n++) {
    const int s = static_cast<int>(random() % sessions);
    const weft::Id& key = keys[static_cast<std::size_t>(s)];
    const unsigned kind = random() % 100;
    const weft::OwnerId owner = static_cast<weft::OwnerId>(id) * 1'000'000 + static_cast<weft::OwnerId>(n) + 1;
    if (kind < 50) {  // an edit
      const bool crash = kind == 0 && random() % 10 == 0;  // 0.1% of requests
      const auto r = table.try_acquire(key, owner, weft::LockMode::exclusive,
                                       crash ? crash_lease_ns : edit_lease_ns);
      if (r.status == weft::LockStatus::busy) {
        out.busy++;
        // HTTP 409 for an edit: ask the background verification to stop.
        if (r.holder_mode == weft::LockMode::shared) (void)table.request_cancel(key);
        continue;
      }
      if (r.status != weft::LockStatus::acquired) continue;
      if (crash) {  // the worker dies holding the lock; its lease will end
        out.crashed++;
        continue;
      }
      const weft::Token before = out.last_edit_token[static_cast<std::size_t>(s)].exchange(r.token);
      if (before >= r.token) violation(out, "fencing token went backwards", s);
      if (out.occupancy[static_cast<std::size_t>(s)].fetch_add(exclusive_weight) != 0) {
        violation(out, "edit not alone in its session", s);
      }
      out.edits++;
      out.occupancy[static_cast<std::size_t>(s)].fetch_sub(exclusive_weight);
      if (table.release(key, r.token).status != weft::LockStatus::released) {
        violation(out, "edit could not release", s);
      }
    } else {  // a read, or a background verification that polls for cancel
      const bool verification = kind >= 90;
      const auto r = table.try_acquire(key, owner, weft::LockMode::shared, edit_lease_ns);
      if (r.status == weft::LockStatus::busy) { out.busy++; continue; }
      if (r.status != weft::LockStatus::acquired) continue;
      if (out.occupancy[static_cast<std::size_t>(s)].fetch_add(1) >= exclusive_weight) {
        violation(out, "reader beside an edit", s);
      }
      bool stopped = false;
      for (int step = 0; verification && step < 50; step++) {
        if (table.poll_cancel(key, r.token).requested) { stopped = true; break; }
        std::this_thread::yield();
      }
      out.occupancy[static_cast<std::size_t>(s)].fetch_sub(1);
      (void)table.release(key, r.token);
      if (stopped) out.cancelled++;
      else if (verification) out.verifications++;
      else out.reads++;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 4;
  const int requests = argc > 2 ? std::atoi(argv[2]) : 50'000;
  if (threads < 1 || threads > 256 || requests < 1) {
    std::fprintf(stderr, "usage: %s [threads 1-256] [requests_per_thread >= 1]\n", argv[0]);
    return 2;
  }
  weft::LockTable table;
  weft::LockTable::Config config;
  config.capacity = 64;
  if (const auto status = table.create(config, weft::steady_clock()); status != weft::LockStatus::ok) {
    std::fprintf(stderr, "cannot create the table: %s\n", weft::to_string(status));
    return 1;
  }
  std::vector<weft::Id> keys;
  for (int s = 0; s < sessions; s++) keys.push_back(weft::id_from_string("deck-" + std::to_string(s)));

  std::printf("weft LockTable demo: %d threads x %d requests on %d sessions (capacity %u)\n",
              threads, requests, sessions, table.capacity());
  Outcomes out;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++) {
    pool.emplace_back([&, t] { worker(table, keys, out, t, requests); });
  }
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Crashed holders' leases end; one more round of edits must get every session.
  std::this_thread::sleep_for(std::chrono::nanoseconds(crash_lease_ns * 2));
  int free_at_end = 0;
  for (int s = 0; s < sessions; s++) {
    const auto r = table.try_acquire(keys[static_cast<std::size_t>(s)], 1, weft::LockMode::exclusive, edit_lease_ns);
    if (r.status == weft::LockStatus::acquired &&
        table.release(keys[static_cast<std::size_t>(s)], r.token).status == weft::LockStatus::released) {
      free_at_end++;
    } else {
      violation(out, "session not free after the run", s);
    }
  }
  const weft::LockStats stats = table.stats();
  const std::uint64_t total = static_cast<std::uint64_t>(threads) * static_cast<std::uint64_t>(requests);
  std::printf("  %llu requests in %.3f s (%.0f per second)\n", (unsigned long long)total, seconds,
              static_cast<double>(total) / seconds);
  std::printf("  edits %llu, reads %llu, verifications %llu (cancelled by an edit: %llu)\n",
              (unsigned long long)out.edits.load(), (unsigned long long)out.reads.load(),
              (unsigned long long)out.verifications.load(), (unsigned long long)out.cancelled.load());
  std::printf("  refused with busy (HTTP 409): %llu; crashed holders: %llu, taken over on expiry: %llu\n",
              (unsigned long long)out.busy.load(), (unsigned long long)out.crashed.load(),
              (unsigned long long)stats.expiries);
  std::printf("  table counters: acquisitions %llu, releases %llu, CAS retries %llu, claim back-outs %llu\n",
              (unsigned long long)stats.acquisitions, (unsigned long long)stats.releases,
              (unsigned long long)stats.cas_retries, (unsigned long long)stats.backouts);
  std::printf("  sessions free at the end: %d of %d\n", free_at_end, sessions);
  if (out.violations.load() != 0) {
    std::printf("FAILED: %llu violations\n", (unsigned long long)out.violations.load());
    return 1;
  }
  std::printf("OK: edits were alone in their sessions, fencing tokens only grew, nothing stuck\n");
  return 0;
}
