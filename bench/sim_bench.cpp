// How fast the simulator explores: schedules per second for a program of two
// logical threads and 100 scheduling points (50 atomic steps each), with
// user-space fibers, against a baseline that hands control between two OS
// threads at every step (what a simulator built on real threads pays).
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "weft/atomic.h"
#include "weft/sim/sim.h"

namespace {

void two_threads_hundred_steps(weft::sim::Run& run) {
  auto* counter = run.own(new weft::atomic<int>(0));
  for (int t = 0; t < 2; t++) {
    run.thread("stepper", [counter] {
      for (int i = 0; i < 50; i++) counter->fetch_add(1);
    });
  }
  run.check([counter] { return counter->load() == 100 ? std::string() : std::string("lost"); });
}

void BM_sim_schedules_2_threads_100_steps(benchmark::State& state) {
  const auto strategy = static_cast<weft::sim::Strategy>(state.range(0));
  std::uint64_t schedules = 0;
  std::uint64_t seed = 1;
  for (auto _ : state) {
    weft::sim::Options options;
    options.strategy = strategy;
    options.seed = seed;
    options.schedules = 100;
    const weft::sim::Report report = weft::sim::explore(two_threads_hundred_steps, options);
    if (report.violations != 0) state.SkipWithError("unexpected violation");
    schedules += report.schedules;
    seed += 100;
  }
  state.counters["schedules_per_s"] = benchmark::Counter(static_cast<double>(schedules), benchmark::Counter::kIsRate);
  state.SetLabel(weft::sim::to_string(strategy));
}
BENCHMARK(BM_sim_schedules_2_threads_100_steps)
    ->Arg(static_cast<int>(weft::sim::Strategy::random))
    ->Arg(static_cast<int>(weft::sim::Strategy::pct))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Baseline: the same 100 steps, each a hand-off between two OS threads
// (mutex + condition variable, as a thread-based scheduler would do).
void BM_os_thread_handoff_100_steps(benchmark::State& state) {
  std::uint64_t schedules = 0;
  for (auto _ : state) {
    std::mutex mutex;
    std::condition_variable turn_changed;
    int turn = 0;
    int counter = 0;
    auto body = [&](int me) {
      for (int i = 0; i < 50; i++) {
        std::unique_lock<std::mutex> lock(mutex);
        turn_changed.wait(lock, [&] { return turn == me; });
        counter++;
        turn = 1 - me;
        turn_changed.notify_all();
      }
    };
    std::thread a(body, 0), b(body, 1);
    a.join();
    b.join();
    benchmark::DoNotOptimize(counter);
    schedules++;
  }
  state.counters["schedules_per_s"] = benchmark::Counter(static_cast<double>(schedules), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_os_thread_handoff_100_steps)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
