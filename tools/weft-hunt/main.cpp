// weft-hunt: runs every scenario of docs/SCENARIOS.md under the deterministic
// simulator with a schedule budget per scenario and strategy, shows live
// progress, and ends with a summary table and what was covered. Exit status
// 1 on any violation (with the command that replays it), 0 when clean.
//
//   weft-hunt                          the default hunt (about a minute)
//   weft-hunt --budget 200000          a longer one
//   weft-hunt --scenario S1.a --replay 'v1:0*12,1*3,...'   replay a failure
//   weft-hunt --expect-violation       (bug zoo) exit 0 only if something fails
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "scenarios.h"
#include "weft/sim/sim.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Row {
  std::string scenario, strategy;
  weft::sim::Report report;
  double seconds = 0;
};

weft::sim::Strategy parse_strategy(const std::string& name, bool& ok) {
  ok = true;
  if (name == "random") return weft::sim::Strategy::random;
  if (name == "pct") return weft::sim::Strategy::pct;
  if (name == "exhaustive") return weft::sim::Strategy::exhaustive;
  ok = false;
  return weft::sim::Strategy::random;
}

void write_chrome_trace(const std::string& path, const Row& row) {
  std::ofstream out(path);
  out << "{\"traceEvents\":[\n";
  bool first = true;
  for (std::size_t i = 0; i < row.report.failing_trace.size(); i++) {
    const weft::sim::Step& s = row.report.failing_trace[i];
    const char* file = s.file != nullptr ? s.file : "?";
    if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
    const std::string name = s.tag != nullptr ? s.tag : std::string(file) + ":" + std::to_string(s.line);
    out << (first ? "" : ",\n") << "{\"name\":\"";
    for (char c : name) out << (c == '"' || c == '\\' ? '_' : c);
    out << "\",\"ph\":\"X\",\"pid\":1,\"tid\":" << s.thread << ",\"ts\":" << i << ",\"dur\":1,\"args\":{\"virtual_ns\":"
        << s.now_ns << "}}";
    first = false;
  }
  out << "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"scenario\":\"" << row.scenario << "\",\"schedule\":\""
      << row.report.minimised << "\"}}\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-hunt: the race hunt over weft's scenarios (S1-S5) in the deterministic simulator"};
  std::uint64_t budget = 30000;
  std::vector<std::string> strategies = {"random", "pct"};
  std::vector<std::string> only;
  std::uint64_t seed = 1;
  std::uint32_t pct_depth = 3;
  std::uint32_t preemptions = 2;
  std::string replay;
  std::string trace_json;
  bool list = false;
  bool expect_violation = false;
  bool determinism = false;
  std::uint32_t detect_runs = 0;
  app.add_option("--budget", budget, "schedules per scenario and strategy")->capture_default_str();
  app.add_option("--strategy", strategies, "random, pct, exhaustive (repeat or comma-separate)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--scenario", only, "run only these scenario ids (e.g. S1.a); default all")->delimiter(',');
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--pct-depth", pct_depth, "PCT bug depth d")->capture_default_str();
  app.add_option("--preemptions", preemptions, "exhaustive: preemption bound")->capture_default_str();
  app.add_option("--replay", replay, "replay one schedule string (needs one --scenario)");
  app.add_option("--trace-json", trace_json, "write the first failure as a Chrome trace (Perfetto, chrome://tracing)");
  app.add_flag("--list", list, "list the scenarios and exit");
  app.add_flag("--check-determinism", determinism, "run every schedule twice and compare the traces");
  app.add_option("--detect-runs", detect_runs,
                 "bug zoo: run each scenario/strategy from this many seeds and print the median "
                 "number of schedules to the first violation");
  app.add_flag("--expect-violation", expect_violation,
               "exit 0 only if a violation is found (for mutant builds: proves the hunt catches the bug)");
  CLI11_PARSE(app, argc, argv);

  std::vector<weft::hunt::Scenario> scenarios;
  for (auto& s : weft::hunt::all_scenarios()) {
    if (only.empty() || std::find(only.begin(), only.end(), s.id) != only.end()) scenarios.push_back(std::move(s));
  }
  if (list) {
    for (const auto& s : weft::hunt::all_scenarios()) {
      std::printf("%-6s %-14s %s\n", s.id.c_str(), s.checks.c_str(), s.title.c_str());
    }
    return 0;
  }
  if (scenarios.empty()) {
    std::fprintf(stderr, "weft-hunt: no scenario matches; see --list\n");
    return 2;
  }
  if (budget == 0 || budget > 1'000'000'000ULL) {
    std::fprintf(stderr, "weft-hunt: --budget must be between 1 and 1000000000\n");
    return 2;
  }
  if (!replay.empty() && replay.rfind("v1:", 0) != 0) {
    std::fprintf(stderr, "weft-hunt: --replay takes a schedule string from a report (v1:...)\n");
    return 2;
  }
  if (!replay.empty() && scenarios.size() != 1) {
    std::fprintf(stderr, "weft-hunt: --replay needs exactly one --scenario\n");
    return 2;
  }
  std::vector<weft::sim::Strategy> chosen;
  for (const std::string& name : strategies) {
    bool ok = false;
    chosen.push_back(parse_strategy(name, ok));
    if (!ok) {
      std::fprintf(stderr, "weft-hunt: unknown strategy '%s' (random, pct, exhaustive)\n", name.c_str());
      return 2;
    }
  }
  if (!replay.empty()) chosen = {weft::sim::Strategy::replay};

  if (detect_runs > 0) {
    // Median schedules to first detection, over `detect_runs` seeds.
    std::printf("%-8s %-11s %8s %18s\n", "scenario", "strategy", "found", "median schedules");
    bool any = false;
    for (const auto& scenario : scenarios) {
      for (weft::sim::Strategy strategy : chosen) {
        std::vector<std::uint64_t> firsts;
        for (std::uint32_t run = 0; run < detect_runs; run++) {
          weft::sim::Options options;
          options.strategy = strategy;
          options.seed = seed + static_cast<std::uint64_t>(run) * 1'000'003ULL;
          options.schedules = budget;
          options.pct_depth = pct_depth;
          options.preemption_bound = preemptions;
          options.time_step_max_ns = scenario.time_step_max_ns;
          options.kill_one_in = scenario.kill_one_in;
          options.minimise = false;
          const weft::sim::Report r = weft::sim::explore(scenario.program, options);
          if (r.violations != 0 && r.failure.rfind("runaway loop", 0) != 0) firsts.push_back(r.schedules);
          if (strategy == weft::sim::Strategy::exhaustive) break;  // deterministic: one run
        }
        std::sort(firsts.begin(), firsts.end());
        const std::uint32_t runs = strategy == weft::sim::Strategy::exhaustive ? 1 : detect_runs;
        char median[32] = "-";
        if (!firsts.empty()) std::snprintf(median, sizeof median, "%llu", static_cast<unsigned long long>(firsts[firsts.size() / 2]));
        std::printf("%-8s %-11s %4zu/%-3u %18s\n", scenario.id.c_str(), weft::sim::to_string(strategy), firsts.size(), runs, median);
        any = any || !firsts.empty();
      }
    }
    return any ? 0 : 1;
  }
  std::printf("weft-hunt: %zu scenarios x %zu strategies, budget %llu schedules each, seed %llu\n",
              scenarios.size(), chosen.size(), static_cast<unsigned long long>(budget),
              static_cast<unsigned long long>(seed));
  std::vector<Row> rows;
  const auto start = Clock::now();
  const Row* first_failure = nullptr;
  for (const auto& scenario : scenarios) {
    for (weft::sim::Strategy strategy : chosen) {
      weft::sim::Options options;
      options.strategy = strategy;
      options.seed = seed;
      options.schedules = budget;
      options.pct_depth = pct_depth;
      options.preemption_bound = preemptions;
      options.replay = replay;
      options.check_determinism = determinism;
      options.time_step_max_ns = scenario.time_step_max_ns;
      options.kill_one_in = scenario.kill_one_in;
      const auto began = Clock::now();
      options.progress_every = 500;
      if (isatty(STDOUT_FILENO)) options.progress = [&](const weft::sim::Report& r) {
        const double s = std::chrono::duration<double>(Clock::now() - began).count();
        std::printf("\r  %-6s %-10s %8llu schedules  %8.0f/s  %llu violations", scenario.id.c_str(),
                    weft::sim::to_string(strategy), static_cast<unsigned long long>(r.schedules),
                    s > 0 ? static_cast<double>(r.schedules) / s : 0.0, static_cast<unsigned long long>(r.violations));
        std::fflush(stdout);
      };
      Row row{scenario.id, weft::sim::to_string(strategy), weft::sim::explore(scenario.program, options), 0};
      row.seconds = std::chrono::duration<double>(Clock::now() - began).count();
      std::printf("\r  %-6s %-10s %8llu schedules  %8.0f/s  %llu violations%s\n", scenario.id.c_str(),
                  row.strategy.c_str(), static_cast<unsigned long long>(row.report.schedules),
                  row.seconds > 0 ? static_cast<double>(row.report.schedules) / row.seconds : 0.0,
                  static_cast<unsigned long long>(row.report.violations),
                  row.report.exhausted ? "  (exhausted)" : "");
      rows.push_back(std::move(row));
      if (first_failure == nullptr && rows.back().report.violations != 0) first_failure = &rows.back();
      if (!rows.back().report.nondeterminism.empty()) {
        std::printf("  NONDETERMINISM in %s: %s\n", scenario.id.c_str(), rows.back().report.nondeterminism.c_str());
      }
    }
  }
  // rows may have moved: find the first failure again
  first_failure = nullptr;
  for (const Row& r : rows) {
    if (r.report.violations != 0) {
      first_failure = &r;
      break;
    }
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("\n%-8s %-11s %10s %10s %11s %9s\n", "scenario", "strategy", "schedules", "distinct", "violations", "time");
  std::uint64_t schedules = 0, violations = 0;
  for (const Row& r : rows) {
    std::printf("%-8s %-11s %10llu %10llu %11llu %8.2fs\n", r.scenario.c_str(), r.strategy.c_str(),
                static_cast<unsigned long long>(r.report.schedules), static_cast<unsigned long long>(r.report.distinct),
                static_cast<unsigned long long>(r.report.violations), r.seconds);
    schedules += r.report.schedules;
    violations += r.report.violations;
  }
  std::printf("%-8s %-11s %10llu %10s %11llu %8.2fs\n", "all", "", static_cast<unsigned long long>(schedules), "",
              static_cast<unsigned long long>(violations), total);

  if (first_failure != nullptr) {
    const Row& f = *first_failure;
    std::printf("\nVIOLATION in %s (%s, seed %llu):\n  %s\n", f.scenario.c_str(), f.strategy.c_str(),
                static_cast<unsigned long long>(f.report.failing_seed), f.report.failure.c_str());
    auto clip = [](const std::string& text) {
      return text.size() <= 400 ? text : text.substr(0, 400) + "... (" + std::to_string(text.size()) + " characters)";
    };
    std::printf("schedule:  %s\nminimised: %s\n", clip(f.report.schedule).c_str(), f.report.minimised.c_str());
    std::printf("replay:    %s --scenario %s --replay '%s'\n\n%s", argv[0], f.scenario.c_str(),
                f.report.minimised.c_str(), f.report.table.c_str());
    if (!trace_json.empty()) {
      write_chrome_trace(trace_json, f);
      if (std::ifstream(trace_json).good()) std::printf("chrome trace: %s\n", trace_json.c_str());
      else std::fprintf(stderr, "weft-hunt: cannot write %s\n", trace_json.c_str());
    }
    return expect_violation ? 0 : 1;
  }

  // Clean: what was covered.
  std::printf("\ncoverage (pairs of race points seen to interleave):\n");
  std::map<std::string, std::vector<std::string>> pairs;
  for (const Row& r : rows) {
    auto& list_for = pairs[r.scenario];
    list_for.insert(list_for.end(), r.report.interleaved_pairs.begin(), r.report.interleaved_pairs.end());
  }
  for (auto& [id, list_for] : pairs) {
    std::sort(list_for.begin(), list_for.end());
    list_for.erase(std::unique(list_for.begin(), list_for.end()), list_for.end());
    std::printf("  %-6s %zu pairs", id.c_str(), list_for.size());
    for (std::size_t i = 0; i < list_for.size() && i < 4; i++) std::printf("%s %s", i == 0 ? ":" : ",", list_for[i].c_str());
    std::printf("%s\n", list_for.size() > 4 ? ", ..." : "");
  }
  for (const Row& r : rows) {
    if (r.strategy != "pct" || r.report.schedules == 0) continue;
    const double n = r.report.threads, k = static_cast<double>(r.report.max_steps), d = pct_depth;
    const double p = 1.0 / (n * std::pow(k, d - 1));
    std::printf("  %-6s PCT: n=%g threads, k=%g steps, d=%g: a depth-%g bug is hit per schedule with p >= 1/(n*k^(d-1)) = %.3g\n",
                r.scenario.c_str(), n, k, d, d, p);
  }
  std::printf("\nclean: %llu schedules, no violation\n", static_cast<unsigned long long>(schedules));
  return expect_violation ? 1 : 0;
}
