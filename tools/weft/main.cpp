// weft: looks inside TurnLog files (memory-mapped regions) without changing
// them: `weft inspect FILE`, `weft dump FILE --thread ID [--json]`, `weft
// verify FILE`. The file is mapped copy-on-write, so reading (which pins
// reader slots and may expire stale exchanges in this process's view) never
// writes to it. `weft recover FILE` is the one command that writes (repairs
// after a crash). `weft --help` is the manual.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/log_inspect.h"
#include "weft/mapping.h"
#include "weft/recovery.h"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_violation = 1;
constexpr int exit_unreadable = 2;

const char* const manual_head = R"(NAME
  weft - inspect, dump, verify and recover weft TurnLog files

SYNOPSIS
  weft inspect FILE [--all]
  weft dump FILE --thread ID [--json] [--max-bytes N]
  weft verify FILE [--quiet]
  weft recover FILE
  weft [COMMAND] --help
)";

const char* const manual_tail = R"(DESCRIPTION
  A weft TurnLog can live in a memory-mapped file (weft/mapping.h:
  create_file_mapping + format_log). This tool reads such a file. inspect,
  dump and verify map it copy-on-write: nothing they do reaches the file, and
  they may run while services append to the log (then what they show is not
  one instant). recover is the one command that writes the file, and only
  while nothing else uses it.

  Before anything else the file is checked: its size must be a plausible
  region (at least 64 bytes, a multiple of 64), its first word the TurnLog
  magic, its format version one this tool reads, its header's geometry
  consistent and no larger than the file. Each failure is one clear message
  and exit status 2.

  inspect  The layout (geometry, policies, ring position), the counters,
           every segment in use (sequence, state, records by state, checksum
           failures, writer pins) and every thread (ticket watermarks).
           --all also lists free segments.
  dump     One thread's visible history in (ticket, index) order, as text or
           as JSON lines (--json: one object per turn with thread, ticket,
           index, role, flags, request, position, bytes, payload). ID is 32
           hex digits (a UUID, dashes allowed: the id itself) or any other
           text (hashed to an id with id_from_string, as services do).
  verify   Checks the contracts that a stored log can show: every record a
           reader may see is well formed and its checksum holds (T4); each
           thread's history is in strict (ticket, index) order (T3), shows
           only its own turns (T6), only finished, committed exchanges at or
           below its watermark and above its trim (T4, T8), one request id
           per exchange (T2), the same turns through snapshots and through
           the export path for_each_committed (T1: every committed turn
           exactly once), every segment from the ring's head to its current
           one in place (a zeroed segment is a hole: T1), and a second
           snapshot extends the first (T5).
           Busy records and writer pins are reported, not violations (a
           writer at work, or a process that died there).
  recover  Repairs the file after its users died (the only command that
           writes it; run it only while no process has the log open): keeps
           every committed record whose checksum holds, aborts damaged and
           torn records (busy records of dead writers), clears the pins and
           half-done transitions dead processes left, rebuilds segment fills
           and thread slots that disagree with the records (damage), and
           reports each count.

EXIT STATUS
  0  done (verify: no violation)
  1  verify found a violation (each is printed); recover dropped records
     or rebuilt what damage left;
     dump was given a thread the log does not know
  2  the file cannot be read as a TurnLog (missing, too small, no magic,
     wrong version, damaged header, truncated), or bad usage; recover:
     a process holds the log through open_log()

EXAMPLES
  weft inspect /var/lib/chat/turns.weftlog
  weft dump turns.weftlog --thread chat-7
  weft dump turns.weftlog --thread 123e4567-e89b-12d3-a456-426614174000 --json | jq .payload
  weft verify turns.weftlog || echo "damaged"
  weft recover turns.weftlog && weft verify turns.weftlog
)";

// ---- opening ----------------------------------------------------------------------

std::string hex_id(const weft::Id& id) { return fmt::format("{:016x}{:016x}", id.hi, id.lo); }

// An id from 32 hex digits (dashes allowed), or the hash of the text.
weft::Id parse_id(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return weft::id_from_string(text);
    digits.push_back(c);
  }
  if (digits.size() != 32) return weft::id_from_string(text);
  return weft::Id{std::stoull(digits.substr(0, 16), nullptr, 16), std::stoull(digits.substr(16), nullptr, 16)};
}

struct OpenLog {
  weft::MapResult map;
  weft::TurnLog log;
};

// Maps and attaches `path`; prints why not and returns false.
bool open_log(const std::string& path, OpenLog& out) {
  weft::MapOptions options;
  options.copy_on_write = true;
  out.map = weft::open_file_mapping(path.c_str(), options);
  const auto fail = [&](const std::string& why) {
    fmt::print(stderr, "weft: {}: {}\n", path, why);
    return false;
  };
  struct stat st {};
  const long long size = ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  switch (out.map.status) {
    case weft::MapStatus::ok: break;
    case weft::MapStatus::not_found: return fail("no such file");
    case weft::MapStatus::permission_denied: return fail("permission denied");
    case weft::MapStatus::not_a_file: return fail("not a regular file");
    case weft::MapStatus::too_small:
      return fail(fmt::format("{} bytes: smaller than any weft region header (64 bytes); not a weft log", size));
    case weft::MapStatus::implausible_size:
      return fail(fmt::format("{} bytes: not a multiple of 64, so not a whole weft region (truncated or not weft)", size));
    case weft::MapStatus::too_large: return fail(fmt::format("{} bytes: larger than this tool maps", size));
    default:
      return fail(fmt::format("cannot map: {} ({})", weft::to_string(out.map.status),
                              std::strerror(out.map.system_error)));
  }
  const weft::RegionInfo info = weft::inspect_region(out.map.mapping.data(), out.map.mapping.size());
  switch (weft::attach_log(out.map.mapping, weft::steady_clock(), &out.log)) {
    case weft::MapStatus::ok: return true;
    case weft::MapStatus::not_a_region: return fail("no weft magic in its first 8 bytes: not a weft file");
    case weft::MapStatus::wrong_kind: return fail("a weft LockTable region, not a TurnLog");
    case weft::MapStatus::bad_version:
      return fail(fmt::format("format version {}; this weft reads TurnLog format version {}", info.version,
                              weft::TurnLog::format_version));
    case weft::MapStatus::truncated:
      return fail(fmt::format("truncated: its header describes more bytes than the file's {} bytes", size));
    case weft::MapStatus::word_size_mismatch:
      return fail(fmt::format("written by a weft built with {}-bit words; this tool reads {}-bit words "
                              "(build it with -DWEFT_WORD_BITS={})",
                              weft::word_bits == 64 ? 32 : 64, weft::word_bits, weft::word_bits == 64 ? 32 : 64));
    case weft::MapStatus::bad_geometry:
      return fail("damaged header: its geometry (segment sizes and counts, tables, region size) is inconsistent");
    default: return fail("cannot attach");
  }
}

const char* role_name(weft::Role role) {
  switch (role) {
    case weft::Role::user: return "user";
    case weft::Role::assistant: return "assistant";
    case weft::Role::system: return "system";
    case weft::Role::tool: return "tool";
  }
  return "?";
}

// A thread's visible history (grows the buffer on buffer_too_small).
weft::LogStatus history(weft::TurnLog& log, const weft::Id& thread, std::vector<weft::TurnView>& views,
                        weft::Snapshot& snap) {
  if (views.empty()) views.resize(4096);
  for (int attempt = 0; attempt < 24; attempt++) {  // bound: the buffer doubles up to 2^24 times its size
    const weft::LogStatus st = log.snapshot(thread, views.data(), views.size(), &snap);
    if (st != weft::LogStatus::buffer_too_small) {
      if (st == weft::LogStatus::ok) views.resize(std::max<std::size_t>(views.size(), 1));
      return st;
    }
    views.resize(views.size() * 2);
  }
  return weft::LogStatus::buffer_too_small;
}

// ---- inspect ----------------------------------------------------------------------

int inspect(const std::string& path, bool all) {
  OpenLog o;
  if (!open_log(path, o)) return exit_unreadable;
  void* region = o.map.mapping.data();
  const std::size_t bytes = o.map.mapping.size();
  weft::LogLayout layout;
  if (weft::inspect_log(region, bytes, &layout) != weft::LogStatus::ok) return exit_unreadable;
  const weft::TurnLog::Config& c = layout.config;
  fmt::print("file       {} ({} bytes)\n", path, bytes);
  fmt::print("kind       TurnLog, format version {}\n", weft::TurnLog::format_version);
  fmt::print("geometry   {} segments x {} bytes ({} records, {} payload bytes each); {} thread slots; "
             "{} exchanges in flight per thread; {} reader slots; {} process slots; {} append lanes; "
             "region {} bytes\n",
             c.segment_count, c.segment_bytes, layout.records_per_segment, layout.payload_area_bytes,
             c.thread_capacity, c.exchanges_per_thread, c.reader_slots, c.process_slots, c.append_lanes,
             layout.region_bytes);
  fmt::print("policies   exchange timeout {:.3f} s, retention {}\n", static_cast<double>(c.exchange_timeout_ns) / 1e9,
             c.retention == weft::TurnLog::Retention::keep_all ? "keep_all" : "recycle_oldest");
  fmt::print("ring       head {}, newest {} ({} segments retained)\n", layout.head, layout.current,
             layout.current == 0 ? 0 : layout.current - layout.head + 1);
  const weft::LogStats s = o.log.stats();
  fmt::print("counters   exchanges begun {}, commits {}, aborts {}, expiries {}, duplicates {}, turns {}, "
             "log_full {}, segments opened {}, recycled {}\n",
             s.exchanges_begun, s.commits, s.aborts, s.expiries, s.duplicates, s.turns_appended, s.log_full,
             s.segments_opened, s.segments_recycled);
  weft::SegmentReport total;
  std::vector<std::pair<std::uint32_t, weft::SegmentReport>> shown;
  for (std::uint32_t i = 0; i < c.segment_count; i++) {
    weft::SegmentReport r;
    if (weft::inspect_segment(region, bytes, i, &r) != weft::LogStatus::ok) return exit_unreadable;
    total.committed += r.committed;
    total.written += r.written;
    total.busy += r.busy;
    total.aborted += r.aborted;
    total.malformed += r.malformed;
    total.checksum_failures += r.checksum_failures;
    if (all || r.sequence != 0) shown.emplace_back(i, r);
  }
  fmt::print("records    committed {}, written {}, busy {}, aborted {}, malformed {}, checksum failures {}\n",
             total.committed, total.written, total.busy, total.aborted, total.malformed, total.checksum_failures);
  fmt::print("\nsegments ({} of {} shown{})\n", shown.size(), c.segment_count, all ? "" : ": in use; --all for every one");
  fmt::print("  {:>6} {:>9} {:<9} {:>7} {:>9} {:>6} {:>7} {:>9} {:>7} {:>5} {:>7} {:>9} {:>8}\n", "slot", "sequence",
             "state", "records", "bytes", "sealed", "writers", "committed", "written", "busy", "aborted", "malformed",
             "checksum");
  for (const auto& [i, r] : shown) {
    fmt::print("  {:>6} {:>9} {:<9} {:>7} {:>9} {:>6} {:>7} {:>9} {:>7} {:>5} {:>7} {:>9} {:>8}\n", i, r.sequence,
               weft::to_string(r.state), r.records, r.payload_bytes, r.sealed ? "yes" : "no", r.writers, r.committed,
               r.written, r.busy, r.aborted, r.malformed, r.checksum_failures);
  }
  fmt::print("\nthreads ({} of {} slots used)\n", layout.threads_used, c.thread_capacity);
  fmt::print("  {:>6} {:<32} {:>11} {:>15} {:>15} {:>10}\n", "slot", "id", "next ticket", "visible through",
             "trimmed through", "max fence");
  for (std::uint32_t i = 0; i < c.thread_capacity; i++) {
    weft::ThreadReport t;
    if (weft::inspect_thread(region, bytes, i, &t) != weft::LogStatus::ok) return exit_unreadable;
    if (!t.used) continue;
    fmt::print("  {:>6} {:<32} {:>11} {:>15} {:>15} {:>10}\n", i, hex_id(t.thread), t.next_ticket, t.visible_through,
               t.trimmed_through, t.max_fence);
  }
  return exit_ok;
}

// ---- dump -------------------------------------------------------------------------

std::string escaped(const unsigned char* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; i++) {
    const unsigned char ch = p[i];
    if (ch == '\\') out += "\\\\";
    else if (ch == '\n') out += "\\n";
    else if (ch >= 0x20 && ch < 0x7F) out.push_back(static_cast<char>(ch));
    else out += fmt::format("\\x{:02x}", ch);
  }
  return out;
}

// True when a thread slot of the log holds `thread`'s id.
bool thread_known(OpenLog& o, const weft::Id& thread) {
  weft::LogLayout layout;
  void* region = o.map.mapping.data();
  const std::size_t bytes = o.map.mapping.size();
  if (weft::inspect_log(region, bytes, &layout) != weft::LogStatus::ok) return false;
  for (std::uint32_t slot = 0; slot < layout.config.thread_capacity; slot++) {
    weft::ThreadReport t;
    if (weft::inspect_thread(region, bytes, slot, &t) == weft::LogStatus::ok && t.used && t.thread == thread) {
      return true;
    }
  }
  return false;
}

int dump(const std::string& path, const std::string& thread_text, bool json, std::size_t max_bytes) {
  OpenLog o;
  if (!open_log(path, o)) return exit_unreadable;
  const weft::Id thread = parse_id(thread_text);
  std::vector<weft::TurnView> views;
  weft::Snapshot snap;
  if (const weft::LogStatus st = history(o.log, thread, views, snap); st != weft::LogStatus::ok) {
    fmt::print(stderr, "weft: {}: cannot read thread {}: {}\n", path, hex_id(thread), weft::to_string(st));
    return exit_unreadable;
  }
  if (snap.size() == 0 && !thread_known(o, thread)) {
    fmt::print(stderr, "weft: {}: no thread {} in this log (\"{}\" names no thread slot's id)\n", path,
               hex_id(thread), thread_text);
    return exit_violation;
  }
  for (std::size_t i = 0; i < snap.size(); i++) {
    const weft::TurnView& v = views[i];
    const std::size_t shown = max_bytes == 0 ? v.payload_bytes : std::min<std::size_t>(max_bytes, v.payload_bytes);
    if (json) {
      nlohmann::json line = {{"thread", hex_id(v.thread)}, {"ticket", v.ticket},   {"index", v.index},
                             {"role", role_name(v.role)},  {"flags", v.flags},     {"request", hex_id(v.request)},
                             {"position", v.position},     {"bytes", v.payload_bytes},
                             {"payload", std::string(reinterpret_cast<const char*>(v.payload), shown)}};
      fmt::print("{}\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      fmt::print("ticket {} index {} {} flags {} bytes {} request {}: {}{}\n", v.ticket, v.index, role_name(v.role),
                 v.flags, v.payload_bytes, hex_id(v.request), escaped(v.payload, shown),
                 shown < v.payload_bytes ? "..." : "");
    }
  }
  if (!json) fmt::print("thread {}: {} turns, visible through ticket {}\n", hex_id(thread), snap.size(),
                        snap.visible_through());
  return exit_ok;
}

// ---- verify -----------------------------------------------------------------------

struct Verifier {
  bool quiet = false;
  std::size_t violations = 0;
  template <class... Args>
  void violation(fmt::format_string<Args...> format, Args&&... args) {
    violations++;
    if (!quiet || violations <= 20) fmt::print("violation {}\n", fmt::format(format, std::forward<Args>(args)...));
  }
};

int verify(const std::string& path, bool quiet) {
  OpenLog o;
  if (!open_log(path, o)) return exit_unreadable;
  void* region = o.map.mapping.data();
  const std::size_t bytes = o.map.mapping.size();
  weft::LogLayout layout;
  if (weft::inspect_log(region, bytes, &layout) != weft::LogStatus::ok) return exit_unreadable;
  Verifier v;
  v.quiet = quiet;
  // Records: well formed and checksums (T4: no reader may see a damaged turn).
  std::uint64_t committed = 0, busy = 0, pinned = 0, checked = 0;
  for (std::uint32_t i = 0; i < layout.config.segment_count; i++) {
    weft::SegmentReport r;
    if (weft::inspect_segment(region, bytes, i, &r) != weft::LogStatus::ok) return exit_unreadable;
    committed += r.committed;
    busy += r.busy;
    pinned += r.writers;
    checked += r.committed + r.written;
    if (r.malformed != 0) v.violation("T4: segment slot {} (sequence {}): {} malformed records", i, r.sequence, r.malformed);
    if (r.checksum_failures != 0) {
      v.violation("T4: segment slot {} (sequence {}): {} records whose checksum does not hold", i, r.sequence,
                  r.checksum_failures);
    }
    if (r.state == weft::SegmentState::unknown) v.violation("segment slot {}: unknown state word", i);
  }
  // The ring: every sequence from head to current lives in its slot, ready
  // (a zeroed or overwritten segment is a hole: its turns would vanish).
  if (layout.current != 0) {
    if (layout.head == 0 || layout.head > layout.current ||
        layout.current - layout.head >= layout.config.segment_count) {
      v.violation("ring: head {} and current {} do not fit a ring of {} segments", layout.head, layout.current,
                  layout.config.segment_count);
    } else {
      for (std::uint64_t seq = layout.head; seq <= layout.current; seq++) {
        weft::SegmentReport r;
        const auto slot = static_cast<std::uint32_t>(seq % layout.config.segment_count);
        if (weft::inspect_segment(region, bytes, slot, &r) != weft::LogStatus::ok) return exit_unreadable;
        if (r.sequence != seq || r.state != weft::SegmentState::ready) {
          v.violation("T1: segment sequence {} is missing from slot {} (it holds sequence {}, {}): zeroed or damaged",
                      seq, slot, r.sequence, weft::to_string(r.state));
        }
      }
    }
  }
  // Per thread: what the export path visits, counted by thread.
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> exported;
  const weft::LogStatus export_status = o.log.for_each_committed(
      [](void* context, const weft::TurnView& view) {
        (*static_cast<decltype(exported)*>(context))[{view.thread.hi, view.thread.lo}]++;
        return true;
      },
      &exported);
  if (export_status != weft::LogStatus::ok) v.violation("for_each_committed: {}", weft::to_string(export_status));
  std::uint64_t threads = 0, turns = 0, exchanges = 0;
  std::vector<weft::TurnView> views, again;
  for (std::uint32_t slot = 0; slot < layout.config.thread_capacity; slot++) {
    weft::ThreadReport t;
    if (weft::inspect_thread(region, bytes, slot, &t) != weft::LogStatus::ok) return exit_unreadable;
    if (!t.used) continue;
    threads++;
    const std::string id = hex_id(t.thread);
    if (t.visible_through >= t.next_ticket || t.trimmed_through > t.visible_through) {
      v.violation("thread {}: watermarks out of order (next ticket {}, visible through {}, trimmed through {})", id,
                  t.next_ticket, t.visible_through, t.trimmed_through);
    }
    weft::Snapshot first;
    if (const weft::LogStatus st = history(o.log, t.thread, views, first); st != weft::LogStatus::ok) {
      v.violation("thread {}: snapshot: {}", id, weft::to_string(st));
      continue;
    }
    std::map<std::uint64_t, weft::Id> request_of;
    std::set<std::pair<std::uint64_t, std::uint64_t>> requests;
    for (std::size_t i = 0; i < first.size(); i++) {
      const weft::TurnView& tv = views[i];
      if (!(tv.thread == t.thread)) v.violation("T6: thread {} shows a turn of thread {}", id, hex_id(tv.thread));
      if (i > 0 && (tv.ticket < views[i - 1].ticket ||
                    (tv.ticket == views[i - 1].ticket && tv.index <= views[i - 1].index))) {
        v.violation("T3: thread {}: ({}, {}) after ({}, {})", id, tv.ticket, tv.index, views[i - 1].ticket,
                    views[i - 1].index);
      }
      if (tv.ticket > first.visible_through() || tv.ticket <= t.trimmed_through) {
        v.violation("T4/T8: thread {}: ticket {} outside (trimmed {}, visible {}]", id, tv.ticket, t.trimmed_through,
                    first.visible_through());
      }
      const auto [it, inserted] = request_of.emplace(tv.ticket, tv.request);
      if (inserted) {
        exchanges++;
        if (!requests.insert({tv.request.hi, tv.request.lo}).second) {
          v.violation("T2: thread {}: request {} shows in two exchanges", id, hex_id(tv.request));
        }
        weft::ExchangeState state{};
        if (o.log.state(weft::ExchangeRef{t.thread, tv.ticket}, &state) == weft::LogStatus::ok &&
            state != weft::ExchangeState::committed) {
          v.violation("T4: thread {}: ticket {} shows but its exchange is {}", id, tv.ticket, static_cast<int>(state));
        }
      } else if (!(it->second == tv.request)) {
        v.violation("T2: thread {}: ticket {} has turns of two request ids", id, tv.ticket);
      }
    }
    const auto n = exported[{t.thread.hi, t.thread.lo}];
    if (n != first.size()) {
      v.violation("T1: thread {}: snapshots show {} turns, the export path {}", id, first.size(), n);
    }
    // T5: a later snapshot extends the earlier one.
    again.resize(views.size());
    weft::Snapshot second;
    if (history(o.log, t.thread, again, second) == weft::LogStatus::ok) {
      bool prefix = second.size() >= first.size();
      for (std::size_t i = 0; prefix && i < first.size(); i++) prefix = again[i].position == views[i].position;
      if (!prefix) v.violation("T5: thread {}: a second snapshot does not extend the first", id);
    }
    turns += first.size();
  }
  fmt::print("verify: {} threads, {} exchanges, {} turns visible; {} records checked ({} committed), {} busy, "
             "{} writer pins: {}\n",
             threads, exchanges, turns, checked, committed, busy, pinned,
             v.violations == 0 ? std::string("no violation") : fmt::format("{} violations", v.violations));
  return v.violations == 0 ? exit_ok : exit_violation;
}

// ---- recover ----------------------------------------------------------------------

int recover(const std::string& path) {
  const weft::RecoverFileResult result = weft::recover_log_file(path.c_str());
  if (result.status == weft::MapStatus::in_use) {
    fmt::print(stderr,
               "weft: {}: in use: a process holds it through open_log(); recover only a log nobody has open "
               "(open_log() itself recovers when it is the first to open it)\n",
               path);
    return exit_unreadable;
  }
  if (result.status != weft::MapStatus::ok) {
    OpenLog o;  // the same messages as the other commands
    if (open_log(path, o)) fmt::print(stderr, "weft: {}: recovery failed: {}\n", path, weft::to_string(result.status));
    return exit_unreadable;
  }
  const weft::RecoveryReport& r = result.report;
  fmt::print("recover: {} segments, {} records scanned; kept {} committed records\n", r.segments_scanned,
             r.records_scanned, r.records_kept);
  fmt::print("recover: dropped {} records: {} checksum, {} malformed, {} torn (busy, writer died), {} with their "
             "exchange (an exchange is whole or gone)\n",
             r.dropped_checksum + r.dropped_malformed + r.dropped_torn + r.dropped_with_exchange, r.dropped_checksum,
             r.dropped_malformed, r.dropped_torn, r.dropped_with_exchange);
  fmt::print("recover: {} records of unfinished exchanges left to expire; cleared {} writer pins, {} reader pins; "
             "repaired {} segments, {} thread slots, {} exchange slots\n",
             r.written_unfinished, r.writer_pins_cleared, r.reader_pins_cleared, r.segments_repaired,
             r.threads_repaired, r.exchanges_repaired);
  fmt::print("recover: rebuilt from the records: {} segment fills, {} thread slots ({} records of their unfinished "
             "exchanges aborted); {} segments of the ring missing (their records are gone)\n",
             r.tails_rebuilt, r.threads_rebuilt, r.dropped_rebuilt, r.segments_missing);
  const std::uint64_t damage = r.dropped_checksum + r.dropped_malformed + r.dropped_torn + r.dropped_with_exchange +
                               r.dropped_rebuilt + r.tails_rebuilt + r.threads_rebuilt + r.segments_missing;
  return damage == 0 ? exit_ok : exit_violation;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{manual_head, "weft"};
  app.footer(manual_tail);
  app.require_subcommand(1);
  std::string path, thread;
  bool all = false, json = false, quiet = false;
  std::size_t max_bytes = 0;
  CLI::App* inspect_cmd = app.add_subcommand("inspect", "layout, segments, threads and counts of a TurnLog file");
  inspect_cmd->add_option("FILE", path, "the TurnLog file")->required();
  inspect_cmd->add_flag("--all", all, "list free segments too");
  CLI::App* dump_cmd = app.add_subcommand("dump", "one thread's visible history, as text or JSON lines");
  dump_cmd->add_option("FILE", path, "the TurnLog file")->required();
  dump_cmd->add_option("--thread", thread, "thread id: 32 hex digits (a UUID) or text hashed by id_from_string")->required();
  dump_cmd->add_flag("--json", json, "one JSON object per turn and line");
  dump_cmd->add_option("--max-bytes", max_bytes, "show at most N payload bytes a turn (0: all)");
  CLI::App* verify_cmd = app.add_subcommand("verify", "check T1-T6 on the stored log; exit 1 on a violation");
  verify_cmd->add_option("FILE", path, "the TurnLog file")->required();
  verify_cmd->add_flag("--quiet", quiet, "print at most 20 violations");
  CLI::App* recover_cmd = app.add_subcommand("recover", "repair the file after its users died; report what was dropped");
  recover_cmd->add_option("FILE", path, "the TurnLog file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_unreadable;
  }
  if (inspect_cmd->parsed()) return inspect(path, all);
  if (dump_cmd->parsed()) return dump(path, thread, json, max_bytes);
  if (recover_cmd->parsed()) return recover(path);
  return verify(path, quiet);
}
