// A chat service in miniature (scenarios S1 and S3): client threads send
// messages to a few conversation threads at once, and every client
// double-sends some of its messages (a retry after a timeout, a double
// click), sometimes from two threads at the same moment. Each request:
//
//   begin_exchange(thread, request id)   -> ticket, or `duplicate`
//   append(user turn)
//   wait_context(ticket)                 -> every turn before this exchange
//   "call the model"                     -> an answer that cites the context
//   append(assistant turn), commit
//
// Some requests die after their question; their exchanges expire and the
// conversation moves on. At the end the program prints a few histories and
// checks them: every message that was answered is there exactly once, in
// ticket order (Q1, A1, Q2, A2 ...), no turn crossed conversations, and each
// answer saw the whole conversation before it. Exit status non-zero if not.
//
//   usage: chat_service [clients] [messages_per_client]
#include <weft/clock.h>
#include <weft/id.h>
#include <weft/turn_log.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int conversations = 4;
constexpr std::uint64_t exchange_timeout_ns = 200'000'000;  // 200 ms without progress

struct Counts {
  std::atomic<int> answered{0}, duplicates{0}, died{0}, failed{0}, violations{0};
};

void violation(Counts& counts, const std::string& what) {
  if (counts.violations.fetch_add(1) < 5) std::printf("  VIOLATION: %s\n", what.c_str());
}

std::string text_of(const weft::TurnView& v) {
  return std::string(reinterpret_cast<const char*>(v.payload), v.payload_bytes);
}

// One request of the service. Returns false if the request "died".
void handle(weft::TurnLog& log, const weft::Id& thread, int conv, const std::string& request,
            const std::string& question, bool dies, Counts& counts) {
  const weft::BeginResult begun =
      log.begin_exchange(thread, weft::id_from_string(request), weft::BeginPolicy::queue);
  if (begun.status == weft::LogStatus::duplicate) {  // the other copy is being answered
    counts.duplicates++;
    return;
  }
  if (begun.status != weft::LogStatus::ok) {
    counts.failed++;
    return;
  }
  const weft::ExchangeRef x = begun.exchange;
  if (log.append(x, weft::Role::user, question.data(), question.size()) != weft::LogStatus::ok) {
    counts.failed++;
    return;
  }
  if (dies) {  // the worker crashes after saving the question
    counts.died++;
    return;
  }
  static thread_local std::vector<weft::TurnView> context(4096);
  weft::Snapshot pinned;
  const weft::LogStatus ready =
      log.wait_context(x, context.data(), context.size(), &pinned, 5'000'000'000ULL);
  if (ready != weft::LogStatus::ok) {
    violation(counts, "context not ready: " + std::string(weft::to_string(ready)));
    (void)log.abort(x);
    return;
  }
  // The context holds whole exchanges of this conversation, in order.
  for (std::size_t i = 0; i < pinned.size(); i++) {
    if (!(context[i].thread == thread) || context[i].ticket >= x.ticket) {
      violation(counts, "context of conv " + std::to_string(conv) + " holds a foreign or later turn");
    }
  }
  const std::string answer = "answer to '" + question + "' (ticket " + std::to_string(x.ticket) +
                             ", saw " + std::to_string(pinned.size()) + " turns)";
  pinned.release();
  if (log.append(x, weft::Role::assistant, answer.data(), answer.size()) != weft::LogStatus::ok ||
      log.commit(x) != weft::LogStatus::ok) {
    counts.failed++;
    return;
  }
  counts.answered++;
}

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 4;
  const int messages = argc > 2 ? std::atoi(argv[2]) : 200;
  if (clients < 1 || clients > 64 || messages < 1 || messages > 100'000) {
    std::fprintf(stderr, "usage: %s [clients 1-64] [messages_per_client 1-100000]\n", argv[0]);
    return 2;
  }
  weft::TurnLog log;
  weft::TurnLog::Config config;
  config.segment_bytes = 256 * 1024;
  config.segment_count = 64;
  config.exchanges_per_thread = 64;
  config.exchange_timeout_ns = exchange_timeout_ns;
  if (const auto status = log.create(config, weft::steady_clock()); status != weft::LogStatus::ok) {
    std::fprintf(stderr, "cannot create the log: %s\n", weft::to_string(status));
    return 1;
  }
  std::vector<weft::Id> threads;
  for (int c = 0; c < conversations; c++) threads.push_back(weft::id_from_string("chat-" + std::to_string(c)));

  std::printf("weft TurnLog chat service: %d clients x %d messages on %d conversations\n", clients,
              messages, conversations);
  Counts counts;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int client = 0; client < clients; client++) {
    pool.emplace_back([&, client] {
      std::mt19937 random(static_cast<unsigned>(client) * 2654435761u + 1);
      for (int m = 0; m < messages; m++) {
        const int conv = static_cast<int>(random() % conversations);
        const std::string request = "client" + std::to_string(client) + "-msg" + std::to_string(m);
        const std::string question = "message " + std::to_string(m) + " from client " + std::to_string(client);
        const bool dies = random() % 200 == 0;
        if (random() % 5 == 0) {  // double send: two copies at the same moment
          std::thread copy([&] { handle(log, threads[static_cast<std::size_t>(conv)], conv, request, question, false, counts); });
          handle(log, threads[static_cast<std::size_t>(conv)], conv, request, question, dies, counts);
          copy.join();
        } else {
          handle(log, threads[static_cast<std::size_t>(conv)], conv, request, question, dies, counts);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Let the exchanges of dead requests expire.
  std::this_thread::sleep_for(std::chrono::nanoseconds(exchange_timeout_ns + 10'000'000));

  std::vector<weft::TurnView> views(1 << 16);
  int turns_total = 0;
  for (int c = 0; c < conversations; c++) {
    weft::Snapshot snap;
    if (log.snapshot(threads[static_cast<std::size_t>(c)], views.data(), views.size(), &snap) != weft::LogStatus::ok) {
      violation(counts, "snapshot failed");
      continue;
    }
    turns_total += static_cast<int>(snap.size());
    // Q, A, Q, A ... in ticket order, each exchange whole, each request once.
    std::vector<std::string> requests_seen;
    for (std::size_t i = 0; i < snap.size(); i++) {
      const weft::TurnView& v = views[i];
      const bool question = i % 2 == 0;
      if ((question && (v.role != weft::Role::user || v.index != 0)) ||
          (!question && (v.role != weft::Role::assistant || v.ticket != views[i - 1].ticket))) {
        violation(counts, "conversation " + std::to_string(c) + " is not Q, A, Q, A at turn " + std::to_string(i));
        break;
      }
      if (i > 0 && v.ticket < views[i - 1].ticket) violation(counts, "tickets out of order");
      if (question) requests_seen.push_back(text_of(v));
    }
    std::printf("  chat-%d: %zu turns; last exchange:\n", c, snap.size());
    for (std::size_t i = snap.size() >= 2 ? snap.size() - 2 : 0; i < snap.size(); i++) {
      std::printf("    [%llu.%u %s] %s\n", static_cast<unsigned long long>(views[i].ticket), views[i].index,
                  views[i].role == weft::Role::user ? "user" : "assistant", text_of(views[i]).c_str());
    }
  }
  const weft::LogStats stats = log.stats();
  std::printf("  %d answered, %d double sends caught as duplicates, %d requests died (expired %llu), "
              "%d failed, %.3f s\n",
              counts.answered.load(), counts.duplicates.load(), counts.died.load(),
              static_cast<unsigned long long>(stats.expiries), counts.failed.load(), seconds);
  if (turns_total != 2 * counts.answered.load()) {
    violation(counts, "histories hold " + std::to_string(turns_total) + " turns for " +
                          std::to_string(counts.answered.load()) + " answered requests");
  }
  if (counts.violations.load() != 0 || counts.failed.load() != 0) {
    std::printf("FAILED: %d violations, %d failed requests\n", counts.violations.load(), counts.failed.load());
    return 1;
  }
  std::printf("OK: every answered message once, in order, with its full context; nothing crossed threads\n");
  return 0;
}
