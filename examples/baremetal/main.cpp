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

// What the program found, for a debugger to read (0 = every step worked).
volatile int g_result = -1;

int finish(int result) {
  g_result = result;
  return result;
}

int main() {
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
  return finish(0);
}
