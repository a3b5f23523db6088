// weft on a microcontroller: a LockTable and a TurnLog in static buffers,
// with 32-bit shared words (Cortex-M4 has no 64-bit atomics) and a clock the
// firmware provides. Built by the cortex-m4 preset (arm-none-eabi-g++,
// newlib-nano, no exceptions, no RTTI) as a compile and link check:
//
//   cmake --preset cortex-m4 && cmake --build --preset cortex-m4
//
// Nothing here allocates: both structures are formatted in place with init().
#include <cstddef>
#include <cstdint>

#include "weft/lock_table.h"
#include "weft/turn_log.h"

static_assert(weft::word_bits == 32, "the Cortex-M4 configuration uses 32-bit words");

namespace {

// A firmware's monotonic clock: here a counter a timer interrupt would
// advance (1 ms ticks, read as nanoseconds).
volatile std::uint32_t g_milliseconds = 0;

std::uint64_t read_clock(void*) noexcept {
  return static_cast<std::uint64_t>(g_milliseconds) * 1'000'000u;
}

constexpr std::uint32_t sessions = 8;
alignas(weft::LockTable::region_alignment) unsigned char g_table_region[weft::LockTable::region_bytes(sessions)];

weft::TurnLog::Config log_config() {
  weft::TurnLog::Config c;
  c.segment_bytes = 1024;
  c.segment_count = 4;
  c.thread_capacity = 4;
  c.exchanges_per_thread = 2;
  c.reader_slots = 2;
  c.exchange_timeout_ns = 5'000'000'000ull;  // 5 s
  c.retention = weft::TurnLog::Retention::recycle_oldest;
  return c;
}
alignas(weft::TurnLog::region_alignment) unsigned char g_log_region[16 * 1024];

weft::LockTable g_table;
weft::TurnLog g_log;

}  // namespace

// What the program found, for a debugger to read (0 = every step worked),
// and what it did.
volatile int g_result = -1;
volatile std::uint32_t g_commits = 0;
volatile std::uint32_t g_recycled = 0;
volatile std::uint32_t g_last_token = 0;

int finish(int result) {
  g_result = result;
  return result;
}

// The firmware's work; main() runs it (and so does the start-up of the QEMU
// board image, startup_mps2.cpp).
int run_firmware() {
  const weft::Clock clock{&read_clock, nullptr};
  weft::LockTable::Config table_config;
  table_config.capacity = sessions;
  if (g_table.init(g_table_region, sizeof g_table_region, table_config, clock) != weft::LockStatus::ok) return finish(1);
  if (weft::TurnLog::region_bytes(log_config()) > sizeof g_log_region) return finish(2);
  if (g_log.init(g_log_region, sizeof g_log_region, log_config(), clock) != weft::LogStatus::ok) return finish(3);

  // One request on a session: lease it, log its exchange, release it.
  const weft::Id session = weft::id_from_string("session-1");
  const auto lease = g_table.try_acquire(session, /*owner=*/7, weft::LockMode::exclusive, 1'000'000'000ull);
  if (lease.status != weft::LockStatus::acquired) return finish(4);
  const auto begun = g_log.begin_exchange(session, weft::id_from_string("request-1"), weft::BeginPolicy::queue,
                                          lease.token);
  if (begun.status != weft::LogStatus::ok) return finish(5);
  static const char question[] = "status?";
  static const char answer[] = "ok";
  if (g_log.append(begun.exchange, weft::Role::user, question, sizeof question - 1) != weft::LogStatus::ok) return finish(6);
  g_milliseconds = g_milliseconds + 3;
  if (g_log.append(begun.exchange, weft::Role::assistant, answer, sizeof answer - 1) != weft::LogStatus::ok) return finish(7);
  if (g_log.commit(begun.exchange) != weft::LogStatus::ok) return finish(8);
  if (g_table.release(session, lease.token).status != weft::LockStatus::released) return finish(9);

  // Read the thread back.
  weft::TurnView turns[4];
  weft::Snapshot snapshot;
  if (g_log.snapshot(session, turns, 4, &snapshot) != weft::LogStatus::ok || snapshot.size() != 2) return finish(10);
  snapshot.release();  // a live snapshot pins what it shows: the ring could not turn over

  // Three hundred more requests: fencing tokens keep growing and the ring of
  // four 1 KiB segments turns over many times (recycle_oldest), with every
  // shared word a 32-bit atomic.
  weft::Token last_token = lease.token;
  for (std::uint64_t i = 1; i <= 300; i++) {
    const auto next = g_table.try_acquire(session, 7, weft::LockMode::exclusive, 1'000'000'000ull);
    if (next.status != weft::LockStatus::acquired || next.token <= last_token) return finish(11);
    last_token = next.token;
    const auto exchange = g_log.begin_exchange(session, weft::Id{2, i}, weft::BeginPolicy::queue, next.token);
    if (exchange.status != weft::LogStatus::ok) return finish(12);
    if (g_log.append(exchange.exchange, weft::Role::user, question, sizeof question - 1) != weft::LogStatus::ok ||
        g_log.append(exchange.exchange, weft::Role::assistant, answer, sizeof answer - 1) != weft::LogStatus::ok) {
      return finish(13);
    }
    if (g_log.commit(exchange.exchange) != weft::LogStatus::ok) return finish(14);
    if (g_table.release(session, next.token).status != weft::LockStatus::released) return finish(15);
    g_milliseconds = g_milliseconds + 1;
  }
  const weft::LogStats stats = g_log.stats();
  g_commits = static_cast<std::uint32_t>(stats.commits);
  g_recycled = static_cast<std::uint32_t>(stats.segments_recycled);
  g_last_token = static_cast<std::uint32_t>(last_token);
  if (stats.commits != 301 || stats.segments_recycled == 0) return finish(16);
  return finish(0);
}

int main() { return run_firmware(); }
