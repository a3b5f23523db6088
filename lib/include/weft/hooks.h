// weft/hooks.h: deterministic race injection for real threads (hooks build).
//
// In a build with the hooks seam (CMake target `weft::weft_hooks`, or the
// `hooks` preset) every `WEFT_RACE_POINT("tag")` in weft calls into a small
// registry of actions. A test installs actions per tag before it starts its
// threads, and so orchestrates an exact interleaving without sleeps:
//
//   weft::hooks::Latch passed{1};
//   // thread 1 stops at its claim until thread 2 has passed the scan:
//   weft::hooks::pause_at("lock_table.acquire.before_claim", &passed, /*actor=*/1);
//   weft::hooks::signal_at("lock_table.acquire.after_scan", &passed, /*actor=*/2);
//   ... start threads; each calls weft::hooks::set_actor(n) first ...
//   ... join ...
//   EXPECT_EQ(weft::hooks::timeouts(), 0u);
//   weft::hooks::clear();
//
// Rules a caller may rely on and must follow:
// - install*/clear run on one controlling thread while no other thread is
//   inside weft (set up before starting threads, clear after joining them).
//   Hits from many threads at once are safe.
// - When no action is installed a race point costs one relaxed atomic load
//   and adds no synchronisation, so TSan still sees every race in weft.
// - An installed latch *does* order the threads it pauses and releases: that
//   is its purpose. Races that the forced order hides are TSan's job in the
//   unhooked stress tests.
// - A latch wait gives up after its timeout (10 s by default), counts the
//   timeout, and lets the thread go on: a wrong orchestration fails the test
//   (check `timeouts() == 0`) instead of hanging it.
//
// This header exists in every build; the functions are defined only in the
// hooks build (`weft_hooks` library). The production library has none of
// these symbols (a CTest checks it).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace weft::hooks {

/// A count-down latch with a bounded wait: `count_down()` lowers the count,
/// `wait_for()` blocks until it reaches zero or the timeout passes.
class Latch {
 public:
  /// A latch that opens after `count` calls of count_down().
  explicit Latch(std::uint32_t count) noexcept : count_(count) {}
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  /// Lowers the count by one (not below zero) and wakes waiters at zero.
  void count_down() noexcept;
  /// Waits until the count is zero; false when `timeout_ns` passed first.
  [[nodiscard]] bool wait_for(std::uint64_t timeout_ns) noexcept;
  /// True when the count is zero, without waiting.
  [[nodiscard]] bool is_open() noexcept;

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  std::uint32_t count_;
};

/// Callback signature: `context` is what was installed, `tag` the race point.
using Callback = void (*)(void* context, const char* tag);

/// What happens when a matching thread reaches the tag.
enum class ActionKind : std::uint8_t {
  wait,      ///< wait on `latch` (bounded by `timeout_ns`)
  signal,    ///< count `latch` down once
  callback,  ///< call `callback(context, tag)`
  delay,     ///< sleep `delay_ns` (for soak runs; tests use latches)
  count,     ///< only count the hit (see hits())
};

/// Matches every actor (the default of Action::actor).
inline constexpr int any_actor = -1;

/// One installed action. Fields not used by `kind` are ignored.
struct Action {
  ActionKind kind = ActionKind::count;  ///< what to do
  int actor = any_actor;     ///< only hits from threads with this set_actor() id
  std::uint32_t skip = 0;    ///< ignore the first `skip` matching hits
  std::uint32_t times = 0;   ///< fire at most this many times; 0 = unlimited
  Latch* latch = nullptr;    ///< for wait / signal
  Callback callback = nullptr;  ///< for callback
  void* context = nullptr;      ///< passed to callback
  std::uint64_t delay_ns = 0;   ///< for delay (clamped to a day)
  std::uint64_t timeout_ns = 10'000'000'000ULL;  ///< for wait (clamped to a day)
};

/// Most actions installed at once; install() returns -1 beyond it.
inline constexpr int actions_max = 64;

/// Installs `action` for race point `tag` (a string literal or a string that
/// outlives the action). Returns a handle for hits(), or -1 when the registry
/// is full or the action is malformed (wait/signal without latch, callback
/// without function).
[[nodiscard]] int install(const char* tag, const Action& action) noexcept;
// The helpers below abort with a message if the action cannot be installed
// (a full registry): a missing pause must never let a test pass silently.
// Actor ids: every thread starts as actor 0, the controlling thread too, so
// give orchestrated threads ids from 1 and keep 0 for "anyone else".

/// The thread `actor` waits on `latch` the first time it reaches `tag`.
int pause_at(const char* tag, Latch* latch, int actor = any_actor) noexcept;
/// The thread `actor` counts `latch` down the first time it reaches `tag`.
int signal_at(const char* tag, Latch* latch, int actor = any_actor) noexcept;
/// Calls `callback(context, tag)` every time `actor` reaches `tag`.
int call_at(const char* tag, Callback callback, void* context,
            int actor = any_actor) noexcept;
/// Counts every time any thread reaches `tag`.
int count_at(const char* tag) noexcept;
/// How many times the action with `handle` fired (after skips, up to times).
[[nodiscard]] std::uint64_t hits(int handle) noexcept;
/// Removes every action and resets the timeout count (controller thread only).
void clear() noexcept;
/// Sets the calling thread's actor id (what Action::actor matches); 0 by default.
void set_actor(int actor) noexcept;
/// The calling thread's actor id.
[[nodiscard]] int actor() noexcept;
/// How many latch waits gave up on their timeout since the last clear().
[[nodiscard]] std::uint64_t timeouts() noexcept;

}  // namespace weft::hooks
