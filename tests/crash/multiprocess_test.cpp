// The multi-process test: one TurnLog and one LockTable in two POSIX
// shared-memory objects, used at once by three processes (each joined to
// both with posix_liveness).
//
// - Two writer processes loop: take an exclusive lease on a random session
//   key k (LockTable), begin an exchange on conversation thread k fenced by
//   the lease's token, append the user turn and the assistant turn, commit,
//   release. One lease in twenty is abandoned instead: a short lease whose
//   holder stalls mid-exchange past the deadline and never releases; the
//   next acquirer takes the key over (L4) and the stalled holder's commit
//   must then fail with stale_fence (T9).
// - A reader process loops: take a shared lease on a random key, check every
//   thread of the log (whole turns, order, T5 prefixes across its own
//   snapshots: tests/crash/log_checker.h), release.
// Each reports every lease (key, mode, token, when it was acquired and when
// its use ended, the exchange's ticket and commit status) through a pipe.
//
// The parent then checks the union:
//   L1  per key, no two reported holding intervals overlap (an interval is
//       [after try_acquire returned, before release was called], capped at
//       the earliest possible deadline: inside the real holding time);
//   L3  per key, tokens strictly increase in acquisition order;
//   T9  per thread, committed exchanges' tickets increase with their tokens
//       (a stale holder never committed after a newer one began);
//   T1-T6 on the final log: every exchange a writer committed is there
//       exactly once and whole (log_checker.h), and the reader saw no
//       violation in any of its snapshots.
// Prints "multiprocess: ..." with the counts; exits 1 on a violation.
//
//   weft_multiprocess_test [--seconds S] [--keys K] [--seed N] [--summary FILE]
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "crash/log_checker.h"
#include "weft/mapping.h"

namespace weft::crash {
namespace {

constexpr const char* prefix = "mp";
constexpr std::uint64_t lease_ns = 200'000'000;          // 200 ms
constexpr std::uint64_t abandoned_lease_ns = 5'000'000;  // 5 ms: expires, taken over

/// One lease as its holder saw it, or a process's final summary.
struct Report {
  enum Kind : std::uint8_t { lease = 1, reader_summary = 2, failed = 3 };
  std::uint8_t kind = 0;
  std::uint8_t process = 0;
  std::uint8_t mode = 0;         ///< LockMode
  std::uint8_t abandoned = 0;    ///< 1: never released, left to expire
  std::uint32_t key = 0;         ///< session key index (= conversation thread index)
  std::uint64_t token = 0;       ///< fencing token
  std::uint64_t acquired_ns = 0; ///< after try_acquire returned
  std::uint64_t released_ns = 0; ///< before release (capped at the earliest deadline)
  std::uint64_t ticket = 0;      ///< writer: the exchange's ticket (0: none begun)
  std::uint32_t status = 0;      ///< writer: commit's LogStatus; reader summary: violations
  std::uint32_t release = 0;     ///< the release's LockStatus (abandoned: 0)
};
static_assert(sizeof(Report) == 48, "one report is one small atomic write");

std::uint64_t now_ns() { return steady_clock().now(); }

void sleep_us(std::uint64_t us) {
  timespec t{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000 * 1000)};
  while (::nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

struct Names {
  std::string log, table;
};

TurnLog::Config log_config() {
  TurnLog::Config c;
  c.segment_bytes = 64 * 1024;
  c.segment_count = 512;  // 32 MiB: keep_all, larger than a run writes
  c.thread_capacity = 64;
  c.exchanges_per_thread = 16;
  c.reader_slots = 16;
  c.exchange_timeout_ns = 2'000'000'000ULL;
  c.process_slots = 5;  // the three processes, the parent, and slot 0
  return c;
}

// Maps both objects and attaches; exits the child on failure.
struct Attached {
  MapResult log_map, table_map;
  TurnLog log;
  LockTable table;
  explicit Attached(const Names& n, int fd, std::uint8_t process) {
    log_map = open_shm_mapping(n.log.c_str());
    table_map = open_shm_mapping(n.table.c_str());
    if (log_map.status != MapStatus::ok || table_map.status != MapStatus::ok ||
        attach_log(log_map.mapping, steady_clock(), &log) != MapStatus::ok ||
        attach_table(table_map.mapping, steady_clock(), &table) != MapStatus::ok ||
        log.join(posix_liveness()) != LogStatus::ok || table.join(posix_liveness()) != LockStatus::ok) {
      Report r;
      r.kind = Report::failed;
      r.process = process;
      (void)send(fd, r);
      std::_Exit(3);
    }
  }
};

[[noreturn]] void writer_main(const Names& names, std::uint8_t process, std::uint32_t keys, std::uint64_t until_ns,
                              std::uint64_t seed, int fd) {
  Attached a(names, fd, process);
  std::mt19937_64 rng(splitmix(seed ^ process));
  for (std::uint64_t n = 0; now_ns() < until_ns; n++) {
    const auto k = static_cast<std::uint32_t>(rng() % keys);
    const bool abandon = rng() % 20 == 0;
    const std::uint64_t lease = abandon ? abandoned_lease_ns : lease_ns;
    const std::uint64_t asked_ns = now_ns();
    const OwnerId owner = (static_cast<std::uint64_t>(process) << 40) | (n + 1);
    const AcquireResult got = a.table.try_acquire(thread_id(prefix, k), owner, LockMode::exclusive, lease);
    if (got.status != LockStatus::acquired) {
      sleep_us(rng() % 100);  // busy (or contended): another session next time
      continue;
    }
    Report r;
    r.kind = Report::lease;
    r.process = process;
    r.mode = static_cast<std::uint8_t>(LockMode::exclusive);
    r.key = k;
    r.token = got.token;
    r.acquired_ns = now_ns();
    const std::string request = "w" + std::to_string(process) + "-" + std::to_string(n);
    const BeginResult b = a.log.begin_exchange(thread_id(prefix, k), id_from_string(request), BeginPolicy::queue, got.token);
    LogStatus st = b.status;
    if (st == LogStatus::ok) {
      r.ticket = b.exchange.ticket;
      const std::string user = payload_of(k, b.exchange.ticket, 0);
      const std::string answer = payload_of(k, b.exchange.ticket, 1);
      st = a.log.append(b.exchange, Role::user, user.data(), user.size());
      // An abandoned lease's holder stalls past its deadline mid-exchange (a
      // zombie): another writer may take the key over and begin with a newer
      // token, and then this commit must answer stale_fence (T9).
      if (abandon) sleep_us(3 * abandoned_lease_ns / 1000);
      if (st == LogStatus::ok) st = a.log.append(b.exchange, Role::assistant, answer.data(), answer.size());
      if (st == LogStatus::ok) {
        st = a.log.commit(b.exchange);
      } else {
        (void)a.log.abort(b.exchange);
      }
    }
    r.status = static_cast<std::uint32_t>(st);
    // The use ends here, and no later than the earliest possible deadline.
    r.released_ns = std::min(now_ns(), asked_ns + lease);
    if (abandon) {
      r.abandoned = 1;
    } else {
      r.release = static_cast<std::uint32_t>(a.table.release(thread_id(prefix, k), got.token).status);
    }
    if (!send(fd, r)) std::_Exit(4);
    sleep_us(rng() % 300);
  }
  std::_Exit(0);
}

[[noreturn]] void reader_main(const Names& names, std::uint8_t process, std::uint32_t keys, std::uint64_t until_ns,
                              std::uint64_t seed, int fd) {
  Attached a(names, fd, process);
  std::mt19937_64 rng(splitmix(seed ^ 0xBEEF));
  LogChecker checker(prefix, keys, log_config().exchanges_per_thread);
  std::uint64_t checks = 0, turns = 0;
  for (std::uint64_t n = 0; now_ns() < until_ns; n++) {
    const auto k = static_cast<std::uint32_t>(rng() % keys);
    const std::uint64_t asked_ns = now_ns();
    const AcquireResult got = a.table.try_acquire(thread_id(prefix, k), 0xF00000000000ULL + n + 1, LockMode::shared, lease_ns);
    if (got.status != LockStatus::acquired) {
      sleep_us(rng() % 200);
      continue;
    }
    Report r;
    r.kind = Report::lease;
    r.process = process;
    r.mode = static_cast<std::uint8_t>(LockMode::shared);
    r.key = k;
    r.token = got.token;
    r.acquired_ns = now_ns();
    turns = checker.check(a.log, false).visible_turns;  // every thread: T2-T6 and T5 across snapshots
    checks++;
    r.released_ns = std::min(now_ns(), asked_ns + lease_ns);
    r.release = static_cast<std::uint32_t>(a.table.release(thread_id(prefix, k), got.token).status);
    if (!send(fd, r)) std::_Exit(4);
    sleep_us(2000 + rng() % 3000);
  }
  Report summary;
  summary.kind = Report::reader_summary;
  summary.process = process;
  summary.status = static_cast<std::uint32_t>(checker.violations().size());
  summary.token = checks;
  summary.ticket = turns;
  (void)send(fd, summary);
  std::_Exit(0);
}

int run(int argc, char** argv) {
  double seconds = 2.0;
  std::uint32_t keys = 4;
  std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::string summary_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--summary") summary_path = argv[i + 1];
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--keys") keys = static_cast<std::uint32_t>(std::atoi(argv[i + 1]));
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else return std::fprintf(stderr, "usage: %s [--seconds S] [--keys K] [--seed N] [--summary FILE]\n", argv[0]), 2;
  }
  if (argc % 2 == 0 || seconds <= 0 || keys < 1 || keys > 64) {
    return std::fprintf(stderr, "usage: %s [--seconds S] [--keys K] [--seed N] [--summary FILE]\n", argv[0]), 2;
  }
  const std::string tag = "/weft-mp-" + std::to_string(::getpid());
  const Names names{tag + "-log", tag + "-locks"};
  MapResult log_map = create_shm_mapping(names.log.c_str(), TurnLog::region_bytes(log_config()));
  LockTable::Config table_config;
  table_config.capacity = 256;
  table_config.process_slots = 5;
  MapResult table_map = create_shm_mapping(names.table.c_str(), LockTable::region_bytes(table_config));
  TurnLog log;
  LockTable table;
  if (log_map.status != MapStatus::ok || table_map.status != MapStatus::ok ||
      format_log(log_map.mapping, log_config(), steady_clock(), &log) != MapStatus::ok ||
      format_table(table_map.mapping, table_config, steady_clock(), &table) != MapStatus::ok) {
    std::fprintf(stderr, "multiprocess: cannot create the shared memory: %s, %s\n", to_string(log_map.status),
                 to_string(table_map.status));
    (void)unlink_shm(names.log.c_str());
    (void)unlink_shm(names.table.c_str());
    return 2;
  }
  std::printf("multiprocess: seed %llu, 2 writers + 1 reader, %u keys, %.1f s, shm %s-{log,locks}\n",
              static_cast<unsigned long long>(seed), keys, seconds, tag.c_str());
  std::fflush(stdout);
  const std::uint64_t until_ns = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
  struct Child {
    pid_t pid;
    int fd;
  };
  std::vector<Child> children;
  for (std::uint8_t p = 0; p < 3; p++) {
    int fds[2];
    if (::pipe(fds) != 0) return std::perror("pipe"), 2;
    const pid_t pid = ::fork();
    if (pid < 0) return std::perror("fork"), 2;
    if (pid == 0) {
      ::close(fds[0]);
      for (const Child& c : children) ::close(c.fd);
      if (p < 2) writer_main(names, p, keys, until_ns, seed, fds[1]);
      reader_main(names, p, keys, until_ns, seed, fds[1]);
    }
    ::close(fds[1]);
    children.push_back(Child{pid, fds[0]});
  }
  // The names can go now: every process has mapped them or will fail to.
  std::vector<Report> leases;
  LogChecker checker(prefix, keys, log_config().exchanges_per_thread);
  std::size_t committed = 0, stale_fences = 0, abandoned = 0, reader_checks = 0, reader_violations = 0,
              not_committed = 0, failed = 0;
  bool reader_reported = false;
  std::map<std::string, std::size_t> not_committed_why;
  for (Child& c : children) {
    while (drain<Report>(c.fd, 1000, [&](const Report& r) {
      if (r.kind == Report::lease) {
        leases.push_back(r);
        if (r.abandoned) abandoned++;
        if (r.mode == static_cast<std::uint8_t>(LockMode::exclusive)) {
          if (r.status == static_cast<std::uint32_t>(LogStatus::ok)) {
            committed++;
            checker.confirm(r.key, r.ticket);
          } else if (r.status == static_cast<std::uint32_t>(LogStatus::stale_fence)) {
            stale_fences++;
          } else {
            not_committed++;
            not_committed_why[to_string(static_cast<LogStatus>(r.status))]++;
          }
        }
      } else if (r.kind == Report::reader_summary) {
        reader_reported = true;
        reader_checks = r.token;
        reader_violations = r.status;
      } else {
        failed++;
      }
    })) {
    }
    ::close(c.fd);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  (void)unlink_shm(names.log.c_str());
  (void)unlink_shm(names.table.c_str());

  std::size_t violations = reader_violations + (reader_reported ? 0 : 1);
  // L1 and L3 per key, from the reported intervals in acquisition order.
  std::map<std::uint32_t, std::vector<Report>> by_key;
  for (const Report& r : leases) by_key[r.key].push_back(r);
  for (auto& [key, list] : by_key) {
    std::sort(list.begin(), list.end(), [](const Report& x, const Report& y) { return x.acquired_ns < y.acquired_ns; });
    for (std::size_t i = 1; i < list.size(); i++) {
      const Report& before = list[i - 1];
      const Report& after = list[i];
      const bool both_shared = before.mode == static_cast<std::uint8_t>(LockMode::shared) &&
                               after.mode == static_cast<std::uint8_t>(LockMode::shared);
      if (!both_shared && after.acquired_ns < before.released_ns) {
        std::fprintf(stderr, "VIOLATION L1: key %u held by process %u (token %llu) and %u (token %llu) at once\n",
                     key, before.process, static_cast<unsigned long long>(before.token), after.process,
                     static_cast<unsigned long long>(after.token));
        violations++;
      }
      if (after.token <= before.token && !(both_shared && after.token == before.token)) {
        std::fprintf(stderr, "VIOLATION L3: key %u token %llu after token %llu\n", key,
                     static_cast<unsigned long long>(after.token), static_cast<unsigned long long>(before.token));
        violations++;
      }
    }
    // L2: the holder's own release succeeds (or finds its lease already
    // expired and taken: stale / not_held); never not_owner or an error.
    for (const Report& r : list) {
      const auto release = static_cast<LockStatus>(r.release);
      if (!r.abandoned && release != LockStatus::released && release != LockStatus::stale &&
          release != LockStatus::not_held) {
        std::fprintf(stderr, "VIOLATION L2: key %u token %llu: release said %s\n", key,
                     static_cast<unsigned long long>(r.token), to_string(release));
        violations++;
      }
    }
    // T9: committed exchanges of thread `key` in token order have increasing tickets.
    std::uint64_t last_ticket = 0;
    for (const Report& r : list) {
      if (r.mode != static_cast<std::uint8_t>(LockMode::exclusive) || r.status != static_cast<std::uint32_t>(LogStatus::ok)) continue;
      if (r.ticket <= last_ticket) {
        std::fprintf(stderr, "VIOLATION T9: thread %u: ticket %llu (token %llu) committed after ticket %llu\n", key,
                     static_cast<unsigned long long>(r.ticket), static_cast<unsigned long long>(r.token),
                     static_cast<unsigned long long>(last_ticket));
        violations++;
      }
      last_ticket = r.ticket;
    }
  }
  // T1-T6 on the final log (everyone has finished: a final check).
  const LogChecker::Counts counts = checker.check(log, true);
  violations += checker.violations().size();
  const std::size_t lost = committed - counts.confirmed_found;
  std::string why;
  for (const auto& [status, n] : not_committed_why) why += (why.empty() ? " (" : ", ") + status + " " + std::to_string(n);
  if (!why.empty()) why += ")";
  char line[768];
  std::snprintf(line, sizeof line,
                "multiprocess: leases %zu (abandoned and taken over %zu), exchanges committed %zu, stale fences %zu, "
                "not committed %zu%s, turns in log %zu, committed turns lost %zu, reader checks %zu, failures %zu, "
                "violations %zu\n",
                leases.size(), abandoned, committed, stale_fences, not_committed, why.c_str(), counts.visible_turns,
                2 * lost, reader_checks, failed, violations);
  std::fputs(line, stdout);
  if (!summary_path.empty()) {
    if (FILE* f = std::fopen(summary_path.c_str(), "w")) {
      std::fputs(line, f);
      std::fclose(f);
    }
  }
  return violations == 0 && lost == 0 && failed == 0 && committed > 0 ? 0 : 1;
}

}  // namespace
}  // namespace weft::crash

int main(int argc, char** argv) { return weft::crash::run(argc, argv); }
