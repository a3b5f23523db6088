// weft/turn_log.h: a lock-free, append-only log of conversation turns.
//
// The TurnLog keeps the turns (user / assistant / system / tool messages) of
// many conversation *threads* in one region of bytes. Requests on a thread
// run as *exchanges*: begin_exchange() gives a ticket (1, 2, 3 ... per thread,
// in begin order), append() adds turns, commit() or abort() ends it. Readers
// take snapshots: consistent prefixes of a thread's history, ordered by
// (ticket, index) whatever order the records landed in, showing exchange k
// only once every exchange before k has finished. Contracts T1-T10 are in
// docs/DESIGN.md; where each is enforced is marked [Tn] below and in the code.
//
// ## Region layout (offsets only; every shared word a 64-bit atomic, or 32-bit
// with WEFT_WORD_BITS=32, where 64-bit values are kept as two halves written
// under the word that publishes them: docs/EMBEDDED.md)
//
//   [ Header ][ ThreadSlot x thread_capacity ][ ExchangeSlot x thread_capacity x
//     exchanges_per_thread ][ ReaderSlot x reader_slots ][ Segment x segment_count ]
//     [ LaneSlot 64 B x append_lanes ]
//
//   Segment (segment_bytes):  [ SegmentHeader 64 B ][ record ][ record ] ...
//   SegmentHeader: sequence (which logical segment lives here), fill (the
//                  fetch_add reservation counter), sealed, writers (pins),
//                  the append lane it was opened for.
//   LaneSlot:      the sequence of the segment the lane appends to.
//   Record:        [ RecordHeader 64 B: state, thread id (2 words), ticket,
//                    meta (index, role, flags, payload length), request id
//                    (2 words), checksum ][ payload, padded to 8 bytes ]
//   ThreadSlot (128 B): the thread's id, next_ticket, visible_through,
//                  max_fence, trimmed_through; on its second line the
//                  thread's statistics (turns, commits, aborts, expiries:
//                  stats() sums them, so writers of different threads never
//                  bump one line) and a 16-bit fingerprint of the request of
//                  each of its exchange slots (W <= 16), so a begin reads
//                  only the exchange slots whose request could be its own.
//   The checksum is scan::checksum_bytes of the payload folded with the
//   header fields (weft/scan.h); homes in the thread table are id_slot()
//   (weft/id.h).
//   A *position* is sequence << 24 | record index (sequence << 10 | index with
//   32-bit words): it names a record for ever (a recycled segment gets a new
//   sequence, so old positions fail), and with one append lane positions
//   grow with the log.
//
// ## Append protocol
//
// A writer pins its lane's segment (writers + 1), checks that the segment
// still holds that sequence, ready and not sealed (R5: a recycler marks the
// segment and then reads the pins, so one of the two sees the other),
// reserves with ONE fetch_add on its `fill` (with 32-bit words a
// compare-exchange that never takes more than fits), writes header and
// payload, computes the checksum and publishes with a release store of the
// record's state word: busy -> written (pairing R1). The reservation that
// first crosses the segment's end seals it and opens the next segment for
// the lane; later crossers retry there. With one lane and a ring of
// at least open_ahead_segments_min segments the turnover happens earlier and
// off the crossing: the writer whose record takes the middle of the newest
// segment prepares the next one (recycling the oldest if retention needs
// it) after publishing, while the others still append, and the crossing
// writer only makes it the newest. A prepared segment is ready but empty
// and after `current`, so no reader or writer sees it until then. A reader walks every segment from the
// head to the newest, each up to its fill, and shows only records whose
// state says written and then committed: it never sees half a record [T4].
//
// Append lanes (Config::append_lanes): with one lane every writer appends to
// the newest segment. With L lanes a writer appends through lane (CPU mod
// L), and a lane that needs a segment opens the ring's next sequence for
// itself (or takes the newest if another writer of the lane just opened it),
// so writers on different cores share no pin, fill or record line. A lane's
// word is only a hint: every append re-checks the segment's own word after
// pinning it (R5), so a lane pointing at a segment that filled, was
// recycled or never existed costs a move, never a record. Segments of all
// lanes are one ring in sequence order, recycled oldest first; an exchange's
// turns may lie in several lanes' segments, and readers order by (ticket,
// index), never by place. What lanes change: a later turn can land below
// end_position(), in an older lane's segment (for_each_committed and
// sync_log say what that means for them); and since recycling a segment
// trims each thread through the highest ticket it holds, a quiet lane's old
// segment holding a thread's newest turn takes the thread's whole history
// with it when it is recycled (still a prefix, but more than one lane would
// lose).
//
// ## Exchange state machine (one ExchangeSlot per ticket, ring of W per thread)
//
//   free --claim CAS (request id written)--> open --commit CAS--> committing --> committed
//                                              |--abort CAS-----> aborting  ----> aborted
//                                              '--expiry CAS----> expiring  ----> expired
//
// The CAS out of `open` is the decision; the flips of the exchange's record
// states (written -> committed, or busy/written -> aborted) follow, and the
// final store says the exchange has finished. Anyone who finds an exchange in
// committing/aborting may finish the flips (helping), so a writer that stalls
// there blocks nobody [T10]. An open exchange whose last progress is older
// than `exchange_timeout_ns` is expired by whoever notices. Progress is the
// last observed sign of life, never time zero: its begin, each turn, and
// each context() / wait_context() call for it (a request waiting for its
// predecessors is alive, not stalled).
//
// Each thread has a watermark `visible_through`: the highest ticket k such
// that every exchange <= k has finished. Anyone who finishes an exchange (or
// sees a finished one) advances it with CAS. A snapshot reads the watermark
// with acquire (pairing R2: the final store of every exchange <= k, and so the
// flips of its records, happen before) and shows committed records of tickets
// <= watermark only [T3, T4, T5, T7].
//
// ## Idempotent begin without check-then-insert [T2]
//
// Ticket n can only start by claiming ExchangeSlot[n mod W] with a CAS from
// `free`; the claimer writes the request id, then moves the thread's
// next_ticket from n to n+1 (anyone may help that CAS once the slot is open).
// Two begins with the same request id race for the same slot: the loser sees
// the winner's request id in the dedup window (the last W tickets) and gets
// `duplicate` with the winner's ticket.
//
// ## Fencing [T9]
//
// begin_exchange() may carry a fencing token (from the LockTable). The thread
// keeps the highest token seen. A begin with a newer token aborts every open
// exchange of the thread with an older one (their commit CAS can then never
// win), and commit() refuses an exchange whose token is lower: append and
// commit answer stale_fence, and none of its turns appear. Token 0 means
// "not fenced" and is never stale.
//
// ## Retention [T8]
//
// Readers pin: a snapshot or cursor publishes the oldest segment sequence it
// may read in a reader slot (seq_cst store, then re-reads the head: pairing
// R3). The oldest segment is recycled only when no reader pins it, no writer
// is inside it, and none of its records is busy or of an unfinished
// exchange; recycling trims those threads logically (trimmed_through) so
// that turns leave only as a prefix of their thread. Like a snapshot, the
// context of an open exchange holds the retained turns before it [T7, T1]. trim_thread() trims a prefix explicitly. With
// retention `keep_all`, the log never recycles and returns log_full instead.
// A ring that opens ahead (open_ahead_segments_min) recycles its oldest
// segment half a segment early, so while a segment waits prepared (ready,
// empty, sequence current + 1) it keeps one segment of history fewer.
// A stalled writer keeps its segment pinned, so it is never lapped: the tail
// stops (log_full) one ring away from the oldest unfinished record.
//
// ## Processes [T10]
//
// Several processes may share a region (weft/mapping.h). A process killed
// while it held something nobody else may take from a live holder (a
// segment pin while it copies a payload, a reader pin, a claim of a thread
// or exchange slot, a ring transition) would hold it for ever. With
// Config::process_slots > 1 each process join()s: it gets a slot in the
// process table (identity, and a generation), and everything it holds
// carries the slot (writer pins are counted per process and segment; reader
// pins, thread claims, exchange claims and segment transitions store the
// slot beside or inside the word they claim). Whoever finds something held
// too long asks the injected Liveness whether the holder is alive; if it is
// dead, one survivor wins the slot (live -> reaping, a CAS), undoes or
// finishes each half-done step exactly as recover_log() would, clears the
// pins, and frees the slot. A dead reaper's slot is reaped in its turn.
// Nothing is ever taken from a live process, however long it stalls.
//
// Layout with P = process_slots > 1: after the reader slots,
//   [ ProcessSlot x (P - 1) ][ pins: one word per segment and joined slot ]
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/clock.h"
#include "weft/id.h"
#include "weft/lock_table.h"
#include "weft/process.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

namespace detail {
struct LogEngine;
/// The layout of a TurnLog region (internal): its counts and where each
/// part starts. A handle computes it once, when init() or attach()
/// validates the header; the header's geometry never changes.
struct LogGeometry {
  std::uint64_t segment_bytes = 0, segment_count = 0, thread_capacity = 0, window = 0, readers = 0;
  std::uint64_t processes = 1, lanes = 1;
  std::uint64_t records_per_segment = 0, payload_area = 0;
  /// segment_count - 1 when it is a power of two (no division per lookup), else 0.
  std::uint64_t segment_mask = 0;
  /// Opening ahead (TurnLog::open_ahead_segments_min): the middle record
  /// index and payload byte of a segment, or ~0 and 0 where the ring does
  /// not open ahead (no reservation matches).
  std::uint64_t ahead_index = ~std::uint64_t{0}, ahead_bytes = 0;
  /// Offsets in 64 bits: on 32-bit targets a geometry may describe more
  /// than the address space, which init() refuses.
  std::uint64_t threads_at = 0, exchanges_at = 0, readers_at = 0, processes_at = 0, pins_at = 0,
                segments_at = 0, lanes_at = 0, total = 0;
};
}  // namespace detail

/// Who wrote a turn.
enum class Role : std::uint8_t { user = 1, assistant = 2, system = 3, tool = 4 };

/// How begin_exchange() treats a thread that has an exchange open.
enum class BeginPolicy : std::uint8_t {
  queue = 1,           ///< take the next ticket; its context is ready once all before it finished
  reject_if_busy = 2,  ///< fail with `busy` while another exchange of the thread is open (HTTP 409)
};

/// What happened to an exchange (its phase).
enum class ExchangeState : std::uint8_t {
  open = 2,        ///< begun, taking turns
  committing = 3,  ///< commit decided; its records are being published
  aborting = 4,    ///< abort decided; its records are being dropped
  expiring = 5,    ///< expiry decided; its records are being dropped
  committed = 6,   ///< finished: its turns are (or will be, in ticket order) visible
  aborted = 7,     ///< finished: none of its turns will ever be visible
  expired = 8,     ///< finished by timeout: none of its turns will ever be visible
};

/// The result of every TurnLog call. [[nodiscard]]: look at it.
enum class [[nodiscard]] LogStatus : std::uint8_t {
  ok = 0,              ///< done
  duplicate,           ///< begin: the request id already began an exchange (its ticket is returned)
  busy,                ///< begin with reject_if_busy: another exchange is open
  not_ready,           ///< context: an exchange before this ticket has not finished
  too_many_in_flight,  ///< begin: W exchanges of the thread are unfinished
  too_many_turns,      ///< append: the exchange has turns_per_exchange_max turns
  log_full,            ///< no segment can be opened (retention keep_all, or pinned)
  thread_table_full,   ///< begin: no slot for a new thread id
  payload_too_large,   ///< append: payload over payload_bytes_max
  unknown_exchange,    ///< no such (thread, ticket), or it was recycled
  finished,            ///< append/commit/abort: the exchange already finished (see state)
  expired,             ///< the exchange expired (its turns were dropped)
  stale_fence,         ///< commit: a newer fencing token began on the thread; exchange aborted
  invalid_argument,    ///< zero or bad argument (zero thread id, bad role, ...)
  buffer_too_small,    ///< snapshot/context: more turns than the caller's array holds
  timed_out,           ///< wait_context: the timeout passed first
  too_many_readers,    ///< snapshot/context/for_each: every reader slot is in use
  contended,           ///< a documented retry bound ran out; nothing changed; retry
  not_initialized,     ///< the log has no region
  region_too_small,    ///< init/attach: fewer bytes than region_bytes()
  bad_region,          ///< attach: not a TurnLog region; init: bad geometry
  out_of_memory,       ///< create: the one allocation failed
  exhausted,           ///< begin_exchange: the thread used every ticket (only with
                       ///< 32-bit words, after tickets_max exchanges): format the log again
  word_size_mismatch,  ///< attach: the region was formatted by a build with the
                       ///< other word size (WEFT_WORD_BITS 32 vs 64)
  too_many_processes,  ///< join: every process slot is held by a live process
};

/// A short lowercase name of a status, for messages.
[[nodiscard]] const char* to_string(LogStatus status) noexcept;

/// Names one exchange: the thread and its ticket. Returned by begin_exchange().
struct ExchangeRef {
  Id thread{};              ///< the conversation thread
  std::uint64_t ticket = 0; ///< 1, 2, 3 ... per thread, in begin order
};

/// What begin_exchange() tells the caller.
struct [[nodiscard]] BeginResult {
  LogStatus status = LogStatus::not_initialized;  ///< ok, duplicate, busy, ...
  ExchangeRef exchange{};  ///< ok / duplicate: the exchange (duplicate: the existing one)
};

/// One turn as a reader sees it. The payload points into the region and stays
/// valid while the Snapshot (or Cursor) that produced it is alive.
struct TurnView {
  Id thread{};                  ///< thread id
  std::uint64_t ticket = 0;     ///< exchange ticket
  std::uint32_t index = 0;      ///< index inside the exchange (0 = first turn)
  Role role = Role::user;       ///< who wrote it
  std::uint8_t flags = 0;       ///< caller's flags
  Id request{};                 ///< the exchange's request id
  const unsigned char* payload = nullptr;  ///< payload bytes
  std::uint32_t payload_bytes = 0;         ///< payload length
  std::uint64_t position = 0;   ///< where the record lives in the log
};

class TurnLog;

/// A pinned, consistent view of one thread's history (or context). Holds a
/// reader slot until release() or destruction; the TurnViews it filled stay
/// valid until then. Move-only.
class Snapshot {
 public:
  /// An empty snapshot (pins nothing; size() 0).
  Snapshot() noexcept = default;
  /// Releases the pin (release()).
  ~Snapshot() { release(); }
  /// Takes over `other`'s pin; `other` pins nothing afterwards.
  Snapshot(Snapshot&& other) noexcept;
  /// Releases this snapshot's pin, then takes over `other`'s.
  Snapshot& operator=(Snapshot&& other) noexcept;
  /// Not copyable: a pin has one owner.
  Snapshot(const Snapshot&) = delete;
  /// Not copyable: a pin has one owner.
  Snapshot& operator=(const Snapshot&) = delete;

  /// Unpins (idempotent).
  void release() noexcept;
  /// The number of turns filled into the caller's array.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// The watermark the snapshot was cut at: every exchange <= it had finished.
  [[nodiscard]] std::uint64_t visible_through() const noexcept { return visible_through_; }

 private:
  friend class TurnLog;
  TurnLog* log_ = nullptr;
  std::uint32_t reader_slot_ = 0;
  std::size_t count_ = 0;
  std::uint64_t visible_through_ = 0;
};

/// A writer for one large turn (streaming): reserve an upper bound, write
/// chunks, then finish() with the final length. Move-only; an unfinished
/// writer aborts its record when destroyed.
class TurnWriter {
 public:
  /// A writer with no turn (every call says invalid_argument until
  /// TurnLog::begin_turn() gives it one).
  TurnWriter() noexcept = default;
  /// An unfinished turn is dropped: its record is aborted and never shown.
  ~TurnWriter();
  /// Takes over `other`'s turn; `other` has none afterwards.
  TurnWriter(TurnWriter&& other) noexcept;
  /// Drops this writer's unfinished turn, then takes over `other`'s.
  TurnWriter& operator=(TurnWriter&& other) noexcept;
  /// Not copyable: a turn has one writer.
  TurnWriter(const TurnWriter&) = delete;
  /// Not copyable: a turn has one writer.
  TurnWriter& operator=(const TurnWriter&) = delete;

  /// Appends `bytes` to the turn; payload_too_large past the reservation.
  LogStatus write(const void* bytes, std::size_t length) noexcept;
  /// Publishes the turn with the bytes written so far: ok, or (the turn is
  /// dropped, never shown) expired, stale_fence (a newer fence ended the
  /// exchange) or finished (it was committed or aborted meanwhile);
  /// invalid_argument with no turn. The turn whose record took the middle
  /// of its segment then opens the next segment ahead
  /// (open_ahead_segments_min) before returning: with `recycle_oldest`
  /// that recycles the oldest segment (a pass over its records, expiring
  /// exchanges there that are due), once per segment's worth of turns.
  LogStatus finish() noexcept;
  /// Bytes written so far.
  [[nodiscard]] std::size_t written() const noexcept { return written_; }

 private:
  friend class TurnLog;
  void drop() noexcept;  // aborts an unfinished record and unpins
  TurnLog* log_ = nullptr;
  ExchangeRef exchange_{};
  std::uint64_t position_ = 0;
  std::size_t reserved_ = 0;
  std::size_t written_ = 0;
  std::uint32_t process_ = 0;  // the process slot whose pin this turn holds
  bool opens_ahead_ = false;   // its record took the middle of its segment: finish() opens the next one
  std::uint64_t thread_slot_ = 0;  // the exchange's thread slot (thread slots never move)
};

/// Counters kept by the log (relaxed; approximate while threads run).
struct LogStats {
  std::uint64_t exchanges_begun = 0;     ///< ok results of begin_exchange
  std::uint64_t duplicates = 0;          ///< duplicate results
  std::uint64_t busy = 0;                ///< busy results
  std::uint64_t turns_appended = 0;      ///< records published
  std::uint64_t commits = 0;             ///< exchanges committed
  std::uint64_t aborts = 0;              ///< exchanges aborted (incl. stale fence)
  std::uint64_t expiries = 0;            ///< exchanges expired by timeout (reclaims)
  std::uint64_t log_full = 0;            ///< log_full results
  std::uint64_t too_many_in_flight = 0;  ///< too_many_in_flight results
  std::uint64_t thread_table_full = 0;   ///< thread_table_full results
  std::uint64_t segments_opened = 0;     ///< segments opened (including the first, and one prepared ahead: open_ahead_segments_min)
  std::uint64_t segments_recycled = 0;   ///< segments recycled by retention
  std::uint64_t cas_retries = 0;         ///< failed CAS (contention)
};

/// The turn log. Not copyable; holds a view of its region (and owns it after
/// create()).
class TurnLog {
 public:
  /// What happens when the ring is full.
  enum class Retention : std::uint8_t {
    keep_all = 1,        ///< never drop history: appends get log_full
    recycle_oldest = 2,  ///< recycle the oldest segment when nothing pins it
  };

  /// Geometry and policies chosen at init().
  struct Config {
    /// Bytes per segment (multiple of 64, >= 256; at most segment_bytes_max).
    std::uint32_t segment_bytes = 64 * 1024;
    std::uint32_t segment_count = 16;         ///< segments in the ring (>= 2)
    std::uint32_t thread_capacity = 256;      ///< conversation threads the log can know
    /// W: unfinished exchanges per thread, and the dedup window (last W
    /// tickets). A power of two between 2 and 1024.
    std::uint32_t exchanges_per_thread = 16;
    std::uint32_t reader_slots = 64;          ///< snapshots/cursors alive at once
    std::uint64_t exchange_timeout_ns = 30'000'000'000ULL;  ///< open with no progress: expired
    Retention retention = Retention::keep_all;  ///< see Retention
    /// Processes that can join() the log (1 .. process_slots_max), plus
    /// one: slot 0 is shared by every handle that did not join, and what a
    /// process dies holding there is reclaimed only by recover_log(). With
    /// the default 1 nobody can join and the layout has no process table.
    std::uint32_t process_slots = 1;
    /// Append lanes (1 .. append_lanes_max, below segment_count): each lane
    /// appends to a segment of its own, opened in ring order. A thread
    /// appends through lane (c mod append_lanes), c the CPU it runs on
    /// (Linux; elsewhere the order in which threads first append; bare
    /// metal: lane 0), or the lane it chose (set_thread_lane). With one lane
    /// every writer shares the newest segment's pin, fill and record lines;
    /// with as many lanes as cores that append, no two cores do. The cost:
    /// up to append_lanes segments are open at once, partly filled, and a
    /// later turn can land in an older lane's segment (end_position()).
    std::uint32_t append_lanes = 1;
  };

  /// How a handle says which process it is and asks whether another is
  /// alive (weft/process.h).
  using Liveness = weft::Liveness;

  /// Most turns in one exchange.
  static constexpr std::uint32_t turns_per_exchange_max = 8;
  /// Bytes of a record header.
  static constexpr std::size_t record_header_bytes = 64;
  /// Format version written into regions.
  static constexpr std::uint32_t format_version = 4;
  /// Most process slots (Config::process_slots).
  static constexpr std::uint32_t process_slots_max = 1024;
  /// Rings of at least this many segments with one append lane open their
  /// next segment ahead of need ("Append protocol" above), so appends
  /// usually do not wait for a turnover while others fill the newest
  /// segment. The writer that crosses still waits for it, or does it
  /// itself, when the opening ahead is not done by then or did not happen:
  /// its writer was slow or preempted, its middle record was dropped or
  /// finished after the crossing, or something refused it (a reader or
  /// writer in the oldest segment, an unfinished exchange there). The cost:
  /// while a segment is prepared ahead (from the middle of the newest
  /// segment until it fills), retention `recycle_oldest` keeps one segment
  /// fewer: from a quarter of a 4-segment ring's history to 1/64 of a
  /// 64-segment one's. Smaller rings turn over at the crossing only.
  static constexpr std::uint32_t open_ahead_segments_min = 4;
  /// Most append lanes (Config::append_lanes).
  static constexpr std::uint32_t append_lanes_max = 64;
  /// set_thread_lane(): no chosen lane, the CPU's.
  static constexpr std::uint32_t lane_auto = 0xFFFFFFFFu;
#if WEFT_HOSTED
  /// This thread appends through lane (lane mod append_lanes) of every log
  /// from now on, whatever CPU it runs on: for thread-per-core servers that
  /// pin their workers, and for tests. lane_auto goes back to the CPU's.
  static void set_thread_lane(std::uint32_t lane) noexcept;
#endif
  /// Required alignment of a region.
  static constexpr std::size_t region_alignment = 64;
  /// Bound on retries of one call (each means another thread made progress).
  static constexpr std::uint32_t attempts_max = 4096;

  // Limits set by the word size (WEFT_WORD_BITS; docs/EMBEDDED.md). None of
  // these ranges wraps around: at the end the log refuses.
  /// Largest segment: unlimited below 4 GiB with 64-bit words; 256 KiB with
  /// 32-bit words (a segment's record count and payload bytes share a word).
  static constexpr std::uint32_t segment_bytes_max =
      WEFT_WORD_BITS == 32 ? 256u * 1024u : 0xFFFFFFC0u;
  /// Exchanges one thread can begin over the log's life (tickets 1 ..
  /// tickets_max): 2^60 - 1, or 2^28 - 1 (268 million) with 32-bit words;
  /// then begin_exchange says `exhausted`.
  static constexpr std::uint64_t tickets_max =
      WEFT_WORD_BITS == 32 ? (std::uint64_t{1} << 28) - 1 : (std::uint64_t{1} << 60) - 1;
  /// Segments the log can open over its life (the ring reuses them, the
  /// sequence keeps counting): 2^40 - 1, or 2^22 - 1 (4 million) with 32-bit
  /// words; then appends get log_full.
  static constexpr std::uint64_t sequences_max =
      WEFT_WORD_BITS == 32 ? (std::uint64_t{1} << 22) - 1 : (std::uint64_t{1} << 40) - 1;
  /// Largest fencing token begin_exchange accepts: any, or 2^32 - 1 with
  /// 32-bit words (what a 32-bit LockTable issues); larger is invalid_argument.
  static constexpr std::uint64_t fence_max = WEFT_WORD_BITS == 32 ? 0xFFFFFFFFull : ~0ull;

  /// A log with no region yet: every call answers not_initialized until
  /// init(), attach() or create() succeeds.
  TurnLog() noexcept = default;
  /// Frees the region if create() allocated it; a region given to init() or
  /// attach() is the caller's and stays as it is (other views keep using it).
  /// Gives back the process slot if join() took one. Snapshots and writers
  /// of this log must be gone first.
  ~TurnLog();
  /// Not copyable: the object is a view of one region.
  TurnLog(const TurnLog&) = delete;
  /// Not copyable: the object is a view of one region.
  TurnLog& operator=(const TurnLog&) = delete;

  /// Bytes a region needs for `config` (0 if the geometry is invalid).
  [[nodiscard]] static std::size_t region_bytes(const Config& config) noexcept;
  /// Largest payload one turn can carry with `config`.
  [[nodiscard]] static std::size_t payload_bytes_max(const Config& config) noexcept;

  /// Formats `region` (64-byte aligned) as an empty log and attaches to it.
  LogStatus init(void* region, std::size_t bytes, const Config& config, Clock clock) noexcept;
  /// Attaches to a formatted region after validating magic, word size
  /// (word_size_mismatch: made by a build with the other WEFT_WORD_BITS),
  /// version and geometry (bad_region), and size (region_too_small).
  LogStatus attach(void* region, std::size_t bytes, Clock clock) noexcept;
  /// Allocates the region once (the only allocation) and formats it.
  LogStatus create(const Config& config, Clock clock) noexcept;

  /// Takes a process slot for this handle (Config::process_slots > 1): from
  /// then on what this handle holds (segment pins of appends in progress,
  /// reader pins of snapshots, claims and ring transitions) is marked with
  /// the slot, so that when this process dies the survivors reclaim it and
  /// no process waits for ever on a dead one [T10]. `liveness.alive` is how
  /// this handle judges other processes. too_many_processes when every slot
  /// is held by a live process (dead holders are reclaimed first);
  /// invalid_argument for identity 0, no `alive`, or a handle that joined
  /// already; bad_region when the log has a single slot. The slot is given
  /// back by the destructor. One handle per process should join, before it
  /// appends or reads (a turn being written across join() gives back the
  /// pin it took in slot 0); handles that do not join share slot 0.
  LogStatus join(const Liveness& liveness) noexcept;
  /// Reclaims what dead processes left (each joined slot whose process
  /// `alive` says is dead): their segment pins, reader pins, claims and
  /// half-done ring transitions; returns how many processes it reclaimed.
  /// The log does this by itself when something is held too long; calling
  /// it is never needed, only sooner. Needs a joined handle (else 0).
  std::size_t reap() noexcept;
  /// This handle's process slot: 0 until join() succeeded.
  [[nodiscard]] std::uint32_t process_slot() const noexcept { return process_; }

  /// Begins an exchange on `thread` for `request` (the idempotency key; must
  /// not be zero). `fence` is a fencing token (0 = none). Returns ok with a
  /// new ticket, duplicate with the existing ticket (same request id within
  /// the last W tickets), busy (reject_if_busy), too_many_in_flight,
  /// thread_table_full, exhausted (the thread used tickets_max tickets),
  /// invalid_argument (zero ids, bad policy, fence above fence_max),
  /// contended (attempts_max retries); log_full never (begin writes no record).
  BeginResult begin_exchange(const Id& thread, const Id& request, BeginPolicy policy,
                             Token fence = 0) noexcept;
  /// Appends one turn (copied into the log). Any writes the caller made before
  /// are visible to a reader that sees the turn.
  LogStatus append(const ExchangeRef& exchange, Role role, const void* payload,
                   std::size_t payload_bytes, std::uint8_t flags = 0) noexcept;
  /// Starts a streaming turn with room for `reserve_bytes` of payload.
  LogStatus begin_turn(const ExchangeRef& exchange, Role role, std::size_t reserve_bytes,
                       TurnWriter* writer, std::uint8_t flags = 0) noexcept;
  /// Commits the exchange: its turns become visible once every exchange
  /// before it has finished. stale_fence (and the exchange is aborted) when a
  /// newer fencing token began on the thread.
  LogStatus commit(const ExchangeRef& exchange) noexcept;
  /// Aborts the exchange: none of its turns will ever be visible.
  LogStatus abort(const ExchangeRef& exchange) noexcept;
  /// The exchange's state (open, committed, ...), or unknown_exchange.
  LogStatus state(const ExchangeRef& exchange, ExchangeState* out) noexcept;

  /// Fills `out` (capacity `max_turns`) with the thread's visible history in
  /// (ticket, index) order and pins it in `snapshot`. An unknown thread gives
  /// an empty snapshot. buffer_too_small (nothing pinned) when it does not fit.
  LogStatus snapshot(const Id& thread, TurnView* out, std::size_t max_turns,
                     Snapshot* snapshot) noexcept;
  /// The context of `exchange`: the committed turns of every exchange before
  /// its ticket, or not_ready while one of them has not finished [T7]. Counts
  /// as progress of the exchange (its expiry timeout restarts).
  LogStatus context(const ExchangeRef& exchange, TurnView* out, std::size_t max_turns,
                    Snapshot* snapshot) noexcept;
  /// Like context(), waiting (polling the injected clock, yielding) up to
  /// `timeout_ns` for the predecessors to finish; timed_out when they did not.
  LogStatus wait_context(const ExchangeRef& exchange, TurnView* out, std::size_t max_turns,
                         Snapshot* snapshot, std::uint64_t timeout_ns) noexcept;
  /// Visits every committed, visible record in log order from the oldest
  /// retained one (for export and persistence): `visit(context, view)`
  /// returns false to stop. Pinned while it runs. Each thread's cut (its
  /// watermark) is taken at its first record in log order, so what is
  /// visited of each thread is a prefix of its history even while exchanges
  /// keep committing (for the first 64 threads met; records of further
  /// threads are judged one by one). It is not one instant across threads.
  /// With append_lanes > 1 a turn can land behind the walk (in an older
  /// lane's segment): a thread's exchange that began and finished while the
  /// walk ran may then be missed while a later one is visited. Export a
  /// quiet log, or read threads with snapshot(), when that matters.
  LogStatus for_each_committed(bool (*visit)(void* context, const TurnView& view),
                               void* context) noexcept;
  /// Trims the thread's history up to and including `through_ticket` (a
  /// prefix; clamped to the finished prefix). `busy` (nothing trimmed) while
  /// an exchange of the thread is open: its context is every turn before it.
  /// Memory is reclaimed when the segments are recycled. A trim concurrent
  /// with a begin on the same thread takes effect before that begin.
  LogStatus trim_thread(const Id& thread, std::uint64_t through_ticket) noexcept;
  /// The counters.
  [[nodiscard]] LogStats stats() const noexcept;
  /// The log's end: every record reserved so far (complete or still being
  /// written) has a TurnView::position below it, and with one append lane
  /// every later record will be at or above it (positions grow with the
  /// log; with more lanes a later record can land below it, in an older
  /// lane's segment). What a durability watermark is measured in
  /// (weft/mapping.h, sync_log). 0 before the first append or with no
  /// region.
  [[nodiscard]] std::uint64_t end_position() const noexcept;
  /// True once init(), attach() or create() succeeded.
  [[nodiscard]] bool attached() const noexcept { return region_ != nullptr; }
  /// The region the log is attached to (nullptr before init/attach/create).
  [[nodiscard]] const void* region() const noexcept { return region_; }
  /// The clock the log reads.
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  friend class Snapshot;
  friend class TurnWriter;
  struct Owned {
    void operator()(unsigned char* p) const noexcept;
  };
  friend struct detail::LogEngine;
  unsigned char* region_ = nullptr;
  detail::LogGeometry geometry_{};  // region_'s layout, validated when it was set
  Clock clock_{};
  std::uint32_t process_ = 0;  // process slot (join), 0: the shared one
  Liveness liveness_{};
  std::unique_ptr<unsigned char, Owned> owned_;
};

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
