// api_fuzzer: hostile single-threaded calls on a TurnLog and a LockTable.
// Every call must return a status (never crash, never trip UBSan), a call
// with bad arguments must say invalid_argument and change nothing, and what
// was committed must stay intact: a shadow of every exchange is kept and the
// log is compared with it after each snapshot and at the end. The LockTable
// is compared call by call with the sequential model of L1-L8
// (weft/sim/lock_checker.h).
//
// The input is a sequence of operations, one byte each (kind = b % 16),
// followed by the bytes that operation needs (which thread, which exchange,
// which size ...; missing bytes read as 0):
//   0 begin          1 append        2 begin_turn    3 stream write
//   4 stream finish  5 stream drop   6 commit        7 abort
//   8 state          9 snapshot     10 context      11 trim_thread
//  12 clock moves   13 try_acquire  14 release/renew 15 cancel/poll/inspect
// Arguments come from small menus that include the hostile ones: the zero
// id, ticket 0, tickets never issued, stale tokens, sizes 0, max, max+1 and
// SIZE_MAX, null payloads, roles and modes out of range, leases of 0 and
// beyond the maximum, clock jumps past every timeout.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "weft/clock.h"
#include "weft/lock_table.h"
#include "weft/sim/lock_checker.h"
#include "weft/turn_log.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "api_fuzzer: %s\n", what.c_str());
  std::abort();
}

struct Input {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
  bool more() const { return at < size; }
  std::uint8_t byte() { return at < size ? data[at++] : 0; }
  std::uint64_t pick(std::uint64_t n) { return byte() % n; }
};

// ---- the TurnLog and its shadow ---------------------------------------------------

struct ShadowTurn {
  weft::Role role = weft::Role::user;
  std::string bytes;
  enum State { pending, ok, dropped } state = pending;
};
struct ShadowExchange {
  int thread = 0;
  std::uint64_t ticket = 0;
  std::uint64_t request = 0;      // the request id's low word
  std::vector<ShadowTurn> turns;  // in reservation (index) order
  enum Outcome { open, committed, ended } outcome = open;
};

constexpr int thread_count = 3;  // plus the zero id as a hostile fourth
unsigned char source[70'000];    // payload bytes (pattern), bigger than any payload

struct LogWorld {
  weft::ManualClock manual{1'000'000'000ULL};
  weft::TurnLog log;
  weft::TurnLog::Config config;
  std::vector<ShadowExchange> exchanges;
  bool trimmed[thread_count] = {};
  weft::TurnWriter writers[2];
  int writer_exchange[2] = {-1, -1};  // index into exchanges
  int writer_turn[2] = {-1, -1};
  std::size_t writer_written[2] = {};
  std::size_t writer_reserved[2] = {};
  weft::TurnView views[64];

  LogWorld() {
    config.segment_bytes = 2048;
    config.segment_count = 4;
    config.thread_capacity = 4;
    config.exchanges_per_thread = 4;
    config.reader_slots = 2;
    config.exchange_timeout_ns = 1'000'000'000ULL;
    if (log.create(config, manual.clock()) != weft::LogStatus::ok) fail("create failed");
  }
  static weft::Id thread_id(int t) { return t < thread_count ? weft::Id{0x7E, static_cast<std::uint64_t>(t) + 1} : weft::Id{}; }

  // An exchange reference: a known one (its index in `exchanges`) or a hostile one (-1).
  weft::ExchangeRef ref(Input& in, int* index) {
    *index = -1;
    const std::uint64_t k = in.pick(8);
    if (k < 5 && !exchanges.empty()) {
      *index = static_cast<int>((exchanges.size() - 1 - in.pick(4) % exchanges.size()));
      const ShadowExchange& x = exchanges[static_cast<std::size_t>(*index)];
      return weft::ExchangeRef{thread_id(x.thread), x.ticket};
    }
    switch (k) {
      case 5: return weft::ExchangeRef{thread_id(static_cast<int>(in.pick(3))), 0};
      case 6: return weft::ExchangeRef{weft::Id{}, 1};
      default: return weft::ExchangeRef{thread_id(static_cast<int>(in.pick(3))), (1 + in.pick(200)) * 1'000'003ULL};
    }
  }
  static weft::Role role(Input& in) {
    const std::uint64_t r = in.pick(12);
    return static_cast<weft::Role>(r < 10 ? 1 + r % 4 : r == 10 ? 0 : 9);
  }
  std::size_t size(Input& in) {
    const std::size_t max = weft::TurnLog::payload_bytes_max(config);
    switch (in.pick(8)) {
      case 0: return 0;
      case 1: return max;
      case 2: return max + 1;
      case 3: return std::numeric_limits<std::size_t>::max();
      default: return in.byte();
    }
  }
  // A reference with the zero thread id or ticket 0: every call must say
  // invalid_argument to it.
  static bool ref_invalid(const weft::ExchangeRef& r) { return r.ticket == 0 || (r.thread.hi == 0 && r.thread.lo == 0); }
  static void expect_invalid(bool bad, weft::LogStatus st, const char* call) {
    if (bad && st != weft::LogStatus::invalid_argument) fail(std::string(call) + " with bad arguments did not say invalid_argument");
  }

  static bool role_ok(weft::Role r) { return static_cast<unsigned>(r) >= 1 && static_cast<unsigned>(r) <= 4; }

  void step(int kind, Input& in) {
    switch (kind) {
      case 0: {  // begin
        const int t = static_cast<int>(in.pick(4));
        const std::uint64_t request = in.pick(6);
        const std::uint64_t p = in.pick(4);
        const auto policy = p == 0 ? weft::BeginPolicy::queue : p == 1 ? weft::BeginPolicy::reject_if_busy
                                                              : static_cast<weft::BeginPolicy>(p == 2 ? 0 : 9);
        const weft::Token fence = in.pick(3) == 0 ? 0 : in.byte();
        const weft::BeginResult b = log.begin_exchange(thread_id(t), request == 0 ? weft::Id{} : weft::Id{0xAE, request}, policy, fence);
        const bool bad = t >= thread_count || request == 0 || p >= 2;
        if (bad && b.status != weft::LogStatus::invalid_argument) fail("begin with bad arguments did not say invalid_argument");
        if (!bad) {  // [T2] a request id among the thread's last W tickets is a duplicate, whatever is in flight
          std::uint64_t top = 0;
          const ShadowExchange* same = nullptr;
          for (const ShadowExchange& x : exchanges) {
            if (x.thread != t) continue;
            if (x.ticket > top) top = x.ticket;
            if (x.request == request) same = &x;  // the latest one: tickets grow along `exchanges`
          }
          if (same != nullptr && same->ticket + config.exchanges_per_thread > top) {
            if (b.status != weft::LogStatus::duplicate) fail("a re-send inside the dedup window was not a duplicate");
            if (b.exchange.ticket != same->ticket) fail("a duplicate named another ticket");
          }
        }
        if (b.status == weft::LogStatus::ok) {
          for (const ShadowExchange& x : exchanges) {
            if (x.thread == t && x.ticket >= b.exchange.ticket) fail("begin returned a ticket already issued");
          }
          exchanges.push_back(ShadowExchange{t, b.exchange.ticket, request, {}, ShadowExchange::open});
        }
        break;
      }
      case 1: {  // append
        int xi = -1;
        const weft::ExchangeRef r = ref(in, &xi);
        const weft::Role ro = role(in);
        const std::size_t n = size(in);
        const bool null_payload = in.pick(8) == 0;
        const weft::LogStatus st = log.append(r, ro, null_payload ? nullptr : source, n);
        expect_invalid(!role_ok(ro) || (null_payload && n != 0) || ref_invalid(r), st, "append");
        if (role_ok(ro) && !(null_payload && n != 0) && xi >= 0 && n > weft::TurnLog::payload_bytes_max(config) &&
            st != weft::LogStatus::payload_too_large) {
          fail("append over the maximum did not say payload_too_large");
        }
        if (st == weft::LogStatus::ok) {
          if (xi < 0) fail("append to an exchange never begun said ok");
          if (n > weft::TurnLog::payload_bytes_max(config)) fail("append over the maximum said ok");
          ShadowTurn turn{ro, std::string(reinterpret_cast<const char*>(source), n), ShadowTurn::ok};
          exchanges[static_cast<std::size_t>(xi)].turns.push_back(turn);
        }
        break;
      }
      case 2: {  // begin_turn
        const int w = static_cast<int>(in.pick(2));
        int xi = -1;
        const weft::ExchangeRef r = ref(in, &xi);
        const weft::Role ro = role(in);
        const std::size_t n = size(in);
        const bool had = writer_turn[w] >= 0;
        const weft::LogStatus st = log.begin_turn(r, ro, n, &writers[w]);
        expect_invalid(!role_ok(ro) || ref_invalid(r), st, "begin_turn");
        if (st == weft::LogStatus::ok) {
          if (xi < 0) fail("begin_turn on an exchange never begun said ok");
          if (had) forget_writer(w);  // a writer reused: its old turn was dropped
          ShadowExchange& x = exchanges[static_cast<std::size_t>(xi)];
          x.turns.push_back(ShadowTurn{ro, {}, ShadowTurn::pending});
          writer_exchange[w] = xi;
          writer_turn[w] = static_cast<int>(x.turns.size()) - 1;
          writer_written[w] = 0;
          writer_reserved[w] = n;
        }
        break;
      }
      case 3: {  // stream write
        const int w = static_cast<int>(in.pick(2));
        const std::size_t n = in.pick(4) == 0 ? std::numeric_limits<std::size_t>::max() : in.byte();
        const weft::LogStatus st = writers[w].write(source + writer_written[w] % 256, n);
        if (st == weft::LogStatus::ok) {
          if (writer_turn[w] < 0) fail("write on a writer with no turn said ok");
          if (writer_written[w] + n > writer_reserved[w]) fail("write past the reservation said ok");
          turn_of(w).bytes.append(reinterpret_cast<const char*>(source + writer_written[w] % 256), n);
          writer_written[w] += n;
        }
        break;
      }
      case 4: {  // stream finish
        const int w = static_cast<int>(in.pick(2));
        const weft::LogStatus st = writers[w].finish();
        if (writer_turn[w] >= 0) {
          turn_of(w).state = st == weft::LogStatus::ok ? ShadowTurn::ok : ShadowTurn::dropped;
          writer_turn[w] = -1;
        } else if (st == weft::LogStatus::ok) {
          fail("finish on a writer with no turn said ok");
        }
        break;
      }
      case 5: {  // stream drop
        const int w = static_cast<int>(in.pick(2));
        writers[w] = weft::TurnWriter{};  // abandons an unfinished turn
        forget_writer(w);
        break;
      }
      case 6:
      case 7: {  // commit, abort
        int xi = -1;
        const weft::ExchangeRef r = ref(in, &xi);
        const weft::LogStatus st = kind == 6 ? log.commit(r) : log.abort(r);
        expect_invalid(ref_invalid(r), st, kind == 6 ? "commit" : "abort");
        if (st == weft::LogStatus::ok) {
          if (xi < 0) fail("commit/abort of an exchange never begun said ok");
          ShadowExchange& x = exchanges[static_cast<std::size_t>(xi)];
          if (x.outcome != ShadowExchange::open) fail("a second commit/abort of one exchange said ok");
          x.outcome = kind == 6 ? ShadowExchange::committed : ShadowExchange::ended;
          for (ShadowTurn& turn : x.turns) {
            if (turn.state == ShadowTurn::pending) turn.state = ShadowTurn::dropped;  // commit never publishes a busy turn
          }
        } else if (xi >= 0 && (st == weft::LogStatus::expired || st == weft::LogStatus::stale_fence)) {
          ShadowExchange& x = exchanges[static_cast<std::size_t>(xi)];
          if (x.outcome == ShadowExchange::committed) fail("a committed exchange later reported expired");
          x.outcome = ShadowExchange::ended;
        }
        break;
      }
      case 8: {  // state
        int xi = -1;
        const weft::ExchangeRef r = ref(in, &xi);
        weft::ExchangeState s{};
        const bool null_out = in.pick(8) == 0;
        const weft::LogStatus st = log.state(r, null_out ? nullptr : &s);
        expect_invalid(null_out || ref_invalid(r), st, "state");
        if (st == weft::LogStatus::ok && xi >= 0) {
          const ShadowExchange& x = exchanges[static_cast<std::size_t>(xi)];
          if (x.outcome == ShadowExchange::committed && s != weft::ExchangeState::committed) fail("a committed exchange reads another state");
          if (x.outcome == ShadowExchange::ended && s == weft::ExchangeState::committed) fail("an aborted exchange reads committed");
        }
        if (st == weft::LogStatus::ok && xi < 0 && r.ticket > 1'000'000) fail("state of a ticket never issued said ok");
        break;
      }
      case 9: {  // snapshot
        const int t = static_cast<int>(in.pick(4));
        const std::size_t max = in.pick(3) == 0 ? 0 : in.pick(2) == 0 ? 1 : 64;
        weft::Snapshot snap;
        const weft::LogStatus st = log.snapshot(thread_id(t), max == 0 && in.pick(2) == 0 ? nullptr : views, max, &snap);
        if (st == weft::LogStatus::ok) {
          if (snap.size() > max) fail("a snapshot returned more turns than the buffer holds");
          if (t < thread_count) compare(t, views, snap.size(), false);
        }
        if (in.pick(4) == 0) {
          std::size_t seen = 0;
          (void)log.for_each_committed([](void* c, const weft::TurnView&) { return ++*static_cast<std::size_t*>(c) < 10'000; }, &seen);
        }
        break;
      }
      case 10: {  // context (wait_context with timeout 0: the clock here moves only when an
                  // operation moves it, so a longer wait would poll its full bound)
        int xi = -1;
        const weft::ExchangeRef r = ref(in, &xi);
        weft::Snapshot snap;
        const weft::LogStatus st = in.pick(4) == 0 ? log.wait_context(r, views, 64, &snap, 0)
                                                   : log.context(r, views, 64, &snap);
        expect_invalid(ref_invalid(r), st, "context");
        if (st == weft::LogStatus::ok && xi < 0 && r.ticket > 1'000'000) fail("context of a ticket never issued said ok");
        break;
      }
      case 11: {  // trim
        const int t = static_cast<int>(in.pick(4));
        const std::uint64_t k = in.pick(4);
        const std::uint64_t through = k == 0 ? 0 : k == 1 ? std::numeric_limits<std::uint64_t>::max() : in.byte();
        const weft::LogStatus st = log.trim_thread(thread_id(t), through);
        if (t >= thread_count && st != weft::LogStatus::invalid_argument) fail("trim of the zero id did not say invalid_argument");
        if (st == weft::LogStatus::ok && t < thread_count) trimmed[t] = true;
        break;
      }
      default: {  // the clock moves
        const std::uint64_t k = in.pick(4);
        (void)manual.advance(k == 0 ? 0 : k == 1 ? in.byte() : k == 2 ? 600'000'000ULL : 2'000'000'000ULL);
        break;
      }
    }
  }

  ShadowTurn& turn_of(int w) {
    return exchanges[static_cast<std::size_t>(writer_exchange[w])].turns[static_cast<std::size_t>(writer_turn[w])];
  }
  void forget_writer(int w) {
    if (writer_turn[w] >= 0) turn_of(w).state = ShadowTurn::dropped;
    writer_turn[w] = -1;
  }

  // The thread's visible turns against the shadow: whole exchanges, each
  // committed, each turn's bytes as appended, in (ticket, index) order; at the
  // end (`final`), every committed exchange is there (after a trim: the
  // committed ones form a suffix).
  void compare(int t, const weft::TurnView* v, std::size_t n, bool final) {
    std::size_t i = 0;
    std::uint64_t last = 0;
    bool started = false;
    for (const ShadowExchange& x : exchanges) {
      if (x.thread != t) continue;
      const bool shown = i < n && v[i].ticket == x.ticket;
      if (shown) {
        if (x.outcome != ShadowExchange::committed) fail("a turn of an exchange that did not commit is visible");
        if (x.ticket <= last) fail("turns out of ticket order");
        last = x.ticket;
        started = true;
        for (const ShadowTurn& turn : x.turns) {
          if (turn.state != ShadowTurn::ok) continue;
          if (i >= n || v[i].ticket != x.ticket) fail("a committed exchange is visible without all its turns");
          if (!(v[i].thread == thread_id(t))) fail("a snapshot shows another thread's turn");
          if (v[i].role != turn.role || v[i].payload_bytes != turn.bytes.size() ||
              std::memcmp(v[i].payload, turn.bytes.data(), turn.bytes.size()) != 0) {
            fail("a committed turn's bytes changed");
          }
          i++;
        }
        if (i < n && v[i].ticket == x.ticket) fail("a committed exchange shows a turn that was never appended");
      } else if (final && x.outcome == ShadowExchange::committed && has_turns(x) && (started || !trimmed[t])) {
        fail("committed ticket " + std::to_string(x.ticket) + " is missing");
      }
    }
    if (i != n) fail("a visible turn belongs to no exchange that was begun");
  }

  static bool has_turns(const ShadowExchange& x) {
    for (const ShadowTurn& turn : x.turns) {
      if (turn.state == ShadowTurn::ok) return true;
    }
    return false;
  }

  void final_check() {
    for (int w = 0; w < 2; w++) {
      writers[w] = weft::TurnWriter{};  // abandons an unfinished turn
      forget_writer(w);
    }
    (void)manual.advance(2'000'000'000ULL);  // abandoned exchanges expire
    for (int t = 0; t < thread_count; t++) {
      weft::Snapshot snap;
      const weft::LogStatus st = log.snapshot(thread_id(t), views, 64, &snap);
      if (st != weft::LogStatus::ok) fail(std::string("final snapshot: ") + weft::to_string(st));
      compare(t, views, snap.size(), true);
    }
  }
};

// ---- the LockTable and its model ---------------------------------------------------

struct LockWorld {
  weft::ManualClock manual{1'000'000'000ULL};
  weft::LockTable table;
  std::vector<weft::Id> keys;
  weft::sim::LockModel model{3};
  weft::Token tokens[3] = {};  // the last token each key gave

  LockWorld() {
    weft::LockTable::Config config;
    config.capacity = 64;
    config.probe_window = 4;
    if (table.create(config, manual.clock()) != weft::LockStatus::ok) fail("lock table create failed");
    keys = weft::sim::session_keys(3, config.capacity);  // probe windows apart: the model has no slots
  }
  weft::Token token(Input& in, int key) {
    switch (in.pick(5)) {
      case 0: return 0;
      case 1: return tokens[key] > 1 ? tokens[key] - 1 : 1;  // stale
      case 2: return tokens[key] + 1 + in.byte();           // never issued
      default: return tokens[key];
    }
  }
  void apply(weft::sim::LockOp& op) {
    op.now = manual.now();
    if (!model.apply(op)) fail("the LockTable disagrees with the model: " + op.describe());
  }

  void step(int kind, Input& in) {
    const int key = static_cast<int>(in.pick(3));
    switch (kind) {
      case 13: {  // try_acquire
        const std::uint64_t o = in.pick(6);
        const weft::OwnerId owner = o == 0 ? 0 : o;
        const std::uint64_t m = in.pick(6);
        const auto mode = m < 3 ? weft::LockMode::exclusive : m < 5 ? weft::LockMode::shared : static_cast<weft::LockMode>(7);
        const std::uint64_t l = in.pick(6);
        const std::uint64_t lease = l == 0 ? 0 : l == 1 ? std::numeric_limits<std::uint64_t>::max() : l == 2 ? 1000 : 1'000'000'000ULL;
        const weft::AcquireResult r = table.try_acquire(keys[static_cast<std::size_t>(key)], owner, mode, lease);
        if (owner == 0 || m == 5 || l < 2) {
          if (r.status != weft::LockStatus::invalid_argument) fail("try_acquire with bad arguments did not say invalid_argument");
          break;
        }
        weft::sim::LockOp op;
        op.kind = weft::sim::LockOp::acquire;
        op.key = key;
        op.owner = owner;
        op.mode = mode;
        op.lease = lease;
        op.take(r);
        apply(op);
        if (r.status == weft::LockStatus::acquired) tokens[key] = r.token;
        break;
      }
      case 14: {  // release or renew
        const weft::Token t = token(in, key);
        weft::sim::LockOp op;
        op.key = key;
        op.token = t;
        if (in.pick(2) == 0) {
          const weft::ReleaseResult r = table.release(keys[static_cast<std::size_t>(key)], t);
          if (t == 0) {
            if (r.status != weft::LockStatus::invalid_argument) fail("release of token 0 did not say invalid_argument");
            break;
          }
          op.kind = weft::sim::LockOp::release;
          op.take(r);
        } else {
          const std::uint64_t l = in.pick(4);
          const std::uint64_t lease = l == 0 ? 0 : l == 1 ? std::numeric_limits<std::uint64_t>::max() : 1'000'000ULL;
          const weft::RenewResult r = table.renew(keys[static_cast<std::size_t>(key)], t, lease);
          if (t == 0 || l < 2) {
            if (r.status != weft::LockStatus::invalid_argument) fail("renew with bad arguments did not say invalid_argument");
            break;
          }
          op.kind = weft::sim::LockOp::renew;
          op.lease = lease;
          op.take(r);
        }
        apply(op);
        break;
      }
      default: {  // cancel, poll, inspect
        weft::sim::LockOp op;
        op.key = key;
        const std::uint64_t k = in.pick(3);
        if (k == 0) {
          op.kind = weft::sim::LockOp::cancel;
          op.status = table.request_cancel(keys[static_cast<std::size_t>(key)]);
        } else if (k == 1) {
          const weft::Token t = token(in, key);
          const weft::CancelPoll p = table.poll_cancel(keys[static_cast<std::size_t>(key)], t);
          if (t == 0) {
            if (p.status != weft::LockStatus::invalid_argument) fail("poll of token 0 did not say invalid_argument");
            break;
          }
          op.kind = weft::sim::LockOp::poll;
          op.token = t;
          op.take(p);
        } else {
          // inspect() agrees with the model: a free session reads free, a live
          // lease reads exactly (an expired one may read either way).
          const weft::LockInfo info = table.inspect(keys[static_cast<std::size_t>(key)]);
          const weft::sim::SessionModel& m = model.sessions[static_cast<std::size_t>(key)];
          if (info.status != weft::LockStatus::ok) fail("inspect of a quiet table did not say ok");
          if (!m.held && info.held) fail("inspect shows a lease the model does not hold");
          if (m.held && manual.now() <= m.deadline &&
              (!info.held || info.owner != m.owner || info.token != m.token || info.count != m.count ||
               info.mode != m.mode || info.deadline_ns != m.deadline || info.cancel_requested != m.cancel)) {
            fail("inspect disagrees with the model's live lease");
          }
          if (table.inspect(weft::Id{0x5E55, 999'999}).held) fail("inspect shows a session nobody took");
          break;
        }
        apply(op);
        break;
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (source[1] == 0) {
    for (std::size_t i = 0; i < sizeof source; i++) source[i] = static_cast<unsigned char>('a' + i % 23);
  }
  Input in{data, size};
  LogWorld log;
  LockWorld locks;
  for (int ops = 0; in.more() && ops < 4096; ops++) {
    const int kind = in.byte() % 16;
    if (kind >= 13) locks.step(kind, in);
    else log.step(kind, in);
  }
  log.final_check();
  return 0;
}
