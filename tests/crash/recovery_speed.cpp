// Measures how fast a reopened TurnLog file can be scanned, the work a
// recovery on open does (every record's state, form and checksum), on a file
// of --mib MiB (1024 by default) filled with committed exchanges:
//
//   weft_recovery_speed [--mib N] [--dir DIR] [--keep]
//
// Prints the time and MB/s of: filling the file (appends), attach, the
// checksum scan of every segment (inspect_segment), the export pass
// (for_each_committed) and a snapshot of every thread. The page cache is
// warm (the file was just written); a cold read adds the disk's speed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "weft/log_inspect.h"
#include "weft/mapping.h"
#include "weft/recovery.h"

namespace {

using Steady = std::chrono::steady_clock;

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t mib = 1024;
  std::string dir = std::filesystem::temp_directory_path().string();
  bool keep = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--mib" && i + 1 < argc) mib = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--keep") keep = true;
    else return std::fprintf(stderr, "usage: %s [--mib N] [--dir DIR] [--keep]\n", argv[0]), 2;
  }
  weft::TurnLog::Config config;
  config.segment_bytes = 64 * 1024;
  config.segment_count = static_cast<std::uint32_t>(mib * 1024 * 1024 / config.segment_bytes);
  config.thread_capacity = 1024;
  config.exchanges_per_thread = 16;
  const std::string path = dir + "/weft-recovery-speed.weftlog";
  std::filesystem::remove(path);
  const std::size_t bytes = weft::TurnLog::region_bytes(config);
  const double mb = static_cast<double>(bytes) / 1e6;

  auto start = Steady::now();
  weft::MapResult m = weft::create_file_mapping(path.c_str(), bytes);
  weft::TurnLog log;
  if (m.status != weft::MapStatus::ok || weft::format_log(m.mapping, config, weft::steady_clock(), &log) != weft::MapStatus::ok) {
    return std::fprintf(stderr, "cannot create %s: %s\n", path.c_str(), weft::to_string(m.status)), 2;
  }
  const double format_s = seconds_since(start);
  // Fill: 512 threads, exchanges of a 120-byte user turn and a 200-byte answer.
  start = Steady::now();
  std::string question(120, 'q'), answer(200, 'a');
  std::uint64_t exchanges = 0;
  for (std::uint64_t n = 0;; n++) {
    const weft::Id thread = weft::id_from_string("thread-" + std::to_string(n % 512));
    const weft::BeginResult b = log.begin_exchange(thread, weft::id_from_string("r" + std::to_string(n)), weft::BeginPolicy::queue);
    if (b.status != weft::LogStatus::ok) break;
    if (log.append(b.exchange, weft::Role::user, question.data(), question.size()) != weft::LogStatus::ok ||
        log.append(b.exchange, weft::Role::assistant, answer.data(), answer.size()) != weft::LogStatus::ok) {
      (void)log.abort(b.exchange);
      break;  // log_full: the file is full
    }
    if (log.commit(b.exchange) != weft::LogStatus::ok) break;
    exchanges++;
  }
  const double fill_s = seconds_since(start);
  m.mapping.unmap();

  // Reopen, as a recovery would.
  start = Steady::now();
  weft::MapResult again = weft::open_file_mapping(path.c_str());
  weft::TurnLog reopened;
  if (again.status != weft::MapStatus::ok || weft::attach_log(again.mapping, weft::steady_clock(), &reopened) != weft::MapStatus::ok) {
    return std::fprintf(stderr, "cannot reopen\n"), 2;
  }
  const double attach_s = seconds_since(start);
  start = Steady::now();
  std::uint64_t committed = 0, failures = 0;
  for (std::uint32_t i = 0; i < config.segment_count; i++) {
    weft::SegmentReport r;
    if (weft::inspect_segment(again.mapping.data(), again.mapping.size(), i, &r) != weft::LogStatus::ok) return 2;
    committed += r.committed;
    failures += r.checksum_failures + r.malformed;
  }
  const double scan_s = seconds_since(start);
  start = Steady::now();
  std::uint64_t visited = 0;
  (void)reopened.for_each_committed([](void* c, const weft::TurnView&) { return ++*static_cast<std::uint64_t*>(c), true; },
                                    &visited);
  const double export_s = seconds_since(start);
  // recover_log(): what `weft recover` runs after a crash (every record's
  // state, form and checksum; pins and transitions repaired).
  start = Steady::now();
  weft::RecoveryReport recovered;
  const weft::LogStatus recover_status = weft::recover_log(again.mapping.data(), again.mapping.size(), &recovered);
  const double recover_s = seconds_since(start);
  std::printf("recovery speed: %.0f MB file, %llu exchanges (%llu committed records, %llu damaged)\n", mb,
              static_cast<unsigned long long>(exchanges), static_cast<unsigned long long>(committed),
              static_cast<unsigned long long>(failures));
  std::printf("  format         %7.3f s  %8.0f MB/s\n", format_s, mb / format_s);
  std::printf("  fill (appends) %7.3f s  %8.0f MB/s\n", fill_s, mb / fill_s);
  std::printf("  open + attach  %7.3f s\n", attach_s);
  std::printf("  checksum scan  %7.3f s  %8.0f MB/s  (every record: state, form, checksum)\n", scan_s, mb / scan_s);
  std::printf("  export pass    %7.3f s  %8.0f MB/s  (for_each_committed, %llu turns)\n", export_s, mb / export_s,
              static_cast<unsigned long long>(visited));
  std::printf("  recover_log    %7.3f s  %8.0f MB/s  (%llu records kept, %llu dropped)\n", recover_s, mb / recover_s,
              static_cast<unsigned long long>(recovered.records_kept),
              static_cast<unsigned long long>(recovered.dropped_checksum + recovered.dropped_malformed +
                                              recovered.dropped_torn + recovered.dropped_with_exchange));
  if (!keep) std::filesystem::remove(path);
  return failures == 0 && visited == committed && recover_status == weft::LogStatus::ok &&
                 recovered.records_kept == committed
             ? 0
             : 1;
}
