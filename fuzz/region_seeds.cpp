// Writes the region_fuzzer's seed corpus: real regions in the states a
// service leaves them in (committed, aborted, open and streaming exchanges, a
// recycled ring; held, shared and expired locks), each prefixed with the
// fuzzer's selector byte.
//
//   region_seeds DIR
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "weft/clock.h"
#include "weft/lock_table.h"
#include "weft/turn_log.h"

namespace {

bool write_seed(const std::string& path, unsigned char selector, const void* region, std::size_t bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(&selector, 1, 1, f) == 1 && std::fwrite(region, 1, bytes, f) == bytes;
  return std::fclose(f) == 0 && ok;
}

alignas(64) unsigned char turn_region[64 * 1024];
alignas(64) unsigned char lock_region[4 * 1024];
weft::TurnWriter streaming;  // alive while the seed is written: a busy record

// A log of `exchanges` exchanges over two threads: most commit, one aborts,
// the last stays open with a streaming turn half written.
std::size_t fill_turn_log(weft::TurnLog::Retention retention, int exchanges) {
  weft::TurnLog::Config config;
  config.segment_bytes = 512;
  config.segment_count = 4;
  config.thread_capacity = 4;
  config.exchanges_per_thread = 2;
  config.reader_slots = 2;
  config.retention = retention;
  config.process_slots = 3;  // a process table and writer pins per process
  const std::size_t bytes = weft::TurnLog::region_bytes(config);
  std::memset(turn_region, 0, sizeof turn_region);
  static weft::ManualClock manual(1'000'000'000ULL);
  static weft::TurnLog log;  // outlives `streaming`, which points to it until the seed is written
  if (bytes > sizeof turn_region || log.init(turn_region, bytes, config, manual.clock()) != weft::LogStatus::ok) return 0;
  for (int i = 0; i < exchanges; i++) {
    const weft::Id thread{0x7E, static_cast<std::uint64_t>(1 + i % 2)};
    const weft::BeginResult b = log.begin_exchange(thread, weft::Id{0x5E, static_cast<std::uint64_t>(i + 1)},
                                                   weft::BeginPolicy::queue);
    if (b.status != weft::LogStatus::ok) continue;
    const std::string q = "question " + std::to_string(i);
    const std::string a = "answer " + std::to_string(i);
    (void)log.append(b.exchange, weft::Role::user, q.data(), q.size());
    if (i == exchanges - 1) {
      if (log.begin_turn(b.exchange, weft::Role::assistant, 32, &streaming) == weft::LogStatus::ok) {
        (void)streaming.write("half", 4);
      }
      continue;
    }
    (void)log.append(b.exchange, weft::Role::assistant, a.data(), a.size());
    if (i % 5 == 3) (void)log.abort(b.exchange);
    else (void)log.commit(b.exchange);
  }
  return bytes;
}

std::size_t fill_lock_table() {
  weft::LockTable::Config config;
  config.capacity = 8;
  config.probe_window = 4;
  config.process_slots = 3;  // a process table after the slots
  const std::size_t bytes = weft::LockTable::region_bytes(config);
  std::memset(lock_region, 0, sizeof lock_region);
  static weft::ManualClock manual(1'000'000'000ULL);
  weft::LockTable table;
  if (table.init(lock_region, bytes, config, manual.clock()) != weft::LockStatus::ok) return 0;
  (void)table.try_acquire(weft::Id{0x5E55, 1}, 11, weft::LockMode::exclusive, 1'000'000'000ULL);
  (void)table.try_acquire(weft::Id{0x5E55, 2}, 12, weft::LockMode::shared, 1'000'000'000ULL);
  (void)table.try_acquire(weft::Id{0x5E55, 2}, 13, weft::LockMode::shared, 1'000'000'000ULL);
  (void)table.try_acquire(weft::Id{0x5E55, 3}, 14, weft::LockMode::exclusive, 1000);  // expires
  (void)table.request_cancel(weft::Id{0x5E55, 1});
  manual.advance(5000);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: region_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  int written = 0;
  struct {
    const char* name;
    weft::TurnLog::Retention retention;
    int exchanges;
  } logs[] = {{"turn_log_few", weft::TurnLog::Retention::keep_all, 4},
              {"turn_log_recycled", weft::TurnLog::Retention::recycle_oldest, 11}};
  for (const auto& l : logs) {
    const std::size_t bytes = fill_turn_log(l.retention, l.exchanges);
    if (bytes != 0 && write_seed(dir + "/" + l.name, 0, turn_region, bytes)) written++;
    streaming = weft::TurnWriter{};
  }
  const std::size_t lock_bytes = fill_lock_table();
  if (lock_bytes != 0 && write_seed(dir + "/lock_table_held", 1, lock_region, lock_bytes)) written++;
  std::printf("region_seeds: %d seeds written to %s\n", written, dir.c_str());
  return written == 3 ? 0 : 1;
}
