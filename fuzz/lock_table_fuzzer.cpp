// lock_table_fuzzer: the input chooses both the operations and the schedule.
//
//   byte 0            threads: 2 + (byte % 2); bit 2: the two keys share a
//                     home slot (their claims move each other's slots; leases
//                     are then all long, as the model knows no eviction)
//   then per thread   1 byte: operations 1 + (byte % 3), then one byte each:
//                     kind = byte % 6 (acquire exclusive, acquire shared,
//                     release own token, release a stale token, renew,
//                     cancel or poll), key = bit 3, long lease = bit 4
//   the rest          the simulator's choices (Strategy::external): which
//                     thread runs at each step, and when the clock moves
//
// The run's LockTable history must be linearizable (L1-L9). A violation
// prints the checker's report and the schedule, then aborts, so the crash
// file replays it. Built as a libFuzzer target in the fuzz preset; in other
// builds with standalone_main.cpp, which runs files or directories.
#include <cstdint>
#include <vector>

#include "weft/sim/lock_recorder.h"
#include "weft/sim/sim.h"
#include "violation.h"

namespace {

struct Op {
  int kind = 0;
  int key = 0;
  bool long_lease = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t at = 0;
  auto next = [&](std::uint8_t fallback) { return at < size ? data[at++] : fallback; };
  const std::uint8_t setup = next(0);
  const int threads = 2 + setup % 2;
  const bool neighbours = ((setup >> 2) & 1) != 0;
  std::vector<std::vector<Op>> plan(static_cast<std::size_t>(threads));
  for (auto& ops : plan) {
    const int count = 1 + next(0) % 3;
    for (int i = 0; i < count; i++) {
      const std::uint8_t b = next(0);
      ops.push_back(Op{b % 6, (b >> 3) & 1, neighbours || ((b >> 4) & 1) != 0});
    }
  }
  weft::sim::Options options;
  options.strategy = weft::sim::Strategy::external;
  options.bytes = data + at;
  options.bytes_length = size - at;
  options.time_step_max_ns = 400;
  options.minimise = false;
  const weft::sim::Report report = weft::sim::explore(
      [&plan, neighbours](weft::sim::Run& run) {
        auto* w = run.own(new weft::sim::LockRecorder(run, 2, neighbours));
        for (std::size_t t = 0; t < plan.size(); t++) {
          const std::vector<Op>* ops = &plan[t];
          const weft::OwnerId owner = 100 + t;
          run.thread("client", [w, ops, owner] {
            weft::Token mine[2] = {0, 0};
            for (const Op& op : *ops) {
              const std::uint64_t lease = op.long_lease ? 1'000'000'000ULL : 700;
              switch (op.kind) {
                case 0:
                case 1: {
                  const auto r = w->acquire(op.key, owner, op.kind == 0 ? weft::LockMode::exclusive : weft::LockMode::shared, lease);
                  if (r.status == weft::LockStatus::acquired) mine[op.key] = r.token;
                  break;
                }
                case 2: (void)w->release(op.key, mine[op.key] != 0 ? mine[op.key] : 1); break;
                case 3: (void)w->release(op.key, 1); break;
                case 4: (void)w->renew(op.key, mine[op.key] != 0 ? mine[op.key] : 1, lease); break;
                default:
                  if (mine[op.key] != 0) (void)w->poll(op.key, mine[op.key]);
                  else (void)w->cancel(op.key);
              }
            }
          });
        }
        run.check([w] { return w->check(); });
      },
      options);
  if (report.violations != 0) weft::fuzz::die("lock_table_fuzzer", report);
  return 0;
}
