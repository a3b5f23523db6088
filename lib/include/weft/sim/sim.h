// weft/sim/sim.h: the deterministic race simulator (test support; the
// `weft::sim` target; never in production).
//
// A *program* declares logical threads and a checker on a Run. The simulator
// runs the threads one at a time on user-space fibers: every weft::atomic
// operation and every WEFT_RACE_POINT in code built with the sim seam is a
// scheduling point where a *strategy* picks the thread that goes next. The
// same options (strategy, seed) give the same schedule and the same result,
// bit for bit; a failing schedule prints as a string that replays it.
//
//   weft::sim::Options options;
//   options.strategy = weft::sim::Strategy::pct;
//   options.schedules = 10'000;
//   const weft::sim::Report report = weft::sim::explore([](weft::sim::Run& run) {
//     auto* table = run.own(new MyStructure(run.clock()));
//     run.thread("writer", [=] { table->insert(1); });
//     run.thread("reader", [=] { (void)table->find(1); });
//     run.check([=] { return table->size() == 1 ? "" : "lost an insert"; });
//   }, options);
//   if (report.violations) std::puts(report.failure.c_str());
//
// Time is virtual: run.clock() reads the run's clock, which moves only when a
// thread calls sleep_for() or spins in a weft back-off, or when the strategy
// advances it between steps (time_step_max_ns), so lease and exchange expiry
// are explored, not waited for.
//
// What it does not model: orderings weaker than sequential consistency (it
// explores interleavings of whole atomic steps, not store buffers or
// reordering). The TSan runs of the real-thread stress tests cover those.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/clock.h"
#include "weft/sim/atomic.h"

namespace weft::sim {

/// How the next thread is chosen at each scheduling point.
enum class Strategy : std::uint8_t {
  random,      ///< uniform among runnable threads, from the seed
  pct,         ///< probabilistic concurrency testing with bug depth `pct_depth`
  exhaustive,  ///< every schedule with at most `preemption_bound` preemptions
  replay,      ///< the schedule in Options::replay
  external,    ///< choices read from Options::bytes (libFuzzer input)
};

/// A short name ("pct") of a strategy.
const char* to_string(Strategy strategy) noexcept;

/// What explore() does.
struct Options {
  Strategy strategy = Strategy::random;  ///< see Strategy
  std::uint64_t seed = 1;                ///< first seed; schedule i uses seed + i
  std::uint64_t schedules = 1000;        ///< budget: schedules to run (exhaustive: at most)
  std::uint32_t pct_depth = 3;           ///< PCT bug depth d (d - 1 priority change points)
  std::uint32_t preemption_bound = 2;    ///< exhaustive: preemptions per schedule
  std::uint64_t step_bound = 200'000;    ///< steps per schedule before "runaway loop"
  std::uint64_t time_step_max_ns = 0;    ///< random/pct: advance the clock up to this at a step
  /// random/pct: at each step, kill the chosen thread with odds 1 in this
  /// if it is mortal (Run::mortal_thread); 0: never. A kill is a choice of
  /// the schedule ("k2" in its string), so it replays.
  std::uint64_t kill_one_in = 0;
  std::string replay;                    ///< replay: a schedule string from a report
  const std::uint8_t* bytes = nullptr;   ///< external: the choices
  std::size_t bytes_length = 0;          ///< external: how many
  bool check_determinism = false;        ///< run each schedule twice and compare traces
  bool minimise = true;                  ///< shrink a failing schedule before reporting
  bool stop_at_first_violation = true;   ///< end the exploration at the first failure
  /// Called every `progress_every` schedules with the report so far (may be null).
  std::function<void(const struct Report&)> progress;
  std::uint64_t progress_every = 1000;   ///< see progress
};

/// One scheduling point of a trace.
struct Step {
  std::uint16_t thread = 0;   ///< logical thread that ran the step
  Op op = Op::load;           ///< what it did
  const void* object = nullptr;  ///< the atomic (null for race points)
  const char* file = nullptr; ///< source file
  int line = 0;               ///< source line
  const char* tag = nullptr;  ///< race-point tag
  std::uint64_t now_ns = 0;   ///< virtual time when it ran
};

/// What explore() found.
struct Report {
  std::uint64_t schedules = 0;       ///< schedules run
  std::uint64_t distinct = 0;        ///< distinct interleavings (trace hashes)
  std::uint64_t violations = 0;      ///< failing schedules
  std::uint64_t steps = 0;           ///< steps over all schedules
  std::uint64_t max_steps = 0;       ///< longest schedule, in steps
  std::uint32_t threads = 0;         ///< logical threads of the program
  bool exhausted = false;            ///< exhaustive: every schedule in the bound was run
  std::string failure;               ///< the first violation: what failed
  std::string schedule;              ///< its schedule string (Strategy::replay)
  std::string minimised;             ///< the shrunk schedule that still fails
  std::string table;                 ///< interleaving table of the (minimised) failure
  std::vector<Step> failing_trace;   ///< the steps of the (minimised) failure
  std::uint64_t failing_seed = 0;    ///< the seed of the first failing schedule
  std::string nondeterminism;        ///< check_determinism: where two runs diverged
  /// Pairs of race-point tags seen to interleave (a step of one thread
  /// between two steps of another), "a | b", sorted.
  std::vector<std::string> interleaved_pairs;
};

struct Report;
class Run;
/// Runs `program` under `options`.
Report explore(const std::function<void(Run&)>& program, const Options& options);

/// The context a program sets up for one schedule.
class Run {
 public:
  /// Adds a logical thread (at most 64).
  void thread(std::string name, std::function<void()> body);
  /// Adds a logical thread that the strategy may kill at any of its steps
  /// (Options::kill_one_in): like SIGKILL, it never runs again and nothing of
  /// it unwinds (its stack is freed; its body must not own heap memory).
  /// killed() tells whether it was.
  void mortal_thread(std::string name, std::function<void()> body);
  /// Sets the checker, called after every thread finished: "" = pass.
  void check(std::function<std::string()> checker);
  /// Keeps `object` alive for this schedule and returns it.
  template <class T>
  T* own(T* object) {
    owned_.push_back(std::shared_ptr<void>(object, [](void* p) { delete static_cast<T*>(p); }));
    return object;
  }
  /// The run's virtual clock.
  [[nodiscard]] Clock clock() noexcept;
  /// Records a note in the trace of this schedule (shown in failure tables).
  void note(const char* tag) noexcept;

 private:
  friend class Simulator;
  friend Report explore(const std::function<void(Run&)>& program, const Options& options);
  std::vector<std::pair<std::string, std::function<void()>>> threads_;
  std::vector<bool> mortal_;
  std::function<std::string()> checker_;
  std::vector<std::shared_ptr<void>> owned_;
  void* simulator_ = nullptr;
};

/// Inside a simulated thread: lets virtual time pass (a scheduling point).
void sleep_for(std::uint64_t ns) noexcept;
/// Inside a simulated thread: the index of the running logical thread (-1 outside).
[[nodiscard]] int current_thread() noexcept;
/// True while the calling OS thread runs a simulation.
[[nodiscard]] bool active() noexcept;
/// True when logical thread `thread` of the running schedule was killed
/// (Run::mortal_thread); false outside a simulation. What a Liveness probe
/// of simulated processes asks.
[[nodiscard]] bool killed(int thread) noexcept;

}  // namespace weft::sim
