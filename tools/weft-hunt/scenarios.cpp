// S1-S5 as simulator programs. Every program builds fresh structures on the
// run's virtual clock, declares logical threads that behave like the service
// code of the scenario (with its race points), and a checker that decides the
// contracts from what the calls returned.
#include "scenarios.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "weft/atomic.h"
#include "weft/lock_table.h"
#include "weft/sim/lock_checker.h"
#include "weft/sim/lock_recorder.h"
#include "weft/sim/turn_checker.h"
#include "weft/sim/turn_recorder.h"
#include "weft/turn_log.h"

namespace weft::hunt {
namespace {

constexpr std::uint64_t second = 1'000'000'000ULL;

// ---- TurnLog world -------------------------------------------------------------

using TurnWorld = sim::TurnRecorder;

TurnLog::Config small_log(TurnLog::Retention retention = TurnLog::Retention::keep_all) {
  return sim::TurnRecorder::small_config(retention);
}

// One request of the chat service: begin, question, context, answer, commit.
// `dies_after_question` leaves the exchange open (the worker crashed).
void chat_request(TurnWorld* w, int conv, std::uint64_t request, bool dies_after_question = false) {
  sim::TurnRecorder::Request r;
  r.conv = conv;
  r.id = request;
  r.ending = dies_after_question ? sim::TurnRecorder::Ending::abandon : sim::TurnRecorder::Ending::commit;
  w->request(r);
}

// The final state (sim::TurnRecorder::check).
std::string final_check(TurnWorld* w, int convs) { return w->check(convs); }

// ---- LockTable world -------------------------------------------------------------

using LockWorld = sim::LockRecorder;

// An exclusive holder's critical section, checked for company (L1).
void critical_section(LockWorld* w, int key) {
  if (++w->holders[key] != 1) w->fail("L1: two exclusive holders of one session at once");
  WEFT_RACE_POINT("service.in_critical_section");
  --w->holders[key];
}

// ---- the scenarios --------------------------------------------------------------

void s1_a(sim::Run& run) {
  auto* w = run.own(new TurnWorld(run, small_log()));
  run.thread("request-1", [w] { chat_request(w, 0, 1); });
  run.thread("request-2", [w] { chat_request(w, 0, 2); });
  run.check([w] { return final_check(w, 1); });
}

void s1_b(sim::Run& run) {
  auto* w = run.own(new TurnWorld(run, small_log()));
  run.thread("user-A", [w] { chat_request(w, 0, 1); });
  run.thread("user-B", [w] {
    chat_request(w, 1, 2);
    chat_request(w, 1, 3);
  });
  run.thread("reader", [w] {
    std::vector<std::string> previous[2];
    for (int round = 0; round < 3; round++) {
      for (int c = 0; c < 2; c++) w->read(c, &previous[c]);
    }
  });
  run.check([w] { return final_check(w, 2); });
}

// S1.c: cleanup (trim + churn that wants to recycle the ring) runs while a
// request is in flight and a reader holds a snapshot: what they hold must not
// change under them; turns leave only as a prefix.
void s1_c(sim::Run& run) {
  auto* w = run.own(new TurnWorld(run, small_log(TurnLog::Retention::recycle_oldest)));
  chat_request(w, 0, 1);  // history before the run (setup is not scheduled)
  run.thread("request", [w] { chat_request(w, 0, 2); });
  run.thread("reader", [w] { w->hold(0); });
  run.thread("cleanup", [w] {
    w->trim(0, 100);
    w->burst(1, 1, 12);  // churn on another conversation wants to recycle the ring
  });
  run.check([w] { return final_check(w, 2); });
}

// S1.d: one request dies after its question; another streams its answer in
// chunks; time moves. Nobody sees half a turn or a dead exchange's turn, and
// the thread is not stuck.
void s1_d(sim::Run& run) {
  auto* w = run.own(new TurnWorld(run, small_log()));
  run.thread("dying-request", [w] { chat_request(w, 0, 1, true); });
  run.thread("streaming-request", [w] {
    const BeginResult b = w->log.begin_exchange(w->convs[0], Id{0xAE, 2}, BeginPolicy::queue);
    if (b.status != LogStatus::ok) return;
    const std::string q = sim::TurnChecker::payload(0, b.exchange.ticket, 0, 2);
    if (w->log.append(b.exchange, Role::user, q.data(), q.size()) != LogStatus::ok) {
      w->checker.record(0, b.exchange.ticket, sim::TurnChecker::failed, 2);
      return;
    }
    const std::string a = sim::TurnChecker::payload(0, b.exchange.ticket, 1, 2);
    TurnWriter stream;
    LogStatus st = w->log.begin_turn(b.exchange, Role::assistant, a.size(), &stream);
    if (st == LogStatus::ok) {
      (void)stream.write(a.data(), 4);
      WEFT_RACE_POINT("service.streaming");
      (void)stream.write(a.data() + 4, a.size() - 4);
      st = stream.finish();
    }
    const LogStatus c = st == LogStatus::ok ? w->log.commit(b.exchange) : w->log.abort(b.exchange);
    w->checker.record(0, b.exchange.ticket,
                      st == LogStatus::ok && c == LogStatus::ok ? sim::TurnChecker::committed : sim::TurnChecker::failed, 2);
  });
  run.thread("next-request", [w] {
    sim::sleep_for(second / 2);
    chat_request(w, 0, 3);
  });
  run.check([w] { return final_check(w, 1); });
}

// S1.f (S1.d's "in the middle of writing a turn", with parallel tool
// calls): a tool thread streams a tool turn into the exchange while the
// request handler answers and commits without waiting for it. A turn is
// visible whole or not at all; a turn whose append said ok is visible once
// its exchange committed.
void s1_f(sim::Run& run) {
  struct World {
    TurnWorld turns;
    ExchangeRef x{};
    LogStatus tool = LogStatus::not_initialized;
    LogStatus committed = LogStatus::not_initialized;
    explicit World(sim::Run& r) : turns(r, small_log()) {}
  };
  auto* w = run.own(new World(run));
  const BeginResult b = w->turns.log.begin_exchange(w->turns.convs[0], Id{0xAE, 1}, BeginPolicy::queue);
  w->x = b.exchange;
  const std::string q = "question";
  (void)w->turns.log.append(w->x, Role::user, q.data(), q.size());
  run.thread("tool-call", [w] {
    const std::string text = "tool result: 42 rows";
    TurnWriter stream;
    LogStatus st = w->turns.log.begin_turn(w->x, Role::tool, text.size(), &stream);
    if (st == LogStatus::ok) {
      (void)stream.write(text.data(), 5);
      WEFT_RACE_POINT("service.tool_streaming");
      (void)stream.write(text.data() + 5, text.size() - 5);
      st = stream.finish();
    }
    w->tool = st;
  });
  run.thread("request", [w] {
    const std::string a = "answer";
    (void)w->turns.log.append(w->x, Role::assistant, a.data(), a.size());
    WEFT_RACE_POINT("service.before_commit");
    w->committed = w->turns.log.commit(w->x);
  });
  run.thread("reader", [w] {  // the client polls the conversation meanwhile
    for (int round = 0; round < 4; round++) {
      TurnView views[8];
      Snapshot snap;
      if (w->turns.log.snapshot(w->turns.convs[0], views, 8, &snap) != LogStatus::ok) continue;
      for (std::size_t i = 0; i < snap.size(); i++) {
        const std::string text(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes);
        if (views[i].role == Role::tool && text != "tool result: 42 rows") {
          w->turns.fail("T4: a reader saw a half-written tool turn: '" + text + "'");
        }
      }
      WEFT_RACE_POINT("service.reader_polls");
    }
  });
  run.check([w] {
    if (!w->turns.violation.empty()) return w->turns.violation;
    TurnView views[8];
    Snapshot snap;
    if (w->turns.log.snapshot(w->turns.convs[0], views, 8, &snap) != LogStatus::ok) return std::string("snapshot failed");
    bool tool_seen = false;
    for (std::size_t i = 0; i < snap.size(); i++) {
      const std::string text(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes);
      if (views[i].role == Role::tool) {
        tool_seen = true;
        if (text != "tool result: 42 rows") return "T4: a half-written tool turn is visible: '" + text + "'";
      }
    }
    if (w->committed == LogStatus::ok && w->tool == LogStatus::ok && !tool_seen) {
      return std::string("T1: the tool turn's append said ok but the committed exchange lacks it");
    }
    return std::string();
  });
}

// S1.e: two requests; whichever finishes writing first, the history is in
// ticket order.
void s1_e(sim::Run& run) {
  auto* w = run.own(new TurnWorld(run, small_log()));
  run.thread("request-1", [w] {
    WEFT_RACE_POINT("service.slow_start");
    chat_request(w, 0, 1);
  });
  run.thread("request-2", [w] { chat_request(w, 0, 2); });
  run.thread("request-3", [w] { chat_request(w, 0, 3); });
  run.check([w] { return final_check(w, 1); });
}

// S2.a/b/e/g: edits, reads and rapid re-tries on one session and a
// neighbour, with releases, renewals and cancels; linearizable (L1-L9).
void s2_sessions(sim::Run& run) {
  auto* w = run.own(new LockWorld(run, 2));
  run.thread("edit", [w] {
    const AcquireResult r = w->acquire(0, 11, LockMode::exclusive, second);
    if (r.status == LockStatus::acquired) {
      if (r.depth == 1) critical_section(w, 0);
      (void)w->release(0, r.token);
    }
  });
  run.thread("second-edit", [w] {
    const AcquireResult r = w->acquire(0, 22, LockMode::exclusive, second);
    if (r.status == LockStatus::acquired) {
      if (r.depth == 1) critical_section(w, 0);
      (void)w->renew(0, r.token, second);
      (void)w->release(0, r.token);
      (void)w->release(0, r.token);  // a retried request releases again (S2.g)
    } else {
      (void)w->cancel(0);
      (void)w->release(0, 1);  // a confused client releases with someone's old token
    }
  });
  run.thread("read", [w] {
    const AcquireResult r = w->acquire(0, 33, LockMode::shared, second);
    if (r.status == LockStatus::acquired) {
      (void)w->poll(0, r.token);
      (void)w->release(0, r.token);
    }
    const AcquireResult other = w->acquire(1, 33, LockMode::exclusive, second);
    if (other.status == LockStatus::acquired) (void)w->release(1, other.token);
  });
  run.check([w] { return w->check(); });
}

// S2.f: a holder vanishes; its lease runs out on the virtual clock; a new
// request takes over; the vanished holder comes back late and releases.
void s2_f(sim::Run& run) {
  auto* w = run.own(new LockWorld(run, 1));
  run.thread("vanishing-holder", [w] {
    const AcquireResult r = w->acquire(0, 11, LockMode::exclusive, 1000);
    if (r.status != LockStatus::acquired) return;
    WEFT_RACE_POINT("service.holder_stalls");
    (void)w->release(0, r.token);  // late, maybe after a takeover
  });
  run.thread("next-request", [w] {
    sim::sleep_for(1500);
    const AcquireResult r = w->acquire(0, 22, LockMode::exclusive, second);
    if (r.status == LockStatus::acquired) (void)w->release(0, r.token);
  });
  run.thread("third-request", [w] {
    sim::sleep_for(1200);
    const AcquireResult r = w->acquire(0, 33, LockMode::exclusive, second);
    if (r.status == LockStatus::acquired) (void)w->release(0, r.token);
  });
  run.check([w] { return w->check(); });
}

// S2.f with the TurnLog (T9): a holder's lease runs out in the middle of its
// exchange; a new holder takes the session over and begins with its newer
// fencing token. The old holder's commit must not succeed once the newer
// token has begun.
void s2_f_fenced(sim::Run& run) {
  struct World {
    TurnWorld turns;
    LockTable locks;
    std::uint64_t sequence = 0;
    std::uint64_t newer_begun_at = ~0ULL;
    std::uint64_t old_commit_invoked_at = 0;
    LogStatus old_commit = LogStatus::not_initialized;
    explicit World(sim::Run& r) : turns(r, small_log()) {}
  };
  auto* w = run.own(new World(run));
  LockTable::Config config;
  config.capacity = 8;
  (void)w->locks.create(config, run.clock());
  const Id session{0xF3, 1};
  run.thread("old-holder", [w, session] {
    const AcquireResult lease = w->locks.try_acquire(session, 1, LockMode::exclusive, 1000);
    if (lease.status != LockStatus::acquired) return;
    const BeginResult b = w->turns.log.begin_exchange(w->turns.convs[0], Id{0xA0, 1}, BeginPolicy::queue, lease.token);
    if (b.status != LogStatus::ok) return;
    const std::string text = "old holder's write";
    (void)w->turns.log.append(b.exchange, Role::user, text.data(), text.size());
    WEFT_RACE_POINT("service.old_holder_slow");
    w->old_commit_invoked_at = w->sequence++;
    w->old_commit = w->turns.log.commit(b.exchange);
  });
  run.thread("new-holder", [w, session] {
    sim::sleep_for(1500);
    const AcquireResult lease = w->locks.try_acquire(session, 2, LockMode::exclusive, second);
    if (lease.status != LockStatus::acquired) return;
    const BeginResult b = w->turns.log.begin_exchange(w->turns.convs[0], Id{0xA0, 2}, BeginPolicy::queue, lease.token);
    if (b.status != LogStatus::ok) return;
    w->newer_begun_at = w->sequence++;
    const std::string text = "new holder's write";
    (void)w->turns.log.append(b.exchange, Role::user, text.data(), text.size());
    (void)w->turns.log.commit(b.exchange);
  });
  run.check([w] {
    if (w->old_commit == LogStatus::ok && w->newer_begun_at < w->old_commit_invoked_at) {
      return std::string("T9: the old holder committed after a newer fencing token had begun");
    }
    return std::string();
  });
}

// S3: three workers insert the same trace id at once: exactly one exchange,
// the others get duplicate with its ticket.
void s3(sim::Run& run) {
  struct World {
    TurnLog log;
    BeginResult results[3];
  };
  auto* w = run.own(new World());
  (void)w->log.create(small_log(), run.clock());
  for (int t = 0; t < 3; t++) {
    run.thread("worker", [w, t] {
      w->results[t] = w->log.begin_exchange(Id{0x7ACE, 1}, Id{0xE915, 7}, BeginPolicy::queue);
    });
  }
  run.check([w] {
    int oks = 0;
    for (const BeginResult& r : w->results) {
      if (r.status == LogStatus::ok) oks++;
      else if (r.status != LogStatus::duplicate) return std::string("S3: a worker got ") + to_string(r.status);
      if (r.exchange.ticket != w->results[0].exchange.ticket) return std::string("T2: two tickets for one request id");
    }
    return oks == 1 ? std::string() : "T2: " + std::to_string(oks) + " exchanges for one request id";
  });
}

// S4.b: two requests both find "no task" for a session; a third session
// comes and goes in the same probe window so the claims land on different
// slots. Exactly one task per session (insert-if-absent).
void s4_b(sim::Run& run) {
  struct World {
    LockTable table;
    int tasks = 0;
    Token tokens[3] = {};
  };
  auto* w = run.own(new World());
  LockTable::Config config;
  config.capacity = 8;
  config.probe_window = 4;
  (void)w->table.create(config, run.clock());
  const Id session{0x7A5C, 1};
  Id neighbour{0x7A5C, 2};
  for (std::uint64_t n = 2; id_mix64(neighbour) % 8 != id_mix64(session) % 8; n++) neighbour = Id{0x7A5C, n};
  const AcquireResult first_neighbour = w->table.try_acquire(neighbour, 9, LockMode::exclusive, second);
  for (int t = 0; t < 2; t++) {
    run.thread("request", [w, session, t] {
      const AcquireResult r = w->table.try_acquire(session, 100 + static_cast<OwnerId>(t), LockMode::exclusive, second);
      if (r.status == LockStatus::acquired) {
        w->tasks++;  // "start the task"
        w->tokens[t] = r.token;
      }
    });
  }
  run.thread("neighbour", [w, neighbour, first_neighbour] {
    (void)w->table.release(neighbour, first_neighbour.token);
    const AcquireResult again = w->table.try_acquire(neighbour, 9, LockMode::exclusive, second);
    if (again.status == LockStatus::acquired) (void)w->table.release(neighbour, again.token);
  });
  run.check([w] {
    return w->tasks == 1 ? std::string() : "S4.b: " + std::to_string(w->tasks) + " tasks started for one session";
  });
}

// S5: three users, each with a session lock and a conversation, at once: no
// cross-user contamination, everything lands.
void s5(sim::Run& run) {
  struct World {
    TurnWorld turns;
    LockTable locks;
    World(sim::Run& r) : turns(r, small_log()) {}
  };
  auto* w = run.own(new World(run));
  LockTable::Config config;
  config.capacity = 16;
  (void)w->locks.create(config, run.clock());
  for (int u = 0; u < 3; u++) {
    run.thread("user", [w, u] {
      const Id session{0x5E55, static_cast<std::uint64_t>(u) + 1};
      const AcquireResult lease = w->locks.try_acquire(session, 1 + static_cast<OwnerId>(u), LockMode::exclusive, second);
      if (lease.status != LockStatus::acquired) {
        w->turns.fail(std::string("S5: user session lock: ") + to_string(lease.status));
        return;
      }
      chat_request(&w->turns, u, 10 + static_cast<std::uint64_t>(u));
      if (w->locks.release(session, lease.token).status != LockStatus::released) w->turns.fail("S5: release failed");
    });
  }
  run.check([w] { return final_check(&w->turns, 3); });
}

}  // namespace

std::vector<Scenario> all_scenarios() {
  return {
      {"S1.a", "double send: request 2 builds its context while request 1 is half saved", "T1 T3 T4 T7", s1_a, 0},
      {"S1.b", "two users on two threads, a reader taking snapshots throughout", "T1 T3 T4 T5 T6", s1_b, 0},
      {"S1.c", "cleanup trims and recycles while a request and a reader are in flight", "T1 T4 T8", s1_c, 0},
      {"S1.d", "a request dies after its question, another streams its answer", "T1 T4 T10", s1_d, second / 4},
      {"S1.e", "three requests finish writing in any order", "T1 T3 T7", s1_e, 0},
      {"S1.f", "a tool call streams a turn while the request commits", "T1 T4", s1_f, 0},
      {"S2", "edits, reads, renewals and cancels on one session and a neighbour", "L1-L9", s2_sessions, 400},
      {"S2.f", "a holder vanishes, its lease expires, it releases late", "L2 L3 L4 L9", s2_f, 400},
      {"S2.f+T9", "a holder's lease ends mid-exchange; its fence is refused", "T9 L3", s2_f_fenced, 400},
      {"S3", "three workers insert one trace id at once", "T2", s3, 0},
      {"S4.b", "two requests check-then-create one task while a neighbour moves", "L1 L8", s4_b, 0},
      {"S5", "three users, three sessions, three conversations at once", "T1 T6 L1", s5, 0},
  };
}

}  // namespace weft::hunt
