// Test fixture for the weft tool's CTest checks: writes a small TurnLog file
// (three conversation threads, committed, aborted and open exchanges, a
// streamed turn), then optionally damages it the way a disk or a bad copy
// would:
//
//   weft_make_test_log FILE [clean|flip-payload|flip-magic|version|word-size|truncate|tiny|zero-segment|lock-table]
//
// Exit 0 when the file was written (and damaged as asked).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "weft/log_inspect.h"
#include "weft/mapping.h"

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "weft_make_test_log: %s\n", what);
  return 1;
}

bool say(weft::TurnLog& log, const weft::ExchangeRef& x, weft::Role role, const std::string& text) {
  return log.append(x, role, text.data(), text.size()) == weft::LogStatus::ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return fail("usage: weft_make_test_log FILE [damage]");
  const std::string path = argv[1];
  const std::string damage = argc == 3 ? argv[2] : "clean";
  std::filesystem::remove(path);
  if (damage == "lock-table") {
    weft::LockTable::Config config;
    config.capacity = 64;
    weft::MapResult m = weft::create_file_mapping(path.c_str(), weft::LockTable::region_bytes(config.capacity));
    weft::LockTable table;
    if (m.status != weft::MapStatus::ok || weft::format_table(m.mapping, config, weft::steady_clock(), &table) != weft::MapStatus::ok) {
      return fail("cannot create the lock table");
    }
    return 0;
  }
  weft::TurnLog::Config config;
  config.segment_bytes = 4096;
  config.segment_count = 8;
  config.thread_capacity = 16;
  config.exchanges_per_thread = 8;
  config.reader_slots = 8;
  weft::MapResult m = weft::create_file_mapping(path.c_str(), weft::TurnLog::region_bytes(config));
  weft::TurnLog log;
  if (m.status != weft::MapStatus::ok || weft::format_log(m.mapping, config, weft::steady_clock(), &log) != weft::MapStatus::ok) {
    return fail("cannot create the log");
  }
  const char* threads[] = {"chat-7", "chat-8", "agent-1"};
  int n = 0;
  for (int round = 0; round < 12; round++) {
    for (const char* t : threads) {
      const weft::BeginResult b = log.begin_exchange(weft::id_from_string(t),
                                                     weft::id_from_string("req-" + std::to_string(n++)),
                                                     weft::BeginPolicy::queue);
      if (b.status != weft::LogStatus::ok) return fail("begin");
      if (!say(log, b.exchange, weft::Role::user, std::string("question ") + std::to_string(round) + " on " + t)) {
        return fail("append");
      }
      weft::TurnWriter stream;
      if (log.begin_turn(b.exchange, weft::Role::assistant, 200, &stream) != weft::LogStatus::ok) return fail("stream");
      (void)stream.write("answer, ", 8);
      (void)stream.write("streamed \"in\" two\nparts", 23);
      if (stream.finish() != weft::LogStatus::ok) return fail("finish");
      const bool drop = round % 5 == 4;
      if ((drop ? log.abort(b.exchange) : log.commit(b.exchange)) != weft::LogStatus::ok) return fail("commit");
    }
  }
  // One exchange left open (its writer "died"): not visible, not a violation.
  const weft::BeginResult open = log.begin_exchange(weft::id_from_string("chat-7"), weft::id_from_string("open"),
                                                    weft::BeginPolicy::queue);
  if (open.status != weft::LogStatus::ok || !say(log, open.exchange, weft::Role::user, "unanswered")) return fail("open");
  if (m.mapping.sync() != weft::MapStatus::ok) return fail("sync");

  auto* base = static_cast<unsigned char*>(m.mapping.data());
  if (damage == "clean") return 0;
  if (damage == "flip-payload") {  // one bit of a committed turn's payload
    weft::TurnView views[64];
    weft::Snapshot snap;
    if (log.snapshot(weft::id_from_string("chat-8"), views, 64, &snap) != weft::LogStatus::ok || snap.size() < 3) {
      return fail("snapshot");
    }
    const_cast<unsigned char*>(views[2].payload)[1] ^= 0x04;
    return 0;
  }
  if (damage == "flip-magic") {
    base[0] ^= 0x01;
    return 0;
  }
  if (damage == "version") {
    const std::uint64_t version = 99;
    std::memcpy(base + 8, &version, sizeof version);
    return 0;
  }
  if (damage == "word-size") {  // as if written by a build with the other word size
    const std::uint64_t bits = weft::word_bits == 64 ? 32 : 64;
    std::memcpy(base + 16, &bits, sizeof bits);
    return 0;
  }
  if (damage == "zero-segment") {  // the first segment (sequence 1, slot 1 of the ring)
    weft::LogLayout layout;
    if (weft::inspect_log(base, m.mapping.size(), &layout) != weft::LogStatus::ok) return fail("inspect_log");
    const std::size_t segments_at = layout.segments_offset;
    std::memset(base + segments_at + 1 * config.segment_bytes, 0, config.segment_bytes);
    return 0;
  }
  if (damage == "truncate" || damage == "tiny") {
    const auto size = damage == "tiny" ? std::uintmax_t{10} : std::filesystem::file_size(path) / 2 / 64 * 64;
    m.mapping.unmap();
    std::filesystem::resize_file(path, size);
    return 0;
  }
  return fail("unknown damage");
}
