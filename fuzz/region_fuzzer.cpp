// region_fuzzer: arbitrary bytes presented as a region. weft must either
// refuse the region with an error code or read from it only well-formed
// records inside its bounds; it must never read outside the region, crash or
// hang (every loop is bounded).
//
//   byte 0     bit 0: the bytes are a LockTable region (else a TurnLog region)
//   the rest   the region image (copied to a 64-byte aligned buffer of exactly
//              that size, so AddressSanitizer sees any read past its end)
//
// TurnLog: attach, stats, inspection and recovery (weft/log_inspect.h,
// weft/recovery.h), for_each_committed (every view checked and its
// payload read), then a snapshot of each thread it met and of a made-up one.
// LockTable: attach, stats, and inspect of the keys its slots name and of a
// made-up one. Seeds (corpus/region_fuzzer) are real regions written by
// region_seeds.cpp (`region_seeds DIR` in the plain build).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "weft/clock.h"
#include "weft/lock_table.h"
#include "weft/log_inspect.h"
#include "weft/recovery.h"
#include "weft/turn_log.h"

namespace {

// The image, copied to exactly `size` aligned bytes.
struct Image {
  unsigned char* bytes = nullptr;
  std::size_t size = 0;
  Image(const std::uint8_t* data, std::size_t n) : size(n) {
    if (n == 0) return;
    bytes = static_cast<unsigned char*>(::operator new(n, std::align_val_t{64}));
    std::memcpy(bytes, data, n);
  }
  ~Image() {
    if (bytes != nullptr) ::operator delete(bytes, std::align_val_t{64});
  }
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;
  bool holds(const void* p, std::size_t n) const {
    const auto* c = static_cast<const unsigned char*>(p);
    return c >= bytes && c <= bytes + size && n <= static_cast<std::size_t>(bytes + size - c);
  }
};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "region_fuzzer: %s\n", what);
  std::abort();
}

struct Visit {
  const Image* image = nullptr;
  std::uint64_t sum = 0;
  std::size_t count = 0;
  weft::Id threads[4] = {};
  std::size_t thread_count = 0;
};

void check_view(const Image& image, const weft::TurnView& v, std::uint64_t& sum) {
  const auto role = static_cast<unsigned>(v.role);
  if (role < 1 || role > 4) fail("a visible turn has no valid role");
  if (v.index >= weft::TurnLog::turns_per_exchange_max) fail("a visible turn's index is out of range");
  if (v.payload_bytes != 0 && !image.holds(v.payload, v.payload_bytes)) fail("a visible payload lies outside the region");
  for (std::uint32_t i = 0; i < v.payload_bytes; i++) sum += v.payload[i];  // read every byte (ASan checks)
}

bool visit(void* context, const weft::TurnView& v) {
  auto* s = static_cast<Visit*>(context);
  check_view(*s->image, v, s->sum);
  s->count++;
  bool known = false;
  for (std::size_t i = 0; i < s->thread_count; i++) known = known || s->threads[i] == v.thread;
  if (!known && s->thread_count < 4) s->threads[s->thread_count++] = v.thread;
  return s->count < 100'000;
}

void fuzz_turn_log(const Image& image) {
  weft::ManualClock manual(5'000'000'000ULL);
  weft::TurnLog log;
  const weft::LogStatus st = log.attach(image.bytes, image.size, manual.clock());
  if (st != weft::LogStatus::ok) {
    if (st != weft::LogStatus::bad_region && st != weft::LogStatus::region_too_small &&
        st != weft::LogStatus::word_size_mismatch) {
      fail("attach: unexpected status");
    }
    return;
  }
  (void)log.stats();
  Visit v;
  v.image = &image;
  (void)log.for_each_committed(&visit, &v);
  v.threads[v.thread_count < 4 ? v.thread_count++ : 3] = weft::Id{0xF022, 1};
  static weft::TurnView views[256];
  for (std::size_t t = 0; t < v.thread_count; t++) {
    weft::Snapshot snap;
    if (log.snapshot(v.threads[t], views, 256, &snap) != weft::LogStatus::ok) continue;
    if (snap.size() > 256) fail("a snapshot claims more turns than the buffer holds");
    for (std::size_t i = 0; i < snap.size(); i++) {
      if (!(views[i].thread == v.threads[t])) fail("a snapshot shows another thread's turn");
      check_view(image, views[i], v.sum);
    }
  }
  // Inspection (the weft tool) reads every segment and thread slot of the
  // validated geometry; recovery (weft recover) then rewrites what it must,
  // and what readers show afterwards is still well formed.
  weft::LogLayout layout;
  if (weft::inspect_log(image.bytes, image.size, &layout) != weft::LogStatus::ok) fail("inspect_log after attach");
  for (std::uint32_t i = 0; i < layout.config.segment_count; i++) {
    weft::SegmentReport r;
    if (weft::inspect_segment(image.bytes, image.size, i, &r) != weft::LogStatus::ok) fail("inspect_segment");
    if (r.records > layout.records_per_segment) fail("inspect_segment: more records than a segment has");
  }
  for (std::uint32_t i = 0; i < layout.config.thread_capacity; i++) {
    weft::ThreadReport t;
    if (weft::inspect_thread(image.bytes, image.size, i, &t) != weft::LogStatus::ok) fail("inspect_thread");
  }
  weft::RecoveryReport report;
  if (weft::recover_log(image.bytes, image.size, &report) != weft::LogStatus::ok) fail("recover_log after attach");
  for (std::size_t t = 0; t < v.thread_count; t++) {
    weft::Snapshot snap;
    if (log.snapshot(v.threads[t], views, 256, &snap) != weft::LogStatus::ok) continue;
    for (std::size_t i = 0; i < snap.size(); i++) check_view(image, views[i], v.sum);
  }
  if (v.sum == 1) std::printf(" ");  // keep the reads
}

// What inspect() shows of a forged slot: a status, and when held a mode of
// LockMode's. (A forged held slot with a count of 0 is shown as it is: the
// LockTable validates slots on open only with recovery, which is not built.)
void check_info(const weft::LockInfo& info) {
  if (info.status != weft::LockStatus::ok && info.status != weft::LockStatus::contended) fail("inspect: unexpected status");
  if (!info.held) return;
  if (info.mode != weft::LockMode::exclusive && info.mode != weft::LockMode::shared) fail("inspect: a held lease with no valid mode");
  if (info.count > weft::LockTable::holders_max) fail("inspect: a held lease with a count out of range");
}

void fuzz_lock_table(const Image& image) {
  weft::ManualClock manual(5'000'000'000ULL);
  weft::LockTable table;
  const weft::LockStatus st = table.attach(image.bytes, image.size, manual.clock());
  if (st != weft::LockStatus::ok) {
    if (st != weft::LockStatus::bad_region && st != weft::LockStatus::region_too_small &&
        st != weft::LockStatus::word_size_mismatch) {
      fail("attach: unexpected status");
    }
    return;
  }
  (void)table.stats();
  // The keys the first eight slots name (a slot is one cache line whose
  // words 4 and 5 are the key), and one nobody wrote.
  for (std::size_t at = weft::LockTable::header_bytes; at + 48 <= image.size && at < weft::LockTable::header_bytes + 8 * 64; at += 64) {
    weft::Id key{};
    std::memcpy(&key.hi, image.bytes + at + 32, 8);
    std::memcpy(&key.lo, image.bytes + at + 40, 8);
    check_info(table.inspect(key));
  }
  check_info(table.inspect(weft::Id{0xF022, 1}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool lock_table = (data[0] & 1) != 0;
  const Image image(data + 1, size - 1);
  if (image.size == 0) return 0;
  if (lock_table) fuzz_lock_table(image);
  else fuzz_turn_log(image);
  return 0;
}
