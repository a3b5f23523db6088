// One side of the word-size test: compiled twice, once per word size
// (WEFT_WORD_BITS 64 and 32, linked against the core built with that size),
// each copy naming its functions after its size. The two configurations live
// in different inline namespaces, so both fit one test binary.
#include <cstddef>
#include <cstring>

#include "weft/lock_table.h"
#include "weft/turn_log.h"
#include "word_size_side.h"

#define WEFT_SIDE_CAT2(a, b) a##b
#define WEFT_SIDE_CAT(a, b) WEFT_SIDE_CAT2(a, b)
#define WEFT_SIDE(name) WEFT_SIDE_CAT(name, WEFT_WORD_BITS)

namespace weft_word_size {
namespace {

weft::Clock fixed_clock() {
  return weft::Clock{[](void*) -> std::uint64_t { return 1'000'000'000ULL; }, nullptr};
}

weft::TurnLog::Config log_config() {
  weft::TurnLog::Config c;
  c.segment_bytes = 4096;
  c.segment_count = 4;
  c.thread_capacity = 8;
  c.exchanges_per_thread = 4;
  c.reader_slots = 4;
  return c;
}

}  // namespace

unsigned WEFT_SIDE(side_word_bits_)() { return weft::word_bits; }

std::size_t WEFT_SIDE(log_bytes_)() { return weft::TurnLog::region_bytes(log_config()); }

std::size_t WEFT_SIDE(table_bytes_)() { return weft::LockTable::region_bytes(16); }

const char* WEFT_SIDE(format_log_)(void* region, std::size_t bytes) {
  weft::TurnLog log;
  const weft::LogStatus st = log.init(region, bytes, log_config(), fixed_clock());
  if (st != weft::LogStatus::ok) return weft::to_string(st);
  const auto begun = log.begin_exchange(weft::Id{1, 2}, weft::Id{3, 4}, weft::BeginPolicy::queue);
  if (begun.status != weft::LogStatus::ok) return weft::to_string(begun.status);
  const char text[] = "hello";
  if (const auto a = log.append(begun.exchange, weft::Role::user, text, sizeof text); a != weft::LogStatus::ok) {
    return weft::to_string(a);
  }
  return weft::to_string(log.commit(begun.exchange));
}

const char* WEFT_SIDE(attach_log_)(void* region, std::size_t bytes) {
  weft::TurnLog log;
  return weft::to_string(log.attach(region, bytes, fixed_clock()));
}

const char* WEFT_SIDE(format_table_)(void* region, std::size_t bytes) {
  weft::LockTable table;
  weft::LockTable::Config c;
  c.capacity = 16;
  const weft::LockStatus st = table.init(region, bytes, c, fixed_clock());
  if (st != weft::LockStatus::ok) return weft::to_string(st);
  return weft::to_string(table.try_acquire(weft::Id{5, 6}, 7, weft::LockMode::exclusive, 1000).status);
}

const char* WEFT_SIDE(attach_table_)(void* region, std::size_t bytes) {
  weft::LockTable table;
  return weft::to_string(table.attach(region, bytes, fixed_clock()));
}

}  // namespace weft_word_size
