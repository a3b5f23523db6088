// LockTable implementation. The design essay (layout, state machine,
// memory-ordering pairings P1-P3, bounds) is at the top of weft/lock_table.h;
// every memory order below names its pairing.
#include "weft/lock_table.h"

#include <cassert>
#include <cstring>
#include <new>

#include "weft/atomic.h"
#include "detail/backoff.h"
#include "detail/mutants.h"
#include "detail/process_table.h"
#include "detail/region.h"
#include "detail/word.h"

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace {

using u64 = std::uint64_t;
using u32 = std::uint32_t;
using detail::W;     // the state word: 64 bits, or 32 (WEFT_WORD_BITS=32)
using detail::Wide;  // a 64-bit value only loaded and stored
using detail::ProcessSlot;
using detail::ProcessTable;
static_assert(LockTable::process_slots_max <= detail::process_slots_max, "one bound on process slots");
static_assert(LockTable::process_slots_max - 1 <= LockTable::holders_max,
              "a claiming or keyed state carries its process slot in the count field");
static_assert(LockTable::process_slot_bytes == sizeof(ProcessSlot), "a process slot is one cache line");

constexpr u64 magic_value = 0x4B434F4C54464557ULL;  // "WEFTLOCK" little-endian
constexpr auto mo_seq_cst = std::memory_order_seq_cst;
constexpr auto mo_acquire = std::memory_order_acquire;
constexpr auto mo_release = std::memory_order_release;
constexpr auto mo_relaxed = std::memory_order_relaxed;
constexpr auto mo_acq_rel = std::memory_order_acq_rel;

WEFT_ASSERT_LOCK_FREE(W);
WEFT_ASSERT_LOCK_FREE(u32);

// ---- state word --------------------------------------------------------
enum Mode : W { mode_empty = 0, mode_claiming = 1, mode_keyed = 2,
                  mode_exclusive = 3, mode_shared = 4 };
constexpr W mode_mask = 7;
constexpr W cancel_bit = W{1} << 3;
constexpr W writing_bit = W{1} << 4;
// 64-bit words: version 48 | count 11 | writing | cancel | mode 3.
// 32-bit words: version 19 | count 8 | writing | cancel | mode 3.
constexpr int count_shift = 5;
constexpr int count_bits = WEFT_WORD_BITS == 32 ? 8 : 11;
constexpr W count_mask = ((W{1} << count_bits) - 1) << count_shift;
constexpr int version_shift = count_shift + count_bits;

static_assert(LockTable::holders_max == (count_mask >> count_shift),
              "holders_max must be the largest count the state word can hold");
static_assert(LockTable::version_bits == WEFT_WORD_BITS - version_shift,
              "version_bits must be what the state word leaves for the version");
static_assert(count_shift + count_bits == version_shift,
              "count field must end where the version begins");

constexpr W mode_of(W s) { return s & mode_mask; }
constexpr u32 count_of(W s) { return static_cast<u32>((s & count_mask) >> count_shift); }
constexpr bool is_held(W s) { return mode_of(s) == mode_exclusive || mode_of(s) == mode_shared; }
constexpr bool has_key(W s) { return is_held(s) || mode_of(s) == mode_keyed; }
constexpr bool in_transition(W s) { return mode_of(s) == mode_keyed || (s & writing_bit) != 0; }
// The next state: version + 1, with the given fields.
constexpr W next_state(W s, W mode, u32 count, W flags) {
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_SLOT_REUSE_ABA)
  return (s >> version_shift) << version_shift |  // MUTANT: no version bump
#else
  return ((s >> version_shift) + 1) << version_shift |
#endif
         (static_cast<W>(count) << count_shift) | flags | mode;
}
constexpr W held_mode(LockMode m) { return m == LockMode::shared ? mode_shared : mode_exclusive; }
constexpr LockMode public_mode(W s) {
  return mode_of(s) == mode_shared ? LockMode::shared : LockMode::exclusive;
}

// ---- region layout -----------------------------------------------------
// The statistics, one line per stripe: an operation counts on the stripe of
// the slot it worked on (slot index mod counter_stripes), so threads working
// on different sessions seldom share a counter's line; stats() sums them.
struct alignas(64) Counters {
  weft::atomic<W> acquisitions;
  weft::atomic<W> releases;
  weft::atomic<W> busy;
  weft::atomic<W> expiries;
  weft::atomic<W> cas_retries;
  weft::atomic<W> table_full;
  weft::atomic<W> backouts;
};
static_assert(sizeof(Counters) == 64, "a counter stripe is one cache line");
static_assert((LockTable::counter_stripes & (LockTable::counter_stripes - 1)) == 0, "stripes: a power of two");

struct alignas(64) Header {
  Wide magic;
  weft::atomic<u32> format_version;
  weft::atomic<u32> word_bits;
  weft::atomic<u32> capacity;
  weft::atomic<u32> probe_window;
  Wide region_bytes;
  weft::atomic<u32> process_slots;  // Config::process_slots (1: no process table)
  alignas(64) weft::atomic<W> next_token;  // the last token issued
  Counters counters[LockTable::counter_stripes];
};
static_assert(sizeof(Header) == LockTable::header_bytes, "header: two lines and the counter stripes");

struct alignas(64) Slot {
  weft::atomic<W> state;
  Wide deadline;  // written while the state is claiming/keyed or has `writing`
  weft::atomic<W> token;
  Wide owner;
  Wide key_hi;
  Wide key_lo;
  // The process slot + 1 of the handle writing this slot's deadline (the
  // `writing` transition of a held slot), taken before the CAS that sets
  // `writing` and given back after it was cleared; 0: none. Claiming and
  // keyed states carry their process slot in the count field instead.
  weft::atomic<W> transit;
  // Of the keys whose home is this slot: 1 + the largest window offset
  // at which one was ever claimed (0: none yet). Raised (seq_cst) before
  // the claim's CAS and never lowered, so a key lies at an offset below its
  // home's reach once its claim can be seen: lookups stop there instead of
  // reading the whole probe window.
  weft::atomic<W> reach;
};
static_assert(sizeof(Slot) == LockTable::slot_bytes, "a slot is one cache line");
static_assert(LockTable::region_alignment == detail::region_alignment, "one alignment for every region");

Header& header_of(unsigned char* region) { return *detail::region_part<Header>(region); }
Slot* slots_of(unsigned char* region) { return detail::region_part<Slot>(region, sizeof(Header)); }

void bump(weft::atomic<W>& counter) { counter.fetch_add(1, mo_relaxed); }

// A slot read whose side words are known to belong to `state` (pairing P2).
struct View {
  W state = 0;
  Id key{};
  u64 deadline = 0;
  u64 token = 0;
  u64 owner = 0;
};

// Reads a slot's side words between two loads of its state; false when the
// state changed in between (the caller re-reads). Loads are seq_cst on the
// state (P1, P3) and acquire on side words (P2).
bool read_view(const Slot& slot, View& view) {
  view.state = slot.state.load(mo_seq_cst);
  if (!has_key(view.state)) return true;
  view.key.hi = slot.key_hi.load(mo_acquire);
  view.key.lo = slot.key_lo.load(mo_acquire);
  view.deadline = slot.deadline.load(mo_acquire);
  view.token = slot.token.load(mo_acquire);
  view.owner = slot.owner.load(mo_acquire);
  return slot.state.load(mo_seq_cst) == view.state;
}

// Counts down the attempts one call may make (LockTable::attempts_max).
struct Budget {
  u32 left = LockTable::attempts_max;
  bool spend() {
    if (left == 0) return false;
    left--;
    return true;
  }
};

// What a scan of the probe window found for a key.
struct Scan {
  enum Kind { contended, found, transition, absent } kind = absent;
  u32 slot = 0;          // found / transition: where
  View view;             // found / transition: the validated read
  u32 candidate = 0;     // absent: first claimable slot, if has_candidate
  W candidate_state = 0;
  bool has_candidate = false;
  bool candidate_expired = false;  // the candidate holds another key, expired
};

}  // namespace

const char* to_string(LockStatus status) noexcept {
  switch (status) {
    case LockStatus::ok: return "ok";
    case LockStatus::acquired: return "acquired";
    case LockStatus::busy: return "busy";
    case LockStatus::table_full: return "table_full";
    case LockStatus::released: return "released";
    case LockStatus::renewed: return "renewed";
    case LockStatus::not_held: return "not_held";
    case LockStatus::stale: return "stale";
    case LockStatus::not_owner: return "not_owner";
    case LockStatus::too_many_holders: return "too_many_holders";
    case LockStatus::invalid_argument: return "invalid_argument";
    case LockStatus::contended: return "contended";
    case LockStatus::not_initialized: return "not_initialized";
    case LockStatus::region_too_small: return "region_too_small";
    case LockStatus::bad_region: return "bad_region";
    case LockStatus::out_of_memory: return "out_of_memory";
    case LockStatus::exhausted: return "exhausted";
    case LockStatus::word_size_mismatch: return "word_size_mismatch";
    case LockStatus::too_many_processes: return "too_many_processes";
  }
  return "unknown";
}

// ---- the internal engine -------------------------------------------------
// Kept out of the public header: free functions over (region, clock).
namespace detail {

struct LockEngine {
  unsigned char* region;
  Header& header;
  Slot* slots;
  u32 capacity;
  u32 window;

  // The counter stripe of slot `index` (the Counters comment above).
  Counters& stat(u64 index) { return header.counters[index & (LockTable::counter_stripes - 1)]; }

  u64 processes = 1;                            // process slots, counting slot 0
  u64 proc = 0;                                 // this handle's process slot
  const LockTable::Liveness* liveness = nullptr;  // how this handle judges others (joined only)
  detail::ReapPacing reaped;                    // how often this call asks whether a holder lives
  // Waits (spins or retries) on a slot another process is moving before
  // asking whether that process lives.
  static constexpr u32 reap_after = 64;

  explicit LockEngine(unsigned char* r)
      : region(r), header(header_of(r)), slots(slots_of(r)),
        capacity(header.capacity.load(mo_relaxed)),
        window(header.probe_window.load(mo_relaxed)),
        processes(header.process_slots.load(mo_relaxed)) {
    assert(capacity > 0);
    assert(window > 0 && window <= capacity);
  }
  // An engine acting for `table`'s handle: its process slot and liveness.
  explicit LockEngine(LockTable& table) : LockEngine(table.region_) {
    proc = table.process_;
    liveness = table.process_ != 0 ? &table.liveness_ : nullptr;
  }

  // ---- processes [L4, T10] ---------------------------------------------------
  ProcessTable process_table() {
    return ProcessTable(detail::region_part<ProcessSlot>(region, sizeof(Header) + u64{capacity} * sizeof(Slot)),
                        processes, proc, liveness);
  }
  void unmark(u32 index) { slots[index].transit.store(0, mo_release); }
  // The process slot moving slot `index` (a claim or keyed state carries
  // it in its count; a deadline being written in `transit`), or 0 (none,
  // or the shared slot).
  u64 mover(u32 index) {
    const W s = slots[index].state.load(mo_seq_cst);
    if (mode_of(s) == mode_claiming || mode_of(s) == mode_keyed) return count_of(s);
    const W t = slots[index].transit.load(mo_acquire);
    return t == 0 ? 0 : t - 1;
  }
  // ProcessTable::reap_for with this table's cleaning (`reaped`: a reap
  // this call found nobody).
  bool reap_for(u64 holder) {
    return process_table().reap_for(holder, reaped, [this](u64 p) { clean_process(p); });
  }
  bool reap_again() {
    return process_table().reap_again(reaped, [this](u64 p) { clean_process(p); });
  }
  u64 reap_dead() {
    return process_table().reap_dead([this](u64 p) { clean_process(p); });
  }
  // Undoes what dead process `p` left mid-transition (only its reaper runs
  // this, and `p` never writes again): a claimed or keyed slot goes back to
  // empty (a takeover's expired lease with it: its holder's token is stale
  // either way); a deadline being written keeps the value the word holds
  // (the old one, the new one, or with 32-bit words possibly a mix of the
  // two halves, never later than the new one: a lease may end early, which
  // fencing tokens make safe, never late). Bound: capacity slots.
  void clean_process(u64 p) {
    for (u32 i = 0; i < capacity; i++) {
      Slot& slot = slots[i];
      W s = slot.state.load(mo_seq_cst);
      if ((mode_of(s) == mode_claiming || mode_of(s) == mode_keyed) && count_of(s) == p) {
        slot.state.compare_exchange_strong(s, next_state(s, mode_empty, 0, 0), mo_seq_cst);  // P1
        s = slot.state.load(mo_seq_cst);
      }
      // Also a mark left by another thread of `p` that was extending an
      // earlier lease of this slot (its `writing` may be long gone).
      W holder = static_cast<W>(p + 1);
      if (slot.transit.load(mo_acquire) != holder) continue;
      if ((s & writing_bit) != 0) {
        slot.state.compare_exchange_strong(s, next_state(s, mode_of(s), count_of(s), s & cancel_bit), mo_seq_cst);
      }
      slot.transit.compare_exchange_strong(holder, 0, mo_acq_rel);
    }
  }
  // Gives back `table`'s process slot (destructor, or a new init/attach).
  static void leave(LockTable& table) {
    if (table.region_ == nullptr || table.process_ == 0) return;
    LockEngine e(table);
    e.process_table().leave(table.process_, table.liveness_.identity);
    table.process_ = 0;
    table.liveness_ = LockTable::Liveness{};
  }

  u32 home_of(const Id& key) const { return static_cast<u32>(id_slot(key, capacity)); }
  // The slot `offset` places after `home` (offset < window <= capacity, so
  // one wrap at most: no division on the probe path).
  u32 at(u32 home, u32 offset) const {
    const u64 i = static_cast<u64>(home) + offset;
    return static_cast<u32>(i >= capacity ? i - capacity : i);
  }

  // How far from `home` keys homed there may lie (Slot::reach), at most the
  // window. seq_cst: pairs with raise_reach (P3).
  u32 reach_of(u32 home) const {
    const W r = slots[home].reach.load(mo_seq_cst);
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_REACH_NOT_RAISED)
    (void)r;
    return 1;  // MUTANT: lookups read the home slot only
#else
    return r < window ? static_cast<u32>(r) : window;
#endif
  }
  // Raises `home`'s reach to at least `offset` + 1 before a claim at that
  // offset (seq_cst, so a claimer that verifies after its claim sees the
  // reach of every claim that could race it). Bound: each failed CAS saw
  // the reach rise, at most window times.
  void raise_reach(u32 home, u32 offset) { detail::raise_word(slots[home].reach, u64{offset} + 1, mo_seq_cst); }

  // Scans the key's window up to its reach (and on to the first claimable
  // slot when `want_candidate`). Bound: window slots, each re-read at most while
  // the budget lasts (a failed read means another thread changed the slot).
  Scan scan(const Id& key, u64 now, Budget& budget, bool want_candidate) {
    Scan result;
    const u32 home = home_of(key);
    const u32 reach = reach_of(home);
    for (u32 offset = 0; offset < window; offset++) {
      // Past the reach the key cannot be (a claim racing this scan is the
      // claimer's to verify); only a candidate is still looked for.
      if (offset >= reach && (!want_candidate || result.has_candidate)) break;
      const u32 index = at(home, offset);
      View view;
      while (!read_view(slots[index], view)) {
        bump(stat(index).cas_retries);
        if (!budget.spend()) { result.kind = Scan::contended; return result; }
      }
      const W mode = mode_of(view.state);
      if (has_key(view.state) && view.key == key) {
        result.kind = in_transition(view.state) ? Scan::transition : Scan::found;
        result.slot = index;
        result.view = view;
        return result;
      }
      if (!want_candidate || result.has_candidate) continue;
      const bool expired_other = is_held(view.state) &&
                                 (view.state & writing_bit) == 0 && now > view.deadline;
      if (mode == mode_empty || expired_other) {
        result.has_candidate = true;
        result.candidate = index;
        result.candidate_state = view.state;
        result.candidate_expired = expired_other;
      }
    }
    return result;
  }

  // Waits until slot `index` leaves state `seen` (another thread's transition
  // of the same key). Bound: `spins_max` spins (transition_spins_max unless
  // the caller only looks, like inspect()).
  // A transition whose process died is undone by reaping it.
  bool wait_transition(u32 index, W seen, u32 spins_max = LockTable::transition_spins_max) {
    for (u32 spin = 0; spin < spins_max; spin++) {
      WEFT_RACE_POINT("lock_table.wait_transition");
      if (slots[index].state.load(mo_seq_cst) != seen) return true;  // P1
      if (spin >= reap_after && reap_for(mover(index))) continue;
      backoff(spin);
    }
    return false;
  }

  // Writes the holder's side words of a slot this thread keyed, then
  // publishes the held state (P1: side words before the state store).
  // Returns the token, or 0 (the slot back to `restore`, nothing published)
  // when no new token could be had: `refusal` says exhausted or contended.
  Token publish(u32 index, W keyed_state, OwnerId owner, LockMode mode, u64 deadline,
                W restore, LockStatus& refusal, Token reuse = 0) {
    Slot& slot = slots[index];
    const Token token = reuse != 0 ? reuse : allocate_token(refusal);
    if (token == 0) {
      slot.state.store(restore, mo_seq_cst);  // P1
      return 0;
    }
    slot.owner.store(owner, mo_release);        // P2
    slot.token.store(static_cast<W>(token), mo_release);  // P2 (token <= tokens_max)
    slot.deadline.store(deadline, mo_release);  // P2
    WEFT_RACE_POINT("lock_table.publish.before");
    slot.state.store(next_state(keyed_state, held_mode(mode), 1, 0), mo_seq_cst);  // P1
    bump(stat(index).acquisitions);
    return token;
  }

  // A new fencing token (L3: one table-wide counter, so tokens grow across
  // slot reuse). With 64-bit words one fetch_add (2^64 tokens never run
  // out). With 32-bit words the counter stops at its largest value: a CAS
  // that never wraps, and 0 with `exhausted` once 2^32 - 1 tokens were issued
  // (the table must then be formatted again); 0 with `contended` after
  // attempts_max failed CAS.
  Token allocate_token(LockStatus& refusal) {
#if WEFT_WORD_BITS == 32
    W last = header.next_token.load(mo_relaxed);
    for (u32 attempt = 0; attempt < LockTable::attempts_max; attempt++) {
      if (last == detail::word_max) {
        refusal = LockStatus::exhausted;
        return 0;
      }
      if (header.next_token.compare_exchange_strong(last, last + 1, mo_relaxed)) return last + 1;
    }
    refusal = LockStatus::contended;
    return 0;
#else
    (void)refusal;
    return header.next_token.fetch_add(1, mo_relaxed) + 1;
#endif
  }

  // Verification after keying slot `mine` (window offset `my_offset`): false
  // when another slot holds or is keying the same key and this claim must
  // back out (see "Insert-if-absent" in the header). Loads are seq_cst (P3).
  enum class Verdict { keep, back_out, contended };
  Verdict verify(const Id& key, u32 home, u32 my_offset, Budget& budget) {
    // The reach read after this claim's keyed store: it covers every claim of
    // the same key this one could miss (their raise came first, P3).
    const u32 reach = reach_of(home);
    for (u32 offset = 0; offset < reach; offset++) {
      if (offset == my_offset) continue;
      const u32 index = at(home, offset);
      u32 spins = 0;
      for (;;) {
        View view;
        if (!read_view(slots[index], view)) {
          if (!budget.spend()) return Verdict::contended;
          continue;
        }
        if (!has_key(view.state) || !(view.key == key)) break;
        if (is_held(view.state)) return Verdict::back_out;
        if (offset < my_offset) return Verdict::back_out;
        // A later slot is keying the same key: it will back out or publish
        // (or, if its process died, be undone by reaping it).
        WEFT_RACE_POINT("lock_table.verify.wait");
        if (++spins > LockTable::transition_spins_max) return Verdict::contended;
        if (spins >= reap_after && reap_for(mover(index))) continue;
        backoff(spins);
      }
    }
    return Verdict::keep;
  }

  // Claims the scan's candidate for `key`. Returns true with `out` set when
  // the call is decided, false to retry the scan.
  // A slot was marked by another handle: back off, and once it has been so
  // for reap_after waits, ask whether that handle's process lives.
  void wait_for_mover(u64 holder) {
    bump(stat(0).cas_retries);
    if (++mover_waits >= reap_after && reap_for(holder)) return;
    backoff(mover_waits);
  }
  u32 mover_waits = 0;

  // The claim and keyed states carry this handle's process slot in their
  // count field, so the survivors can undo them if its process dies [T10].
  bool claim(const Id& key, OwnerId owner, LockMode mode, u64 deadline,
             const Scan& scan, Budget& budget, AcquireResult& out) {
    Slot& slot = slots[scan.candidate];
    W expected = scan.candidate_state;
    const W claiming = next_state(expected, mode_claiming, static_cast<u32>(proc), 0);
    const u32 home = home_of(key);
    const u32 my_offset = scan.candidate >= home ? scan.candidate - home : scan.candidate + capacity - home;
    raise_reach(home, my_offset);
    WEFT_RACE_POINT("lock_table.acquire.before_claim");
    if (!slot.state.compare_exchange_strong(expected, claiming, mo_seq_cst)) {  // P1
      bump(stat(scan.candidate).cas_retries);
      return false;
    }
    if (scan.candidate_expired) bump(stat(scan.candidate).expiries);
    slot.key_hi.store(key.hi, mo_release);  // P2
    slot.key_lo.store(key.lo, mo_release);  // P2
    const W keyed = next_state(claiming, mode_keyed, static_cast<u32>(proc), 0);
    slot.state.store(keyed, mo_seq_cst);  // P3: before the verification loads
    WEFT_RACE_POINT("lock_table.acquire.keyed");
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_TASK_CHECK_THEN_CREATE)
    const Verdict verdict = Verdict::keep;  // MUTANT: no insert-if-absent verification
    (void)home; (void)my_offset; (void)budget;
#else
    const Verdict verdict = verify(key, home, my_offset, budget);
#endif
    if (verdict != Verdict::keep) {
      slot.state.store(next_state(keyed, mode_empty, 0, 0), mo_seq_cst);  // P1
      bump(stat(scan.candidate).backouts);
      WEFT_RACE_POINT("lock_table.acquire.backed_out");
      if (verdict == Verdict::contended) {
        out.status = LockStatus::contended;
        return true;
      }
      return false;
    }
    LockStatus refusal = LockStatus::contended;
    out.token = publish(scan.candidate, keyed, owner, mode, deadline,
                        next_state(keyed, mode_empty, 0, 0), refusal);
    if (out.token == 0) {  // no token to give: the claim backs out
      bump(stat(scan.candidate).backouts);
      out.status = refusal;
      return true;
    }
    out.status = LockStatus::acquired;
    out.depth = 1;
    return true;
  }

  // Takes over `key`'s expired lease at scan.slot.
  bool take_over(OwnerId owner, LockMode mode, u64 deadline, const Scan& scan,
                 AcquireResult& out) {
    Slot& slot = slots[scan.slot];
    W expected = scan.view.state;
    const W keyed = next_state(expected, mode_keyed, static_cast<u32>(proc), 0);
    WEFT_RACE_POINT("lock_table.takeover.before");
    if (!slot.state.compare_exchange_strong(expected, keyed, mo_seq_cst)) {  // P1
      bump(stat(scan.slot).cas_retries);
      return false;
    }
    bump(stat(scan.slot).expiries);
    // Without a token the expired lease stays as it was (its side words are
    // untouched until publish writes them).
    const W seen = scan.view.state;
    const W restore = next_state(keyed, mode_of(seen), count_of(seen), seen & cancel_bit);
    LockStatus refusal = LockStatus::contended;
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_EXPIRY_WITHOUT_FENCING_BUMP)
    out.token = publish(scan.slot, keyed, owner, mode, deadline, restore, refusal, scan.view.token);  // MUTANT
#else
    out.token = publish(scan.slot, keyed, owner, mode, deadline, restore, refusal);
#endif
    if (out.token == 0) {
      out.status = refusal;
      return true;
    }
    out.status = LockStatus::acquired;
    out.depth = 1;
    return true;
  }

  // Adds one holder level to a held slot (reentry or shared join), extending
  // the deadline when `deadline` is later. Single CAS when no extension is
  // needed; otherwise CAS with `writing`, store deadline, clear `writing`.
  bool add_holder(u64 deadline, const Scan& scan, AcquireResult& out) {
    const W seen = scan.view.state;
    const u32 count = count_of(seen) + 1;
    if (count > LockTable::holders_max) {
      out.status = LockStatus::too_many_holders;
      return true;
    }
    const bool extend = deadline > scan.view.deadline;
    const W flags = (seen & cancel_bit) | (extend ? writing_bit : 0);
    const W wanted = next_state(seen, mode_of(seen), count, flags);
    if (move_held(scan.slot, seen, wanted, extend, deadline) != Moved::done) return false;
    bump(stat(scan.slot).acquisitions);
    out.status = LockStatus::acquired;
    out.token = scan.view.token;
    out.depth = count;
    return true;
  }

  // Moves held slot `index` from `seen` to `wanted` (P1). With `extend`,
  // `wanted` sets `writing`: under this handle's mark on the slot (the
  // transition is then attributed to its process), the CAS, the deadline
  // written and the bit cleared. waited: another handle has the slot
  // marked (this one backed off); lost: the CAS lost; either way look again.
  enum class Moved { done, lost, waited };
  Moved move_held(u32 index, W seen, W wanted, bool extend, u64 deadline) {
    u64 holder = 0;
    if (extend && !detail::mark_word(slots[index].transit, proc, holder)) {
      wait_for_mover(holder);
      return Moved::waited;
    }
    W expected = seen;
    if (!slots[index].state.compare_exchange_strong(expected, wanted, mo_seq_cst)) {  // P1
      if (extend) unmark(index);
      bump(stat(index).cas_retries);
      return Moved::lost;
    }
    if (extend) {
      finish_writing(index, wanted, deadline);
      unmark(index);
    }
    return Moved::done;
  }

  // Second half of a `writing` transition: this thread set the bit, so it
  // alone writes the deadline, then clears the bit (P1, P2).
  void finish_writing(u32 index, W writing_state, u64 deadline) {
    Slot& slot = slots[index];
    WEFT_RACE_POINT("lock_table.writing.deadline");
    slot.deadline.store(deadline, mo_release);  // P2
    const W flags = writing_state & cancel_bit;
    slot.state.store(next_state(writing_state, mode_of(writing_state),
                                count_of(writing_state), flags),
                     mo_seq_cst);  // P1
  }

  // Finds `key` held (waiting out transitions of the same key, each for at
  // most `spins_max` spins). Returns found, absent or contended.
  Scan find_held(const Id& key, Budget& budget, u32 spins_max = LockTable::transition_spins_max) {
    for (;;) {
      Scan scan_result = scan(key, 0, budget, false);
      if (scan_result.kind != Scan::transition) return scan_result;
      if (!wait_transition(scan_result.slot, scan_result.view.state, spins_max) || !budget.spend()) {
        scan_result.kind = Scan::contended;
        return scan_result;
      }
    }
  }

  // Classifies a token that does not match the holder's: older tokens are
  // stale (L2, L4), others were never this session's.
  static LockStatus mismatch(Token presented, Token current) {
    return presented < current ? LockStatus::stale : LockStatus::not_owner;
  }
};

}  // namespace detail

using detail::LockEngine;

// ---- LockTable -----------------------------------------------------------

void LockTable::Owned::operator()(unsigned char* p) const noexcept {
  detail::free_region(p);
}

LockTable::~LockTable() { LockEngine::leave(*this); }

LockStatus LockTable::join(const Liveness& liveness) noexcept {
  if (region_ == nullptr) return LockStatus::not_initialized;
  if (detail::kept_identity(liveness.identity) == 0 || liveness.alive == nullptr || process_ != 0) {
    return LockStatus::invalid_argument;
  }
  LockEngine e(*this);
  if (e.processes < 2) return LockStatus::bad_region;
  // Bound: process_slots (detail/process_table.h).
  const u64 p = e.process_table().join(liveness, [&e](u64 dead) { e.clean_process(dead); });
  if (p == 0) return LockStatus::too_many_processes;
  process_ = static_cast<std::uint32_t>(p);
  liveness_ = liveness;
  return LockStatus::ok;
}

std::size_t LockTable::reap() noexcept {
  if (region_ == nullptr || process_ == 0) return 0;
  LockEngine e(*this);
  return static_cast<std::size_t>(e.reap_dead());
}

LockStatus LockTable::init(void* region, std::size_t bytes, const Config& config,
                           Clock clock) noexcept {
  if (!detail::region_usable(region, clock) || config.capacity == 0) {
    return LockStatus::bad_region;
  }
  if (config.probe_window > config.capacity) return LockStatus::bad_region;
  const std::size_t needed = region_bytes(config);
  if (needed == 0) return LockStatus::bad_region;  // more than the address space
  if (bytes < needed) return LockStatus::region_too_small;
  auto* base = static_cast<unsigned char*>(region);
  std::memset(base, 0, needed);
  Header* header = new (base) Header{};
  const u32 window = config.probe_window != 0 ? config.probe_window
                     : (config.capacity < 32 ? config.capacity : 32);
  header->format_version.store(format_version, mo_relaxed);
  header->word_bits.store(WEFT_WORD_BITS, mo_relaxed);
  header->capacity.store(config.capacity, mo_relaxed);
  header->probe_window.store(window, mo_relaxed);
  header->region_bytes.store(needed, mo_relaxed);
  header->process_slots.store(config.process_slots, mo_relaxed);
  Slot* slots = slots_of(base);
  for (u32 i = 0; i < config.capacity; i++) new (&slots[i]) Slot{};
  auto* processes = detail::region_part<ProcessSlot>(base, sizeof(Header) + u64{config.capacity} * sizeof(Slot));
  for (u32 i = 1; i < config.process_slots; i++) new (&processes[i - 1]) ProcessSlot{};
  // Magic last, with release: a process that attaches and sees the magic with
  // acquire sees a formatted region.
  header->magic.store(magic_value, mo_release);
  LockEngine::leave(*this);
  region_ = base;
  clock_ = clock;
  return LockStatus::ok;
}

LockStatus LockTable::attach(void* region, std::size_t bytes, Clock clock) noexcept {
  if (!detail::region_usable(region, clock)) {
    return LockStatus::bad_region;
  }
  if (bytes < sizeof(Header)) return LockStatus::region_too_small;
  auto* base = static_cast<unsigned char*>(region);
  Header& header = header_of(base);
  if (header.magic.load(mo_acquire) != magic_value) return LockStatus::bad_region;
  // The word size before anything else of the header: the other
  // configuration's fields mean other things (docs/EMBEDDED.md).
  const u32 bits = header.word_bits.load(mo_relaxed);
  if (bits != WEFT_WORD_BITS) {
    return bits == 32 || bits == 64 ? LockStatus::word_size_mismatch : LockStatus::bad_region;
  }
  if (header.format_version.load(mo_relaxed) != format_version) return LockStatus::bad_region;
  const u32 capacity = header.capacity.load(mo_relaxed);
  const u32 window = header.probe_window.load(mo_relaxed);
  if (capacity == 0 || window == 0 || window > capacity) return LockStatus::bad_region;
  Config geometry;
  geometry.capacity = capacity;
  geometry.process_slots = header.process_slots.load(mo_relaxed);
  const std::size_t needed = region_bytes(geometry);
  if (needed == 0 || header.region_bytes.load(mo_relaxed) != needed) return LockStatus::bad_region;
  if (bytes < needed) return LockStatus::region_too_small;
  LockEngine::leave(*this);
  region_ = base;
  clock_ = clock;
  return LockStatus::ok;
}

LockStatus LockTable::create(const Config& config, Clock clock) noexcept {
  if (config.capacity == 0) return LockStatus::bad_region;
  const std::size_t bytes = region_bytes(config);
  if (bytes == 0) return LockStatus::bad_region;
  auto* memory = static_cast<unsigned char*>(
      detail::allocate_region(bytes));
  if (memory == nullptr) return LockStatus::out_of_memory;
  std::unique_ptr<unsigned char, Owned> holder(memory);
  const LockStatus status = init(memory, bytes, config, clock);
  if (status != LockStatus::ok) return status;
  owned_ = std::move(holder);
  return LockStatus::ok;
}

std::uint32_t LockTable::capacity() const noexcept {
  return region_ == nullptr ? 0 : header_of(region_).capacity.load(mo_relaxed);
}

std::uint32_t LockTable::probe_window() const noexcept {
  return region_ == nullptr ? 0 : header_of(region_).probe_window.load(mo_relaxed);
}

AcquireResult LockTable::try_acquire(const Id& key, OwnerId owner, LockMode mode,
                                     std::uint64_t lease_ns) noexcept {
  AcquireResult out;
  if (region_ == nullptr) return out;
  if (owner == 0 || lease_ns == 0 || lease_ns > lease_max_ns ||
      (mode != LockMode::exclusive && mode != LockMode::shared)) {
    out.status = LockStatus::invalid_argument;
    return out;
  }
  LockEngine engine(*this);
  const u64 now = clock_.now();
  const u64 deadline = now + lease_ns;
  Budget budget;
  while (budget.spend()) {
    WEFT_RACE_POINT("lock_table.acquire.scan");
    const Scan scan = engine.scan(key, now, budget, true);
    WEFT_RACE_POINT("lock_table.acquire.after_scan");
    bool decided = false;
    switch (scan.kind) {
      case Scan::contended:
        out.status = LockStatus::contended;
        return out;
      case Scan::transition:
        if (!engine.wait_transition(scan.slot, scan.view.state)) {
          out.status = LockStatus::contended;
          return out;
        }
        continue;
      case Scan::absent:
        if (!scan.has_candidate) {
          // Slots a dead process left claimed are no candidates: reap.
          if (engine.reap_again()) continue;
          bump(engine.stat(0).table_full);
          out.status = LockStatus::table_full;
          return out;
        }
        decided = engine.claim(key, owner, mode, deadline, scan, budget, out);
        break;
      case Scan::found: {
        const View& view = scan.view;
        if (now > view.deadline) {
          decided = engine.take_over(owner, mode, deadline, scan, out);
          break;
        }
        const bool reentry = mode_of(view.state) == mode_exclusive && view.owner == owner;
        const bool join = mode_of(view.state) == mode_shared && mode == LockMode::shared;
        if (reentry || join) {
          decided = engine.add_holder(deadline, scan, out);
          break;
        }
        bump(engine.stat(scan.slot).busy);
        out.status = LockStatus::busy;
        out.holder_mode = public_mode(view.state);
        out.holder = view.owner;
        out.holder_until_ns = view.deadline;
        return out;
      }
    }
    if (decided) return out;
  }
  out.status = LockStatus::contended;
  return out;
}

ReleaseResult LockTable::release(const Id& key, Token token) noexcept {
  ReleaseResult out;
  if (region_ == nullptr) return out;
  if (token == 0) {
    out.status = LockStatus::invalid_argument;
    return out;
  }
  LockEngine engine(*this);
  Budget budget;
  while (budget.spend()) {
    WEFT_RACE_POINT("lock_table.release.scan");
    const Scan scan = engine.find_held(key, budget);
    if (scan.kind == Scan::contended) break;
    if (scan.kind == Scan::absent) {
      out.status = LockStatus::not_held;
      return out;
    }
    const View& view = scan.view;
#if !(defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_RELEASE_WITHOUT_OWNER_CHECK))
    if (view.token != token) {
      out.status = LockEngine::mismatch(token, view.token);
      return out;
    }
#endif
    const u32 left = count_of(view.state) - 1;
    const W wanted = left == 0 ? next_state(view.state, mode_empty, 0, 0)
                                 : next_state(view.state, mode_of(view.state), left,
                                              view.state & cancel_bit);
    W expected = view.state;
    WEFT_RACE_POINT("lock_table.release.before_cas");
    if (engine.slots[scan.slot].state.compare_exchange_strong(expected, wanted,
                                                              mo_seq_cst)) {  // P1
      bump(engine.stat(scan.slot).releases);
      out.status = LockStatus::released;
      out.depth_left = left;
      return out;
    }
    bump(engine.stat(scan.slot).cas_retries);
  }
  out.status = LockStatus::contended;
  return out;
}

RenewResult LockTable::renew(const Id& key, Token token, std::uint64_t lease_ns) noexcept {
  RenewResult out;
  if (region_ == nullptr) return out;
  if (token == 0 || lease_ns == 0 || lease_ns > lease_max_ns) {
    out.status = LockStatus::invalid_argument;
    return out;
  }
  LockEngine engine(*this);
  const u64 now = clock_.now();
  Budget budget;
  while (budget.spend()) {
    WEFT_RACE_POINT("lock_table.renew.scan");
    const Scan scan = engine.find_held(key, budget);
    if (scan.kind == Scan::contended) break;
    if (scan.kind == Scan::absent) {
      out.status = LockStatus::not_held;
      return out;
    }
    const View& view = scan.view;
    if (view.token != token) {
      out.status = LockEngine::mismatch(token, view.token);
      return out;
    }
    if (now > view.deadline) {  // an expired lease cannot revive (L4)
      out.status = LockStatus::stale;
      return out;
    }
    const u64 deadline = now + lease_ns > view.deadline ? now + lease_ns : view.deadline;
    const bool extend = deadline > view.deadline;
    const W flags = (view.state & cancel_bit) | (extend ? writing_bit : 0);
    const W wanted = next_state(view.state, mode_of(view.state), count_of(view.state), flags);
    if (engine.move_held(scan.slot, view.state, wanted, extend, deadline) == LockEngine::Moved::done) {
      out.status = LockStatus::renewed;
      out.deadline_ns = deadline;
      return out;
    }
  }
  out.status = LockStatus::contended;
  return out;
}

LockStatus LockTable::request_cancel(const Id& key) noexcept {
  if (region_ == nullptr) return LockStatus::not_initialized;
  LockEngine engine(*this);
  Budget budget;
  while (budget.spend()) {
    WEFT_RACE_POINT("lock_table.cancel.scan");
    const Scan scan = engine.find_held(key, budget);
    if (scan.kind == Scan::contended) break;
    if (scan.kind == Scan::absent) return LockStatus::not_held;
    const W seen = scan.view.state;
    if ((seen & cancel_bit) != 0) return LockStatus::ok;
    W expected = seen;
    const W wanted = next_state(seen, mode_of(seen), count_of(seen), cancel_bit);
    if (engine.slots[scan.slot].state.compare_exchange_strong(expected, wanted,
                                                              mo_seq_cst)) {  // P1
      return LockStatus::ok;
    }
    bump(engine.stat(scan.slot).cas_retries);
  }
  return LockStatus::contended;
}

CancelPoll LockTable::poll_cancel(const Id& key, Token token) noexcept {
  CancelPoll out;
  if (region_ == nullptr) return out;
  if (token == 0) {
    out.status = LockStatus::invalid_argument;
    return out;
  }
  LockEngine engine(*this);
  Budget budget;
  const Scan scan = engine.find_held(key, budget);
  if (scan.kind == Scan::contended) {
    out.status = LockStatus::contended;
  } else if (scan.kind == Scan::absent) {
    out.status = LockStatus::not_held;
  } else if (scan.view.token != token) {
    out.status = LockEngine::mismatch(token, scan.view.token);
  } else {
    out.status = LockStatus::ok;
    out.requested = (scan.view.state & cancel_bit) != 0;
  }
  return out;
}

LockInfo LockTable::inspect(const Id& key) noexcept {
  LockInfo info;
  if (region_ == nullptr) return info;
  LockEngine engine(*this);
  Budget budget;
  // Only looking: a transition of the key is waited out briefly, not for
  // transition_spins_max spins.
  const Scan scan = engine.find_held(key, budget, LockTable::attempts_max);
  info.status = scan.kind == Scan::contended ? LockStatus::contended : LockStatus::ok;
  if (scan.kind != Scan::found) return info;
  const View& view = scan.view;
  info.held = true;
  info.mode = public_mode(view.state);
  info.owner = view.owner;
  info.token = view.token;
  info.deadline_ns = view.deadline;
  info.count = count_of(view.state);
  info.cancel_requested = (view.state & cancel_bit) != 0;
  return info;
}

LockStats LockTable::stats() const noexcept {
  LockStats s;
  if (region_ == nullptr) return s;
  const Header& h = header_of(region_);
  for (const Counters& c : h.counters) {  // bound: counter_stripes
    s.acquisitions += c.acquisitions.load(mo_relaxed);
    s.releases += c.releases.load(mo_relaxed);
    s.busy += c.busy.load(mo_relaxed);
    s.expiries += c.expiries.load(mo_relaxed);
    s.cas_retries += c.cas_retries.load(mo_relaxed);
    s.table_full += c.table_full.load(mo_relaxed);
    s.backouts += c.backouts.load(mo_relaxed);
  }
  return s;
}

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
