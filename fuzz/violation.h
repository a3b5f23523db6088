// How the schedule fuzzers die on a violation: the checker's report and the
// schedule on stderr, then abort() from a frame named after the contract the
// report begins with (T1 ... T10, L1 ... L9), so that crash triage that groups
// by stack (ClusterFuzz, OSS-Fuzz) files different broken contracts apart.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "weft/sim/sim.h"

namespace weft::fuzz {

// Each body differs (its line), so no linker folds two of them into one frame.
#define WEFT_FUZZ_CONTRACT(name)                                     \
  [[noreturn]] __attribute__((noinline)) inline void broke_##name() { \
    volatile int line = __LINE__;                                     \
    (void)line;                                                       \
    std::abort();                                                     \
  }
WEFT_FUZZ_CONTRACT(T1)
WEFT_FUZZ_CONTRACT(T2)
WEFT_FUZZ_CONTRACT(T3)
WEFT_FUZZ_CONTRACT(T4)
WEFT_FUZZ_CONTRACT(T5)
WEFT_FUZZ_CONTRACT(T6)
WEFT_FUZZ_CONTRACT(T7)
WEFT_FUZZ_CONTRACT(T8)
WEFT_FUZZ_CONTRACT(T9)
WEFT_FUZZ_CONTRACT(T10)
WEFT_FUZZ_CONTRACT(L1)
WEFT_FUZZ_CONTRACT(L9)
WEFT_FUZZ_CONTRACT(runaway_loop)
WEFT_FUZZ_CONTRACT(other)
#undef WEFT_FUZZ_CONTRACT

/// The contract a failure text names first ("context: T4: ..." names T4).
inline std::string contract_of(const std::string& failure) {
  for (std::size_t i = 0; i + 1 < failure.size(); i++) {
    const char c = failure[i];
    if ((c == 'T' || c == 'L') && (i == 0 || failure[i - 1] == ' ' || failure[i - 1] == '/') &&
        failure[i + 1] >= '1' && failure[i + 1] <= '9') {
      std::size_t j = i + 1;
      while (j < failure.size() && failure[j] >= '0' && failure[j] <= '9') j++;
      if (j < failure.size() && (failure[j] == ':' || failure[j] == '/')) return failure.substr(i, j - i);
    }
  }
  return failure.rfind("runaway loop", 0) == 0 ? "runaway_loop" : "other";
}

/// Reports a failed run and aborts (see the file comment).
[[noreturn]] inline void die(const char* fuzzer, const sim::Report& report) {
  std::fprintf(stderr, "%s: %s\nschedule: %s\n", fuzzer, report.failure.c_str(), report.schedule.c_str());
  if (std::getenv("WEFT_FUZZ_TABLE") != nullptr) std::fprintf(stderr, "%s", report.table.c_str());
  const std::string c = contract_of(report.failure);
  if (c == "T1") broke_T1();
  if (c == "T2") broke_T2();
  if (c == "T3") broke_T3();
  if (c == "T4") broke_T4();
  if (c == "T5") broke_T5();
  if (c == "T6") broke_T6();
  if (c == "T7") broke_T7();
  if (c == "T8") broke_T8();
  if (c == "T9") broke_T9();
  if (c == "T10") broke_T10();
  if (c == "L1") broke_L1();
  if (c == "L9") broke_L9();
  if (c == "runaway_loop") broke_runaway_loop();
  broke_other();
}

}  // namespace weft::fuzz
