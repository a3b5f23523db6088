// The crash test: writer processes append exchanges to a file-backed TurnLog
// and are killed with SIGKILL at random moments; after kills the parent
// reopens the file and checks T1-T6 against what the writers confirmed.
//
// Each writer (a fork()ed child that opens the file itself) loops: begin an
// exchange on a random test thread (policy queue), tell the parent "begun",
// append the user turn, stream the assistant turn in chunks with pauses (so
// kills land inside appends too), commit, and only after commit() returned
// ok tell the parent "committed (thread, ticket)" through its pipe. The
// parent sleeps a random 1-40 ms, kills a random writer with SIGKILL, reads
// the rest of its pipe, starts a new writer in its slot, and every few kills
// opens the file again (a new mapping, attach) and checks:
//   T1 every confirmed exchange at or below its thread's watermark is shown,
//      exactly once, both turns (after the last kill and the expiry timeout:
//      every confirmed exchange);
//   T2 no request id shows twice; no exchange is confirmed twice;
//   T3 (ticket, index) order, index 0 user and index 1 assistant;
//   T4 every shown turn is whole (its payload is recomputed from thread,
//      ticket and index), every shown exchange has both turns, nothing above
//      the watermark, and below it an exchange shows exactly when its state
//      says committed;
//   T5 each check's history of a thread extends the previous check's;
//   T6 no turn of another thread.
// Exchanges a killed writer left open expire after exchange_timeout_ns
// (T10): the parent's last check runs after that timeout.
//
// The log keeps everything (retention keep_all). When it is nearly full the
// parent ends the *epoch*: stops every writer, runs the final check on that
// file, and starts a new file, so a soak can run for hours.
//
// With --ring the log is a ring of 8 segments that recycles (retention
// recycle_oldest) and every writer joins it (TurnLog::join, posix_liveness):
// killed writers leave pins, claims and transitions that the surviving
// writers must reap for the ring to keep turning [T10]. The checks then
// count exchanges the ring trimmed (T8: a prefix of each thread, never a
// confirmed exchange above the trim point) instead of requiring them.
//
//   weft_crash_test                         CI: 200 kills, 4 writers (well under a minute)
//   weft_crash_test --ring                  CI: the same on a recycling ring
//   weft_crash_test --kills 20000 --writers 8 --log-mib 256     a soak (docs/DURABILITY.md)
//
// Prints one summary line ("crash: kills ...") and exits 0, or 1 on any lost
// turn or violation, 2 on a usage or setup error.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "crash/log_checker.h"
#include "weft/log_inspect.h"
#include "weft/mapping.h"
#include "weft/recovery.h"

namespace weft::crash {
namespace {

constexpr const char* prefix = "crash";

struct Options {
  int kills = 200;
  int writers = 4;
  std::uint32_t threads = 8;
  int check_every = 5;
  std::uint64_t timeout_ms = 200;
  int log_mib = 64;
  std::uint64_t seed = 0;
  std::string dir;
  bool keep_files = false;
  /// Controls that show the checks can fail: "lie" (writers confirm every
  /// 20th exchange but abort it: a lost commit, T1) or "torn" (writers
  /// publish every 20th assistant turn half-written, T4).
  std::string control;
  /// Also write the summary line to this file (ci/test.sh shows it).
  std::string summary;
  /// A recycling ring of 8 segments that every writer joins.
  bool ring = false;
};

TurnLog::Config config_for(const Options& o) {
  TurnLog::Config c;
  c.segment_bytes = 64 * 1024;
  c.segment_count = static_cast<std::uint32_t>(static_cast<std::uint64_t>(o.log_mib) * 1024 * 1024 / c.segment_bytes);
  c.thread_capacity = 64;
  c.exchanges_per_thread = 16;
  c.reader_slots = 64;
  c.exchange_timeout_ns = o.timeout_ms * 1'000'000ULL;
  c.retention = TurnLog::Retention::keep_all;
  if (o.ring) {
    c.segment_count = 8;
    c.retention = TurnLog::Retention::recycle_oldest;
    c.process_slots = static_cast<std::uint32_t>(o.writers + 2);  // the writers, a spare, and slot 0
  }
  return c;
}

void sleep_us(std::uint64_t us) {
  timespec t{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000 * 1000)};
  while (::nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

// ---- a writer process ----------------------------------------------------------

[[noreturn]] void writer_main(const std::string& path, const Options& o, int slot, int incarnation, int fd) {
  MapResult m = open_file_mapping(path.c_str());
  TurnLog log;
  if (m.status != MapStatus::ok || attach_log(m.mapping, steady_clock(), &log) != MapStatus::ok) {
    (void)send(fd, Message{Message::failed, static_cast<std::uint8_t>(slot), 0, 1, 0});
    std::_Exit(3);
  }
  if (o.ring) {
    const LogStatus joined = log.join(posix_liveness());
    if (joined != LogStatus::ok) {
      (void)send(fd, Message{Message::failed, static_cast<std::uint8_t>(slot), 0, static_cast<std::uint32_t>(joined), 0});
      std::_Exit(5);
    }
  }
  std::mt19937_64 rng(splitmix(o.seed ^ (static_cast<std::uint64_t>(slot) << 32) ^ static_cast<std::uint64_t>(incarnation)));
  const auto w = static_cast<std::uint8_t>(slot);
  for (std::uint64_t n = 0;; n++) {
    const auto th = static_cast<std::uint32_t>(rng() % o.threads);
    const std::string request = "req-" + std::to_string(slot) + "-" + std::to_string(incarnation) + "-" + std::to_string(n);
    const BeginResult b = log.begin_exchange(thread_id(prefix, th), id_from_string(request), BeginPolicy::queue);
    if (b.status == LogStatus::too_many_in_flight || b.status == LogStatus::contended) {
      sleep_us(1000);  // a dead writer's exchanges expire after the timeout (T10)
      continue;
    }
    if (b.status != LogStatus::ok) {
      (void)send(fd, Message{Message::failed, w, static_cast<std::uint16_t>(th), static_cast<std::uint32_t>(b.status), 0});
      std::_Exit(4);
    }
    const ExchangeRef x = b.exchange;
    (void)send(fd, Message{Message::begun, w, static_cast<std::uint16_t>(th), 0, x.ticket});
    const std::string user = payload_of(th, x.ticket, 0);
    LogStatus st = log.append(x, Role::user, user.data(), user.size());
    if (st == LogStatus::ok) {
      const std::string answer = payload_of(th, x.ticket, 1);
      TurnWriter stream;
      st = log.begin_turn(x, Role::assistant, answer.size(), &stream);
      const bool torn = o.control == "torn" && n % 20 == 19;
      for (std::size_t at = 0; st == LogStatus::ok && at < (torn ? answer.size() / 2 : answer.size()); at += 256) {
        st = stream.write(answer.data() + at, std::min<std::size_t>(256, answer.size() - at));
        sleep_us(rng() % 300);  // a model streaming tokens: kills land here too
      }
      if (st == LogStatus::ok) st = stream.finish();
    }
    const bool lie = o.control == "lie" && n % 20 == 19;
    if (st == LogStatus::ok) st = lie ? log.abort(x) : log.commit(x);
    if (st == LogStatus::ok) {
      (void)send(fd, Message{Message::committed, w, static_cast<std::uint16_t>(th), 0, x.ticket});
    } else {
      (void)log.abort(x);
      // On the ring log_full passes: the oldest segment waits for a killed
      // writer's exchange to expire (T10); elsewhere the parent ends the epoch.
      const bool full = st == LogStatus::log_full && !o.ring;
      (void)send(fd, Message{full ? Message::log_full : Message::not_committed, w,
                             static_cast<std::uint16_t>(th), static_cast<std::uint32_t>(st), x.ticket});
      if (st == LogStatus::log_full) sleep_us(o.ring ? 2000 : 5000);
    }
    sleep_us(rng() % 800);  // think time
  }
}

// ---- the parent ----------------------------------------------------------------

struct Writer {
  pid_t pid = -1;
  int fd = -1;
  int incarnation = 0;
  bool open_exchange = false;  // its last message was `begun`
};

struct Totals {
  int kills = 0;
  int kills_mid_exchange = 0;
  int epochs = 0;
  int checks = 0;
  std::size_t confirmed_exchanges = 0;
  std::size_t recovered_exchanges = 0;
  std::size_t trimmed_exchanges = 0;  // confirmed, then recycled away by the ring (T8)
  std::uint64_t segments_recycled = 0;
  std::size_t visible_exchanges = 0;
  std::size_t not_committed = 0;
  std::size_t violations = 0;
  int recoveries = 0;                       // recover_log() runs after an epoch's writers are gone
  std::uint64_t recovered_records = 0;      // records they kept
  std::uint64_t recovery_dropped_torn = 0;  // busy records of killed writers they aborted
  std::uint64_t recovery_rebuilt = 0;       // fills and thread slots they rebuilt (must stay 0)
  bool setup_failed = false;
};

class Parent {
 public:
  Parent(const Options& o, std::string path) : o_(o), path_(std::move(path)), rng_(splitmix(o.seed)),
        checker_(prefix, o.threads, 16), writers_(static_cast<std::size_t>(o.writers)) {}

  // One epoch: a new file, writers killed until `kills_left` or the log is
  // nearly full, then the final check. Returns the kills done.
  int run_epoch(int kills_left, Totals& totals) {
    MapResult m = create_file_mapping(path_.c_str(), TurnLog::region_bytes(config_for(o_)));
    TurnLog observer;
    if (m.status != MapStatus::ok || format_log(m.mapping, config_for(o_), steady_clock(), &observer) != MapStatus::ok) {
      std::fprintf(stderr, "crash: cannot create %s: %s\n", path_.c_str(), to_string(m.status));
      totals.setup_failed = true;
      return kills_left;
    }
    for (int i = 0; i < o_.writers; i++) start(i);
    int kills = 0;
    const std::uint64_t segments = config_for(o_).segment_count;
    while (kills < kills_left && !log_full_ && (o_.ring || observer.stats().segments_opened * 10 < segments * 9)) {
      pump(static_cast<int>(1 + rng_() % 40));
      const int victim = static_cast<int>(rng_() % static_cast<std::uint64_t>(o_.writers));
      stop(victim, totals, true);
      kills++;
      start(victim);
      if (kills % o_.check_every == 0) check(false, totals);
    }
    for (int i = 0; i < o_.writers; i++) stop(i, totals, false);
    // Exchanges the killed writers left open expire after the timeout [T10];
    // then every confirmed exchange must be visible.
    sleep_us((o_.timeout_ms + 50) * 1000);
    check(true, totals);
    totals.epochs++;
    totals.confirmed_exchanges += checker_.confirmed_exchanges();
    totals.recovered_exchanges += checker_.last().confirmed_found;
    totals.trimmed_exchanges += checker_.last().confirmed_trimmed;
    totals.segments_recycled += observer.stats().segments_recycled;
    totals.visible_exchanges += checker_.last().visible_exchanges;
    totals.violations += checker_.violations().size();
    recover_and_check(totals);
    if (o_.ring) ring_goes_round(observer, totals);
    std::printf("crash: epoch %d: %d kills, %zu exchanges confirmed, %zu recovered, %zu visible, %.1f MiB of log used\n",
                totals.epochs, kills, checker_.confirmed_exchanges(), checker_.last().confirmed_found,
                checker_.last().visible_exchanges,
                static_cast<double>(observer.stats().segments_opened) * 64.0 / 1024.0);
    std::fflush(stdout);
    if (!o_.keep_files) std::filesystem::remove(path_);
    return kills;
  }

 private:
  void start(int slot) {
    Writer& w = writers_[static_cast<std::size_t>(slot)];
    int fds[2];
    if (::pipe(fds) != 0) {
      std::perror("pipe");
      std::exit(2);
    }
    w.incarnation++;
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      std::exit(2);
    }
    if (pid == 0) {
      ::close(fds[0]);
      for (const Writer& other : writers_) {
        if (other.fd >= 0) ::close(other.fd);
      }
      writer_main(path_, o_, slot, w.incarnation, fds[1]);
    }
    ::close(fds[1]);
    w.pid = pid;
    w.fd = fds[0];
    w.open_exchange = false;
  }

  // T10 on the ring: once every writer is dead (killed, some mid-append,
  // mid-claim or mid-recycle) and their exchanges expired, a new process
  // that joins must get four rings' worth of exchanges through. Dead pins
  // or transitions that nobody reaped would stop it at the first ring.
  void ring_goes_round(TurnLog& observer, Totals& totals) {
    if (observer.join(posix_liveness()) != LogStatus::ok) {
      std::fprintf(stderr, "VIOLATION T10: the parent cannot join the ring\n");
      totals.violations++;
      return;
    }
    const std::uint64_t before = observer.stats().segments_recycled;
    const std::string payload(1000, 'r');
    int committed = 0;
    const int rounds = 2000;  // about 2.2 MB through a 512 KiB ring
    for (int i = 0; i < rounds; i++) {
      const std::string request = "probe-" + std::to_string(i);
      const BeginResult b = observer.begin_exchange(id_from_string("ring-probe"), id_from_string(request), BeginPolicy::queue);
      if (b.status != LogStatus::ok) break;
      if (observer.append(b.exchange, Role::user, payload.data(), payload.size()) != LogStatus::ok ||
          observer.commit(b.exchange) != LogStatus::ok) {
        (void)observer.abort(b.exchange);
        break;
      }
      committed++;
    }
    std::printf("crash: after the last kill a new process got %d of %d exchanges through the ring (%llu segments recycled)\n",
                committed, rounds, static_cast<unsigned long long>(observer.stats().segments_recycled - before));
    if (committed != rounds) {
      std::fprintf(stderr, "VIOLATION T10: the ring stopped after %d exchanges: something of a dead writer was not reaped\n",
                   committed);
      totals.violations++;
    }
  }

  // SIGKILL (a crash), then everything it said before dying.
  void stop(int slot, Totals& totals, bool count_kill) {
    Writer& w = writers_[static_cast<std::size_t>(slot)];
    ::kill(w.pid, SIGKILL);
    int status = 0;
    ::waitpid(w.pid, &status, 0);
    while (drain<Message>(w.fd, 1000, [&](const Message& m) { on_message(m); })) {
    }
    ::close(w.fd);
    w.fd = -1;
    if (WIFEXITED(status)) {
      std::fprintf(stderr, "crash: writer %d exited with %d before it was killed\n", slot, WEXITSTATUS(status));
      totals.setup_failed = true;
    }
    if (count_kill) {
      totals.kills++;
      if (w.open_exchange) totals.kills_mid_exchange++;
    }
    totals.not_committed += not_committed_;
    not_committed_ = 0;
  }

  // Reads every writer's pipe for about `ms` milliseconds.
  void pump(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    do {
      for (Writer& w : writers_) {
        (void)drain<Message>(w.fd, 0, [&](const Message& m) { on_message(m); });
      }
      sleep_us(500);
    } while (std::chrono::steady_clock::now() < until);
  }

  void on_message(const Message& m) {
    Writer& w = writers_[m.writer];
    switch (m.kind) {
      case Message::begun: w.open_exchange = true; break;
      case Message::committed:
        checker_.confirm(m.thread, m.ticket);
        w.open_exchange = false;
        break;
      case Message::log_full: log_full_ = true; [[fallthrough]];
      case Message::not_committed:
        not_committed_++;
        w.open_exchange = false;
        break;
      default:
        std::fprintf(stderr, "crash: writer %u failed: status %u\n", m.writer, m.detail);
        break;
    }
  }

  // Opens the file again (a new mapping, as after a restart) and checks it.
  // Live writers are stopped (SIGSTOP) meanwhile, so that the log grows with
  // the kill schedule and not with the time checks take (ASan); a stop can
  // land mid-append too, and the parent's reads may expire what it holds.
  void check(bool final_check, Totals& totals) {
    for (const Writer& w : writers_) {
      if (w.fd >= 0) ::kill(w.pid, SIGSTOP);
    }
    check_stopped(final_check, totals);
    for (const Writer& w : writers_) {
      if (w.fd >= 0) ::kill(w.pid, SIGCONT);
    }
  }

  // Every writer is gone: recover_log() as `weft recover` would run it. A
  // crash damages no thread slot and no segment fill (single atomic
  // stores), so recovery must rebuild nothing and drop nothing committed;
  // the final checks must hold again on the recovered file.
  void recover_and_check(Totals& totals) {
    MapResult m = open_file_mapping(path_.c_str());
    RecoveryReport report;
    if (m.status != MapStatus::ok || recover_log(m.mapping.data(), m.mapping.size(), &report) != LogStatus::ok) {
      std::fprintf(stderr, "VIOLATION recover: the file cannot be recovered\n");
      totals.violations++;
      return;
    }
    totals.recoveries++;
    totals.recovered_records += report.records_kept;
    totals.recovery_dropped_torn += report.dropped_torn;
    totals.recovery_rebuilt += report.tails_rebuilt + report.threads_rebuilt;
    const std::uint64_t wrong = report.dropped_checksum + report.dropped_malformed + report.dropped_with_exchange +
                                report.tails_rebuilt + report.threads_rebuilt + report.dropped_rebuilt +
                                report.segments_missing;
    if (wrong != 0) {
      std::fprintf(stderr,
                   "VIOLATION recover: after crashes alone it dropped %llu checksum, %llu malformed, %llu with "
                   "exchange, rebuilt %llu fills and %llu threads, aborted %llu records of rebuilt threads\n",
                   static_cast<unsigned long long>(report.dropped_checksum),
                   static_cast<unsigned long long>(report.dropped_malformed),
                   static_cast<unsigned long long>(report.dropped_with_exchange),
                   static_cast<unsigned long long>(report.tails_rebuilt),
                   static_cast<unsigned long long>(report.threads_rebuilt),
                   static_cast<unsigned long long>(report.dropped_rebuilt));
      totals.violations++;
    }
    const std::size_t before = checker_.violations().size();
    check_stopped(true, totals);
    totals.violations += checker_.violations().size() - before;
  }

  void check_stopped(bool final_check, Totals& totals) {
    MapResult m = open_file_mapping(path_.c_str());
    TurnLog log;
    const MapStatus st = m.status != MapStatus::ok ? m.status : attach_log(m.mapping, steady_clock(), &log);
    if (st != MapStatus::ok) {
      std::fprintf(stderr, "VIOLATION reopen: %s\n", to_string(st));
      totals.violations++;
      return;
    }
    if (o_.ring) {  // what the ring recycled away, per thread (writers are stopped: it holds still)
      const TurnLog::Config config = config_for(o_);
      for (std::uint32_t slot = 0; slot < config.thread_capacity; slot++) {
        ThreadReport report;
        if (inspect_thread(m.mapping.data(), m.mapping.size(), slot, &report) != LogStatus::ok || !report.used) continue;
        for (std::uint32_t th = 0; th < o_.threads; th++) {
          if (report.thread == thread_id(prefix, th)) checker_.set_trimmed(th, report.trimmed_through);
        }
      }
    }
    (void)checker_.check(log, final_check);
    totals.checks++;
  }

  const Options& o_;
  std::string path_;
  std::mt19937_64 rng_;
  LogChecker checker_;
  std::vector<Writer> writers_;
  bool log_full_ = false;
  std::size_t not_committed_ = 0;
};

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--kills N] [--writers N] [--threads N] [--check-every N] [--timeout-ms N]\n"
               "          [--log-mib N] [--seed N] [--dir DIR] [--keep-files] [--control lie|torn]\n"
               "          [--summary FILE] [--ring]\n"
               "SIGKILLs writer processes of a file-backed TurnLog at random moments and checks\n"
               "after each few kills that every confirmed turn is there once and whole (T1-T6).\n",
               argv0);
  return 2;
}

int run(int argc, char** argv) {
  Options o;
  o.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--keep-files") { o.keep_files = true; continue; }
    if (a == "--ring") { o.ring = true; continue; }
    if (a == "--help" || a == "-h") return usage(argv[0]), 0;
    if ((v = value()) == nullptr) return usage(argv[0]);
    if (a == "--kills") o.kills = std::atoi(v);
    else if (a == "--writers") o.writers = std::atoi(v);
    else if (a == "--threads") o.threads = static_cast<std::uint32_t>(std::atoi(v));
    else if (a == "--check-every") o.check_every = std::atoi(v);
    else if (a == "--timeout-ms") o.timeout_ms = std::strtoull(v, nullptr, 10);
    else if (a == "--log-mib") o.log_mib = std::atoi(v);
    else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--dir") o.dir = v;
    else if (a == "--control") o.control = v;
    else if (a == "--summary") o.summary = v;
    else return usage(argv[0]);
  }
  if (o.kills < 1 || o.writers < 1 || o.writers > 64 || o.threads < 1 || o.threads > 64 || o.check_every < 1 ||
      o.timeout_ms < 1 || o.log_mib < 1 || TurnLog::region_bytes(config_for(o)) == 0 ||
      (!o.control.empty() && o.control != "lie" && o.control != "torn")) {
    return usage(argv[0]);
  }
  std::string dir = o.dir;
  if (dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-crash-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return std::perror("mkdtemp"), 2;
    dir = pattern;
  }
  const std::string path = dir + "/crash.weftlog";
  std::printf("crash: seed %llu, %d writers, %u threads, %d MiB log, timeout %llu ms, target %d kills (%s)\n",
              static_cast<unsigned long long>(o.seed), o.writers, o.threads, o.log_mib,
              static_cast<unsigned long long>(o.timeout_ms), o.kills, path.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  Totals totals;
  while (totals.kills < o.kills && !totals.setup_failed) {
    Parent parent(o, path);
    (void)parent.run_epoch(o.kills - totals.kills, totals);
  }
  if (o.dir.empty() && !o.keep_files) std::filesystem::remove_all(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t lost = totals.confirmed_exchanges - totals.recovered_exchanges - totals.trimmed_exchanges;
  char ring[128] = "";
  if (o.ring) {
    std::snprintf(ring, sizeof ring, "ring: segments recycled %llu, turns recycled away %zu, ",
                  static_cast<unsigned long long>(totals.segments_recycled), 2 * totals.trimmed_exchanges);
  }
  char line[800];
  std::snprintf(line, sizeof line,
                "crash: kills %d (mid-exchange %d), epochs %d, checks %d, turns confirmed %zu, turns recovered %zu, "
                "%sturns lost %zu, turns visible %zu, exchanges not committed %zu, recover_log runs %d (records "
                "kept %llu, torn dropped %llu, rebuilt %llu), violations %zu, %.1f s\n",
                totals.kills, totals.kills_mid_exchange, totals.epochs, totals.checks, 2 * totals.confirmed_exchanges,
                2 * totals.recovered_exchanges, ring, 2 * lost, 2 * totals.visible_exchanges, totals.not_committed,
                totals.recoveries, static_cast<unsigned long long>(totals.recovered_records),
                static_cast<unsigned long long>(totals.recovery_dropped_torn),
                static_cast<unsigned long long>(totals.recovery_rebuilt), totals.violations, seconds);
  std::fputs(line, stdout);
  if (!o.summary.empty()) {
    if (FILE* f = std::fopen(o.summary.c_str(), "w")) {
      std::fputs(line, f);
      std::fclose(f);
    }
  }
  if (totals.setup_failed) return 2;
  return lost == 0 && totals.violations == 0 ? 0 : 1;
}

}  // namespace
}  // namespace weft::crash

int main(int argc, char** argv) { return weft::crash::run(argc, argv); }
