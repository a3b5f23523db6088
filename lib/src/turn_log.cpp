// TurnLog implementation. The design essay (layout, append protocol,
// exchange state machine, idempotent begin, retention) is at the top of
// weft/turn_log.h. Memory-ordering pairings used below:
//   R1 record publish: a writer's stores of header and payload happen before
//      its release CAS busy -> written; the commit flip written -> committed
//      is an RMW, so it continues that release sequence and a reader's
//      acquire load of `committed` sees the whole record.
//   R2 exchange finish: the flips of an exchange's records happen before the
//      release store of its final phase; the watermark CAS (acq_rel) comes
//      after an acquire load of that phase; a reader loads the watermark with
//      acquire and so sees every flip of every exchange <= it.
//   R3 pins: a reader stores its pin and re-reads the head; the recycler moves
//      the head and then reads the pins; all four are seq_cst, so either the
//      recycler sees the pin or the reader sees the new head.
//   R4 segment open: the opener prepares the segment, stores its word
//      `ready` with release, then moves `current` (acq_rel CAS); an appender
//      loads `current` and the word with acquire.
//   R5 writer pins: a writer adds itself to `writers` and re-reads the
//      segment word; the recycler marks the word and then reads `writers`;
//      all seq_cst (the same Dekker shape as R3).
#include "weft/turn_log.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <new>
#if defined(__linux__)
#include <sched.h>  // sched_getcpu: a writer's lane
#endif

#include "detail/backoff.h"
#include "detail/mutants.h"
#include "detail/process_table.h"
#include "detail/region.h"
#include "detail/word.h"
#include "weft/atomic.h"
#include "weft/scan.h"
#if defined(WEFT_SEAM_SIM)
#include "weft/sim/sim.h"  // sim::current_thread(): the lane of a simulated thread
#endif

// Keeps a rarely taken path out of its caller (GCC and Clang).
#if defined(__GNUC__)
#define WEFT_NOINLINE [[gnu::noinline]]
#else
#define WEFT_NOINLINE
#endif

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace {

using u64 = std::uint64_t;
using u32 = std::uint32_t;
using detail::W;     // the state word: 64 bits, or 32 (WEFT_WORD_BITS=32)
using detail::Wide;  // a 64-bit value only loaded and stored
using detail::ProcessSlot;
using detail::ProcessTable;
static_assert(TurnLog::process_slots_max == detail::process_slots_max, "one bound on process slots");
constexpr bool word32 = WEFT_WORD_BITS == 32;

constexpr auto mo_relaxed = std::memory_order_relaxed;
constexpr auto mo_acquire = std::memory_order_acquire;
constexpr auto mo_release = std::memory_order_release;
constexpr auto mo_acq_rel = std::memory_order_acq_rel;
constexpr auto mo_seq_cst = std::memory_order_seq_cst;

constexpr u64 magic_value = 0x474F4C4E52555457ULL;  // "WTURNLOG"
WEFT_ASSERT_LOCK_FREE(W);

// ---- words ----------------------------------------------------------------
// Record state: kind in the low 8 bits, payload offset (in the segment's
// payload area) above.
enum RecordKind : W { rec_empty = 0, rec_busy = 1, rec_written = 2, rec_committed = 3,
                        rec_aborted = 4 };
constexpr u64 rec_kind(u64 s) { return s & 0xFF; }
constexpr u64 rec_payload_offset(u64 s) { return s >> 8; }
constexpr W rec_state(u64 kind, u64 payload_offset) { return static_cast<W>(payload_offset << 8 | kind); }
// The watermark scan (weft/scan.h, first_unfinished) reads this encoding.
static_assert(scan::state_kind_mask == 0xFF && scan::state_kind_committed == rec_committed &&
                  scan::state_kind_aborted == rec_aborted,
              "weft/scan.h's record state kinds must match the TurnLog's record state word");

// Record meta: index 16 | role 8 | flags 8 | payload length 32.
constexpr u64 make_meta(u32 index, Role role, std::uint8_t flags, u32 length) {
  return static_cast<u64>(index) << 48 | static_cast<u64>(role) << 40 |
         static_cast<u64>(flags) << 32 | length;
}

// Exchange slot state: ticket << 4 | phase (tickets up to TurnLog::tickets_max).
enum Phase : W { ph_free = 0, ph_claiming = 1, ph_open = 2, ph_committing = 3,
                   ph_aborting = 4, ph_expiring = 5, ph_committed = 6, ph_aborted = 7,
                   ph_expired = 8 };
constexpr W ex_state(u64 ticket, u64 phase) { return static_cast<W>(ticket << 4 | phase); }
static_assert(TurnLog::tickets_max == detail::word_max >> 4, "a ticket fits the exchange state word");
constexpr u64 ex_ticket(u64 s) { return s >> 4; }
constexpr u64 ex_phase(u64 s) { return s & 0xF; }
constexpr bool ex_finished(u64 s) { return ex_phase(s) >= ph_committed; }
constexpr bool ex_deciding(u64 s) {
  return ex_phase(s) == ph_committing || ex_phase(s) == ph_aborting || ex_phase(s) == ph_expiring;
}

// Segment word: sequence << 4 | state.
enum SegState : W { seg_free = 0, seg_preparing = 1, seg_ready = 2, seg_recycling = 3,
                      seg_retired = 4 };
constexpr W seg_word(u64 seq, u64 state) { return static_cast<W>(seq << 4 | state); }
constexpr u64 seg_seq(u64 w) { return w >> 4; }
constexpr u64 seg_state(u64 w) { return w & 0xF; }

// Fill word: record count << 40 | payload bytes (32-bit words: count << 22 |
// bytes; segments are then at most segment_bytes_max = 256 KiB, so at most
// 1023 records and 256 KiB of payload, and reservations never overshoot).
constexpr int fill_shift = word32 ? 22 : 40;
constexpr u64 fill_bytes_mask = (u64{1} << fill_shift) - 1;
// Most records a segment has. 64-bit words count records in the fill's top
// 24 bits, and reservations that overshoot a full segment count too (one per
// writer that passed the seal check before the seal): 2^23 - 1 records leave
// 2^23 of headroom, so the count never wraps (segments over 2 GiB get no more
// record headers, only more payload). 32-bit words: 256 KiB segments hold
// at most 1023 records, and the CAS never overshoots.
constexpr u64 records_per_segment_max = word32 ? (u64{1} << 10) - 1 : (u64{1} << 23) - 1;

// Positions (where an exchange's records are): sequence << 24 | record index
// (32-bit words: sequence << 10 | index). Sequences stop at sequence_max.
constexpr int position_shift = word32 ? 10 : 24;
static_assert(TurnLog::sequences_max == (detail::word_max >> position_shift),
              "a sequence fits a position word");

// Thread slot state. A claim carries its claimer's process slot:
// th_claiming | process << 2 (reaped when that process is dead).
enum ThreadState : W { th_empty = 0, th_claiming = 1, th_ready = 2 };
constexpr W th_claim(u64 process) { return static_cast<W>(process << 2 | th_claiming); }
constexpr bool th_is_claim(u64 s) { return (s & 3) == th_claiming; }
constexpr u64 th_claimer(u64 s) { return s >> 2; }

// Reader pin: oldest sequence << 10 | process slot of the reader (0: free).
constexpr int pin_shift = 10;
static_assert(TurnLog::process_slots_max == 1u << pin_shift, "a process slot fits a reader pin");
static_assert(TurnLog::sequences_max <= (detail::word_max >> pin_shift), "a sequence fits a reader pin");
constexpr W pin_word(u64 seq, u64 process) { return static_cast<W>(seq << pin_shift | process); }
constexpr u64 pin_seq(u64 w) { return w >> pin_shift; }
constexpr u64 pin_process(u64 w) { return w & ((u64{1} << pin_shift) - 1); }

// Exchange turn counter: ticket << 8 | turns, so an appender that lost its
// slot (the exchange finished and the slot went to ticket + W) cannot count
// into the next exchange. With 32-bit words the tag is the ticket's low 24
// bits: an appender stalled across 2^24 exchanges of its own thread could
// miscount (docs/EMBEDDED.md).
constexpr W turns_word(u64 ticket, u64 count) { return static_cast<W>(ticket << 8 | count); }
constexpr u64 turns_ticket(u64 w) { return w >> 8; }
constexpr u64 turns_tag(u64 ticket) { return turns_ticket(turns_word(ticket, 0)); }
constexpr u64 turns_count(u64 w) { return w & 0xFF; }
static_assert(weft::TurnLog::turns_per_exchange_max < 0xFF, "turn count fits its byte");

// ---- region layout -------------------------------------------------------
// The first fields (magic, format_version, word_bits) have the same bytes in
// both word sizes, so attach can tell a region of the other configuration.
struct alignas(64) Header {
  Wide magic;
  Wide format_version;
  Wide word_bits;
  Wide segment_bytes;
  Wide segment_count;
  Wide thread_capacity;
  Wide exchanges_per_thread;
  Wide reader_slots;
  Wide exchange_timeout_ns;
  Wide retention;
  Wide region_bytes;
  Wide records_per_segment;
  Wide process_slots;
  Wide append_lanes;                    // Config::append_lanes
  alignas(64) weft::atomic<W> current;  // the newest segment opened (0: none yet)
  alignas(64) weft::atomic<W> head;     // oldest retained sequence
  alignas(64) weft::atomic<W> counters[13];
};
// Table-wide counters of rare events (the per-exchange ones are per thread:
// ThreadSlot). Slots c_unused* are kept so the header's layout stays put.
enum Counter { c_unused0, c_duplicates, c_busy, c_unused3, c_unused4, c_unused5, c_unused6,
               c_log_full, c_in_flight, c_thread_full, c_opened, c_recycled, c_cas };

struct alignas(64) ThreadSlot {
  weft::atomic<W> state;
  Wide key_hi;
  Wide key_lo;
  weft::atomic<W> next_ticket;      // the ticket the next begin takes
  weft::atomic<W> visible_through;  // every exchange <= it has finished
  weft::atomic<W> max_fence;        // highest fencing token begun
  weft::atomic<W> trimmed_through;  // tickets <= it are trimmed
  // Statistics of this thread's exchanges, on their own line: counted by
  // whoever serves the conversation, so writers of different conversations
  // never share a counter's cache line (stats() sums them; exchanges begun
  // are next_ticket - 1, counted by nobody).
  alignas(64) weft::atomic<W> turns;
  weft::atomic<W> commits;
  weft::atomic<W> aborts;
  weft::atomic<W> expiries;
  // The dedup filter (W <= dedup_lanes): a 16-bit fingerprint of the
  // request of the exchange in each exchange slot, written by the claim's
  // winner before it publishes the exchange. begin_exchange reads the whole
  // exchange slot only where the fingerprint matches (and at ticket
  // next_ticket), not the W slots of the window.
  weft::atomic<W> request_prints[256 / WEFT_WORD_BITS];
};
static_assert(sizeof(ThreadSlot) == 128, "a thread slot is two cache lines");
constexpr u64 dedup_lanes = 16;                      // fingerprints a thread slot holds
constexpr u64 lanes_per_word = WEFT_WORD_BITS / 16;  // fingerprints per state word
static_assert(sizeof(ThreadSlot::request_prints) * 8 == dedup_lanes * 16, "16 fingerprints of 16 bits");

// The fingerprint of a request id (16 bits).
constexpr u64 request_print(const Id& request) {
  return (request.hi ^ (request.lo * 0x9E3779B97F4A7C15ULL)) >> 48;
}
// Exchange slot k's fingerprint word and the lane's shift in it.
inline weft::atomic<W>& print_word(ThreadSlot& t, u64 slot) { return t.request_prints[slot / lanes_per_word]; }
constexpr int print_shift(u64 slot) { return static_cast<int>(16 * (slot % lanes_per_word)); }
// The lanes of fingerprint word `word` that hold `print`: bit 16 l + 15 set
// for each such lane l (exact: no carry crosses a lane).
constexpr u64 print_matches(W word, u64 print) {
  constexpr u64 ones = WEFT_WORD_BITS == 64 ? 0x0001000100010001ULL : 0x00010001ULL;  // 1 in each lane
  constexpr u64 low = ones * 0x7FFF, high = ones * 0x8000;
  const u64 x = static_cast<u64>(word) ^ (print * ones);  // 0 in the lanes that match
  return ~(((x & low) + low) | x | low) & high;
}
#if WEFT_WORD_BITS == 64
static_assert(print_matches(0xABCD'0000'FFFF'ABCDULL, 0xABCD) == 0x8000'0000'0000'8000ULL);
static_assert(print_matches(0x8000'0001'7FFF'0000ULL, 0x0000) == 0x0000'0000'0000'8000ULL);
static_assert(print_matches(0x8000'0001'7FFF'0000ULL, 0x8000) == 0x8000'0000'0000'0000ULL);
#else
static_assert(print_matches(0xABCD'ABCDu, 0xABCD) == 0x8000'8000u);
static_assert(print_matches(0x8000'0000u, 0x0000) == 0x0000'8000u);
#endif
// Stores slot `slot`'s fingerprint. Only the winner of a claim writes (the
// ticket protocol orders the claims of one thread: the next one starts
// after this one's exchange was published), so a load and a store do.
inline void store_print(ThreadSlot& t, u64 slot, u64 print) {
  weft::atomic<W>& word = print_word(t, slot);
  const u64 old = word.load(mo_relaxed);
  const u64 mask = u64{0xFFFF} << print_shift(slot);
  word.store(static_cast<W>((old & ~mask) | (print << print_shift(slot))), mo_relaxed);
}

struct alignas(64) ExchangeSlot {
  weft::atomic<W> state;
  Wide request_hi;
  Wide request_lo;
  weft::atomic<W> fence;
#if WEFT_WORD_BITS == 32
  Wide begun_ns;              // the begin's clock reading
  weft::atomic<W> progress;   // last progress: units of 2^progress_shift ns after begun_ns
#else
  weft::atomic<W> progress_ns;  // last progress (clock reading)
#endif
  weft::atomic<W> turns;
  weft::atomic<W> positions[TurnLog::turns_per_exchange_max];
  weft::atomic<W> claimer;  // process slot + 1 of the begin claiming this slot (0: none)
};
static_assert(sizeof(ExchangeSlot) == 128, "an exchange slot is two cache lines");

struct alignas(64) ReaderSlot {
  weft::atomic<W> pin;  // 0: free; else pin_word(oldest sequence the reader may read, its process)
};

struct alignas(64) SegmentHeader {
  weft::atomic<W> word;
  weft::atomic<W> fill;
  weft::atomic<W> sealed;
  weft::atomic<W> writers;  // pins of appends in progress by handles of process slot 0
  weft::atomic<W> transit;  // process slot + 1 of whoever prepares or recycles it (0: none)
  weft::atomic<W> lane;     // the append lane it was opened for (written before `ready`)
};
static_assert(sizeof(SegmentHeader) == 64, "segment header is one cache line");

// An append lane: the segment its writers append to (0: none yet).
struct alignas(64) LaneSlot {
  weft::atomic<W> current;
};
static_assert(weft::TurnLog::region_alignment == weft::detail::region_alignment, "one alignment for every region");

struct alignas(64) RecordHeader {
  weft::atomic<W> state;
  Wide thread_hi;
  Wide thread_lo;
  weft::atomic<W> ticket;
  Wide meta;
  Wide request_hi;
  Wide request_lo;
  Wide checksum;
};
static_assert(sizeof(RecordHeader) == TurnLog::record_header_bytes, "record header is 64 bytes");

constexpr u64 round_up(u64 n, u64 to) { return (n + to - 1) / to * to; }

// Where everything is, computed from the geometry.
using Geometry = detail::LogGeometry;

// The offsets from the counts.
void place(Geometry& g) {
  g.segment_mask = (g.segment_count & (g.segment_count - 1)) == 0 ? g.segment_count - 1 : 0;
  g.threads_at = sizeof(Header);
  g.exchanges_at = g.threads_at + g.thread_capacity * sizeof(ThreadSlot);
  g.readers_at = g.exchanges_at + g.thread_capacity * g.window * sizeof(ExchangeSlot);
  g.processes_at = g.readers_at + g.readers * sizeof(ReaderSlot);
  g.pins_at = g.processes_at + (g.processes - 1) * sizeof(ProcessSlot);
  g.segments_at = round_up(g.pins_at + g.segment_count * (g.processes - 1) * sizeof(W), 64);
  g.lanes_at = g.segments_at + g.segment_count * g.segment_bytes;  // after the ring: a v3 layout plus the lanes
  g.total = g.lanes_at + g.lanes * sizeof(LaneSlot);
}

// The geometry of `c`, or false when `c` is not a valid one.
bool make_geometry(const TurnLog::Config& c, Geometry& g) {
  if (c.segment_bytes < 256 || c.segment_bytes % 64 != 0 || c.segment_count < 2 ||
      c.segment_bytes > TurnLog::segment_bytes_max ||
      c.thread_capacity == 0 || c.reader_slots == 0 || c.exchanges_per_thread < 2 ||
      c.exchanges_per_thread > 1024 ||
      (c.exchanges_per_thread & (c.exchanges_per_thread - 1)) != 0 ||
      c.exchange_timeout_ns == 0 || c.process_slots == 0 ||
      c.process_slots > TurnLog::process_slots_max ||
      c.append_lanes == 0 || c.append_lanes > TurnLog::append_lanes_max ||
      c.append_lanes >= c.segment_count ||
      (c.retention != TurnLog::Retention::keep_all &&
       c.retention != TurnLog::Retention::recycle_oldest)) {
    return false;
  }
  g.segment_bytes = c.segment_bytes;
  g.segment_count = c.segment_count;
  g.thread_capacity = c.thread_capacity;
  g.window = c.exchanges_per_thread;
  g.readers = c.reader_slots;
  g.processes = c.process_slots;
  g.lanes = c.append_lanes;
  g.records_per_segment = std::max<u64>(1, std::min<u64>((c.segment_bytes - 64) / 256, records_per_segment_max));
  g.payload_area = c.segment_bytes - 64 - g.records_per_segment * 64;
  if (g.lanes == 1 && g.segment_count >= TurnLog::open_ahead_segments_min) {
    g.ahead_index = g.records_per_segment / 2;
    g.ahead_bytes = g.payload_area / 2;
  }
  place(g);
  if (g.total > SIZE_MAX) return false;  // 32-bit targets: more than the address space
  return g.payload_area >= 64;
}

// The record checksum: the payload's scan::checksum_bytes (the Highway kernel
// where built with it, for payloads of 128 bytes and more) folded with the
// header fields it describes.
u64 checksum_of(const RecordHeader& r, const unsigned char* payload, u32 length) {
  u64 x = scan::checksum_bytes(payload, length);
  x ^= r.thread_hi.load(mo_relaxed) + 0x632BE59BD9B4E019ULL;
  x ^= r.thread_lo.load(mo_relaxed) * 0x85EBCA77C2B2AE63ULL;
  x ^= r.ticket.load(mo_relaxed) + (x << 6) + (x >> 2);
  x ^= r.meta.load(mo_relaxed) + (x << 6) + (x >> 2);
  x ^= r.request_hi.load(mo_relaxed) ^ (r.request_lo.load(mo_relaxed) << 1);
  return x;
}

bool id_is_zero(const Id& id) { return id.hi == 0 && id.lo == 0; }

#if WEFT_HOSTED
// The lane this thread chose with TurnLog::set_thread_lane (lane_auto: none).
thread_local u32 chosen_lane = TurnLog::lane_auto;
#endif

#if WEFT_HOSTED && !defined(WEFT_SEAM_SIM)
// This thread's append lane, before the modulo of a log's lane count: the
// one it chose, else the CPU it runs on (Linux: threads on different cores
// append through different lanes, which is what keeps lines apart; a thread
// that migrates mid-append is still correct, its pin names its segment),
// else 0, 1, 2 ... in the order threads first append.
u64 thread_lane() noexcept {
  if (chosen_lane != TurnLog::lane_auto) return chosen_lane;
#if defined(__linux__)
  const int cpu = sched_getcpu();
  if (cpu >= 0) return static_cast<u64>(cpu);
#endif
  static weft::atomic<u32> next{0};
  thread_local u32 mine = 0;  // the lane + 1 (0: not taken yet)
  if (mine == 0) mine = next.fetch_add(1, mo_relaxed) + 1;
  return mine - 1;
}
#endif

}  // namespace

namespace detail {

// The engine: stateless helpers over (region, clock).
struct LogEngine {
  unsigned char* region;
  Header& header;
  union Own {  // the geometry read here (engines over a bare region only)
    Own() {}     // a handle's engine leaves it unconstructed: no stores per call
    Geometry g;
  } own;
  const Geometry& g;  // own.g, or the handle's (read once when it attached)
  Clock clock;

  // An engine over a bare region (inspection, recovery): the geometry is
  // read from its header, which the caller validated.
  LogEngine(unsigned char* r, const Clock& c)
      : region(r), header(*region_part<Header>(r)), g(*new (&own.g) Geometry{}), clock(c) {
    Geometry& mine = own.g;
    mine.segment_bytes = header.segment_bytes.load(mo_relaxed);
    mine.segment_count = header.segment_count.load(mo_relaxed);
    mine.thread_capacity = header.thread_capacity.load(mo_relaxed);
    mine.window = header.exchanges_per_thread.load(mo_relaxed);
    mine.readers = header.reader_slots.load(mo_relaxed);
    mine.processes = header.process_slots.load(mo_relaxed);
    mine.lanes = header.append_lanes.load(mo_relaxed);
    mine.records_per_segment = header.records_per_segment.load(mo_relaxed);
    mine.payload_area = mine.segment_bytes - 64 - mine.records_per_segment * 64;
    place(mine);
    set_progress_shift();
  }
  // An engine over a handle's region and geometry, for what only reads the
  // region or gives back a reader slot (no process slot of its own).
  LogEngine(unsigned char* r, const Geometry& geometry, const Clock& c)
      : region(r), header(*region_part<Header>(r)), g(geometry), clock(c) {
    set_progress_shift();
  }
  // An engine acting for `log`'s handle: its geometry, process slot and
  // liveness. The geometry is the one validated when the handle attached,
  // so a header changed later (damage, a hostile process) moves no
  // offset.
  explicit LogEngine(TurnLog& log) : LogEngine(log.region_, log.geometry_, log.clock_) {
    proc = log.process_;
    liveness = log.process_ != 0 ? &log.liveness_ : nullptr;
  }
  LogEngine(const LogEngine&) = delete;
  LogEngine& operator=(const LogEngine&) = delete;
  void set_progress_shift() {
#if WEFT_WORD_BITS == 32
    progress_shift = progress_shift_for(header.exchange_timeout_ns.load(mo_relaxed));
#endif
  }

  void count(Counter c) { header.counters[c].fetch_add(1, mo_relaxed); }
  u64 timeout() const { return header.exchange_timeout_ns.load(mo_relaxed); }
  bool recycling_allowed() const {
    return header.retention.load(mo_relaxed) == static_cast<u64>(TurnLog::Retention::recycle_oldest);
  }

  ThreadSlot& thread_at(u64 i) { return region_part<ThreadSlot>(region, g.threads_at)[i]; }
  ExchangeSlot& exchange_at(u64 thread_index, u64 ticket) {  // W is a power of two
    return region_part<ExchangeSlot>(region, g.exchanges_at)[thread_index * g.window + (ticket & (g.window - 1))];
  }
  ReaderSlot& reader_at(u64 i) { return region_part<ReaderSlot>(region, g.readers_at)[i]; }
  u64 ring_index(u64 seq) const { return g.segment_mask != 0 ? seq & g.segment_mask : seq % g.segment_count; }
  unsigned char* segment_base(u64 seq) { return region + g.segments_at + ring_index(seq) * g.segment_bytes; }
  SegmentHeader& segment(u64 seq) { return *region_part<SegmentHeader>(segment_base(seq)); }
  RecordHeader& record(u64 seq, u64 index) {
    return region_part<RecordHeader>(segment_base(seq), 64)[index];
  }
  // True when record `r` is a turn of (thread, ticket).
  static bool owns(const RecordHeader& r, const Id& thread, u64 ticket) {
    return r.ticket.load(mo_relaxed) == ticket && r.thread_hi.load(mo_relaxed) == thread.hi &&
           r.thread_lo.load(mo_relaxed) == thread.lo;
  }
  // Records a segment holds (reservations that fit; the fill word counts
  // the ones that did not too).
  u64 record_count(const SegmentHeader& seg) const {
    return std::min<u64>(seg.fill.load(mo_acquire) >> fill_shift, g.records_per_segment);
  }
  unsigned char* payload(u64 seq, u64 offset) {
    return segment_base(seq) + 64 + g.records_per_segment * 64 + offset;
  }
  static u64 position(u64 seq, u64 index) { return seq << position_shift | index; }
  static u64 position_seq(u64 pos) { return pos >> position_shift; }
  static u64 position_index(u64 pos) { return pos & ((u64{1} << position_shift) - 1); }

  // ---- progress [T10] ---------------------------------------------------------
  // An open exchange expires `timeout` after its last progress. With 64-bit
  // words progress is a clock reading raised by CAS-max. With 32-bit words
  // it is the begin's reading (a Wide, written before the exchange is
  // published) plus a 32-bit count of units of 2^progress_shift ns, rounded
  // up (expiry is never early, at most one unit late); the unit is chosen so
  // that the count spans at least 256 timeouts: an exchange still making
  // progress after that long expires one timeout after its count saturated.
#if WEFT_WORD_BITS == 32
  int progress_shift = 0;
  static int progress_shift_for(u64 timeout_ns) {
    const int bits = static_cast<int>(std::bit_width(timeout_ns));
    return bits > 24 ? bits - 24 : 0;
  }
  u64 progress_of(const ExchangeSlot& x) const {
    const u64 units = x.progress.load(mo_acquire);
    return x.begun_ns.load(mo_relaxed) + (units << progress_shift);
  }
  static void start_progress(ExchangeSlot& x, u64 now) {
    x.begun_ns.store(now, mo_relaxed);
    x.progress.store(0, mo_relaxed);
  }
  void raise_progress(ExchangeSlot& x, u64 now) {
    const u64 begun = x.begun_ns.load(mo_relaxed);
    if (now <= begun) return;
    const u64 unit = u64{1} << progress_shift;
    const u64 units = (now - begun) / unit + ((now - begun) % unit != 0 ? 1 : 0);
    raise(x.progress, units > detail::word_max ? detail::word_max : units);
  }
#else
  static u64 progress_of(const ExchangeSlot& x) { return x.progress_ns.load(mo_acquire); }
  static void start_progress(ExchangeSlot& x, u64 now) { x.progress_ns.store(now, mo_relaxed); }
  static void raise_progress(ExchangeSlot& x, u64 now) { raise(x.progress_ns, now); }
#endif
  // True when an open exchange with this progress has expired at `now`.
  bool stale(u64 progress, u64 now) const { return now > progress && now - progress > timeout(); }

  // ---- threads --------------------------------------------------------------
  // Finds `id`'s slot (or inserts it when `insert`). Slots are never removed,
  // so all inserters of one id meet at the first free slot of its probe
  // sequence. Bound: thread_capacity probes, each waiting (inserters only)
  // at most attempts_max spins for a claimer to write its key.
  bool find_thread(const Id& id, bool insert, u64& index, bool& full) {
    full = false;
    detail::ReapPacing reaped;
    const u64 home = id_slot(id, g.thread_capacity);
    for (u64 probe = 0; probe < g.thread_capacity; probe++) {
      const u64 i = home + probe < g.thread_capacity ? home + probe : home + probe - g.thread_capacity;
      ThreadSlot& t = thread_at(i);
      for (u32 spin = 0;; spin++) {
        W s = t.state.load(mo_acquire);
        if (s == th_ready) {
          if (t.key_hi.load(mo_relaxed) == id.hi && t.key_lo.load(mo_relaxed) == id.lo) {
            index = i;
            return true;
          }
          break;
        }
        if (s == th_empty) {
          if (!insert) return false;  // ids are never removed: absent
          if (t.state.compare_exchange_strong(s, th_claim(proc), mo_acq_rel)) {
            WEFT_RACE_POINT("turn_log.thread.claimed");
            t.key_hi.store(id.hi, mo_relaxed);
            t.key_lo.store(id.lo, mo_relaxed);
            t.next_ticket.store(1, mo_relaxed);
            t.state.store(th_ready, mo_release);  // publishes the key and counters
            index = i;
            return true;
          }
          count(c_cas);
          continue;
        }
        // claiming: its key is not known yet; it is a few stores from ready.
        // A reader does not wait: if the key is `id`, that thread has begun
        // nothing yet, so "absent" is a true answer; otherwise it is not ours.
        if (!insert) break;
        if (spin >= TurnLog::attempts_max) return false;
        WEFT_RACE_POINT("turn_log.thread.wait_claim");
        if (spin >= reap_after && reap_for(th_claimer(s), reaped)) continue;  // its claimer died
        backoff(spin);
      }
    }
    full = insert;
    return false;
  }

  // ---- exchanges -------------------------------------------------------------
  // Flips the records of a decided exchange and stores its final phase
  // (helping is safe: every flip is a CAS, the final store is idempotent).
  void finish(u64 thread_index, u64 ticket, u64 decided_state) {
    ExchangeSlot& x = exchange_at(thread_index, ticket);
    const u64 phase = ex_phase(decided_state);
    const bool commit = phase == ph_committing;
    WEFT_RACE_POINT("turn_log.finish.start");
    const Id thread{thread_at(thread_index).key_hi.load(mo_relaxed), thread_at(thread_index).key_lo.load(mo_relaxed)};
    const u64 tagged = x.turns.load(mo_acquire);
    // A late helper may find the slot reused by ticket + W: then its records
    // are not ours, and the exchange was finished by someone else already.
    const u64 turns = turns_ticket(tagged) == turns_tag(ticket) ? std::min<u64>(turns_count(tagged), TurnLog::turns_per_exchange_max) : 0;
    for (u64 i = 0; i < turns; i++) {
      const u64 pos = x.positions[i].load(mo_acquire);
      if (pos == 0) continue;  // append still reserving: its record stays unpublished
      if (position_index(pos) >= g.records_per_segment) continue;  // damaged region: never read past it
      RecordHeader& r = record(position_seq(pos), position_index(pos));
      if (!owns(r, thread, ticket)) continue;  // a zombie's record from an older ticket
      W s = r.state.load(mo_acquire);
      for (u32 attempt = 0; attempt < 4; attempt++) {  // bound: busy -> written -> flipped
        const u64 kind = rec_kind(s);
        if (kind == rec_committed || kind == rec_aborted || kind == rec_empty) break;
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_PUBLISH_BEFORE_PAYLOAD)
        (void)0;  // MUTANT: commit publishes a record its writer is still writing
#else
        if (commit && kind != rec_written) break;  // commit never publishes a busy record
#endif
        const W flipped = rec_state(commit ? rec_committed : rec_aborted, rec_payload_offset(s));
        if (r.state.compare_exchange_strong(s, flipped, mo_acq_rel)) break;  // R1
      }
    }
    WEFT_RACE_POINT("turn_log.finish.before_final");
    const u64 final_phase = commit ? ph_committed : phase == ph_aborting ? ph_aborted : ph_expired;
    W expected = static_cast<W>(decided_state);
    // R2: the flips above happen before the final phase.
    if (x.state.compare_exchange_strong(expected, ex_state(ticket, final_phase), mo_acq_rel)) {
      ThreadSlot& t = thread_at(thread_index);
      (commit ? t.commits : phase == ph_aborting ? t.aborts : t.expiries).fetch_add(1, mo_relaxed);
    }
  }

  // Moves an open exchange to `phase` (the decision) and finishes it.
  // Returns false when it was not open (someone else decided first).
  bool decide(u64 thread_index, u64 ticket, u64 open_state, u64 phase) {
    ExchangeSlot& x = exchange_at(thread_index, ticket);
    W expected = static_cast<W>(open_state);
    const W decided = ex_state(ticket, phase);
    if (!x.state.compare_exchange_strong(expected, decided, mo_acq_rel)) {
      count(c_cas);
      return false;
    }
    finish(thread_index, ticket, decided);
    return true;
  }

  // Advances the thread's watermark over finished exchanges, helping decided
  // ones and expiring stale open ones. Bound: W + 1 iterations, each moving
  // the watermark by one or returning (at most W tickets are unfinished).
  void advance(u64 thread_index, u64 now) {
    ThreadSlot& t = thread_at(thread_index);
    for (u64 step = 0; step <= g.window; step++) {
      W v = t.visible_through.load(mo_acquire);
      const W k = v + 1;
      if (k >= t.next_ticket.load(mo_acquire)) return;
      ExchangeSlot& x = exchange_at(thread_index, k);
      u64 s = x.state.load(mo_acquire);  // R2
      if (ex_ticket(s) != k) return;  // ticket k is still being claimed
      if (ex_phase(s) == ph_open) {
        if (!stale(progress_of(x), now)) return;
        WEFT_RACE_POINT("turn_log.expire.before");
        decide(thread_index, k, s, ph_expiring);  // [T10] measured from last progress
        s = x.state.load(mo_acquire);
      }
      if (ex_deciding(s)) {
        finish(thread_index, k, s);
        s = x.state.load(mo_acquire);
      }
      if (!ex_finished(s)) return;  // re-opened? never; a new decision by someone else: next call
      if (!t.visible_through.compare_exchange_strong(v, k, mo_acq_rel)) count(c_cas);  // R2
    }
  }

  // Records progress of an open exchange (its timeout restarts from `now`).
  // Why exchange `ticket` of thread `thread_index` no longer takes turns:
  // expired (T10), stale_fence (a newer fence began: T9) or finished
  // (committed, aborted, or long gone: its slot went to a later ticket).
  LogStatus ended(u64 thread_index, u64 ticket) {
    return ended(thread_index, ticket, exchange_at(thread_index, ticket).state.load(mo_acquire));
  }
  // The same, judged from a state word `s` of the exchange slot already loaded.
  LogStatus ended(u64 thread_index, u64 ticket, u64 s) {
    ExchangeSlot& x = exchange_at(thread_index, ticket);
    if (ex_ticket(s) != ticket) return LogStatus::finished;
    if (ex_phase(s) == ph_expiring || ex_phase(s) == ph_expired) return LogStatus::expired;
    const u64 fence = x.fence.load(mo_relaxed);
    if ((ex_phase(s) == ph_aborting || ex_phase(s) == ph_aborted) && fence != 0 &&
        fence < thread_at(thread_index).max_fence.load(mo_acquire)) {
      return LogStatus::stale_fence;
    }
    return LogStatus::finished;
  }

  void touch(u64 thread_index, u64 ticket, u64 now) {
    ExchangeSlot& x = exchange_at(thread_index, ticket);
    const u64 s = x.state.load(mo_acquire);
    if (ex_ticket(s) == ticket && ex_phase(s) == ph_open) raise_progress(x, now);
  }

  // ---- processes [T10] --------------------------------------------------------
  // What a handle holds is marked with its process slot (0: the shared slot
  // of handles that did not join). When something is held too long by a
  // joined slot, the waiter reaps: it asks its Liveness about each joined
  // process and reclaims what the dead ones hold (docs/DURABILITY.md).
  u64 proc = 0;                                 // this handle's process slot
  const TurnLog::Liveness* liveness = nullptr;  // how this handle judges others (joined only)
  // Waits (spins, or retries of one loop) on a holder before reaping.
  static constexpr u32 reap_after = 64;

  // The region's process table, seen by this handle.
  ProcessTable processes() {
    return ProcessTable(region_part<ProcessSlot>(region, g.processes_at), g.processes, proc, liveness);
  }
  // True when `p` names a joined slot of this region (a damaged word may not).
  bool joined_slot(u64 p) const { return p != 0 && p < g.processes; }

  // Writer pins: slot 0's are the segment header's `writers`, a joined
  // slot's are its own word per segment (R5 with every one of them).
  weft::atomic<W>& writer_pin(u64 seq, u64 p) {
    if (p == 0) return segment(seq).writers;
    return region_part<weft::atomic<W>>(region, g.pins_at)[ring_index(seq) * (g.processes - 1) + (p - 1)];
  }
  void pin_writer(u64 seq) { writer_pin(seq, proc).fetch_add(1, mo_seq_cst); }  // R5
  void unpin_writer(u64 seq) { writer_pin(seq, proc).fetch_sub(1, mo_release); }
  // No writer of any process is inside segment `seq` (R5): returns true, or
  // false with `holder` = a process slot that has one. Bound: process_slots.
  bool writers_clear(u64 seq, u64& holder) {
    for (u64 p = 0; p < g.processes; p++) {
      if (writer_pin(seq, p).load(mo_seq_cst) != 0) {
        holder = p;
        return false;
      }
    }
    return true;
  }

  // ProcessTable::reap_for with this log's cleaning.
  bool reap_for(u64 holder, detail::ReapPacing& pacing) {
    return processes().reap_for(holder, pacing, [this](u64 p) { clean_process(p); });
  }
  u64 reap_dead() {
    return processes().reap_dead([this](u64 p) { clean_process(p); });
  }

  // Gives back `log`'s process slot (its destructor, or a new init/attach):
  // nothing of the handle is held any more (its writers and snapshots are
  // gone), so the slot is free for the next process.
  static void leave(TurnLog& log) {
    if (log.region_ == nullptr || log.process_ == 0) return;
    LogEngine e(log);
    e.processes().leave(log.process_, log.liveness_.identity);
    log.process_ = 0;
    log.liveness_ = TurnLog::Liveness{};
  }

  // Undoes or finishes what dead process `p` held, as recover_log() does
  // after a restart; only the reaper that claimed `p` runs it, and `p`
  // never writes again, so each step needs no more than its CAS. Bound: the
  // region's tables (segments, reader slots, threads x W exchange slots).
  void clean_process(u64 p) {
    for (u64 i = 0; i < g.segment_count; i++) {
      SegmentHeader& seg = segment(i);
      W holder = static_cast<W>(p + 1);
      if (seg.transit.load(mo_acquire) == holder) {
        repair_transition(i);
        seg.transit.compare_exchange_strong(holder, 0, mo_acq_rel);
      }
      writer_pin(i, p).store(0, mo_seq_cst);  // its appends will never finish: their records expire [T10]
    }
    for (u64 i = 0; i < g.readers; i++) {
      W pin = reader_at(i).pin.load(mo_acquire);
      if (pin != 0 && pin_process(pin) == p) reader_at(i).pin.compare_exchange_strong(pin, 0, mo_acq_rel);
    }
    for (u64 ti = 0; ti < g.thread_capacity; ti++) {
      ThreadSlot& t = thread_at(ti);
      W ts = t.state.load(mo_acquire);
      // inserters wait at a claim and never probe past it: freeing it hides no id
      if (ts == th_claim(p)) t.state.compare_exchange_strong(ts, th_empty, mo_acq_rel);
      for (u64 k = 0; k < g.window; k++) {
        ExchangeSlot& x = region_part<ExchangeSlot>(region, g.exchanges_at)[ti * g.window + k];
        W holder = static_cast<W>(p + 1);
        if (x.claimer.load(mo_acquire) != holder) continue;
        abandon_claim(ti, x);
        x.claimer.compare_exchange_strong(holder, 0, mo_acq_rel);
      }
    }
  }

  // An exchange slot left `claiming` by a begin that never returned: nobody
  // holds its ticket n. Finish it as aborted, with no request id (no false
  // duplicate) and no turns, and move the thread past it.
  void abandon_claim(u64 ti, ExchangeSlot& x) {
    W s = x.state.load(mo_acquire);
    if (ex_phase(s) != ph_claiming) return;
    const u64 n = ex_ticket(s);
    x.request_hi.store(0, mo_relaxed);
    x.request_lo.store(0, mo_relaxed);
    x.fence.store(0, mo_relaxed);
    x.turns.store(turns_word(n, 0), mo_relaxed);
    for (auto& pos : x.positions) pos.store(0, mo_relaxed);
    if (!x.state.compare_exchange_strong(s, ex_state(n, ph_aborted), mo_acq_rel)) return;
    W expected = static_cast<W>(n);
    thread_at(ti).next_ticket.compare_exchange_strong(expected, static_cast<W>(n + 1), mo_acq_rel);
  }

  // A segment left mid-transition by a dead opener or recycler (physical
  // index `i`): a recycle whose head move happened is finished (retired),
  // else undone (ready); a preparation goes back to free with the sequence
  // the segment had before.
  void repair_transition(u64 i) {
    SegmentHeader& seg = segment(i);
    W w = seg.word.load(mo_acquire);
    const u64 seq = seg_seq(w);
    if (seg_state(w) == seg_recycling) {
      const bool done = header.head.load(mo_seq_cst) > seq;
      seg.word.compare_exchange_strong(w, seg_word(seq, done ? seg_retired : seg_ready), mo_seq_cst);
    } else if (seg_state(w) == seg_preparing) {
      seg.word.compare_exchange_strong(w, seg_word(seq > g.segment_count ? seq - g.segment_count : 0, seg_free),
                                       mo_seq_cst);
    }
  }

  // ---- segments -----------------------------------------------------------
  // No reader pins segment `seq`: true, or false with `holder` = the
  // process slot of a reader that does.
  bool pins_clear(u64 seq, u64& holder) {
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_CLEANUP_IGNORES_PINS)
    (void)seq;
    (void)holder;
    return true;  // MUTANT: readers' pins ignored
#endif
    for (u64 i = 0; i < g.readers; i++) {
      const u64 pin = reader_at(i).pin.load(mo_seq_cst);  // R3
      if (pin != 0 && pin_seq(pin) <= seq) {
        holder = pin_process(pin);
        return false;
      }
    }
    return true;
  }

  // Thread slots met while scanning one segment (try_recycle), with the
  // highest ticket seen of each: 32 entries, open addressing (at most
  // `probes` steps from a thread's home), and the last thread found checked
  // first (an exchange's records are usually next to each other). A thread
  // that finds no free entry is looked up each time, and `overflow_from`
  // tells the trim pass to look at records itself (rare: a segment holds
  // records of more than a few dozen threads only under heavy fan-in).
  struct ThreadCache {
    struct Entry {
      bool used = false;
      Id id{};
      u64 index = 0;
      u64 max_ticket = 0;
    };
    static constexpr u64 size = 32, probes = 8;
    Entry entries[size];
    Entry* last = nullptr;
    u64 overflow_from = 0;  // records below this index need the per-record trim pass
    const Entry* find(LogEngine& e, const Id& id, u64 ticket) {
      if (last != nullptr && last->id == id) {
        if (ticket > last->max_ticket) last->max_ticket = ticket;
        return last;
      }
      const u64 home = id_mix64(id);
      Entry* free_entry = nullptr;
      for (u64 step = 0; step < probes; step++) {  // bound: probes
        Entry& slot = entries[(home + step) & (size - 1)];
        if (!slot.used) {
          free_entry = &slot;
          break;
        }
        if (slot.id == id) {
          if (ticket > slot.max_ticket) slot.max_ticket = ticket;
          last = &slot;
          return &slot;
        }
      }
      u64 ti = 0;
      bool full = false;
      if (!e.find_thread(id, false, ti, full)) return nullptr;
      if (free_entry == nullptr) {  // no room: remember that records need the slow trim
        overflow_from = e.g.records_per_segment;
        scratch = Entry{true, id, ti, ticket};
        return &scratch;
      }
      *free_entry = Entry{true, id, ti, ticket};
      last = free_entry;
      return free_entry;
    }
    Entry scratch;
  };

  // What try_recycle() did.
  enum class Recycle { recycled, refused, raced, busy };

  // Tries to recycle the oldest segment `old` (retention recycle_oldest).
  // `refused`: something still needs it (log_full; `holder` is a process
  // slot with a writer inside, if that was why); `raced`: another thread
  // changed the ring meanwhile (look again); `busy`: another thread is
  // moving it (`holder`: its process slot).
  Recycle try_recycle(u64 old, u64& holder) {
    holder = 0;
    if (!recycling_allowed()) return Recycle::refused;
    const u64 head = header.head.load(mo_seq_cst);
    if (head > old) return Recycle::raced;    // someone else recycled it
    if (head != old) return Recycle::refused;  // an older segment is still retained
    SegmentHeader& seg = segment(old);
    if (!detail::mark_word(seg.transit, proc, holder)) return Recycle::busy;
    W word = seg_word(old, seg_ready);
    if (!seg.word.compare_exchange_strong(word, seg_word(old, seg_recycling), mo_seq_cst)) {
      seg.transit.store(0, mo_release);
      return Recycle::raced;
    }
    WEFT_RACE_POINT("turn_log.recycle.marked");
    auto restore = [&] {
      seg.word.store(seg_word(old, seg_ready), mo_seq_cst);
      seg.transit.store(0, mo_release);
      return Recycle::refused;
    };
    if (!writers_clear(old, holder)) return restore();  // R5
    const u64 records = record_count(seg);
    // Every record's exchange must have finished (ticket <= its thread's
    // watermark): an open exchange's records never leave [T8]. A segment's
    // records belong to few threads: a small cache keeps each thread's slot
    // and its highest ticket here, so each thread is looked up about once.
    ThreadCache cache;
    u64 now = 0;  // read once, for the first record of an unfinished exchange
    for (u64 j = 0; j < records; j++) {
      RecordHeader& r = record(old, j);
      W state = r.state.load(mo_acquire);
      if (rec_kind(state) == rec_empty) continue;
      if (rec_kind(state) == rec_busy) {
        // No writer of any process is inside the segment (R5, above), and a
        // live writer pins its segment for as long as its record is busy:
        // this one's writer died (and was reaped). Nobody can finish it [T10].
        if (!r.state.compare_exchange_strong(state, rec_state(rec_aborted, rec_payload_offset(state)), mo_acq_rel)) {
          return restore();
        }
        continue;
      }
      const u64 ticket = r.ticket.load(mo_relaxed);
      const ThreadCache::Entry* e = cache.find(*this, Id{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)}, ticket);
      if (e == nullptr) continue;  // unknown thread (a damaged record)
      if (ticket > thread_at(e->index).visible_through.load(mo_acquire)) {
        // Its exchange may have stalled on a thread nobody calls any more:
        // expire what is due there [T10], then look again.
        if (now == 0) now = clock.now();
        advance(e->index, now);
        if (ticket > thread_at(e->index).visible_through.load(mo_acquire)) return restore();
      }
    }
    WEFT_RACE_POINT("turn_log.recycle.before_trim");
    // Turns leave only as a prefix of their thread: trim each thread through
    // its highest ticket in this segment (all finished, checked above).
    for (const ThreadCache::Entry& e : cache.entries) {
      if (e.used) raise(thread_at(e.index).trimmed_through, e.max_ticket);
    }
    for (u64 j = 0; j < std::min(cache.overflow_from, records); j++) {  // threads the cache could not keep
      RecordHeader& r = record(old, j);
      if (rec_kind(r.state.load(mo_acquire)) == rec_empty) continue;
      u64 ti = 0;
      bool full = false;
      if (!find_thread(Id{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)}, false, ti, full)) continue;
      // Only finished tickets, as above: a dead writer's record (made
      // aborted above, never checked) may carry a ticket its thread has not
      // finished, and trimming through it would hide open exchanges [T1].
      const u64 ticket = r.ticket.load(mo_relaxed);
      if (ticket > thread_at(ti).visible_through.load(mo_acquire)) continue;
      raise(thread_at(ti).trimmed_through, ticket);
    }
    W expected_head = static_cast<W>(old);
    header.head.compare_exchange_strong(expected_head, static_cast<W>(old + 1), mo_seq_cst);  // R3
    WEFT_RACE_POINT("turn_log.recycle.head_moved");
    seg.word.store(seg_word(old, seg_retired), mo_seq_cst);
    seg.transit.store(0, mo_release);
    count(c_recycled);
    WEFT_RACE_POINT("turn_log.recycle.after");
    return Recycle::recycled;
  }

  // CAS-max. Bound: each failure means the word grew; it ends at >= value.
  // `value` fits the word (callers bound tickets, fences and progress units).
  static void raise(weft::atomic<W>& word, u64 value) { detail::raise_word(word, value); }

  // Opens segment cur+1 (cur = 0: the first) for append lane `lane_tag`.
  // Returns false for log_full. With `ahead` (prepare_ahead) it only makes
  // the segment ready, never moves `current`, never waits and never reaps:
  // whatever is in its way (a segment being moved, a writer or reader still
  // in the oldest segment, an unfinished exchange there) ends the call.
  bool open_next(u64 cur, u64 lane_tag, bool ahead = false) {
    const u64 next = cur + 1;
    if (next > TurnLog::sequences_max) return false;  // sequences never wrap: log_full
    SegmentHeader& seg = segment(next);
    detail::ReapPacing reaped;  // how often this call asks whether a holder lives
    for (u32 attempt = 0; attempt < TurnLog::attempts_max; attempt++) {
      if (header.current.load(mo_acquire) != cur) return true;  // someone opened it
      W w = seg.word.load(mo_acquire);
      if (seg_seq(w) == next) {
        if (ahead) return true;  // prepared, or being prepared
        if (seg_state(w) == seg_ready) {
          W expected = static_cast<W>(cur);
          header.current.compare_exchange_strong(expected, static_cast<W>(next), mo_acq_rel);  // R4, helping
          return true;
        }
        if (attempt >= reap_after && reap_for(seg.transit.load(mo_acquire) - 1, reaped)) continue;
        backoff(attempt);  // being prepared
        continue;
      }
      WEFT_RACE_POINT("turn_log.open_next.checked");
      if (seg_seq(w) > next) return true;  // the ring moved past `next` while this call slept
      // The physical segment still hosts an older sequence.
      if (seg_state(w) == seg_recycling) {  // another appender is recycling it
        if (ahead) return true;
        if (attempt >= reap_after && reap_for(seg.transit.load(mo_acquire) - 1, reaped)) continue;
        backoff(attempt);
        continue;
      }
      u64 holder = 0;
      if (seg_state(w) == seg_ready) {
        const Recycle r = try_recycle(seg_seq(w), holder);
        if (ahead && r != Recycle::recycled) return true;
        if (r == Recycle::refused) {
          if (reap_for(holder, reaped)) continue;  // a dead process's writer pin [T10]
          return false;
        }
        if (r == Recycle::busy) {
          if (attempt >= reap_after && reap_for(holder, reaped)) continue;
          backoff(attempt);
        }
        continue;  // recycled, or raced with another recycler: look again
      }
      if (seg_state(w) == seg_retired) {
        if (!pins_clear(seg_seq(w), holder)) {  // a reader still reads it [T8]
          if (ahead) return true;
          if (reap_for(holder, reaped)) continue;  // a dead process's reader pin [T10]
          return false;
        }
        if (!seg.word.compare_exchange_strong(w, seg_word(seg_seq(w), seg_free), mo_seq_cst)) continue;
        continue;
      }
      if (seg_state(w) != seg_free) {
        if (ahead) return true;
        backoff(attempt);
        continue;
      }
      if (!detail::mark_word(seg.transit, proc, holder)) {
        if (ahead) return true;
        if (attempt >= reap_after && reap_for(holder, reaped)) continue;
        backoff(attempt);  // another opener is about to prepare it
        continue;
      }
      if (!seg.word.compare_exchange_strong(w, seg_word(next, seg_preparing), mo_acq_rel)) {
        seg.transit.store(0, mo_release);
        count(c_cas);
        continue;
      }
      WEFT_RACE_POINT("turn_log.open_next.preparing");
      // Only the records the physical segment's last sequence reserved can
      // hold a state: nothing writes a record at or above the fill, so the
      // ones above it are still empty from an earlier opening (or from
      // create). The fill is reset after them (release): an opener that dies
      // midway leaves the old fill, and the next opener resets them again.
      // With 4 KiB turns this is 48 of a 256 KiB segment's 1023 records.
      // Bound: records_per_segment.
      RecordHeader* records = region_part<RecordHeader>(segment_base(next), 64);
      const u64 used = record_count(seg);
      const auto make_ready = [&] {
        seg.fill.store(0, mo_release);
        seg.sealed.store(0, mo_relaxed);
        seg.lane.store(static_cast<W>(lane_tag), mo_relaxed);
        seg.word.store(seg_word(next, seg_ready), mo_release);  // R4
      };
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_READY_BEFORE_RESET)
      const bool ready_first = ahead;  // MUTANT: a segment opened ahead is ready before its records are emptied
#else
      constexpr bool ready_first = false;
#endif
      if (ready_first) {
        make_ready();
        WEFT_RACE_POINT("turn_log.open_next.ready_before_reset");
      }
      for (u64 j = 0; j < used; j++) records[j].state.store(rec_empty, mo_relaxed);
      if (!ready_first) make_ready();
      seg.transit.store(0, mo_release);
      count(c_opened);
      if (ahead) return true;  // an appender crossing into it moves `current` (the helping CAS above)
      W expected = static_cast<W>(cur);
      header.current.compare_exchange_strong(expected, static_cast<W>(next), mo_acq_rel);  // R4 (next <= sequences_max)
      return true;
    }
    return false;
  }

  // Opening ahead (TurnLog::open_ahead_segments_min): the writer whose
  // record took the middle of segment `seq` (its middle record header or
  // its middle payload byte) prepares segment seq+1 once its own record is
  // published and unpinned, recycling the oldest segment if retention
  // needs it, while the other writers still append to `seq`. The writer
  // that later crosses `seq`'s end finds seq+1 ready and only moves
  // `current` (open_next's helping CAS), instead of doing the turnover while
  // every other writer waits for it. Nothing waits here: whatever is in the
  // way leaves the turnover to the crossing writer, as without it. With
  // more lanes each lane opens segments for itself (open_lane), and nothing
  // is prepared ahead.
  // Whether the reservation (index, offset, size) takes the middle of a
  // segment of a ring that opens ahead (reserve() asks; finish() acts).
  bool opens_ahead(u64 index, u64 offset, u64 size) const {
    return index == g.ahead_index || (offset < g.ahead_bytes && offset + size >= g.ahead_bytes);
  }
  // finish()'s call, out of line: one append in a segment's worth makes it,
  // and the others keep their engine small. It acts for the handle as it is
  // now (its process slot marks what it moves), not for the slot whose pin
  // the turn held: that pin is gone, and a handle that joined since must be
  // reapable by its slot if it dies mid-way. open_next returns at once if
  // the ring moved past `seq` meanwhile.
  WEFT_NOINLINE static void prepare_ahead(TurnLog& log, u64 seq) {
    LogEngine e(log);
    WEFT_RACE_POINT("turn_log.prepare_ahead");
    (void)e.open_next(seq, 0, true);
  }

  struct Reservation {
    u64 seq = 0, index = 0, offset = 0;
    bool opens_ahead = false;  // opens_ahead(): the writer prepares the next segment after publishing
  };

  // ---- append lanes ----------------------------------------------------------
  // Writers append to their lane's segment (lane(): which lane this thread
  // writes through); each lane opens segments of its own from the one ring
  // sequence, so with more than one lane two threads on two lanes share no
  // pin, fill or record line. With one lane (the default) every writer
  // appends to the newest segment, as a single append point.
  static constexpr u64 no_lane = ~u64{0};
  weft::atomic<W>& lane_word(u64 k) { return region_part<LaneSlot>(region, g.lanes_at)[k].current; }
  u64 lane() const {
    if (g.lanes <= 1) return 0;
#if defined(WEFT_SEAM_SIM)
    return static_cast<u64>(sim::current_thread()) % g.lanes;  // each simulated thread its lane
#elif WEFT_HOSTED
    return thread_lane() % g.lanes;
#else
    return 0;  // bare metal: one lane
#endif
  }
  // The lane segment `seq` was opened for, once it is ready for `seq`;
  // no_lane otherwise.
  u64 lane_of(u64 seq) {
    SegmentHeader& seg = segment(seq);
    if (seg.word.load(mo_acquire) != seg_word(seq, seg_ready)) return no_lane;
    return seg.lane.load(mo_relaxed);  // R4: written before the word's release store
  }
  // Moves lane `k` off `cur` (its segment is full, sealed, recycled, or
  // its word names no segment) to a segment opened for it: the newest one
  // if it was opened for this lane (by another of its writers), else the
  // next of the ring, opened here, and taken even when other lanes opened
  // more since (a segment opened for the lane is never left unused). False
  // for log_full. Bound: attempts_max rounds, each one opening a segment or
  // seeing one opened.
  bool open_lane(u64 k, u64 cur) {
    weft::atomic<W>& lane_cur = lane_word(k);
    for (u32 attempt = 0; attempt < TurnLog::attempts_max; attempt++) {
      if (lane_cur.load(mo_acquire) != cur) return true;  // another writer of the lane moved it
      const u64 newest = header.current.load(mo_acquire);
      u64 take = 0;
      if (newest != cur && lane_of(newest) == k) {
        take = newest;
      } else {
        if (!open_next(newest, k)) return false;
        if (lane_of(newest + 1) == k) take = newest + 1;  // opened for this lane (here or by a lane mate)
      }
      if (take != 0) {
        W expected = static_cast<W>(cur);
        lane_cur.compare_exchange_strong(expected, static_cast<W>(take), mo_acq_rel);
        WEFT_RACE_POINT("turn_log.lane.moved");
        return true;
      }
    }
    return false;
  }

  // Reserves a record with `payload` bytes in this thread's lane: pins the
  // segment, one fetch_add. The caller unpins (unpin_writer(seq)) after
  // publishing.
  LogStatus reserve(u64 payload_bytes, Reservation& out) {
    const u64 size = round_up(payload_bytes, 8);
    const u64 k = lane();
    weft::atomic<W>& lane_cur = lane_word(k);
    // The lane leaves segment `from` (open_lane); false, counted, for log_full.
    const auto move_on = [&](u64 from) {
      if (open_lane(k, from)) return true;
      count(c_log_full);
      return false;
    };
    for (u32 attempt = 0; attempt < TurnLog::attempts_max; attempt++) {
      const u64 cur = lane_cur.load(mo_acquire);
      // No segment yet, one recycled since (not pinned: a pin there would
      // stop its recycler), or a word no opener wrote (damage).
      if (cur == 0 || cur < header.head.load(mo_acquire) || cur > header.current.load(mo_acquire)) {
        if (!move_on(cur)) return LogStatus::log_full;
        continue;
      }
      SegmentHeader& seg = segment(cur);
      // The pin comes first: its read-modify-write brings the header line
      // in owned, and the checks and the reservation below then hit it (a
      // load first would fetch the line shared, and the pin fetch it again).
      pin_writer(cur);  // R5
      if (seg.word.load(mo_seq_cst) != seg_word(cur, seg_ready) || seg.sealed.load(mo_acquire) != 0) {
        // Recycled under the lane, or full: the lane moves on.
        unpin_writer(cur);
        if (!move_on(cur)) return LogStatus::log_full;
        continue;
      }
#if WEFT_WORD_BITS == 32
      // 32-bit words: a CAS that never takes more than fits, so the narrow
      // fields cannot overflow however many threads append at once.
      W old = seg.fill.load(mo_acquire);
      bool taken = false, full = false;
      for (u32 cas = 0; cas < TurnLog::attempts_max; cas++) {
        if ((old >> fill_shift) >= g.records_per_segment || (old & fill_bytes_mask) + size > g.payload_area) {
          full = true;
          break;
        }
        if (seg.fill.compare_exchange_weak(old, static_cast<W>(old + ((W{1} << fill_shift) | size)), mo_acq_rel)) {
          taken = true;
          break;
        }
      }
      if (!taken && !full) {
        unpin_writer(cur);
        return LogStatus::contended;
      }
#else
      const u64 old = seg.fill.fetch_add((u64{1} << fill_shift) | size, mo_acq_rel);
#endif
      const u64 index = old >> fill_shift;
      const u64 offset = old & fill_bytes_mask;
      if (index < g.records_per_segment && offset + size <= g.payload_area) {
        out = Reservation{cur, index, offset, opens_ahead(index, offset, size)};
        return LogStatus::ok;
      }
      seg.sealed.store(1, mo_release);  // full: later reservations go to the next segment
      unpin_writer(cur);
      WEFT_RACE_POINT("turn_log.reserve.sealed");
      if (!move_on(cur)) return LogStatus::log_full;
    }
    return LogStatus::contended;
  }

  // ---- readers ----------------------------------------------------------------
  // Takes a reader slot pinned at the head (R3). Bound: reader slots, then
  // attempts_max head moves.
  // When every slot is taken and one is a joined process's, reaps once and
  // looks again.
  bool pin(u64& slot, u64& from) {
    detail::ReapPacing reaped;
    for (int round = 0; round < 2; round++) {
      u64 holder = 0;
      for (u64 i = 0; i < g.readers; i++) {
        W expected = 0;
        const u64 h = std::max<u64>(header.head.load(mo_seq_cst), 1);
        if (!reader_at(i).pin.compare_exchange_strong(expected, pin_word(h, proc), mo_seq_cst)) {
          if (pin_process(expected) != 0 && pin_process(expected) != proc) holder = pin_process(expected);
          continue;
        }
        u64 pinned = h;
        for (u32 attempt = 0; attempt < TurnLog::attempts_max; attempt++) {
          const u64 now_head = std::max<u64>(header.head.load(mo_seq_cst), 1);  // R3
          if (now_head <= pinned) break;
          pinned = now_head;
          reader_at(i).pin.store(pin_word(pinned, proc), mo_seq_cst);
        }
        slot = i;
        from = pinned;
        return true;
      }
      if (!reap_for(holder, reaped)) return false;  // a dead process's reader slots come back [T10]
    }
    return false;
  }
  void unpin(u64 slot) { reader_at(slot).pin.store(0, mo_release); }

  // The last sequence a reader pinned at `from` walks to: the current one,
  // and never more than a ring's worth (a pinned ring holds at most
  // segment_count sequences; a damaged or forged header could claim more).
  u64 last_seq(u64 from) const {
    const u64 cur = header.current.load(mo_acquire);
    return from != 0 && cur - from >= g.segment_count && cur > from ? from + g.segment_count - 1 : cur;
  }

  // Collects committed records of thread `ti` with trim < ticket <= last,
  // from pinned segments [from, current]. False when `out` is too small.
  bool collect(const Id& thread, u64 trim, u64 last, u64 from, TurnView* out, std::size_t max,
               std::size_t& count_out) {
    std::size_t n = 0;
    const u64 cur = last_seq(from);  // bound: segment_count sequences
    for (u64 seq = from; seq != 0 && seq <= cur; seq++) {
      SegmentHeader& seg = segment(seq);
      if (seg_seq(seg.word.load(mo_acquire)) != seq) continue;
      const u64 records = record_count(seg);
      for (u64 j = 0; j < records; j++) {
        RecordHeader& r = record(seq, j);
        const u64 s = r.state.load(mo_acquire);  // R1
        if (rec_kind(s) != rec_committed) continue;
        if (r.thread_hi.load(mo_relaxed) != thread.hi || r.thread_lo.load(mo_relaxed) != thread.lo) continue;
        const u64 ticket = r.ticket.load(mo_relaxed);
        if (ticket <= trim || ticket > last) continue;
        if (!well_formed(seq, j, s)) continue;  // damaged record: skipped, never read past the segment
        if (n == max) return false;
        out[n++] = view_of(seq, j, s);
      }
    }
    std::sort(out, out + n, [](const TurnView& a, const TurnView& b) {
      return a.ticket != b.ticket ? a.ticket < b.ticket : a.index < b.index;
    });
    count_out = n;
    return true;
  }

  // True when the record can be shown: its payload lies inside its
  // segment's payload area, its role is one of Role's and its index below
  // turns_per_exchange_max (always, unless the region's bytes were damaged or
  // forged: then the record is skipped, never read past).
  bool well_formed(u64 seq, u64 index, u64 state) {
    const u64 offset = rec_payload_offset(state);
    const u64 meta = record(seq, index).meta.load(mo_relaxed);
    const u64 length = meta & 0xFFFFFFFFu;
    const u64 role = (meta >> 40) & 0xFF;
    return offset <= g.payload_area && length <= g.payload_area - offset && role >= 1 && role <= 4 &&
           (meta >> 48) < TurnLog::turns_per_exchange_max;
  }

  TurnView view_of(u64 seq, u64 index, u64 state) {
    RecordHeader& r = record(seq, index);
    TurnView v;
    v.thread = Id{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)};
    v.ticket = r.ticket.load(mo_relaxed);
    const u64 meta = r.meta.load(mo_relaxed);
    v.index = static_cast<u32>(meta >> 48);
    v.role = static_cast<Role>((meta >> 40) & 0xFF);
    v.flags = static_cast<std::uint8_t>((meta >> 32) & 0xFF);
    v.payload_bytes = static_cast<u32>(meta);
    v.request = Id{r.request_hi.load(mo_relaxed), r.request_lo.load(mo_relaxed)};
    v.payload = payload(seq, rec_payload_offset(state));
    v.position = position(seq, index);
    return v;
  }
};

}  // namespace detail

using detail::LogEngine;

// ---- statuses ------------------------------------------------------------------

const char* to_string(LogStatus status) noexcept {
  switch (status) {
    case LogStatus::ok: return "ok";
    case LogStatus::duplicate: return "duplicate";
    case LogStatus::busy: return "busy";
    case LogStatus::not_ready: return "not_ready";
    case LogStatus::too_many_in_flight: return "too_many_in_flight";
    case LogStatus::too_many_turns: return "too_many_turns";
    case LogStatus::log_full: return "log_full";
    case LogStatus::thread_table_full: return "thread_table_full";
    case LogStatus::payload_too_large: return "payload_too_large";
    case LogStatus::unknown_exchange: return "unknown_exchange";
    case LogStatus::finished: return "finished";
    case LogStatus::expired: return "expired";
    case LogStatus::stale_fence: return "stale_fence";
    case LogStatus::invalid_argument: return "invalid_argument";
    case LogStatus::buffer_too_small: return "buffer_too_small";
    case LogStatus::timed_out: return "timed_out";
    case LogStatus::too_many_readers: return "too_many_readers";
    case LogStatus::contended: return "contended";
    case LogStatus::not_initialized: return "not_initialized";
    case LogStatus::region_too_small: return "region_too_small";
    case LogStatus::bad_region: return "bad_region";
    case LogStatus::out_of_memory: return "out_of_memory";
    case LogStatus::exhausted: return "exhausted";
    case LogStatus::word_size_mismatch: return "word_size_mismatch";
    case LogStatus::too_many_processes: return "too_many_processes";
  }
  return "unknown";
}

// ---- Snapshot / TurnWriter ---------------------------------------------------

Snapshot::Snapshot(Snapshot&& other) noexcept { *this = std::move(other); }

Snapshot& Snapshot::operator=(Snapshot&& other) noexcept {
  if (this != &other) {
    release();
    log_ = other.log_;
    reader_slot_ = other.reader_slot_;
    count_ = other.count_;
    visible_through_ = other.visible_through_;
    other.log_ = nullptr;
  }
  return *this;
}

void Snapshot::release() noexcept {
  if (log_ == nullptr) return;
  LogEngine(log_->region_, log_->geometry_, log_->clock_).unpin(reader_slot_);
  log_ = nullptr;
}

TurnWriter::~TurnWriter() { drop(); }

void TurnWriter::drop() noexcept {
  if (log_ == nullptr) return;
  // An unfinished streaming turn is dropped: its record is aborted.
  LogEngine e(*log_);
  e.proc = process_;  // the slot whose pin it took, even if the handle joined since
  const u64 seq = LogEngine::position_seq(position_);
  RecordHeader& r = e.record(seq, LogEngine::position_index(position_));
  W s = r.state.load(mo_acquire);
  if (rec_kind(s) == rec_busy) {
    r.state.compare_exchange_strong(s, rec_state(rec_aborted, rec_payload_offset(s)), mo_acq_rel);
  }
  e.unpin_writer(seq);
  log_ = nullptr;
}

TurnWriter::TurnWriter(TurnWriter&& other) noexcept { *this = std::move(other); }

TurnWriter& TurnWriter::operator=(TurnWriter&& other) noexcept {
  if (this != &other) {
    drop();
    log_ = other.log_;
    exchange_ = other.exchange_;
    position_ = other.position_;
    reserved_ = other.reserved_;
    written_ = other.written_;
    process_ = other.process_;
    opens_ahead_ = other.opens_ahead_;
    thread_slot_ = other.thread_slot_;
    other.log_ = nullptr;
  }
  return *this;
}

LogStatus TurnWriter::write(const void* bytes, std::size_t length) noexcept {
  if (log_ == nullptr) return LogStatus::invalid_argument;
  if (length > reserved_ - written_) return LogStatus::payload_too_large;
  LogEngine e(*log_);
  const u64 seq = LogEngine::position_seq(position_);
  RecordHeader& r = e.record(seq, LogEngine::position_index(position_));
  std::memcpy(e.payload(seq, rec_payload_offset(r.state.load(mo_relaxed))) + written_, bytes, length);
  written_ += length;
  return LogStatus::ok;
}

LogStatus TurnWriter::finish() noexcept {
  if (log_ == nullptr) return LogStatus::invalid_argument;
  TurnLog* const log = log_;  // log_ is cleared below, before the opening ahead
  LogEngine e(*log);
  e.proc = process_;  // the slot whose pin it took, even if the handle joined since
  const u64 seq = LogEngine::position_seq(position_);
  RecordHeader& r = e.record(seq, LogEngine::position_index(position_));
  const u64 meta = r.meta.load(mo_relaxed);
  r.meta.store((meta & ~u64{0xFFFFFFFF}) | written_, mo_relaxed);
  W s = r.state.load(mo_relaxed);
  r.checksum.store(checksum_of(r, e.payload(seq, rec_payload_offset(s)), static_cast<u32>(written_)),
                   mo_relaxed);
  WEFT_RACE_POINT("turn_log.append.before_publish");
  const bool published =
      rec_kind(s) == rec_busy &&
      r.state.compare_exchange_strong(s, rec_state(rec_written, rec_payload_offset(s)), mo_acq_rel);  // R1
  log_ = nullptr;
  LogStatus result = LogStatus::ok;
  const u64 ti = thread_slot_;  // begin_turn found the thread there; thread slots never move
  if (!published) result = e.ended(ti, exchange_.ticket);  // the exchange ended while this turn was written
  WEFT_RACE_POINT("turn_log.append.published");
  // The exchange may have finished while this turn was being written: a
  // commit that came first did not publish it, so drop it and say so. The
  // segment stays pinned until then: once unpinned, a finished exchange's
  // segment may be recycled and this record reused by another exchange's turn.
  if (published) {
    const u64 xs = e.exchange_at(ti, exchange_.ticket).state.load(mo_acquire);
    if (ex_ticket(xs) != exchange_.ticket || ex_phase(xs) != ph_open) {
      W written = r.state.load(mo_acquire);
      if (rec_kind(written) == rec_written &&
          r.state.compare_exchange_strong(written, rec_state(rec_aborted, rec_payload_offset(written)), mo_acq_rel)) {
        result = e.ended(ti, exchange_.ticket);
      }
    }
  }
  e.unpin_writer(seq);  // R5
  if (result == LogStatus::ok) e.thread_at(ti).turns.fetch_add(1, mo_relaxed);
  if (opens_ahead_) LogEngine::prepare_ahead(*log, seq);
  return result;
}

// ---- TurnLog -----------------------------------------------------------------

void TurnLog::Owned::operator()(unsigned char* p) const noexcept {
  detail::free_region(p);
}

TurnLog::~TurnLog() { LogEngine::leave(*this); }

#if WEFT_HOSTED
void TurnLog::set_thread_lane(std::uint32_t lane) noexcept { chosen_lane = lane; }
#endif

LogStatus TurnLog::join(const Liveness& liveness) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (detail::kept_identity(liveness.identity) == 0 || liveness.alive == nullptr || process_ != 0) {
    return LogStatus::invalid_argument;
  }
  LogEngine e(*this);
  if (e.g.processes < 2) return LogStatus::bad_region;
  // Bound: process_slots (detail/process_table.h).
  const u64 p = e.processes().join(liveness, [&e](u64 dead) { e.clean_process(dead); });
  if (p == 0) return LogStatus::too_many_processes;
  process_ = static_cast<std::uint32_t>(p);
  liveness_ = liveness;
  return LogStatus::ok;
}

std::size_t TurnLog::reap() noexcept {
  if (region_ == nullptr || process_ == 0) return 0;
  LogEngine e(*this);
  return static_cast<std::size_t>(e.reap_dead());
}

std::size_t TurnLog::region_bytes(const Config& config) noexcept {
  Geometry g;
  return make_geometry(config, g) ? g.total : 0;
}

std::size_t TurnLog::payload_bytes_max(const Config& config) noexcept {
  Geometry g;
  return make_geometry(config, g) ? g.payload_area : 0;
}

LogStatus TurnLog::init(void* region, std::size_t bytes, const Config& config, Clock clock) noexcept {
  Geometry g;
  if (!detail::region_usable(region, clock) || !make_geometry(config, g)) {
    return LogStatus::bad_region;
  }
  if (bytes < g.total) return LogStatus::region_too_small;
  auto* base = static_cast<unsigned char*>(region);
  std::memset(base, 0, g.segments_at);  // headers and tables; segments are prepared on open
  Header* h = new (base) Header{};
  for (u64 i = 0; i < g.thread_capacity; i++) new (base + g.threads_at + i * sizeof(ThreadSlot)) ThreadSlot{};
  for (u64 i = 0; i < g.thread_capacity * g.window; i++) {
    new (base + g.exchanges_at + i * sizeof(ExchangeSlot)) ExchangeSlot{};
  }
  for (u64 i = 0; i < g.readers; i++) new (base + g.readers_at + i * sizeof(ReaderSlot)) ReaderSlot{};
  for (u64 i = 1; i < g.processes; i++) new (base + g.processes_at + (i - 1) * sizeof(ProcessSlot)) ProcessSlot{};
  for (u64 i = 0; i < g.segment_count * (g.processes - 1); i++) new (base + g.pins_at + i * sizeof(W)) weft::atomic<W>{0};
  for (u64 i = 0; i < g.segment_count; i++) {
    auto* seg = new (base + g.segments_at + i * g.segment_bytes) SegmentHeader{};
    (void)seg;
    auto* records = detail::region_part<RecordHeader>(base, g.segments_at + i * g.segment_bytes + 64);
    for (u64 j = 0; j < g.records_per_segment; j++) new (&records[j]) RecordHeader{};
  }
  h->format_version.store(format_version, mo_relaxed);
  h->word_bits.store(WEFT_WORD_BITS, mo_relaxed);
  h->segment_bytes.store(g.segment_bytes, mo_relaxed);
  h->segment_count.store(g.segment_count, mo_relaxed);
  h->thread_capacity.store(g.thread_capacity, mo_relaxed);
  h->exchanges_per_thread.store(g.window, mo_relaxed);
  h->reader_slots.store(g.readers, mo_relaxed);
  h->exchange_timeout_ns.store(config.exchange_timeout_ns, mo_relaxed);
  h->retention.store(static_cast<u64>(config.retention), mo_relaxed);
  h->region_bytes.store(g.total, mo_relaxed);
  h->records_per_segment.store(g.records_per_segment, mo_relaxed);
  h->process_slots.store(g.processes, mo_relaxed);
  h->append_lanes.store(g.lanes, mo_relaxed);
  for (u64 i = 0; i < g.lanes; i++) new (base + g.lanes_at + i * sizeof(LaneSlot)) LaneSlot{};
  // The oldest retained sequence is 1 from the start (not set by the first
  // opener: one that died between opening and setting it would leave it 0).
  h->head.store(1, mo_relaxed);
  h->magic.store(magic_value, mo_release);
  LogEngine::leave(*this);
  region_ = base;
  geometry_ = g;
  clock_ = clock;
  return LogStatus::ok;
}

LogStatus TurnLog::attach(void* region, std::size_t bytes, Clock clock) noexcept {
  if (!detail::region_usable(region, clock)) {
    return LogStatus::bad_region;
  }
  if (bytes < sizeof(Header)) return LogStatus::region_too_small;
  auto* base = static_cast<unsigned char*>(region);
  const Header& h = *detail::region_part<const Header>(base);
  if (h.magic.load(mo_acquire) != magic_value) return LogStatus::bad_region;
  // The word size before anything else of the header: the other
  // configuration's fields mean other things (docs/EMBEDDED.md).
  const u64 bits = h.word_bits.load(mo_relaxed);
  if (bits != WEFT_WORD_BITS) {
    return bits == 32 || bits == 64 ? LogStatus::word_size_mismatch : LogStatus::bad_region;
  }
  if (h.format_version.load(mo_relaxed) != format_version) return LogStatus::bad_region;
  Config c;
  const u64 seg_bytes = h.segment_bytes.load(mo_relaxed);
  const u64 seg_count = h.segment_count.load(mo_relaxed);
  const u64 threads = h.thread_capacity.load(mo_relaxed);
  const u64 window = h.exchanges_per_thread.load(mo_relaxed);
  const u64 readers = h.reader_slots.load(mo_relaxed);
  const u64 processes = h.process_slots.load(mo_relaxed);
  const u64 lanes = h.append_lanes.load(mo_relaxed);
  if (seg_bytes > 0xFFFFFFFFu || seg_count > 0xFFFFFFFFu || threads > 0xFFFFFFFFu ||
      window > 0xFFFFFFFFu || readers > 0xFFFFFFFFu || processes > 0xFFFFFFFFu || lanes > 0xFFFFFFFFu) {
    return LogStatus::bad_region;
  }
  c.process_slots = static_cast<u32>(processes);
  c.append_lanes = static_cast<u32>(lanes);
  c.segment_bytes = static_cast<u32>(seg_bytes);
  c.segment_count = static_cast<u32>(seg_count);
  c.thread_capacity = static_cast<u32>(threads);
  c.exchanges_per_thread = static_cast<u32>(window);
  c.reader_slots = static_cast<u32>(readers);
  c.exchange_timeout_ns = h.exchange_timeout_ns.load(mo_relaxed);
  c.retention = static_cast<Retention>(h.retention.load(mo_relaxed));
  Geometry g;
  if (!make_geometry(c, g) || h.region_bytes.load(mo_relaxed) != g.total ||
      h.records_per_segment.load(mo_relaxed) != g.records_per_segment) {
    return LogStatus::bad_region;
  }
  if (bytes < g.total) return LogStatus::region_too_small;
  LogEngine::leave(*this);
  region_ = base;
  geometry_ = g;
  clock_ = clock;
  return LogStatus::ok;
}

LogStatus TurnLog::create(const Config& config, Clock clock) noexcept {
  const std::size_t bytes = region_bytes(config);
  if (bytes == 0) return LogStatus::bad_region;
  auto* memory = static_cast<unsigned char*>(
      detail::allocate_region(bytes));
  if (memory == nullptr) return LogStatus::out_of_memory;
  std::unique_ptr<unsigned char, Owned> holder(memory);
  const LogStatus status = init(memory, bytes, config, clock);
  if (status != LogStatus::ok) return status;
  owned_ = std::move(holder);
  return LogStatus::ok;
}

BeginResult TurnLog::begin_exchange(const Id& thread, const Id& request, BeginPolicy policy,
                                    Token fence) noexcept {
  BeginResult out;
  if (region_ == nullptr) return out;
  if (id_is_zero(thread) || id_is_zero(request) || fence > fence_max ||
      (policy != BeginPolicy::queue && policy != BeginPolicy::reject_if_busy)) {
    out.status = LogStatus::invalid_argument;
    return out;
  }
  LogEngine e(*this);
  u64 ti = 0;
  bool full = false;
  if (!e.find_thread(thread, true, ti, full)) {
    if (full) e.count(c_thread_full);
    out.status = full ? LogStatus::thread_table_full : LogStatus::contended;
    return out;
  }
  ThreadSlot& t = e.thread_at(ti);
  const u64 now = clock_.now();
  out.exchange.thread = thread;
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_CHECK_THEN_INSERT)
  const bool filtered = false;  // MUTANT: its claims write no fingerprint
#else
  const bool filtered = e.g.window <= dedup_lanes;
#endif
  const u64 print = request_print(request);
  detail::ReapPacing reaped;  // how often this call asks whether a holder lives (see reap_for)
  for (u32 attempt = 0; attempt < attempts_max; attempt++) {
    WEFT_RACE_POINT("turn_log.begin.start");
    e.advance(ti, now);
    const u64 n = t.next_ticket.load(mo_acquire);
    // Dedup over the last W tickets [T2]: n - W .. n - 1, or n - W + 1 .. n
    // once ticket n is claimed. Tickets n and n - W share a slot, so the W
    // slots hold the window and each slot's own ticket says which ticket
    // it holds (n - W is the one a re-send finds when all W exchanges are
    // open and next_ticket waits at its slot). With the filter only the
    // slots whose fingerprint matches are read, and the slot of ticket n
    // (the one claim that can be in progress: next_ticket moves past a
    // ticket only once its exchange is published, after its fingerprint).
    bool wait = false;
    u64 claimer = 0;  // the process slot + 1 of a claim waited for
    // The filter's slots, a bit each: the fingerprints are compared a word
    // at a time (the loads are ordered after next_ticket's acquire).
    u64 candidates = 0;
    if (filtered) {  // W <= dedup_lanes = 16
      candidates = u64{1} << (n & (e.g.window - 1));
      for (u64 i = 0; i * lanes_per_word < e.g.window; i++) {  // bound: W / lanes_per_word
        u64 m = print_matches(t.request_prints[i].load(mo_relaxed), print);
        for (; m != 0; m &= m - 1) candidates |= u64{1} << (i * lanes_per_word + static_cast<u64>(std::countr_zero(m)) / 16);
      }
      candidates &= (u64{1} << e.g.window) - 1;  // lanes past W hold nothing
    }
    for (u64 step = 0; step < e.g.window; step++) {  // bound: W slots
      u64 slot = 0;
      if (filtered) {
        if (candidates == 0) break;
        slot = static_cast<u64>(std::countr_zero(candidates));
        candidates &= candidates - 1;
      } else {
        slot = (n - step) & (e.g.window - 1);
      }
      ExchangeSlot& x = e.exchange_at(ti, slot);
      const u64 s = x.state.load(mo_acquire);
      const u64 k = ex_ticket(s);
      if (k == 0 || k > n || k + e.g.window < n) continue;  // no ticket of the window
      if (ex_phase(s) == ph_claiming) {
        wait = true;
        claimer = x.claimer.load(mo_acquire);
        continue;
      }
      if (ex_phase(s) == ph_free) continue;
      WEFT_RACE_POINT("turn_log.begin.dedup_loaded");
      const bool same_request =
          x.request_hi.load(mo_acquire) == request.hi && x.request_lo.load(mo_acquire) == request.lo;
      if (x.state.load(mo_acquire) != s) {  // reused while read: look again
        wait = true;
        continue;
      }
      if (same_request) {
        if (k == n) {  // its begin has not moved next_ticket yet: help it
          W expected = static_cast<W>(n);
          t.next_ticket.compare_exchange_strong(expected, static_cast<W>(n + 1), mo_acq_rel);
        }
        e.count(c_duplicates);
        out.status = LogStatus::duplicate;
        out.exchange.ticket = k;
        return out;
      }
      if (k == n) {  // another request holds ticket n: help it, then retry
        W expected = static_cast<W>(n);
        t.next_ticket.compare_exchange_strong(expected, static_cast<W>(n + 1), mo_acq_rel);
        wait = true;
      }
    }
    if (wait) {
      if (attempt >= LogEngine::reap_after && claimer != 0 && e.reap_for(claimer - 1, reaped)) continue;
      detail::backoff(attempt);
      continue;
    }
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_CHECK_THEN_INSERT)
    {  // MUTANT: checked above, now insert: a ticket by fetch_add, no claim
      const u64 mine = t.next_ticket.fetch_add(1, mo_acq_rel);
      ExchangeSlot& mx = e.exchange_at(ti, mine);
      mx.request_hi.store(request.hi, mo_relaxed);
      mx.request_lo.store(request.lo, mo_relaxed);
      mx.fence.store(static_cast<W>(fence), mo_relaxed);
      LogEngine::start_progress(mx, now);
      mx.turns.store(turns_word(mine, 0), mo_relaxed);
      for (auto& p : mx.positions) p.store(0, mo_relaxed);
      mx.state.store(ex_state(mine, ph_open), mo_release);
      out.status = LogStatus::ok;
      out.exchange.ticket = mine;
      return out;
    }
#endif
    if (policy == BeginPolicy::reject_if_busy && t.visible_through.load(mo_acquire) + 1 < n) {
      e.count(c_busy);
      out.status = LogStatus::busy;
      return out;
    }
    if (n > tickets_max) {  // tickets never wrap (32-bit words: after 2^28 - 1)
      out.status = LogStatus::exhausted;
      return out;
    }
    ExchangeSlot& x = e.exchange_at(ti, n);
    W s = x.state.load(mo_acquire);
    if (ex_ticket(s) >= n) continue;  // claimed meanwhile
    if (s != 0 && (!ex_finished(s) || t.visible_through.load(mo_acquire) < ex_ticket(s))) {
      e.count(c_in_flight);
      out.status = LogStatus::too_many_in_flight;
      return out;
    }
    WEFT_RACE_POINT("turn_log.begin.before_claim");
    // The claim is marked with this handle's process first (claimer), so
    // that a claim whose process died is known and reaped [T10]. A log
    // nobody can join (one process slot: every handle is slot 0, which is
    // never reaped) has no use for the mark, and the state CAS alone
    // decides between two claims.
    const bool marks = e.g.processes > 1;
    u64 claimer_slot = 0;
    if (marks && !detail::mark_word(x.claimer, e.proc, claimer_slot)) {
      if (attempt >= LogEngine::reap_after && e.reap_for(claimer_slot, reaped)) continue;
      detail::backoff(attempt);  // another begin is claiming this slot
      continue;
    }
    WEFT_RACE_POINT("turn_log.begin.claimer_marked");
    if (!x.state.compare_exchange_strong(s, ex_state(n, ph_claiming), mo_acq_rel)) {
      if (marks) x.claimer.store(0, mo_release);
      e.count(c_cas);
      continue;
    }
    WEFT_RACE_POINT("turn_log.begin.claimed");
    if (filtered) store_print(t, n & (e.g.window - 1), print);  // before the exchange is published
    x.request_hi.store(request.hi, mo_relaxed);
    x.request_lo.store(request.lo, mo_relaxed);
    x.fence.store(static_cast<W>(fence), mo_relaxed);  // fence <= fence_max
    LogEngine::start_progress(x, now);  // the begin's own reading: one clock read per begin
    x.turns.store(turns_word(n, 0), mo_relaxed);
    for (auto& p : x.positions) p.store(0, mo_relaxed);
    x.state.store(ex_state(n, ph_open), mo_release);  // publishes the fields above
    if (marks) x.claimer.store(0, mo_release);
    if (fence != 0) {
      // [T9] A newer fence ends every open exchange of an older one: their
      // commit can no longer win (the decision CAS is theirs to lose).
      LogEngine::raise(t.max_fence, fence);
      for (u64 k = n > e.g.window ? n - e.g.window + 1 : 1; k < n; k++) {
        ExchangeSlot& old = e.exchange_at(ti, k);
        const u64 os = old.state.load(mo_acquire);
        const u64 old_fence = old.fence.load(mo_relaxed);
        if (ex_ticket(os) == k && ex_phase(os) == ph_open && old_fence != 0 && old_fence < fence) {
          e.decide(ti, k, os, ph_aborting);
        }
      }
    }
    W expected = static_cast<W>(n);
    t.next_ticket.compare_exchange_strong(expected, static_cast<W>(n + 1), mo_acq_rel);  // or a helper did
    out.status = LogStatus::ok;
    out.exchange.ticket = n;
    return out;
  }
  out.status = LogStatus::contended;
  return out;
}

namespace {

// Finds an exchange and checks it is open. Returns ok, or the error.
LogStatus open_exchange(LogEngine& e, const ExchangeRef& ref, u64& ti, u64& state) {
  if (id_is_zero(ref.thread) || ref.ticket == 0) return LogStatus::invalid_argument;
  bool full = false;
  if (!e.find_thread(ref.thread, false, ti, full)) return LogStatus::unknown_exchange;
  if (ref.ticket >= e.thread_at(ti).next_ticket.load(mo_acquire)) return LogStatus::unknown_exchange;
  state = e.exchange_at(ti, ref.ticket).state.load(mo_acquire);
  if (ex_ticket(state) != ref.ticket) {
    return ex_ticket(state) > ref.ticket ? LogStatus::finished : LogStatus::unknown_exchange;
  }
  // Not open: expired, aborted by a newer fence [T9], or finished.
  return ex_phase(state) == ph_open ? LogStatus::ok : e.ended(ti, ref.ticket, state);
}

}  // namespace

LogStatus TurnLog::begin_turn(const ExchangeRef& exchange, Role role, std::size_t reserve_bytes,
                              TurnWriter* writer, std::uint8_t flags) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (writer == nullptr || static_cast<u64>(role) < 1 || static_cast<u64>(role) > 4 ||
      id_is_zero(exchange.thread) || exchange.ticket == 0) {  // malformed arguments first, then sizes
    return LogStatus::invalid_argument;
  }
  LogEngine e(*this);
  if (reserve_bytes > e.g.payload_area) return LogStatus::payload_too_large;
  u64 ti = 0, s = 0;
  if (const LogStatus st = open_exchange(e, exchange, ti, s); st != LogStatus::ok) return st;
  const u64 now = clock_.now();
  ExchangeSlot& x = e.exchange_at(ti, exchange.ticket);
  if (e.stale(e.progress_of(x), now)) {
    e.decide(ti, exchange.ticket, s, ph_expiring);
    e.advance(ti, now);
    return LogStatus::expired;
  }
  // Take the next turn index, tagged with the ticket (an appender whose
  // exchange finished and whose slot was reused counts nothing). Bound: each
  // failure is another append to this exchange.
  u64 index = 0;
  for (u32 attempt = 0;; attempt++) {
    W tagged = x.turns.load(mo_acquire);
    if (turns_ticket(tagged) != turns_tag(exchange.ticket)) return LogStatus::finished;
    if (turns_count(tagged) >= turns_per_exchange_max) return LogStatus::too_many_turns;
    if (x.turns.compare_exchange_strong(tagged, tagged + 1, mo_acq_rel)) {
      index = turns_count(tagged);
      break;
    }
    if (attempt >= attempts_max) return LogStatus::contended;
  }
  WEFT_RACE_POINT("turn_log.append.before_reserve");
  LogEngine::Reservation r;
  if (const LogStatus st = e.reserve(reserve_bytes, r); st != LogStatus::ok) {
    // The turn index stays used: the exchange has a hole it never fills, and
    // readers order by index, so nothing is out of order.
    return st;
  }
  RecordHeader& rec = e.record(r.seq, r.index);
  rec.state.store(rec_state(rec_busy, r.offset), mo_relaxed);
  rec.thread_hi.store(exchange.thread.hi, mo_relaxed);
  rec.thread_lo.store(exchange.thread.lo, mo_relaxed);
  rec.ticket.store(static_cast<W>(exchange.ticket), mo_relaxed);  // < next_ticket (open_exchange)
  WEFT_RACE_POINT("turn_log.append.reserved");
  const u64 pos = LogEngine::position(r.seq, r.index);
  // Publish the position so a decider can flip (or drop) the record. A slot
  // position may hold a zombie's record of an older ticket: replace it; never
  // replace a record of a newer ticket (then this appender is the zombie).
  // Bound: each failure means another appender stored there.
  bool placed = false;
  for (u32 attempt = 0; attempt < attempts_max && !placed; attempt++) {
    W current = x.positions[index].load(mo_acquire);
    if (current != 0 && LogEngine::position_index(current) < e.g.records_per_segment) {
      const RecordHeader& other = e.record(LogEngine::position_seq(current), LogEngine::position_index(current));
      if (other.ticket.load(mo_relaxed) >= exchange.ticket) break;
    }
    placed = x.positions[index].compare_exchange_strong(current, static_cast<W>(pos), mo_acq_rel);
  }
  WEFT_RACE_POINT("turn_log.append.placed");
  // Still our exchange, still open? Otherwise drop the record and say why.
  const u64 now_state = x.state.load(mo_acquire);
  if (!placed || ex_ticket(now_state) != exchange.ticket || ex_phase(now_state) != ph_open) {
    W busy = rec.state.load(mo_relaxed);
    rec.state.compare_exchange_strong(busy, rec_state(rec_aborted, r.offset), mo_acq_rel);
    e.unpin_writer(r.seq);
    return e.ended(ti, exchange.ticket);
  }
  rec.meta.store(make_meta(static_cast<u32>(index), role, flags, 0), mo_relaxed);
  rec.request_hi.store(x.request_hi.load(mo_relaxed), mo_relaxed);
  rec.request_lo.store(x.request_lo.load(mo_relaxed), mo_relaxed);
  e.raise_progress(x, now);
  writer->drop();
  writer->log_ = this;
  writer->exchange_ = exchange;
  writer->position_ = pos;
  writer->reserved_ = reserve_bytes;
  writer->written_ = 0;
  writer->process_ = static_cast<std::uint32_t>(e.proc);
  writer->opens_ahead_ = r.opens_ahead;
  writer->thread_slot_ = ti;
  return LogStatus::ok;
}

LogStatus TurnLog::append(const ExchangeRef& exchange, Role role, const void* payload,
                          std::size_t payload_bytes, std::uint8_t flags) noexcept {
  if (payload == nullptr && payload_bytes != 0) return LogStatus::invalid_argument;
  TurnWriter writer;
  if (const LogStatus st = begin_turn(exchange, role, payload_bytes, &writer, flags); st != LogStatus::ok) {
    return st;
  }
  if (payload_bytes != 0) (void)writer.write(payload, payload_bytes);
  return writer.finish();

}

LogStatus TurnLog::commit(const ExchangeRef& exchange) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  LogEngine e(*this);
  u64 ti = 0, s = 0;
  if (const LogStatus st = open_exchange(e, exchange, ti, s); st != LogStatus::ok) return st;
  const u64 now = clock_.now();
  ExchangeSlot& x = e.exchange_at(ti, exchange.ticket);
  if (e.stale(e.progress_of(x), now)) {
    e.decide(ti, exchange.ticket, s, ph_expiring);
    e.advance(ti, now);
    return LogStatus::expired;
  }
  const u64 fence = x.fence.load(mo_relaxed);
  if (fence != 0 && fence < e.thread_at(ti).max_fence.load(mo_acquire)) {  // [T9]
    e.decide(ti, exchange.ticket, s, ph_aborting);
    e.advance(ti, now);
    return LogStatus::stale_fence;
  }
  WEFT_RACE_POINT("turn_log.commit.before_decide");
  if (!e.decide(ti, exchange.ticket, s, ph_committing)) {
    const u64 again = x.state.load(mo_acquire);
    e.advance(ti, now);
    if (ex_phase(again) == ph_expiring || ex_phase(again) == ph_expired) return LogStatus::expired;
    if (fence != 0 && fence < e.thread_at(ti).max_fence.load(mo_acquire)) return LogStatus::stale_fence;
    return LogStatus::finished;
  }
  WEFT_RACE_POINT("turn_log.commit.after");
  e.advance(ti, now);
  return LogStatus::ok;
}

LogStatus TurnLog::abort(const ExchangeRef& exchange) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  LogEngine e(*this);
  u64 ti = 0, s = 0;
  if (const LogStatus st = open_exchange(e, exchange, ti, s); st != LogStatus::ok) return st;
  const bool decided = e.decide(ti, exchange.ticket, s, ph_aborting);
  e.advance(ti, clock_.now());
  return decided ? LogStatus::ok : LogStatus::finished;
}

LogStatus TurnLog::state(const ExchangeRef& exchange, ExchangeState* out) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (out == nullptr || id_is_zero(exchange.thread) || exchange.ticket == 0) return LogStatus::invalid_argument;
  LogEngine e(*this);
  u64 ti = 0;
  bool full = false;
  if (!e.find_thread(exchange.thread, false, ti, full)) return LogStatus::unknown_exchange;
  e.advance(ti, clock_.now());
  const u64 s = e.exchange_at(ti, exchange.ticket).state.load(mo_acquire);
  if (ex_ticket(s) != exchange.ticket || ex_phase(s) < ph_open) return LogStatus::unknown_exchange;
  *out = static_cast<ExchangeState>(ex_phase(s));
  return LogStatus::ok;
}

namespace {

// Shared body of snapshot() and context(): `last` = 0 means "the watermark".
LogStatus read_thread(TurnLog* log, unsigned char* region, const Clock& clock, const Id& thread,
                      u64 context_ticket, TurnView* out, std::size_t max, Snapshot* snapshot,
                      std::uint32_t& slot_out, std::size_t& count_out, u64& visible_out) {
  LogEngine e(*log);
  (void)region;
  (void)clock;
  u64 ti = 0;
  bool full = false;
  count_out = 0;
  visible_out = 0;
  if (!e.find_thread(thread, false, ti, full)) {
    return context_ticket > 1 ? LogStatus::unknown_exchange : LogStatus::ok;
  }
  ThreadSlot& t = e.thread_at(ti);
  e.advance(ti, clock.now());
  u64 slot = 0, from = 0;
  if (!e.pin(slot, from)) return LogStatus::too_many_readers;
  WEFT_RACE_POINT("turn_log.read.pinned");
  const u64 trim = t.trimmed_through.load(mo_acquire);
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_VISIBLE_BEFORE_PREDECESSORS)
  const u64 visible = t.next_ticket.load(mo_acquire) - 1;  // MUTANT: ignores the watermark
#else
  const u64 visible = t.visible_through.load(mo_acquire);  // R2
#endif
  u64 last = visible;
  if (context_ticket != 0) {
    if (visible + 1 < context_ticket) {
      e.unpin(slot);
      return LogStatus::not_ready;
    }
    last = context_ticket - 1;
  }
  if (!e.collect(thread, trim, last, from, out, max, count_out)) {
    e.unpin(slot);
    return LogStatus::buffer_too_small;
  }
  (void)log;
  (void)snapshot;
  slot_out = static_cast<std::uint32_t>(slot);
  visible_out = last;
  return LogStatus::ok;
}

}  // namespace

LogStatus TurnLog::snapshot(const Id& thread, TurnView* out, std::size_t max_turns,
                            Snapshot* snapshot) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (snapshot == nullptr || (out == nullptr && max_turns != 0) || id_is_zero(thread)) {
    return LogStatus::invalid_argument;
  }
  snapshot->release();
  std::uint32_t slot = 0;
  std::size_t n = 0;
  u64 visible = 0;
  LogEngine e(*this);
  u64 ti = 0;
  bool full = false;
  if (!e.find_thread(thread, false, ti, full)) {
    snapshot->count_ = 0;
    snapshot->visible_through_ = 0;
    return LogStatus::ok;  // an unknown thread has an empty history
  }
  const LogStatus st = read_thread(this, region_, clock_, thread, 0, out, max_turns, snapshot, slot, n, visible);
  if (st != LogStatus::ok) return st;
  snapshot->log_ = this;
  snapshot->reader_slot_ = slot;
  snapshot->count_ = n;
  snapshot->visible_through_ = visible;
  return LogStatus::ok;
}

LogStatus TurnLog::context(const ExchangeRef& exchange, TurnView* out, std::size_t max_turns,
                           Snapshot* snapshot) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (snapshot == nullptr || (out == nullptr && max_turns != 0) || id_is_zero(exchange.thread) ||
      exchange.ticket == 0) {
    return LogStatus::invalid_argument;
  }
  snapshot->release();
  LogEngine e(*this);
  u64 ti = 0;
  bool full = false;
  if (!e.find_thread(exchange.thread, false, ti, full) ||
      exchange.ticket >= e.thread_at(ti).next_ticket.load(mo_acquire)) {
    return LogStatus::unknown_exchange;
  }
  // Asking for the context is a sign of life of the exchange's owner: a
  // request waiting for its predecessors is not stalled [T10].
  e.touch(ti, exchange.ticket, clock_.now());
  std::uint32_t slot = 0;
  std::size_t n = 0;
  u64 visible = 0;
  const LogStatus st =
      read_thread(this, region_, clock_, exchange.thread, exchange.ticket, out, max_turns, snapshot, slot, n, visible);
  if (st != LogStatus::ok) return st;
  WEFT_RACE_POINT("turn_log.context.ready");
  snapshot->log_ = this;
  snapshot->reader_slot_ = slot;
  snapshot->count_ = n;
  snapshot->visible_through_ = visible;
  return LogStatus::ok;
}

LogStatus TurnLog::wait_context(const ExchangeRef& exchange, TurnView* out, std::size_t max_turns,
                                Snapshot* snapshot, std::uint64_t timeout_ns) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  const u64 start = clock_.now();
  // Bound: the timeout on the injected clock, and attempts_max * 256 polls
  // (a clock that never moves cannot make this spin forever).
  for (u32 poll = 0; poll < attempts_max * 256u; poll++) {
    const LogStatus st = context(exchange, out, max_turns, snapshot);
    if (st != LogStatus::not_ready) return st;
    if (clock_.now() - start >= timeout_ns) return LogStatus::timed_out;
    WEFT_RACE_POINT("turn_log.wait_context.poll");
    detail::backoff(poll);
  }
  return LogStatus::timed_out;
}

LogStatus TurnLog::for_each_committed(bool (*visit)(void* context, const TurnView& view),
                                      void* context) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (visit == nullptr) return LogStatus::invalid_argument;
  LogEngine e(*this);
  u64 slot = 0, from = 0;
  if (!e.pin(slot, from)) return LogStatus::too_many_readers;
  // Each thread's cut (watermark and trim) is read once, at its first record
  // in log order, so what is exported of a thread is a prefix of its history
  // even while exchanges keep committing. Bound: `cuts_max` threads keep a
  // cut; records of further threads are judged when they are visited.
  constexpr std::size_t cuts_max = 64;
  struct Cut {
    u64 thread_index, visible, trim;
  } cuts[cuts_max];
  std::size_t cut_count = 0;
  const u64 cur = e.last_seq(from);  // bound: segment_count sequences
  bool go_on = true;
  for (u64 seq = from; go_on && seq != 0 && seq <= cur; seq++) {
    SegmentHeader& seg = e.segment(seq);
    if (seg_seq(seg.word.load(mo_acquire)) != seq) continue;
    const u64 records = e.record_count(seg);
    for (u64 j = 0; go_on && j < records; j++) {
      RecordHeader& r = e.record(seq, j);
      const u64 s = r.state.load(mo_acquire);  // R1
      if (rec_kind(s) == rec_empty) continue;
      u64 ti = 0;
      bool full = false;
      if (!e.find_thread(Id{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)}, false, ti, full)) continue;
      ThreadSlot& t = e.thread_at(ti);
      Cut cut{ti, 0, 0};
      std::size_t k = 0;
      while (k < cut_count && cuts[k].thread_index != ti) k++;
      if (k < cut_count) {
        cut = cuts[k];
      } else {
        cut.trim = t.trimmed_through.load(mo_acquire);
        cut.visible = t.visible_through.load(mo_acquire);  // R2
        if (cut_count < cuts_max) cuts[cut_count++] = cut;
      }
      if (rec_kind(s) != rec_committed || !e.well_formed(seq, j, s)) continue;
      const TurnView view = e.view_of(seq, j, s);
      if (view.ticket <= cut.trim || view.ticket > cut.visible) continue;
      go_on = visit(context, view);
    }
  }
  e.unpin(slot);
  return LogStatus::ok;
}

LogStatus TurnLog::trim_thread(const Id& thread, std::uint64_t through_ticket) noexcept {
  if (region_ == nullptr) return LogStatus::not_initialized;
  if (id_is_zero(thread)) return LogStatus::invalid_argument;
  LogEngine e(*this);
  u64 ti = 0;
  bool full = false;
  if (!e.find_thread(thread, false, ti, full)) return LogStatus::ok;
  WEFT_RACE_POINT("turn_log.trim.before");
  ThreadSlot& t = e.thread_at(ti);
  e.advance(ti, clock_.now());
  // Only a finished prefix can leave, and not while an exchange of the
  // thread is open: its context is every turn before it [T7, T8].
  const u64 visible = t.visible_through.load(mo_acquire);
  if (t.next_ticket.load(mo_acquire) - 1 != visible) return LogStatus::busy;
  LogEngine::raise(t.trimmed_through, std::min<u64>(through_ticket, visible));
  WEFT_RACE_POINT("turn_log.trim.after");
  return LogStatus::ok;
}

std::uint64_t TurnLog::end_position() const noexcept {
  if (region_ == nullptr) return 0;
  LogEngine e(region_, geometry_, clock_);
  const u64 cur = e.header.current.load(mo_acquire);
  if (cur == 0) return 0;
  // A reservation happens before its record's state is written, and the
  // segment's fill counts it: (current, filled records) is past every record.
  const u64 filled = e.record_count(e.segment(cur));
  return LogEngine::position(cur, filled);
}

LogStats TurnLog::stats() const noexcept {
  LogStats s;
  if (region_ == nullptr) return s;
  const Header& h = *detail::region_part<const Header>(region_);
  auto c = [&](Counter i) { return h.counters[i].load(mo_relaxed); };
  // Per-thread counters (ThreadSlot): one pass over the thread table.
  const u64 threads = geometry_.thread_capacity;  // validated at attach, whatever the header says now
  const auto* slots = detail::region_part<const ThreadSlot>(region_, geometry_.threads_at);
  for (u64 i = 0; i < threads; i++) {  // bound: thread_capacity
    const ThreadSlot& t = slots[i];
    const u64 next = t.next_ticket.load(mo_relaxed);
    s.exchanges_begun += next > 0 ? next - 1 : 0;
    s.turns_appended += t.turns.load(mo_relaxed);
    s.commits += t.commits.load(mo_relaxed);
    s.aborts += t.aborts.load(mo_relaxed);
    s.expiries += t.expiries.load(mo_relaxed);
  }
  s.duplicates = c(c_duplicates);
  s.busy = c(c_busy);
  s.log_full = c(c_log_full);
  s.too_many_in_flight = c(c_in_flight);
  s.thread_table_full = c(c_thread_full);
  s.segments_opened = c(c_opened);
  s.segments_recycled = c(c_recycled);
  s.cas_retries = c(c_cas);
  return s;
}

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft

// ============================================================================
// Durability: read-only inspection of a region (weft/log_inspect.h), for the
// `weft` tool, and recovery of a region whose users died (weft/recovery.h). Added by the durability work as one block at the
// end of this file so that changes to the code above merge without touching
// it; it uses the layout helpers above and changes none of them.
// ============================================================================
#include "weft/log_inspect.h"
#include "weft/recovery.h"

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace {

std::uint64_t inspection_clock(void*) noexcept { return 0; }  // inspection reads no time

// Validates the region exactly as attach() does.
LogStatus validate_region(void* region, std::size_t bytes) noexcept {
  TurnLog probe;
  return probe.attach(region, bytes, Clock{&inspection_clock, nullptr});
}

}  // namespace

const char* to_string(SegmentState state) noexcept {
  switch (state) {
    case SegmentState::free: return "free";
    case SegmentState::preparing: return "preparing";
    case SegmentState::ready: return "ready";
    case SegmentState::recycling: return "recycling";
    case SegmentState::retired: return "retired";
    case SegmentState::unknown: return "unknown";
  }
  return "unknown";
}

LogStatus inspect_log(void* region, std::size_t bytes, LogLayout* out) noexcept {
  if (out == nullptr) return LogStatus::invalid_argument;
  if (const LogStatus st = validate_region(region, bytes); st != LogStatus::ok) return st;
  LogEngine e(static_cast<unsigned char*>(region), Clock{&inspection_clock, nullptr});
  const Header& h = e.header;
  *out = LogLayout{};
  out->config.segment_bytes = static_cast<u32>(e.g.segment_bytes);  // attach bounded each to 32 bits
  out->config.segment_count = static_cast<u32>(e.g.segment_count);
  out->config.thread_capacity = static_cast<u32>(e.g.thread_capacity);
  out->config.exchanges_per_thread = static_cast<u32>(e.g.window);
  out->config.reader_slots = static_cast<u32>(e.g.readers);
  out->config.process_slots = static_cast<u32>(e.g.processes);
  out->config.exchange_timeout_ns = h.exchange_timeout_ns.load(mo_relaxed);
  out->config.retention = static_cast<TurnLog::Retention>(h.retention.load(mo_relaxed));
  out->region_bytes = h.region_bytes.load(mo_relaxed);
  out->segments_offset = e.g.segments_at;
  out->config.append_lanes = static_cast<u32>(e.g.lanes);
  out->records_per_segment = e.g.records_per_segment;
  out->payload_area_bytes = e.g.payload_area;
  out->head = h.head.load(mo_acquire);
  out->current = h.current.load(mo_acquire);
  for (u64 i = 0; i < e.g.thread_capacity; i++) {  // bound: thread_capacity
    if (e.thread_at(i).state.load(mo_acquire) == th_ready) out->threads_used++;
  }
  return LogStatus::ok;
}

LogStatus inspect_segment(void* region, std::size_t bytes, std::uint32_t index, SegmentReport* out) noexcept {
  if (out == nullptr) return LogStatus::invalid_argument;
  if (const LogStatus st = validate_region(region, bytes); st != LogStatus::ok) return st;
  LogEngine e(static_cast<unsigned char*>(region), Clock{&inspection_clock, nullptr});
  if (index >= e.g.segment_count) return LogStatus::invalid_argument;
  // segment(), record() and payload() take a sequence and use it modulo the
  // ring: the physical index names the same slot.
  const SegmentHeader& seg = e.segment(index);
  *out = SegmentReport{};
  const u64 seg_w = seg.word.load(mo_acquire);
  out->sequence = seg_seq(seg_w);
  out->state = seg_state(seg_w) <= seg_retired ? static_cast<SegmentState>(seg_state(seg_w)) : SegmentState::unknown;
  const u64 fill = seg.fill.load(mo_acquire);
  out->records_reserved = fill >> fill_shift;
  out->records = std::min<u64>(out->records_reserved, e.g.records_per_segment);
  out->payload_bytes = fill & fill_bytes_mask;
  out->sealed = seg.sealed.load(mo_acquire) != 0;
  for (u64 p = 0; p < e.g.processes; p++) out->writers += e.writer_pin(index, p).load(mo_acquire);
  for (u64 j = 0; j < out->records; j++) {  // bound: records_per_segment
    RecordHeader& r = e.record(index, j);
    const u64 s = r.state.load(mo_acquire);  // R1
    switch (rec_kind(s)) {
      case rec_empty:  // reserved, header not yet stored (or its writer died there)
      case rec_busy: out->busy++; continue;
      case rec_aborted: out->aborted++; continue;
      case rec_written: out->written++; break;
      case rec_committed: out->committed++; break;
      default: out->malformed++; continue;
    }
    if (!e.well_formed(index, j, s)) {
      out->malformed++;
      continue;
    }
    const u32 length = static_cast<u32>(r.meta.load(mo_relaxed));
    if (checksum_of(r, e.payload(index, rec_payload_offset(s)), length) != r.checksum.load(mo_relaxed)) {
      out->checksum_failures++;
    }
  }
  return LogStatus::ok;
}

LogStatus inspect_thread(void* region, std::size_t bytes, std::uint32_t slot, ThreadReport* out) noexcept {
  if (out == nullptr) return LogStatus::invalid_argument;
  if (const LogStatus st = validate_region(region, bytes); st != LogStatus::ok) return st;
  LogEngine e(static_cast<unsigned char*>(region), Clock{&inspection_clock, nullptr});
  if (slot >= e.g.thread_capacity) return LogStatus::invalid_argument;
  const ThreadSlot& t = e.thread_at(slot);
  *out = ThreadReport{};
  out->used = t.state.load(mo_acquire) == th_ready;
  if (!out->used) return LogStatus::ok;
  out->thread = Id{t.key_hi.load(mo_relaxed), t.key_lo.load(mo_relaxed)};
  out->next_ticket = t.next_ticket.load(mo_acquire);
  out->visible_through = t.visible_through.load(mo_acquire);
  out->trimmed_through = t.trimmed_through.load(mo_acquire);
  out->max_fence = t.max_fence.load(mo_acquire);
  return LogStatus::ok;
}

// ---- recovery (weft/recovery.h) ------------------------------------------------
// Runs alone on the region (its contract), so plain stores of the repaired
// words are enough; they are still atomic stores, as every shared word's.

namespace {

// One record of a ready segment: keep, drop (abort) or leave it.
// Exchanges with a record whose checksum failed, gathered by one pass.
struct Damaged {
  static constexpr std::size_t max = 64;
  struct Exchange {
    Id thread;
    u64 ticket;
  } list[max];
  std::size_t count = 0;
  bool has(const Id& thread, u64 ticket) const {
    for (std::size_t i = 0; i < count; i++) {  // bound: max
      if (list[i].ticket == ticket && list[i].thread == thread) return true;
    }
    return false;
  }
};

// Checks one record. `count` tallies what is kept (the first pass only).
// Returns true when the record failed its checksum but `damaged` was full:
// it is left as it is for the next pass.
bool recover_record(LogEngine& e, u64 seq, u64 j, RecoveryReport& out, Damaged& damaged, bool count) {
  RecordHeader& r = e.record(seq, j);
  const u64 s = r.state.load(mo_acquire);
  const u64 kind = rec_kind(s);
  const auto drop = [&](u64& counter) {
    r.state.store(rec_state(rec_aborted, rec_payload_offset(s)), mo_release);
    counter++;
    return false;
  };
  if (count) out.records_scanned++;
  // Empty: a reservation that did not fit (the segment sealed), or a writer
  // that died before its first store; nobody reads or waits for it.
  if (kind == rec_aborted || kind == rec_empty) return false;
  if (kind == rec_busy) return drop(out.dropped_torn);
  if ((kind != rec_written && kind != rec_committed) || !e.well_formed(seq, j, s)) return drop(out.dropped_malformed);
  const u32 length = static_cast<u32>(r.meta.load(mo_relaxed));
  if (checksum_of(r, e.payload(seq, rec_payload_offset(s)), length) != r.checksum.load(mo_relaxed)) {
    const Id thread{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)};
    const u64 ticket = r.ticket.load(mo_relaxed);
    if (!damaged.has(thread, ticket)) {
      if (damaged.count == Damaged::max) return true;
      damaged.list[damaged.count++] = Damaged::Exchange{thread, ticket};
    }
    return drop(out.dropped_checksum);
  }
  if (count) {
    if (kind == rec_committed) {
      out.records_kept++;
    } else {
      out.written_unfinished++;
    }
  }
  return false;
}

// [T4] An exchange is visible whole or not at all: the other records of an
// exchange that lost one to a failed checksum are dropped too.
void drop_siblings(LogEngine& e, const Damaged& damaged, RecoveryReport& out) {
  if (damaged.count == 0) return;
  for (u64 i = 0; i < e.g.segment_count; i++) {  // bound: segment_count x records_per_segment
    const SegmentHeader& seg = e.segment(i);
    if (seg_state(seg.word.load(mo_acquire)) != seg_ready) continue;
    const u64 records = e.record_count(seg);
    for (u64 j = 0; j < records; j++) {
      RecordHeader& r = e.record(i, j);
      const u64 s = r.state.load(mo_acquire);
      const u64 kind = rec_kind(s);
      if (kind != rec_committed && kind != rec_written) continue;
      if (!damaged.has(Id{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)}, r.ticket.load(mo_relaxed))) {
        continue;
      }
      const u32 length = static_cast<u32>(r.meta.load(mo_relaxed));
      const bool intact = checksum_of(r, e.payload(i, rec_payload_offset(s)), length) == r.checksum.load(mo_relaxed);
      r.state.store(rec_state(rec_aborted, rec_payload_offset(s)), mo_release);
      if (!intact) {  // damaged itself, left by a full pass: not counted as kept
        out.dropped_checksum++;
        continue;
      }
      out.dropped_with_exchange++;
      u64& kept = kind == rec_committed ? out.records_kept : out.written_unfinished;
      if (kept > 0) kept--;
    }
  }
}

// A segment left mid-transition by a dead opener or recycler, and the
// writer pins of every process (all dead).
void recover_segment_word(LogEngine& e, u64 index, RecoveryReport& out) {
  SegmentHeader& seg = e.segment(index);
  const u64 before = seg.word.load(mo_acquire);
  e.repair_transition(index);
  if (seg.word.load(mo_acquire) != before) out.segments_repaired++;
  seg.transit.store(0, mo_seq_cst);
  bool pinned = false;
  for (u64 p = 0; p < e.g.processes; p++) {  // bound: process_slots
    if (e.writer_pin(index, p).load(mo_acquire) != 0) pinned = true;
    e.writer_pin(index, p).store(0, mo_seq_cst);
  }
  if (pinned) out.writer_pins_cleared++;
}

// A thread slot or its exchange slots left `claiming` by a dead begin.
void recover_thread(LogEngine& e, u64 ti, RecoveryReport& out) {
  ThreadSlot& t = e.thread_at(ti);
  const u64 state = t.state.load(mo_acquire);
  if (th_is_claim(state)) {  // inserters wait at a claim, never probe past it: freeing it hides no id
    t.state.store(th_empty, mo_release);
    out.threads_repaired++;
    return;
  }
  for (u64 k = 0; k < e.g.window; k++) {  // bound: exchanges_per_thread
    ExchangeSlot& x = detail::region_part<ExchangeSlot>(e.region, e.g.exchanges_at)[ti * e.g.window + k];
    x.claimer.store(0, mo_release);
  }
  if (state != th_ready) return;
  const u64 n = t.next_ticket.load(mo_acquire);
  ExchangeSlot& x = e.exchange_at(ti, n);
  const u64 s = x.state.load(mo_acquire);
  if (ex_ticket(s) != n || ex_phase(s) != ph_claiming) return;
  e.abandon_claim(ti, x);
  out.exchanges_repaired++;
}

// ---- rebuilding what the records contradict ----------------------------------
// A crash cannot damage the thread table or a segment's fill (each is
// written by single atomic stores); a damaged medium can. Recovery trusts
// neither where the records say otherwise.

// Raises segment `index`'s fill to cover every record header in use and the
// payload of the last well-formed one (a fill damaged low would hide
// committed records from readers and hand their bytes to new appends).
// Reservations take record index and payload offset from one fetch_add, so
// payloads lie in record order: the highest record in use ends the payload.
// Bound: records_per_segment (a full segment: one record read). True when
// it raised the fill.
bool rebuild_tail(LogEngine& e, u64 index) {
  SegmentHeader& seg = e.segment(index);
  const u64 fill = seg.fill.load(mo_acquire);
  u64 records = fill >> fill_shift, bytes = fill & fill_bytes_mask;
  u64 top = e.g.records_per_segment;  // 1 + the highest record header in use
  while (top > 0 && rec_kind(e.record(index, top - 1).state.load(mo_acquire)) == rec_empty) top--;
  bool raised = false;
  if (top > records) {
    records = top;
    raised = true;
  }
  for (u64 j = top; j > 0; j--) {  // the last well-formed record's payload end
    const u64 s = e.record(index, j - 1).state.load(mo_acquire);
    if (rec_kind(s) == rec_empty || !e.well_formed(index, j - 1, s)) continue;  // damaged: offset means nothing
    const u64 length = e.record(index, j - 1).meta.load(mo_relaxed) & 0xFFFFFFFFu;
    const u64 end = std::min<u64>(rec_payload_offset(s) + round_up(length, 8), e.g.payload_area);
    if (end > bytes) {
      bytes = end;
      raised = true;
    }
    break;
  }
  if (raised) seg.fill.store(static_cast<W>(records << fill_shift | bytes), mo_release);
  return raised;
}

// Marks a thread slot whose exchange window is being rebuilt (a
// visible_through no live slot can have: it is never >= next_ticket).
constexpr W rebuilding = detail::word_max;

// True when record `r` is committed or written with a thread id and a
// ticket a thread slot can hold (then `state`, `thread`, `ticket` are its).
bool live_record(const RecordHeader& r, u64& state, Id& thread, u64& ticket) {
  state = r.state.load(mo_acquire);
  if (rec_kind(state) != rec_committed && rec_kind(state) != rec_written) return false;
  thread = Id{r.thread_hi.load(mo_relaxed), r.thread_lo.load(mo_relaxed)};
  ticket = r.ticket.load(mo_relaxed);
  return !id_is_zero(thread) && ticket != 0 && ticket <= TurnLog::tickets_max;
}

// Calls visit(index, j, state, thread, ticket) for every committed or
// written record of the ready segments. Bound: segments x records.
template <class Visit>
void for_each_live_record(LogEngine& e, Visit visit) {
  for (u64 i = 0; i < e.g.segment_count; i++) {
    if (seg_state(e.segment(i).word.load(mo_acquire)) != seg_ready) continue;
    const u64 records = e.record_count(e.segment(i));
    for (u64 j = 0; j < records; j++) {
      u64 s = 0, ticket = 0;
      Id thread{};
      if (live_record(e.record(i, j), s, thread, ticket)) visit(i, j, s, thread, ticket);
    }
  }
}

// True when thread slot `ti`'s tail is one the TurnLog can have: every
// ticket below next_ticket and above visible_through is at most W back and
// still in its exchange slot (advance() can walk it).
bool tail_consistent(LogEngine& e, u64 ti) {
  const ThreadSlot& t = e.thread_at(ti);
  const u64 n = t.next_ticket.load(mo_acquire);
  const u64 v = t.visible_through.load(mo_acquire);
  if (n == 0 || v >= n || n - 1 - v > e.g.window) return false;
  for (u64 k = v + 1; k < n; k++) {  // bound: W
    if (ex_ticket(e.exchange_at(ti, k).state.load(mo_acquire)) != k) return false;
  }
  return true;
}

// Rebuilds the thread table from the records: a record's thread missing from
// the table is inserted again; a thread whose next_ticket is not above every
// ticket of its records, or whose tail is inconsistent, gets next_ticket =
// its highest ticket + 1 and its last W exchange slots rebuilt from the
// records (committed when a committed record has that ticket, else aborted;
// request ids from the records, so duplicates are still recognised), its
// published records of unfinished exchanges aborted (their exchanges cannot
// finish any more), and visible_through = next_ticket - 1. Bound: a few
// passes over the records, each record looked up in the thread table.
// Thread lookups of a recovery pass: the last thread slot found for each of
// 64 id hashes (records of one thread come in runs; a 1.5 KiB stack array).
struct RecoveryThreads {
  struct Entry {
    Id id{};
    u64 index = 0;
    bool used = false;
  } entries[64];
  bool find(LogEngine& e, const Id& id, bool insert, u64& ti) {
    Entry& entry = entries[id_mix64(id) & 63];
    if (entry.used && entry.id == id) {
      ti = entry.index;
      return true;
    }
    bool full = false;
    if (!e.find_thread(id, insert, ti, full)) return false;
    entry = Entry{id, ti, true};
    return true;
  }
};

// Step 1 for one record (thread, ticket): when its thread slot does not know
// the ticket, raise next_ticket and mark the slot. False when the thread is
// not in the table and `insert` is false.
bool note_ticket(LogEngine& e, RecoveryThreads& threads, const Id& thread, u64 ticket, bool insert) {
  u64 ti = 0;
  if (!threads.find(e, thread, insert, ti)) return insert;  // inserting into a full table: nothing to rebuild into
  ThreadSlot& t = e.thread_at(ti);
  if (t.next_ticket.load(mo_acquire) <= ticket) {
    t.next_ticket.store(static_cast<W>(ticket + 1), mo_release);
    t.visible_through.store(rebuilding, mo_release);
  }
  return true;
}

// `missing`: the records pass met a record whose thread the table lacks.
void rebuild_threads(LogEngine& e, RecoveryThreads& threads, bool missing, RecoveryReport& out) {
  // 1. Threads the table lost (the records pass noted the tickets of the
  // others): insert them again.
  if (missing) {
    for_each_live_record(e, [&](u64, u64, u64, const Id& thread, u64 ticket) {
      (void)note_ticket(e, threads, thread, ticket, true);
    });
  }
  // 2. Every marked or inconsistent thread: its last W exchange slots start
  // aborted, with their tickets.
  const u64 rebuilt_before = out.threads_rebuilt;
  for (u64 ti = 0; ti < e.g.thread_capacity; ti++) {  // bound: thread_capacity
    ThreadSlot& t = e.thread_at(ti);
    if (t.state.load(mo_acquire) != th_ready) continue;
    if (t.visible_through.load(mo_acquire) != rebuilding && tail_consistent(e, ti)) continue;
    out.threads_rebuilt++;
    u64 n = t.next_ticket.load(mo_acquire);
    if (n == 0) {
      n = 1;
      t.next_ticket.store(1, mo_release);
    }
    t.visible_through.store(rebuilding, mo_release);
    for (u64 k = n > e.g.window ? n - e.g.window : 1; k < n; k++) {  // bound: W
      ExchangeSlot& x = e.exchange_at(ti, k);
      x.request_hi.store(0, mo_relaxed);
      x.request_lo.store(0, mo_relaxed);
      x.fence.store(0, mo_relaxed);
      x.turns.store(turns_word(k, 0), mo_relaxed);
      for (auto& pos : x.positions) pos.store(0, mo_relaxed);
      x.claimer.store(0, mo_relaxed);
      x.state.store(ex_state(k, ph_aborted), mo_release);
    }
  }
  if (out.threads_rebuilt == rebuilt_before) return;  // nothing contradicted the records
  // 3. The records of rebuilt threads: committed ones commit their
  // exchange slot; published ones of unfinished exchanges are aborted.
  for_each_live_record(e, [&](u64 i, u64 j, u64 s, const Id& thread, u64 ticket) {
    u64 ti = 0;
    if (!threads.find(e, thread, false, ti)) return;
    ThreadSlot& t = e.thread_at(ti);
    if (t.visible_through.load(mo_acquire) != rebuilding) return;
    const u64 n = t.next_ticket.load(mo_acquire);
    if (rec_kind(s) == rec_written) {
      e.record(i, j).state.store(rec_state(rec_aborted, rec_payload_offset(s)), mo_release);
      out.dropped_rebuilt++;
      if (out.written_unfinished > 0) out.written_unfinished--;
      return;
    }
    if (ticket >= n || ticket + e.g.window < n) return;  // outside the rebuilt window
    ExchangeSlot& x = e.exchange_at(ti, ticket);
    const RecordHeader& r = e.record(i, j);
    const Id request{r.request_hi.load(mo_relaxed), r.request_lo.load(mo_relaxed)};
    x.request_hi.store(request.hi, mo_relaxed);
    x.request_lo.store(request.lo, mo_relaxed);
    if (e.g.window <= dedup_lanes) store_print(t, ticket & (e.g.window - 1), request_print(request));
    x.state.store(ex_state(ticket, ph_committed), mo_release);
  });
  // 4. Their tails: every ticket below next_ticket has finished.
  for (u64 ti = 0; ti < e.g.thread_capacity; ti++) {  // bound: thread_capacity
    ThreadSlot& t = e.thread_at(ti);
    if (t.state.load(mo_acquire) != th_ready || t.visible_through.load(mo_acquire) != rebuilding) continue;
    t.visible_through.store(static_cast<W>(t.next_ticket.load(mo_acquire) - 1), mo_release);
  }
}

}  // namespace

LogStatus recover_log(void* region, std::size_t bytes, RecoveryReport* out) noexcept {
  if (out == nullptr) return LogStatus::invalid_argument;
  if (const LogStatus st = validate_region(region, bytes); st != LogStatus::ok) return st;
  LogEngine e(static_cast<unsigned char*>(region), Clock{&inspection_clock, nullptr});
  *out = RecoveryReport{};
  if (e.header.head.load(mo_acquire) == 0) e.header.head.store(1, mo_seq_cst);  // sequences start at 1
  for (u64 i = 0; i < e.g.segment_count; i++) recover_segment_word(e, i, *out);  // bound: segment_count
  // A ready segment gets its tail rebuilt. Nobody reads a segment that is
  // not ready, and its next opener resets only the records below its fill
  // (nothing writes above it): a fill damaged low would carry older states
  // into its next sequence, so all its records are emptied here.
  // Bound: segment_count x records_per_segment.
  for (u64 i = 0; i < e.g.segment_count; i++) {
    if (seg_state(e.segment(i).word.load(mo_acquire)) == seg_ready) {
      if (rebuild_tail(e, i)) out->tails_rebuilt++;
      continue;
    }
    for (u64 j = 0; j < e.g.records_per_segment; j++) e.record(i, j).state.store(rec_empty, mo_relaxed);
  }
  // Lane words are hints (an append checks the segment they name): after a
  // crash or damage every lane starts over and opens a segment of its own.
  for (u64 k = 0; k < e.g.lanes; k++) e.lane_word(k).store(0, mo_relaxed);  // bound: append_lanes
  {  // Every sequence from the head to the current one is a ready segment, unless damage lost it.
    const u64 head = std::max<u64>(e.header.head.load(mo_acquire), 1);
    const u64 cur = e.header.current.load(mo_acquire);
    if (cur >= head && cur - head < e.g.segment_count) {
      for (u64 seq = head; seq <= cur; seq++) {  // bound: segment_count
        if (e.segment(seq).word.load(mo_acquire) != seg_word(seq, seg_ready)) out->segments_missing++;
      }
    }
  }
  // Passes over the records: the first tallies them; each pass drops up to
  // Damaged::max damaged exchanges whole. Bound: a pass that leaves a record
  // for the next one has dropped Damaged::max records, so at most
  // records / Damaged::max + 1 passes.
  RecoveryThreads threads;
  bool missing = false;  // a record whose thread the table lacks (damage)
  for (bool first = true;; first = false) {
    Damaged damaged;
    bool left = false;
    for (u64 i = 0; i < e.g.segment_count; i++) {
      const SegmentHeader& seg = e.segment(i);
      if (seg_state(seg.word.load(mo_acquire)) != seg_ready) continue;
      if (first) out->segments_scanned++;
      const u64 records = e.record_count(seg);
      for (u64 j = 0; j < records; j++) {  // bound: records_per_segment
        if (recover_record(e, i, j, *out, damaged, first)) left = true;
        if (!first) continue;
        // The first pass also checks each record's ticket against its thread
        // slot (no insert: a claim left by a dead begin is freed below).
        u64 s = 0, ticket = 0;
        Id thread{};
        if (live_record(e.record(i, j), s, thread, ticket) && !note_ticket(e, threads, thread, ticket, false)) {
          missing = true;
        }
      }
    }
    drop_siblings(e, damaged, *out);
    if (!left) break;
  }
  for (u64 i = 0; i < e.g.readers; i++) {  // bound: reader_slots
    if (e.reader_at(i).pin.load(mo_acquire) != 0) {
      e.reader_at(i).pin.store(0, mo_seq_cst);
      out->reader_pins_cleared++;
    }
  }
  e.processes().clear();  // every process is gone: free their slots
  for (u64 i = 0; i < e.g.thread_capacity; i++) recover_thread(e, i, *out);  // bound: thread_capacity
  rebuild_threads(e, threads, missing, *out);
  return LogStatus::ok;
}

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
// ============================================================================
// End of the durability block.
// ============================================================================
