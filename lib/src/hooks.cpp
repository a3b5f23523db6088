// The hooks-build registry behind WEFT_RACE_POINT (see weft/hooks.h).
//
// Only compiled into the `weft_hooks` library. The registry is a fixed array:
// install() writes an entry's fields and then publishes it with a release
// store of `armed` (pairing H1); hit() reads `armed` with acquire before it
// reads the fields. The fast path reads `armed_count` relaxed, so a build with
// no action installed adds no happens-before edge between threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "weft/atomic.h"
#include "weft/hooks.h"

namespace weft::hooks {
namespace {

struct Entry {
  std::atomic<bool> armed{false};
  const char* tag = nullptr;
  Action action{};
  std::atomic<std::uint64_t> matched{0};
  std::atomic<std::uint64_t> fired{0};
};

Entry entries[actions_max];
std::atomic<int> armed_count{0};
std::atomic<std::uint64_t> timeout_count{0};
thread_local int current_actor = 0;

// Longest wait or delay honoured (a day): larger values, "forever" included,
// are clamped instead of overflowing the clock arithmetic.
constexpr std::uint64_t wait_ns_max = 86'400'000'000'000ULL;

std::chrono::nanoseconds clamp_ns(std::uint64_t ns) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(ns, wait_ns_max)));
}

// The helpers' install must not fail silently: a missing pause would let a
// test pass without the interleaving it claims to force.
int must(int handle, const char* what, const char* tag) noexcept {
  if (handle < 0) {
    std::fprintf(stderr, "weft::hooks: cannot install %s at '%s' (registry full or bad action)\n", what,
                 tag != nullptr ? tag : "(null)");
    std::abort();
  }
  return handle;
}

bool tag_matches(const char* installed, const char* hit_tag) noexcept {
  return installed == hit_tag || std::strcmp(installed, hit_tag) == 0;
}

void fire(const Action& action, const char* tag) noexcept {
  switch (action.kind) {
    case ActionKind::wait:
      if (!action.latch->wait_for(action.timeout_ns)) {
        timeout_count.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    case ActionKind::signal:
      action.latch->count_down();
      break;
    case ActionKind::callback:
      action.callback(action.context, tag);
      break;
    case ActionKind::delay:
      std::this_thread::sleep_for(clamp_ns(action.delay_ns));
      break;
    case ActionKind::count:
      break;
  }
}

}  // namespace

void Latch::count_down() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  if (count_ == 0) return;
  count_ -= 1;
  if (count_ == 0) opened_.notify_all();
}

bool Latch::wait_for(std::uint64_t timeout_ns) noexcept {
  std::unique_lock<std::mutex> lock(mutex_);
  return opened_.wait_for(lock, clamp_ns(timeout_ns),
                          [this] { return count_ == 0; });
}

bool Latch::is_open() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_ == 0;
}

int install(const char* tag, const Action& action) noexcept {
  if (tag == nullptr) return -1;
  const bool needs_latch =
      action.kind == ActionKind::wait || action.kind == ActionKind::signal;
  if (needs_latch && action.latch == nullptr) return -1;
  if (action.kind == ActionKind::callback && action.callback == nullptr) return -1;
  for (int i = 0; i < actions_max; i++) {
    Entry& entry = entries[i];
    if (entry.armed.load(std::memory_order_relaxed)) continue;
    entry.tag = tag;
    entry.action = action;
    entry.matched.store(0, std::memory_order_relaxed);
    entry.fired.store(0, std::memory_order_relaxed);
    entry.armed.store(true, std::memory_order_release);  // H1: publish fields
    armed_count.fetch_add(1, std::memory_order_release);
    return i;
  }
  return -1;
}

int pause_at(const char* tag, Latch* latch, int actor) noexcept {
  Action action;
  action.kind = ActionKind::wait;
  action.latch = latch;
  action.actor = actor;
  action.times = 1;
  return must(install(tag, action), "pause_at", tag);
}

int signal_at(const char* tag, Latch* latch, int actor) noexcept {
  Action action;
  action.kind = ActionKind::signal;
  action.latch = latch;
  action.actor = actor;
  action.times = 1;
  return must(install(tag, action), "signal_at", tag);
}

int call_at(const char* tag, Callback callback, void* context, int actor) noexcept {
  Action action;
  action.kind = ActionKind::callback;
  action.callback = callback;
  action.context = context;
  action.actor = actor;
  return must(install(tag, action), "call_at", tag);
}

int count_at(const char* tag) noexcept {
  Action action;
  action.kind = ActionKind::count;
  return must(install(tag, action), "count_at", tag);
}

std::uint64_t hits(int handle) noexcept {
  if (handle < 0 || handle >= actions_max) return 0;
  return entries[handle].fired.load(std::memory_order_relaxed);
}

void clear() noexcept {
  for (Entry& entry : entries) entry.armed.store(false, std::memory_order_relaxed);
  armed_count.store(0, std::memory_order_relaxed);
  timeout_count.store(0, std::memory_order_relaxed);
}

void set_actor(int actor) noexcept { current_actor = actor; }

int actor() noexcept { return current_actor; }

std::uint64_t timeouts() noexcept {
  return timeout_count.load(std::memory_order_relaxed);
}

namespace detail {

void hit(const char* tag) noexcept {
  if (armed_count.load(std::memory_order_relaxed) == 0) return;
  for (Entry& entry : entries) {
    if (!entry.armed.load(std::memory_order_acquire)) continue;  // H1
    const Action& action = entry.action;
    if (action.actor != any_actor && action.actor != current_actor) continue;
    if (!tag_matches(entry.tag, tag)) continue;
    const std::uint64_t n = entry.matched.fetch_add(1, std::memory_order_relaxed);
    if (n < action.skip) continue;
    if (action.times != 0 && n - action.skip >= action.times) continue;
    entry.fired.fetch_add(1, std::memory_order_relaxed);
    fire(action, tag);
  }
}

}  // namespace detail
}  // namespace weft::hooks
