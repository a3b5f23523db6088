// turn_log_fuzzer: the input chooses the operations and the schedule of a
// chat service's TurnLog, and the run's history is checked (T1-T9).
//
//   byte 0          setup: logical threads 2 + (b % 3); bit 2: retention
//                   recycle_oldest (else keep_all); bit 3: two conversations
//   then per thread 1 byte: operations 1 + (b % 4), then one byte each:
//                   kind = b % 11, conversation = bit 4, n = b >> 5 (0..7)
//                     0 request: begin (queue), question, context, answer, commit
//                     1 the same with begin policy reject_if_busy
//                     2 the same with the answer streamed in two chunks
//                     3 the same, offering its exchange to tool calls
//                     4 request that aborts after its question
//                     5 request whose worker dies after its question
//                     6 tool call: streams a tool turn into the offered exchange
//                     7 snapshot, checked (and against this thread's last, T5)
//                     8 holds a snapshot while others run (T8)
//                     9 n odd: trim through ticket n / 2; n even: a burst of
//                       three one-turn exchanges (churn that recycles)
//                     10 the clock moves half an exchange timeout
//                   requests use request id n + 1, so threads collide (T2);
//                   requests with n 6 and 7 begin with fencing tokens 1 and 2 (T9)
//   the rest        the simulator's choices (Strategy::external)
//
// A violation prints the checker's report and the schedule, then aborts, so
// the crash file replays it (WEFT_FUZZ_TABLE=1 adds the interleaving table).
// Built as a libFuzzer target in the fuzz preset; elsewhere with
// standalone_main.cpp, which runs files or directories.
#include <cstdint>
#include <string>
#include <vector>

#include "weft/sim/sim.h"
#include "violation.h"
#include "weft/sim/turn_recorder.h"

namespace {

struct Op {
  int kind = 0;
  int conv = 0;
  int n = 0;
};

using Recorder = weft::sim::TurnRecorder;

void perform(Recorder* w, const Op& op, int thread, std::vector<std::string> previous[2]) {
  Recorder::Request r;
  r.conv = op.conv;
  r.id = static_cast<std::uint64_t>(op.n) + 1;
  if (op.n >= 6) r.fence = static_cast<weft::Token>(op.n - 5);  // n 6, 7: fencing tokens 1, 2 (T9)
  switch (op.kind) {
    case 0: w->request(r); break;
    case 1: r.policy = weft::BeginPolicy::reject_if_busy; w->request(r); break;
    case 2: r.stream_answer = true; w->request(r); break;
    case 3: r.offer_tool = true; w->request(r); break;
    case 4: r.ending = Recorder::Ending::abort; w->request(r); break;
    case 5: r.ending = Recorder::Ending::abandon; w->request(r); break;
    case 6: w->tool(); break;
    case 7: w->read(op.conv, &previous[op.conv]); break;
    case 8: w->hold(op.conv); break;
    case 9:
      if (op.n % 2 == 1) w->trim(op.conv, static_cast<std::uint64_t>(op.n / 2));
      else w->burst(op.conv, 1000 + 10 * static_cast<std::uint64_t>(thread), 3);
      break;
    default: weft::sim::sleep_for(Recorder::second / 2); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t at = 0;
  auto next = [&](std::uint8_t fallback) { return at < size ? data[at++] : fallback; };
  const std::uint8_t setup = next(0);
  const int threads = 2 + setup % 3;
  const bool recycle = ((setup >> 2) & 1) != 0;
  const int convs = 1 + ((setup >> 3) & 1);
  std::vector<std::vector<Op>> plan(static_cast<std::size_t>(threads));
  for (auto& ops : plan) {
    const int count = 1 + next(0) % 4;
    for (int i = 0; i < count; i++) {
      const std::uint8_t b = next(0);
      ops.push_back(Op{b % 11, ((b >> 4) & 1) % convs, b >> 5});
    }
  }
  weft::sim::Options options;
  options.strategy = weft::sim::Strategy::external;
  options.bytes = data + at;
  options.bytes_length = size - at;
  options.time_step_max_ns = 20'000;
  options.minimise = false;
  const weft::sim::Report report = weft::sim::explore(
      [&plan, recycle, convs](weft::sim::Run& run) {
        auto* w = run.own(new Recorder(run, Recorder::small_config(recycle ? weft::TurnLog::Retention::recycle_oldest
                                                                           : weft::TurnLog::Retention::keep_all)));
        for (std::size_t t = 0; t < plan.size(); t++) {
          const std::vector<Op>* ops = &plan[t];
          const int thread = static_cast<int>(t);
          run.thread("client", [w, ops, thread] {
            std::vector<std::string> previous[2];
            for (const Op& op : *ops) perform(w, op, thread, previous);
          });
        }
        run.check([w, convs] { return w->check(convs); });
      },
      options);
  if (report.violations != 0) weft::fuzz::die("turn_log_fuzzer", report);
  return 0;
}
