// The scenarios of docs/SCENARIOS.md (S1-S5) as simulator programs over weft's
// structures, each with the checker that decides it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "weft/sim/sim.h"

namespace weft::hunt {

/// One scenario: a program for weft::sim::explore and what it checks.
struct Scenario {
  std::string id;          ///< "S1.a"
  std::string title;       ///< one line
  std::string checks;      ///< the contracts its checker decides, "T1 T3 T7"
  std::function<void(sim::Run&)> program;  ///< threads + checker
  std::uint64_t time_step_max_ns = 0;      ///< how far random/PCT may move the clock per step
  std::uint64_t kill_one_in = 0;           ///< random/PCT: odds of killing a mortal thread per step
};

/// Every scenario, in order.
std::vector<Scenario> all_scenarios();

}  // namespace weft::hunt
