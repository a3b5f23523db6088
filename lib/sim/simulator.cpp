// The deterministic race simulator (see weft/sim/sim.h).
//
// Logical threads are Boost.Context fibers. A thread runs until its next
// scheduling point (detail::step), where it records the operation it is about
// to do and switches back to the scheduler; the strategy then picks which
// thread performs its pending operation next. Every choice (and every advance
// of the virtual clock) is recorded, so a schedule prints as a string and
// replays exactly.
#include "weft/sim/sim.h"

#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <algorithm>
#include <cinttypes>
#include <csignal>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

// AddressSanitizer must be told when execution moves to another stack, or it
// takes the fiber's stack for a corrupted one (and its fake stacks for
// detect_stack_use_after_return go wrong). Every switch below is bracketed
// with __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_SIM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(WEFT_SIM_ASAN)
#define WEFT_SIM_ASAN 1
#endif
#if defined(WEFT_SIM_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace weft::sim {

namespace ctx = boost::context;

namespace {
// One stack's extent, as AddressSanitizer wants it.
struct StackExtent {
  const void* bottom = nullptr;
  std::size_t size = 0;
};

// Called just before switching to `to`; `fake` keeps this side's fake stack
// (nullptr when this side is finishing for good).
inline void before_switch([[maybe_unused]] void** fake, [[maybe_unused]] const StackExtent& to) {
#if defined(WEFT_SIM_ASAN)
  __sanitizer_start_switch_fiber(fake, to.bottom, to.size);
#endif
}

// Called first thing after a switch arrived here; `from` learns the stack we
// came from when it is not yet known.
inline void after_switch([[maybe_unused]] void* fake, [[maybe_unused]] StackExtent* from) {
#if defined(WEFT_SIM_ASAN)
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_finish_switch_fiber(fake, &bottom, &size);
  if (from != nullptr) {
    from->bottom = bottom;
    from->size = size;
  }
#endif
}

// fixedsize_stack that remembers the extent of the stack it handed out.
struct RecordingStack {
  ctx::fixedsize_stack inner;
  StackExtent* extent;
  RecordingStack(std::size_t size, StackExtent* out) : inner(size), extent(out) {}
  ctx::stack_context allocate() {
    ctx::stack_context sctx = inner.allocate();
    extent->bottom = static_cast<char*>(sctx.sp) - sctx.size;
    extent->size = sctx.size;
    return sctx;
  }
  void deallocate(ctx::stack_context& sctx) noexcept { inner.deallocate(sctx); }
};
}  // namespace

const char* to_string(Strategy strategy) noexcept {
  switch (strategy) {
    case Strategy::random: return "random";
    case Strategy::pct: return "pct";
    case Strategy::exhaustive: return "exhaustive";
    case Strategy::replay: return "replay";
    case Strategy::external: return "external";
  }
  return "unknown";
}

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

const char* op_name(Op op) {
  switch (op) {
    case Op::load: return "load";
    case Op::store: return "store";
    case Op::rmw: return "rmw";
    case Op::cas: return "cas";
    case Op::race_point: return "point";
  }
  return "?";
}

const char* short_file(const char* file) {
  if (file == nullptr) return "?";
  const char* slash = std::strrchr(file, '/');
  return slash != nullptr ? slash + 1 : file;
}

// One decision of a schedule: which thread ran, and how far the clock moved
// before it did.
struct Choice {
  int thread = 0;
  std::uint64_t advance_ns = 0;
  bool kill = false;  // the thread dies here instead of taking its step
};

std::string encode(const std::vector<Choice>& choices) {
  std::ostringstream out;
  out << "v1:";
  bool first = true;
  for (std::size_t i = 0; i < choices.size();) {
    if (choices[i].advance_ns != 0) {
      out << (first ? "" : ",") << "@" << choices[i].advance_ns;
      first = false;
    }
    if (choices[i].kill) {
      out << (first ? "" : ",") << "k" << choices[i].thread;
      first = false;
      i++;
      continue;
    }
    std::size_t j = i + 1;
    while (j < choices.size() && choices[j].thread == choices[i].thread && choices[j].advance_ns == 0 &&
           !choices[j].kill) {
      j++;
    }
    out << (first ? "" : ",") << choices[i].thread;
    if (j - i > 1) out << "*" << (j - i);
    first = false;
    i = j;
  }
  return out.str();
}

bool decode(const std::string& text, std::vector<Choice>& out) {
  out.clear();
  if (text.rfind("v1:", 0) != 0) return false;
  std::uint64_t pending_advance = 0;
  std::size_t i = 3;
  while (i < text.size()) {
    std::size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    const std::string token = text.substr(i, end - i);
    i = end + 1;
    if (token.empty()) continue;
    if (token[0] == '@') {
      pending_advance += std::strtoull(token.c_str() + 1, nullptr, 10);
      continue;
    }
    if (token[0] == 'k') {  // a kill
      const std::string head = token.substr(1);
      if (head.empty() || head.find_first_not_of("0123456789") != std::string::npos) return false;
      const int thread = std::atoi(head.c_str());
      if (thread < 0 || thread >= 64 || out.size() + 1 > 10'000'000) return false;
      out.push_back(Choice{thread, pending_advance, true});
      pending_advance = 0;
      continue;
    }
    const std::size_t star = token.find('*');
    const std::string head = token.substr(0, star);
    if (head.empty() || head.find_first_not_of("0123456789") != std::string::npos) return false;
    const int thread = std::atoi(head.c_str());
    const std::uint64_t count = star == std::string::npos ? 1 : std::strtoull(token.c_str() + star + 1, nullptr, 10);
    if (thread < 0 || thread >= 64 || count == 0 || out.size() + count > 10'000'000) return false;
    for (std::uint64_t k = 0; k < count; k++) {
      out.push_back(Choice{thread, k == 0 ? pending_advance : 0});
    }
    pending_advance = 0;
  }
  return true;
}

// ---- strategies ------------------------------------------------------------

class Chooser {
 public:
  virtual ~Chooser() = default;
  // Picks from `runnable` (sorted thread indices); `previous` ran last (-1 at start).
  virtual Choice choose(const std::vector<int>& runnable, int previous, std::uint64_t step) = 0;
};

// The non-preemptive default: keep running the previous thread if it can.
int default_pick(const std::vector<int>& runnable, int previous) {
  return std::find(runnable.begin(), runnable.end(), previous) != runnable.end() ? previous : runnable.front();
}

class RandomChooser : public Chooser {
 public:
  RandomChooser(std::uint64_t seed, std::uint64_t time_max, std::uint64_t kill_one_in)
      : state_(seed), time_max_(time_max), kill_one_in_(kill_one_in) {}
  Choice choose(const std::vector<int>& runnable, int, std::uint64_t) override {
    Choice c;
    c.thread = runnable[splitmix64(state_) % runnable.size()];
    if (time_max_ != 0 && splitmix64(state_) % 8 == 0) c.advance_ns = 1 + splitmix64(state_) % time_max_;
    c.kill = kill_one_in_ != 0 && splitmix64(state_) % kill_one_in_ == 0;
    return c;
  }

 private:
  std::uint64_t state_;
  std::uint64_t time_max_;
  std::uint64_t kill_one_in_;
};

// PCT (Burckhardt et al., ASPLOS 2010): random distinct priorities, the
// highest-priority runnable thread runs; at d-1 random steps the running
// thread drops below every initial priority.
class PctChooser : public Chooser {
 public:
  PctChooser(std::uint64_t seed, int threads, std::uint32_t depth, std::uint64_t steps_estimate,
             std::uint64_t time_max, std::uint64_t kill_one_in)
      : state_(seed), time_max_(time_max), kill_one_in_(kill_one_in) {
    priority_.resize(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; i++) priority_[static_cast<std::size_t>(i)] = static_cast<int>(depth) + i;
    for (int i = threads - 1; i > 0; i--) {
      std::swap(priority_[static_cast<std::size_t>(i)],
                priority_[splitmix64(state_) % static_cast<std::uint64_t>(i + 1)]);
    }
    for (std::uint32_t i = 1; i < depth; i++) {
      change_points_.push_back(1 + splitmix64(state_) % std::max<std::uint64_t>(steps_estimate, 1));
    }
  }
  Choice choose(const std::vector<int>& runnable, int previous, std::uint64_t step) override {
    for (std::size_t i = 0; i < change_points_.size(); i++) {
      if (change_points_[i] == step && previous >= 0) {
        priority_[static_cast<std::size_t>(previous)] = static_cast<int>(change_points_.size() - i) - 1;
      }
    }
    Choice c;
    c.thread = runnable.front();
    for (int t : runnable) {
      if (priority_[static_cast<std::size_t>(t)] > priority_[static_cast<std::size_t>(c.thread)]) c.thread = t;
    }
    if (time_max_ != 0 && splitmix64(state_) % 8 == 0) c.advance_ns = 1 + splitmix64(state_) % time_max_;
    c.kill = kill_one_in_ != 0 && splitmix64(state_) % kill_one_in_ == 0;
    return c;
  }

 private:
  std::uint64_t state_;
  std::uint64_t time_max_;
  std::uint64_t kill_one_in_;
  std::vector<int> priority_;
  std::vector<std::uint64_t> change_points_;
};

// Follows a fixed list of choices, then the non-preemptive default.
class ScriptChooser : public Chooser {
 public:
  explicit ScriptChooser(std::vector<Choice> script) : script_(std::move(script)) {}
  Choice choose(const std::vector<int>& runnable, int previous, std::uint64_t step) override {
    if (step < script_.size()) {
      const Choice& c = script_[step];
      if (std::find(runnable.begin(), runnable.end(), c.thread) != runnable.end()) return c;
      misfit_ = true;
    }
    return Choice{default_pick(runnable, previous), 0};
  }
  bool misfit() const { return misfit_; }

 private:
  std::vector<Choice> script_;
  bool misfit_ = false;
};

class BytesChooser : public Chooser {
 public:
  BytesChooser(const std::uint8_t* bytes, std::size_t length, std::uint64_t time_max)
      : bytes_(bytes), length_(length), time_max_(time_max) {}
  Choice choose(const std::vector<int>& runnable, int previous, std::uint64_t) override {
    if (at_ >= length_) return Choice{default_pick(runnable, previous), 0};
    const std::uint8_t b = bytes_[at_++];
    Choice c{runnable[b % runnable.size()], 0};
    if (time_max_ != 0 && (b & 0xE0) == 0xE0 && at_ < length_) {
      c.advance_ns = 1 + bytes_[at_++] * (time_max_ / 255 + 1);
    }
    return c;
  }

 private:
  const std::uint8_t* bytes_;
  std::size_t length_;
  std::uint64_t time_max_;
  std::size_t at_ = 0;
};

// Bounded exhaustive search: depth-first over the choices of each step, with
// at most `bound` preemptions (switching away from a thread that could go on).
class ExhaustiveChooser : public Chooser {
 public:
  explicit ExhaustiveChooser(std::uint32_t bound) : bound_(bound) {}
  Choice choose(const std::vector<int>& runnable, int previous, std::uint64_t step) override {
    if (step < stack_.size()) {
      Frame& f = stack_[step];
      f.runnable = runnable;
      return Choice{f.runnable[f.index], 0};
    }
    Frame f;
    f.runnable = runnable;
    f.previous = previous;
    const int pick = default_pick(runnable, previous);
    f.index = static_cast<std::size_t>(std::find(runnable.begin(), runnable.end(), pick) - runnable.begin());
    f.first = f.index;
    f.preemptions = preemptions_before(step);
    stack_.push_back(f);
    return Choice{pick, 0};
  }
  // Moves to the next schedule; false when the search is exhausted.
  bool next(std::uint64_t steps_taken) {
    stack_.resize(std::min<std::size_t>(stack_.size(), steps_taken));
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      for (std::size_t k = 1; k < f.runnable.size(); k++) {
        const std::size_t candidate = (f.index + 1) % f.runnable.size();
        f.index = candidate;
        if (candidate == f.first) break;
        const bool preempts = f.previous >= 0 && f.runnable[candidate] != f.previous &&
                              std::find(f.runnable.begin(), f.runnable.end(), f.previous) != f.runnable.end();
        if (f.preemptions + (preempts ? 1u : 0u) <= bound_) return true;
      }
      stack_.pop_back();
    }
    return false;
  }

 private:
  struct Frame {
    std::vector<int> runnable;
    int previous = -1;
    std::size_t index = 0;
    std::size_t first = 0;
    std::uint32_t preemptions = 0;
  };
  std::uint32_t preemptions_before(std::uint64_t step) const {
    if (step == 0) return 0;
    const Frame& f = stack_[step - 1];
    const int chosen = f.runnable[f.index];
    const bool preempted = f.previous >= 0 && chosen != f.previous &&
                           std::find(f.runnable.begin(), f.runnable.end(), f.previous) != f.runnable.end();
    return f.preemptions + (preempted ? 1u : 0u);
  }
  std::uint32_t bound_;
  std::vector<Frame> stack_;
};

}  // namespace

// ---- the simulator ---------------------------------------------------------------

class Simulator {
 public:
  explicit Simulator(const Options& options) : options_(options) {}

  struct Outcome {
    bool failed = false;
    std::string failure;
    std::vector<Choice> choices;
    std::vector<Step> trace;
    std::uint64_t hash = 0;
  };

  Outcome run_once(const std::function<void(Run&)>& program, Chooser& chooser);
  void step(Op op, const void* object, const char* file, int line, const char* tag);
  void sleep(std::uint64_t ns);
  int running() const { return running_; }
  bool killed(int thread) const {  // kept for the checker, after the fibers are gone
    return thread >= 0 && static_cast<std::size_t>(thread) < killed_.size() && killed_[static_cast<std::size_t>(thread)];
  }
  std::uint64_t now() const { return now_ns_; }
  static std::uint64_t read_clock(void* self) {
    Simulator* sim = static_cast<Simulator*>(self);
    return sim->now_ns_;
  }
  std::set<std::string>& pairs() { return pairs_; }

 private:
  struct Fiber {
    std::string name;
    std::function<void()> body;
    ctx::fiber self;
    ctx::fiber scheduler;
    StackExtent stack;            // this fiber's stack
    StackExtent scheduler_stack;  // the stack that runs the scheduler
    void* fake_stack = nullptr;   // AddressSanitizer's, while switched out
    bool done = false;
    bool mortal = false;       // Run::mortal_thread: the strategy may kill it
    bool killed = false;       // killed: done, its stack never unwound
    bool yielded = false;      // slept or backed off: others go first
    std::uint64_t yielded_at = 0;  // the step count when it did
    std::uint64_t last_run = 0;    // the step count when it last ran
    Step pending{};
    const char* last_tag = nullptr;
  };
  const Options& options_;
  std::vector<std::unique_ptr<Fiber>> fibers_;
  int running_ = -1;
  std::uint64_t steps_ = 0;
  std::uint64_t now_ns_ = 0;
  std::set<std::string> pairs_;
  std::vector<bool> killed_;  // per logical thread, this schedule
};

namespace {
thread_local Simulator* current = nullptr;

// Crash reports: a signal inside simulated code prints the schedule so far
// (best effort: the process is going down anyway), then dies as it would.
const std::vector<Choice>* crashing_choices = nullptr;

extern "C" void on_crash(int signal_number) {
  char text[4096];
  int n = std::snprintf(text, sizeof text, "\nweft::sim: signal %d inside simulated code; schedule so far: v1:",
                        signal_number);
  if (crashing_choices != nullptr) {
    const std::vector<Choice>& c = *crashing_choices;
    for (std::size_t i = 0; i < c.size() && n < static_cast<int>(sizeof text) - 32;) {
      std::size_t j = i + 1;
      while (j < c.size() && c[j].thread == c[i].thread && c[j].advance_ns == 0) j++;
      if (c[i].advance_ns != 0) n += std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), "@%llu,", static_cast<unsigned long long>(c[i].advance_ns));
      n += std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), "%d*%zu,", c[i].thread, j - i);
      i = j;
    }
  }
  n += std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), "\n(replay it with Strategy::replay or weft-hunt --replay)\n");
  if (write(STDERR_FILENO, text, static_cast<std::size_t>(n)) < 0) {}
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

struct CrashReport {
  explicit CrashReport(const std::vector<Choice>* choices) {
    crashing_choices = choices;
    for (int s : {SIGSEGV, SIGABRT, SIGFPE, SIGBUS, SIGILL}) previous_[index(s)] = std::signal(s, on_crash);
  }
  ~CrashReport() {
    for (int s : {SIGSEGV, SIGABRT, SIGFPE, SIGBUS, SIGILL}) std::signal(s, previous_[index(s)]);
    crashing_choices = nullptr;
  }
  static int index(int s) { return s == SIGSEGV ? 0 : s == SIGABRT ? 1 : s == SIGFPE ? 2 : s == SIGBUS ? 3 : 4; }
  void (*previous_[5])(int) = {};
};

std::vector<ctx::fiber*>& graveyard() {
  static auto* fibers = new std::vector<ctx::fiber*>();  // never freed, on purpose
  return *fibers;
}
}  // namespace

Clock Run::clock() noexcept { return Clock{&Simulator::read_clock, simulator_}; }

void Run::thread(std::string name, std::function<void()> body) {
  if (threads_.size() >= 64) {  // schedule strings name threads 0..63
    std::fprintf(stderr, "weft::sim: a program may declare at most 64 threads\n");
    std::abort();
  }
  threads_.emplace_back(std::move(name), std::move(body));
  mortal_.resize(threads_.size(), false);
}

void Run::mortal_thread(std::string name, std::function<void()> body) {
  thread(std::move(name), std::move(body));
  mortal_.back() = true;
}

void Run::check(std::function<std::string()> checker) { checker_ = std::move(checker); }

void Run::note(const char* tag) noexcept {
  if (current != nullptr && current->running() >= 0) current->step(Op::race_point, nullptr, "note", 0, tag);
}

void Simulator::step(Op op, const void* object, const char* file, int line, const char* tag) {
  if (running_ < 0) return;  // setup or checker code: not a scheduling point
  Fiber& f = *fibers_[static_cast<std::size_t>(running_)];
  f.pending = Step{static_cast<std::uint16_t>(running_), op, object, file, line, tag, 0};
  before_switch(&f.fake_stack, f.scheduler_stack);
  f.scheduler = std::move(f.scheduler).resume();
  after_switch(f.fake_stack, nullptr);
}

void Simulator::sleep(std::uint64_t ns) {
  now_ns_ += ns;
  if (running_ >= 0) {
    Fiber& f = *fibers_[static_cast<std::size_t>(running_)];
    f.yielded = true;
    f.yielded_at = steps_;
  }
  step(Op::race_point, nullptr, "sleep", 0, "sim.sleep");
}

Simulator::Outcome Simulator::run_once(const std::function<void(Run&)>& program, Chooser& chooser) {
  Outcome out;
  Run run;
  run.simulator_ = this;
  now_ns_ = 1'000'000'000;
  steps_ = 0;
  program(run);
  fibers_.clear();
  run.mortal_.resize(run.threads_.size(), false);
  killed_.assign(run.threads_.size(), false);
  for (auto& [name, body] : run.threads_) {
    auto f = std::make_unique<Fiber>();
    f->name = name;
    f->body = body;
    f->mortal = run.mortal_[fibers_.size()];
    f->pending = Step{static_cast<std::uint16_t>(fibers_.size()), Op::race_point, nullptr, "start", 0, "sim.start", 0};
    Fiber* raw = f.get();
    f->self = ctx::fiber(std::allocator_arg, RecordingStack(128 * 1024, &raw->stack),
                         [raw](ctx::fiber&& scheduler) {
                           after_switch(nullptr, &raw->scheduler_stack);
                           raw->scheduler = std::move(scheduler);
                           raw->body();
                           raw->done = true;
                           before_switch(nullptr, raw->scheduler_stack);
                           return std::move(raw->scheduler);
                         });
    fibers_.push_back(std::move(f));
  }
  Simulator* outer = current;
  current = this;
  const CrashReport crash_report(&out.choices);
  std::uint64_t hash = 1469598103934665603ULL;
  std::vector<int> runnable;
  int previous = -1;
  int last_point_thread = -1;
  const char* last_point_tag = nullptr;
  for (std::uint64_t stepno = 0;; stepno++) {
    // A thread that sleeps or backs off lets the others run first (a spin
    // wait must not starve the thread it waits for, whatever the strategy);
    // it runs again once another thread took a step, or when only yielded
    // threads are left.
    // Fair to spinners: a thread that yielded runs again only once every
    // other live thread has run since, or yielded after it (of threads that
    // all wait, the one waiting longest goes first: round robin, so two
    // spinners waiting on each other's next step both get it).
    runnable.clear();
    for (std::size_t i = 0; i < fibers_.size(); i++) {
      const Fiber& f = *fibers_[i];
      if (f.done) continue;
      bool eligible = !f.yielded;
      if (!eligible) {
        eligible = true;
        for (std::size_t u = 0; u < fibers_.size() && eligible; u++) {
          const Fiber& o = *fibers_[u];
          if (u != i && !o.done && o.last_run <= f.yielded_at && !(o.yielded && o.yielded_at > f.yielded_at)) {
            eligible = false;
          }
        }
      }
      if (eligible) runnable.push_back(static_cast<int>(i));
    }
    if (runnable.empty()) {
      for (std::size_t i = 0; i < fibers_.size(); i++) {
        if (!fibers_[i]->done) runnable.push_back(static_cast<int>(i));
      }
    }
    if (runnable.empty()) break;
    if (stepno >= options_.step_bound) {
      // Runaway loop: name the point the running threads keep coming back to.
      // Race points name the loop best; plain atomics give a source line.
      std::map<std::string, int> counts;
      for (std::size_t k = out.trace.size() > 2000 ? out.trace.size() - 2000 : 0; k < out.trace.size(); k++) {
        const Step& s = out.trace[k];
        const std::string where = std::string(short_file(s.file)) + ":" + std::to_string(s.line);
        counts[s.tag != nullptr ? std::string(s.tag) + " (" + where + ")" : "~" + where]++;
      }
      auto spin = std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
        const bool a_point = a.first[0] != '~', b_point = b.first[0] != '~';
        return a_point != b_point ? b_point : a.second < b.second;
      });
      out.failed = true;
      out.failure = "runaway loop: no end after " + std::to_string(stepno) + " steps; spinning at " +
                    (spin != counts.end() ? spin->first : "?");
      break;
    }
    Choice choice = chooser.choose(runnable, previous, stepno);
    now_ns_ += choice.advance_ns;
    Fiber& f = *fibers_[static_cast<std::size_t>(choice.thread)];
    if (choice.kill && !f.mortal) choice.kill = false;  // only mortal threads die
    out.choices.push_back(choice);
    Step s = f.pending;
    s.now_ns = now_ns_;
    out.trace.push_back(s);
    hash = (hash ^ (static_cast<std::uint64_t>(choice.thread) << 8 | static_cast<std::uint64_t>(s.op))) * 1099511628211ULL;
    hash = (hash ^ static_cast<std::uint64_t>(s.line)) * 1099511628211ULL;
    if (s.op == Op::race_point && s.tag != nullptr) {
      if (last_point_thread >= 0 && last_point_thread != choice.thread && last_point_tag != nullptr &&
          !fibers_[static_cast<std::size_t>(last_point_thread)]->done) {
        const std::string a = last_point_tag, b = s.tag;
        pairs_.insert(a < b ? a + " | " + b : b + " | " + a);
      }
      last_point_thread = choice.thread;
      last_point_tag = s.tag;
    }
    f.yielded = false;
    steps_ = stepno + 1;
    f.last_run = steps_;
    if (choice.kill) {  // killed here: it never runs again, nothing unwinds
      f.killed = true;
      f.done = true;
      killed_[static_cast<std::size_t>(choice.thread)] = true;
      out.trace.back().op = Op::race_point;
      out.trace.back().tag = "sim.killed";
      previous = choice.thread;
      continue;
    }
    running_ = choice.thread;
    void* scheduler_fake = nullptr;
    before_switch(&scheduler_fake, f.stack);
    f.self = std::move(f.self).resume();
    after_switch(scheduler_fake, nullptr);
    running_ = -1;
    previous = choice.thread;
  }
  // A fiber stopped mid-body (runaway loop) cannot be unwound: weft's
  // functions are noexcept, so the forced unwind would terminate. Its stack
  // is set aside instead (a bounded leak: runaway ends the exploration).
  for (auto& f : fibers_) {
    if (f->killed && f->self) {
      // Killed (as by SIGKILL): its handle is set aside (a few bytes) and
      // its stack freed, without unwinding; nothing refers to either.
      graveyard().push_back(new ctx::fiber(std::move(f->self)));
      ctx::stack_context sctx;
      sctx.size = f->stack.size;
      sctx.sp = static_cast<char*>(const_cast<void*>(f->stack.bottom)) + f->stack.size;
      ctx::fixedsize_stack(f->stack.size).deallocate(sctx);
      continue;
    }
    if (!f->done && f->self) graveyard().push_back(new ctx::fiber(std::move(f->self)));
  }
  fibers_.clear();
  out.hash = hash;
  // The checker runs outside every logical thread (nothing it does is a
  // scheduling point) but still on this run's clock: its sleep_for() moves
  // virtual time, so it can let timeouts pass before it looks.
  if (!out.failed && run.checker_) {
    const std::string verdict = run.checker_();
    if (!verdict.empty()) {
      out.failed = true;
      out.failure = verdict;
    }
  }
  current = outer;
  return out;
}

namespace detail {
void step(Op op, const void* object, const char* file, int line, const char* tag) noexcept {
  if (current != nullptr) current->step(op, object, file, line, tag);
}
}  // namespace detail

void sleep_for(std::uint64_t ns) noexcept {
  if (current != nullptr) current->sleep(ns);
}

int current_thread() noexcept { return current != nullptr ? current->running() : -1; }

bool active() noexcept { return current != nullptr; }

bool killed(int thread) noexcept { return current != nullptr && current->killed(thread); }

namespace {

// An interleaving table: one column per thread, one row per step; long runs
// of one thread are folded.
std::string table_of(const std::vector<Step>& trace, std::size_t threads) {
  std::ostringstream out;
  constexpr int width = 34;
  const bool full = std::getenv("WEFT_SIM_TABLE_FULL") != nullptr;  // every step, no eliding
  out << "step   ";
  for (std::size_t t = 0; t < threads; t++) {
    std::string head = "thread " + std::to_string(t);
    head.resize(width, ' ');
    out << head;
  }
  out << "\n";
  for (std::size_t i = 0; i < trace.size();) {
    std::size_t j = i;
    while (j < trace.size() && trace[j].thread == trace[i].thread) j++;
    auto row = [&](std::size_t k) {
      const Step& s = trace[k];
      std::string cell = s.op == Op::race_point && s.tag != nullptr
                             ? std::string(s.tag)
                             : std::string(op_name(s.op)) + " " + short_file(s.file) + ":" + std::to_string(s.line);
      if (cell.size() > width - 2) cell = cell.substr(0, width - 2);
      char number[16];
      std::snprintf(number, sizeof number, "%-7zu", k);
      out << number;
      for (std::size_t t = 0; t < s.thread; t++) out << std::string(width, ' ');
      out << cell << "\n";
    };
    const std::size_t run = j - i;
    if (run <= 8 || full) {
      for (std::size_t k = i; k < j; k++) row(k);
    } else {
      for (std::size_t k = i; k < i + 3; k++) row(k);
      out << "       " << std::string(static_cast<std::size_t>(width) * trace[i].thread, ' ') << "... "
          << (run - 6) << " more steps\n";
      for (std::size_t k = j - 3; k < j; k++) row(k);
    }
    i = j;
  }
  return out.str();
}

std::size_t switches(const std::vector<Choice>& choices) {
  std::size_t n = 0;
  for (std::size_t i = 1; i < choices.size(); i++) n += choices[i].thread != choices[i - 1].thread;
  return n;
}

}  // namespace

Report explore(const std::function<void(Run&)>& program, const Options& options) {
  Report report;
  Simulator sim(options);
  std::unordered_set<std::uint64_t> hashes;
  std::vector<Choice> script;
  if (options.strategy == Strategy::replay && !decode(options.replay, script)) {
    report.violations = 1;
    report.failure = "cannot read the schedule string '" + options.replay + "'";
    return report;
  }
  {
    Run probe;  // counts the threads
    probe.simulator_ = &sim;
    program(probe);
    report.threads = static_cast<std::uint32_t>(probe.threads_.size());
  }
  ExhaustiveChooser exhaustive(options.preemption_bound);
  std::uint64_t steps_estimate = 100;
  Simulator::Outcome failing;
  std::uint64_t budget = options.strategy == Strategy::replay || options.strategy == Strategy::external ? 1 : options.schedules;
  for (std::uint64_t i = 0; i < budget; i++) {
    const std::uint64_t seed = options.seed + i;
    std::unique_ptr<Chooser> chooser;
    switch (options.strategy) {
      case Strategy::random:
        chooser = std::make_unique<RandomChooser>(seed, options.time_step_max_ns, options.kill_one_in);
        break;
      case Strategy::pct:
        chooser = std::make_unique<PctChooser>(seed, static_cast<int>(report.threads), options.pct_depth,
                                               steps_estimate, options.time_step_max_ns, options.kill_one_in);
        break;
      case Strategy::replay: chooser = std::make_unique<ScriptChooser>(script); break;
      case Strategy::external:
        chooser = std::make_unique<BytesChooser>(options.bytes, options.bytes_length, options.time_step_max_ns);
        break;
      case Strategy::exhaustive: break;
    }
    Chooser& c = options.strategy == Strategy::exhaustive ? static_cast<Chooser&>(exhaustive) : *chooser;
    Simulator::Outcome outcome = sim.run_once(program, c);
    if (options.strategy == Strategy::replay && static_cast<ScriptChooser&>(*chooser).misfit()) {
      report.schedules = 1;
      report.violations = 1;
      report.failure = "the schedule string does not fit this program (it names a thread that cannot run there)";
      return report;
    }
    if (options.check_determinism && report.nondeterminism.empty()) {
      ScriptChooser again(outcome.choices);
      const Simulator::Outcome second = sim.run_once(program, again);
      if (second.hash != outcome.hash) {
        std::size_t k = 0;
        while (k < outcome.trace.size() && k < second.trace.size() &&
               outcome.trace[k].line == second.trace[k].line && outcome.trace[k].thread == second.trace[k].thread) {
          k++;
        }
        const Step& s = k < second.trace.size() ? second.trace[k] : outcome.trace[k < outcome.trace.size() ? k : 0];
        report.violations++;  // uncontrolled nondeterminism invalidates every result
        if (report.failure.empty()) report.failure = "nondeterminism: see Report::nondeterminism";
        report.nondeterminism = "schedule " + std::to_string(i) + " ran differently the second time from step " +
                                std::to_string(k) + " (thread " + std::to_string(s.thread) + ", " +
                                short_file(s.file) + ":" + std::to_string(s.line) +
                                "): something outside the simulator's control (a real thread, a real clock, "
                                "a shared word that is not a weft::atomic)";
      }
    }
    report.schedules++;
    report.steps += outcome.trace.size();
    report.max_steps = std::max<std::uint64_t>(report.max_steps, outcome.trace.size());
    steps_estimate = std::max<std::uint64_t>(steps_estimate, outcome.trace.size());
    if (hashes.insert(outcome.hash).second) report.distinct++;
    if (outcome.failed) {
      if (report.violations == 0) {
        failing = outcome;
        report.failure = outcome.failure;
        report.failing_seed = seed;
      }
      report.violations++;
      if (options.stop_at_first_violation) break;
    }
    if (options.progress && options.progress_every != 0 && report.schedules % options.progress_every == 0) {
      options.progress(report);
    }
    if (options.strategy == Strategy::exhaustive && !exhaustive.next(outcome.trace.size())) {
      report.exhausted = true;
      break;
    }
  }
  if (report.violations != 0) {
    report.schedule = encode(failing.choices);
    std::vector<Choice> best = failing.choices;
    std::vector<Step> best_trace = failing.trace;
    std::string best_failure = report.failure;
    if (options.minimise && failing.failure.rfind("runaway loop", 0) != 0) {
      // Shrink: shortest prefix that still fails when the rest runs without
      // preemption, then drop switches one at a time. Bound: 400 replays.
      int replays = 0;
      auto fails = [&](const std::vector<Choice>& candidate, std::vector<Step>* trace_out,
                       std::vector<Choice>* realised) {
        replays++;
        ScriptChooser chooser(candidate);
        Simulator::Outcome o = sim.run_once(program, chooser);
        if (o.failed && trace_out != nullptr) *trace_out = o.trace;
        if (o.failed && realised != nullptr) {
          *realised = o.choices;
          best_failure = o.failure;  // the report describes the run it prints
        }
        return o.failed;
      };
      std::size_t lo = 0, hi = best.size();
      while (lo < hi && replays < 200) {
        const std::size_t mid = (lo + hi) / 2;
        std::vector<Choice> prefix(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(mid));
        if (fails(prefix, nullptr, nullptr)) hi = mid;
        else lo = mid + 1;
      }
      std::vector<Choice> prefix(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(hi));
      std::vector<Choice> realised;
      if (fails(prefix, &best_trace, &realised)) best = realised;
      for (std::size_t k = 1; k < best.size() && replays < 400; k++) {
        if (best[k].thread == best[k - 1].thread) continue;
        std::vector<Choice> candidate(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(k));
        std::vector<Step> t;
        std::vector<Choice> r;
        if (fails(candidate, &t, &r) && switches(r) < switches(best)) {
          best = r;
          best_trace = t;
        }
      }
    }
    if (options.minimise && failing.failure.rfind("runaway loop", 0) != 0) report.failure = best_failure;
    report.minimised = encode(best);
    report.table = table_of(best_trace, report.threads);
    report.failing_trace = best_trace;
  }
  report.interleaved_pairs.assign(sim.pairs().begin(), sim.pairs().end());
  return report;
}

}  // namespace weft::sim
