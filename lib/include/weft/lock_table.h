// weft/lock_table.h: an atomic, fixed-capacity session-lock table.
//
// A LockTable replaces "dict + mutex" session locking: try_acquire / release
// of per-session leases with fencing tokens, exclusive and shared modes,
// reentrancy, expiry of stale holders and cancel requests. It lives in a
// region of bytes the caller hands over (or allocates once in create()), uses
// offsets only, and never allocates after initialisation.
//
// ## Layout
//
//   region: [ Header: 10 cache lines ][ Slot 0 ][ Slot 1 ] ... [ Slot capacity-1 ]
//           [ process slot 1 ] ... [ process slot process_slots-1 ]  (if any)
//   Header line 0: magic "WEFTLOCK", format version, word bits, capacity,
//                  probe window, region bytes, process slots (written once
//                  by init()).
//   Header line 1: next_token (one fetch_add per new holder; with 32-bit
//                  words a compare-exchange that stops at tokens_max).
//   Header lines 2-9: counters (acquisitions, busy, expiries, CAS retries,
//                  ...), one line per stripe: an operation counts on the
//                  stripe of its slot (index mod counter_stripes), so
//                  threads on different sessions seldom share a line.
//   Slot (64 bytes, one cache line):
//     state     versioned state word (64 bits, or 32 with WEFT_WORD_BITS=32),
//               layout below
//     deadline  lease deadline on the injected clock, ns (with 32-bit words two
//               halves, written only while the state says "being written")
//     token     fencing token of the current holder(s)
//     owner     owner id of the (first) holder
//     key_hi, key_lo   the session key
//     transit   process slot + 1 of a handle writing the deadline (joined
//               processes only; see "Progress and bounds")
//
//   state word:  63 ............ 16 | 15 ..... 5 |    4    |   3    | 2 .. 0
//                version (48 bits)  | count (11) | writing | cancel | mode
//   (32-bit words: version 19 bits | count 8 | writing | cancel | mode)
//
// A session key lives in one slot of its *probe window*: the `probe_window`
// slots that follow hash(key) (wrapping). Every change of the state word adds
// one to its version, so a compare-and-swap that read an old state fails even
// if mode and count came back to the same values (no ABA; the version wraps
// after 2^48 changes of one slot, 2^19 with 32-bit words: version_bits).
//
// ## State machine of a slot
//
//   empty --claim CAS--> claiming --key written--> keyed --verified--> exclusive/shared
//     ^                                              |                    |   |
//     +------------------ backed out ----------------+                    |   | count+1/-1,
//     +------------------ last release -----------------------------------+   | renew, cancel
//                                                                             |
//   exclusive/shared --deadline passed, takeover CAS--> keyed --> exclusive/shared (new token)
//   exclusive/shared of another key, expired --eviction CAS--> claiming
//
// - `claiming`: a thread won the slot and is writing the key; nobody else
//   changes the slot; readers skip it (its key is not known yet).
// - `keyed`: the key is readable, the holder fields are being written. A new
//   claim verifies here that no other slot of the window holds or is keying
//   the same key (below). A takeover passes through `keyed` too.
// - `exclusive` / `shared`: held. `count` is the reentrancy depth of the
//   exclusive holder, or the number of shared holders. `cancel` is the flag
//   request_cancel() raises; it clears when the slot leaves the held state.
// - `writing` (a bit on a held state): the holder side is changing the
//   deadline (renew, or a reentry / join that extends it). The CAS that sets
//   the bit is the operation's linearization point; the deadline store and the
//   store that clears the bit follow. The deadline and the state word cannot
//   change in one atomic step (two 64-bit words; 128-bit atomics are not
//   lock-free everywhere), so a reader never trusts a deadline read while
//   `writing` is set, nor one whose state changed under it.
//
// Only the thread that moved a slot to claiming, keyed or writing writes its
// side words. While a slot is held its deadline only grows (renew and joins
// take the maximum), so a takeover decided on a validated deadline is right.
//
// ## Insert-if-absent without a lock (no duplicate keys)
//
// Two acquirers of an absent key may claim two different empty slots of its
// window. After storing `keyed`, each scans the window again: a held slot with
// the key makes it back out; a keyed slot with the key earlier in the window
// makes it back out; one later in the window makes it wait until that one has
// resolved (published or backed out). The store of `keyed` and the loads of
// the scan are sequentially consistent (pairing P3), so of two concurrent
// claimers at least one sees the other: exactly one key survives.
//
// Scans stop at the home slot's *reach*: 1 + the largest window offset at
// which a key with that home was ever claimed. A claimer raises the reach
// (a seq_cst CAS-max, never lowered) before its claim CAS and reads it again
// after its `keyed` store, so of two racing claimers the one whose raise came
// second in the seq_cst order reads a reach that covers the other's slot,
// whose claim came before that raise. In a table not near full most keys lie
// at their home, the reach stays 1 and an acquire or release reads one
// slot instead of the window, twice.
//
// ## Memory ordering (each order in the code names one of these)
//
// - P1 publish: every state-word operation is seq_cst; a new holder writes
//   key, owner, token and deadline before the state store that publishes the
//   held state, and a reader loads the state before it reads those words.
// - P2 validation: side words are stored with release and loaded with
//   acquire; a reader that read side words re-reads the state word (or CASes
//   it) and trusts the side words only if the state did not change. A reader
//   that saw a newer side word sees the state change that preceded it.
// - P3 verification: the reach raise, the `keyed` store, the reach read and
//   the verification loads are seq_cst (see above).
//
// ## Guarantees (contracts L1-L9)
//
// L1 one exclusive holder or many shared holders per session; L2 release /
// renew with a wrong or stale token fail and change nothing; L3 tokens come
// from one table-wide counter, so they strictly increase per session, across
// holders and across slot reuse; L4 an acquire after the deadline takes over
// (new token, the old one is stale); L5 sessions interact only through the
// probe window's capacity; L6 the exclusive holder re-acquiring gets depth+1;
// L7 request_cancel raises a flag the holder polls, cleared on release;
// L8 a full window gives table_full, released and expired slots are reused
// (versioned words, no ABA); L9 every operation takes effect at one CAS,
// store or (for results that change nothing) load of the state word, with
// the clock read once per call.
//
// ## Progress and bounds
//
// Operations on different keys never wait for each other. An operation that
// finds its own key in `keyed` or `writing` (another thread is half-way
// through acquiring, taking over or extending that key: a handful of stores)
// waits for it with a bounded spin (`transition_spins_max`, yielding the CPU). Every retry loop is
// bounded by `attempts_max`; a retry happens only when another thread changed
// the slot. Exhausting a bound returns `contended` and changes nothing.
// Holders that die are handled by expiry (their lease ends). A thread that
// stops inside the few stores of a transition (claiming/keyed, or the
// `writing` bit of a renew or reentry) makes calls on that one key wait for
// it, up to transition_spins_max yields each, then answer `contended`.
//
// ## Processes
//
// Several processes may share a table (weft/mapping.h). A process killed
// inside a transition would leave its key in transition for good. With
// Config::process_slots > 1 each process join()s with a Liveness: its
// claiming and keyed states carry its process slot in the count field (the
// same CAS that starts the transition, so there is no unmarked moment), and
// before it sets `writing` it marks the slot's `transit` word. A call that
// waits on a transition too long (64 rounds), or finds no free slot, asks
// whether the mover's process lives; if not, it reaps it (detail/
// process_table.h): claimed and keyed slots go back to empty, `writing` is
// cleared. The lease of a dead holder still ends at its deadline (L4). A
// process that did not join marks with the shared slot 0, which is never
// reaped (docs/DURABILITY.md, "Liveness across processes").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/clock.h"
#include "weft/id.h"
#include "weft/process.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

namespace detail {
struct LockEngine;
}  // namespace detail

/// Identifies who holds a lease (a request, worker or process). 0 is invalid.
using OwnerId = std::uint64_t;
/// A fencing token: strictly increasing per session across holders. A
/// downstream store that remembers the highest token it saw can refuse a
/// stale writer. 0 is never a valid token.
using Token = std::uint64_t;

/// How a session is held.
enum class LockMode : std::uint8_t {
  exclusive = 1,  ///< one holder (reentrant for the same owner)
  shared = 2,     ///< any number of shared holders, no exclusive one
};

/// The result of every LockTable call. [[nodiscard]]: look at it.
enum class [[nodiscard]] LockStatus : std::uint8_t {
  ok = 0,            ///< init / attach / create / request_cancel / poll succeeded
  acquired,          ///< try_acquire: the caller holds the session (token, depth)
  busy,              ///< try_acquire: held by someone else (see holder fields)
  table_full,        ///< try_acquire: every slot of the key's probe window is held or
                     ///< being claimed (a claim may still back out: worth a retry)
  released,          ///< release: done (depth_left tells what remains)
  renewed,           ///< renew: the lease now ends at deadline_ns
  not_held,          ///< release / renew / cancel: the session has no holder
  stale,             ///< the token is older than the session's current holder's
                     ///< (tokens are table-wide: an older token of another session
                     ///< reads as stale too), or (renew) the lease already expired
  not_owner,         ///< the token is newer than the current holder's: never this
                     ///< session's
  too_many_holders,  ///< try_acquire: depth or shared holders at holders_max
  invalid_argument,  ///< zero owner, zero or huge lease, zero token, bad mode
  contended,         ///< a documented retry bound ran out; nothing changed; retry
  not_initialized,   ///< the table has no region (init/attach/create not done)
  region_too_small,  ///< init / attach: fewer bytes than region_bytes()
  bad_region,        ///< attach: not a LockTable region (magic, version, geometry),
                     ///< or init: null or misaligned region, zero capacity
  out_of_memory,     ///< create: the one allocation failed
  exhausted,         ///< try_acquire: every fencing token was issued (only with
                     ///< 32-bit words, after 2^32 - 1 tokens): format the table again
  word_size_mismatch,  ///< attach: the region was formatted by a build with the
                       ///< other word size (WEFT_WORD_BITS 32 vs 64)
  too_many_processes,  ///< join: every process slot is held by a live process
};

/// A short lowercase name of a status ("busy"), for messages.
[[nodiscard]] const char* to_string(LockStatus status) noexcept;

/// What try_acquire() tells the caller.
struct [[nodiscard]] AcquireResult {
  LockStatus status = LockStatus::not_initialized;  ///< acquired, busy, ...
  Token token = 0;             ///< acquired: the fencing token to present later
  std::uint32_t depth = 0;     ///< acquired: exclusive depth or shared holder count
  LockMode holder_mode = LockMode::exclusive;  ///< busy: how it is held
  OwnerId holder = 0;          ///< busy: owner of the (first) holder
  std::uint64_t holder_until_ns = 0;  ///< busy: when that lease ends
};

/// What release() tells the caller.
struct [[nodiscard]] ReleaseResult {
  LockStatus status = LockStatus::not_initialized;  ///< released, stale, ...
  std::uint32_t depth_left = 0;  ///< released: remaining depth / holders (0 = free)
};

/// What renew() tells the caller.
struct [[nodiscard]] RenewResult {
  LockStatus status = LockStatus::not_initialized;  ///< renewed, stale, ...
  std::uint64_t deadline_ns = 0;  ///< renewed: the new deadline
};

/// What poll_cancel() tells the holder.
struct [[nodiscard]] CancelPoll {
  LockStatus status = LockStatus::not_initialized;  ///< ok, stale, not_owner, not_held
  bool requested = false;  ///< ok: somebody called request_cancel()
};

/// A consistent view of one session (inspect()).
struct LockInfo {
  /// ok: the fields below are one consistent view; contended: another
  /// thread's transition of this key outlasted the wait bound (retry);
  /// not_initialized: no region.
  LockStatus status = LockStatus::not_initialized;
  bool held = false;           ///< false: nobody holds the session
  LockMode mode = LockMode::exclusive;  ///< held: how
  OwnerId owner = 0;           ///< held: owner of the (first) holder
  Token token = 0;             ///< held: current fencing token
  std::uint64_t deadline_ns = 0;  ///< held: lease deadline (may be in the past)
  std::uint32_t count = 0;     ///< held: depth or number of shared holders
  bool cancel_requested = false;  ///< held: the cancel flag
};

/// Counters kept by the table (relaxed; approximate while threads run).
struct LockStats {
  std::uint64_t acquisitions = 0;   ///< acquired results (including reentry/joins)
  std::uint64_t releases = 0;       ///< released results
  std::uint64_t busy = 0;           ///< busy results (contention users asked for)
  std::uint64_t expiries = 0;       ///< takeovers of expired leases and evictions
  std::uint64_t cas_retries = 0;    ///< failed CAS on slot words (contention)
  std::uint64_t table_full = 0;     ///< table_full results
  std::uint64_t backouts = 0;       ///< claims abandoned for a concurrent claim of the same key
};

/// The session-lock table. Not copyable; the object holds a view of the region
/// (and owns it after create()).
class LockTable {
 public:
  /// Geometry chosen at init().
  struct Config {
    std::uint32_t capacity = 1024;  ///< number of slots (sessions held at once)
    /// Slots a key may use, starting at its hash: more tolerates more
    /// clustering before table_full, but a lookup scans more. 0 picks
    /// min(capacity, 32).
    std::uint32_t probe_window = 0;
    /// Processes that can join() the table (1 .. process_slots_max), plus
    /// one: slot 0 is shared by every handle that did not join, and what a
    /// process dies holding there (a key in transition) is never reclaimed.
    /// With the default 1 nobody can join and the layout has no process
    /// table (docs/DURABILITY.md, "Liveness across processes").
    std::uint32_t process_slots = 1;
  };

  /// Format version written into regions (attach refuses others).
  static constexpr std::uint32_t format_version = 4;
  /// Most process slots (Config::process_slots): 1024, or 256 with 32-bit
  /// words (a claim carries its process slot in the holder count).
  static constexpr std::uint32_t process_slots_max = WEFT_WORD_BITS == 32 ? 256 : 1024;
  /// Bytes of one process slot (Config::process_slots - 1 of them follow the slots).
  static constexpr std::size_t process_slot_bytes = 64;
  /// Most reentrant depth / shared holders of one session (an 11-bit count;
  /// 8-bit with 32-bit words).
  static constexpr std::uint32_t holders_max = WEFT_WORD_BITS == 32 ? 255 : 2047;
  /// Fencing tokens a table issues over its life: 2^64 - 1 (never runs out),
  /// or with 32-bit words 2^32 - 1, after which try_acquire says `exhausted`
  /// instead of a token that would wrap. Tokens never wrap around.
  static constexpr std::uint64_t tokens_max = WEFT_WORD_BITS == 32 ? 0xFFFFFFFFull : ~0ull;
  /// A slot's state word carries a version against ABA: 48 bits (2^48
  /// transitions of one slot before it repeats), or 19 with 32-bit words
  /// (524,288 transitions: a thread preempted between reading a slot and
  /// its compare-exchange for that many transitions of that one slot could
  /// be fooled; see docs/EMBEDDED.md).
  static constexpr std::uint32_t version_bits = WEFT_WORD_BITS == 32 ? 19 : 48;
  /// Largest lease accepted (about 146 years): keeps now + lease in range.
  static constexpr std::uint64_t lease_max_ns = std::uint64_t{1} << 62;
  /// Bound on retries of one call; each retry means another thread changed
  /// a slot the call was working on.
  static constexpr std::uint32_t attempts_max = 4096;
  /// Bound on the spins (each yields the CPU) a call waits for another
  /// thread's transition of the *same* key (keyed, or the writing bit) to end.
  static constexpr std::uint32_t transition_spins_max = 1u << 20;
  /// Required alignment of a region (slots are cache lines).
  static constexpr std::size_t region_alignment = 64;

  /// A table with no region yet: every call answers not_initialized until
  /// init(), attach() or create() succeeds.
  LockTable() noexcept = default;
  /// Frees the region if create() allocated it; a region given to init() or
  /// attach() is the caller's and stays as it is (other views keep using it).
  /// Gives back the process slot if join() took one.
  ~LockTable();
  /// Not copyable: the object is a view of one region.
  LockTable(const LockTable&) = delete;
  /// Not copyable: the object is a view of one region.
  LockTable& operator=(const LockTable&) = delete;

  /// Lines of statistics counters in the header: an operation counts on the
  /// line of the slot it worked on (slot index mod counter_stripes), so
  /// threads on different sessions seldom share one; stats() sums them.
  static constexpr std::size_t counter_stripes = 8;
  /// Bytes of the region header (two cache lines and the counter stripes).
  static constexpr std::size_t header_bytes = 128 + 64 * counter_stripes;
  /// Bytes of one slot (one cache line).
  static constexpr std::size_t slot_bytes = 64;
  /// Bytes a region must have for `capacity` slots; 0 when that is more than
  /// the address space holds (32-bit targets): init, attach and create refuse
  /// such a capacity.
  [[nodiscard]] static constexpr std::size_t region_bytes(std::uint32_t capacity) noexcept {
    const std::uint64_t bytes = header_bytes + std::uint64_t{capacity} * slot_bytes;
    return bytes > SIZE_MAX ? 0 : static_cast<std::size_t>(bytes);
  }
  /// Bytes a region must have for `config` (its capacity and process slots);
  /// 0 for more than the address space or process_slots out of range.
  [[nodiscard]] static constexpr std::size_t region_bytes(const Config& config) noexcept {
    if (config.process_slots == 0 || config.process_slots > process_slots_max) return 0;
    const std::uint64_t bytes = header_bytes + std::uint64_t{config.capacity} * slot_bytes +
                                std::uint64_t{config.process_slots - 1} * process_slot_bytes;
    return bytes > SIZE_MAX ? 0 : static_cast<std::size_t>(bytes);
  }
  /// Formats `region` (64-byte aligned, at least region_bytes(capacity)) as an
  /// empty table and attaches to it. Not concurrent with any other use.
  LockStatus init(void* region, std::size_t bytes, const Config& config,
                  Clock clock) noexcept;
  /// Attaches to a region formatted by init() (possibly by another process),
  /// after validating magic, word size (word_size_mismatch), version and
  /// geometry (bad_region) against `bytes` (region_too_small).
  LockStatus attach(void* region, std::size_t bytes, Clock clock) noexcept;
  /// Allocates a region once (the only allocation) and formats it.
  LockStatus create(const Config& config, Clock clock) noexcept;

  /// How a handle says which process it is and asks whether another is
  /// alive (weft/process.h).
  using Liveness = weft::Liveness;
  /// Takes a process slot for this handle (Config::process_slots > 1): a
  /// slot this handle's calls are moving through a transition (claimed,
  /// keyed, a deadline being written) is then marked with it, and when this
  /// process dies mid-transition the survivors undo it instead of finding
  /// the key `contended` for ever. Leases themselves need no slot: a dead
  /// holder's lease expires (L4). too_many_processes when every slot is held
  /// by a live process (dead holders are taken over first); invalid_argument
  /// for identity 0, no `alive`, or a handle that joined already; bad_region
  /// when the table has a single slot. The destructor gives the slot back.
  LockStatus join(const Liveness& liveness) noexcept;
  /// Reclaims what dead processes left mid-transition; returns how many
  /// processes it reclaimed. The table does this by itself when a key stays
  /// in transition too long. Needs a joined handle (else 0).
  std::size_t reap() noexcept;
  /// This handle's process slot: 0 until join() succeeded.
  [[nodiscard]] std::uint32_t process_slot() const noexcept { return process_; }

  /// Tries to take `key` for `owner` in `mode` for `lease_ns`. Never waits for
  /// a lease: a held session is `busy` at once. It waits (bounded) only for
  /// another thread that is a few stores into acquiring, taking over or
  /// extending the same key. Returns acquired (token, depth), busy (holder,
  /// until), table_full, too_many_holders, invalid_argument, contended, and
  /// with 32-bit words exhausted (tokens_max tokens were issued).
  /// Reentrancy is by owner id: give each concurrent request its own owner id
  /// (two requests sharing one would both get the session). An expired lease
  /// of another session in the window may be reclaimed to make room, even by
  /// a call that ends busy or contended; its holder then reads not_held.
  /// The exclusive holder re-acquiring (any mode) nests: same token, depth+1,
  /// deadline = max(deadline, now + lease). A shared request joins shared
  /// holders: same token, count+1. An expired lease is taken over: new token.
  AcquireResult try_acquire(const Id& key, OwnerId owner, LockMode mode,
                            std::uint64_t lease_ns) noexcept;
  /// Gives back one level (exclusive depth or one shared holder). The slot is
  /// free when the count reaches 0. A stale or foreign token changes nothing.
  ReleaseResult release(const Id& key, Token token) noexcept;
  /// Extends the lease to max(deadline, now + lease_ns) (never shortens).
  /// `stale` when the deadline already passed: an expired lease cannot revive.
  RenewResult renew(const Id& key, Token token, std::uint64_t lease_ns) noexcept;
  /// Raises the session's cancel flag (ok), or not_held.
  LockStatus request_cancel(const Id& key) noexcept;
  /// Lets the holder with `token` see whether cancel was requested.
  CancelPoll poll_cancel(const Id& key, Token token) noexcept;
  /// A consistent view of `key`'s slot (for diagnostics and tests); see
  /// LockInfo::status. It waits out a transition of the key for at most
  /// attempts_max spins (not transition_spins_max), then says contended.
  [[nodiscard]] LockInfo inspect(const Id& key) noexcept;
  /// The counters.
  [[nodiscard]] LockStats stats() const noexcept;
  /// Slots in the table (0 before init).
  [[nodiscard]] std::uint32_t capacity() const noexcept;
  /// Probe window (0 before init).
  [[nodiscard]] std::uint32_t probe_window() const noexcept;
  /// The clock the table reads.
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }
  /// True once init(), attach() or create() succeeded.
  [[nodiscard]] bool attached() const noexcept { return region_ != nullptr; }
  /// The region the table is attached to (nullptr before init/attach/create):
  /// what another handle of this process attaches to.
  [[nodiscard]] const void* region() const noexcept { return region_; }

 private:
  struct Owned {
    void operator()(unsigned char* p) const noexcept;
  };
  friend struct detail::LockEngine;
  unsigned char* region_ = nullptr;
  Clock clock_{};
  std::uint32_t process_ = 0;  // process slot (join), 0: the shared one
  Liveness liveness_{};
  std::unique_ptr<unsigned char, Owned> owned_;
};

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
