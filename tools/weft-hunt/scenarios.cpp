// S1-S5 as simulator programs. Every program builds fresh structures on the
// run's virtual clock, declares logical threads that behave like the service
// code of the scenario (with its race points), and a checker that decides the
// contracts from what the calls returned.
#include "scenarios.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "weft/atomic.h"
#include "weft/lock_table.h"
#include "weft/log_inspect.h"
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

// S1.h: the same ring with two append lanes. Three writers (the simulator
// gives its threads lanes 0, 1, 0, ...) open segments for their lanes, fill
// them and make the ring recycle while a request streams and a reader holds
// a snapshot: a lane's segment may be recycled under it, two lanes may race
// to open the next sequence. Histories stay whole prefixes in order, and
// nothing a reader holds changes.
void s1_h(sim::Run& run) {
  TurnLog::Config config = small_log(TurnLog::Retention::recycle_oldest);
  config.append_lanes = 2;
  auto* w = run.own(new TurnWorld(run, config));
  chat_request(w, 0, 1);  // history before the run (setup is not scheduled)
  run.thread("request", [w] { chat_request(w, 0, 2); });
  run.thread("churn-a", [w] { w->burst(1, 1, 8); });
  run.thread("churn-b", [w] { w->burst(2, 100, 8); });
  run.thread("reader", [w] { w->hold(0); });
  run.check([w] { return final_check(w, 3); });
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
  for (std::uint64_t n = 2; id_slot(neighbour, 8) != id_slot(session, 8); n++) neighbour = Id{0x7A5C, n};
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

// S1.g: worker *processes* share one ring (retention recycle_oldest) and
// each joined the log; two of them may be killed at any step (SIGKILL:
// nothing of them unwinds): mid-claim, mid-append, mid-recycle, holding a
// snapshot, inside join or inside a reap. A third process keeps serving its
// conversation through the ring. T10: it never waits for ever and gets every
// request through (a retry waits out the exchange timeout); T1/T3/T4: every
// exchange a process saw committed is whole and in order in its history
// unless the ring trimmed it (a prefix, T8); after the run a new process
// joins and gets two rings' worth of exchanges through.
struct ProcessWorld {
  static constexpr int processes = 3;  // sim threads 0, 1 (mortal) and 2
  static constexpr int survivor_requests = 14;
  static constexpr std::uint64_t timeout = second / 100;
  static TurnLog::Config config() {
    TurnLog::Config c;
    c.segment_bytes = 1024;  // 3 records a segment
    c.segment_count = 4;
    c.thread_capacity = 8;
    c.exchanges_per_thread = 4;
    c.reader_slots = 4;
    c.exchange_timeout_ns = timeout;
    c.retention = TurnLog::Retention::recycle_oldest;
    c.process_slots = processes + 2;  // three processes, the checker's, and slot 0
    return c;
  }
  explicit ProcessWorld(sim::Run& run) {
    if (owner.create(config(), run.clock()) != LogStatus::ok) failure = "S1.g: create failed";
    for (TurnLog& h : handles) {
      if (h.attach(const_cast<void*>(owner.region()), TurnLog::region_bytes(config()), run.clock()) != LogStatus::ok) {
        failure = "S1.g: attach failed";
      }
    }
  }
  // Process `p` is sim thread p; its identity is p + 1.
  static bool alive(void*, std::uint64_t identity) { return !sim::killed(static_cast<int>(identity) - 1); }
  static TurnLog::Liveness liveness_of(int p) {
    TurnLog::Liveness l;
    l.identity = static_cast<std::uint64_t>(p) + 1;
    l.alive = &alive;
    return l;
  }
  static Id conv(int c) { return Id{0x5106, static_cast<std::uint64_t>(c) + 1}; }
  // A turn's bytes: its conversation, ticket and index (a small buffer: a
  // killed process's stack owns no heap).
  static int payload(char (&out)[24], int c, std::uint64_t ticket, int index) {
    return std::snprintf(out, sizeof out, "c%d t%llu i%d", c, static_cast<unsigned long long>(ticket), index);
  }
  // One request on conversation `c`: begin, question, streamed answer,
  // commit. Returns the ticket when commit said ok, else 0 (and `status`).
  static std::uint64_t request(TurnLog& log, int c, std::uint64_t id, LogStatus& status) {
    const BeginResult b = log.begin_exchange(conv(c), Id{0x5107, id}, BeginPolicy::queue);
    status = b.status;
    if (b.status != LogStatus::ok) return 0;
    char q[24], a[24];
    const int qn = payload(q, c, b.exchange.ticket, 0), an = payload(a, c, b.exchange.ticket, 1);
    status = log.append(b.exchange, Role::user, q, static_cast<std::size_t>(qn));
    if (status == LogStatus::ok) {
      TurnWriter stream;
      status = log.begin_turn(b.exchange, Role::assistant, static_cast<std::size_t>(an), &stream);
      if (status == LogStatus::ok) {
        (void)stream.write(a, 3);
        WEFT_RACE_POINT("service.streaming");
        (void)stream.write(a + 3, static_cast<std::size_t>(an) - 3);
        status = stream.finish();
      }
    }
    if (status == LogStatus::ok) status = log.commit(b.exchange);
    if (status != LogStatus::ok) {
      (void)log.abort(b.exchange);
      return 0;
    }
    return b.exchange.ticket;
  }
  // Conversation `c` through `log`: whole turns, both turns of each exchange,
  // in order, and every exchange in `confirmed` shown unless trimmed (below
  // the first one shown: recycling trims a prefix).
  static std::string check_conv(TurnLog& log, int c, const std::vector<std::uint64_t>& confirmed) {
    TurnView views[64];
    Snapshot snap;
    const LogStatus st = log.snapshot(conv(c), views, 64, &snap);
    if (st != LogStatus::ok) return std::string("S1.g: snapshot: ") + to_string(st);
    std::set<std::uint64_t> shown;
    for (std::size_t i = 0; i < snap.size(); i++) {
      char want[24];
      const int n = payload(want, c, views[i].ticket, static_cast<int>(views[i].index));
      if (views[i].payload_bytes != static_cast<std::uint32_t>(n) ||
          std::memcmp(views[i].payload, want, static_cast<std::size_t>(n)) != 0) {
        return "S1.g: T4: a turn of conversation " + std::to_string(c) + " is not whole";
      }
      if (i > 0 && (views[i].ticket < views[i - 1].ticket ||
                    (views[i].ticket == views[i - 1].ticket && views[i].index <= views[i - 1].index))) {
        return "S1.g: T3: conversation " + std::to_string(c) + " out of order";
      }
      const bool pair = (i + 1 < snap.size() && views[i + 1].ticket == views[i].ticket) ||
                        (i > 0 && views[i - 1].ticket == views[i].ticket);
      if (!pair) {
        return "S1.g: T4: exchange " + std::to_string(views[i].ticket) + " of conversation " + std::to_string(c) +
               " shows one turn";
      }
      shown.insert(views[i].ticket);
    }
    const std::uint64_t first = shown.empty() ? ~0ULL : *shown.begin();
    for (std::uint64_t ticket : confirmed) {
      if (shown.count(ticket) == 0 && ticket >= first) {
        return "S1.g: T1: conversation " + std::to_string(c) + " lost committed exchange " + std::to_string(ticket);
      }
    }
    return "";
  }
  // The ring's state, for a failure message: head, current, each segment.
  std::string ring() {
    void* region = const_cast<void*>(owner.region());
    const std::size_t bytes = TurnLog::region_bytes(config());
    LogLayout layout;
    if (inspect_log(region, bytes, &layout) != LogStatus::ok) return "";
    std::string d = " (ring: head " + std::to_string(layout.head) + ", current " + std::to_string(layout.current);
    for (std::uint32_t i = 0; i < layout.config.segment_count; i++) {
      SegmentReport r;
      if (inspect_segment(region, bytes, i, &r) != LogStatus::ok) continue;
      d += "; slot " + std::to_string(i) + ": sequence " + std::to_string(r.sequence) + " " + to_string(r.state) +
           ", " + std::to_string(r.writers) + " writers, " + std::to_string(r.busy) + " busy";
    }
    return d + ")";
  }
  TurnLog owner;               // owns the region; never joins
  TurnLog handles[processes];  // one per process
  std::vector<std::uint64_t> committed[processes];
  bool finished[processes] = {};
  std::string failure;
};

void s1_g(sim::Run& run) {
  auto* w = run.own(new ProcessWorld(run));
  for (int p = 0; p < 2; p++) {
    run.mortal_thread("worker-" + std::to_string(p), [w, p] {
      TurnLog& log = w->handles[p];
      if (log.join(ProcessWorld::liveness_of(p)) != LogStatus::ok) return;
      TurnView views[8];
      for (std::uint64_t r = 1; r <= 3; r++) {
        LogStatus status = LogStatus::ok;
        const std::uint64_t ticket = ProcessWorld::request(log, p, 100 * static_cast<std::uint64_t>(p) + r, status);
        if (ticket != 0) w->committed[p].push_back(ticket);
        Snapshot snap;  // held a moment (killed here: a reader pin)
        (void)log.snapshot(ProcessWorld::conv(p), views, 8, &snap);
        WEFT_RACE_POINT("service.holding_snapshot");
      }
      w->finished[p] = true;
    });
  }
  run.thread("survivor", [w] {
    TurnLog& log = w->handles[2];
    if (log.join(ProcessWorld::liveness_of(2)) != LogStatus::ok) {
      w->failure = "S1.g: T10: the surviving process cannot join";
      return;
    }
    for (std::uint64_t r = 1; r <= ProcessWorld::survivor_requests; r++) {
      LogStatus status = LogStatus::ok;
      std::uint64_t ticket = 0;
      // A retry waits out the exchange timeout. A live worker may hold the
      // ring (a snapshot it reads, an exchange it makes progress on) for as
      // long as it runs: those retries are free. Once every worker finished
      // or was killed, eight retries must be enough [T10]. Bound: 4096.
      int stuck = 0;
      for (std::uint64_t attempt = 0; attempt < 4096 && ticket == 0 && stuck < 8; attempt++) {
        ticket = ProcessWorld::request(log, 2, 1000 + r * 10000 + attempt, status);
        if (ticket != 0) break;
        if ((w->finished[0] || sim::killed(0)) && (w->finished[1] || sim::killed(1))) stuck++;
        sim::sleep_for(2 * ProcessWorld::timeout);
      }
      if (ticket == 0) {
        w->failure = std::string("S1.g: T10: the surviving process is stuck: ") + to_string(status);
        return;
      }
      w->committed[2].push_back(ticket);
    }
  });
  run.check([w] {
    if (!w->failure.empty()) return w->failure + w->ring();
    for (int c = 0; c < ProcessWorld::processes; c++) {
      const std::string verdict = ProcessWorld::check_conv(w->handles[2], c, w->committed[c]);
      if (!verdict.empty()) return verdict;
    }
    // After the timeout, a new process joins and gets two rings through.
    sim::sleep_for(2 * ProcessWorld::timeout);
    TurnLog late;
    if (late.attach(const_cast<void*>(w->owner.region()), TurnLog::region_bytes(ProcessWorld::config()),
                    w->owner.clock()) != LogStatus::ok ||
        late.join(ProcessWorld::liveness_of(9)) != LogStatus::ok) {
      return std::string("S1.g: T10: a new process cannot join after the deaths");
    }
    for (std::uint64_t r = 0; r < 24; r++) {
      LogStatus status = LogStatus::ok;
      if (ProcessWorld::request(late, 3, 5000 + r, status) == 0) {
        return std::string("S1.g: T10: after the deaths the ring stopped: ") + to_string(status) + w->ring();
      }
    }
    return std::string();
  });
}

// S2.g: session-lock processes share one LockTable and each joined it; two
// may be killed at any step (mid-claim, keyed, publishing, writing a renewed
// deadline, inside join or a reap). A third keeps taking both sessions.
// T10/L4: once the others finished or died, it never finds a session
// `contended` for good, and gets every lease it asks for (after a dead
// holder's lease ends); after the run a new process joins and takes every
// session at once. L3: every token handed out is new.
struct LockProcessWorld {
  static constexpr int processes = 3;  // sim threads 0, 1 (mortal) and 2
  static constexpr std::uint64_t lease = 1000;  // ns of virtual time
  explicit LockProcessWorld(sim::Run& run) {
    LockTable::Config c;
    c.capacity = 8;
    c.probe_window = 4;
    c.process_slots = processes + 2;
    if (owner.create(c, run.clock()) != LockStatus::ok) failure = "S2.g: create failed";
    for (LockTable& h : handles) {
      if (h.attach(const_cast<void*>(owner.region()), LockTable::region_bytes(c), run.clock()) != LockStatus::ok) {
        failure = "S2.g: attach failed";
      }
    }
  }
  static Id session(int k) { return Id{0x52, static_cast<std::uint64_t>(k) + 1}; }
  void token_seen(Token t) {
    if (t != 0 && !tokens.insert(t).second) failure = "S2.g: L3: a fencing token was handed out twice";
  }
  LockTable owner;
  LockTable handles[processes];
  std::set<Token> tokens;
  bool finished[processes] = {};
  std::string failure;
};

void s2_g(sim::Run& run) {
  auto* w = run.own(new LockProcessWorld(run));
  for (int p = 0; p < 2; p++) {
    run.mortal_thread("editor-" + std::to_string(p), [w, p] {
      LockTable& t = w->handles[p];
      if (t.join(ProcessWorld::liveness_of(p)) != LockStatus::ok) return;
      for (int round = 0; round < 2; round++) {
        const Id s = LockProcessWorld::session(round % 2);
        const AcquireResult a = t.try_acquire(s, static_cast<OwnerId>(10 + p), LockMode::exclusive, LockProcessWorld::lease);
        if (a.status != LockStatus::acquired) continue;
        w->token_seen(a.token);
        (void)t.renew(s, a.token, 4 * LockProcessWorld::lease);  // writes the deadline
        const AcquireResult again = t.try_acquire(s, static_cast<OwnerId>(10 + p), LockMode::exclusive,
                                                  8 * LockProcessWorld::lease);  // reentry, extends
        if (again.status == LockStatus::acquired) (void)t.release(s, again.token);
        (void)t.release(s, a.token);
      }
      w->finished[p] = true;
    });
  }
  run.thread("survivor", [w] {
    LockTable& t = w->handles[2];
    if (t.join(ProcessWorld::liveness_of(2)) != LockStatus::ok) {
      w->failure = "S2.g: T10: the surviving process cannot join";
      return;
    }
    for (int k = 0; k < 2; k++) {
      for (int round = 0; round < 2; round++) {
        // Busy (a live or dead holder's lease still runs) and contended (a
        // transition) are retried. Once every editor finished or died, a
        // dead holder's lease ends within 8 leases: 64 retries a lease apart.
        // Bound: 4096.
        AcquireResult a;
        int stuck = 0;
        for (int attempt = 0; attempt < 4096 && stuck < 64; attempt++) {
          a = t.try_acquire(LockProcessWorld::session(k), 30, LockMode::exclusive, LockProcessWorld::lease);
          if (a.status == LockStatus::acquired) break;
          if ((w->finished[0] || sim::killed(0)) && (w->finished[1] || sim::killed(1))) stuck++;
          sim::sleep_for(LockProcessWorld::lease);
        }
        if (a.status != LockStatus::acquired) {
          w->failure = std::string("S2.g: T10: the surviving process cannot take session ") + std::to_string(k) +
                       ": " + to_string(a.status);
          return;
        }
        w->token_seen(a.token);
        // stale or not_held: its short lease ended meanwhile and someone took
        // the session over (and maybe released it): L4
        const LockStatus released = t.release(LockProcessWorld::session(k), a.token).status;
        if (released != LockStatus::released && released != LockStatus::stale && released != LockStatus::not_held) {
          w->failure = std::string("S2.g: L2: the survivor's release said ") + to_string(released);
          return;
        }
      }
    }
  });
  run.check([w] {
    if (!w->failure.empty()) return w->failure;
    sim::sleep_for(16 * LockProcessWorld::lease);  // every lease ends
    LockTable late;
    LockTable::Config c;
    c.capacity = 8;
    c.process_slots = LockProcessWorld::processes + 2;
    if (late.attach(const_cast<void*>(w->owner.region()), LockTable::region_bytes(c), w->owner.clock()) !=
            LockStatus::ok ||
        late.join(ProcessWorld::liveness_of(9)) != LockStatus::ok) {
      return std::string("S2.g: T10: a new process cannot join after the deaths");
    }
    for (int k = 0; k < 2; k++) {
      const AcquireResult a = late.try_acquire(LockProcessWorld::session(k), 40, LockMode::exclusive, second);
      if (a.status != LockStatus::acquired) {
        return std::string("S2.g: T10/L4: after the deaths session ") + std::to_string(k) + " is " + to_string(a.status);
      }
      w->token_seen(a.token);
    }
    return w->failure;
  });
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
      {"S1.h", "two append lanes open, fill and recycle one ring under a request and a reader", "T1 T3 T4 T8",
       s1_h, 0},
      {"S1.g", "worker processes killed anywhere in a shared ring; another keeps serving", "T1 T4 T8 T10", s1_g,
       0, 500},
      {"S2.g", "session-lock processes killed anywhere; another keeps taking the sessions", "L3 L4 T10", s2_g, 0,
       60},
  };
}

}  // namespace weft::hunt
