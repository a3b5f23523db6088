// weft/sim/turn_recorder.h: drive a TurnLog the way a chat service does,
// inside a simulation, and check what every call returned (T1-T9).
//
// A TurnRecorder owns a TurnLog on the run's virtual clock and a few
// conversation threads. Simulated threads call request() (begin, question,
// context, answer, commit; or abort, or die half way, or stream the answer),
// tool() (stream a tool turn into another request's open exchange), read()
// (a checked snapshot), hold() (a pinned snapshot that must not change),
// trim() and burst() (cleanup and churn). Each call checks what it can at
// once (a TurnChecker over the payloads) and remembers the rest; check()
// decides the end state: abandoned exchanges expire, every conversation holds
// each committed exchange once, whole and in order, every ready context held
// exactly the exchanges before it that committed (T7), a request id began at
// most one exchange (T2), a tool turn is there exactly when its stream said
// ok, and no fenced exchange committed after a newer fence began (T9).
//
// weft-hunt's TurnLog scenarios and turn_log_fuzzer are written with it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "weft/atomic.h"
#include "weft/sim/sim.h"
#include "weft/sim/turn_checker.h"
#include "weft/turn_log.h"

namespace weft::sim {

/// Records a TurnLog history in a simulation (see the file comment).
class TurnRecorder {
 public:
  /// How a request ends.
  enum class Ending : std::uint8_t {
    commit,   ///< answer, then commit
    abort,    ///< question, then abort
    abandon,  ///< question, then the worker dies (the exchange is left open)
  };
  /// What one request does.
  struct Request {
    int conv = 0;                              ///< conversation index
    std::uint64_t id = 0;                      ///< the request id (idempotency key)
    BeginPolicy policy = BeginPolicy::queue;   ///< begin policy
    Ending ending = Ending::commit;            ///< how it ends
    bool stream_answer = false;                ///< the answer is a streamed turn (two chunks)
    bool offer_tool = false;                   ///< let a tool() call stream into this exchange
    bool read_context = true;                  ///< build the context before answering
    Token fence = 0;                           ///< fencing token for begin (0: none)
  };
  /// A fenced begin or commit, in the order the calls happened (T9).
  struct Fenced {
    int conv = 0;               ///< conversation
    Token fence = 0;            ///< the token
    std::uint64_t at = 0;       ///< begin: when it returned ok; commit: when it was called
  };
  /// A ready context a request saw.
  struct ContextSeen {
    int conv = 0;                     ///< conversation
    std::uint64_t ticket = 0;         ///< the request's ticket
    std::set<std::uint64_t> tickets;  ///< exchanges the context held
  };
  /// A begin_exchange() result (T2 is decided on these at the end).
  struct Begun {
    int conv = 0;                  ///< conversation
    std::uint64_t id = 0;          ///< request id
    LogStatus status = LogStatus::not_initialized;  ///< what begin returned
    std::uint64_t ticket = 0;      ///< the ticket it returned
  };
  /// A tool() stream's result.
  struct ToolResult {
    int conv = 0;              ///< conversation
    std::uint64_t ticket = 0;  ///< the exchange streamed into
    LogStatus status = LogStatus::not_initialized;  ///< what finish() returned
  };

  static constexpr int conversations_max = 4;    ///< conversations a recorder has
  static constexpr std::uint64_t tickets_max = 64;  ///< tickets per conversation it tracks
  static constexpr std::uint64_t second = 1'000'000'000ULL;  ///< one second of virtual time

  TurnLog log;                        ///< the log under test
  TurnChecker checker{conversations_max, tickets_max};  ///< payload-level checks
  std::vector<Id> convs;              ///< the conversations' thread ids
  std::vector<ContextSeen> contexts;  ///< every ready context seen
  std::vector<Begun> begins;          ///< every begin result
  std::vector<ToolResult> tools;      ///< every tool stream
  std::vector<Fenced> fenced_begins;  ///< fenced begins that returned ok
  std::vector<Fenced> fenced_commits; ///< fenced commits that returned ok
  std::uint64_t sequence = 0;         ///< real-time order of fenced calls
  std::string violation;              ///< first violation a thread saw while running
  Clock clock;                        ///< the run's virtual clock
  std::uint32_t window = 0;           ///< W of the log's config
  /// History may lose a prefix (trim or recycling): snapshot-to-snapshot
  /// prefix checks (T5), T1 against earlier commits and T7 are then skipped.
  bool history_can_shrink = false;
  /// The exchange a request offers to tool() calls (ticket 0: none).
  ExchangeRef tool_target{};
  int tool_target_conv = 0;

  /// A small log: 1 KiB segments (about three records each), four segments,
  /// 8 threads, W = 4, 4 reader slots, a one-second timeout.
  static TurnLog::Config small_config(TurnLog::Retention retention = TurnLog::Retention::keep_all) {
    TurnLog::Config config;
    config.segment_bytes = 1024;
    config.segment_count = 4;
    config.thread_capacity = 8;
    config.exchanges_per_thread = 4;
    config.reader_slots = 4;
    config.exchange_timeout_ns = second;
    config.retention = retention;
    return config;
  }

  /// A log of `config` on the run's clock, with conversations_max conversations.
  TurnRecorder(Run& run, const TurnLog::Config& config) : clock(run.clock()), window(config.exchanges_per_thread) {
    (void)log.create(config, clock);
    history_can_shrink = config.retention == TurnLog::Retention::recycle_oldest;
    for (int c = 0; c < conversations_max; c++) convs.push_back(Id{0xC0'0000ULL + static_cast<std::uint64_t>(c), 7});
  }

  /// Notes the first violation.
  void fail(const std::string& what) {
    if (violation.empty()) violation = what;
  }

  /// One request of the chat service (see Request).
  void request(const Request& r) {
    const Id& thread = convs[static_cast<std::size_t>(r.conv)];
    const BeginResult begun = log.begin_exchange(thread, Id{0xAE, r.id}, r.policy, r.fence);
    begins.push_back(Begun{r.conv, r.id, begun.status, begun.exchange.ticket});
    if (r.fence != 0 && begun.status == LogStatus::ok) fenced_begins.push_back(Fenced{r.conv, r.fence, sequence++});
    if (begun.status == LogStatus::duplicate || begun.status == LogStatus::busy ||
        begun.status == LogStatus::too_many_in_flight) {
      return;  // judged at the end (T2) or by the policy
    }
    if (begun.status != LogStatus::ok) {
      fail(std::string("begin: ") + to_string(begun.status));
      return;
    }
    const ExchangeRef x = begun.exchange;
    const int turns = r.ending == Ending::commit ? 2 : 1;
    WEFT_RACE_POINT("service.before_save");
    std::string q = TurnChecker::payload(r.conv, x.ticket, 0, turns);
    if (log.append(x, Role::user, q.data(), q.size()) != LogStatus::ok) {
      checker.record(r.conv, x.ticket, TurnChecker::failed, turns);
      return;
    }
    WEFT_RACE_POINT("service.after_user_turn");
    if (r.offer_tool) {
      tool_target = x;
      tool_target_conv = r.conv;
    }
    if (r.ending == Ending::abandon) {
      checker.record(r.conv, x.ticket, TurnChecker::abandoned, turns);
      return;
    }
    if (r.ending == Ending::abort) {
      const LogStatus st = log.abort(x);
      checker.record(r.conv, x.ticket, st == LogStatus::ok ? TurnChecker::aborted : TurnChecker::failed, turns);
      return;
    }
    if (r.read_context) read_context(r.conv, x);
    WEFT_RACE_POINT("service.between_context_and_model");
    std::string a = TurnChecker::payload(r.conv, x.ticket, 1, turns);
    LogStatus answered = LogStatus::ok;
    if (r.stream_answer) {
      TurnWriter stream;
      answered = log.begin_turn(x, Role::assistant, a.size(), &stream);
      if (answered == LogStatus::ok) {
        (void)stream.write(a.data(), 4);
        WEFT_RACE_POINT("service.streaming");
        (void)stream.write(a.data() + 4, a.size() - 4);
        answered = stream.finish();
      }
    } else {
      answered = log.append(x, Role::assistant, a.data(), a.size());
    }
    if (answered != LogStatus::ok) {
      (void)log.abort(x);
      checker.record(r.conv, x.ticket, TurnChecker::failed, turns);
      return;
    }
    WEFT_RACE_POINT("service.before_commit");
    const std::uint64_t commit_called = sequence++;
    const LogStatus committed = log.commit(x);
    if (r.fence != 0 && committed == LogStatus::ok) fenced_commits.push_back(Fenced{r.conv, r.fence, commit_called});
    checker.record(r.conv, x.ticket, committed == LogStatus::ok ? TurnChecker::committed : TurnChecker::failed, turns);
  }

  /// The request's context, polled (bounded) until ready, then checked.
  void read_context(int conv, const ExchangeRef& x) {
    TurnView views[32];
    Snapshot context;
    LogStatus st = LogStatus::not_ready;
    for (int poll = 0; poll < 64 && st == LogStatus::not_ready; poll++) {  // bounded wait
      st = log.context(x, views, 32, &context);
      if (st == LogStatus::not_ready) {
        WEFT_RACE_POINT("service.context_not_ready");
        sleep_for(1000);
      }
    }
    if (st == LogStatus::ok) {
      ContextSeen seen{conv, x.ticket, {}};
      for (std::size_t i = 0; i < context.size(); i++) {
        if (!TurnChecker::is_extra(views[i])) seen.tickets.insert(views[i].ticket);
      }
      contexts.push_back(seen);
      const std::string bad = checker.check_snapshot(conv, convs[static_cast<std::size_t>(conv)], views, context.size(),
                                                     x.ticket - 1, {}, nullptr);
      if (!bad.empty()) fail("context: " + bad);
    }
  }

  /// A tool call: streams a tool turn into the exchange a request offered,
  /// waiting (bounded: 64 polls of a virtual microsecond) for one to be on
  /// offer; nothing when none comes.
  void tool() {
    for (int poll = 0; poll < 64 && tool_target.ticket == 0; poll++) sleep_for(1000);
    const ExchangeRef x = tool_target;
    const int conv = tool_target_conv;
    if (x.ticket == 0) return;
    const std::string text = TurnChecker::tool_payload(conv, x.ticket);
    TurnWriter stream;
    LogStatus st = log.begin_turn(x, Role::tool, text.size(), &stream);
    if (st == LogStatus::ok) {
      (void)stream.write(text.data(), 5);
      WEFT_RACE_POINT("service.tool_streaming");
      sleep_for(1000);  // the tool's output arrives over time: others go first
      (void)stream.write(text.data() + 5, text.size() - 5);
      st = stream.finish();
    }
    tools.push_back(ToolResult{conv, x.ticket, st});
  }

  /// A client reading the conversation: a snapshot, checked; `previous` is
  /// this reader's last snapshot of it (T5; updated), or null.
  void read(int conv, std::vector<std::string>* previous) {
    TurnView views[32];
    Snapshot snap;
    if (log.snapshot(convs[static_cast<std::size_t>(conv)], views, 32, &snap) != LogStatus::ok) return;
    const bool prefix = previous != nullptr && !history_can_shrink;
    const std::string bad = checker.check_snapshot(conv, convs[static_cast<std::size_t>(conv)], views, snap.size(),
                                                   snap.visible_through(), {}, prefix ? previous : nullptr);
    if (!bad.empty()) fail("snapshot: " + bad);
    if (previous != nullptr) {
      previous->clear();
      for (std::size_t i = 0; i < snap.size(); i++) {
        previous->emplace_back(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes);
      }
    }
  }

  /// A reader that holds a snapshot while others work: what it pinned must
  /// not change under it (T8).
  void hold(int conv) {
    TurnView views[8];
    Snapshot snap;
    if (log.snapshot(convs[static_cast<std::size_t>(conv)], views, 8, &snap) != LogStatus::ok || snap.size() == 0) return;
    const std::string before(reinterpret_cast<const char*>(views[0].payload), views[0].payload_bytes);
    WEFT_RACE_POINT("service.reader_holds_snapshot");
    sleep_for(1000);
    const std::string after(reinterpret_cast<const char*>(views[0].payload), views[0].payload_bytes);
    if (before != after) fail("T8: a pinned snapshot's turn changed under the reader: '" + before + "' became '" + after + "'");
  }

  /// Cleanup: trims the conversation through `ticket` (history may shrink).
  void trim(int conv, std::uint64_t ticket) {
    history_can_shrink = true;
    WEFT_RACE_POINT("service.before_cleanup");
    (void)log.trim_thread(convs[static_cast<std::size_t>(conv)], ticket);
  }

  /// Churn: `count` one-turn exchanges on `conv` (request ids from `first_id`),
  /// committed one after the other; stops at the first begin that fails.
  void burst(int conv, std::uint64_t first_id, int count) {
    for (int i = 0; i < count; i++) {
      const BeginResult b = log.begin_exchange(convs[static_cast<std::size_t>(conv)],
                                               Id{0xC1, first_id + static_cast<std::uint64_t>(i)}, BeginPolicy::queue);
      begins.push_back(Begun{conv, first_id + static_cast<std::uint64_t>(i) + (1ULL << 32), b.status, b.exchange.ticket});
      if (b.status != LogStatus::ok) break;
      const std::string text = TurnChecker::payload(conv, b.exchange.ticket, 0, 1);
      const LogStatus st = log.append(b.exchange, Role::user, text.data(), text.size());
      if (st == LogStatus::ok && log.commit(b.exchange) == LogStatus::ok) {
        checker.record(conv, b.exchange.ticket, TurnChecker::committed, 1);
      } else {
        (void)log.abort(b.exchange);
        checker.record(conv, b.exchange.ticket, TurnChecker::failed, 1);
      }
    }
    WEFT_RACE_POINT("service.after_cleanup");
  }

  /// The end state of conversations 0..convs_used-1 (call from run.check()).
  /// Moves the clock past the timeout first, so abandoned exchanges expire.
  std::string check(int convs_used) {
    if (!violation.empty()) return violation;
    sleep_for(2 * second);  // outside the threads: only moves the clock
    const bool shrink = history_can_shrink;
    TurnView views[64];
    for (int c = 0; c < convs_used; c++) {
      Snapshot snap;
      const LogStatus st = log.snapshot(convs[static_cast<std::size_t>(c)], views, 64, &snap);
      if (st != LogStatus::ok) return std::string("final snapshot: ") + to_string(st);
      const auto committed = shrink ? std::vector<std::uint64_t>{} : checker.committed_so_far(c, tickets_max - 1);
      const std::string bad = checker.check_snapshot(c, convs[static_cast<std::size_t>(c)], views, snap.size(),
                                                     snap.visible_through(), committed, nullptr);
      if (!bad.empty()) return "final: " + bad;
      std::set<std::uint64_t> shown;
      for (std::size_t i = 0; i < snap.size(); i++) shown.insert(views[i].ticket);
      if (shrink) {  // T8: what is left is a contiguous run ending at the last commit
        bool started = false;
        for (std::uint64_t t : checker.committed_so_far(c, tickets_max - 1)) {
          if (shown.count(t) != 0) started = true;
          else if (started) {
            std::string have;
            for (std::uint64_t k : shown) have += " " + std::to_string(k);
            return "T8: committed ticket " + std::to_string(t) + " missing after the trimmed prefix (conversation " +
                   std::to_string(c) + " shows tickets" + have + ", visible through " +
                   std::to_string(snap.visible_through()) + ")";
          }
        }
      } else {
        for (const ToolResult& tr : tools) {  // as many tool turns as streams that said ok (T1, T4)
          if (tr.conv != c || checker.outcome(c, tr.ticket) != TurnChecker::committed) continue;
          std::size_t oks = 0, shown_tools = 0;
          for (const ToolResult& o : tools) oks += o.conv == c && o.ticket == tr.ticket && o.status == LogStatus::ok;
          for (std::size_t i = 0; i < snap.size(); i++) shown_tools += views[i].ticket == tr.ticket && TurnChecker::is_extra(views[i]);
          if (shown_tools != oks) {
            return "T1/T4: committed ticket " + std::to_string(tr.ticket) + " shows " + std::to_string(shown_tools) +
                   " tool turns, but " + std::to_string(oks) + " tool streams into it said ok";
          }
        }
      }
    }
    if (!shrink) {
      for (const ContextSeen& seen : contexts) {  // T7
        std::set<std::uint64_t> expected;
        for (std::uint64_t t = 1; t < seen.ticket; t++) {
          if (checker.outcome(seen.conv, t) == TurnChecker::committed) expected.insert(t);
        }
        if (seen.tickets != expected) {
          return "T7: the context of ticket " + std::to_string(seen.ticket) + " held " +
                 std::to_string(seen.tickets.size()) + " of the " + std::to_string(expected.size()) +
                 " exchanges before it that committed";
        }
      }
    }
    const std::string t2 = check_begins();
    if (!t2.empty()) return t2;
    for (const Fenced& c : fenced_commits) {  // T9: no commit after a newer fence began
      for (const Fenced& b : fenced_begins) {
        if (b.conv == c.conv && b.fence > c.fence && b.at < c.at) {
          return "T9: an exchange fenced " + std::to_string(c.fence) + " committed after fence " +
                 std::to_string(b.fence) + " had begun on conversation " + std::to_string(c.conv);
        }
      }
    }
    return checker.check_seen_were_committed();
  }

  /// T2 from the begin results: a duplicate names the ticket its request id
  /// began; and where the conversation never reused a slot of its dedup
  /// window (at most W tickets), one request id began at most one exchange.
  std::string check_begins() const {
    std::uint64_t highest[conversations_max] = {};
    for (const Begun& b : begins) {
      if ((b.status == LogStatus::ok || b.status == LogStatus::duplicate) && b.ticket > highest[b.conv]) highest[b.conv] = b.ticket;
    }
    for (const Begun& b : begins) {
      if (b.status != LogStatus::ok && b.status != LogStatus::duplicate) continue;
      int oks = 0;
      bool named = false;
      for (const Begun& o : begins) {
        if (o.conv != b.conv || o.id != b.id || o.status != LogStatus::ok) continue;
        oks++;
        named = named || o.ticket == b.ticket;
      }
      if (b.status == LogStatus::duplicate && !named) {
        return "T2: a duplicate begin of request " + std::to_string(b.id) + " got ticket " + std::to_string(b.ticket) +
               ", which that request id never began";
      }
      if (oks > 1 && highest[b.conv] <= window) {
        return "T2: request " + std::to_string(b.id) + " began " + std::to_string(oks) + " exchanges";
      }
    }
    return "";
  }
};

}  // namespace weft::sim
