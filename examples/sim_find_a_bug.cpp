// Putting your own concurrent code under weft's simulator.
//
// A tiny "seat reservation" structure written by a user: reserve() finds a
// free seat and takes it. Its shared words are weft::atomic, so in a build
// with the sim seam (link weft::weft_sim) every load and store is a point
// where the simulator may switch threads. The buggy version checks "is it
// free?" with a load and then takes the seat with a store: two threads can
// both pass the check. The simulator finds that, prints a schedule string,
// and the schedule replays the failure exactly. The fixed version takes the
// seat with a compare-and-swap and survives the same hunt.
//
//   usage: sim_find_a_bug
#include <weft/atomic.h>
#include <weft/sim/sim.h>

#include <cstdio>
#include <string>

namespace {

struct Seats {
  weft::atomic<int> owner[4];  // 0 = free, else the reserving thread + 1

  // Buggy: check, then act.
  int reserve_racy(int me) {
    for (int seat = 0; seat < 4; seat++) {
      if (owner[seat].load() == 0) {
        WEFT_RACE_POINT("seats.checked_free");
        owner[seat].store(me + 1);
        return seat;
      }
    }
    return -1;
  }
  // Fixed: take the seat in one atomic step.
  int reserve(int me) {
    for (int seat = 0; seat < 4; seat++) {
      int expected = 0;
      if (owner[seat].compare_exchange_strong(expected, me + 1)) return seat;
    }
    return -1;
  }
};

weft::sim::Report hunt(bool fixed, const weft::sim::Options& options) {
  return weft::sim::explore(
      [fixed](weft::sim::Run& run) {
        auto* seats = run.own(new Seats());
        struct Got {
          int seat[2] = {-1, -1};
        };
        auto* got = run.own(new Got());
        for (int t = 0; t < 2; t++) {
          run.thread("guest", [=] { got->seat[t] = fixed ? seats->reserve(t) : seats->reserve_racy(t); });
        }
        run.check([=] {
          if (got->seat[0] >= 0 && got->seat[0] == got->seat[1]) {
            return "both guests got seat " + std::to_string(got->seat[0]);
          }
          return std::string();
        });
      },
      options);
}

}  // namespace

int main() {
  weft::sim::Options options;
  options.strategy = weft::sim::Strategy::pct;
  options.schedules = 10'000;

  const weft::sim::Report racy = hunt(false, options);
  std::printf("racy reserve(): %llu schedules, %llu violation(s)\n",
              static_cast<unsigned long long>(racy.schedules), static_cast<unsigned long long>(racy.violations));
  if (racy.violations == 0) {
    std::printf("FAILED: the simulator should have found the race\n");
    return 1;
  }
  std::printf("  %s\n  schedule:  %s\n  minimised: %s\n%s", racy.failure.c_str(), racy.schedule.c_str(),
              racy.minimised.c_str(), racy.table.c_str());

  weft::sim::Options replay;
  replay.strategy = weft::sim::Strategy::replay;
  replay.replay = racy.minimised;
  const weft::sim::Report again = hunt(false, replay);
  std::printf("replay of the minimised schedule: %s\n", again.violations != 0 ? again.failure.c_str() : "passed?!");

  const weft::sim::Report fixed = hunt(true, options);
  std::printf("fixed reserve(): %llu schedules, %llu violation(s)\n",
              static_cast<unsigned long long>(fixed.schedules), static_cast<unsigned long long>(fixed.violations));
  const bool ok = again.violations != 0 && again.failure == racy.failure && fixed.violations == 0;
  std::printf("%s\n", ok ? "OK: found, replayed, and the fix holds" : "FAILED");
  return ok ? 0 : 1;
}
